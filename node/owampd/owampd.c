/*
 * owampd - the OWAMP server daemon (RFC 4656), a drop-in for perfSONAR's
 * owampd 5.2.3: same options, configuration files, pid/info files and data
 * directory (../shared/spec/programs.md section 1).
 *
 * The master accepts control connections and forks one child per
 * connection; the child runs libowamp's server engine (owp_server_serve)
 * and its test endpoints in threads. The master is also the resource broker
 * (owampd_broker.c): each child's broker socketpair sits in the same poll
 * loop as the listening sockets, so the master never blocks on a child.
 * This file is the server's life: start-up in order, the listening sockets,
 * the poll loop, the connection children, signals and shutdown. The
 * configuration is read by owampd_config.c, the daemon's process contract
 * (pid file, detaching, privileges) is owampd_process.c. Start-up reads as a
 * list:
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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "clock.h"
#include "daemon_log.h"
#include "daemon_service.h"
#include "daemon_signals.h"
#include "error.h"
#include "hostport.h"
#include "owampd.h"
#include "owampd_broker.h"
#include "owampd_config.h"
#include "owampd_process.h"
#include "server.h"

/* Hundreds of clients may connect within a millisecond; a short listen
 * queue drops their SYNs and each waits a 1 s, 3 s, 7 s... retransmit. The
 * kernel caps this at net.core.somaxconn. */
#define LISTEN_BACKLOG 4096
/* Connections accepted per wake-up of the master before it looks at the
 * broker channels again (their children are waiting on the replies). */
#define ACCEPT_BURST 64

static const char *progname = "owampd";

const owampd_role owampd_role_owamp = {"owampd", "owamp-server", "owampd", "861", 0};
const owampd_role owampd_role_twamp = {"twampd", "twamp-server", "twampd", "862", 1};
const owampd_role *owampd_current_role = &owampd_role_owamp;

/* The engine of a per-connection child, for its SIGTERM/SIGHUP handler. */
static owp_server *child_server;

/* ------------------------------------------------------------------ start-up steps */

/* The data directory belongs to the run-as user: prepare it with that
 * user's effective ids. Files kept by an earlier run are served again and
 * charged to their classes in the broker's ledger. */
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
    owp_status st = owp_server_datadir_init_stored(d->datadir, owampd_broker_charge_stored_file,
                                                   d->ledger, daemon_log_callback, NULL,
                                                   &linked, &err);
    if (switched && (seteuid(0) != 0 || setegid(0) != 0)) {
        log_err("Unable to regain root: %s", strerror(errno));
        exit(1);
    }
    if (st != OWP_OK) {
        log_err("verify_datadir: %s", err.msg);
        exit(1);
    }
    log_debug("datadir %s: %u stored session(s) in the catalog", d->datadir, linked);
    owampd_broker_warn_over_disk_limit(d->limits, d->ledger);
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

/* Wildcard: one IPv6 socket that also takes IPv4, else IPv4 only. */
static int open_wildcard_listener(uint16_t port)
{
    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof s6);
    s6.sin6_family = AF_INET6;
    s6.sin6_addr = in6addr_any;
    s6.sin6_port = htons(port);
    int fd = open_listener((struct sockaddr *)&s6, sizeof s6, 1);
    if (fd < 0 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
        struct sockaddr_in s4;
        memset(&s4, 0, sizeof s4);
        s4.sin_family = AF_INET;
        s4.sin_addr.s_addr = htonl(INADDR_ANY);
        s4.sin_port = htons(port);
        fd = open_listener((struct sockaddr *)&s4, sizeof s4, 0);
    }
    return fd;
}

static _Noreturn void invalid_srcnode(const daemon_state *d)
{
    log_err("Invalid source address specified: %s", d->conf.srcnode);
    exit(1);
}

