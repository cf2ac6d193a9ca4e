/*
 * owampd - the OWAMP server daemon (RFC 4656), a drop-in for perfSONAR's
 * owampd 5.2.3: same options, configuration files, pid/info files and data
 * directory (../shared/spec/programs.md section 1).
 *
 * The master accepts control connections and forks one child per
 * connection; the child runs libowamp's server engine (owp_server_serve)
 * and its test endpoints in threads. The master is also the resource broker
 * (programs.md section 1): it owns the one owp_limits_ledger, and every
 * child asks it, over its own SOCK_SEQPACKET socketpair, for each session's
 * bandwidth/disk grant and gives the grant back when the session ends. The
 * master never blocks on a child: the socketpairs sit in the same poll loop
 * as the listening sockets, replies are sent without waiting, and a child
 * that dies (or sends a malformed message) loses every grant it held.
 * Start-up reads as a list:
 *   options + owamp-server.conf -> clock -> pid file lock -> pass-phrases
 *   -> limits + ledger -> run-as user -> data directory (stored files charged
 *   to their classes) -> listening sockets -> daemonise (pid/info files)
 *   -> drop privileges -> poll loop -> shutdown.
 * Differences from the reference, on purpose: the pid file is removed at
 * exit; relative -d/-R paths are taken from the directory owampd was started
 * in; pbkdf2_count is honoured; a mode the greeting did not offer is refused.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, ppoll */
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#define OWAMPD_PATH_MAX 4096

#include "bytes.h"
#include "clock.h"
#include "conf.h"
#include "daemon_log.h"
#include "error.h"
#include "hostport.h"
#include "options.h"
#include "pfs.h"
#include "policy.h"
#include "server.h"

#define OWAMPD_VERSION "5.2.3"
#define PID_FILE "owamp-server.pid"
#define INFO_FILE "owamp-server.info"
#define DEFAULT_PORT "861"
#define MAX_LISTEN 2
/* Hundreds of clients may connect within a millisecond; a short listen
 * queue drops their SYNs and each waits a 1 s, 3 s, 7 s... retransmit. The
 * kernel caps this at net.core.somaxconn. */
#define LISTEN_BACKLOG 4096
/* Connections accepted per wake-up of the master before it looks at the
 * broker channels again (their children are waiting on the replies). */
#define ACCEPT_BURST 64

static const char *progname = "owampd";

/* Signal flags of the master. */
static volatile sig_atomic_t got_exit, got_child;
/* The engine of a per-connection child, for its SIGTERM/SIGHUP handler. */
static owp_server *child_server;

/* One connection child: its pid and the master's end of its broker
 * socketpair (-1 once the child closed it or was cut off). */
typedef struct child {
    pid_t pid;
    int fd;
} child;

typedef struct child_table {
    child *c;
    size_t n, cap;
} child_table;

typedef struct daemon_state {
    owp_server_conf conf;
    char confdir[OWAMPD_PATH_MAX];
    int have_confdir;
    int foreground;
    int facility_from_cli;
    int help;
    char datadir[OWAMPD_PATH_MAX];
    char vardir[OWAMPD_PATH_MAX];
    char pid_path[OWAMPD_PATH_MAX + 32];
    int pid_fd;
    owp_pfs *pfs;
    owp_limits *limits;
    owp_limits_ledger *ledger; /* master only */
    int broker_fd;             /* child only: its end of the socketpair */
    uid_t run_uid;
    gid_t run_gid;
    int drop_uid, drop_gid;
    int listen_fds[MAX_LISTEN];
    int nlisten;
    owp_num64 start_time;
    owp_server *server;
    child_table children;
    /* The master's poll set (kept here so a forked child can free it). */
    struct pollfd *poll_fds;
    size_t *poll_owner; /* poll_fds[nlisten + k] is the channel of children.c[poll_owner[k]] */
    size_t poll_cap;
} daemon_state;

/* ------------------------------------------------------------------ usage */

static void usage(void)
{
    fprintf(stderr, "Usage: %s [options]\n", progname);
    fprintf(stderr, "\nWhere \"options\" are:\n\n");
    fprintf(stderr,
            "   -a authmode       Default supported authmodes:[E]ncrypted,[A]uthenticated,[O]pen\n"
            "   -c confdir        Configuration directory\n"
            "   -d datadir        Data directory\n"
            "   -e facility       Syslog \"facility\" to log errors\n"
            "   -f                Allow %s to run as root\n"
            "   -G group          Run as group \"group\" :-gid also valid\n"
            "   -h                Print this message and exit\n",
            progname);
    fprintf(stderr,
            "   -P portrange      port range for recivers to use\n"
            "   -R vardir         directory for " PID_FILE " file\n"
            "   -S nodename:port  Srcaddr to bind to\n"
            "   -U user           Run as user \"user\" :-uid also valid\n"
            "   -v                verbose output\n"
            "\n");
    fprintf(stderr, "\nVersion: %s\n\n", OWAMPD_VERSION);
}

/* ------------------------------------------------------------------ options */

static void copy_str(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src);
}

/* -c, -e and -Z first: -c says where the config file is, -e and -Z decide
 * where the errors of everything else go. */
static void prescan_options(daemon_state *d, int argc, char **argv)
{
    int ch;
    opterr = 0;
    while ((ch = getopt(argc, argv, "a:c:d:e:fG:hP:R:S:U:vZ")) != -1) {
        switch (ch) {
        case 'c':
            copy_str(d->confdir, sizeof d->confdir, optarg);
            d->have_confdir = 1;
            break;
        case 'e': {
            owp_err err;
            int fac;
            if (owp_parse_facility(optarg, &fac, &err) != OWP_OK) {
                log_err("Invalid -e: Syslog facility \"%s\" unknown", optarg);
                exit(1);
            }
            d->conf.facility = fac;
            d->facility_from_cli = 1;
            daemon_log_set_facility(fac);
            break;
        }
        case 'Z':
            d->foreground = 1;
            break;
        default:
            break;
        }
    }
    opterr = 1;
    optind = 0; /* GNU getopt: full re-initialisation for the second pass */
}

