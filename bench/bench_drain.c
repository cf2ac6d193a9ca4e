/*
 * bench_drain.c - how fast a collector drains a node's backlog (issue 6: "a
 * node with 10 000 files waiting is drained at full speed"), and what the
 * node buffers meanwhile.
 *
 *   bench_drain [FILES [RECORDS [WINDOW]]]   default 10000 files of 300
 *                                            records, the puller's default window
 *
 * The node side (agent_spool + agent_data, a CURVE server on 127.0.0.1) runs
 * in its own thread, as it runs in owmesh-node; the collector side (puller
 * into an LMDB store with the collector's default settings) in the main
 * thread, as in owmesh-collector. The files are synthetic powstream sessions
 * (300 packets, 2 % lost, some reordered and duplicated) made before the
 * clock starts. Retention 0: the node deletes each file when it is acked, so
 * an empty spool at the end shows every file went through.
 *
 * The ceiling printed next to the figure is the store's own ingest rate for
 * the same bytes in the same run (no network, no chunking, no acks): the
 * drain is "at full speed" when it comes close to that.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_data.h"
#include "agent_spool.h"
#include "clock.h"
#include "puller.h"
#include "store.h"
#include "synth_owp.h"

#define STREAMS 12     /* a 4-node full mesh: 12 paths */
#define DRAIN_BATCH 64 /* files per commit, as the puller does */
#define T0 ((owp_num64)3900000000u << 32)

typedef struct node_side {
    agent_data *data;
    volatile int stop;
} node_side;

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_drain: %s: %s\n", what, msg);
    exit(1);
}

static char *fresh_dir(void)
{
    const char *base = getenv("TMPDIR");
    char *d = malloc(4096);
    snprintf(d, 4096, "%s/bench_drain.XXXXXX", base && *base ? base : "/tmp");
    if (!d || !mkdtemp(d))
        die("mkdtemp", "cannot create a directory");
    return d;
}

static void stream_name(char *buf, size_t len, uint64_t i)
{
    snprintf(buf, len, "n%" PRIu64 "-to-n%" PRIu64, i % 4, (i / 4 + 1 + i % 4) % 4);
}

/* FILES sessions into the spool, and the same bytes kept for the ceiling. */
static uint64_t fill_spool(agent_spool *spool, const char *dir, uint64_t files, uint32_t records,
                           uint8_t **bufs, size_t *lens)
{
    uint64_t bytes = 0;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/session.tmp", dir);
    for (uint64_t i = 0; i < files; i++) {
        owp_err err = {0};
        owp_num64 start = T0 + (owp_num64)((double)(i / STREAMS) * records * 0.1 * 4294967296.0);
        FILE *fp = synth_owp_file(records, start, 0.1, (uint32_t)i + 1, 1, &err);
        if (!fp || !(bufs[i] = synth_slurp(fp, &lens[i])))
            die("synthetic file", err.msg);
        fclose(fp);
        FILE *out = fopen(tmp, "wb");
        if (!out || fwrite(bufs[i], 1, lens[i], out) != lens[i] || fclose(out) != 0)
            die(tmp, "cannot write");
        char stream[64];
        stream_name(stream, sizeof stream, i);
        if (agent_spool_add(spool, tmp, stream, start, start + ((owp_num64)30 << 32),
                            OWM_FILE_KIND_OWP, NULL, &err) != OWP_OK)
            die("spool", err.msg);
        unlink(tmp);
        bytes += lens[i];
    }
    return bytes;
}

static size_t spool_files_left(const char *spool_dir)
{
    DIR *d = opendir(spool_dir);
    size_t n = 0;
    agent_spool_entry e;
    for (struct dirent *de; d && (de = readdir(d));)
        n += (size_t)agent_spool_parse_name(de->d_name, &e);
    if (d)
        closedir(d);
    return n;
}