static void create_listeners(daemon_state *d)
{
    owp_hostport hp;
    owp_err err;
    memset(&hp, 0, sizeof hp);
    if (d->conf.srcnode[0] && owp_hostport_parse(d->conf.srcnode, &hp, &err) != OWP_OK)
        invalid_srcnode(d);
    const char *default_port = d->role->default_port;
    const char *port = hp.port[0] ? hp.port : default_port;
    int fd = -1;
    if (hp.host[0]) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (owp_hostport_resolve(&hp, default_port, AF_UNSPEC, SOCK_STREAM, 1, &ss, &len, &err) !=
            OWP_OK)
            invalid_srcnode(d);
        fd = open_listener((struct sockaddr *)&ss, len, 0);
    } else {
        char *end;
        unsigned long p = strtoul(port, &end, 10);
        if (*end || p > 65535)
            invalid_srcnode(d);
        fd = open_wildcard_listener((uint16_t)p);
    }
    if (fd < 0) {
        log_err("bind %s: %s", d->conf.srcnode[0] ? d->conf.srcnode : "wildcard", strerror(errno));
        log_err("Unable to create server socket. Exiting...");
        exit(1);
    }
    d->listen_fds[d->nlisten++] = fd;
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
    cfg.setuptimeout = d->conf.setuptimeout;
    cfg.enddelay = d->conf.enddelay;
    cfg.start_time = d->start_time;
    cfg.twamp = d->role->twamp;
    cfg.testtimeout = d->conf.testtimeout;
    cfg.log = daemon_log_callback;
    owampd_broker_policy_hooks(&cfg.policy, d);
    owp_err err;
    d->server = owp_server_new(&cfg, &err);
    if (!d->server) {
        log_err("%s", err.msg);
        exit(1);
    }
}

/* ------------------------------------------------------------------ signals */

static void child_stop_signal(int sig)
{
    (void)sig;
    owp_server_stop(child_server);
}

/* The master: these end it (the reference's set), SIGCHLD reaps. */
static const int exit_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};

static void install_master_signals(sigset_t *wait_mask)
{
    for (size_t i = 0; i < sizeof exit_signals / sizeof exit_signals[0]; i++)
        daemon_signals_catch(exit_signals[i], &daemon_stop_requested);
    daemon_signals_catch(SIGCHLD, &daemon_child_exited);
    /* Signals are only delivered inside ppoll, so none slips in between
     * a flag check and the wait. */
    daemon_signals_block(wait_mask);
}

static void child_signals(void)
{
    daemon_signals_handle(SIGTERM, child_stop_signal);
    daemon_signals_handle(SIGHUP, child_stop_signal);
    daemon_signals_handle(SIGUSR1, child_stop_signal);
    daemon_signals_handle(SIGUSR2, child_stop_signal);
    daemon_signals_handle(SIGINT, SIG_DFL); /* SIGINT closes the control connection at once */
    daemon_signals_handle(SIGCHLD, SIG_DFL);
    daemon_signals_unblock_all();
}

/* ------------------------------------------------------------------ children */

static int add_child(child_table *t, pid_t pid, int fd, const struct sockaddr_storage *peer)
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
    t->c[t->n++] = (child){.pid = pid, .fd = fd, .in_setup = 1, .peer = *peer};
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
                    owampd_broker_drop(d->ledger, &t->c[i]);
                t->c[i] = t->c[--t->n];
                break;
            }
        }
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

/* In a new child: let go of what only the master may use. */
static void child_release_master(daemon_state *d, int owampd_broker_fd)
{
    for (int i = 0; i < d->nlisten; i++)
        close(d->listen_fds[i]);
    close(d->pid_fd);
    /* Only the master may talk to the other children. */
    for (size_t i = 0; i < d->children.n; i++)
        if (d->children.c[i].fd >= 0)
            close(d->children.c[i].fd);
    d->owampd_broker_fd = owampd_broker_fd;
    free(d->poll_fds); /* the master's */
    free(d->poll_owner);
    d->poll_fds = NULL;
    d->poll_owner = NULL;
}

