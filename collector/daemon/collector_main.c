/*
 * owmesh-collector - pulls every node's finished measurement files into the
 * LMDB store (owmesh-collector(8)).
 *
 * It asks the coordinator for the node directory (DirectoryRequest, with a
 * certificate the coordinator trusts: normally the coordinator's own), runs
 * one puller per node that announced a data endpoint (collector/puller.c:
 * listing after the store's cursor, credit-based fetches, ingest, ack), and
 * refreshes the directory now and then so that new nodes and moved
 * endpoints are followed. Paths are named as `owmesh import` names them
 * (collector/store_paths.c).
 *
 * Start-up reads as a list:
 *   options -> log -> store -> paths (mesh file) -> keys -> coordinator client
 *   -> signals and loop (daemon/daemon_loop.h: a reader per puller socket,
 *   a turn every TURN_MS for the directory, the pullers' clocks and the
 *   stats) -> shutdown in reverse.
 */

#include <errno.h>
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

#include "curve.h"
#include "coordclient.h"
#include "clock.h"
#include "store_paths.h"
#include "options.h"
#include "daemon_log.h"
#include "daemon_loop.h"
#include "meshmsg.h"
#include "puller.h"
#include "store.h"


#define PROGNAME "owmesh-collector"
#define MAX_NODES 4096
#define DIRECTORY_EVERY_S 30.0
#define DIRECTORY_RETRY_S 2.0
#define DIRECTORY_TIMEOUT_MS 3000
#define STATS_EVERY_S 60.0
#define TURN_MS 100 /* pullers' clocks, the directory, the stats */


typedef struct options {
    const char *endpoint;
    const char *cert_path;
    const char *server_key;
    const char *store_dir;
    const char *mesh_file;
    unsigned window, credit;
    double refresh_s;
    int sync_each;
    daemon_log_opts log; /* -Z, -e, -v */
} options;

typedef struct collector collector;

/* A puller's socket as the loop watches it (it changes after a reset). */
typedef struct watched {
    collector *c;
    puller *p;
    zsock_t *sock;   /* registered with the loop; NULL: none */
    unsigned serial; /* puller_socket_serial when registered */
} watched;

struct collector {
    options opt;
    store_db *store;
    store_paths *paths;
    zcert_t *cert;
    owm_coordclient *client;
    daemon_loop *loop;
    puller *pullers[MAX_NODES];
    watched watch[MAX_NODES];
    size_t n_pullers;
    double next_directory, next_stats;
    char quarantine[4096 + 16];
    /* test hook (OWMESH_COLLECTOR_DIE_AFTER / _AT) */
    long die_after;
    int die_at_ack;
    uint64_t stored_files;   /* committed (on_file) */
    uint64_t ingested_files; /* reached their commit point (the store's hook) */
};

/* ------------------------------------------------------------------ options */

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: " PROGNAME " -C ENDPOINT -k CERT -s STOREDIR [options]\n"
            "\n"
            "   -C endpoint    the coordinator, e.g. tcp://coord.example.net:8620\n"
            "   -k certfile    the collector's key pair: a certificate the coordinator and\n"
            "                  the nodes accept (the coordinator's own, or a node's -A key)\n"
            "   -K key         the coordinator's public key: Z85 or a cert file\n"
            "                  (default: the public key of -k)\n"
            "   -s storedir    the measurement store (created if missing)\n"
            "   -m meshfile    the mesh definition: names paths by the mesh's test names\n"
            "   -w files       files fetched at once per node (1-16, default 16)\n"
            "   -c chunks      chunks in flight per file (credit, default 4)\n"
            "   -r seconds     directory refresh period (default 30)\n"
            "   -S             fsync every ingest instead of once per batch of acks\n"
            DAEMON_LOG_USAGE
            "   -h             print this message and exit\n"
            "\nVersion: %s\n",
            PACKAGE_VERSION);
}

