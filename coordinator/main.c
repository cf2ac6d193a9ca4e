/*
 * owmesh-coordinator - computes and pushes the schedules of an owmesh mesh
 * and tracks the health of its nodes (owmesh-coordinator(8)).
 *
 * Start-up reads as a list: options -> log -> load mesh, key and plan (errors
 * still reach the terminal) -> daemonise -> bind and run -> tear down.
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
#include "options.h"

#define IDENT "owmesh-coordinator"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: " IDENT " -c MESH -k CERT [-B ENDPOINT] [-t SECONDS] [-e FACILITY] [-Z] [-v]\n"
            "  -c MESH      mesh definition (owmesh-mesh(5))\n"
            "  -k CERT      the coordinator's CURVE certificate (NAME_secret from owmesh keygen)\n"
            "  -B ENDPOINT  ZeroMQ endpoint to bind (default " OWMC_DEFAULT_ENDPOINT ")\n"
            "  -t SECONDS   a node is missing after SECONDS without a message (default %.0f)\n"
            "  -e FACILITY  syslog facility (default daemon)\n"
            "  -Z           stay in the foreground and log to stderr\n"
            "  -v           log debug messages too\n"
            "  -h           this help\n",
            OWMC_DEFAULT_NODE_TIMEOUT);
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

int main(int argc, char **argv)
{
    owmc_config cfg = {.endpoint = OWMC_DEFAULT_ENDPOINT,
                       .node_timeout = OWMC_DEFAULT_NODE_TIMEOUT};
    int foreground = 0, verbose = 0, facility = LOG_DAEMON, c;
    owp_err err = {0};
    while ((c = getopt(argc, argv, "c:k:B:t:e:Zvh")) != -1) {
        switch (c) {
        case 'c': cfg.mesh_path = optarg; break;
        case 'k': cfg.cert_path = optarg; break;
        case 'B': cfg.endpoint = optarg; break;
        case 't': {
            char *end;
            cfg.node_timeout = strtod(optarg, &end);
            if (*end || !(cfg.node_timeout > 0)) {
                fprintf(stderr, IDENT ": -t %s: expected a positive number of seconds\n",
                        optarg);
                return 1;
            }
            break;
        }
        case 'e':
            if (owp_parse_facility(optarg, &facility, &err) != OWP_OK) {
                fprintf(stderr, IDENT ": -e: %s\n", err.msg);
                return 1;
            }
            break;
        case 'Z': foreground = 1; break;
        case 'v': verbose = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind != argc || !cfg.mesh_path || !cfg.cert_path) {
        fprintf(stderr, IDENT ": %s\n",
                optind != argc ? "unexpected arguments" : "-c MESH and -k CERT are required");
        usage(stderr);
        return 1;
    }
    daemon_log_set_syslog(0); /* errors before daemon() go to the terminal only */
    daemon_log_level_names(1);
    daemon_log_open(IDENT, facility, verbose ? LOG_DEBUG : LOG_INFO, 1);
    owmc_coord *coord = owmc_coord_new(&cfg, &err);
    if (!coord) {
        log_err("%s", err.msg);
        return 1;
    }
    if (!foreground) {
        if (daemon(0, 0) != 0) {
            log_err("cannot become a daemon: %s", strerror(errno));
            owmc_coord_destroy(&coord);
            return 1;
        }
        daemon_log_set_stderr(0);
        daemon_log_set_syslog(1);
    }
    raise_fd_limit();
    int rc = owmc_coord_run(coord);
    owmc_coord_destroy(&coord);
    daemon_log_close();
    return rc;
}
