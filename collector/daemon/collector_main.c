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
#include "collector_internal.h"


#define PROGNAME "owmesh-collector"
#define DEFAULT_ENDPOINT "tcp://127.0.0.1:8620"
#define DEFAULT_CERT OWMESH_CONFDIR "/keys/collector_secret"
#define DEFAULT_SERVER_KEY OWMESH_CONFDIR "/keys/coordinator"
#define DEFAULT_STORE OWMESH_STATEDIR "/store"
#define DEFAULT_MESH OWMESH_CONFDIR "/mesh.json"
#define STATS_EVERY_S 60.0
#define TURN_MS 100 /* pullers' clocks, the directory, the stats */


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

void collector_on_file(void *arg, const char *node, uint64_t seq, const char *name,
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
int collector_sharing(const collector *c)
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
    if (collector_sharing(c))
        log_info("sharing archive %s: pulling the nodes the coordinator assigns, asking it every "
                 "%.1f s (lease %.1f s)", c->archive, c->opt.heartbeat_s,
                 COLLECTOR_LEASE_PERIODS * c->opt.heartbeat_s);
    return 0;
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
void collector_watch_socket(watched *w)
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
    collector_watch_socket(w);
    return 0;
}

/* Every TURN_MS: the directory when due, every puller's clock, the stats. */
static void turn(collector *c)
{
    double now = owp_clock_monotonic();
    collector_refresh_directory(c, now);
    for (size_t i = 0; i < c->n_pullers; i++)
        puller_tick(c->pullers[i], now);
    if (now >= c->next_stats) {
        if (c->next_stats)
            log_stats(c);
        c->next_stats = now + STATS_EVERY_S;
    }
    for (size_t i = 0; i < c->n_pullers; i++)
        collector_watch_socket(&c->watch[i]);
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
    collector_close_client(c);
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
