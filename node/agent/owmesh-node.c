/*
 * owmesh-node - the mesh node agent: one per host (owmesh-node(8)).
 *
 * It runs the host's OWAMP server (a supervised owampd child, agent_owampd),
 * one stream engine for every stream the coordinator assigns it as the
 * receiver (agent_streams), spools their finished files (agent_spool), and
 * talks to the coordinator over ZeroMQ/CURVE (agent_link): Hello when a
 * session with the coordinator begins, ScheduleAck for every Schedule, Status
 * as a heartbeat and whenever a stream changes state. The last accepted
 * schedule is kept on disk (agent_store) and run at start-up, before the
 * coordinator is even reachable: measurement never waits for the coordinator.
 *
 * Unmeasured is not lost: the agent keeps a heartbeat (DATADIR/alive,
 * rewritten every ALIVE_S and at a clean stop); at start-up the time since
 * the last one is recorded for the streams of the first schedule as
 * unmeasured, "node down". The coordinator's PeerHealth (the nodes it
 * reports down) reaches the streams, which then call what they cannot
 * measure "peer down" and retry as soon as the node is back.
 *
 * Start-up reads as a list:
 *   options -> log -> run-as user -> clock -> detach (unless -Z or systemd)
 *   -> data directory lock -> spool -> streams -> data endpoint chosen
 *   -> owampd directories -> keys -> data directory handed to the run-as user,
 *   root dropped (before any thread or socket) -> saved schedule (streams
 *   start; its data-endpoint noted) -> owampd -> coordinator link -> data
 *   endpoint -> signals -> loop -> shutdown in reverse.
 * This file holds the options and the start-up and shutdown steps; the
 * schedules, the conversation with the coordinator and the loop are
 * agent_loop.c.
 *
 * It serves its spool to collectors (agent_data): a CURVE ROUTER admitting
 * the collectors the mesh lists (from the schedule) and the -A keys, on -D;
 * without -D where the mesh's data-endpoint for the node says (it comes with
 * the schedule; the node rebinds when it changes), else on port
 * AGENT_DEFAULT_DATA_PORT of the -S address; advertised in
 * Hello.data_endpoint so that the coordinator's directory carries it.
 *
 * Started as root, it runs as an unprivileged user after start-up (-U/-G,
 * daemon_privs.h), keeping only CAP_NET_BIND_SERVICE for the owampd it
 * restarts; owampd gets the same -U/-G.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_loop.h"
#include "agent_store.h"
#include "clock.h"
#include "conf.h"
#include "curve.h"
#include "daemon_privs.h"
#include "daemon_service.h"
#include "daemon_signals.h"
#include "hostport.h"
#include "meshmsg.h"
#include "options.h"


#define PROGNAME AGENT_PROGNAME
#define FIRST_SCHEDULE_WAIT_S 10.0 /* a new node starts owampd with its first schedule, or after this */
#define SCHEDULE_FILE "schedule.pb"
#define ALIVE_FILE "alive"
/* A stream's first session starts this long after the stream: one set-up
 * (the engine's 10 s default is powstream's; a failed set-up here costs
 * only unmeasured time, and a restarted node measures again sooner). */
#define STREAM_START_DELAY_S 3.0
/* The data endpoint without -D: tcp://ADDR:8621, ADDR from -S (next to the
 * coordinator's 8620). */
#define AGENT_DEFAULT_DATA_PORT 8621
#define DATA_ENDPOINT_NONE "none"
#define DEFAULT_CERT OWMESH_CONFDIR "/keys/node_secret"
#define DEFAULT_SERVER_KEY OWMESH_CONFDIR "/keys/coordinator"
#define DEFAULT_DATADIR OWMESH_STATEDIR "/node"

/* How the process runs (not the agent's business): -U, -G. */
typedef struct run_as {
    const char *user, *group;
    daemon_privs privs;
    /* -K and -A as Z85 text, read before the drop (their files may be root's) */
    char server_key[OWM_CURVE_KEY_LEN + 1];
    char collector_keys[AGENT_DATA_MAX_KEYS][OWM_CURVE_KEY_LEN + 1];
} run_as;
static run_as service;