/* CONFDIR/owamp-server.BASE or CONFDIR/owampd.BASE (the manual's name).
 * Returns 1 when one exists (path names it), 0 when neither does. */
static int find_config(const char *dir, const char *base, char *path, unsigned len)
{
    int found = owp_server_conf_find(dir, base, path, len);
    if (found < 0) {
        log_err("%s: configuration directory path too long", dir);
        exit(1);
    }
    if (found == 2)
        log_warn("Both %s/owampd.%s and %s exist: using %s, ignoring owampd.%s", dir, base, path,
                 path, base);
    return found != 0;
}

static void load_conf_file(daemon_state *d)
{
    int facility = d->conf.facility;
    char path[OWAMPD_PATH_MAX + 64];
    const char *dir = d->have_confdir ? d->confdir : ".";
    int found = find_config(dir, "conf", path, sizeof path);
    if (!found) {
        if (d->have_confdir) {
            log_err("Unable to open %s/owamp-server.conf (or %s/owampd.conf): %s", dir, dir,
                    strerror(ENOENT));
            exit(1);
        }
        return;
    }
    owp_err err;
    if (owp_server_conf_load(&d->conf, path, &err) != OWP_OK) {
        log_err("%s", err.msg);
        log_err("%s Problem parsing conffile", path);
        exit(1);
    }
    if (d->facility_from_cli)
        d->conf.facility = facility;
    daemon_log_set_facility(d->conf.facility);
    daemon_log_set_level(d->conf.loglevel);
    daemon_log_location(d->conf.loglocation);
}

static void parse_options(daemon_state *d, int argc, char **argv)
{
    owp_err err;
    int ch;
    while ((ch = getopt(argc, argv, "a:c:d:e:fG:hP:R:S:U:vZ")) != -1) {
        switch (ch) {
        case 'a':
            if (owp_parse_authmode(optarg, &d->conf.authmodes, &err) != OWP_OK) {
                log_err("%s", err.msg);
                usage();
                exit(1);
            }
            break;
        case 'c': case 'e': case 'Z':
            break; /* taken by the pre-scan */
        case 'd':
            copy_str(d->conf.datadir, sizeof d->conf.datadir, optarg);
            break;
        case 'f':
            d->conf.rootfolly = 1;
            break;
        case 'G':
            copy_str(d->conf.group, sizeof d->conf.group, optarg);
            break;
        case 'P':
            if (owp_parse_portrange(optarg, 0, &d->conf.testports, &err) != OWP_OK) {
                log_err("%s", err.msg);
                log_err("Invalid test port range specified.");
                exit(1);
            }
            break;
        case 'R':
            copy_str(d->conf.vardir, sizeof d->conf.vardir, optarg);
            break;
        case 'S':
            copy_str(d->conf.srcnode, sizeof d->conf.srcnode, optarg);
            break;
        case 'U':
            copy_str(d->conf.user, sizeof d->conf.user, optarg);
            break;
        case 'v':
            d->conf.verbose = 1; /* parsed, no effect (as the reference) */
            break;
        case 'h':
        default:
            d->help = 1; /* after the clock check, as the reference */
            return;
        }
    }
    if (optind < argc) {
        usage();
        exit(1);
    }
}

/* Relative directories are taken from where owampd was started (the daemon
 * later runs in "/"); empty means that directory itself. */
static void absolute_dir(const char *in, char *out, size_t len, const char *what)
{
    char cwd[OWAMPD_PATH_MAX];
    if (in[0] == '/') {
        copy_str(out, len, in);
        return;
    }
    if (!getcwd(cwd, sizeof cwd)) {
        log_err("getcwd: %s", strerror(errno));
        exit(1);
    }
    int n = in[0] ? snprintf(out, len, "%s/%s", cwd, in) : snprintf(out, len, "%s", cwd);
    if (n < 0 || (size_t)n >= len) {
        log_err("%s path too long: %s", what, in);
        exit(1);
    }
}

/* ------------------------------------------------------------------ start-up steps */

static void lock_pid_file(daemon_state *d)
{
    snprintf(d->pid_path, sizeof d->pid_path, "%s/%s", d->vardir, PID_FILE);
    d->pid_fd = open(d->pid_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (d->pid_fd < 0 || fcntl(d->pid_fd, F_SETLK, &fl) != 0) {
        log_err("Unable to lock file %s: %s", d->pid_path, strerror(errno));
        exit(1);
    }
}

static void load_pfs(daemon_state *d)
{
    char path[OWAMPD_PATH_MAX + 64];
    const char *dir = d->have_confdir ? d->confdir : ".";
    owp_err err;
    if (!find_config(dir, "pfs", path, sizeof path)) {
        d->pfs = owp_pfs_new();
    } else {
        d->pfs = owp_pfs_load(path, &err);
        if (!d->pfs) {
            log_err("%s", err.msg);
            log_err("PolicyInit failed. Exiting...");
            exit(1);
        }
    }
    if (!d->pfs) {
        log_err("out of memory");
        exit(1);
    }
}

/* The limits file names identities of the pfs file, so it is read after it
 * (a user without a pass-phrase stops start-up, naming PATH:LINE). The
 * ledger that grants resources lives here, in the master, only. */
static void load_limits(daemon_state *d)
{
    char path[OWAMPD_PATH_MAX + 64];
    const char *dir = d->have_confdir ? d->confdir : ".";
    owp_err err;
    find_config(dir, "limits", path, sizeof path);
    d->limits = owp_limits_load(path, d->pfs, &err);
    if (!d->limits) {
        log_err("%s", err.msg);
        log_err("PolicyInit failed. Exiting...");
        exit(1);
    }
    const char *warning = owp_limits_warning(d->limits);
    if (warning)
        log_warn("%s", warning);
    d->ledger = owp_limits_ledger_new(d->limits, d->conf.diskfudge, &err);
    if (!d->ledger) {
        log_err("%s", err.msg);
        log_err("PolicyInit failed. Exiting...");
        exit(1);
    }
}

/* "name" or "-ID". */
static int resolve_id(const char *text, int is_group, unsigned long *id)
{
    if (is_group) {
        struct group *gr = getgrnam(text);
        if (gr) {
            *id = gr->gr_gid;
            return 1;
        }
    } else {
        struct passwd *pw = getpwnam(text);
        if (pw) {
            *id = pw->pw_uid;
            return 1;
        }
    }
    if (text[0] == '-' && text[1]) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(text + 1, &end, 10);
        if (!errno && *end == '\0') {
            *id = v;
            return 1;
        }
    }
    return 0;
}

