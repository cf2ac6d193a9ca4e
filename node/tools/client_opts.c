/*
 * client_opts.c - output options of owping/owstats/owfetch (programs.md
 * section 5.3) and connection options of owping/owfetch/owup (section 5.2),
 * with the reference's wording.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* explicit_bzero */
#endif
#include "client_opts.h"

#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "clock.h"
#include "options.h"
#include "pfs.h"
#include "sendsched.h"

void tools_output_opts_init(tools_output_opts *o)
{
    memset(o, 0, sizeof *o);
    owp_report_opts_default(&o->report);
}

void tools_output_opts_clear(tools_output_opts *o)
{
    free(o->percentiles);
    free(o->dir);
    memset(o, 0, sizeof *o);
}

/* Both outputs of an option parser start empty. */
static void clear_messages(char *log, size_t loglen, char *msg, size_t msglen)
{
    if (loglen)
        log[0] = '\0';
    if (msglen)
        msg[0] = '\0';
}

static int fail(char *log, size_t loglen, const char *logline, char *msg, size_t msglen,
                const char *usage_msg)
{
    snprintf(log, loglen, "%s", logline ? logline : "");
    snprintf(msg, msglen, "%s", usage_msg);
    return -1;
}

/* -a: comma-separated percentiles 0.0-100.0 (strtod syntax, trailing text ignored). */
static int parse_percentiles(tools_output_opts *o, const char *arg, char *log, size_t loglen,
                             char *msg, size_t msglen)
{
    static const char *usage_msg = "Invalid '-a' alpha list .";
    size_t n = 1;
    for (const char *p = arg; (p = strchr(p, ',')); p++)
        n++;
    double *vals = calloc(n, sizeof *vals);
    char *copy = strdup(arg);
    if (!vals || !copy) {
        free(vals);
        free(copy);
        return fail(log, loglen, "Can't alloc alpha list", msg, msglen, usage_msg);
    }
    size_t i = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && i < n; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        double v = strtod(tok, &end);
        if (end == tok || v < 0.0 || v > 100.0) {
            char line[256];
            snprintf(line, sizeof line, "Invalid numeric value (%s) for percentile", tok);
            free(vals);
            free(copy);
            return fail(log, loglen, line, msg, msglen, usage_msg);
        }
        vals[i++] = v;
    }
    free(copy);
    if (i != n) { /* empty elements ("10,,20") */
        free(vals);
        return fail(log, loglen, "Unable to parse percentiles specification", msg, msglen,
                    usage_msg);
    }
    free(o->percentiles);
    o->percentiles = vals;
    o->report.percentiles = vals;
    o->report.npercentiles = (unsigned)n;
    return 1;
}

static int parse_uint(const char *arg, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (*end != '\0')
        return 0;
    *out = (uint32_t)v; /* the reference stores strtoul's result unchecked */
    return 1;
}

int tools_output_opts_parse(tools_output_opts *o, int opt, const char *arg, char *log, size_t loglen,
                          char *msg, size_t msglen)
{
    clear_messages(log, loglen, msg, msglen);
    switch (opt) {
    case 'a':
        return parse_percentiles(o, arg, log, loglen, msg, msglen);
    case 'b': {
        char *end;
        double w = strtod(arg, &end);
        if (*end != '\0' || !(w > 0.0))
            return fail(log, loglen, NULL, msg, msglen,
                        "Invalid '-b' value. Positive float expected");
        o->report.bucket_width = w;
        return 1;
    }
    case 'd': {
        char *d = strdup(arg);
        if (!d)
            return fail(log, loglen, "malloc failed", msg, msglen, "out of memory");
        free(o->dir);
        o->dir = d;
        o->report.files_dir = d;
        return 1;
    }
    case 'M':
        o->report.machine = 1;
        return 1;
    case 'n': {
        int c = tolower((unsigned char)arg[0]);
        if (c != 'n' && c != 'u' && c != 'm' && c != 's')
            return fail(log, loglen, NULL, msg, msglen, "Invalid '-n' value.");
        o->report.units = (char)c;
        return 1;
    }
    case 'N':
        if (!parse_uint(arg, &o->report.sub_count))
            return fail(log, loglen, NULL, msg, msglen,
                        "Invalid \"-N\" value. Positive integer expected");
        return 1;
    case 'p':
        o->report.print_files = 1;
        return 1;
    case 'Q':
        o->quiet = 1;
        return 1;
    case 'R':
        o->report.raw = 1;
        return 1;
    case 'U':
        o->report.unix_times = 1;
        return 1;
    case 'v':
        o->report.verbose = 1;
        if (arg && !parse_uint(arg, &o->report.verbose_max))
            return fail(log, loglen, NULL, msg, msglen,
                        "Invalid \"-v\" value. Positive integer expected");
        return 1;
    }
    return 0;
}