static int parse_unsigned(const char *text, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_options(options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->log.facility = LOG_DAEMON;
    o->refresh_s = DIRECTORY_EVERY_S;
    int ch;
    unsigned v;
    while ((ch = getopt(argc, argv, "C:k:K:s:m:w:c:r:SZe:vh")) != -1) {
        switch (ch) {
        case 'C': o->endpoint = optarg; break;
        case 'k': o->cert_path = optarg; break;
        case 'K': o->server_key = optarg; break;
        case 's': o->store_dir = optarg; break;
        case 'm': o->mesh_file = optarg; break;
        case 'S': o->sync_each = 1; break;
        case 'w':
        case 'c':
            if (parse_unsigned(optarg, 1, ch == 'w' ? 16 : OWM_MSG_MAX_CREDIT, &v) != 0) {
                fprintf(stderr, PROGNAME ": -%c \"%s\": not a number in 1-%u\n", ch, optarg,
                        ch == 'w' ? 16 : OWM_MSG_MAX_CREDIT);
                return -1;
            }
            *(ch == 'w' ? &o->window : &o->credit) = v;
            break;
        case 'r':
            if (parse_unsigned(optarg, 1, 86400, &v) != 0) {
                fprintf(stderr, PROGNAME ": -r \"%s\": not a number of seconds (1-86400)\n",
                        optarg);
                return -1;
            }
            o->refresh_s = v;
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
    const char *missing = !o->endpoint ? "-C endpoint" : !o->cert_path ? "-k certfile"
                          : !o->store_dir ? "-s storedir" : NULL;
    if (missing) {
        fprintf(stderr, PROGNAME ": %s is required\n", missing);
        usage(stderr);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ test hook */

/* OWMESH_COLLECTOR_DIE_AFTER=N: die inside the write transaction of the
 * (N+1)-th file, just before that file's own commit point. Files are stored
 * in batches (one transaction for the files that arrived together), so the
 * crash takes the open batch with it: the files of that batch ingested
 * before it were written but never committed. With
 * OWMESH_COLLECTOR_DIE_AT=ack, die right after the N-th file is committed,
 * before its ack. _exit: no clean-up at all, as a SIGKILL. */
static void die_in_transaction(const char *point, uint64_t n, void *arg)
{
    (void)n;
    collector *c = arg;
    if (c->die_after < 0 || c->die_at_ack || strcmp(point, "cursor") != 0)
        return;
    if (c->ingested_files++ >= (uint64_t)c->die_after) {
        log_warn("test hook: dying inside an ingest transaction after %" PRIu64
                 " files ingested, %" PRIu64 " of them committed", c->ingested_files - 1,
                 c->stored_files);
        _exit(99);
    }
}

static void on_file(void *arg, const char *node, uint64_t seq, const char *name,
                    const store_ingest_result *res, int stored)
{
    collector *c = arg;
    if (stored) {
        c->stored_files++;
        log_info("node %s: file %" PRIu64 " %s: %" PRIu64 " records stored (sent %" PRIu64
                 ", lost %" PRIu64 ", dups %" PRIu64 ")", node, seq, name, res->records,
                 res->sent, res->lost, res->dups);
    } else if (res) {
        log_info("node %s: file %" PRIu64 " %s: %s", node, seq, name,
                 res->status == STORE_INGEST_ALREADY ? "already stored" : "session already stored");
    }
    if (stored && c->die_after >= 0 && c->die_at_ack && c->stored_files >= (uint64_t)c->die_after) {
        log_warn("test hook: dying after file %" PRIu64 " was committed, before its ack", seq);
        _exit(99);
    }
}

static void setup_hook(collector *c)
{
    const char *after = getenv("OWMESH_COLLECTOR_DIE_AFTER");
    const char *at = getenv("OWMESH_COLLECTOR_DIE_AT");
    c->die_after = after && *after ? strtol(after, NULL, 10) : -1;
    c->die_at_ack = at && !strcmp(at, "ack");
    if (c->die_after >= 0) {
        store_set_hook(c->store, die_in_transaction, c);
        log_warn("test hook: will die after %ld stored files (%s)", c->die_after,
                 c->die_at_ack ? "before the ack" : "inside the ingest transaction");
    }
}

/* ------------------------------------------------------------------ start-up */

static int setup(collector *c)
{
    owp_err err;
    owp_err_clear(&err);
    if (mkdir(c->opt.store_dir, 0755) != 0 && errno != EEXIST) {
        log_err("store %s: mkdir: %s", c->opt.store_dir, strerror(errno));
        return -1;
    }
    snprintf(c->quarantine, sizeof c->quarantine, "%s/quarantine", c->opt.store_dir);
    if (mkdir(c->quarantine, 0755) != 0 && errno != EEXIST) {
        log_err("%s: mkdir: %s", c->quarantine, strerror(errno));
        return -1;
    }
    store_opts so;
    store_opts_default(&so);
    so.nometasync = !c->opt.sync_each;
    c->store = store_open(c->opt.store_dir, &so, &err);
    if (!c->store) {
        log_err("store %s: %s", c->opt.store_dir, err.msg);
        return -1;
    }
    c->paths = store_paths_new(c->store, c->opt.mesh_file, &err);
    if (!c->paths) {
        log_err("-m %s: %s", c->opt.mesh_file, err.msg);
        return -1;
    }
    c->cert = owm_curve_load(c->opt.cert_path, 1, &err);
    if (!c->cert) {
        log_err("-k %s: %s", c->opt.cert_path, err.msg);
        return -1;
    }
    c->client = owm_coordclient_new(c->opt.endpoint, c->opt.cert_path, c->opt.server_key,
                                  DIRECTORY_TIMEOUT_MS, &err);
    if (!c->client) {
        log_err("coordinator %s: %s", c->opt.endpoint, err.msg);
        return -1;
    }
    setup_hook(c);
    log_info(PROGNAME " %s starting: store %s, coordinator %s, public key %s", PACKAGE_VERSION,
             c->opt.store_dir, c->opt.endpoint, zcert_public_txt(c->cert));
    return 0;
}

/* ------------------------------------------------------------------ the directory */

static puller *find_puller(collector *c, const char *node)
{
    for (size_t i = 0; i < c->n_pullers; i++)
        if (!strcmp(puller_node(c->pullers[i]), node))
            return c->pullers[i];
    return NULL;
}

static void follow_entry(collector *c, const owm_msg_directory_entry *e)
{
    owp_err err;
    owp_err_clear(&err);
    puller *p = find_puller(c, e->node);
    if (!e->data_endpoint[0] || !e->public_key[0]) {
        if (!p)
            log_debug("node %s: no data endpoint%s announced yet", e->node,
                      e->public_key[0] ? "" : " or key");
        return;
    }
    if (p) {
        if (strcmp(puller_endpoint(p), e->data_endpoint) != 0) {
            log_info("node %s: data endpoint moved to %s", e->node, e->data_endpoint);
            if (puller_retarget(p, e->data_endpoint, e->public_key, &err) != OWP_OK)
                log_err("node %s: %s", e->node, err.msg);
        }
        return;
    }
    if (c->n_pullers == MAX_NODES) {
        log_err("node %s: more than %d nodes: not collected", e->node, MAX_NODES);
        return;
    }
    puller_config pc = {
        .node = e->node, .endpoint = e->data_endpoint, .cert = c->cert,
        .server_key = e->public_key, .store = c->store, .store_nometasync = !c->opt.sync_each,
        .path = store_paths_resolve, .path_arg = c->paths, .on_file = on_file,
        .on_file_arg = c, .quarantine_dir = c->quarantine, .window = c->opt.window, .credit = c->opt.credit,
    };
    p = puller_new(&pc, &err);
    if (!p) {
        log_err("node %s: %s", e->node, err.msg);
        return;
    }
    c->watch[c->n_pullers] = (watched){.c = c, .p = p};
    c->pullers[c->n_pullers++] = p;
    log_info("node %s: collecting from %s", e->node, e->data_endpoint);
}

static void refresh_directory(collector *c, double now)
{
    owp_err err;
    owp_err_clear(&err);
    if (!c->client) {
        c->client = owm_coordclient_new(c->opt.endpoint, c->opt.cert_path, c->opt.server_key,
                                      DIRECTORY_TIMEOUT_MS, &err);
        if (!c->client) {
            log_err("coordinator %s: %s", c->opt.endpoint, err.msg);
            c->next_directory = now + DIRECTORY_RETRY_S;
            return;
        }
    }
    owm_msg *req = owm_msg_new(OWM_MSG_DIRECTORY_REQUEST, &err);
    owm_msg *rep = req ? owm_coordclient_call(c->client, req, NULL, &err) : NULL;
    owm_msg_free(&req);
    if (!rep || rep->kind != OWM_MSG_DIRECTORY) {
        if (rep)
            owp_err_set(&err, OWP_ERR_PROTO, "answered %s", owm_msg_kind_name(rep->kind));
        log_warn("coordinator %s: directory: %s: retrying in %.0f s", c->opt.endpoint, err.msg,
                 DIRECTORY_RETRY_S);
        owm_msg_free(&rep);
        /* The client's DEALER may hold a late answer: start a fresh one. */
        owm_coordclient_destroy(&c->client);
        owp_err_clear(&err);
        c->client = owm_coordclient_new(c->opt.endpoint, c->opt.cert_path, c->opt.server_key,
                                      DIRECTORY_TIMEOUT_MS, &err);
        if (!c->client)
            log_err("coordinator %s: %s", c->opt.endpoint, err.msg);
        c->next_directory = now + DIRECTORY_RETRY_S;
        return;
    }
    const owm_msg_directory *d = rep->directory;
    if (store_paths_set_directory(c->paths, d, &err) != OWP_OK)
        log_err("directory: %s", err.msg);
    for (size_t i = 0; i < d->n_nodes; i++)
        follow_entry(c, d->nodes[i]);
    log_debug("directory generation %" PRIu64 ": %zu nodes, %zu collected", d->generation,
              d->n_nodes, c->n_pullers);
    owm_msg_free(&rep);
    c->next_directory = now + c->opt.refresh_s;
}

/* ------------------------------------------------------------------ the loop */

static void log_stats(collector *c)
{
    for (size_t i = 0; i < c->n_pullers; i++) {
        const puller_stats *s = puller_get_stats(c->pullers[i]);
        log_info("node %s: %" PRIu64 " files, %" PRIu64 " records stored, %" PRIu64
                 " skipped, %" PRIu64 " acked, %" PRIu64 " resets", puller_node(c->pullers[i]),
                 s->files, s->records, s->skipped, s->acked, s->resets);
    }
}

static int on_puller(zloop_t *loop, zsock_t *sock, void *arg);

/* Watch the puller's current socket: after a reset it is another one (or
 * none while the puller backs off). */
static void watch_socket(watched *w)
{
    zsock_t *sock = puller_socket(w->p);
    unsigned serial = puller_socket_serial(w->p);
    if (sock == w->sock && serial == w->serial)
        return;
    if (w->sock)
        daemon_loop_reader_end(w->c->loop, w->sock);
    w->sock = sock && daemon_loop_reader(w->c->loop, sock, on_puller, w) == 0 ? sock : NULL;
    w->serial = serial;
}

/* A puller's socket is readable (the zsock_t passed may be one a reset has
 * just destroyed: the puller's own is used). */
static int on_puller(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    watched *w = arg;
    puller_handle(w->p, owp_clock_monotonic());
    watch_socket(w);
    return 0;
}

/* Every TURN_MS: the directory when due, every puller's clock, the stats. */
static void turn(collector *c)
{
    double now = owp_clock_monotonic();
    if (now >= c->next_directory)
        refresh_directory(c, now);
    now = owp_clock_monotonic();
    for (size_t i = 0; i < c->n_pullers; i++)
        puller_tick(c->pullers[i], now);
    if (now >= c->next_stats) {
        if (c->next_stats)
            log_stats(c);
        c->next_stats = now + STATS_EVERY_S;
    }
    for (size_t i = 0; i < c->n_pullers; i++)
        watch_socket(&c->watch[i]);
}

static int on_turn(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    turn(arg);
    return 0;
}

static void on_sighup(daemon_loop *loop, void *arg)
{
    (void)loop;
    collector *c = arg;
    owp_err err;
    owp_err_clear(&err);
    if (store_paths_reload(c->paths, &err) != OWP_OK)
        log_err("SIGHUP: -m %s: %s (the previous mesh stays)", c->opt.mesh_file, err.msg);
    else
        log_info("SIGHUP: mesh reloaded, asking the coordinator for the directory");
    c->next_directory = 0;
    turn(c);
}

static void run(collector *c)
{
    owp_err err;
    owp_err_clear(&err);
    c->loop = daemon_loop_new(&err);
    if (!c->loop || daemon_loop_timer(c->loop, TURN_MS, on_turn, c) < 0) {
        log_err("%s", c->loop ? "event loop: out of memory" : err.msg);
        return;
    }
    daemon_loop_on_reload(c->loop, on_sighup, c);
    turn(c); /* the directory at once */
    daemon_loop_run(c->loop);
}

static void shutdown_collector(collector *c)
{
    daemon_loop_destroy(&c->loop);
    for (size_t i = 0; i < c->n_pullers; i++)
        puller_destroy(&c->pullers[i]);
    owm_coordclient_destroy(&c->client);
    zcert_destroy(&c->cert);
    store_paths_destroy(&c->paths);
    if (c->store) {
        owp_err err;
        owp_err_clear(&err);
        store_sync(c->store, &err);
    }
    store_close(&c->store);
}

int main(int argc, char **argv)
{
    static collector c;
    if (parse_options(&c.opt, argc, argv) != 0)
        return 1;
    daemon_log_open_opts(PROGNAME, &c.opt.log);
    zsys_handler_set(NULL); /* until the loop installs ours: the default actions */
    int status = 1;
    if (setup(&c) == 0) {
        run(&c);
        log_stats(&c);
        log_info("SIGTERM/SIGINT: stopping");
        status = 0;
    }
    shutdown_collector(&c);
    daemon_log_close();
    return status;
}