static void resolve_run_as(daemon_state *d)
{
    if (geteuid() != 0)
        return; /* -U/-G only matter when started as root */
    unsigned long id;
    if (d->conf.user[0]) {
        if (!resolve_id(d->conf.user, 0, &id)) {
            log_err("Invalid user/-U option: %s", d->conf.user);
            exit(1);
        }
        d->run_uid = (uid_t)id;
        d->drop_uid = id != 0;
        struct passwd *pw = getpwuid(d->run_uid);
        if (pw) {
            d->run_gid = pw->pw_gid;
            d->drop_gid = 1;
        }
    }
    if (!d->drop_uid && !d->conf.rootfolly) {
        log_err("Running %s as root is folly!", progname);
        log_err("Use the -U option! (or allow root with the -f option)");
        exit(1);
    }
    if (d->conf.group[0]) {
        if (!resolve_id(d->conf.group, 1, &id) || id == 0) {
            log_err("Invalid user/-G option: %s", d->conf.group);
            exit(1);
        }
        d->run_gid = (gid_t)id;
        d->drop_gid = 1;
    }
}

/* A session file kept by an earlier run: served again and charged to the
 * disk usage of its class (and every ancestor). A file in a directory that
 * is no class path of the limits file is left alone and not served. */
static int charge_stored_file(void *arg, const char *class_path, const char *path,
                              uint64_t size)
{
    daemon_state *d = arg;
    owp_err err;
    if (owp_limits_ledger_add_stored(d->ledger, class_path, size, &err) != OWP_OK) {
        log_warn("verify_datadir: Ignoring \"%s\": No associated user class", path);
        return 1;
    }
    return 0;
}

/* Stored data above a (lowered) disk limit is kept; say what it means. */
static void warn_over_disk_limit(const daemon_state *d)
{
    for (size_t i = 0; i < owp_limits_class_count(d->limits); i++) {
        const owp_limits_class *cls = owp_limits_class_at(d->limits, i);
        uint64_t limit = owp_limits_class_values(cls)->disk, used = 0;
        owp_limits_ledger_usage(d->ledger, cls, NULL, &used);
        if (limit && used > limit)
            log_warn("class %s: %" PRIu64 " bytes stored by earlier runs exceed its disk limit "
                     "(%" PRIu64 "): its receive sessions are refused until data is fetched "
                     "(delete_on_fetch) or removed",
                     owp_limits_class_name(cls), used, limit);
    }
}

/* The data directory belongs to the run-as user: prepare it with that
 * user's effective ids. */
static void init_datadir(daemon_state *d)
{
    int switched = 0;
    if (geteuid() == 0 && (d->drop_uid || d->drop_gid)) {
        if ((d->drop_gid && setegid(d->run_gid) != 0) ||
            (d->drop_uid && seteuid(d->run_uid) != 0)) {
            log_err("Unable to take the run-as user's ids: %s", strerror(errno));
            exit(1);
        }
        switched = 1;
    }
    owp_err err;
    unsigned linked = 0;
    owp_status st = owp_server_datadir_init_stored(d->datadir, charge_stored_file, d,
                                                   daemon_log_callback, NULL, &linked, &err);
    if (switched && (seteuid(0) != 0 || setegid(0) != 0)) {
        log_err("Unable to regain root: %s", strerror(errno));
        exit(1);
    }
    if (st != OWP_OK) {
        log_err("verify_datadir: %s", err.msg);
        exit(1);
    }
    log_debug("datadir %s: %u stored session(s) in the catalog", d->datadir, linked);
    warn_over_disk_limit(d);
}

static int open_listener(const struct sockaddr *sa, socklen_t len, int dual_stack)
{
    /* Non-blocking, so the master can accept until the queue is empty. */
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int on = 1, off = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? &off : &on, sizeof on);
    if (bind(fd, sa, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static void create_listeners(daemon_state *d)
{
    owp_hostport hp;
    owp_err err;
    memset(&hp, 0, sizeof hp);
    if (d->conf.srcnode[0] && owp_hostport_parse(d->conf.srcnode, &hp, &err) != OWP_OK) {
        log_err("Invalid source address specified: %s", d->conf.srcnode);
        exit(1);
    }
    const char *port = hp.port[0] ? hp.port : DEFAULT_PORT;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = -1;
    if (hp.host[0]) {
        if (owp_hostport_resolve(&hp, DEFAULT_PORT, AF_UNSPEC, SOCK_STREAM, 1, &ss, &len, &err) !=
            OWP_OK) {
            log_err("Invalid source address specified: %s", d->conf.srcnode);
            exit(1);
        }
        fd = open_listener((struct sockaddr *)&ss, len, 0);
    } else {
        /* Wildcard: one IPv6 socket that also takes IPv4, else IPv4 only. */
        char *end;
        unsigned long p = strtoul(port, &end, 10);
        if (*end || p > 65535) {
            log_err("Invalid source address specified: %s", d->conf.srcnode);
            exit(1);
        }
        struct sockaddr_in6 s6;
        memset(&s6, 0, sizeof s6);
        s6.sin6_family = AF_INET6;
        s6.sin6_addr = in6addr_any;
        s6.sin6_port = htons((uint16_t)p);
        fd = open_listener((struct sockaddr *)&s6, sizeof s6, 1);
        if (fd < 0 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
            struct sockaddr_in s4;
            memset(&s4, 0, sizeof s4);
            s4.sin_family = AF_INET;
            s4.sin_addr.s_addr = htonl(INADDR_ANY);
            s4.sin_port = htons((uint16_t)p);
            fd = open_listener((struct sockaddr *)&s4, sizeof s4, 0);
        }
    }
    if (fd < 0) {
        log_err("bind %s: %s", d->conf.srcnode[0] ? d->conf.srcnode : "wildcard", strerror(errno));
        log_err("Unable to create server socket. Exiting...");
        exit(1);
    }
    d->listen_fds[d->nlisten++] = fd;
}

static void write_pid_files(daemon_state *d)
{
    pid_t pid = getpid();
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)pid);
    if (ftruncate(d->pid_fd, 0) != 0 || pwrite(d->pid_fd, buf, (size_t)n, 0) != n) {
        log_err("Unable to write %s: %s", d->pid_path, strerror(errno));
        exit(1);
    }
    char info[OWAMPD_PATH_MAX + 32];
    snprintf(info, sizeof info, "%s/%s", d->vardir, INFO_FILE);
    FILE *fp = fopen(info, "w");
    if (!fp) {
        log_err("Unable to open %s: %s", info, strerror(errno));
        exit(1);
    }
    fprintf(fp, "START=%020" PRIu64 "\nPID=%ld\n", (uint64_t)d->start_time, (long)pid);
    if (fclose(fp) != 0) {
        log_err("Unable to write %s: %s", info, strerror(errno));
        exit(1);
    }
}