void tools_output_opts_finish(tools_output_opts *o,
                              void (*warn)(const char *line, const void *arg), const void *arg)
{
    if (o->report.raw)
        o->quiet = 1;
    if (o->report.verbose && o->quiet) {
        if (warn)
            warn("Ignoring '-v', '-Q' set", arg);
        o->report.verbose = 0;
    }
    if (o->report.machine && o->quiet) {
        if (warn)
            warn("Ignoring '-M', '-Q' set", arg);
        o->report.machine = 0;
    }
    if (o->report.verbose && o->report.machine) {
        if (warn)
            warn("Ignoring '-v', '-M' set", arg);
        o->report.verbose = 0;
    }
    /* -p does not apply to raw output. */
    if (o->report.raw)
        o->report.print_files = 0;
}

void tools_output_usage(FILE *out)
{
    fprintf(out, "%s\n\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n",
            "              [Output Args]",
            "   -a alpha       report an additional percentile level for the delays",
            "   -b bucketwidth bin size for histogram calculations",
            "   -M             print machine (perl) readable summary",
            "   -n units       'n','u','m', or 's'",
            "   -N count       number of test packets (to summarize per sub-session)\n"
            "   -Q             run the test and exit without reporting statistics",
            "   -R             print RAW data: \"SEQNO STIME SS SERR RTIME RS RERR TTL\\n\"",
            "   -v[N]          print out individual delays. You can supply an optional N here to "
            "limit the print to the first N packets",
            "   -U             Adds UNIX timestamps when printing individual delays");
}

/* ------------------------------------------------------------ connection options */

void tools_conn_opts_init(tools_conn_opts *o)
{
    memset(o, 0, sizeof *o);
}

int tools_conn_opts_parse(tools_conn_opts *o, int opt, const char *arg, char *log, size_t loglen,
                        char *msg, size_t msglen)
{
    clear_messages(log, loglen, msg, msglen);
    switch (opt) {
    case '4':
        o->v4only = 1;
        return 1;
    case '6':
        o->v6only = 1;
        return 1;
    case 'A': {
        owp_err err;
        if ((o->twamp ? owp_parse_authmode_twamp(arg, &o->modes, &err)
                      : owp_parse_authmode(arg, &o->modes, &err)) != OWP_OK) {
            snprintf(log, loglen, "%s", err.msg);
            return -1; /* bare usage, as the reference */
        }
        o->modes_set = 1;
        return 1;
    }
    case 'B':
        if (o->bind_device)
            return fail(log, loglen, NULL, msg, msglen, "-B can only be used once");
        if (strlen(arg) >= IFNAMSIZ) {
            char line[256];
            snprintf(line, sizeof line, "-B %s: interface names have at most %d characters",
                     arg, IFNAMSIZ - 1);
            return fail(log, loglen, line, msg, msglen, "Invalid -B interface.");
        }
        o->bind_device = arg;
        return 1;
    case 'k':
        o->pfs_file = arg;
        return 1;
    case 'S':
        o->src_addr = arg;
        return 1;
    case 'u':
        o->identity = arg;
        return 1;
    }
    return 0;
}

int tools_conn_opts_finish(const tools_conn_opts *o, char *log, size_t loglen)
{
    if (loglen)
        log[0] = '\0';
    if (o->v4only && o->v6only) {
        snprintf(log, loglen, "-4 and -6 flags cannot be set together");
        return -1;
    }
    return 0;
}

