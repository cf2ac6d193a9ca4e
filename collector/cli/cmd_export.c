/*
 * cmd_export.c - `owmesh export`: the raw records of the selected paths over
 * a period, as CSV on standard output or as one .owp file per stored session
 * (fetched layout, readable by owstats), named like powstream's:
 * START_END.owp with the 32.32 send times of the first and last record as
 * 20-digit decimals; beside them one START_END.unm file (mesh/unmeasured.h)
 * per unmeasured interval. One path's files go into DIR itself; with several
 * paths each path gets a subdirectory SRC_DST_PARAMS (so that two directions
 * measured at once never share a file name).
 *
 * An export directory is an archive `owmesh import DIR` reads back onto the
 * same paths with no --src/--dst: each .owp file's Request-Session names the
 * path's nodes by their mesh addresses (the store keeps the addresses the
 * file arrived with, which may be NAT'ed or renumbered), and each .unm file
 * names its path by the mesh stream's id, else by "path:SRC>DST".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyst.h"
#include "cli.h"
#include "store_paths.h"
#include "grow.h"
#include "render.h"
#include "sendsched.h"
#include "unmeasured.h"

enum { OPT_CSV = OWMESH_OPT_FIRST_FREE, OPT_OWP };

static void usage(FILE *fp)
{
    fprintf(fp, "usage: owmesh export --mesh FILE [--store DIR|URL] [--src NAME] [--dst NAME] [--node NAME]\n"
                "                     [--group NAME] [--since DUR | --from TIME --to TIME]\n"
                "                     (--csv | --owp DIR)\n"
                "  --owp DIR  one .owp file per session and one .unm file per unmeasured\n"
                "             interval; `owmesh import DIR` reads them back onto the same paths\n");
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
        owp_status st = store_export(ctx->store, ids[i], from, to, csv_record, &c, err);
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
    if (owp_grow(&l->v, l->n, &l->cap, sizeof *l->v, 256) != 0) {
        l->nomem = 1;
        return 1;
    }
    l->v[l->n++] = *r;
    return 0;
}

/* qsort_r order of indexes into the records (arg): by seq, then send time. */
static int by_seq_time(const void *a, const void *b, void *arg)
{
    const owp_record *base = arg;
    const owp_record *x = &base[*(const size_t *)a], *y = &base[*(const size_t *)b];
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
static owp_num64 written_at(const owp_record *r, owp_num64 timeout)
{
    return owp_record_lost(r) ? r->send_time + timeout : r->recv_time;
}
/* qsort_r order of records; arg: the session's loss timeout (owp_num64). */
static int by_arrival(const void *a, const void *b, void *arg)
{
    const owp_record *x = a, *y = b;
    owp_num64 timeout = *(const owp_num64 *)arg;
    owp_num64 tx = written_at(x, timeout), ty = written_at(y, timeout);
    if (tx != ty)
        return tx < ty ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return owp_record_lost(x) - owp_record_lost(y);
}

static owp_num64 distance(owp_num64 a, owp_num64 b) { return a > b ? a - b : b - a; }

/* Mark in keep[] the records of l that belong to session s. */
static owp_status pick_session_records(const store_session *s, const record_list *l,
                                       uint8_t *keep, owp_err *err)
{
    size_t *idx = malloc((l->n ? l->n : 1) * sizeof *idx);
    if (!idx)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < l->n; i++)
        idx[i] = i;
    qsort_r(idx, l->n, sizeof *idx, by_seq_time, l->v);
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
    const owmesh_path *path; /* the path being exported */
    char dir[4096];          /* where its files go */
    uint64_t files, records, intervals;
    owp_err *err;
    int failed;
} session_export;

/* ---- the path's addresses ---- */

/* A path end's address: its mesh node's OWAMP host, else the name itself
 * when it is an address (the collector names a sender no node has so). */
static int end_address(const owm_mesh *mesh, const char *name, uint8_t *ipvn, uint8_t addr[16])
{
    const owm_node *n = owm_mesh_node_find(mesh, name);
    const char *host = n ? n->host : name;
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, host, addr) == 1)
        *ipvn = 4;
    else if (inet_pton(AF_INET6, host, addr) == 1)
        *ipvn = 6;
    else
        return 0;
    return 1;
}