/* Unless -Z: fork; the parent waits until the child has its pid file and
 * sockets ready and exits with the child's start-up status. */
static int daemonise(daemon_state *d)
{
    if (d->foreground) {
        setpgid(0, 0); /* our own process group: shutdown signals only our children */
        write_pid_files(d);
        return -1;
    }
    int pfd[2];
    if (pipe(pfd) != 0) {
        log_err("pipe: %s", strerror(errno));
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_err("fork: %s", strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        close(pfd[1]);
        close(d->pid_fd); /* releases our lock so the daemon can take it */
        unsigned char status = 1;
        ssize_t r;
        do
            r = read(pfd[0], &status, 1);
        while (r < 0 && errno == EINTR);
        _exit(r == 1 ? status : 1);
    }
    close(pfd[0]);
    setsid();
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int rc;
    do
        rc = fcntl(d->pid_fd, F_SETLKW, &fl);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        log_err("Unable to lock file %s: %s", d->pid_path, strerror(errno));
        exit(1);
    }
    write_pid_files(d);
    if (chdir("/") != 0)
        log_warn("chdir /: %s", strerror(errno));
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    return pfd[1];
}

static void drop_privileges(daemon_state *d)
{
    if (geteuid() != 0)
        return;
    if (d->drop_gid) {
        if (setgroups(1, &d->run_gid) != 0 || setgid(d->run_gid) != 0) {
            log_err("Unable to setgid(%ld): %s", (long)d->run_gid, strerror(errno));
            exit(1);
        }
    }
    if (d->drop_uid && setuid(d->run_uid) != 0) {
        log_err("Unable to setuid(%ld): %s", (long)d->run_uid, strerror(errno));
        exit(1);
    }
}

static void raise_fd_limit(uint32_t maxsessions)
{
    struct rlimit rl;
    if (maxsessions == 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)maxsessions * 2;
    if (rl.rlim_cur < want && (rl.rlim_max == RLIM_INFINITY || want <= rl.rlim_max)) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ------------------------------------------------------------------ signals and children */

static void master_signal(int sig)
{
    if (sig == SIGCHLD)
        got_child = 1;
    else
        got_exit = 1;
}

static void child_stop_signal(int sig)
{
    (void)sig;
    owp_server_stop(child_server);
}

static const int exit_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};

static void install_master_signals(sigset_t *wait_mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = master_signal;
    sigemptyset(&sa.sa_mask);
    sigset_t block;
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof exit_signals / sizeof exit_signals[0]; i++) {
        sigaction(exit_signals[i], &sa, NULL);
        sigaddset(&block, exit_signals[i]);
    }
    sigaction(SIGCHLD, &sa, NULL);
    sigaddset(&block, SIGCHLD);
    signal(SIGPIPE, SIG_IGN);
    /* Signals are only delivered inside ppoll, so none slips in between
     * a flag check and the wait. */
    sigprocmask(SIG_BLOCK, &block, wait_mask);
    sigdelset(wait_mask, SIGTERM);
    for (size_t i = 0; i < sizeof exit_signals / sizeof exit_signals[0]; i++)
        sigdelset(wait_mask, exit_signals[i]);
    sigdelset(wait_mask, SIGCHLD);
}

static void child_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = child_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sa.sa_handler = SIG_DFL; /* SIGINT closes the control connection at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void broker_drop(daemon_state *d, child *ch);

static int add_child(child_table *t, pid_t pid, int fd)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        child *n = realloc(t->c, cap * sizeof *n);
        if (!n) {
            log_err("out of memory tracking child %ld", (long)pid);
            return -1;
        }
        t->c = n;
        t->cap = cap;
    }
    t->c[t->n++] = (child){pid, fd};
    return 0;
}

/* Collect exited children; whatever a child still held is released (a
 * crashed child cannot leak grants). */
static void reap_children(daemon_state *d)
{
    child_table *t = &d->children;
    pid_t pid;
    int status;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < t->n; i++) {
            if (t->c[i].pid == pid) {
                if (d->ledger)
                    broker_drop(d, &t->c[i]);
                t->c[i] = t->c[--t->n];
                break;
            }
        }
    }
}

/* ------------------------------------------------------------------ the resource broker */