int tools_conn_opts_family(const tools_conn_opts *o)
{
    if (o->v4only)
        return AF_INET;
    if (o->v6only)
        return AF_INET6;
    return AF_UNSPEC;
}

/* Read a pass-phrase with echo off from the terminal; without one the prompt
 * goes to stderr and the line is read from stdin. Returns its length (0 when
 * nothing could be read). */
static size_t prompt_passphrase(const char *identity, uint8_t *buf, size_t cap)
{
    FILE *tty = fopen("/dev/tty", "r+");
    FILE *prompt_out = tty ? tty : stderr;
    FILE *src = tty ? tty : stdin;
    struct termios saved, quiet;
    int restore = 0;
    if (tty && tcgetattr(fileno(tty), &saved) == 0) {
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
    }
    fprintf(prompt_out, "Enter passphrase for identity '%s': ", identity);
    fflush(prompt_out);
    char line[TOOLS_CONN_PASSPHRASE_MAX + 2];
    size_t len = 0;
    if (fgets(line, sizeof line, src)) {
        len = strcspn(line, "\r\n");
        if (len > cap)
            len = cap;
        memcpy(buf, line, len);
    }
    explicit_bzero(line, sizeof line);
    if (restore)
        tcsetattr(fileno(tty), TCSAFLUSH, &saved);
    if (tty)
        fclose(tty);
    return len;
}

/* The pass-phrase for -u. 1: found (or no identity); 0: the identity was
 * dropped (unreadable -k file, nothing typed); -1: fatal, already reported. */
static int get_passphrase(const tools_conn_opts *o, const char *prog, uint8_t *buf, size_t cap,
                          size_t *len)
{
    *len = 0;
    if (!o->identity)
        return 1;
    if (!o->pfs_file) {
        *len = prompt_passphrase(o->identity, buf, cap);
        return *len > 0 ? 1 : 0;
    }
    owp_err err;
    owp_status st = owp_pfs_find_in_file(o->pfs_file, o->identity, buf, cap, len, &err);
    if (st == OWP_OK)
        return 1;
    fprintf(stderr, "%s: %s\n", prog, err.msg);
    return st == OWP_ERR_SYS ? 0 : -1;
}

owp_client *tools_conn_open(tools_conn_opts *o, const char *prog, const char *server)
{
    static uint8_t pass[TOOLS_CONN_PASSPHRASE_MAX];
    size_t passlen = 0;
    int got = get_passphrase(o, prog, pass, sizeof pass, &passlen);
    if (got < 0) {
        fprintf(stderr, "%s: Unable to open control connection to %s.\n", prog, server);
        return NULL;
    }
    if (got == 0)
        o->identity = NULL; /* as the reference: open mode only from here on */
    if (!o->modes_set)
        o->modes = o->identity ? (OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED |
                                  (o->twamp ? OWP_MODE_MIXED : 0))
                               : OWP_MODE_OPEN;

    owp_client_opts co;
    owp_client_opts_default(&co);
    co.server = server;
    co.family = tools_conn_opts_family(o);
    co.src_addr = o->src_addr;
    co.bind_device = o->bind_device;
    co.modes = o->modes;
    co.identity = o->identity;
    co.passphrase = o->identity ? pass : NULL;
    co.passphrase_len = o->identity ? passlen : 0;
    co.twamp = o->twamp;
    co.default_port = o->twamp ? "862" : NULL;
    owp_err err;
    owp_err_clear(&err);
    owp_client *c = owp_client_open(&co, &err);
    explicit_bzero(pass, sizeof pass);
    if (!c) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        fprintf(stderr, "%s: Unable to open control connection to %s.\n", prog, server);
    }
    return c;
}

