/*
 * cmd_export.c - `owmesh export`: the raw records of one path over a period,
 * as CSV on standard output or as one .owp file per stored session (fetched
 * layout, readable by owstats), named like powstream's: START_END.owp with
 * the 32.32 send times of the first and last record as 20-digit decimals.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyst.h"
#include "cli.h"
#include "render.h"
#include "schedule.h"

enum { OPT_CSV = OWMESH_OPT_FIRST_FREE, OPT_OWP };

static void usage(FILE *fp)
{
    fprintf(fp, "usage: owmesh export --mesh FILE [--store DIR] --src NAME --dst NAME\n"
                "                     [--since DUR | --from TIME --to TIME] (--csv | --owp DIR)\n");
}

/* ---- CSV ---- */

typedef struct csv_ctx {
    FILE *fp;
    const char *path;
    uint64_t n;
} csv_ctx;

static int csv_record(const owp_record *r, void *arg)
{
    csv_ctx *c = arg;
    int lost = owp_record_lost(r);
    fprintf(c->fp, "%s,%" PRIu32 ",%" PRIu64 ",%d,%.9g,", c->path, r->seq, r->send_time,
            owp_errest_synchronized(r->send_err), owp_errest_seconds(r->send_err));
    if (lost) {
        fprintf(c->fp, ",,,,1\n");
    } else {
        /* Signed 32.32 difference: a receive clock behind the sender's
         * gives a negative delay, as owstats shows it. */
        double owd = (double)(int64_t)(r->recv_time - r->send_time) / 4294967296.0;
        fprintf(c->fp, "%" PRIu64 ",%d,%.9g,%u,0,%.6f\n", r->recv_time,
                owp_errest_synchronized(r->recv_err), owp_errest_seconds(r->recv_err),
                (unsigned)r->ttl, owd * 1e3);
    }
    c->n++;
    return 0;
}

static int export_csv(owmesh_ctx *ctx, const uint32_t *ids, size_t nids, owp_num64 from,
                      owp_num64 to, uint64_t *count, owp_err *err)
{
    puts("path,seq,send_time,send_sync,send_err,recv_time,recv_sync,recv_err,ttl,lost,delay_ms");
    for (size_t i = 0; i < nids; i++) {
        char label[300] = "";
        for (size_t j = 0; j < ctx->npaths; j++)
            if (ctx->paths[j].id == ids[i])
                snprintf(label, sizeof label, "%s -> %s (%s)", ctx->paths[j].src,
                         ctx->paths[j].dst, ctx->paths[j].params);
        csv_ctx c = {.fp = stdout, .path = NULL};
        /* The label holds spaces and parentheses but no comma or quote
         * unless the params do: quote it through the CSV writer once. */
        char *quoted = NULL;
        size_t qlen = 0;
        FILE *mem = open_memstream(&quoted, &qlen);
        if (!mem)
            return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
        owmesh_csv_field(mem, label);
        fclose(mem);
        c.path = quoted;
        owp_status st = owm_store_export(ctx->store, ids[i], from, to, csv_record, &c, err);
        free(quoted);
        if (st != OWP_OK)
            return 1;
        *count += c.n;
    }
    return 0;
}

/* ---- .owp files ----
 * Records carry no SID, and sessions of one path can overlap in time (owping
 * measures both directions at once; a "to" and a "from" session of the same
 * addresses are one path). A session's records are therefore picked from its
 * time span by its own schedule: for each sequence number, the records whose
 * send time is nearest the time the session's schedule (RFC 4656, seeded by
 * its SID) gives for that number, duplicates included. */

typedef struct record_list {
    owp_record *v;
    size_t n, cap;
    int nomem;
} record_list;

static int collect_record(const owp_record *r, void *arg)
{
    record_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        owp_record *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) {
            l->nomem = 1;
            return 1;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *r;
    return 0;
}