/* The stored request with the path's addresses in place of the ones the file
 * arrived with, so that `owmesh import` maps the file back to this path.
 * Unchanged when an end has no address (a node named by DNS name) or the two
 * ends differ in family (one Request-Session holds one). Slots are shared
 * with the stored request, not copied. */
static owp_request addressed_request(const owm_mesh *mesh, const owmesh_path *p,
                                     const owp_request *stored)
{
    owp_request req = *stored;
    uint8_t sv = 0, rv = 0, sa[16], ra[16];
    if (end_address(mesh, p->src, &sv, sa) && end_address(mesh, p->dst, &rv, ra) && sv == rv) {
        req.ipvn = sv;
        memcpy(req.sender_addr, sa, 16);
        memcpy(req.receiver_addr, ra, 16);
    }
    return req;
}

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

/* Close a file written with status st; on any failure remove it, so that a
 * half-written file never looks like an exported one. */
static owp_status finish_file(FILE *fp, const char *name, owp_status st, owp_err *err)
{
    if (fclose(fp) != 0 && st == OWP_OK)
        st = owp_err_sys(err, "%s: close", name);
    if (st != OWP_OK)
        remove(name);
    return st;
}

static owp_status write_owp(const store_session *s, const owp_request *req, record_list *l,
                            const uint8_t *keep, const char *name, uint64_t *written,
                            owp_err *err)
{
    uint64_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (keep[i])
            l->v[n++] = l->v[i]; /* compact: keep[] is not needed after this */
    owp_num64 timeout = req ? req->timeout : 0;
    qsort_r(l->v, n, sizeof *l->v, by_arrival, &timeout);
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
    st = owp_file_write_fetched_header(fp, req, s->finished, s->next_seqno, skips, nskips,
                                       (uint32_t)n, err);
    free(skips);
    for (size_t i = 0; st == OWP_OK && i < n; i++) {
        uint8_t buf[OWP_RECORD_LEN];
        owp_record_encode(&l->v[i], buf);
        if (fwrite(buf, 1, sizeof buf, fp) != sizeof buf)
            st = owp_err_sys(err, "%s: write", name);
    }
    *written = n;
    return finish_file(fp, name, st, err);
}

