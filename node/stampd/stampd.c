/*
 * stampd - a STAMP Session-Reflector (RFC 8762, RFC 8972 TLVs) that also
 * answers TWAMP-Light senders; stampd(8).
 *
 * Start-up reads as a list: options -> log -> run-as user -> key and policy
 * (as root, errors still on the terminal) -> clock -> bind the sockets (port
 * 862 needs root) -> detach (unless -Z or systemd) -> drop to the run-as
 * user -> serve (stampd_loop.c) -> counters, tear down.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "clock.h"
#include "daemon_log.h"
#include "daemon_service.h"
#include "hostport.h"
#include "options.h"
#include "stampd.h"

#define DEFAULT_LISTEN "[::]:" OWP_STAMP_PORT
#define FALLBACK_LISTEN "0.0.0.0:" OWP_STAMP_PORT

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: " STAMPD_IDENT " [-S ADDR:PORT]... [-A O|A] [-k KEYFILE -u IDENTITY] "
            "[-m stateless|stateful]\n"
            "              [-c POLICY] [-i SECONDS] [-U USER] [-G GROUP] [-e FACILITY] [-Z] "
            "[-v]\n"
            "              [-h|--help] [--version]\n"
            "  -S ADDR:PORT  listen here, IPv4 or IPv6 (repeatable; default " DEFAULT_LISTEN
            ",\n"
            "                which serves IPv4 too)\n"
            "  -A MODE       O unauthenticated (default) or A authenticated\n"
            "  -k KEYFILE    the HMAC key file (\"IDENTITY HEXKEY\" lines, as a .pfs file)\n"
            "  -u IDENTITY   the key's identity in KEYFILE\n"
            "  -m MODE       stateless (default: answers carry the sender's sequence numbers)\n"
            "                or stateful (each session numbered from 0)\n"
            "  -c POLICY     the policy file: who is answered and how fast (stampd(8));\n"
            "                SIGHUP reloads it (default: everyone, %g/s per source)\n"
            "  -i SECONDS    log the counters every SECONDS (default %g; 0: at exit only)\n"
            "%s"
            "  -e FACILITY   syslog facility (default daemon)\n"
            "  -Z            stay in the foreground and log to stderr as well\n"
            "  -v            log debug messages too (every dropped packet and why)\n"
            "  -h, --help    this help\n"
            "  --version     print the version and exit\n",
            OWP_STAMP_RATE_SOURCE, STAMPD_COUNTER_INTERVAL, DAEMON_SERVICE_USAGE);
}

static int parse_mode(stampd *d, const char *arg)
{
    if (strcmp(arg, "O") == 0 || strcmp(arg, "o") == 0)
        d->mode = OWP_MODE_OPEN;
    else if (strcmp(arg, "A") == 0 || strcmp(arg, "a") == 0)
        d->mode = OWP_MODE_AUTH;
    else {
        fprintf(stderr, STAMPD_IDENT ": -A %s: O (unauthenticated) or A (authenticated)\n", arg);
        return -1;
    }
    return 0;
}

static int parse_state(stampd *d, const char *arg)
{
    if (strcmp(arg, "stateless") != 0 && strcmp(arg, "stateful") != 0) {
        fprintf(stderr, STAMPD_IDENT ": -m %s: stateless or stateful\n", arg);
        return -1;
    }
    d->stateful = strcmp(arg, "stateful") == 0;
    return 0;
}

/* One option letter: 0, or -1 after saying why. */
static int parse_one(stampd *d, int c, const char *arg)
{
    owp_err err = {0};
    switch (c) {
    case 'S':
        if (d->nlisten == STAMPD_MAX_SOCKETS) {
            fprintf(stderr, STAMPD_IDENT ": -S: at most %d addresses\n", STAMPD_MAX_SOCKETS);
            return -1;
        }
        d->listen[d->nlisten++] = arg;
        return 0;
    case 'A': return parse_mode(d, arg);
    case 'k': d->key_file = arg; return 0;
    case 'u': d->identity = arg; return 0;
    case 'm': return parse_state(d, arg);
    case 'c': d->policy_file = arg; return 0;
    case 'U': d->user = arg; return 0;
    case 'G': d->group = arg; return 0;
    case 'Z': d->foreground = 1; return 0;
    case 'v': d->verbose = 1; return 0;
    case 'i':
        if (owp_parse_double(arg, "-i", &d->counter_interval, &err) != OWP_OK ||
            d->counter_interval < 0) {
            fprintf(stderr, STAMPD_IDENT ": -i %s: a number of seconds, 0 or more\n", arg);
            return -1;
        }
        return 0;
    case 'e':
        if (owp_parse_facility(arg, &d->facility, &err) != OWP_OK) {
            fprintf(stderr, STAMPD_IDENT ": -e: %s\n", err.msg);
            return -1;
        }
        return 0;
    }
    usage(stderr);
    return -1;
}

