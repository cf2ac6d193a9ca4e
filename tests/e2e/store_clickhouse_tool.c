/*
 * store_clickhouse_tool.c - drives the store API on any location (an LMDB
 * directory or a clickhouse:// URL) and prints what it reads in one fixed
 * format, so tests/e2e/store_clickhouse.sh can compare the two backends
 * line by line, and kill an ingest at a chosen store hook.
 *
 *   TOOL LOCATION import NODE SRC DST FILE...    files after NODE's cursor, one by one
 *   TOOL LOCATION batch NODE SRC DST FILE...     the same in one store_batch
 *   TOOL LOCATION crash N NODE SRC DST FILE...   import, SIGKILL at the Nth hook call
 *   TOOL LOCATION paths                          src dst params newest, sorted
 *   TOOL LOCATION query SRC DST FROM TO EVERY raw|hist|auto   (NTP seconds)
 *   TOOL LOCATION export SRC DST
 *   TOOL LOCATION range SRC DST                  first and last send second + 1
 *   TOOL LOCATION sessions SRC DST
 *   TOOL LOCATION cursor NODE
 *   TOOL LOCATION unm-add NODE SEQ SRC DST START END REASON DETAIL
 *   TOOL LOCATION unm SRC DST
 *   TOOL LOCATION prune NOW KEEP_RAW KEEP_MINUTE   (NTP seconds, seconds)
 * Exit 0, or 1 with the store's message on stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static store_db *store;
static long kill_at;

static void die(const owp_err *err)
{
    fprintf(stderr, "%s\n", err->msg);
    store_close(&store);
    exit(1);
}

static uint32_t path_of(const char *src, const char *dst, int create)
{
    owp_err err = {0};
    uint32_t id = 0;
    owp_status st = create ? store_path_id(store, src, dst, "test", &id, &err)
                           : store_path_find(store, src, dst, "test", &id, &err);
    if (st)
        die(&err);
    if (!id) {
        fprintf(stderr, "no path %s -> %s\n", src, dst);
        exit(1);
    }
    return id;
}

static void kill_hook(const char *point, uint64_t n, void *arg)
{
    (void)n;
    (void)arg;
    if (--kill_at == 0) {
        fprintf(stderr, "killed at %s\n", point);
        raise(SIGKILL);
    }
}

static const char *status_name(store_ingest_status s)
{
    return s == STORE_INGEST_STORED ? "stored" : s == STORE_INGEST_ALREADY ? "already" : "duplicate";
}

static int import(int argc, char **argv, int batch)
{
    const char *node = argv[0];
    uint32_t pid = path_of(argv[1], argv[2], 1);
    owp_err err = {0};
    uint64_t cur;
    if (store_cursor(store, node, &cur, NULL, 0, &err))
        die(&err);
    if (batch && store_batch_begin(store, &err))
        die(&err);
    for (int i = 3; i < argc; i++) {
        uint64_t seq = (uint64_t)(i - 2);
        if (seq <= cur)
            continue;
        FILE *fp = fopen(argv[i], "rb");
        if (!fp) {
            perror(argv[i]);
            return 1;
        }
        store_ingest_result r;
        const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        owp_status st = store_ingest_file(store, node, seq, base, pid, fp, &r, &err);
        fclose(fp);
        if (st) {
            printf("%s: error: %s\n", base, err.msg);
            store_cursor_advance(store, node, seq, base, &err);
            continue;
        }
        printf("%s: %s records %llu ignored %llu sent %llu lost %llu dups %llu reordered %llu\n",
               base, status_name(r.status), (unsigned long long)r.records,
               (unsigned long long)r.ignored, (unsigned long long)r.sent,
               (unsigned long long)r.lost, (unsigned long long)r.dups,
               (unsigned long long)r.reordered);
    }
    if (batch && store_batch_commit(store, &err))
        die(&err);
    return 0;
}

static int print_path(const store_path *p, void *arg)
{
    (void)arg;
    printf("%s %s %s %llu\n", p->src, p->dst, p->params, (unsigned long long)p->newest);
    return 0;
}

static void print_double(const char *name, double v) { printf(" %s %.9g", name, v); }

static int print_row(const store_row *row, void *arg)
{
    (void)arg;
    static const int npct = 7;
    printf("%llu %llu empty %d source %s sent %llu lost %llu dups %llu reord %llu recv %llu",
           (unsigned long long)row->start, (unsigned long long)row->end, row->empty,
           row->source == STORE_SOURCE_RAW ? "raw" : "hist", (unsigned long long)row->sent,
           (unsigned long long)row->lost, (unsigned long long)row->dups,
           (unsigned long long)row->reordered, (unsigned long long)row->received);
    if (row->has_delay) {
        print_double("min", row->min);
        print_double("max", row->max);
        for (int i = 0; i < npct; i++)
            print_double("p", row->percentiles[i]);
        print_double("jitter", row->jitter);
    }
    printf(" pairs %llu", (unsigned long long)row->ipdv_pairs);
    if (row->ipdv_pairs)
        print_double("ipdv", row->ipdv);
    printf(" hops %d %d\n", row->hops_min, row->hops_max);
    return 0;
}

static int query(char **argv)
{
    static const double pcts[] = {0, 25, 50, 90, 95, 99, 100};
    uint32_t pid = path_of(argv[0], argv[1], 0);
    store_query q = {.paths = &pid, .npaths = 1,
                     .from = strtoull(argv[2], NULL, 10) << 32,
                     .to = strtoull(argv[3], NULL, 10) << 32,
                     .every = (uint32_t)strtoul(argv[4], NULL, 10),
                     .percentiles = pcts, .npercentiles = sizeof pcts / sizeof pcts[0]};
    q.source = !strcmp(argv[5], "raw") ? STORE_SOURCE_RAW
               : !strcmp(argv[5], "hist") ? STORE_SOURCE_HIST : STORE_SOURCE_AUTO;
    owp_err err = {0};
    if (store_query_run(store, &q, print_row, NULL, &err))
        die(&err);
    return 0;
}

static int print_record(const owp_record *r, void *arg)
{
    (void)arg;
    printf("%llu %u %llu %u %u %u\n", (unsigned long long)r->send_time, r->seq,
           (unsigned long long)r->recv_time, r->send_err, r->recv_err, r->ttl);
    return 0;
}

typedef struct span {
    owp_num64 first, last;
    int any;
} span;

static int widen(const owp_record *r, void *arg)
{
    span *s = arg;
    if (!s->any || r->send_time < s->first)
        s->first = r->send_time;
    if (!s->any || r->send_time > s->last)
        s->last = r->send_time;
    s->any = 1;
    return 0;
}

static int count_record(const owp_record *r, void *arg)
{
    (void)r;
    (*(uint64_t *)arg)++;
    return 0;
}

/* As `owmesh export --owp` does: the session's records, read from inside
 * the sessions callback. */
