/*
 * powstream - continuous one-way latency measurement: back-to-back OWAMP
 * sessions from testpeer to this host (or to testpeer with -t), saved as
 * START_END.owp / START_END.sum files (programs.md section 8). The work is
 * done by the stream engine (libowamp/stream.h); this file is the command
 * line, the directory lock, logging and signals.
 *
 *   powstream [options] testpeer [server]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client_opts.h"
#include "clock.h"
#include "daemon_log.h"
#include "error.h"
#include "options.h"
#include "pfs.h"
#include "stream.h"


static const char *progname = "powstream";
static volatile sig_atomic_t got_term, got_hup;

static void usage(FILE *out, const char *msg)
{
    if (msg && *msg)
        fprintf(out, "%s: %s\n", progname, msg);
    fprintf(out,
            "usage: %s [arguments] testaddr [servaddr]\n"
            "[arguments] are as follows: \n"
            "\n"
            "   -h             print this message and exit\n"
            "\n"
            "   [Connection Args]:\n"
            "   -4             use IPv4 only\n"
            "   -6             use IPv6 only\n"
            "   -A authmode    requested modes: [A]uthenticated, [E]ncrypted, [O]pen\n"
            "   -B interface   bind to the named interface (SO_BINDTODEVICE)\n"
            "   -k pffile      pass-phrase file to use with Authenticated/Encrypted modes\n"
            "   -S srcaddr     use this as the local address for control connection and tests\n"
            "   -u username    username to use with Authenticated/Encrypted modes\n"
            "\n"
            "   [Test Args]:\n"
            "   -c count       number of test packets (per complete session)\n"
            "   -E enddelay    sender wait after the last packet before Stop-Sessions (-t)\n"
            "   -i wait        mean average time between packets (seconds)\n"
            "   -I retryDelay  longest wait between connection attempts (seconds)\n"
            "   -L timeout     maximum time to wait for a packet before declaring it lost\n"
            "   -P portrange   port range to use for test packets\n"
            "   -s padding     size of the padding added to each packet (bytes)\n"
            "   -t             sender sessions (data fetched from the server)\n"
            "   -z delayStart  time to wait before starting the first test (seconds)\n"
            "\n"
            "   [Output Args]:\n"
            "   -b bucketWidth create summary files with buckets(seconds)\n"
            "   -d dir         directory to save session files in\n"
            "   -e facility    syslog facility to log to\n"
            "   -g loglevel    loglevel to log at: fatal, warning, info, debug, all, none\n"
            "   -N count       number of test packets (per sub-session summary)\n"
            "   -p             print filenames to stdout when done\n"
            "   -R             only send messages to syslog (not STDERR)\n"
            "   -U             add UNIX_START_TIME/UNIX_END_TIME to summary files\n"
            "   -v             verbose output to syslog (repeat for more)\n"
            "\n"
            "Version: %s\n\n",
            progname, OWAMP_COMPAT_VERSION);
}

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else
        got_term = 1;
}

static void on_file(void *arg, const owp_stream_file *f)
{
    int print = *(const int *)arg;
    if (print) {
        printf("%s\n", f->path);
        fflush(stdout);
    }
}

typedef struct cli {
    owp_stream_opts so;
    uint32_t npackets, sub_count;
    int have_sub, print_files, verbose, syslog_only, facility, loglevel;
    tools_conn_opts conn; /* -4 -6 -A -B -k -S -u, as owping's */
    uint8_t passphrase[TOOLS_CONN_PASSPHRASE_MAX];
} cli;

/* Numeric option values must be whole strings; messages as the reference's. */
static int bad_value(const char *opt, const char *what)
{
    char msg[128];
    snprintf(msg, sizeof msg, "Invalid (-%s) value. %s expected", opt, what);
    usage(stderr, msg);
    return -1;
}

static int parse_positive_double(const char *arg, const char *opt, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v > 0))
        return bad_value(opt, "Positive float");
    *out = v;
    return 0;
}

static int parse_uint(const char *arg, const char *opt, uint32_t *out)
{
    owp_err err;
    if (owp_parse_uint32(arg, opt, out, &err) != OWP_OK)
        return bad_value(opt, "Positive integer");
    return 0;
}

