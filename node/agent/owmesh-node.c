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
 *   options -> log -> clock -> data directory lock -> spool -> streams
 *   -> owampd -> saved schedule (streams start) -> keys -> coordinator link
 *   -> data endpoint -> signals -> loop -> shutdown in reverse.
 *
 * With -D it also serves its spool to collectors (agent_data): a CURVE
 * ROUTER admitting the coordinator's key and the -A keys, advertised in
 * Hello.data_endpoint so that the coordinator's directory carries it.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <czmq.h>

#include "agent_data.h"
#include "agent_link.h"
#include "agent_owampd.h"
#include "agent_spool.h"
#include "agent_store.h"
#include "agent_streams.h"
#include "clock.h"
#include "conf.h"
#include "daemon_log.h"
#include "daemon_signals.h"
#include "hostport.h"
#include "meshmsg.h"
#include "options.h"


#define PROGNAME "owmesh-node"
#define NODE_PATH_MAX 4096
#define HEARTBEAT_S 3.0       /* Status every ... */
#define STATUS_MIN_GAP_S 0.5  /* ... and at once on a state change, at most this often */
#define HELLO_MIN_GAP_S 1.0   /* re-registration when the coordinator forgot us */
#define POLL_MS 200
#define FIRST_SCHEDULE_WAIT_S 10.0 /* a new node starts owampd with its first schedule, or after this */
#define SCHEDULE_FILE "schedule.pb"
#define ALIVE_FILE "alive"
#define ALIVE_S 2.0           /* heartbeat file rewritten every ... */
#define NODE_DOWN_MIN_S 5.0   /* a shorter gap before the first session is not an outage */
/* A stream's first session starts this long after the stream: one set-up
 * (the engine's 10 s default is powstream's; a failed set-up here costs
 * only unmeasured time, and a restarted node measures again sooner). */
#define STREAM_START_DELAY_S 3.0


typedef struct options {
    const char *node;
    const char *confdir;
    const char *cert_path;
    const char *server_key;
    const char *endpoint;
    const char *datadir;
    const char *owamp_address;
    const char *testports;
    const char *owampd_path;
    const char *data_endpoint;
    const char *collector_keys[AGENT_DATA_MAX_KEYS];
    size_t n_collector_keys;
    uint64_t retention_s;
    uint64_t budget_bytes;
    daemon_log_opts log; /* -Z, -e, -v */
} options;

typedef struct agent {
    options opt;
    char src_host[256];
    char pfs_path[NODE_PATH_MAX + 64];
    char schedule_path[NODE_PATH_MAX + 64];
    char alive_path[NODE_PATH_MAX + 64];
    owp_num64 last_alive; /* the previous run's last heartbeat; 0 once used (or none) */
    double alive_written;
    int lock_fd;
    agent_spool *spool;
    agent_streams *streams;
    agent_owampd *owampd;
    zcert_t *cert;
    agent_link *link;
    agent_data *data;
    uint64_t generation; /* of the schedule we run; 0 = none */
    double last_status, last_hello;
    unsigned refusals;
} agent;

/* ------------------------------------------------------------------ small helpers */

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: " PROGNAME " -n NODE -k CERT -K KEY -C ENDPOINT -d DATADIR -S ADDR [options]\n"
            "\n"
            "   -n node        this node's name in the mesh definition\n"
            "   -k certfile    this node's key pair (zcert file from `owmesh keygen`)\n"
            "   -K key         the coordinator's public key: Z85 text or a zcert file\n"
            "   -C endpoint    the coordinator, e.g. tcp://coord.example.net:5555\n"
            "   -d datadir     data directory: saved schedule, spool, work files\n"
            "   -S addr[:port] address of this node's owamp server (and of its streams)\n"
            "   -c confdir     owampd configuration directory (owamp-server.conf,\n"
            "                  .limits, .pfs); the .pfs also holds stream pass-phrases\n"
            "   -P low-high    UDP test port range (owamp server and streams)\n"
            "   -O owampd      the owampd program (default: next to " PROGNAME ")\n"
            "   -D endpoint    serve the spool to collectors here, e.g. tcp://192.0.2.7:8621\n"
            "                  (advertised to the coordinator: give a reachable address)\n"
            "   -A key         also accept this collector public key (Z85 or cert file;\n"
            "                  repeatable); the coordinator's key (-K) is always accepted\n"
            "   -R seconds     keep collected (acked) files this long (default 0: delete)\n"
            "   -B bytes[KMG]  disk budget of the spool: over it, delete the oldest\n"
            "                  collected files, then (logged as errors) uncollected ones\n"
            DAEMON_LOG_USAGE
            "   -h             print this message and exit\n"
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

