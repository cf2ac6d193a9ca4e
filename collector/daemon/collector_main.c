/*
 * owmesh-collector - pulls every node's finished measurement files into the
 * LMDB store (owmesh-collector(8)).
 *
 * It asks the coordinator for the node directory (DirectoryRequest, with a
 * certificate the coordinator trusts: normally the coordinator's own) on
 * its loop, never waiting for the answer (a coordinator that is down costs
 * the pullers nothing: the question is asked again with back-off), runs
 * one puller per node that announced a data endpoint (collector/puller.c:
 * listing after the store's cursor, credit-based fetches, ingest, ack), and
 * refreshes the directory now and then so that new nodes and moved
 * endpoints are followed. Paths are named as `owmesh import` names them
 * (collector/store_paths.c).
 *
 * Start-up reads as a list:
 *   options -> log -> run-as user -> detach (unless -Z or systemd) -> store
 *   -> paths (mesh file) -> keys -> store handed to the run-as user, root
 *   dropped (before any ZeroMQ socket) -> signals and loop
 *   (daemon/daemon_loop.h: a reader per puller socket and one for the
 *   coordinator client, a turn every TURN_MS for the directory, the
 *   pullers' clocks and the stats) -> shutdown in reverse.
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
#include "collector_share.h"
#include "clock.h"
#include "store_paths.h"
#include "options.h"
#include "daemon_log.h"
#include "daemon_loop.h"
#include "daemon_privs.h"
#include "daemon_service.h"
#include "meshmsg.h"
#include "puller.h"
#include "store.h"


#define PROGNAME "owmesh-collector"
#define MAX_NODES 4096
#define DIRECTORY_EVERY_S 30.0
#define DIRECTORY_RETRY_S 2.0       /* first retry after a failed directory request, */
#define DIRECTORY_RETRY_MAX_S 60.0  /* doubling up to this */
#define DIRECTORY_TIMEOUT_MS 3000
#define DEFAULT_ENDPOINT "tcp://127.0.0.1:8620"
#define DEFAULT_CERT OWMESH_CONFDIR "/keys/collector_secret"
#define DEFAULT_SERVER_KEY OWMESH_CONFDIR "/keys/coordinator"
#define DEFAULT_STORE OWMESH_STATEDIR "/store"
#define DEFAULT_MESH OWMESH_CONFDIR "/mesh.json"
#define STATS_EVERY_S 60.0
#define TURN_MS 100 /* pullers' clocks, the directory, the stats */