/* Child -> master: one SOCK_SEQPACKET message each (integers big-endian):
 *   0 type  1 flag  2-3 text length  4-7 zero  8-15 a  16-23 b  24- text
 *   BROKER_OPEN            the connection's class: text = class path
 *   BROKER_REQUEST         a Request-Session: a = bandwidth bit/s, b = disk bytes
 *   BROKER_END             a session is over: a = grant id, b = file size,
 *                          flag = 1 when the received file stays
 *   BROKER_STORED_REMOVED  a stored file was deleted: text = its class path,
 *                          b = its size
 * Master -> child, one reply per message:
 *   0 status  1 accept  2-3 text length  4-7 zero  8-15 grant id  16- text
 * The text carries no NUL; every length is checked before use. */
#define BROKER_HDR 24
#define BROKER_TEXT_MAX (OWP_SERVER_CLASS_MAX - 1)
#define BROKER_REPLY_HDR 16
#define BROKER_REPLY_TEXT_MAX 511
#define BROKER_REPLY_TIMEOUT_MS 10000

enum { BROKER_OPEN = 1, BROKER_REQUEST, BROKER_END, BROKER_STORED_REMOVED };
enum { BROKER_GRANTED = 0, BROKER_REFUSED = 1, BROKER_FAILED = 2 };

typedef struct broker_msg {
    uint8_t type, flag;
    uint64_t a, b;
    char text[BROKER_TEXT_MAX + 1];
} broker_msg;

typedef struct broker_reply {
    uint8_t status, accept;
    uint64_t grant;
    char text[BROKER_REPLY_TEXT_MAX + 1];
} broker_reply;

/* Header + text into buf; returns the message length. */
static size_t broker_pack(uint8_t *buf, size_t hdr, uint8_t b0, uint8_t b1, uint64_t x,
                          uint64_t y, const char *text, size_t text_max)
{
    size_t n = strnlen(text, text_max);
    memset(buf, 0, hdr);
    buf[0] = b0;
    buf[1] = b1;
    owp_put16(buf + 2, (uint16_t)n);
    owp_put64(buf + 8, x);
    if (hdr >= 24)
        owp_put64(buf + 16, y);
    memcpy(buf + hdr, text, n);
    return hdr + n;
}

/* Check header and text of a received message; copies the text. -1: malformed. */
static int broker_unpack_text(const uint8_t *buf, size_t len, size_t hdr, char *text,
                              size_t text_max)
{
    if (len < hdr || buf[4] || buf[5] || buf[6] || buf[7])
        return -1;
    size_t n = owp_get16(buf + 2);
    if (n != len - hdr || n > text_max || memchr(buf + hdr, '\0', n))
        return -1;
    memcpy(text, buf + hdr, n);
    text[n] = '\0';
    return 0;
}

static int broker_decode_msg(const uint8_t *buf, size_t len, broker_msg *m)
{
    if (broker_unpack_text(buf, len, BROKER_HDR, m->text, BROKER_TEXT_MAX) != 0)
        return -1;
    m->type = buf[0];
    m->flag = buf[1];
    m->a = owp_get64(buf + 8);
    m->b = owp_get64(buf + 16);
    if (m->type < BROKER_OPEN || m->type > BROKER_STORED_REMOVED || m->flag > 1)
        return -1;
    return 0;
}

static int broker_decode_reply(const uint8_t *buf, size_t len, broker_reply *r)
{
    if (broker_unpack_text(buf, len, BROKER_REPLY_HDR, r->text, BROKER_REPLY_TEXT_MAX) != 0)
        return -1;
    r->status = buf[0];
    r->accept = buf[1];
    r->grant = owp_get64(buf + 8);
    return r->status > BROKER_FAILED || r->accept > 5 ? -1 : 0;
}

/* ---- child side: one blocking question at a time. The hooks that ask run
 * only on the connection's control thread, so no two calls overlap. */

static void broker_fail(broker_reply *r, const char *why)
{
    r->status = BROKER_FAILED;
    r->accept = OWP_ACCEPT_INTERNAL;
    r->grant = 0;
    snprintf(r->text, sizeof r->text, "resource broker: %s", why);
}

static void broker_call(const daemon_state *d, const broker_msg *m, broker_reply *r)
{
    uint8_t buf[BROKER_HDR + BROKER_TEXT_MAX];
    size_t n = broker_pack(buf, BROKER_HDR, m->type, m->flag, m->a, m->b, m->text,
                           BROKER_TEXT_MAX);
    ssize_t w;
    do
        w = send(d->broker_fd, buf, n, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)n) {
        broker_fail(r, w < 0 ? strerror(errno) : "short send");
        return;
    }
    struct pollfd pfd = {.fd = d->broker_fd, .events = POLLIN};
    int pr;
    do
        pr = poll(&pfd, 1, BROKER_REPLY_TIMEOUT_MS);
    while (pr < 0 && errno == EINTR);
    if (pr <= 0) {
        broker_fail(r, pr == 0 ? "no reply from the master" : strerror(errno));
        return;
    }
    uint8_t rbuf[BROKER_REPLY_HDR + BROKER_REPLY_TEXT_MAX + 1];
    ssize_t got;
    do
        got = recv(d->broker_fd, rbuf, sizeof rbuf, 0);
    while (got < 0 && errno == EINTR);
    if (got <= 0)
        broker_fail(r, got == 0 ? "the master closed the channel" : strerror(errno));
    else if (broker_decode_reply(rbuf, (size_t)got, r) != 0)
        broker_fail(r, "malformed reply");
}

static void broker_ask(const daemon_state *d, uint8_t type, uint8_t flag, uint64_t a,
                       uint64_t b, const char *text, broker_reply *r)
{
    broker_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.flag = flag;
    m.a = a;
    m.b = b;
    snprintf(m.text, sizeof m.text, "%s", text ? text : "");
    broker_call(d, &m, r);
}

/* ---- child side: the policy hooks of owp_server */

static const char *peer_text(const struct sockaddr *sa, char *buf, size_t len)
{
    if (sa)
        owp_sockaddr_format_addr(sa, buf, len);
    else
        snprintf(buf, len, "?");
    return buf;
}

