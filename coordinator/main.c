/*
 * owmesh-coordinator - computes and pushes the schedules of an owmesh mesh
 * and tracks the health of its nodes (owmesh-coordinator(8)).
 *
 * Start-up reads as a list: options -> log -> run-as user -> load mesh, key
 * and plan (as root, errors still reach the terminal) -> detach (unless -Z
 * or systemd) -> drop to the run-as user (before any ZeroMQ thread; a -B
 * port below 1024 keeps CAP_NET_BIND_SERVICE) -> bind and run -> tear down.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include "coord.h"
#include "daemon_log.h"
#include "daemon_privs.h"
#include "daemon_service.h"
#include "options.h"

#define IDENT "owmesh-coordinator"
#define DEFAULT_MESH OWMESH_CONFDIR "/mesh.json"
#define DEFAULT_CERT OWMESH_CONFDIR "/keys/coordinator_secret"

typedef struct options {
    owmc_config cfg;
    const char *user, *group; /* -U, -G */
    int foreground;           /* -Z */
    int verbose;
    int facility;
} options;

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: " IDENT " [-c MESH] [-k CERT] [-B ENDPOINT] [-t SECONDS] [-U USER] [-G GROUP]\n"
            "                          [-e FACILITY] [-Z] [-v] [-h|--help] [--version]\n"
            "  -c MESH      mesh definition (owmesh-mesh(5); default " DEFAULT_MESH ")\n"
            "  -k CERT      the coordinator's CURVE certificate (NAME_secret from owmesh keygen;\n"
            "               default " DEFAULT_CERT ")\n"
            "  -B ENDPOINT  ZeroMQ endpoint to bind (default " OWMC_DEFAULT_ENDPOINT ")\n"
            "  -t SECONDS   a node is missing after SECONDS without a message (default %.0f)\n"
            "  -U USER      run as USER when started as root (name or -uid; default owmesh\n"
            "               if that user exists, else nobody)\n"
            "  -G GROUP     run as GROUP (default: USER's primary group)\n"
            "  -e FACILITY  syslog facility (default daemon)\n"
            "  -Z           stay in the foreground and log to stderr as well\n"
            "  -v           log debug messages too\n"
            "  -h, --help   this help\n"
            "  --version    print the version and exit\n",
            OWMC_DEFAULT_NODE_TIMEOUT);
}

/* 0 to go on, 1 to exit 0 (help, version), -1 to exit 1 (said why). */
static int parse_options(options *o, int argc, char **argv)
{
    static const struct option longopts[] = {DAEMON_LONG_OPTIONS};
    owp_err err = {0};
    int c;
    while ((c = getopt_long(argc, argv, "c:k:B:t:U:G:e:Zvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->cfg.mesh_path = optarg; break;
        case 'k': o->cfg.cert_path = optarg; break;
        case 'B': o->cfg.endpoint = optarg; break;
        case 'U': o->user = optarg; break;
        case 'G': o->group = optarg; break;
        case 't': {
            char *end;
            o->cfg.node_timeout = strtod(optarg, &end);
            if (*end || !(o->cfg.node_timeout > 0)) {
                fprintf(stderr, IDENT ": -t %s: expected a positive number of seconds\n",
                        optarg);
                return -1;
            }
            break;
        }
        case 'e':
            if (owp_parse_facility(optarg, &o->facility, &err) != OWP_OK) {
                fprintf(stderr, IDENT ": -e: %s\n", err.msg);
                return -1;
            }
            break;
        case 'Z': o->foreground = 1; break;
        case 'v': o->verbose = 1; break;
        case 'h': usage(stdout); return 1;
        case DAEMON_OPT_VERSION: daemon_service_print_version(IDENT); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, IDENT ": unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

/* A mesh of N nodes holds N connections: lift the soft descriptor limit. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_warn("cannot raise the descriptor limit: %s", strerror(errno));
    }
}

/* 1 when endpoint ("tcp://host:port") names a port below 1024. */
static int binds_low_port(const char *endpoint)
{
    const char *colon = strrchr(endpoint, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    return colon && *end == '\0' && port > 0 && port < 1024;
}

/* Messages on the terminal while it is there (or with -Z), in syslog
 * always: -Z means what it means to owampd. */
static void open_log(const options *o)
{
    daemon_log_level_names(1);
    daemon_log_open(IDENT, o->facility, o->verbose ? LOG_DEBUG : LOG_INFO,
                    o->foreground || !daemon_service_under_systemd());
}

int main(int argc, char **argv)
{
    options o = {.cfg = {.mesh_path = DEFAULT_MESH, .cert_path = DEFAULT_CERT,
                         .endpoint = OWMC_DEFAULT_ENDPOINT,
                         .node_timeout = OWMC_DEFAULT_NODE_TIMEOUT},
                 .facility = LOG_DAEMON};
    int parsed = parse_options(&o, argc, argv);
    if (parsed != 0)
        return parsed > 0 ? 0 : 1;
    open_log(&o);
    owp_err err = {0};
    daemon_privs privs;
    if (daemon_privs_resolve(&privs, o.user, o.group, &err) != OWP_OK) {
        log_err("%s", err.msg);
        return 1;
    }
    owmc_coord *coord = owmc_coord_new(&o.cfg, &err); /* the key is read as root */
    if (!coord) {
        log_err("%s", err.msg);
        return 1;
    }
    if (!daemon_privs_can_read(&privs, o.cfg.mesh_path))
        log_warn("%s: user %s cannot read it: reloads will fail", o.cfg.mesh_path, privs.user);
    if (daemon_service_detach(o.foreground, &err) != OWP_OK) {
        log_err("%s", err.msg);
        owmc_coord_destroy(&coord);
        return 1;
    }
    if (!o.foreground)
        daemon_log_set_stderr(0);
    raise_fd_limit();
    privs.keep_bind = binds_low_port(o.cfg.endpoint);
    if (daemon_privs_leave_root(&privs, "") != 0) {
        owmc_coord_destroy(&coord);
        return 1;
    }
    int rc = owmc_coord_run(coord);
    owmc_coord_destroy(&coord);
    daemon_log_close();
    return rc;
}