static void log_connection(int connfd, const struct sockaddr_storage *peer)
{
    if (!daemon_log_enabled(LOG_DEBUG))
        return;
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

static _Noreturn void serve_connection(daemon_state *d, int connfd, int owampd_broker_fd,
                                       const struct sockaddr_storage *peer, socklen_t peer_len)
{
    child_server = d->server;
    child_signals();
    child_release_master(d, owampd_broker_fd);
    log_connection(connfd, peer);
    owp_err err;
    owp_status st =
        owp_server_serve(d->server, connfd, (const struct sockaddr *)peer, peer_len, &err);
    /* The engine has logged why, once, naming the peer; the exit status
     * stays the reference's. */
    child_exit(st != OWP_OK && st != OWP_ERR_REFUSED ? 1 : 0);
}

/* Room for one more connection under maxcontrolsessions (0: no limit). */
static int below_session_limit(daemon_state *d)
{
    uint32_t max = d->conf.maxcontrolsessions;
    if (!max || d->children.n < max)
        return 1;
    reap_children(d);
    if (d->children.n < max)
        return 1;
    log_warn("Resource usage exceeds limits maxcontrolsessions (used = %zu, limit = %u)",
             d->children.n, max);
    return 0;
}

/* One warning line for refused set-ups, at most every SETUP_LOG_INTERVAL
 * seconds, with the number refused since the last: a flood of idle
 * connections must not become a flood of log lines. */
#define SETUP_LOG_INTERVAL 10.0

static void log_setup_refusal(const struct sockaddr_storage *peer, const char *why)
{
    static double last_logged = -1e9;
    static unsigned unlogged;
    double now = owp_clock_monotonic();
    if (now - last_logged < SETUP_LOG_INTERVAL) {
        unlogged++;
        return;
    }
    char addr[128];
    owp_sockaddr_format_addr((const struct sockaddr *)peer, addr, sizeof addr);
    if (unlogged)
        log_warn("Connection from %s refused: %s (and %u more refused in the last %.0f s)", addr,
                 why, unlogged, now - last_logged);
    else
        log_warn("Connection from %s refused: %s", addr, why);
    last_logged = now;
    unlogged = 0;
}

/* Connections still in set-up, in all and (peer not NULL) from peer's address. */
static size_t count_in_setup(const daemon_state *d, const struct sockaddr_storage *peer,
                             size_t *same)
{
    size_t total = 0;
    *same = 0;
    for (size_t i = 0; i < d->children.n; i++) {
        const child *ch = &d->children.c[i];
        if (!ch->in_setup)
            continue;
        total++;
        if (peer)
            *same += owp_sockaddr_same_addr((const struct sockaddr *)&ch->peer,
                                            (const struct sockaddr *)peer) != 0;
    }
    return total;
}

/* maxsetupsessions reached: the master stops accepting (the listening
 * sockets leave its poll set) until a set-up completes or a child exits.
 * New clients wait in the kernel's listen queue instead of being refused,
 * so a burst of honest clients is only delayed, and idle connections can
 * hold at most maxsetupsessions processes. */
static int setup_slots_full(const daemon_state *d)
{
    size_t same;
    return d->conf.maxsetupsessions &&
           count_in_setup(d, NULL, &same) >= d->conf.maxsetupsessions;
}

/* Room for one more connection in set-up from this address
 * (maxsetupperaddr; 0: no limit). Each such connection holds a forked child
 * for up to setuptimeout seconds; beyond the limit it is closed at once. */
static int below_setup_limits(daemon_state *d, const struct sockaddr_storage *peer)
{
    uint32_t max_addr = d->conf.maxsetupperaddr;
    if (!max_addr)
        return 1;
    size_t same;
    count_in_setup(d, peer, &same);
    if (same < max_addr)
        return 1;
    char why[128];
    snprintf(why, sizeof why, "%zu connections from this address are in set-up "
             "(maxsetupperaddr %u)", same, max_addr);
    log_setup_refusal(peer, why);
    return 0;
}

/* Fork the child of accepted connection fd (closed here in the master).
 * 0 when it could not be forked. */
static int fork_child(daemon_state *d, int fd, const struct sockaddr_storage *peer,
                      socklen_t len)
{
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
        serve_connection(d, fd, sv[1], peer, len);
    }
    close(fd);
    close(sv[1]);
    if (add_child(&d->children, pid, sv[0], peer) != 0) {
        kill(pid, SIGTERM); /* untracked, it could hold grants nobody releases */
        close(sv[0]);
    }
    return 1;
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
    if (!below_session_limit(d) || !below_setup_limits(d, &peer)) {
        close(fd);
        return 1;
    }
    return fork_child(d, fd, &peer, len);
}

/* ------------------------------------------------------------------ the poll loop */