/* One option; 0 handled, -1 error (message printed), 1 unknown. */
static int parse_option(cli *c, int ch, const char *arg)
{
    int r = tools_prog_parse_opt(&c->conn, NULL, ch, arg, progname, usage);
    if (r != 0)
        return r < 0 ? -1 : 0;
    owp_err err;
    owp_err_clear(&err);
    uint32_t u;
    double d;
    switch (ch) {
    case 'c':
        if (parse_uint(arg, "c", &u) || u == 0)
            return u == 0 ? bad_value("c", "Positive integer") : -1;
        c->so.npackets = u;
        return 0;
    case 'N':
        if (parse_uint(arg, "N", &u) || u == 0)
            return u == 0 ? bad_value("N", "Positive integer") : -1;
        c->sub_count = u;
        c->have_sub = 1;
        return 0;
    case 'i': return parse_positive_double(arg, "i", &c->so.interval);
    case 'L': return parse_positive_double(arg, "L", &c->so.loss_timeout);
    case 'E': return parse_positive_double(arg, "E", &c->so.enddelay);
    case 'b': return parse_positive_double(arg, "b", &c->so.bucket_width);
    case 's':
        if (parse_uint(arg, "s", &u))
            return -1;
        c->so.padding = u > 65535 ? 65535 : u;
        return 0;
    case 'z':
        if (parse_uint(arg, "z", &u))
            return -1;
        c->so.start_delay = 10.0 + u;
        return 0;
    case 'I':
        if (parse_uint(arg, "I", &u))
            return -1;
        c->so.retry_delay = u;
        return 0;
    case 'P':
        if (owp_parse_portrange(arg, 1, &c->so.ports, &err) != OWP_OK) {
            fprintf(stderr, "%s: Invalid port-range: \"%s\"\n", progname, arg);
            usage(stderr, NULL);
            return -1;
        }
        if (c->so.ports.high != 0 && c->so.ports.high - c->so.ports.low < 1) {
            fprintf(stderr, "%s: Invalid test port range specified: must contain at least 2 "
                            "ports.\n", progname);
            return -1;
        }
        return 0;
    case 'd': c->so.dir = arg; return 0;
    case 'e':
        if (owp_parse_facility(arg, &c->facility, &err) != OWP_OK) {
            fprintf(stderr, "%s: Invalid -e: Syslog facility \"%s\" unknown\n", progname, arg);
            return -1;
        }
        return 0;
    case 'g':
        if (owp_parse_loglevel(arg, &c->loglevel, &err) != OWP_OK) {
            fprintf(stderr, "%s: Invalid -g: loglevel \"%s\" unknown\n", progname, arg);
            return -1;
        }
        return 0;
    case 'p': c->print_files = 1; return 0;
    case 'R': c->syslog_only = 1; return 0;
    case 'U': c->so.unix_times = 1; return 0;
    case 'v': c->verbose++; return 0;
    case 't': c->so.sender = 1; return 0;
    default:
        (void)d;
        return 1;
    }
}

/* The connection options into the stream's client options. */
static void apply_conn_opts(cli *c)
{
    if (c->conn.modes_set)
        c->so.client.modes = c->conn.modes;
    c->so.client.family = tools_conn_opts_family(&c->conn);
    c->so.client.bind_device = c->conn.bind_device;
    c->so.client.src_addr = c->conn.src_addr;
    c->so.client.identity = c->conn.identity;
}

/* -k/-u: the pass-phrase of the identity; without one only open mode is left. */
static int load_passphrase(cli *c)
{
    if (!c->so.client.identity)
        return 0;
    if (!c->conn.pfs_file) {
        log_warn("No pass-phrase file (-k) for identity %s: using open mode only",
                 c->so.client.identity);
        c->so.client.identity = NULL;
        return 0;
    }
    owp_err err;
    size_t len = 0;
    if (owp_pfs_find_in_file(c->conn.pfs_file, c->so.client.identity, c->passphrase,
                             sizeof c->passphrase, &len, &err) != OWP_OK) {
        log_err("%s", err.msg);
        return -1;
    }
    c->so.client.passphrase = c->passphrase;
    c->so.client.passphrase_len = len;
    return 0;
}

/* DIR/.powlock: one powstream per directory. */
static int lock_dir(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.powlock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_err("Unable to open lock file %s: %s", path, strerror(errno));
        return -1;
    }
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int e = errno;
        log_err("Unable to lock file %s: %s", path, strerror(e));
        pid_t other = 0;
        if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
            other = fl.l_pid;
        log_err("Possibly locked by pid(%d)", (int)other);
        close(fd);
        return -1;
    }
    int32_t pid = (int32_t)getpid();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, &pid, sizeof pid, 0) != (ssize_t)sizeof pid)
        log_warn("Unable to write pid to %s: %s", path, strerror(errno));
    return fd; /* held open (and locked) until exit */
}