static void *node_main(void *arg)
{
    node_side *n = arg;
    while (!n->stop) {
        zmq_pollitem_t items[2] = {
            {zsock_resolve(agent_data_socket(n->data)), 0, ZMQ_POLLIN, 0},
            {zsock_resolve(agent_data_zap(n->data)), 0, ZMQ_POLLIN, 0},
        };
        zmq_poll(items, 2, agent_data_busy(n->data) ? 1 : 50);
        if (items[1].revents & ZMQ_POLLIN)
            agent_data_handle_zap(n->data);
        if (items[0].revents & ZMQ_POLLIN)
            agent_data_handle(n->data);
        agent_data_tick(n->data, owp_clock_monotonic());
    }
    return NULL;
}

static owp_status path_of(void *arg, const char *node, const char *stream_id, const void *data,
                          size_t len, uint32_t *path_id, owp_err *err)
{
    (void)data;
    (void)len;
    return store_path_id(arg, node, stream_id, "bench", path_id, err);
}

static store_db *open_store(const char *dir)
{
    store_opts so;
    store_opts_default(&so);
    so.nometasync = 1; /* as owmesh-collector runs by default */
    owp_err err = {0};
    if (mkdir(dir, 0755) != 0)
        die(dir, "mkdir");
    store_db *st = store_open(dir, &so, &err);
    if (!st)
        die("store", err.msg);
    return st;
}

/* Pull until every file is acked; returns the seconds it took. */
static double drain(puller *p, uint64_t files)
{
    double t0 = owp_clock_monotonic();
    while (puller_get_stats(p)->acked < files) {
        zsock_t *s = puller_socket(p);
        zmq_pollitem_t item = {s ? zsock_resolve(s) : NULL, 0, ZMQ_POLLIN, 0};
        zmq_poll(&item, s ? 1 : 0, 10);
        double now = owp_clock_monotonic();
        if (s && (item.revents & ZMQ_POLLIN))
            puller_handle(p, now);
        puller_tick(p, now);
        if (now - t0 > 600)
            die("drain", "not finished after 10 minutes");
    }
    return owp_clock_monotonic() - t0;
}

/* The store alone on the same bytes, in the puller's batches: the collector's
 * ceiling. */
static double ingest_only(const char *dir, uint8_t **bufs, size_t *lens, uint64_t files)
{
    store_db *st = open_store(dir);
    owp_err err = {0};
    double t0 = owp_clock_monotonic();
    for (uint64_t i = 0; i < files; i++) {
        char stream[64];
        stream_name(stream, sizeof stream, i);
        uint32_t pid;
        store_ingest_result res;
        if ((i % DRAIN_BATCH == 0 && store_batch_begin(st, &err) != OWP_OK) ||
            store_path_id(st, "node", stream, "bench", &pid, &err) != OWP_OK ||
            store_ingest_buffer(st, "node", i + 1, "f.owp", pid, bufs[i], lens[i], &res,
                                    &err) != OWP_OK ||
            ((i % DRAIN_BATCH == DRAIN_BATCH - 1 || i == files - 1) &&
             store_batch_commit(st, &err) != OWP_OK))
            die("ingest", err.msg);
    }
    if (store_sync(st, &err) != OWP_OK)
        die("sync", err.msg);
    double s = owp_clock_monotonic() - t0;
    store_close(&st);
    return s;
}

/* What one disk flush (write 4 KiB + fdatasync) costs here, in ms: the
 * physical limit of any crash-safe store is one of these per commit. */
static double flush_ms(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/flush.probe", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        die(path, "open");
    char block[4096] = {0};
    double t0 = owp_clock_monotonic();
    for (int i = 0; i < 50; i++)
        if (pwrite(fd, block, sizeof block, (off_t)i * 4096) != (ssize_t)sizeof block ||
            fdatasync(fd) != 0)
            die(path, "write");
    double ms = (owp_clock_monotonic() - t0) * 1000 / 50;
    close(fd);
    unlink(path);
    return ms;
}