static const owp_record *sort_base;
static int by_seq_time(const void *a, const void *b)
{
    const owp_record *x = &sort_base[*(const size_t *)a], *y = &sort_base[*(const size_t *)b];
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    if (x->send_time != y->send_time)
        return x->send_time < y->send_time ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* The order a receiver writes records in: arrivals at their receive time,
 * lost marks when their loss timeout expires (send time + timeout). owstats
 * reads the file in this order (a lost mark far behind its neighbours is
 * "seen again after it left the loss window"), and it brings back the
 * reordering the store counted. */
static owp_num64 sort_timeout;
static owp_num64 written_at(const owp_record *r)
{
    return owp_record_lost(r) ? r->send_time + sort_timeout : r->recv_time;
}
static int by_arrival(const void *a, const void *b)
{
    const owp_record *x = a, *y = b;
    owp_num64 tx = written_at(x), ty = written_at(y);
    if (tx != ty)
        return tx < ty ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return owp_record_lost(x) - owp_record_lost(y);
}

static owp_num64 distance(owp_num64 a, owp_num64 b) { return a > b ? a - b : b - a; }

/* Mark in keep[] the records of l that belong to session s. */
static owp_status pick_session_records(const owm_store_session *s, const record_list *l,
                                       uint8_t *keep, owp_err *err)
{
    size_t *idx = malloc((l->n ? l->n : 1) * sizeof *idx);
    if (!idx)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < l->n; i++)
        idx[i] = i;
    sort_base = l->v;
    qsort(idx, l->n, sizeof *idx, by_seq_time);
    const owp_request *req = s->request;
    owp_sched *sched = req && req->nslots ? owp_sched_new(s->sid, req->slots, req->nslots, err)
                                          : NULL;
    if (req && req->nslots && !sched) {
        free(idx);
        return err->code;
    }
    for (size_t i = 0; i < l->n;) {
        uint32_t seq = l->v[idx[i]].seq;
        size_t j = i;
        while (j < l->n && l->v[idx[j]].seq == seq)
            j++;
        if (seq < s->next_seqno || !s->next_seqno) {
            /* Candidates [i, j): pick the send time nearest the schedule. */
            owp_num64 due = sched ? s->start + owp_sched_offset(sched, seq) : 0;
            owp_num64 best = l->v[idx[i]].send_time;
            for (size_t k = i; sched && k < j; k++)
                if (distance(l->v[idx[k]].send_time, due) < distance(best, due))
                    best = l->v[idx[k]].send_time;
            for (size_t k = i; k < j; k++)
                keep[idx[k]] = l->v[idx[k]].send_time == best;
        }
        i = j;
    }
    owp_sched_destroy(&sched);
    free(idx);
    return OWP_OK;
}

typedef struct session_export {
    owmesh_ctx *ctx;
    const char *dir;
    uint64_t files, records;
    owp_err *err;
    int failed;
} session_export;