static uint32_t policy_greeting_modes(void *arg, const struct sockaddr *peer,
                                      socklen_t peer_len, uint32_t configured)
{
    daemon_state *d = arg;
    if ((configured & OWP_MODE_OPEN) && !owp_limits_allow_open_mode(d->limits, peer, peer_len)) {
        char a[128];
        const owp_limits_class *cls = owp_limits_class_for_addr(d->limits, peer, peer_len);
        log_debug("Open mode not offered to %s: class %s has allow_open_mode off",
                  peer_text(peer, a, sizeof a), owp_limits_class_name(cls));
        configured &= ~(uint32_t)OWP_MODE_OPEN;
    }
    return configured;
}

static int policy_control(void *arg, const owp_server_conn_info *conn, char *class_path)
{
    daemon_state *d = arg;
    char a[128], path[OWP_SERVER_CLASS_MAX];
    const owp_limits_class *cls = owp_limits_class_for_conn(
        d->limits, conn->peer, conn->peer_len, conn->mode, conn->identity);
    if (owp_limits_class_path(cls, path, sizeof path) != 0) {
        log_err("class %s: class path too long", owp_limits_class_name(cls));
        return OWP_ACCEPT_INTERNAL;
    }
    broker_reply r;
    broker_ask(d, BROKER_OPEN, 0, 0, 0, path, &r);
    if (r.status != BROKER_GRANTED) {
        log_err("%s", r.text);
        return OWP_ACCEPT_INTERNAL;
    }
    log_debug("%s: userid(%s) is in class %s", peer_text(conn->peer, a, sizeof a),
              conn->identity && conn->identity[0] ? conn->identity : "nil", path);
    snprintf(class_path, OWP_SERVER_CLASS_MAX, "%s", path);
    return OWP_ACCEPT_OK;
}

static int policy_session(void *arg, const owp_server_conn_info *conn, const owp_request *req,
                          uint64_t *handle)
{
    daemon_state *d = arg;
    int ipv6 = conn->peer && conn->peer->sa_family == AF_INET6;
    uint64_t bandwidth = owp_limits_session_bandwidth(req->slots, req->nslots, req->padding,
                                                      conn->mode, ipv6);
    uint64_t disk =
        req->conf_receiver ? owp_limits_session_disk(req->nslots, req->npackets) : 0;
    broker_reply r;
    broker_ask(d, BROKER_REQUEST, 0, bandwidth, disk, NULL, &r);
    if (r.status == BROKER_GRANTED) {
        *handle = r.grant;
        log_debug("ResReq ALLOWED: %s:request:bandwidth = %" PRIu64 ", disk = %" PRIu64,
                  conn->class_path, bandwidth, disk);
        return OWP_ACCEPT_OK;
    }
    log_err("%s", r.text); /* "ResReq DENIED: CLASS:request:LIMIT = ..." */
    return r.accept ? r.accept : OWP_LIMITS_ACCEPT_DENIED;
}

static int policy_session_end(void *arg, const owp_server_conn_info *conn,
                              const owp_request *req, uint64_t handle, int keep_file,
                              const char *path, uint64_t file_size)
{
    (void)conn;
    (void)req;
    daemon_state *d = arg;
    broker_reply r;
    broker_ask(d, BROKER_END, keep_file ? 1 : 0, handle, file_size, NULL, &r);
    if (r.status == BROKER_GRANTED)
        return 0;
    log_err("%s", r.text);
    if (r.status == BROKER_REFUSED && keep_file) {
        log_warn("%s Too large! Deleting... (See diskfudge)", path);
        return 1;
    }
    return 0;
}

/* delete_on_fetch comes from the class whose directory holds the file. The
 * file is removed here so that two clients fetching it at once release its
 * bytes only once. */
static int policy_fetched(void *arg, const owp_server_conn_info *conn, const char *file_class,
                          const char *path, uint64_t file_size)
{
    (void)conn;
    daemon_state *d = arg;
    const owp_limits_class *cls = owp_limits_class_by_path(d->limits, file_class);
    if (!cls || !owp_limits_class_values(cls)->delete_on_fetch || !path[0])
        return 0;
    if (unlink(path) != 0) {
        if (errno != ENOENT)
            log_warn("unlink %s: %s", path, strerror(errno));
        return errno == ENOENT;
    }
    log_debug("%s: deleted after a full fetch (class %s: delete_on_fetch on)", path, file_class);
    broker_reply r;
    broker_ask(d, BROKER_STORED_REMOVED, 0, 0, file_size, file_class, &r);
    if (r.status != BROKER_GRANTED)
        log_err("%s", r.text);
    return 1;
}

/* ---- master side */

/* The master stops listening to a child: everything it holds is released
 * (it exited, cut the channel, or sent something malformed). */
static void broker_drop(daemon_state *d, child *ch)
{
    size_t n = owp_limits_ledger_conn_close(d->ledger, (uint64_t)ch->pid);
    if (n)
        log_debug("child %ld gone: %zu resource grant(s) released", (long)ch->pid, n);
    if (ch->fd >= 0)
        close(ch->fd);
    ch->fd = -1;
}

static void broker_answer(daemon_state *d, child *ch, const broker_msg *m, broker_reply *r)
{
    owp_err err;
    owp_err_clear(&err);
    uint64_t conn_id = (uint64_t)ch->pid, owner = 0;
    owp_status st = OWP_OK;
    switch (m->type) {
    case BROKER_OPEN: {
        const owp_limits_class *cls = owp_limits_class_by_path(d->limits, m->text);
        st = cls ? owp_limits_ledger_conn_open(d->ledger, conn_id, cls, &err)
                 : owp_err_set(&err, OWP_ERR_INVALID, "unknown class path \"%s\"", m->text);
        break;
    }
    case BROKER_REQUEST:
        st = owp_limits_ledger_request(d->ledger, conn_id, m->a, m->b, &r->grant, &r->accept,
                                       &err);
        break;
    case BROKER_END:
        if (owp_limits_ledger_grant_conn(d->ledger, m->a, &owner) != 0 || owner != conn_id)
            st = owp_err_set(&err, OWP_ERR_INVALID, "no resource grant %" PRIu64 " of child %ld",
                             m->a, (long)ch->pid);
        else
            st = owp_limits_ledger_end(d->ledger, m->a, m->flag, m->b, &err);
        break;
    case BROKER_STORED_REMOVED:
        st = owp_limits_ledger_remove_stored(d->ledger, m->text, m->b, &err);
        break;
    }
    r->status = st == OWP_OK ? BROKER_GRANTED : st == OWP_ERR_REFUSED ? BROKER_REFUSED
                                                                       : BROKER_FAILED;
    if (st == OWP_ERR_REFUSED && r->accept == 0)
        r->accept = OWP_LIMITS_ACCEPT_DENIED;
    else if (r->status == BROKER_FAILED)
        r->accept = OWP_ACCEPT_INTERNAL;
    if (st != OWP_OK)
        snprintf(r->text, sizeof r->text, "%s", err.msg);
    if (r->status == BROKER_FAILED)
        log_debug("resource broker: child %ld: %s", (long)ch->pid, err.msg);
}