/* ------------------------------------------------------------------ small helpers */

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: " PROGNAME " -n NODE -C ENDPOINT -S ADDR [-k CERT] [-K KEY] [-d DATADIR]\n"
            "                   [-c CONFDIR] [-P LOW-HIGH] [-O OWAMPD] [-D ENDPOINT|none] [-A KEY]...\n"
            "                   [-R SECONDS] [-B BYTES] [-U USER] [-G GROUP] [-e FACILITY] [-Z] [-v]\n"
            "                   [-h|--help] [--version]\n"
            "\n"
            "   -n node        this node's name in the mesh definition\n"
            "   -k certfile    this node's key pair (zcert file from `owmesh keygen`;\n"
            "                  default " DEFAULT_CERT ")\n"
            "   -K key         the coordinator's public key: Z85 text or a zcert file\n"
            "                  (default " DEFAULT_SERVER_KEY ")\n"
            "   -C endpoint    the coordinator, e.g. tcp://coord.example.net:8620\n"
            "   -d datadir     data directory: saved schedule, spool, work files\n"
            "                  (default " DEFAULT_DATADIR ")\n"
            "   -S addr[:port] address of this node's owamp server (and of its streams)\n"
            "   -c confdir     owampd configuration directory (owamp-server.conf,\n"
            "                  .limits, .pfs); the .pfs also holds stream pass-phrases\n"
            "   -P low-high    UDP test port range (owamp server and streams)\n"
            "   -O owampd      the owampd program (default: next to " PROGNAME ")\n"
            "   -D endpoint    serve the spool to collectors here (advertised to the\n"
            "                  coordinator: give a reachable address); default: the\n"
            "                  mesh's data-endpoint for this node, else tcp://ADDR:8621\n"
            "                  with ADDR from -S; \"none\": do not serve\n"
            "   -A key         also accept this collector public key (Z85 or cert file;\n"
            "                  repeatable), besides the collectors the mesh lists\n"
            "   -R seconds     keep collected (acked) files this long (default 0: delete)\n"
            "   -B bytes[KMG]  disk budget of the spool: over it, delete the oldest\n"
            "                  collected files, then (logged as errors) uncollected ones\n"
            DAEMON_SERVICE_USAGE
            DAEMON_LOG_USAGE
            "   -h, --help     print this message and exit\n"
            "   --version      print the version and exit\n"
            "\nVersion: %s\n",
            PACKAGE_VERSION);
}