static int by_seq(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The store keeps no skip ranges (records inside them are not stored), but
 * owstats needs them to read past a gap: every run of sequence numbers with
 * no record at all (neither arrival nor lost mark) before the last stored
 * one was skipped by the sender. */
static owp_status skip_ranges(const owp_record *v, size_t n, owp_skip **out, uint32_t *nout,
                              owp_err *err)
{
    *out = NULL;
    *nout = 0;
    if (!n)
        return OWP_OK;
    uint32_t *seqs = malloc(n * sizeof *seqs);
    owp_skip *skips = malloc((n + 1) * sizeof *skips);
    if (!seqs || !skips) {
        free(seqs);
        free(skips);
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        seqs[i] = v[i].seq;
    qsort(seqs, n, sizeof *seqs, by_seq);
    uint32_t expect = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        if (seqs[i] > expect)
            skips[count++] = (owp_skip){.first = expect, .last = seqs[i] - 1};
        if (seqs[i] >= expect)
            expect = seqs[i] + 1;
    }
    free(seqs);
    *out = skips;
    *nout = count;
    return OWP_OK;
}

static owp_status write_owp(const owm_store_session *s, record_list *l, const uint8_t *keep,
                            const char *name, uint64_t *written, owp_err *err)
{
    uint64_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (keep[i])
            l->v[n++] = l->v[i]; /* compact: keep[] is not needed after this */
    sort_timeout = s->request ? s->request->timeout : 0;
    qsort(l->v, n, sizeof *l->v, by_arrival);
    if (n > UINT32_MAX)
        return owp_err_set(err, OWP_ERR_INVALID, "%s: %llu records: too many for a .owp file",
                           name, (unsigned long long)n);
    owp_skip *skips = NULL;
    uint32_t nskips = 0;
    owp_status st = skip_ranges(l->v, (size_t)n, &skips, &nskips, err);
    if (st != OWP_OK)
        return st;
    FILE *fp = fopen(name, "wb");
    if (!fp) {
        free(skips);
        return owp_err_sys(err, "%s", name);
    }
    st = owp_file_write_fetched_header(fp, s->request, s->finished, s->next_seqno, skips, nskips,
                                       (uint32_t)n, err);
    free(skips);
    for (size_t i = 0; st == OWP_OK && i < n; i++) {
        uint8_t buf[OWP_RECORD_LEN];
        owp_record_encode(&l->v[i], buf);
        if (fwrite(buf, 1, sizeof buf, fp) != sizeof buf)
            st = owp_err_sys(err, "%s: write", name);
    }
    if (fclose(fp) != 0 && st == OWP_OK)
        st = owp_err_sys(err, "%s: close", name);
    if (st != OWP_OK)
        remove(name);
    *written = n;
    return st;
}

static int write_session(const owm_store_session *s, void *arg)
{
    session_export *e = arg;
    record_list l = {0};
    uint8_t *keep = NULL;
    char name[4096];
    snprintf(name, sizeof name, "%s/%020" PRIu64 "_%020" PRIu64 ".owp", e->dir, s->first, s->last);
    owp_status st = owm_store_export(e->ctx->store, s->path_id, s->first, s->last + 1,
                                     collect_record, &l, e->err);
    if (st == OWP_OK && l.nomem)
        st = owp_err_set(e->err, OWP_ERR_NOMEM, "out of memory");
    if (st == OWP_OK && !(keep = calloc(l.n ? l.n : 1, 1)))
        st = owp_err_set(e->err, OWP_ERR_NOMEM, "out of memory");
    if (st == OWP_OK)
        st = pick_session_records(s, &l, keep, e->err);
    uint64_t written = 0;
    if (st == OWP_OK)
        st = write_owp(s, &l, keep, name, &written, e->err);
    free(keep);
    free(l.v);
    if (st != OWP_OK) {
        e->failed = 1;
        return 1;
    }
    printf("%s\n", name);
    e->files++;
    e->records += written;
    return 0;
}

static int export_owp(owmesh_ctx *ctx, const uint32_t *ids, size_t nids, const char *dir,
                      owp_num64 from, owp_num64 to, uint64_t *count, owp_err *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        owp_err_sys(err, "%s", dir);
        return 1;
    }
    session_export e = {.ctx = ctx, .dir = dir, .err = err};
    for (size_t i = 0; i < nids && !e.failed; i++)
        if (owm_store_sessions(ctx->store, ids[i], from, to, write_session, &e, err) != OWP_OK)
            return 1;
    *count = e.records;
    return e.failed;
}

int owmesh_cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {OWMESH_COMMON_LONGOPTS,
                                             {"csv", no_argument, NULL, OPT_CSV},
                                             {"owp", required_argument, NULL, OPT_OWP},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    owmesh_common common;
    owmesh_common_init(&common);
    const char *owp_dir = NULL;
    int csv = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (owmesh_common_opt(&common, c, optarg))
            continue;
        if (c == OPT_CSV)
            csv = 1;
        else if (c == OPT_OWP)
            owp_dir = optarg;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc || csv == !!owp_dir || !common.src || !common.dst || common.node ||
        common.group) {
        owmesh_error("export: give --src and --dst, and one of --csv or --owp DIR");
        usage(stderr);
        return 1;
    }
    owp_err err = {0};
    owp_num64 now, from, to;
    owmesh_ctx ctx = {0};
    uint32_t *ids = NULL;
    size_t nids = 0;
    char label[300];
    if (owmesh_common_period(&common, 3600, &now, &from, &to, &err) != OWP_OK ||
        owmesh_ctx_open(&ctx, &common, 0, &err) != OWP_OK ||
        owmesh_ctx_select(&ctx, &common, &ids, &nids, label, sizeof label, &err) != OWP_OK) {
        owmesh_error("%s", err.msg);
        owmesh_ctx_close(&ctx);
        return 1;
    }
    uint64_t count = 0;
    int rc = csv ? export_csv(&ctx, ids, nids, from, to, &count, &err)
                 : export_owp(&ctx, ids, nids, owp_dir, from, to, &count, &err);
    if (rc) {
        owmesh_error("export: %s", err.msg);
    } else if (!count) {
        char a[48], b[48];
        owmesh_format_iso(from, a, sizeof a);
        owmesh_format_iso(to, b, sizeof b);
        owmesh_error("no records of %s from %s to %s (the period is empty)", label, a, b);
        rc = 1;
    }
    free(ids);
    owmesh_ctx_close(&ctx);
    return rc;
}