static int parse_options(options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->log.facility = LOG_DAEMON;
    int ch;
    while ((ch = getopt(argc, argv, "n:c:k:K:C:d:S:P:O:D:A:R:B:Ze:vh")) != -1) {
        switch (ch) {
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
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROGNAME ": unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    const char *missing = !o->node            ? "-n node"
                          : !o->cert_path     ? "-k certfile"
                          : !o->server_key    ? "-K key"
                          : !o->endpoint      ? "-C endpoint"
                          : !o->datadir       ? "-d datadir"
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

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    log_err("node ?: mkdir %s: %s", path, strerror(errno));
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

static void write_heartbeat(agent *a, double now)
{
    owp_err err;
    owp_err_clear(&err);
    a->alive_written = now;
    if (agent_store_save_alive(a->alive_path, owp_clock_now(NULL), &err) != OWP_OK)
        log_warn("node %s: heartbeat: %s", a->opt.node, err.msg);
}

static int setup_storage(agent *a)
{
    owp_err err;
    owp_err_clear(&err);
    char path[NODE_PATH_MAX + 64];
    if (make_dir(a->opt.datadir) != 0 || lock_datadir(a) != 0)
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
    if (make_dir(datadir) != 0)
        return -1;
    snprintf(datadir, sizeof datadir, "%s/owampd/data", a->opt.datadir);
    snprintf(vardir, sizeof vardir, "%s/owampd/run", a->opt.datadir);
    agent_owampd_config oc = {
        .program = program, .node = a->opt.node, .listen = a->opt.owamp_address,
        .confdir = a->opt.confdir, .datadir = datadir, .vardir = vardir,
        .testports = a->opt.testports, .authmode = NULL, .copy_stderr = a->opt.log.to_stderr,
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
    char key[41];
    a->cert = agent_link_load_cert(a->opt.cert_path, &err);
    if (!a->cert || agent_link_server_key(a->opt.server_key, key, &err) != OWP_OK) {
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

/* The data endpoint (-D): collectors with the coordinator's key or an -A key. */
static int setup_data(agent *a)
{
    if (!a->opt.data_endpoint)
        return 0;
    owp_err err;
    owp_err_clear(&err);
    char keys[AGENT_DATA_MAX_KEYS][41];
    agent_data_config dc = {
        .node = a->opt.node, .endpoint = a->opt.data_endpoint, .cert = a->cert,
        .spool = a->spool, .retention_s = a->opt.retention_s,
        .budget_bytes = a->opt.budget_bytes,
    };
    if (agent_link_server_key(a->opt.server_key, keys[0], &err) != OWP_OK) {
        log_err("node %s: -K: %s", a->opt.node, err.msg);
        return -1;
    }
    dc.keys[dc.n_keys++] = keys[0];
    for (size_t i = 0; i < a->opt.n_collector_keys; i++) {
        if (agent_link_server_key(a->opt.collector_keys[i], keys[dc.n_keys], &err) != OWP_OK) {
            log_err("node %s: -A: %s", a->opt.node, err.msg);
            return -1;
        }
        dc.keys[dc.n_keys] = keys[dc.n_keys];
        dc.n_keys++;
    }
    a->data = agent_data_new(&dc, &err);
    if (!a->data) {
        log_err("node %s: %s", a->opt.node, err.msg);
        return -1;
    }
    log_info("node %s: data endpoint %s: serving the spool to %zu collector key%s", a->opt.node,
             a->opt.data_endpoint, dc.n_keys, dc.n_keys == 1 ? "" : "s");
    return 0;
}

/* ------------------------------------------------------------------ schedules */

static void modes_text(uint32_t modes, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", modes & 4u ? "E" : "", modes & 2u ? "A" : "",
             modes & 1u ? "O" : "");
}

/* The owamp server as the schedule asks (fields it leaves empty: ours). */
static void apply_owamp_server(agent *a, const Owmesh__OwampServer *srv)
{
    const char *listen = a->opt.owamp_address;
    char ports[32], modes[8];
    snprintf(ports, sizeof ports, "%s", a->opt.testports ? a->opt.testports : "");
    modes[0] = '\0';
    if (srv) {
        if (srv->listen && srv->listen[0])
            listen = srv->listen;
        if (srv->test_port_low)
            snprintf(ports, sizeof ports, "%u-%u", srv->test_port_low, srv->test_port_high);
        if (srv->modes)
            modes_text(srv->modes, modes, sizeof modes);
    }
    agent_owampd_reconfigure(a->owampd, listen, ports, modes);
    agent_owampd_release(a->owampd);
}

/* The streams learn the coordinator's set of nodes down (none before the
 * link is up, or after it went down). */
static void tell_streams_peers(agent *a)
{
    const char *const *down = NULL;
    size_t n = a->link ? agent_link_peers_down(a->link, &down) : 0;
    agent_streams_set_peers_down(a->streams, down, n);
}

/* Reconcile the streams with a schedule and adopt its generation. */
static int run_schedule(agent *a, const Owmesh__Schedule *s, const char *origin)
{
    owp_err err;
    owp_err_clear(&err);
    agent_apply_result r;
    if (agent_streams_apply(a->streams, s->streams, s->n_streams, &r, &err) != OWP_OK) {
        log_err("node %s: schedule generation %" PRIu64 ": %s", a->opt.node, s->generation,
                err.msg);
        return -1;
    }
    apply_owamp_server(a, s->owamp_server);
    a->generation = s->generation;
    log_info("node %s: running schedule generation %" PRIu64 " (%s): %zu streams: %zu kept "
             "running, %zu started, %zu stopped (%zu of them changed), %zu failed",
             a->opt.node, s->generation, origin, s->n_streams, r.kept, r.started, r.stopped,
             r.changed, r.failed);
    tell_streams_peers(a);
    if (a->last_alive) { /* the first schedule since start-up */
        size_t n = agent_streams_record_node_down(a->streams, a->last_alive, NODE_DOWN_MIN_S);
        if (n)
            log_info("node %s: the time this node was down is recorded as unmeasured for %zu "
                     "stream%s", a->opt.node, n, n == 1 ? "" : "s");
        a->last_alive = 0;
    }
    return 0;
}

/* The schedule saved by the last run, started before the coordinator answers. */
/* 1 when a saved schedule now runs. */
static int resume_saved_schedule(agent *a)
{
    owp_err err;
    owp_err_clear(&err);
    Owmesh__Envelope *env = NULL;
    if (agent_store_load_schedule(a->schedule_path, &env, &err) != OWP_OK) {
        log_warn("node %s: saved schedule unusable, starting without one: %s", a->opt.node,
                 err.msg);
        owp_err_clear(&err);
        if (agent_store_set_aside(a->schedule_path, &err) != OWP_OK)
            log_warn("node %s: %s", a->opt.node, err.msg);
        return 0;
    }
    if (!env) {
        log_info("node %s: no saved schedule: waiting for the coordinator", a->opt.node);
        return 0;
    }
    int ours = strcmp(env->schedule->node, a->opt.node) == 0;
    if (!ours)
        log_warn("node %s: saved schedule is for node \"%s\": ignored", a->opt.node,
                 env->schedule->node);
    else
        run_schedule(a, env->schedule, "saved");
    owm_msg_free(&env);
    return ours;
}

static void send_msg(agent *a, Owmesh__Envelope *env)
{
    owp_err err;
    owp_err_clear(&err);
    if (env && agent_link_send(a->link, env, &err) != OWP_OK)
        log_debug("node %s: %s", a->opt.node, err.msg);
    else if (!env)
        log_err("node %s: building a message: out of memory", a->opt.node);
}

static void send_ack(agent *a, uint64_t generation, int accepted, const char *why)
{
    owp_err err;
    owp_err_clear(&err);
    char text[OWM_MSG_MAX_TEXT + 1];
    agent_streams_clean_text(text, sizeof text, why ? why : "");
    Owmesh__Envelope *env = owm_msg_new_schedule_ack(generation, accepted, text, &err);
    send_msg(a, env);
    owm_msg_free(&env);
}

static void send_hello(agent *a, double now)
{
    owp_err err;
    owp_err_clear(&err);
    Owmesh__Envelope *env = owm_msg_new_hello(a->opt.node, PROGNAME " " PACKAGE_VERSION,
                                              a->opt.owamp_address,
                                              a->data ? a->opt.data_endpoint : "", a->generation,
                                              &err);
    send_msg(a, env);
    owm_msg_free(&env);
    a->last_hello = now;
    log_info("node %s: hello sent (running generation %" PRIu64 ")", a->opt.node, a->generation);
}

static void send_status(agent *a, double now)
{
    owp_err err;
    owp_err_clear(&err);
    a->last_status = now;
    Owmesh__Envelope *env = owm_msg_new(OWMESH__ENVELOPE__BODY_STATUS, &err);
    if (!env || owm_msg_set_string(&env->status->node, a->opt.node, &err) != OWP_OK ||
        agent_streams_fill_status(a->streams, env->status, &err) != OWP_OK) {
        log_err("node %s: status: %s", a->opt.node, err.msg);
        owm_msg_free(&env);
        return;
    }
    env->status->generation = a->generation;
    env->status->time = owp_clock_now(NULL);
    send_msg(a, env);
    owm_msg_free(&env);
}

static void handle_schedule(agent *a, const Owmesh__Schedule *s, double now)
{
    char why[OWM_MSG_MAX_TEXT];
    if (strcmp(s->node, a->opt.node) != 0) {
        snprintf(why, sizeof why, "schedule for node \"%s\" sent to node \"%s\"", s->node,
                 a->opt.node);
        log_warn("node %s: refused: %s", a->opt.node, why);
        send_ack(a, s->generation, 0, why);
        return;
    }
    if (s->generation < a->generation) {
        snprintf(why, sizeof why, "stale schedule: generation %" PRIu64 " is older than the "
                 "running generation %" PRIu64, s->generation, a->generation);
        log_warn("node %s: refused: %s", a->opt.node, why);
        send_ack(a, s->generation, 0, why);
        return;
    }
    uint64_t before = a->generation;
    if (run_schedule(a, s, "from the coordinator") != 0) {
        send_ack(a, s->generation, 0, "the node could not apply the schedule (see its log)");
        return;
    }
    if (s->generation != before) {
        owp_err err;
        owp_err_clear(&err);
        if (agent_store_save_schedule(a->schedule_path, s, &err) != OWP_OK)
            log_err("node %s: saving the schedule: %s (it runs, but a restart would not "
                    "resume it)", a->opt.node, err.msg);
    }
    send_ack(a, s->generation, 1, NULL);
    send_status(a, now);
}

/* The coordinator says we are not part of its mesh: stop measuring. */
static void leave_mesh(agent *a, const char *text)
{
    log_err("node %s: the coordinator does not know this node (%s): stopping every stream",
            a->opt.node, text);
    owp_err err;
    owp_err_clear(&err);
    agent_apply_result r;
    agent_streams_apply(a->streams, NULL, 0, &r, &err);
    if (unlink(a->schedule_path) != 0 && errno != ENOENT)
        log_warn("node %s: removing %s: %s", a->opt.node, a->schedule_path, strerror(errno));
}

static void handle_error(agent *a, const Owmesh__Error *e, double now)
{
    const char *code = owm_msg_error_code_name(e->code);
    switch (e->code) {
    case OWMESH__ERROR_CODE__ERROR_NOT_REGISTERED:
        log_info("node %s: coordinator: %s (%s): registering again", a->opt.node, code, e->text);
        if (now - a->last_hello >= HELLO_MIN_GAP_S)
            send_hello(a, now);
        break;
    case OWMESH__ERROR_CODE__ERROR_UNKNOWN_NODE:
        leave_mesh(a, e->text);
        break;
    default:
        log_warn("node %s: coordinator: %s: %s", a->opt.node, code, e->text);
        break;
    }
}

static void handle_peer_health(agent *a, const Owmesh__PeerHealth *m)
{
    owp_err err;
    owp_err_clear(&err);
    int changed = 0;
    if (agent_link_set_peer_health(a->link, m, &changed, &err) != OWP_OK) {
        log_err("node %s: %s", a->opt.node, err.msg);
        return;
    }
    if (!changed)
        return;
    char list[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < m->n_down && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 m->down[i]);
    log_info("node %s: the coordinator reports %s%s", a->opt.node,
             m->n_down ? "nodes down: " : "every node up", list);
    tell_streams_peers(a);
}

static void handle_message(agent *a, double now)
{
    owp_err err;
    owp_err_clear(&err);
    Owmesh__Envelope *env = NULL;
    Owmesh__ErrorCode why = OWMESH__ERROR_CODE__ERROR_MALFORMED;
    if (agent_link_recv(a->link, &env, &why, &err) != OWP_OK) {
        if (err.code == OWP_ERR_INTERRUPTED)
            return;
        log_warn("node %s: %s", a->opt.node, err.msg);
        Owmesh__Envelope *reply = owm_msg_new_error(why, err.msg, &err);
        send_msg(a, reply);
        owm_msg_free(&reply);
        return;
    }
    switch (env->body_case) {
    case OWMESH__ENVELOPE__BODY_SCHEDULE:
        handle_schedule(a, env->schedule, now);
        break;
    case OWMESH__ENVELOPE__BODY_ERROR:
        handle_error(a, env->error, now);
        break;
    case OWMESH__ENVELOPE__BODY_PEER_HEALTH:
        handle_peer_health(a, env->peer_health);
        break;
    default: {
        char text[128];
        snprintf(text, sizeof text, "a node does not take %s messages",
                 owm_msg_kind_name(env->body_case));
        log_warn("node %s: coordinator sent %s: answered ERROR_UNEXPECTED", a->opt.node,
                 owm_msg_kind_name(env->body_case));
        Owmesh__Envelope *reply =
            owm_msg_new_error(OWMESH__ERROR_CODE__ERROR_UNEXPECTED, text, &err);
        send_msg(a, reply);
        owm_msg_free(&reply);
        break;
    }
    }
    owm_msg_free(&env);
}

static void handle_link_event(agent *a, double now)
{
    char detail[512];
    switch (agent_link_read_event(a->link, detail, sizeof detail)) {
    case AGENT_LINK_UP:
        a->refusals = 0;
        log_info("node %s: connected to the coordinator (%s)", a->opt.node, detail);
        send_hello(a, now);
        send_status(a, now);
        break;
    case AGENT_LINK_DOWN:
        log_warn("node %s: lost the coordinator (%s): running generation %" PRIu64
                 " on, reconnecting", a->opt.node, detail, a->generation);
        tell_streams_peers(a); /* what it said about the other nodes is no longer known */
        break;
    case AGENT_LINK_REFUSED:
        /* Every reconnection is refused again: say it the first time, then now and then. */
        if (a->refusals++ % 20 == 0)
            log_err("node %s: the coordinator refused this node's key %s (CURVE authentication "
                    "failed, %s): is it listed for node %s in the mesh?", a->opt.node,
                    zcert_public_txt(a->cert), detail, a->opt.node);
        break;
    case AGENT_LINK_FAILED:
        log_warn("node %s: handshake with the coordinator failed (%s): is -K its public key?",
                 a->opt.node, detail);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ the loop */

static void run(agent *a)
{
    zpoller_t *poller = zpoller_new(agent_link_socket(a->link), agent_link_monitor(a->link), NULL);
    if (poller && a->data) {
        zpoller_add(poller, agent_data_socket(a->data));
        if (agent_data_zap(a->data))
            zpoller_add(poller, agent_data_zap(a->data));
    }
    if (!poller) {
        log_err("node %s: cannot create a poller", a->opt.node);
        return;
    }
    while (!daemon_stop_requested) {
        void *which = zpoller_wait(poller, a->data && agent_data_busy(a->data) ? 5 : POLL_MS);
        double now = owp_clock_monotonic();
        if (a->data && which == agent_data_socket(a->data))
            agent_data_handle(a->data);
        else if (a->data && which == agent_data_zap(a->data))
            agent_data_handle_zap(a->data);
        else if (which == agent_link_socket(a->link))
            handle_message(a, now);
        else if (which == agent_link_monitor(a->link))
            handle_link_event(a, now);
        if (daemon_reload_requested) {
            daemon_reload_requested = 0;
            log_info("node %s: SIGHUP: registering with the coordinator again", a->opt.node);
            send_hello(a, now);
        }
        agent_owampd_tick(a->owampd, now);
        if (a->data)
            agent_data_tick(a->data, now);
        if (now - a->alive_written >= ALIVE_S)
            write_heartbeat(a, now);
        int changed = agent_streams_take_changed(a->streams);
        if (agent_link_is_up(a->link) &&
            (now - a->last_status >= HEARTBEAT_S ||
             (changed && now - a->last_status >= STATUS_MIN_GAP_S)))
            send_status(a, now);
    }
    zpoller_destroy(&poller);
}

static void shutdown_agent(agent *a)
{
    agent_data_destroy(&a->data);
    agent_link_destroy(&a->link);
    zcert_destroy(&a->cert);
    int measured = a->streams != NULL;
    agent_streams_destroy(&a->streams);
    if (measured) /* measurement ends here */
        write_heartbeat(a, owp_clock_monotonic());
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
    if (parse_options(&a.opt, argc, argv) != 0)
        return 1;
    daemon_log_open_opts(PROGNAME, &a.opt.log);
    zsys_handler_set(NULL); /* our handlers: SIGTERM/SIGINT stop, SIGHUP re-registers */
    owp_err err;
    owp_err_clear(&err);
    if (owp_clock_init(&err) != OWP_OK) {
        log_err("node %s: %s", a.opt.node, err.msg);
        return 1;
    }
    if (owp_clock_warning())
        log_warn("node %s: NTP: %s", a.opt.node, owp_clock_warning());
    int status = 1;
    daemon_signals_install();
    if (setup_storage(&a) == 0 && setup_owampd(&a) == 0) {
        log_info("node %s: " PROGNAME " %s starting: owamp server %s, data in %s", a.opt.node,
                 PACKAGE_VERSION, a.opt.owamp_address, a.opt.datadir);
        if (!resume_saved_schedule(&a))
            agent_owampd_hold(a.owampd, owp_clock_monotonic() + FIRST_SCHEDULE_WAIT_S);
        agent_owampd_tick(a.owampd, owp_clock_monotonic());
        if (setup_link(&a) == 0 && setup_data(&a) == 0) {
            daemon_signals_install(); /* after czmq's initialisation */
            run(&a);
            log_info("node %s: SIGTERM/SIGINT: stopping", a.opt.node);
            status = 0;
        }
    }
    shutdown_agent(&a);
    daemon_log_close();
    return status;
}