/* 0 to go on, 1 to exit 0 (help, version), -1 to exit 1 (said why). */
static int parse_options(stampd *d, int argc, char **argv)
{
    static const struct option longopts[] = {DAEMON_LONG_OPTIONS};
    int c;
    while ((c = getopt_long(argc, argv, "S:A:k:u:m:c:i:U:G:e:Zvh", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == DAEMON_OPT_VERSION) {
            daemon_service_print_version(STAMPD_IDENT);
            return 1;
        }
        if (parse_one(d, c, optarg) != 0)
            return -1;
    }
    if (optind != argc) {
        fprintf(stderr, STAMPD_IDENT ": unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    if ((d->key_file != NULL) != (d->identity != NULL) ||
        (d->mode == OWP_MODE_AUTH && !d->key_file)) {
        fprintf(stderr, STAMPD_IDENT ": a key is -k KEYFILE and -u IDENTITY together "
                        "(authenticated mode needs one)\n");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ start-up steps */

static void open_log(const stampd *d)
{
    daemon_log_open(STAMPD_IDENT, d->facility, d->verbose ? LOG_DEBUG : LOG_INFO,
                    d->foreground || !daemon_service_under_systemd());
}

static int load_key_and_policy(stampd *d)
{
    owp_err err = {0};
    if (d->key_file && !(d->key = owp_stamp_key_load(d->key_file, d->identity, &err))) {
        log_err("%s", err.msg);
        return -1;
    }
    owp_stamp_policy *policy = d->policy_file ? owp_stamp_policy_load(d->policy_file, &err)
                                              : owp_stamp_policy_new(&err);
    if (!policy) {
        log_err("%s", err.msg);
        return -1;
    }
    char text[256];
    owp_stamp_policy_describe(policy, text, sizeof text);
    log_info("policy %s: %s", d->policy_file ? d->policy_file : "(built in)", text);
    owp_stamp_reflector_config cfg = {
        .mode = d->mode, .stateful = d->stateful, .key = d->key,
        .log = d->verbose ? daemon_log_callback : NULL,
    };
    d->reflector = owp_stamp_reflector_new(&cfg, policy, &err);
    if (!d->reflector) {
        log_err("%s", err.msg);
        return -1;
    }
    return 0;
}

static int init_clock(void)
{
    owp_err err = {0};
    if (owp_clock_init(&err) != OWP_OK) {
        log_err("%s", err.msg);
        return -1;
    }
    if (owp_clock_warning())
        log_warn("%s", owp_clock_warning());
    return 0;
}

/* Bind one address: 0, or -1 (quiet: the caller decides what to say). */
static int bind_one(stampd *d, const char *spec, owp_err *err)
{
    owp_hostport hp;
    struct sockaddr_storage addr;
    socklen_t len;
    if (owp_hostport_parse(spec, &hp, err) != OWP_OK ||
        owp_hostport_resolve(&hp, OWP_STAMP_PORT, AF_UNSPEC, SOCK_DGRAM, 1, &addr, &len, err) !=
            OWP_OK)
        return -1;
    uint16_t port = owp_sockaddr_port((struct sockaddr *)&addr);
    owp_endpoint_opts eo = {.family = addr.ss_family, .local = (struct sockaddr *)&addr,
                            .local_len = len, .ports = {port, port}, .dscp = -1};
    owp_endpoint *ep = owp_endpoint_new(&eo, err);
    if (!ep)
        return -1;
    owp_stamp_socket *s = &d->sockets[d->nsockets];
    if (owp_stamp_socket_init(s, owp_endpoint_fd(ep), err) != OWP_OK) {
        owp_endpoint_destroy(&ep);
        return -1;
    }
    d->endpoints[d->nsockets++] = ep;
    char name[128];
    owp_sockaddr_format((struct sockaddr *)&s->local, name, sizeof name);
    log_info("listening on %s (%s, %s)", name,
             d->mode == OWP_MODE_AUTH ? "authenticated" : "unauthenticated",
             d->stateful ? "stateful" : "stateless");
    return 0;
}

static int bind_sockets(stampd *d)
{
    owp_err err = {0};
    if (d->nlisten == 0) { /* no IPv6 here: IPv4 alone */
        if (bind_one(d, DEFAULT_LISTEN, &err) == 0 || bind_one(d, FALLBACK_LISTEN, &err) == 0)
            return 0;
        log_err("cannot listen on %s or %s: %s", DEFAULT_LISTEN, FALLBACK_LISTEN, err.msg);
        return -1;
    }
    for (size_t i = 0; i < d->nlisten; i++)
        if (bind_one(d, d->listen[i], &err) != 0) {
            log_err("-S %s: %s", d->listen[i], err.msg);
            return -1;
        }
    return 0;
}

static void tear_down(stampd *d)
{
    for (size_t i = 0; i < d->nsockets; i++)
        owp_endpoint_destroy(&d->endpoints[i]);
    owp_stamp_reflector_destroy(&d->reflector);
    owp_stamp_key_destroy(&d->key);
    daemon_log_close();
}

int main(int argc, char **argv)
{
    static stampd d = {.mode = OWP_MODE_OPEN, .counter_interval = STAMPD_COUNTER_INTERVAL,
                       .facility = LOG_DAEMON};
    int parsed = parse_options(&d, argc, argv);
    if (parsed != 0)
        return parsed > 0 ? 0 : 1;
    open_log(&d);
    owp_err err = {0};
    if (daemon_privs_resolve(&d.privs, d.user, d.group, &err) != OWP_OK) {
        log_err("%s", err.msg);
        return 1;
    }
    if (load_key_and_policy(&d) != 0 || init_clock() != 0 || bind_sockets(&d) != 0) {
        tear_down(&d);
        return 1;
    }
    if (d.policy_file && !daemon_privs_can_read(&d.privs, d.policy_file))
        log_warn("%s: user %s cannot read it: reloads will fail", d.policy_file, d.privs.user);
    if (daemon_service_detach(d.foreground, &err) != OWP_OK) {
        log_err("%s", err.msg);
        tear_down(&d);
        return 1;
    }
    if (!d.foreground)
        daemon_log_set_stderr(0);
    if (daemon_privs_leave_root(&d.privs, "") != 0) {
        tear_down(&d);
        return 1;
    }
    int rc = stampd_run(&d);
    stampd_log_counters(&d, "at exit");
    tear_down(&d);
    return rc;
}