static void parse_args(int argc, char **argv, uint64_t *files, uint32_t *records,
                       unsigned *window)
{
    *files = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000;
    *records = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 300;
    *window = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 0;
    if (*files == 0 || *files > 1000000 || *records == 0 || *records > 100000 || *window > 16) {
        fprintf(stderr, "usage: bench_drain [FILES (1-1000000) [RECORDS (1-100000) "
                        "[WINDOW (1-16, 0 = default)]]]\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    uint64_t files;
    uint32_t records;
    unsigned window;
    parse_args(argc, argv, &files, &records, &window);
    zsys_init();
    zsys_set_logstream(NULL);
    char *dir = fresh_dir();
    char spool_dir[4200], store_dir[4200], ceiling_dir[4200], endpoint[64];
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", dir);
    snprintf(store_dir, sizeof store_dir, "%s/store", dir);
    snprintf(ceiling_dir, sizeof ceiling_dir, "%s/ceiling", dir);
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", 20000 + (int)(getpid() % 20000));

    owp_err err = {0};
    agent_spool *spool = agent_spool_open(spool_dir, &err);
    if (!spool)
        die("spool", err.msg);
    uint8_t **bufs = calloc(files, sizeof *bufs);
    size_t *lens = calloc(files, sizeof *lens);
    if (!bufs || !lens)
        die("memory", "out of memory");
    uint64_t bytes = fill_spool(spool, dir, files, records, bufs, lens);
    double ceiling_s = ingest_only(ceiling_dir, bufs, lens, files);
    double flush = flush_ms(dir);

    zcert_t *node_cert = zcert_new(), *coll_cert = zcert_new();
    agent_data_config dc = {.node = "bench", .endpoint = endpoint, .cert = node_cert,
                            .keys = {zcert_public_txt(coll_cert)}, .n_keys = 1,
                            .spool = spool, .retention_s = 0};
    node_side node = {.data = agent_data_new(&dc, &err)};
    if (!node.data)
        die("agent_data", err.msg);
    store_db *store = open_store(store_dir);
    puller_config pc = {.node = "bench", .endpoint = endpoint, .cert = coll_cert,
                        .server_key = zcert_public_txt(node_cert), .store = store,
                        .store_nometasync = 1, .path = path_of, .path_arg = store,
                        .window = window};
    puller *p = puller_new(&pc, &err);
    if (!p)
        die("puller", err.msg);
    pthread_t th;
    pthread_create(&th, NULL, node_main, &node);
    double drain_s = drain(p, files);
    /* The node deletes what the last acks name: let it finish. */
    for (int i = 0; i < 1000 && spool_files_left(spool_dir) > 0; i++)
        usleep(10000);
    node.stop = 1;
    pthread_join(th, NULL);

    const puller_stats *ps = puller_get_stats(p);
    double recs = (double)ps->records;
    printf("bench_drain: %" PRIu64 " files of %u records (%.1f MB) waiting on one node, "
           "pulled over CURVE on 127.0.0.1\n", files, records, (double)bytes / 1e6);
    printf("  drained in %.2f s: %.0f files/s, %.0f records/s, %.1f MB/s; %" PRIu64
           " resets, spool left: %zu files\n", drain_s, (double)files / drain_s, recs / drain_s,
           (double)bytes / 1e6 / drain_s, ps->resets, spool_files_left(spool_dir));
    printf("  ceiling (the store alone on the same bytes, %d files a commit): %.2f s, %.0f files/s "
           "-> drain at %.0f %% of it\n", DRAIN_BATCH, ceiling_s, (double)files / ceiling_s,
           100 * ceiling_s / drain_s);
    printf("  a disk flush costs %.2f ms here: one commit per file would cap any crash-safe "
           "collector at %.0f files/s\n", flush, 1000 / flush);
    printf("  flow control: at most %u chunks in flight per file (node buffers at most %u files x "
           "that x %u KiB per collector)\n", ps->max_credit_seen, AGENT_DATA_MAX_FETCHES,
           AGENT_DATA_CHUNK / 1024);

    puller_destroy(&p);
    store_close(&store);
    agent_data_destroy(&node.data);
    agent_spool_destroy(&spool);
    zcert_destroy(&node_cert);
    zcert_destroy(&coll_cert);
    for (uint64_t i = 0; i < files; i++)
        free(bufs[i]);
    free(bufs);
    free(lens);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_drain: could not remove %s\n", dir);
    free(dir);
    return 0;
}