void tools_conn_usage(FILE *out)
{
    fprintf(out, "%s\n\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n",
            "              [Connection Args]",
            "   -A authmode    requested modes: [A]uthenticated, [E]ncrypted, [O]pen",
            "   -k passphrasefile     passphrasefile to use with Authenticated/Encrypted modes",
            "   -S srcaddr     specify the local address or interface for control connection "
            "and tests",
            "   -B interface   specify the interface to use for control connection and tests",
            "   -u username    username to use with Authenticated/Encrypted modes",
            "   -4             connect using IPv4 addresses only",
            "   -6             connect using IPv6 addresses only");
}

void tools_usage_head(FILE *out, const char *prog, const char *msg, const char *operands)
{
    if (msg)
        fprintf(out, "%s: %s\n", prog, msg);
    fprintf(out, "usage: %s %s\n%s\n", prog, operands, "[arguments] are as follows: ");
    fprintf(out, "\n%s\n", "   -h             print this message and exit");
}

void tools_usage_tail(FILE *out)
{
    fprintf(out, "\nVersion: %s\n\n", OWAMP_COMPAT_VERSION);
}

/* ------------------------------------------------------------ the conventions */

const struct option tools_long_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, TOOLS_OPT_VERSION},
    {NULL, 0, NULL, 0},
};

void tools_print_version(FILE *out, const char *prog)
{
    fprintf(out, "%s (owmesh) %s\n", prog, PACKAGE_VERSION);
    fprintf(out, "a drop-in for %s of perfSONAR owamp %s\n", prog, OWAMP_COMPAT_VERSION);
}