/* One message from a child, never waiting: the socketpair said it is readable. */
static void broker_serve(daemon_state *d, child *ch)
{
    uint8_t buf[BROKER_HDR + BROKER_TEXT_MAX + 1]; /* one byte more shows an oversized message */
    ssize_t n = recv(ch->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        broker_drop(d, ch);
        return;
    }
    broker_msg m;
    if (broker_decode_msg(buf, (size_t)n, &m) != 0) {
        log_err("resource broker: malformed message (%zd bytes) from child %ld: cut off", n,
                (long)ch->pid);
        broker_drop(d, ch);
        return;
    }
    broker_reply r;
    memset(&r, 0, sizeof r);
    broker_answer(d, ch, &m, &r);
    uint8_t out[BROKER_REPLY_HDR + BROKER_REPLY_TEXT_MAX];
    size_t len = broker_pack(out, BROKER_REPLY_HDR, r.status, r.accept, r.grant, 0, r.text,
                             BROKER_REPLY_TEXT_MAX);
    if (send(ch->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len) {
        log_err("resource broker: reply to child %ld: %s: cut off", (long)ch->pid,
                strerror(errno));
        broker_drop(d, ch);
    }
}

static void create_server(daemon_state *d)
{
    owp_server_config cfg;
    owp_server_config_default(&cfg);
    cfg.modes = d->conf.authmodes;
    cfg.pfs = d->pfs;
    cfg.pbkdf2_count = d->conf.pbkdf2_count;
    cfg.datadir = d->datadir;
    cfg.testports = d->conf.testports;
    cfg.controltimeout = d->conf.controltimeout;
    cfg.enddelay = d->conf.enddelay;
    cfg.start_time = d->start_time;
    cfg.log = daemon_log_callback;
    cfg.policy.arg = d;
    cfg.policy.greeting_modes = policy_greeting_modes;
    cfg.policy.control = policy_control;
    cfg.policy.session = policy_session;
    cfg.policy.session_end = policy_session_end;
    cfg.policy.fetched = policy_fetched;
    owp_err err;
    d->server = owp_server_new(&cfg, &err);
    if (!d->server) {
        log_err("%s", err.msg);
        exit(1);
    }
}

/* ------------------------------------------------------------------ serving */

/* A connection's child ends without the exit handlers: they would only tear
 * down what the process is about to lose anyway (OpenSSL's providers and
 * caches: 0.1-0.2 ms of the ~3 ms of CPU a child costs). Its session files
 * are closed by then; stdio is flushed. */
static _Noreturn void child_exit(int status)
{
    fflush(NULL);
    _exit(status);
}

static void serve_connection(daemon_state *d, int connfd, int broker_fd,
                             const struct sockaddr_storage *peer, socklen_t peer_len)
{
    child_server = d->server;
    child_signals();
    for (int i = 0; i < d->nlisten; i++)
        close(d->listen_fds[i]);
    close(d->pid_fd);
    /* Only the master may talk to the other children. */
    for (size_t i = 0; i < d->children.n; i++)
        if (d->children.c[i].fd >= 0)
            close(d->children.c[i].fd);
    d->broker_fd = broker_fd;
    free(d->poll_fds); /* the master's */
    free(d->poll_owner);
    d->poll_fds = NULL;
    d->poll_owner = NULL;
    if (daemon_log_enabled(LOG_DEBUG)) {
        struct sockaddr_storage local;
        socklen_t llen = sizeof local;
        char la[128] = "?", ra[128];
        if (getsockname(connfd, (struct sockaddr *)&local, &llen) == 0)
            owp_sockaddr_format_addr((struct sockaddr *)&local, la, sizeof la);
        owp_sockaddr_format_addr((const struct sockaddr *)peer, ra, sizeof ra);
        log_debug("Connection to ([%s]:%u) from ([%s]:%u)", la,
                  llen ? owp_sockaddr_port((struct sockaddr *)&local) : 0, ra,
                  owp_sockaddr_port((const struct sockaddr *)peer));
    }
    owp_err err;
    owp_status st =
        owp_server_serve(d->server, connfd, (const struct sockaddr *)peer, peer_len, &err);
    if (st != OWP_OK && st != OWP_ERR_REFUSED) {
        log_err("Control session terminated abnormally...");
        child_exit(1);
    }
    child_exit(0);
}

/* Accept one queued connection and fork its child. 0 when the queue was
 * empty (or accept failed), 1 when a connection was taken. */
static int accept_one(daemon_state *d, int lfd)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    /* The accepted socket is blocking (accept4 does not inherit O_NONBLOCK). */
    int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == ECONNABORTED || errno == EINTR)
            return 1; /* that one is gone; others may wait */
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            log_err("accept: %s", strerror(errno));
        return 0;
    }
    uint32_t max = d->conf.maxcontrolsessions;
    if (max && d->children.n >= max) {
        reap_children(d);
        if (d->children.n >= max) {
            log_warn("Resource usage exceeds limits maxcontrolsessions (used = %zu, limit = %u)",
                     d->children.n, max);
            close(fd);
            return 1;
        }
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        log_err("socketpair(): %s", strerror(errno));
        close(fd);
        return 0;
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_err("fork: %s", strerror(errno));
        close(fd);
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    if (pid == 0) {
        close(sv[0]);
        serve_connection(d, fd, sv[1], &peer, len);
    }
    close(fd);
    close(sv[1]);
    if (add_child(&d->children, pid, sv[0]) != 0) {
        kill(pid, SIGTERM); /* untracked, it could hold grants nobody releases */
        close(sv[0]);
    }
    return 1;
}