typedef struct options {
    const char *endpoint;
    const char *cert_path;
    const char *server_key;
    const char *store_dir;
    const char *quarantine_dir; /* -q; NULL: beside the store (see local_dir) */
    const char *mesh_file;
    unsigned window, credit;
    double refresh_s;
    double heartbeat_s;      /* -H: a sharing collector's period */
    const char *archive;     /* -a; NULL: from the store (collector_archive_of) */
    int sync_each;
    const char *user, *group; /* -U, -G */
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
    char server_key[OWM_CURVE_KEY_LEN + 1]; /* the coordinator's */
    owm_coordclient *client;
    int asking;             /* a DirectoryRequest is out */
    double asked_at;        /* when (monotonic) */
    double retry_s;         /* the next back-off */
    int coordinator_down;   /* the last request failed (logged once) */
    daemon_privs privs;
    daemon_loop *loop;
    puller *pullers[MAX_NODES];
    watched watch[MAX_NODES];
    size_t n_pullers;
    double next_directory, next_stats;
    char quarantine[4096 + 16];
    char store_shown[4096];   /* -s as logs show it (no password) */
    char archive[OWM_MSG_MAX_ADDRESS + 1]; /* "" = a store of its own: every node */
    double lease_end;        /* sharing: pull until then (monotonic); 0 = no lease yet */
    int divided;             /* the last Directory was divided */
    int warned_undivided;    /* said once: the coordinator does not divide */
    int lease_lapsed;        /* said once per lapse */
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
            "usage: " PROGNAME " [-C ENDPOINT] [-k CERT] [-K KEY] [-s STORE] [-q DIR] [-m MESHFILE]\n"
            "                        [-w FILES] [-c CHUNKS] [-r SECONDS] [-H SECONDS] [-a ARCHIVE]\n"
            "                        [-S] [-U USER] [-G GROUP]\n"
            "                        [-e FACILITY] [-Z] [-v] [-h|--help] [--version]\n"
            "\n"
            "   -C endpoint    the coordinator (default " DEFAULT_ENDPOINT ")\n"
            "   -k certfile    the collector's key pair: a certificate the coordinator and\n"
            "                  the nodes accept (default " DEFAULT_CERT ")\n"
            "   -K key         the coordinator's public key: Z85 or a cert file\n"
            "                  (default " DEFAULT_SERVER_KEY " if it exists, else the\n"
            "                  public key of -k)\n"
            "   -s store       the measurement store: a directory (LMDB, created if\n"
            "                  missing; default " DEFAULT_STORE ") or\n"
            "                  clickhouse://[USER@]HOST:PORT/DATABASE (see owmesh-collector(8))\n"
            "   -q dir         where files the store refuses are kept (default\n"
            "                  STOREDIR/quarantine; with a URL store " OWMESH_STATEDIR "/quarantine)\n"
            "   -m meshfile    the mesh definition: names paths by the mesh's test names\n"
            "                  (default " DEFAULT_MESH " if it exists)\n"
            "   -w files       files fetched at once per node (1-16, default 16)\n"
            "   -c chunks      chunks in flight per file (credit, default 4)\n"
            "   -r seconds     directory refresh period (default 30)\n"
            "   -H seconds     heartbeat of a collector sharing its archive: it asks the\n"
            "                  coordinator this often (default 5; 0.1-3600)\n"
            "   -a archive     the archive this collector writes to, as every collector\n"
            "                  sharing it names it; they divide the mesh's nodes (default:\n"
            "                  -s's URL without user and password; none for a directory)\n"
            "   -S             fsync every ingest instead of once per batch of acks\n"
            DAEMON_SERVICE_USAGE
            DAEMON_LOG_USAGE
            "   -h, --help     print this message and exit\n"
            "   --version      print the version and exit\n"
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

/* 0 to go on, 1 to exit 0 (help, version), -1 to exit 1 (said why). */
static int parse_options(options *o, int argc, char **argv)
{
    static const struct option longopts[] = {DAEMON_LONG_OPTIONS};
    memset(o, 0, sizeof *o);
    o->log.facility = LOG_DAEMON;
    o->refresh_s = DIRECTORY_EVERY_S;
    o->heartbeat_s = COLLECTOR_DEFAULT_HEARTBEAT;
    o->endpoint = DEFAULT_ENDPOINT;
    o->cert_path = DEFAULT_CERT;
    o->store_dir = DEFAULT_STORE;
    int ch;
    unsigned v;
    while ((ch = getopt_long(argc, argv, "C:k:K:s:q:m:w:c:r:H:a:SU:G:Ze:vh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'U': o->user = optarg; break;
        case 'G': o->group = optarg; break;
        case 'C': o->endpoint = optarg; break;
        case 'k': o->cert_path = optarg; break;
        case 'K': o->server_key = optarg; break;
        case 's': o->store_dir = optarg; break;
        case 'q': o->quarantine_dir = optarg; break;
        case 'm': o->mesh_file = optarg; break;
        case 'a': o->archive = optarg; break;
        case 'H': {
            char *end;
            errno = 0;
            double h = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(h >= 0.1 && h <= 3600)) {
                fprintf(stderr, PROGNAME ": -H \"%s\": not a number of seconds (0.1-3600)\n",
                        optarg);
                return -1;
            }
            o->heartbeat_s = h;
            break;
        }
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
        case 'h': usage(stdout); return 1;
        case DAEMON_OPT_VERSION: daemon_service_print_version(PROGNAME); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROGNAME ": unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    if (!o->mesh_file && access(DEFAULT_MESH, R_OK) == 0)
        o->mesh_file = DEFAULT_MESH;
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

/* Does this collector share its archive (divide the mesh with others)? */
static int sharing(const collector *c)
{
    return c->archive[0] != '\0';
}

/* The collector's own directory, handed to the run-as user: the store's
 * (LMDB), else -q's, else (a URL store) the state directory. */
static const char *local_dir(const collector *c)
{
    if (!store_location_is_url(c->opt.store_dir))
        return c->opt.store_dir;
    return c->opt.quarantine_dir ? c->opt.quarantine_dir : OWMESH_STATEDIR;
}

static int make_local_dirs(collector *c)
{
    const char *local = local_dir(c);
    if (mkdir(local, 0755) != 0 && errno != EEXIST) {
        log_err("%s: mkdir: %s", local, strerror(errno));
        return -1;
    }
    if (c->opt.quarantine_dir)
        snprintf(c->quarantine, sizeof c->quarantine, "%s", c->opt.quarantine_dir);
    else
        snprintf(c->quarantine, sizeof c->quarantine, "%s/quarantine", local);
    if (mkdir(c->quarantine, 0755) != 0 && errno != EEXIST) {
        log_err("%s: mkdir: %s", c->quarantine, strerror(errno));
        return -1;
    }
    return 0;
}

/* The archive this collector writes to (-a, else from the store): 0, or
 * -1 said why. */
static int set_archive(collector *c)
{
    if (!c->opt.archive) {
        collector_archive_of(c->opt.store_dir, c->archive, sizeof c->archive);
        return 0;
    }
    if (!owm_msg_text_ok(c->opt.archive, OWM_MSG_MAX_ADDRESS)) {
        log_err("-a: longer than %u bytes or holds control characters", OWM_MSG_MAX_ADDRESS);
        return -1;
    }
    snprintf(c->archive, sizeof c->archive, "%s", c->opt.archive);
    return 0;
}

static int setup(collector *c)
{
    owp_err err;
    owp_err_clear(&err);
    store_location_shown(c->opt.store_dir, c->store_shown, sizeof c->store_shown);
    if (set_archive(c) != 0)
        return -1;
    if (make_local_dirs(c) != 0)
        return -1;
    store_opts so;
    store_opts_default(&so);
    so.nometasync = !c->opt.sync_each;
    c->store = store_open(c->opt.store_dir, &so, &err);
    if (!c->store) {
        log_err("store %s: %s", c->store_shown, err.msg);
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
    const char *server_key = c->opt.server_key                      ? c->opt.server_key
                             : access(DEFAULT_SERVER_KEY, R_OK) == 0 ? DEFAULT_SERVER_KEY
                                                                     : c->opt.cert_path;
    if (owm_curve_public_key(server_key, c->server_key, &err) != OWP_OK) {
        log_err("-K %s: %s", server_key, err.msg);
        return -1;
    }
    c->retry_s = DIRECTORY_RETRY_S;
    /* after store_open: the store's files are the run-as user's too */
    if (daemon_privs_own_tree(&c->privs, local_dir(c), &err) != OWP_OK ||
        daemon_privs_own_tree(&c->privs, c->quarantine, &err) != OWP_OK) {
        log_err("%s", err.msg);
        return -1;
    }
    if (c->opt.mesh_file && !daemon_privs_can_read(&c->privs, c->opt.mesh_file))
        log_warn("-m %s: user %s cannot read it: reloads will fail", c->opt.mesh_file,
                 c->privs.user);
    setup_hook(c);
    log_info(PROGNAME " %s starting: store %s, coordinator %s, public key %s", PACKAGE_VERSION,
             c->store_shown, c->opt.endpoint, zcert_public_txt(c->cert));
    if (sharing(c))
        log_info("sharing archive %s: pulling the nodes the coordinator assigns, asking it every "
                 "%.1f s (lease %.1f s)", c->archive, c->opt.heartbeat_s,
                 COLLECTOR_LEASE_PERIODS * c->opt.heartbeat_s);
    return 0;
}

/* ------------------------------------------------------------------ the directory */

static void watch_socket(watched *w);

/* Stop pulling the i-th node: its puller goes, the file in flight is
 * abandoned unacked (the node lists it again to whoever pulls it next). */
static void drop_puller(collector *c, size_t i, const char *why)
{
    const puller_stats *st = puller_get_stats(c->pullers[i]);
    log_info("node %s: stopped pulling (%s) after %" PRIu64 " files, %" PRIu64 " records",
             puller_node(c->pullers[i]), why, st->files, st->records);
    if (c->watch[i].sock)
        daemon_loop_reader_end(c->loop, c->watch[i].sock);
    puller_destroy(&c->pullers[i]);
    size_t last = --c->n_pullers;
    if (i != last) {
        /* The last one moves into the hole: its reader's argument was its
         * old slot, so it is registered anew. */
        if (c->watch[last].sock)
            daemon_loop_reader_end(c->loop, c->watch[last].sock);
        c->pullers[i] = c->pullers[last];
        c->watch[i] = (watched){.c = c, .p = c->pullers[i]};
        watch_socket(&c->watch[i]);
    }
    c->pullers[last] = NULL;
    c->watch[last] = (watched){0};
}

static void drop_every_puller(collector *c, const char *why)
{
    while (c->n_pullers)
        drop_puller(c, c->n_pullers - 1, why);
}

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

static int on_client(zloop_t *loop, zsock_t *sock, void *arg);

/* A client on the loop, made from the keys in memory (the files may be
 * unreadable since the drop). 0, or -1 logged. */
static int open_client(collector *c)
{
    owp_err err;
    owp_err_clear(&err);
    c->client = owm_coordclient_new_cert(c->opt.endpoint, c->cert, c->server_key,
                                         DIRECTORY_TIMEOUT_MS, &err);
    if (!c->client) {
        log_err("coordinator %s: %s", c->opt.endpoint, err.msg);
        return -1;
    }
    if (c->loop &&
        daemon_loop_reader(c->loop, owm_coordclient_socket(c->client), on_client, c) != 0) {
        log_err("coordinator %s: event loop: out of memory", c->opt.endpoint);
        owm_coordclient_destroy(&c->client);
        return -1;
    }
    return 0;
}

static void close_client(collector *c)
{
    if (c->client && c->loop)
        daemon_loop_reader_end(c->loop, owm_coordclient_socket(c->client));
    owm_coordclient_destroy(&c->client);
    c->asking = 0;
}

/* The directory could not be had: ask again later, longer each time (up
 * to DIRECTORY_RETRY_MAX_S); said once when the coordinator goes away. */
static void directory_failed(collector *c, const char *why, double now)
{
    if (!c->coordinator_down)
        log_warn("coordinator %s: directory: %s: retrying in %.0f s, backing off up to "
                 "%.0f s (collecting from the nodes already known)", c->opt.endpoint, why,
                 c->retry_s, DIRECTORY_RETRY_MAX_S);
    else
        log_debug("coordinator %s: directory: %s: retrying in %.0f s", c->opt.endpoint, why,
                  c->retry_s);
    c->coordinator_down = 1;
    c->next_directory = now + c->retry_s;
    /* A sharing collector's lease needs an answer soon after the
     * coordinator is back: it never waits more than a period. */
    double max = sharing(c) ? c->opt.heartbeat_s : DIRECTORY_RETRY_MAX_S;
    c->retry_s = c->retry_s * 2 > max ? max : c->retry_s * 2;
    /* The DEALER may still deliver a late answer: start a fresh one. */
    close_client(c);
}

/* 1 when d marks node as ours. */
static int assigned_to_us(const owm_msg_directory *d, const char *node)
{
    for (size_t i = 0; i < d->n_nodes; i++)
        if (!strcmp(d->nodes[i]->node, node))
            return collector_pulls(d, i);
    return 0;
}

/* A sharing collector pulls what a divided directory marks as its own and
 * stops pulling the rest at once; its lease runs from its request. */
static void follow_division(collector *c, const owm_msg_directory *d, double now)
{
    if (!d->divided) {
        if (!c->warned_undivided)
            log_warn("coordinator %s does not divide the mesh between the collectors of "
                     "archive %s (older than minor version 4?): pulling every node",
                     c->opt.endpoint, c->archive);
        c->warned_undivided = 1;
        c->divided = 0;
        return;
    }
    c->divided = 1;
    c->lease_end = collector_lease_end(c->asked_at, c->opt.heartbeat_s);
    if (c->lease_lapsed)
        log_info("coordinator %s: answering again: lease renewed", c->opt.endpoint);
    c->lease_lapsed = 0;
    for (size_t i = c->n_pullers; i-- > 0;)
        if (!assigned_to_us(d, puller_node(c->pullers[i])))
            drop_puller(c, i, "the coordinator no longer assigns it to this collector");
    c->next_directory = now + collector_next_request(c->opt.heartbeat_s, d->next_request);
}

static void directory_arrived(collector *c, const owm_msg_directory *d, double now)
{
    owp_err err;
    owp_err_clear(&err);
    if (c->coordinator_down)
        log_info("coordinator %s: answering again", c->opt.endpoint);
    c->coordinator_down = 0;
    c->retry_s = DIRECTORY_RETRY_S;
    if (store_paths_set_directory(c->paths, d, &err) != OWP_OK)
        log_err("directory: %s", err.msg);
    c->next_directory = now + c->opt.refresh_s;
    if (sharing(c))
        follow_division(c, d, now);
    for (size_t i = 0; i < d->n_nodes; i++)
        if (collector_pulls(d, i))
            follow_entry(c, d->nodes[i]);
    log_debug("directory generation %" PRIu64 ": %zu nodes, %zu collected%s%s", d->generation,
              d->n_nodes, c->n_pullers, d->divided ? " (divided; we are collector " : "",
              d->divided ? d->collector : "");
}

/* A sharing collector whose lease ran out (no directory from the coordinator
 * for LEASE_PERIODS periods) stops pulling: the coordinator gives its nodes
 * to another collector after 2 periods. */
static void check_lease(collector *c, double now)
{
    if (!sharing(c) || !c->divided || !c->n_pullers || now < c->lease_end)
        return;
    if (!c->lease_lapsed)
        log_warn("no directory from coordinator %s for %.1f s (lease %.1f s): stopped pulling "
                 "every node until it answers (it may have given them to another collector)",
                 c->opt.endpoint, now - c->lease_end + COLLECTOR_LEASE_PERIODS * c->opt.heartbeat_s,
                 COLLECTOR_LEASE_PERIODS * c->opt.heartbeat_s);
    c->lease_lapsed = 1;
    drop_every_puller(c, "lease ran out");
}

/* The DirectoryRequest: a sharing collector says its archive, its
 * heartbeat and the nodes it pulls now. */
static owm_msg *directory_request(collector *c, owp_err *err)
{
    owm_msg *req = owm_msg_new(OWM_MSG_DIRECTORY_REQUEST, err);
    if (!req || !sharing(c))
        return req;
    owm_msg_directory_request *q = req->directory_request;
    q->heartbeat = c->opt.heartbeat_s;
    owp_status st = owm_msg_set_string(&q->archive, c->archive, err);
    for (size_t i = 0; st == OWP_OK && i < c->n_pullers; i++)
        st = owm_msg_directory_request_add_pulling(q, puller_node(c->pullers[i]), err);
    if (st != OWP_OK)
        owm_msg_free(&req);
    return req;
}

/* The coordinator client's socket is readable: the directory (or not). */
static int on_client(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    collector *c = arg;
    if (!c->client)
        return 0;
    owp_err err;
    owp_err_clear(&err);
    double now = owp_clock_monotonic();
    owm_msg *rep = owm_coordclient_receive(c->client, NULL, &err);
    if (!rep && err.code == OWP_ERR_TIMEOUT)
        return 0; /* nothing after all */
    if (!c->asking) {
        owm_msg_free(&rep); /* an answer nobody waits for any more */
        return 0;
    }
    c->asking = 0;
    if (rep && rep->kind == OWM_MSG_DIRECTORY)
        directory_arrived(c, rep->directory, now);
    else {
        if (rep)
            owp_err_set(&err, OWP_ERR_PROTO, "answered %s", owm_msg_kind_name(rep->kind));
        directory_failed(c, err.msg, now);
    }
    owm_msg_free(&rep);
    return 0;
}

/* Seconds to wait for an answer: never longer than a sharing collector's
 * heartbeat, whose next request is due by then. */
static double directory_timeout(const collector *c)
{
    double t = DIRECTORY_TIMEOUT_MS / 1000.0;
    return sharing(c) && c->opt.heartbeat_s < t ? c->opt.heartbeat_s : t;
}

/* Ask for the directory when due; give up on an answer that is late. */
static void refresh_directory(collector *c, double now)
{
    check_lease(c, now); /* even while a request is out */
    if (c->asking) {
        if (now - c->asked_at >= directory_timeout(c)) {
            char why[200];
            snprintf(why, sizeof why, "no answer within %.1f s (is the coordinator running "
                     "there, and does its mesh trust this key?)", directory_timeout(c));
            directory_failed(c, why, now);
        }
        return;
    }
    if (now < c->next_directory)
        return;
    owp_err err;
    owp_err_clear(&err);
    if (!c->client && open_client(c) != 0) {
        c->next_directory = now + c->retry_s;
        return;
    }
    owm_msg *req = directory_request(c, &err);
    owp_status st = req ? owm_coordclient_send(c->client, req, &err) : err.code;
    owm_msg_free(&req);
    if (st != OWP_OK) {
        directory_failed(c, err.msg, now);
        return;
    }
    c->asking = 1;
    c->asked_at = now;
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
    refresh_directory(c, now);
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
    if (!c->asking) {
        c->next_directory = 0;
        c->retry_s = DIRECTORY_RETRY_S;
    }
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
    turn(c); /* the directory asked at once */
    daemon_loop_run(c->loop);
}

static void shutdown_collector(collector *c)
{
    close_client(c);
    daemon_loop_destroy(&c->loop);
    for (size_t i = 0; i < c->n_pullers; i++)
        puller_destroy(&c->pullers[i]);
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
    int parsed = parse_options(&c.opt, argc, argv);
    if (parsed != 0)
        return parsed > 0 ? 0 : 1;
    daemon_log_open_opts(PROGNAME, &c.opt.log);
    zsys_handler_set(NULL); /* until the loop installs ours: the default actions */
    owp_err err;
    owp_err_clear(&err);
    if (daemon_privs_resolve(&c.privs, c.opt.user, c.opt.group, &err) != OWP_OK ||
        daemon_service_detach(c.opt.log.to_stderr, &err) != OWP_OK) {
        log_err("%s", err.msg);
        return 1;
    }
    int status = 1;
    if (setup(&c) == 0 && daemon_privs_leave_root(&c.privs, "") == 0) {
        run(&c);
        log_stats(&c);
        log_info("SIGTERM/SIGINT: stopping");
        status = 0;
    }
    shutdown_collector(&c);
    daemon_log_close();
    return status;
}