/* Room in the poll set for need entries; -1 when out of memory. */
static int grow_poll_set(daemon_state *d, size_t need)
{
    if (need <= d->poll_cap)
        return 0;
    struct pollfd *np = realloc(d->poll_fds, need * sizeof *np);
    if (np)
        d->poll_fds = np;
    size_t *no = realloc(d->poll_owner, need * sizeof *no);
    if (no)
        d->poll_owner = no;
    if (!np || !no) {
        log_err("out of memory in the poll loop");
        return -1;
    }
    d->poll_cap = need;
    return 0;
}

/* The listening sockets, then every open broker channel; returns the number
 * of entries, *nchan the number of channels. */
static size_t fill_poll_set(daemon_state *d, size_t *nchan)
{
    size_t n = 0;
    /* With every set-up slot taken, new connections wait in the listen queue
     * (poll skips a negative fd). */
    int full = setup_slots_full(d);
    for (int i = 0; i < d->nlisten; i++)
        d->poll_fds[n++] = (struct pollfd){.fd = full ? -1 : d->listen_fds[i], .events = POLLIN};
    *nchan = 0;
    for (size_t i = 0; i < d->children.n; i++) {
        if (d->children.c[i].fd < 0)
            continue;
        d->poll_owner[(*nchan)++] = i;
        d->poll_fds[n++] = (struct pollfd){.fd = d->children.c[i].fd, .events = POLLIN};
    }
    return n;
}

/* One poll loop for the listening sockets and every child's broker channel. */
static void accept_loop(daemon_state *d, const sigset_t *wait_mask)
{
    while (!daemon_stop_requested) {
        if (daemon_child_exited) {
            daemon_child_exited = 0;
            reap_children(d);
        }
        if (grow_poll_set(d, (size_t)d->nlisten + d->children.n) != 0)
            break;
        size_t nchan;
        size_t n = fill_poll_set(d, &nchan);
        struct pollfd *pfds = d->poll_fds;
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
            if (pfds[(size_t)d->nlisten + k].revents)
                owampd_broker_serve(d->limits, d->ledger, &d->children.c[d->poll_owner[k]]);
        for (int i = 0; i < d->nlisten && !daemon_stop_requested; i++)
            if (pfds[i].revents & POLLIN)
                for (int k = 0; k < ACCEPT_BURST && !setup_slots_full(d) &&
                                accept_one(d, pfds[i].fd);
                     k++)
                    ;
    }
}

/* ------------------------------------------------------------------ shutdown */

/* Wait up to timeout_ms for the children's broker channels and answer what
 * they ask. A stopping child still gives its grants back (and waits for the
 * reply) before it exits: a master that only slept here left every child
 * blocked on that reply until dieby ran out and SIGKILL came. */
static void serve_children_briefly(daemon_state *d, int timeout_ms)
{
    size_t nchan = 0;
    if (grow_poll_set(d, (size_t)d->nlisten + d->children.n) == 0) {
        fill_poll_set(d, &nchan);
        /* Past the listening sockets: they are closed by now. */
        struct pollfd *pfds = d->poll_fds + d->nlisten;
        if (nchan > 0 && poll(pfds, (nfds_t)nchan, timeout_ms) > 0)
            for (size_t k = 0; k < nchan; k++)
                if (pfds[k].revents)
                    owampd_broker_serve(d->limits, d->ledger,
                                        &d->children.c[d->poll_owner[k]]);
        if (nchan > 0)
            return;
    }
    struct timespec nap = {0, (long)timeout_ms * 1000 * 1000};
    nanosleep(&nap, NULL);
}

/* SIGTERM to every child, up to dieby seconds to go, then SIGKILL. */
static void stop_children(daemon_state *d)
{
    /* Only when the group is ours alone does a group-wide signal stay in the family. */
    if (getpgrp() == getpid())
        kill(0, SIGTERM);
    else
        for (size_t i = 0; i < d->children.n; i++)
            kill(d->children.c[i].pid, SIGTERM);
    double start = owp_clock_monotonic();
    for (;;) {
        reap_children(d);
        if (d->children.n == 0)
            break;
        if (owp_clock_monotonic() - start >= (double)d->conf.dieby)
            break;
        serve_children_briefly(d, 50);
    }
    if (d->children.n) {
        log_warn("Children still alive... Time for brute force.");
        for (size_t i = 0; i < d->children.n; i++)
            kill(d->children.c[i].pid, SIGKILL);
        while (d->children.n && waitpid(-1, NULL, 0) > 0)
            reap_children(d);
    }
}