/* One poll loop for the listening sockets and every child's broker channel. */
static void accept_loop(daemon_state *d, const sigset_t *wait_mask)
{
    while (!got_exit) {
        if (got_child) {
            got_child = 0;
            reap_children(d);
        }
        size_t need = (size_t)d->nlisten + d->children.n;
        if (need > d->poll_cap) {
            struct pollfd *np = realloc(d->poll_fds, need * sizeof *np);
            if (np)
                d->poll_fds = np;
            size_t *no = realloc(d->poll_owner, need * sizeof *no);
            if (no)
                d->poll_owner = no;
            if (!np || !no) {
                log_err("out of memory in the poll loop");
                break;
            }
            d->poll_cap = need;
        }
        struct pollfd *pfds = d->poll_fds;
        size_t *owner = d->poll_owner;
        size_t n = 0;
        for (int i = 0; i < d->nlisten; i++)
            pfds[n++] = (struct pollfd){.fd = d->listen_fds[i], .events = POLLIN};
        size_t nchan = 0;
        for (size_t i = 0; i < d->children.n; i++) {
            if (d->children.c[i].fd < 0)
                continue;
            owner[nchan++] = i;
            pfds[n++] = (struct pollfd){.fd = d->children.c[i].fd, .events = POLLIN};
        }
        int r = ppoll(pfds, (nfds_t)n, NULL, wait_mask);
        if (r < 0) {
            if (errno != EINTR) {
                log_err("poll: %s", strerror(errno));
                break;
            }
            continue;
        }
        /* Children first: a grant given back frees room for what follows. */
        for (size_t k = 0; k < nchan; k++)
            if (pfds[d->nlisten + k].revents)
                broker_serve(d, &d->children.c[owner[k]]);
        for (int i = 0; i < d->nlisten && !got_exit; i++)
            if (pfds[i].revents & POLLIN)
                for (int k = 0; k < ACCEPT_BURST && accept_one(d, pfds[i].fd); k++)
                    ;
    }
}

static void shutdown_daemon(daemon_state *d)
{
    log_info("%s: exiting...", progname);
    for (int i = 0; i < d->nlisten; i++)
        close(d->listen_fds[i]);
    signal(SIGTERM, SIG_IGN);
    reap_children(d);
    /* Only when the group is ours alone does a group-wide signal stay in the family. */
    if (getpgrp() == getpid())
        kill(0, SIGTERM);
    else
        for (size_t i = 0; i < d->children.n; i++)
            kill(d->children.c[i].pid, SIGTERM);
    struct timespec start, now, nap = {0, 50 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        reap_children(d);
        if (d->children.n == 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= (time_t)d->conf.dieby)
            break;
        nanosleep(&nap, NULL);
    }
    if (d->children.n) {
        log_warn("Children still alive... Time for brute force.");
        for (size_t i = 0; i < d->children.n; i++)
            kill(d->children.c[i].pid, SIGKILL);
        while (d->children.n && waitpid(-1, NULL, 0) > 0)
            reap_children(d);
    }
    if (unlink(d->pid_path) != 0)
        log_debug("unlink %s: %s", d->pid_path, strerror(errno));
    log_info("%s: exited.", progname);
    owp_server_destroy(&d->server);
    for (size_t i = 0; i < d->children.n; i++)
        broker_drop(d, &d->children.c[i]);
    owp_limits_ledger_destroy(&d->ledger);
    owp_limits_destroy(&d->limits);
    owp_pfs_destroy(&d->pfs);
    free(d->children.c);
    free(d->poll_fds);
    free(d->poll_owner);
    daemon_log_close();
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    progname = slash ? slash + 1 : argv[0];

    static daemon_state d;
    memset(&d, 0, sizeof d);
    d.pid_fd = -1;
    d.broker_fd = -1;
    owp_server_conf_default(&d.conf);
    daemon_log_open(progname, d.conf.facility, d.conf.loglevel, 1);

    prescan_options(&d, argc, argv);
    load_conf_file(&d);
    parse_options(&d, argc, argv);

    owp_err err;
    if (owp_clock_init(&err) != OWP_OK) {
        log_err("%s", err.msg);
        log_err("%s: Unable to initialize application", progname);
        return 1;
    }
    const char *warning = owp_clock_warning();
    if (warning)
        log_warn("%s", warning);
    if (d.help) {
        usage();
        return 0;
    }

    absolute_dir(d.conf.datadir, d.datadir, sizeof d.datadir, "datadir");
    absolute_dir(d.conf.vardir, d.vardir, sizeof d.vardir, "vardir");
    lock_pid_file(&d);
    load_pfs(&d);
    load_limits(&d);
    resolve_run_as(&d);
    init_datadir(&d);
    uint16_t errest;
    d.start_time = owp_clock_now(&errest);
    create_listeners(&d);
    raise_fd_limit(d.conf.maxcontrolsessions);
    create_server(&d);

    int ready_fd = daemonise(&d);
    drop_privileges(&d);
    sigset_t wait_mask;
    install_master_signals(&wait_mask);
    log_debug("%s: listening on %s", progname, d.conf.srcnode[0] ? d.conf.srcnode : "*:" DEFAULT_PORT);
    if (ready_fd >= 0) {
        unsigned char ok = 0;
        if (write(ready_fd, &ok, 1) != 1)
            log_warn("start-up pipe: %s", strerror(errno));
        close(ready_fd);
    }

    accept_loop(&d, &wait_mask);
    shutdown_daemon(&d);
    return 0;
}