static int write_session(const store_session *s, void *arg)
{
    session_export *e = arg;
    record_list l = {0};
    uint8_t *keep = NULL;
    char name[4200];
    snprintf(name, sizeof name, "%s/%020" PRIu64 "_%020" PRIu64 ".owp", e->dir, s->first, s->last);
    owp_request req;
    if (s->request)
        req = addressed_request(e->ctx->mesh, e->path, s->request);
    owp_status st = store_export(e->ctx->store, s->path_id, s->first, s->last + 1,
                                     collect_record, &l, e->err);
    if (st == OWP_OK && l.nomem)
        st = owp_err_set(e->err, OWP_ERR_NOMEM, "out of memory");
    if (st == OWP_OK && !(keep = calloc(l.n ? l.n : 1, 1)))
        st = owp_err_set(e->err, OWP_ERR_NOMEM, "out of memory");
    if (st == OWP_OK)
        st = pick_session_records(s, &l, keep, e->err);
    uint64_t written = 0;
    if (st == OWP_OK)
        st = write_owp(s, s->request ? &req : NULL, &l, keep, name, &written, e->err);
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

/* ---- unmeasured intervals (.unm files) ---- */

/* The stream id a .unm file names its path by: the mesh stream's (the id
 * the node agent writes, so import resolves it as a collected interval),
 * else "path:SRC>DST", which `owmesh import` reads back as those names. */
static void path_stream_id(const owm_mesh *mesh, const owmesh_path *p, char *buf, size_t len)
{
    const owm_stream *s = owm_mesh_streams(mesh);
    for (size_t i = 0; i < owm_mesh_stream_count(mesh); i++)
        if (!strcmp(s[i].src->name, p->src) && !strcmp(s[i].dst->name, p->dst) &&
            !strcmp(s[i].test, p->params)) {
            snprintf(buf, len, "%s", s[i].id);
            return;
        }
    snprintf(buf, len, "path:%s>%s", p->src, p->dst);
}

/* The source's OWAMP server, as the agent writes it ("" when unknown). */
static void path_sender(const owm_mesh *mesh, const owmesh_path *p, char *buf, size_t len)
{
    const owm_node *n = owm_mesh_node_find(mesh, p->src);
    uint8_t ipvn, addr[16];
    if (n)
        owm_node_format_server(n, buf, len);
    else
        snprintf(buf, len, "%s", end_address(mesh, p->src, &ipvn, addr) ? p->src : "");
}

static owp_status write_text(const char *name, const char *text, size_t len, owp_err *err)
{
    FILE *fp = fopen(name, "wb");
    if (!fp)
        return owp_err_sys(err, "%s", name);
    owp_status st = fwrite(text, 1, len, fp) == len ? OWP_OK : owp_err_sys(err, "%s: write", name);
    return finish_file(fp, name, st, err);
}

static int write_interval(const store_unmeasured *u, void *arg)
{
    session_export *e = arg;
    owm_unmeasured m = {.start = u->start, .end = u->end,
                        .reason = owm_unmeasured_reason_parse(u->reason)};
    path_stream_id(e->ctx->mesh, e->path, m.stream_id, sizeof m.stream_id);
    path_sender(e->ctx->mesh, e->path, m.sender, sizeof m.sender);
    snprintf(m.detail, sizeof m.detail, "%s", u->detail ? u->detail : "");
    char text[OWM_UNMEASURED_MAX_FILE + 1], name[4200];
    int n = owm_unmeasured_format(&m, text, sizeof text);
    snprintf(name, sizeof name, "%s/%020" PRIu64 "_%020" PRIu64 ".unm", e->dir, u->start, u->end);
    owp_status st = n < 0 ? owp_err_set(e->err, OWP_ERR_INVALID,
                                        "%s: stream id %s: not writable as an unmeasured "
                                        "interval", name, m.stream_id)
                          : write_text(name, text, (size_t)n, e->err);
    if (st != OWP_OK) {
        e->failed = 1;
        return 1;
    }
    printf("%s\n", name);
    e->intervals++;
    return 0;
}

/* ---- directories ---- */

static const owmesh_path *path_of(const owmesh_ctx *ctx, uint32_t id)
{
    for (size_t i = 0; i < ctx->npaths; i++)
        if (ctx->paths[i].id == id)
            return &ctx->paths[i];
    return NULL;
}

/* DIR/SRC_DST_PARAMS, every byte outside [A-Za-z0-9._=-] of the name a '-'. */
static void path_dir(const char *dir, const owmesh_path *p, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/", dir);
    char *name = buf + (n > 0 && (size_t)n < len ? n : 0);
    snprintf(name, len - (size_t)(name - buf), "%s_%s_%s", p->src, p->dst, p->params);
    for (char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("._=-", *c))
            *c = '-';
}

static owp_status make_dir(const char *dir, owp_err *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return owp_err_sys(err, "%s", dir);
    return OWP_OK;
}

static int export_owp(owmesh_ctx *ctx, const uint32_t *ids, size_t nids, const char *dir,
                      owp_num64 from, owp_num64 to, uint64_t *count, owp_err *err)
{
    if (make_dir(dir, err) != OWP_OK)
        return 1;
    session_export e = {.ctx = ctx, .err = err};
    for (size_t i = 0; i < nids && !e.failed; i++) {
        if (!(e.path = path_of(ctx, ids[i]))) {
            owp_err_set(err, OWP_ERR_INVALID, "unknown path id %u", (unsigned)ids[i]);
            return 1;
        }
        if (nids == 1)
            snprintf(e.dir, sizeof e.dir, "%s", dir);
        else
            path_dir(dir, e.path, e.dir, sizeof e.dir);
        if ((nids > 1 && make_dir(e.dir, err) != OWP_OK) ||
            store_sessions(ctx->store, ids[i], from, to, write_session, &e, err) != OWP_OK ||
            (!e.failed && store_unmeasured_list(ctx->store, ids[i], from, to, write_interval,
                                                    &e, err) != OWP_OK))
            return 1;
    }
    /* An interval is data too: an export of unmeasured time alone is not empty. */
    *count = e.records + e.intervals;
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
    if (optind < argc || csv == !!owp_dir) {
        owmesh_error("export: give one of --csv or --owp DIR");
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