int tools_convention_opt(int ch, const char *prog, tools_usage_fn usage)
{
    if (ch == 'h') {
        usage(stdout, NULL);
        return 0;
    }
    if (ch == TOOLS_OPT_VERSION) {
        tools_print_version(stdout, prog);
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------ the programs' common steps */

int tools_prog_init(const char *prog)
{
    owp_err err;
    owp_err_clear(&err);
    if (owp_clock_init(&err) != OWP_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        fprintf(stderr, "%s: Unable to initialize OWP library.\n", prog);
        return 1;
    }
    const char *warning = owp_clock_warning();
    if (warning)
        fprintf(stderr, "%s: %s\n", prog, warning);
    return 0;
}

void tools_prog_signals(void (*handler)(int))
{
    if (handler) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = handler;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
    }
    signal(SIGPIPE, SIG_IGN);
}

int tools_prog_parse_opt(tools_conn_opts *conn, tools_output_opts *out, int opt, const char *arg,
                       const char *prog, tools_usage_fn usage)
{
    char log[512], msg[256];
    int r = tools_conn_opts_parse(conn, opt, arg, log, sizeof log, msg, sizeof msg);
    if (r == 0 && out)
        r = tools_output_opts_parse(out, opt, arg, log, sizeof log, msg, sizeof msg);
    if (r < 0) {
        if (log[0])
            fprintf(stderr, "%s: %s\n", prog, log);
        usage(stderr, msg[0] ? msg : NULL);
    }
    return r;
}

static void warn_line(const char *line, const void *prog)
{
    fprintf(stderr, "%s: %s\n", (const char *)prog, line);
}

int tools_prog_finish_opts(const tools_conn_opts *conn, tools_output_opts *out, const char *prog)
{
    char log[256];
    if (tools_conn_opts_finish(conn, log, sizeof log) != 0) {
        fprintf(stderr, "%s: %s\n", prog, log);
        return -1;
    }
    if (out)
        tools_output_opts_finish(out, warn_line, prog);
    return 0;
}

int tools_prog_getopt(int argc, char **argv, tools_conn_opts *conn, tools_output_opts *out,
                    const char *prog, tools_usage_fn usage)
{
    const char *optstring =
        out ? "h" TOOLS_CONN_OPTSTRING TOOLS_OUTPUT_OPTSTRING TOOLS_DIRECTION_OPTSTRING
            : "h" TOOLS_CONN_OPTSTRING TOOLS_DIRECTION_OPTSTRING;
    int ch;
    while ((ch = getopt_long(argc, argv, optstring, tools_long_options, NULL)) != -1) {
        if (tools_convention_opt(ch, prog, usage) == 0)
            return 0;
        int r = tools_prog_parse_opt(conn, out, ch, optarg, prog, usage);
        if (r < 0)
            return 1;
        if (r > 0 || ch == 'f' || ch == 't' || ch == 'T')
            continue; /* owping's direction letters are accepted and ignored */
        usage(stderr, ""); /* an unknown option */
        return 0;
    }
    return tools_prog_finish_opts(conn, out, prog) != 0 ? 1 : -1;
}

void tools_errmsg(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ------------------------------------------------------------ test options */

#define TOOLS_TEST_DEFAULT_PORTS "8760-9960"
#define TOOLS_TEST_DEFAULT_SCHEDULE "0.1e"

int tools_test_opts_init(tools_test_opts *o, tools_usage_fn usage)
{
    memset(o, 0, sizeof *o);
    o->count = 100;
    o->dscp = -1;
    owp_err err;
    if (owp_parse_portrange(TOOLS_TEST_DEFAULT_PORTS, 1, &o->ports, &err) != OWP_OK) {
        usage(stderr, err.msg);
        return -1;
    }
    return 0;
}

void tools_test_opts_clear(tools_test_opts *o)
{
    free(o->slots);
    o->slots = NULL;
    o->nslots = 0;
}

/* -c and -s: whatever strtoul makes of the text, as long as nothing follows
 * the digits (the reference checks no more than that). */
static int parse_count(const char *text, uint32_t *value, tools_usage_fn usage)
{
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (*end != '\0') {
        usage(stderr, "Invalid value. Positive integer expected");
        return -1;
    }
    *value = (uint32_t)v;
    return 0;
}

int tools_parse_nonneg(const char *text, char letter, double *value, tools_usage_fn usage)
{
    char *end;
    double v = strtod(text, &end);
    if (*end != '\0' || !(v >= 0.0)) {
        char msg[128];
        snprintf(msg, sizeof msg, "Invalid '-%c' value. Positive float expected", letter);
        usage(stderr, msg);
        return -1;
    }
    *value = v;
    return 0;
}

static int parse_dscp(tools_test_opts *o, const char *arg, const char *prog, tools_usage_fn usage)
{
    if (o->dscp_once && o->dscp_set_nonzero) {
        usage(stderr, "Invalid option '-D'. Can only set one '-D'");
        return -1;
    }
    owp_err err;
    int v;
    if (owp_parse_dscp(arg, &v, &err) != OWP_OK) {
        tools_errmsg(prog, "%s", err.msg);
        return -1; /* no usage text, as the reference */
    }
    o->dscp = v;
    o->dscp_set_nonzero = v != 0;
    return 0;
}

/* -i: a later -i replaces an earlier one. */
static int parse_schedule(tools_test_opts *o, const char *arg, const char *prog,
                          tools_usage_fn usage)
{
    owp_err err;
    tools_test_opts_clear(o);
    if (owp_slots_parse(arg, &o->slots, &o->nslots, &err) != OWP_OK) {
        tools_errmsg(prog, "%s", err.msg);
        usage(stderr, "Invalid Schedule.");
        return -1;
    }
    return 0;
}

static int parse_ports(tools_test_opts *o, const char *arg, const char *prog, tools_usage_fn usage)
{
    owp_err err;
    if (owp_parse_portrange(arg, 1, &o->ports, &err) != OWP_OK) {
        tools_errmsg(prog, "%s", err.msg);
        usage(stderr, "Invalid test port range specified.");
        return -1;
    }
    return 0;
}

static int parse_padding(tools_test_opts *o, const char *arg, tools_usage_fn usage)
{
    uint32_t v;
    if (parse_count(arg, &v, usage) != 0)
        return -1;
    o->padding = v > TOOLS_TEST_MAX_PADDING ? TOOLS_TEST_MAX_PADDING : v;
    o->padding_set = 1;
    return 0;
}

/* 1 for a step that went well, -1 for one that failed (both handled). */
static int handled(int rc)
{
    return rc == 0 ? 1 : -1;
}

int tools_test_opts_parse(tools_test_opts *o, int opt, const char *arg, const char *prog,
                          tools_usage_fn usage)
{
    switch (opt) {
    case 'c':
        if (parse_count(arg, &o->count, usage) != 0)
            return -1;
        /* A session of no packets: refused here, as the reference does,
         * rather than asked of the server and waited for. */
        if (o->count == 0) {
            usage(stderr, "Invalid value. Positive integer expected");
            return -1;
        }
        return 1;
    case 'D':
        return handled(parse_dscp(o, arg, prog, usage));
    case 'i':
        return handled(parse_schedule(o, arg, prog, usage));
    case 'L':
        return handled(tools_parse_nonneg(arg, 'L', &o->loss_timeout, usage));
    case 'P':
        return handled(parse_ports(o, arg, prog, usage));
    case 's':
        return handled(parse_padding(o, arg, usage));
    case 'z':
        return handled(tools_parse_nonneg(arg, 'z', &o->delay_start, usage));
    }
    return 0;
}

/* One option letter of a test program: 1 handled, 0 unknown, -1 invalid. */
static int test_prog_parse_opt(int ch, tools_own_opt_fn own, void *ctx, tools_test_opts *test,
                               tools_conn_opts *conn, tools_output_opts *out, const char *prog,
                               tools_usage_fn usage)
{
    if (ch == '?')
        return 0;
    int r = own(ctx, ch, optarg);
    if (r == 0)
        r = tools_test_opts_parse(test, ch, optarg, prog, usage);
    if (r == 0)
        r = tools_prog_parse_opt(conn, out, ch, optarg, prog, usage);
    return r;
}

int tools_test_prog_getopt(int argc, char **argv, const char *optstring, tools_own_opt_fn own,
                           void *ctx, tools_test_opts *test, tools_conn_opts *conn,
                           tools_output_opts *out, const char *prog, tools_usage_fn usage)
{
    int ch;
    while ((ch = getopt_long(argc, argv, optstring, tools_long_options, NULL)) != -1) {
        if (tools_convention_opt(ch, prog, usage) == 0)
            return 0;
        int r = test_prog_parse_opt(ch, own, ctx, test, conn, out, prog, usage);
        if (r < 0)
            return 1;
        if (r == 0) { /* an unknown option */
            usage(stderr, "");
            return 0;
        }
    }
    if (tools_prog_finish_opts(conn, out, prog) != 0)
        return 1;
    owp_err err;
    if (!test->slots &&
        owp_slots_parse(TOOLS_TEST_DEFAULT_SCHEDULE, &test->slots, &test->nslots, &err) != OWP_OK) {
        usage(stderr, err.msg);
        return 1;
    }
    return -1;
}

FILE *tools_prog_tmpfile(const char *prog)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/owamp.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "%s: mkstemp(%s): %s\n", prog, path, strerror(errno));
        return NULL;
    }
    unlink(path);
    FILE *fp = fdopen(fd, "w+b");
    if (!fp) {
        fprintf(stderr, "%s: fdopen(%s): %s\n", prog, path, strerror(errno));
        close(fd);
    }
    return fp;
}

FILE *tools_conn_fetch_open(const char *prog, const char *savefile)
{
    if (!savefile)
        return tools_prog_tmpfile(prog);
    FILE *fp = fopen(savefile, "w+b");
    if (!fp)
        fprintf(stderr, "%s: owp_fetch_sid:fopen(%s): %s\n", prog, savefile, strerror(errno));
    return fp;
}

int tools_conn_fetch(owp_client *client, const char *prog, const uint8_t sid[OWP_SID_LEN], FILE *fp,
                   const char *savefile)
{
    owp_err err;
    owp_err_clear(&err);
    owp_status st = owp_client_fetch(client, sid, 0, 0xFFFFFFFFu, fp, NULL, &err);
    if (st == OWP_OK)
        return 0;
    fclose(fp);
    if (savefile)
        unlink(savefile);
    if (st == OWP_ERR_REFUSED)
        fprintf(stderr, "%s: owp_fetch_sid:Server denied request for to session data - is your "
                        "clock synchronized via NTP properly?\n", prog);
    else
        fprintf(stderr, "%s: %s\n", prog, err.msg);
    return -1;
}