static void install_signals(void)
{
    tools_prog_signals(on_signal);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
}

/* Run streams until SIGTERM/SIGINT; SIGHUP saves and starts over. */
static int run(cli *c)
{
    for (;;) {
        owp_err err;
        owp_err_clear(&err);
        owp_stream *s = owp_stream_start(&c->so, &err);
        if (!s) {
            log_err("%s", err.msg);
            return 1;
        }
        while (!got_term && !got_hup) {
            struct timespec ts = { 0, 100 * 1000000L };
            nanosleep(&ts, NULL);
        }
        owp_stream_destroy(&s);
        if (got_term) {
            log_info("SIGTERM/SIGINT Caught: Exiting.");
            return 0;
        }
        got_hup = 0;
        log_info("SIGHUP: Re-opening connections.");
    }
}

int main(int argc, char **argv)
{
    /* Options must precede operands, as the reference's getopt is told. */
    setenv("POSIXLY_CORRECT", "1", 1);
    cli c;
    memset(&c, 0, sizeof c);
    owp_stream_opts_default(&c.so);
    tools_conn_opts_init(&c.conn);
    c.facility = LOG_USER;
    c.loglevel = LOG_INFO;

    int ch;
    while ((ch = getopt_long(argc, argv, "46A:B:b:c:d:E:e:g:hI:i:k:L:N:pP:Rs:S:tUu:vz:",
                             tools_long_options, NULL)) != -1) {
        if (tools_convention_opt(ch, progname, usage) == 0)
            return 0;
        int r = parse_option(&c, ch, optarg);
        if (r < 0)
            return 1;
        if (r > 0) { /* an unknown option */
            usage(stderr, NULL);
            return 0;
        }
    }
    if (argc - optind < 1 || argc - optind > 2) {
        usage(stderr, NULL);
        return 1;
    }
    if (c.conn.v4only && c.conn.v6only) {
        fprintf(stderr, "%s: Invalid: -4 and -6 may not both be given\n", progname);
        return 1;
    }
    apply_conn_opts(&c);
    if (c.have_sub) {
        if (c.sub_count > c.so.npackets || c.so.npackets % c.sub_count != 0) {
            fprintf(stderr,
                    "%s: Number of summary packets (-N %u) must be a divisor of the number of "
                    "session packets (-c %u).\n",
                    progname, c.sub_count, c.so.npackets);
            return 1;
        }
        c.so.sub_count = c.sub_count;
    }
    c.so.testpeer = argv[optind];
    c.so.client.server = argc - optind == 2 ? argv[optind + 1] : argv[optind];
    if (argc - optind == 1)
        c.so.testpeer = NULL; /* the server is the test peer */
    /* The reference prints "Starting session [START - END] v=N" only from -v -v. */
    c.so.verbose = c.verbose >= 2 ? c.verbose : 0;
    c.so.file_fn = on_file;
    c.so.arg = &c.print_files;
    c.so.log_fn = daemon_log_callback;

    daemon_log_open(progname, c.facility, c.verbose ? LOG_DEBUG : c.loglevel, !c.syslog_only);
    if (c.verbose >= 2)
        daemon_log_location(1);
    owp_err err;
    owp_err_clear(&err);
    if (owp_clock_init(&err) != OWP_OK) {
        log_err("%s", err.msg);
        return 1;
    }
    if (owp_clock_warning())
        log_warn("NTP: %s", owp_clock_warning());
    if (owp_stream_check_opts(&c.so, &err) != OWP_OK) {
        log_err("%s", err.msg);
        return 1;
    }
    if (load_passphrase(&c) != 0)
        return 1;
    if (lock_dir(c.so.dir) < 0)
        return 1;
    double duration = c.so.npackets * c.so.interval;
    if ((double)(long)duration < 10.0 + c.so.loss_timeout)
        log_warn("Warning: Holes in data are likely because lossThreshold(%g) is too large a "
                 "fraction of approx summary session duration(%ld)",
                 c.so.loss_timeout, (long)duration);
    if (owp_stream_pool_size(&c.so) > 2)
        log_info("Using %u control connections so that sessions of %.3g s abut",
                 owp_stream_pool_size(&c.so), duration);
    install_signals();
    int status = run(&c);
    memset(c.passphrase, 0, sizeof c.passphrase);
    daemon_log_close();
    return status;
}