static int print_session(const store_session *s, void *arg)
{
    (void)arg;
    uint64_t exported = 0;
    owp_err err = {0};
    if (store_export(store, s->path_id, s->first, s->last + 1, count_record, &exported, &err))
        die(&err);
    printf("%llu", (unsigned long long)s->start);
    for (int i = 0; i < OWP_SID_LEN; i++)
        printf("%s%02x", i ? "" : " ", s->sid[i]);
    printf(" first %llu last %llu sent %llu lost %llu dups %llu reord %llu records %llu "
           "finished %u next %u file %llu %s %s slots %u exported %llu\n",
           (unsigned long long)s->first, (unsigned long long)s->last,
           (unsigned long long)s->sent, (unsigned long long)s->lost,
           (unsigned long long)s->dups, (unsigned long long)s->reordered,
           (unsigned long long)s->records, s->finished, s->next_seqno,
           (unsigned long long)s->file_seq, s->node, s->file_name, s->request->nslots,
           (unsigned long long)exported);
    return 0;
}

static int print_unmeasured(const store_unmeasured *u, void *arg)
{
    (void)arg;
    printf("%llu %llu %s %s\n", (unsigned long long)u->start, (unsigned long long)u->end,
           u->reason, u->detail);
    return 0;
}

static int run(const char *cmd, int argc, char **argv)
{
    owp_err err = {0};
    if (!strcmp(cmd, "import") && argc >= 4)
        return import(argc, argv, 0);
    if (!strcmp(cmd, "batch") && argc >= 4)
        return import(argc, argv, 1);
    if (!strcmp(cmd, "crash") && argc >= 5) {
        kill_at = strtol(argv[0], NULL, 10);
        store_set_hook(store, kill_hook, NULL);
        return import(argc - 1, argv + 1, 0);
    }
    if (!strcmp(cmd, "paths")) {
        if (store_list_paths(store, print_path, NULL, &err))
            die(&err);
        return 0;
    }
    if (!strcmp(cmd, "query") && argc == 6)
        return query(argv);
    if (!strcmp(cmd, "export") && argc == 2) {
        if (store_export(store, path_of(argv[0], argv[1], 0), 0, UINT64_MAX, print_record, NULL,
                         &err))
            die(&err);
        return 0;
    }
    if (!strcmp(cmd, "range") && argc == 2) {
        span s = {0};
        if (store_export(store, path_of(argv[0], argv[1], 0), 0, UINT64_MAX, widen, &s, &err))
            die(&err);
        printf("%llu %llu\n", (unsigned long long)(s.first >> 32),
               (unsigned long long)(s.last >> 32) + 1);
        return 0;
    }
    if (!strcmp(cmd, "sessions") && argc == 2) {
        if (store_sessions(store, path_of(argv[0], argv[1], 0), 0, UINT64_MAX, print_session,
                           NULL, &err))
            die(&err);
        return 0;
    }
    if (!strcmp(cmd, "cursor") && argc == 1) {
        uint64_t seq;
        char name[256];
        if (store_cursor(store, argv[0], &seq, name, sizeof name, &err))
            die(&err);
        printf("%llu %s\n", (unsigned long long)seq, name);
        return 0;
    }
    if (!strcmp(cmd, "unm-add") && argc == 8) {
        store_ingest_result r;
        if (store_ingest_unmeasured(store, argv[0], strtoull(argv[1], NULL, 10), "f.unm",
                                    path_of(argv[2], argv[3], 1),
                                    strtoull(argv[4], NULL, 10) << 32,
                                    strtoull(argv[5], NULL, 10) << 32, argv[6], argv[7], &r, &err))
            die(&err);
        printf("%s\n", status_name(r.status));
        return 0;
    }
    if (!strcmp(cmd, "unm") && argc == 2) {
        if (store_unmeasured_list(store, path_of(argv[0], argv[1], 0), 1, UINT64_MAX,
                                  print_unmeasured, NULL, &err))
            die(&err);
        return 0;
    }
    fprintf(stderr, "store_clickhouse_tool: bad command (see the source's head)\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: store_clickhouse_tool LOCATION COMMAND ARGS...\n");
        return 2;
    }
    const char *cmd = argv[2];
    store_opts opts;
    store_opts_default(&opts);
    opts.readonly = !strcmp(cmd, "paths") || !strcmp(cmd, "query") || !strcmp(cmd, "export") ||
                    !strcmp(cmd, "sessions") || !strcmp(cmd, "unm") || !strcmp(cmd, "cursor") ||
                    !strcmp(cmd, "range");
    if (!strcmp(cmd, "prune") && argc == 6) {
        opts.keep_raw = strtoull(argv[4], NULL, 10);
        opts.keep_minute = strtoull(argv[5], NULL, 10);
    }
    owp_err err = {0};
    if (!(store = store_open(argv[1], &opts, &err)))
        die(&err);
    int rc;
    if (!strcmp(cmd, "prune") && argc == 6) {
        store_prune_result r;
        rc = store_prune(store, strtoull(argv[3], NULL, 10) << 32, &r, &err) ? 1 : 0;
        if (rc)
            die(&err);
        printf("pruned records %llu sessions %llu minutes %llu\n", (unsigned long long)r.records,
               (unsigned long long)r.sessions, (unsigned long long)r.minutes);
    } else {
        rc = run(cmd, argc - 3, argv + 3);
    }
    store_close(&store);
    return rc;
}