static void shutdown_daemon(daemon_state *d)
{
    log_info("%s: exiting...", progname);
    for (int i = 0; i < d->nlisten; i++)
        close(d->listen_fds[i]);
    signal(SIGTERM, SIG_IGN);
    reap_children(d);
    stop_children(d);
    if (unlink(d->pid_path) != 0)
        log_debug("unlink %s: %s", d->pid_path, strerror(errno));
    log_info("%s: exited.", progname);
    owp_server_destroy(&d->server);
    for (size_t i = 0; i < d->children.n; i++)
        owampd_broker_drop(d->ledger, &d->children.c[i]);
    owp_limits_ledger_destroy(&d->ledger);
    owp_limits_destroy(&d->limits);
    owp_pfs_destroy(&d->pfs);
    free(d->children.c);
    free(d->poll_fds);
    free(d->poll_owner);
    daemon_log_close();
}

/* ------------------------------------------------------------------ main */

/* The clock must be usable before anything is served. */
static int init_clock(void)
{
    owp_err err;
    if (owp_clock_init(&err) != OWP_OK) {
        log_err("%s", err.msg);
        log_err("%s: Unable to initialize application", progname);
        return -1;
    }
    const char *warning = owp_clock_warning();
    if (warning)
        log_warn("%s", warning);
    return 0;
}

int owampd_main(int argc, char **argv, const owampd_role *role)
{
    const char *slash = strrchr(argv[0], '/');
    progname = slash ? slash + 1 : argv[0];
    if (!progname[0])
        progname = role->name;
    owampd_current_role = role;

    static daemon_state d;
    memset(&d, 0, sizeof d);
    d.role = role;
    d.pid_fd = -1;
    d.owampd_broker_fd = -1;
    owp_server_conf_default(&d.conf);
    d.conf.twamp = role->twamp;
    daemon_log_open(progname, d.conf.facility, d.conf.loglevel, 1);

    owampd_config_prescan_options(&d, argc, argv);
    if (d.help == OWAMPD_HELP_NONE) {
        owampd_config_load_conf_file(&d);
        owampd_config_parse_options(&d, progname, argc, argv);
    }
    /* Asked for the usage or the version: print it, and nothing about the
     * clock (that matters only to a daemon that will serve). An unknown
     * option still exits 0, as the reference's does. */
    if (d.help == OWAMPD_HELP_VERSION) {
        owampd_config_version(progname);
        return 0;
    }
    if (d.help != OWAMPD_HELP_NONE) {
        owampd_config_usage(d.help == OWAMPD_HELP_USAGE ? stdout : stderr, progname);
        return 0;
    }
    /* Under systemd, standard error is the journal, which syslog reaches
     * already: one copy of each line. */
    if (daemon_service_under_systemd())
        daemon_log_set_stderr(0);
    if (init_clock() != 0)
        return 1;

    owampd_config_absolute_dirs(&d);
    owampd_process_lock_pid_file(&d);
    owampd_config_load_pfs(&d);
    owampd_config_load_limits(&d);
    owampd_config_resolve_run_as(&d, progname);
    init_datadir(&d);
    uint16_t errest;
    d.start_time = owp_clock_now(&errest);
    create_listeners(&d);
    owampd_process_raise_fd_limit(d.conf.maxcontrolsessions);
    create_server(&d);

    int ready_fd = owampd_process_daemonise(&d);
    owampd_process_drop_privileges(&d);
    sigset_t wait_mask;
    install_master_signals(&wait_mask);
    log_debug("%s: listening on %s%s", progname, d.conf.srcnode[0] ? d.conf.srcnode : "*:",
              d.conf.srcnode[0] ? "" : role->default_port);
    owampd_process_report_started(ready_fd);

    accept_loop(&d, &wait_mask);
    shutdown_daemon(&d);
    return 0;
}