/* A count of seconds or bytes (suffix K, M or G when sizes is set); 0 or -1. */
static int parse_amount(const char *text, int sizes, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || text[0] == '-')
        return -1;
    unsigned shift = 0;
    if (sizes && *end) {
        const char *units = "KMG";
        const char *u = strchr(units, *end);
        if (!u || end[1])
            return -1;
        shift = 10u * (unsigned)(u - units + 1);
        end++;
    }
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* 0 to go on, 1 to exit 0 (help, version), -1 to exit 1 (said why). */
static int parse_options(agent_options *o, int argc, char **argv)
{
    static const struct option longopts[] = {DAEMON_LONG_OPTIONS};
    memset(o, 0, sizeof *o);
    o->log.facility = LOG_DAEMON;
    o->cert_path = DEFAULT_CERT;
    o->server_key = DEFAULT_SERVER_KEY;
    o->datadir = DEFAULT_DATADIR;
    int ch;
    while ((ch = getopt_long(argc, argv, "n:c:k:K:C:d:S:P:O:D:A:R:B:U:G:Ze:vh", longopts,
                             NULL)) != -1) {
        switch (ch) {
        case 'U': service.user = optarg; break;
        case 'G': service.group = optarg; break;
        case 'n': o->node = optarg; break;
        case 'c': o->confdir = optarg; break;
        case 'k': o->cert_path = optarg; break;
        case 'K': o->server_key = optarg; break;
        case 'C': o->endpoint = optarg; break;
        case 'd': o->datadir = optarg; break;
        case 'S': o->owamp_address = optarg; break;
        case 'P': o->testports = optarg; break;
        case 'O': o->owampd_path = optarg; break;
        case 'D': o->data_endpoint = optarg; break;
        case 'A':
            if (o->n_collector_keys + 1 >= AGENT_DATA_MAX_KEYS) {
                fprintf(stderr, PROGNAME ": -A: at most %d keys\n", AGENT_DATA_MAX_KEYS - 1);
                return -1;
            }
            o->collector_keys[o->n_collector_keys++] = optarg;
            break;
        case 'R':
        case 'B':
            if (parse_amount(optarg, ch == 'B', ch == 'R' ? &o->retention_s : &o->budget_bytes)) {
                fprintf(stderr, PROGNAME ": -%c \"%s\": not a %s\n", ch, optarg,
                        ch == 'R' ? "number of seconds" : "size (bytes, or with K, M or G)");
                return -1;
            }
            break;
        case 'Z':
        case 'e':
        case 'v':
            if (daemon_log_opt(&o->log, PROGNAME, ch, optarg) != 0)
                return -1;
            break;
        case 'h': usage(stdout); return 1;
        case DAEMON_OPT_VERSION: daemon_service_print_version(PROGNAME); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROGNAME ": unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    const char *missing = !o->node            ? "-n node"
                          : !o->endpoint      ? "-C endpoint"
                          : !o->owamp_address ? "-S addr"
                                              : NULL;
    if (missing) {
        fprintf(stderr, PROGNAME ": %s is required\n", missing);
        usage(stderr);
        return -1;
    }
    if (!owm_msg_token_ok(o->node, OWM_MSG_MAX_NAME)) {
        fprintf(stderr, PROGNAME ": -n \"%s\": a node name is 1-%u printable characters without "
                        "space, '/', '\\\\' or quotes\n", o->node, OWM_MSG_MAX_NAME);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ start-up steps */

static int make_dir(const agent *a, const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    log_err("node %s: mkdir %s: %s", a->opt.node, path, strerror(errno));
    return -1;
}

/* One agent per data directory: DATADIR/owmesh-node.lock, held until exit. */
static int lock_datadir(agent *a)
{
    char path[NODE_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/owmesh-node.lock", a->opt.datadir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fd < 0 || fcntl(fd, F_SETLK, &fl) != 0) {
        log_err("node %s: cannot lock %s (is another owmesh-node using %s?): %s", a->opt.node,
                path, a->opt.datadir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        log_warn("node %s: cannot write the pid to %s: %s", a->opt.node, path, strerror(errno));
    a->lock_fd = fd;
    return 0;
}

/* The previous run's last heartbeat (before this run overwrites it). */
static void read_heartbeat(agent *a)
{
    owp_err err;
    owp_err_clear(&err);
    snprintf(a->alive_path, sizeof a->alive_path, "%s/" ALIVE_FILE, a->opt.datadir);
    if (agent_store_load_alive(a->alive_path, &a->last_alive, &err) != OWP_OK)
        log_warn("node %s: %s: the time the node was down is unknown", a->opt.node, err.msg);
}

static int setup_storage(agent *a)
{
    owp_err err;
    owp_err_clear(&err);
    char path[NODE_PATH_MAX + 64];
    if (make_dir(a, a->opt.datadir) != 0 || lock_datadir(a) != 0)
        return -1;
    snprintf(a->schedule_path, sizeof a->schedule_path, "%s/" SCHEDULE_FILE, a->opt.datadir);
    read_heartbeat(a);
    snprintf(path, sizeof path, "%s/spool", a->opt.datadir);
    a->spool = agent_spool_open(path, &err);
    if (!a->spool) {
        log_err("node %s: %s", a->opt.node, err.msg);
        return -1;
    }
    owp_hostport hp;
    if (owp_hostport_parse(a->opt.owamp_address, &hp, &err) != OWP_OK) {
        log_err("node %s: -S %s: %s", a->opt.node, a->opt.owamp_address, err.msg);
        return -1;
    }
    snprintf(a->src_host, sizeof a->src_host, "%s", hp.host);
    owp_portrange ports = {0, 0};
    if (a->opt.testports && owp_parse_portrange(a->opt.testports, 1, &ports, &err) != OWP_OK) {
        log_err("node %s: -P %s: %s", a->opt.node, a->opt.testports, err.msg);
        return -1;
    }
    /* Stream pass-phrases: the pfs file owampd reads (found = 1 or 2). */
    int found = a->opt.confdir ? owp_server_conf_find(a->opt.confdir, "pfs", a->pfs_path,
                                                      sizeof a->pfs_path)
                               : 0;
    if (found != 1 && found != 2)
        a->pfs_path[0] = '\0';
    snprintf(path, sizeof path, "%s/streams", a->opt.datadir);
    agent_streams_config sc = {
        .node = a->opt.node, .work_root = path, .spool = a->spool,
        .src_addr = a->src_host[0] ? a->src_host : NULL, .ports = ports,
        .pfs_path = a->pfs_path[0] ? a->pfs_path : NULL, .verbose = a->opt.log.verbose,
        .start_delay = STREAM_START_DELAY_S,
    };
    a->streams = agent_streams_new(&sc, &err);
    if (!a->streams) {
        log_err("node %s: %s", a->opt.node, err.msg);
        return -1;
    }
    return 0;
}

static int setup_owampd(agent *a)
{
    char program[NODE_PATH_MAX], datadir[NODE_PATH_MAX + 64], vardir[NODE_PATH_MAX + 64];
    if (a->opt.owampd_path)
        snprintf(program, sizeof program, "%s", a->opt.owampd_path);
    else if (agent_owampd_default_program(program, sizeof program) != 0) {
        log_err("node %s: cannot find owampd next to " PROGNAME ": give -O", a->opt.node);
        return -1;
    }
    snprintf(datadir, sizeof datadir, "%s/owampd", a->opt.datadir);
    if (make_dir(a, datadir) != 0)
        return -1;
    snprintf(datadir, sizeof datadir, "%s/owampd/data", a->opt.datadir);
    snprintf(vardir, sizeof vardir, "%s/owampd/run", a->opt.datadir);
    if (make_dir(a, datadir) != 0 || make_dir(a, vardir) != 0)
        return -1;
    agent_owampd_config oc = {
        .program = program, .node = a->opt.node, .listen = a->opt.owamp_address,
        .confdir = a->opt.confdir, .datadir = datadir, .vardir = vardir,
        .testports = a->opt.testports, .authmode = NULL, .copy_stderr = a->opt.log.to_stderr,
        .run_user = service.privs.active ? service.privs.user : NULL,
        .run_group = service.privs.active ? service.privs.group : NULL,
    };
    owp_err err;
    owp_err_clear(&err);
    a->owampd = agent_owampd_new(&oc, &err);
    if (!a->owampd) {
        log_err("node %s: %s", a->opt.node, err.msg);
        return -1;
    }
    return 0;
}

static int setup_link(agent *a)
{
    owp_err err;
    owp_err_clear(&err);
    char key[OWM_CURVE_KEY_LEN + 1];
    if (owm_curve_public_key(a->opt.server_key, key, &err) != OWP_OK) {
        log_err("node %s: %s", a->opt.node, err.msg);
        return -1;
    }
    agent_link_config lc = {.endpoint = a->opt.endpoint, .cert = a->cert, .server_key = key};
    a->link = agent_link_new(&lc, &err);
    if (!a->link) {
        log_err("node %s: %s", a->opt.node, err.msg);
        return -1;
    }
    log_info("node %s: connecting to the coordinator at %s with public key %s", a->opt.node,
             a->opt.endpoint, zcert_public_txt(a->cert));
    return 0;
}

/* -D ENDPOINT always; -D none never; without -D the mesh's data-endpoint
 * (from the schedule, agent_loop.c), else tcp://ADDR:8621 with the -S
 * address (none when -S names no address: a wildcard cannot be announced).
 * Before the saved schedule resumes, which may name the mesh's. */
static int choose_data_endpoint(agent *a)
{
    const char *d = a->opt.data_endpoint;
    if (d && strcmp(d, DATA_ENDPOINT_NONE) == 0) {
        a->data_source = AGENT_DATA_OFF;
        a->opt.data_endpoint = NULL;
        return 0;
    }
    if (d) {
        if (strlen(d) > AGENT_DATA_MAX_ENDPOINT) {
            log_err("node %s: -D %s: longer than %u characters", a->opt.node, d,
                    AGENT_DATA_MAX_ENDPOINT);
            return -1;
        }
        a->data_source = AGENT_DATA_FROM_OPTION;
        return 0;
    }
    a->data_source = AGENT_DATA_FROM_MESH;
    if (!a->src_host[0]) {
        log_warn("node %s: -S %s names no address: no default data endpoint (serving the spool "
                 "only once the mesh names this node's data-endpoint, or give -D)", a->opt.node,
                 a->opt.owamp_address);
        return 0;
    }
    snprintf(a->default_data_endpoint, sizeof a->default_data_endpoint,
             strchr(a->src_host, ':') ? "tcp://[%s]:%d" : "tcp://%s:%d", a->src_host,
             AGENT_DEFAULT_DATA_PORT);
    return 0;
}


/* The data directory to the run-as user (files an earlier run as root left
 * there included). */
static int own_datadir(agent *a)
{
    owp_err err;
    owp_err_clear(&err);
    if (daemon_privs_own_tree(&service.privs, a->opt.datadir, &err) != OWP_OK) {
        log_err("node %s: %s", a->opt.node, err.msg);
        return -1;
    }
    return 0;
}

/* The keys, while the files are still readable: the key pair, and -K and
 * -A as Z85 text in their place. */
static int load_keys(agent *a)
{
    owp_err err;
    owp_err_clear(&err);
    a->cert = owm_curve_load(a->opt.cert_path, 1, &err);
    if (!a->cert || owm_curve_public_key(a->opt.server_key, service.server_key, &err) != OWP_OK) {
        log_err("node %s: %s", a->opt.node, err.msg);
        return -1;
    }
    a->opt.server_key = service.server_key;
    for (size_t i = 0; i < a->opt.n_collector_keys; i++) {
        if (owm_curve_public_key(a->opt.collector_keys[i], service.collector_keys[i], &err) !=
            OWP_OK) {
            log_err("node %s: -A: %s", a->opt.node, err.msg);
            return -1;
        }
        a->opt.collector_keys[i] = service.collector_keys[i];
    }
    return 0;
}

/* Leave root before the first thread and socket (daemon_privs.h): what
 * the node writes from now on is under its data directory, handed over;
 * the owampd configuration must stay readable for owampd's restarts,
 * which bind port 861 with the one capability kept. */
static int leave_root(agent *a)
{
    if (own_datadir(a) != 0)
        return -1;
    if (a->pfs_path[0] && !daemon_privs_can_read(&service.privs, a->pfs_path))
        log_warn("node %s: %s: user %s cannot read it: streams started later and owampd "
                 "restarts will not find their pass-phrases", a->opt.node, a->pfs_path,
                 service.privs.user);
    char who[OWM_MSG_MAX_NAME + 8];
    snprintf(who, sizeof who, "node %s:", a->opt.node);
    service.privs.keep_bind = 1;
    return daemon_privs_leave_root(&service.privs, who);
}

static void shutdown_agent(agent *a)
{
    agent_data_destroy(&a->data);
    agent_link_destroy(&a->link);
    zcert_destroy(&a->cert);
    int measured = a->streams != NULL;
    agent_streams_destroy(&a->streams);
    if (measured) /* measurement ends here */
        agent_write_heartbeat(a, owp_clock_monotonic());
    agent_owampd_destroy(&a->owampd);
    agent_spool_destroy(&a->spool);
    if (a->lock_fd > 0)
        close(a->lock_fd);
}

int main(int argc, char **argv)
{
    agent a;
    memset(&a, 0, sizeof a);
    a.lock_fd = -1;
    int parsed = parse_options(&a.opt, argc, argv);
    if (parsed != 0)
        return parsed > 0 ? 0 : 1;
    daemon_log_open_opts(PROGNAME, &a.opt.log);
    zsys_handler_set(NULL); /* our handlers: SIGTERM/SIGINT stop, SIGHUP re-registers */
    owp_err err;
    owp_err_clear(&err);
    if (daemon_privs_resolve(&service.privs, service.user, service.group, &err) != OWP_OK ||
        daemon_service_detach(a.opt.log.to_stderr, &err) != OWP_OK) {
        log_err("node %s: %s", a.opt.node, err.msg);
        return 1;
    }
    if (owp_clock_init(&err) != OWP_OK) {
        log_err("node %s: %s", a.opt.node, err.msg);
        return 1;
    }
    if (owp_clock_warning())
        log_warn("node %s: NTP: %s", a.opt.node, owp_clock_warning());
    int status = 1;
    daemon_signals_install();
    if (setup_storage(&a) == 0 && choose_data_endpoint(&a) == 0 && setup_owampd(&a) == 0 &&
        load_keys(&a) == 0 && leave_root(&a) == 0) {
        log_info("node %s: " PROGNAME " %s starting: owamp server %s, data in %s", a.opt.node,
                 PACKAGE_VERSION, a.opt.owamp_address, a.opt.datadir);
        if (!agent_resume_saved_schedule(&a))
            agent_owampd_hold(a.owampd, owp_clock_monotonic() + FIRST_SCHEDULE_WAIT_S);
        agent_owampd_tick(a.owampd, owp_clock_monotonic());
        if (setup_link(&a) == 0 && agent_start_data(&a) == 0) {
            agent_loop_run(&a); /* the signals again, after czmq's initialisation */
            log_info("node %s: SIGTERM/SIGINT: stopping", a.opt.node);
            status = 0;
        }
    }
    shutdown_agent(&a);
    daemon_log_close();
    return status;
}
