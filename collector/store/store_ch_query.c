/*
 * store_ch_query.c - the ClickHouse backend's reads: what the query engine
 * (store_query.c) scans, raw export and session listing.
 *
 * The engine asks for histograms and records many times per query (per row,
 * per path, per level); one HTTP request each would be thousands. So a query
 * runs the engine twice: a first pass with an empty store only records which
 * histogram periods it asks for (they depend on the range and the horizons,
 * never on the data); those are fetched with one request per level and
 * served from memory in the real pass. Raw records are fetched in time
 * windows for all the query's paths at once (the engine walks rows forward
 * in time), sized so that a window holds about a million records.
 *
 * Every read deduplicates in C rather than with FINAL: the rows come ordered
 * by their table's key, and a row whose key equals the previous one's is a
 * copy not merged yet (doc/archive.md has the measurement).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_ch.h"

#define WINDOW_TARGET 1000000u /* raw records per request, about */
#define MAX_RANGES 256         /* per level; beyond, one covering range */

/* ---- histogram rows in memory ---- */

typedef struct hrow {
    uint64_t path;
    uint32_t start;
    uint32_t len;
    size_t off; /* into the level's blob */
} hrow;

typedef struct hlevel {
    hrow *rows; /* sorted by (path, start) */
    size_t n, cap;
    ch_buf blob;
    /* asked in the recording pass: [lo, hi) ranges, seconds */
    uint64_t (*ranges)[2];
    size_t nranges, ranges_cap;
} hlevel;

typedef struct raw_rec {
    uint64_t path;
    owp_record r;
    uint8_t copy, flags;
} raw_rec;

typedef struct ch_scan {
    store_scan scan; /* first: the engine calls back with it */
    store_ch *self;
    const uint64_t *hashes; /* of every path of the queries, each once */
    size_t nhashes;
    owp_num64 to;           /* the latest end of the queries */
    int recording;
    hlevel level[LEVEL_COUNT];
    /* raw records of all the query's paths with send in [wlo, whi) */
    raw_rec *raw;
    size_t nraw, raw_cap;
    owp_num64 wlo, whi;
    int have_window;
    owp_num64 wsize; /* the next window's length */
} ch_scan;

static owp_status malformed(store_ch *self, const char *what, owp_err *err)
{
    return owp_err_set(err, OWP_ERR_FORMAT, "store %s: %s: malformed answer from ClickHouse",
                       self->url.label, what);
}

/* (Ids were checked, and the paths loaded, before the scan began.) */
static uint64_t hash_of(const ch_scan *cs, uint32_t path_id)
{
    return cs->self->paths[path_id - 1].hash;
}

static void paths_in(ch_buf *sql, const ch_scan *cs)
{
    ch_buf_printf(sql, "path IN (");
    for (size_t i = 0; i < cs->nhashes; i++)
        ch_buf_printf(sql, "%s%llu", i ? "," : "", (unsigned long long)cs->hashes[i]);
    ch_buf_printf(sql, ")");
}

/* ---- the recording pass ---- */

static owp_status record_range(hlevel *lv, uint64_t lo, uint64_t hi, owp_err *err)
{
    for (size_t i = 0; i < lv->nranges; i++)
        if (lv->ranges[i][0] <= lo && hi <= lv->ranges[i][1])
            return OWP_OK;
    uint64_t r[2] = {lo, hi};
    if (ch_push((void **)&lv->ranges, &lv->nranges, &lv->ranges_cap, r, sizeof r))
        return owp_err_set(err, OWP_ERR_NOMEM, "query: out of memory");
    return OWP_OK;
}

static int range_cmp(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Sort and merge overlapping or touching ranges; too many become one. */
static void merge_ranges(hlevel *lv)
{
    if (lv->nranges == 0)
        return;
    qsort(lv->ranges, lv->nranges, sizeof lv->ranges[0], range_cmp);
    size_t k = 0;
    for (size_t i = 1; i < lv->nranges; i++) {
        if (lv->ranges[i][0] <= lv->ranges[k][1]) {
            if (lv->ranges[i][1] > lv->ranges[k][1])
                lv->ranges[k][1] = lv->ranges[i][1];
        } else {
            k++;
            lv->ranges[k][0] = lv->ranges[i][0];
            lv->ranges[k][1] = lv->ranges[i][1];
        }
    }
    lv->nranges = k + 1;
    if (lv->nranges > MAX_RANGES) {
        uint64_t hi = 0;
        for (size_t i = 0; i < lv->nranges; i++)
            if (lv->ranges[i][1] > hi)
                hi = lv->ranges[i][1];
        lv->ranges[0][1] = hi;
        lv->nranges = 1;
    }
}

/* ---- fetching the levels: one request for all ---- */

/* One SELECT of a level's rows in the recorded ranges, its columns named
 * alike in every level (level, path, t, third = session or version, hist). */
static void select_level(ch_buf *sql, const ch_scan *cs, int level)
{
    const hlevel *lv = &cs->level[level];
    const char *col = ch_hist_col[level];
    ch_buf_printf(sql, "SELECT toUInt8(%d) AS level, path, %s AS t, %s AS third, hist FROM "
                  "%s.%s WHERE ", level, col, level == LEVEL_MINUTE ? "sess" : "version",
                  cs->self->db, ch_hist_table[level]);
    paths_in(sql, cs);
    ch_buf_printf(sql, " AND (");
    for (size_t i = 0; i < lv->nranges; i++)
        ch_buf_printf(sql, "%s(%s >= %llu AND %s < %llu)", i ? " OR " : "", col,
                      (unsigned long long)lv->ranges[i][0], col,
                      (unsigned long long)lv->ranges[i][1]);
    ch_buf_printf(sql, ")");
}

static owp_status keep_row(hlevel *lv, uint64_t path, uint32_t t, const uint8_t *h, size_t len,
                           owp_err *err)
{
    hrow row = {path, t, (uint32_t)len, lv->blob.len};
    ch_buf_put(&lv->blob, h, len);
    if (lv->blob.oom || ch_push((void **)&lv->rows, &lv->n, &lv->cap, &row, sizeof row))
        return owp_err_set(err, OWP_ERR_NOMEM, "query: out of memory");
    return OWP_OK;
}

/* The histograms the recording pass asked for, in key order: minutes one
 * row per (path, minute, session); hours and days the newest version of each
 * (path, period) first. A row with the previous row's key is a copy not
 * merged yet (minutes), or an older version (hours, days): skipped. */
static owp_status fetch_levels(ch_scan *cs, owp_err *err)
{
    store_ch *self = cs->self;
    int asked = 0;
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT * FROM (");
    for (int l = 0; l < LEVEL_COUNT; l++) {
        merge_ranges(&cs->level[l]);
        if (cs->level[l].nranges == 0)
            continue;
        if (asked++)
            ch_buf_printf(&self->sql, " UNION ALL ");
        select_level(&self->sql, cs, l);
    }
    if (!asked)
        return OWP_OK;
    ch_buf_printf(&self->sql, ") ORDER BY level, path, t, third DESC FORMAT RowBinary");
    owp_status st = ch_exec(self, "query", err);
    if (st)
        return st;
    ch_reader r = ch_reader_of(&self->answer);
    uint64_t prev_path = 0, prev_third = 0;
    uint32_t prev_t = 0;
    int prev_level = -1;
    while (!st && !ch_reader_done(&r)) {
        int level = ch_rd_u8(&r);
        uint64_t path = ch_rd_u64(&r);
        uint32_t t = ch_rd_u32(&r);
        uint64_t third = ch_rd_u64(&r);
        const uint8_t *h;
        size_t len;
        ch_rd_bytes(&r, &h, &len);
        if (r.bad || level >= LEVEL_COUNT) {
            r.bad = 1;
            break;
        }
        int dup = level == prev_level && path == prev_path && t == prev_t &&
                  (level != LEVEL_MINUTE || third == prev_third);
        prev_level = level;
        prev_path = path;
        prev_t = t;
        prev_third = third;
        if (!dup)
            st = keep_row(&cs->level[level], path, t, h, len, err);
    }
    return !st && r.bad ? malformed(self, "query", err) : st;
}

/* ---- the engine's callbacks ---- */

static owp_status scan_hist(store_scan *scan, int level, uint32_t path, uint64_t lo,
                            uint64_t hi, store_hist *acc, owp_err *err)
{
    ch_scan *cs = (ch_scan *)scan;
    hlevel *lv = &cs->level[level];
    if (cs->recording)
        return record_range(lv, lo, hi, err);
    uint64_t hash = hash_of(cs, path);
    size_t a = 0, b = lv->n;
    while (a < b) { /* first row of (hash, start >= lo) */
        size_t m = a + (b - a) / 2;
        const hrow *row = &lv->rows[m];
        if (row->path < hash || (row->path == hash && row->start < lo))
            a = m + 1;
        else
            b = m;
    }
    for (size_t i = a; i < lv->n && lv->rows[i].path == hash && lv->rows[i].start < hi; i++)
        if (store_hist_merge_encoded(acc, lv->blob.data + lv->rows[i].off, lv->rows[i].len))
            return owp_err_set(err, OWP_ERR_FORMAT, "store %s: malformed histogram in %s",
                               cs->self->url.label, ch_hist_table[level]);
    return OWP_OK;
}

/* Fetch the raw records of every query path with send in [lo, hi). */
static owp_status fetch_window(ch_scan *cs, owp_num64 lo, owp_num64 hi, owp_err *err)
{
    store_ch *self = cs->self;
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT path, send, seq, copy, recv, send_err, recv_err, ttl, "
                  "flags FROM %s.records WHERE ", self->db);
    paths_in(&self->sql, cs);
    ch_buf_printf(&self->sql, " AND send >= %llu AND send < %llu ORDER BY path, send, seq, copy "
                  "FORMAT RowBinary", (unsigned long long)lo, (unsigned long long)hi);
    owp_status st = ch_exec(self, "query", err);
    if (st)
        return st;
    cs->nraw = 0;
    ch_reader r = ch_reader_of(&self->answer);
    while (!ch_reader_done(&r)) {
        raw_rec x = {0};
        x.path = ch_rd_u64(&r);
        x.r.send_time = ch_rd_u64(&r);
        x.r.seq = ch_rd_u32(&r);
        x.copy = ch_rd_u8(&r);
        x.r.recv_time = ch_rd_u64(&r);
        x.r.send_err = ch_rd_u16(&r);
        x.r.recv_err = ch_rd_u16(&r);
        x.r.ttl = ch_rd_u8(&r);
        x.flags = ch_rd_u8(&r);
        if (r.bad)
            break;
        if (cs->nraw) {
            const raw_rec *p = &cs->raw[cs->nraw - 1];
            if (p->path == x.path && p->r.send_time == x.r.send_time && p->r.seq == x.r.seq &&
                p->copy == x.copy)
                continue; /* a copy not merged yet */
        }
        if (ch_push((void **)&cs->raw, &cs->nraw, &cs->raw_cap, &x, sizeof x))
            return owp_err_set(err, OWP_ERR_NOMEM, "query: out of memory");
    }
    if (r.bad)
        return malformed(self, "query", err);
    cs->wlo = lo;
    cs->whi = hi;
    cs->have_window = 1;
    /* Aim the next window at about WINDOW_TARGET records. */
    owp_num64 len = hi - lo;
    if (cs->nraw < WINDOW_TARGET / 4 && len < UINT64_MAX / 4)
        cs->wsize = len * 2;
    else if (cs->nraw > WINDOW_TARGET)
        cs->wsize = len / 2 ? len / 2 : 1;
    else
        cs->wsize = len;
    return OWP_OK;
}

static owp_status scan_records(store_scan *scan, uint32_t path, owp_num64 from, owp_num64 to,
                               store_scan_record_fn fn, void *arg, owp_err *err)
{
    ch_scan *cs = (ch_scan *)scan;
    if (cs->recording)
        return OWP_OK;
    if (!cs->have_window || from < cs->wlo || to > cs->whi) {
        owp_num64 hi = to - from < cs->wsize ? from + cs->wsize : to;
        if (hi > cs->to || hi < from)
            hi = cs->to > to ? cs->to : to;
        owp_status st = fetch_window(cs, from, hi, err);
        if (st)
            return st;
    }
    uint64_t hash = hash_of(cs, path);
    size_t a = 0, b = cs->nraw;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        const raw_rec *x = &cs->raw[m];
        if (x->path < hash || (x->path == hash && x->r.send_time < from))
            a = m + 1;
        else
            b = m;
    }
    for (size_t i = a; i < cs->nraw && cs->raw[i].path == hash && cs->raw[i].r.send_time < to;
         i++)
        if (fn(&cs->raw[i].r, cs->raw[i].copy, cs->raw[i].flags, arg))
            break;
    return OWP_OK;
}

static int ignore_row(const store_row *row, void *arg)
{
    (void)row;
    (void)arg;
    return 0;
}

static void scan_free(ch_scan *cs)
{
    for (int l = 0; l < LEVEL_COUNT; l++) {
        free(cs->level[l].rows);
        free(cs->level[l].ranges);
        ch_buf_free(&cs->level[l].blob);
    }
    free(cs->raw);
}

/* The prune horizons, read again when older than HORIZON_TTL seconds: a
 * query needs them, and reading them each time would be a request more per
 * query (a grid makes one query per path). */
#define HORIZON_TTL 10.0

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static owp_status read_horizons(store_ch *self, owp_err *err)
{
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT name, max(value) FROM %s.meta GROUP BY name "
                  "FORMAT RowBinary", self->db);
    owp_status st = ch_exec(self, "query", err);
    if (st)
        return st;
    memset(self->horizon, 0, sizeof self->horizon);
    ch_reader r = ch_reader_of(&self->answer);
    while (!ch_reader_done(&r)) {
        char name[64];
        ch_rd_str(&r, name, sizeof name);
        uint64_t v = ch_rd_u64(&r);
        if (!strcmp(name, META_RAW_HORIZON))
            self->horizon[LEVEL_COUNT] = v;
        for (int l = 0; l < LEVEL_COUNT; l++)
            if (!strcmp(name, ch_meta_hist_horizon[l]))
                self->horizon[l] = v;
    }
    if (r.bad)
        return malformed(self, "query", err);
    self->horizon_at = monotonic_now();
    self->have_horizon = 1;
    return OWP_OK;
}

static owp_status load_horizons(ch_scan *cs, owp_err *err)
{
    store_ch *self = cs->self;
    if (!self->have_horizon || monotonic_now() - self->horizon_at > HORIZON_TTL) {
        owp_status st = read_horizons(self, err);
        if (st)
            return st;
    }
    cs->scan.raw_horizon = self->horizon[LEVEL_COUNT];
    for (int l = 0; l < LEVEL_COUNT; l++)
        cs->scan.hist_horizon[l] = self->horizon[l];
    return OWP_OK;
}

static int hash_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The hashes of every path of the queries, sorted, each once; every id
 * checked (ch_path_hash_of reloads the paths for one it does not know). */
static owp_status union_of_paths(store_ch *self, const store_query *qs, size_t n,
                                 uint64_t **out, size_t *nout, owp_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += qs[i].npaths;
    uint64_t *h = calloc(total ? total : 1, sizeof *h);
    if (!h)
        return owp_err_set(err, OWP_ERR_NOMEM, "query: out of memory");
    size_t k = 0;
    owp_status st = OWP_OK;
    for (size_t i = 0; i < n && !st; i++)
        for (size_t j = 0; j < qs[i].npaths && !st; j++)
            st = ch_path_hash_of(self, qs[i].paths[j], &h[k++], err);
    if (st) {
        free(h);
        return st;
    }
    qsort(h, k, sizeof *h, hash_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || h[u - 1] != h[i])
            h[u++] = h[i];
    *out = h;
    *nout = u;
    return OWP_OK;
}

typedef struct many_row {
    store_many_row_fn fn;
    void *arg;
    size_t query;
    int stopped;
} many_row;

static int row_of_query(const store_row *row, void *arg)
{
    many_row *m = arg;
    m->stopped = m->fn(m->query, row, m->arg) != 0;
    return m->stopped;
}

/* Every query's rows from one prefetch: the recording pass of each query
 * first, one request for the histograms they all asked for, then the real
 * passes (raw windows are shared by all the queries' paths). */
owp_status ch_query_many(store_db *db, const store_query *qs, size_t n, store_many_row_fn fn,
                         void *arg, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    uint64_t *hashes = NULL;
    size_t nhashes = 0;
    owp_status st = union_of_paths(self, qs, n, &hashes, &nhashes, err);
    if (st)
        return st;
    ch_scan cs = {.scan = {.hist = scan_hist, .records = scan_records},
                  .self = self, .hashes = hashes, .nhashes = nhashes, .recording = 1};
    for (size_t i = 0; i < n; i++)
        if (qs[i].to > cs.to)
            cs.to = qs[i].to;
    st = load_horizons(&cs, err);
    for (size_t i = 0; i < n && !st; i++)
        st = store_query_rows(&qs[i], &cs.scan, &self->scratch, ignore_row, NULL, err);
    if (!st)
        st = fetch_levels(&cs, err);
    cs.recording = 0;
    for (size_t i = 0; i < n && !st; i++) {
        many_row m = {fn, arg, i, 0};
        st = store_query_rows(&qs[i], &cs.scan, &self->scratch, row_of_query, &m, err);
        if (m.stopped)
            break;
    }
    scan_free(&cs);
    free(hashes);
    return st;
}

typedef struct single_query {
    store_row_fn fn;
    void *arg;
} single_query;

static int single_row(size_t query, const store_row *row, void *arg)
{
    (void)query;
    const single_query *one = arg;
    return one->fn(row, one->arg);
}

owp_status ch_query_run(store_db *db, const store_query *q, store_row_fn fn, void *arg,
                        owp_err *err)
{
    single_query one = {fn, arg};
    return ch_query_many(db, q, 1, single_row, &one, err);
}

/* ---- export ---- */

#define EXPORT_WINDOW 1000000

owp_status ch_export(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                     store_record_fn fn, void *arg, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    uint64_t path;
    owp_status st = ch_path_hash_of(self, path_id, &path, err);
    /* In windows of EXPORT_WINDOW rows, each starting after the last key seen. */
    owp_num64 last_send = 0;
    uint32_t last_seq = 0;
    uint8_t last_copy = 0;
    int have_last = 0, stop = 0;
    while (!st && !stop) {
        ch_buf_reset(&self->sql);
        ch_buf_printf(&self->sql, "SELECT send, seq, copy, recv, send_err, recv_err, ttl FROM "
                      "%s.records WHERE path = %llu AND send >= %llu AND send < %llu",
                      self->db, (unsigned long long)path, (unsigned long long)from,
                      (unsigned long long)to);
        if (have_last)
            ch_buf_printf(&self->sql, " AND (send > %llu OR (send = %llu AND (seq > %u OR "
                          "(seq = %u AND copy > %u))))", (unsigned long long)last_send,
                          (unsigned long long)last_send, last_seq, last_seq, last_copy);
        ch_buf_printf(&self->sql, " ORDER BY send, seq, copy LIMIT %d FORMAT RowBinary",
                      EXPORT_WINDOW);
        if ((st = ch_exec(self, "export", err)))
            break;
        ch_buf rows_buf = ch_take_answer(self); /* fn may call the store */
        ch_reader r = ch_reader_of(&rows_buf);
        size_t rows = 0;
        while (!stop && !ch_reader_done(&r)) {
            owp_record rec = {0};
            rec.send_time = ch_rd_u64(&r);
            rec.seq = ch_rd_u32(&r);
            uint8_t copy = ch_rd_u8(&r);
            rec.recv_time = ch_rd_u64(&r);
            rec.send_err = ch_rd_u16(&r);
            rec.recv_err = ch_rd_u16(&r);
            rec.ttl = ch_rd_u8(&r);
            if (r.bad)
                break;
            rows++;
            if (have_last && rec.send_time == last_send && rec.seq == last_seq &&
                copy == last_copy)
                continue; /* a copy not merged yet */
            have_last = 1;
            last_send = rec.send_time;
            last_seq = rec.seq;
            last_copy = copy;
            stop = fn(&rec, arg) != 0;
        }
        if (r.bad)
            st = malformed(self, "export", err);
        ch_buf_free(&rows_buf);
        if (rows < EXPORT_WINDOW)
            break;
    }
    return st;
}

/* ---- sessions ---- */

static owp_status decode_request(const uint8_t *b, size_t n, owp_request *req, owp_err *err)
{
    memset(req, 0, sizeof *req);
    if (n < OWP_REQUEST_PREAMBLE_LEN + 4)
        return owp_err_set(err, OWP_ERR_FORMAT, "store: malformed session entry");
    owp_status st = owp_wire_decode_request_preamble(b, req, err);
    if (st)
        return st;
    const uint8_t *p = b + OWP_REQUEST_PREAMBLE_LEN;
    uint32_t nslots = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (nslots > OWP_MAX_SLOTS ||
        n != OWP_REQUEST_PREAMBLE_LEN + 4 + (size_t)nslots * OWP_SLOT_LEN)
        return owp_err_set(err, OWP_ERR_FORMAT, "store: malformed session entry");
    req->nslots = nslots;
    req->slots = nslots ? calloc(nslots, sizeof *req->slots) : NULL;
    if (nslots && !req->slots)
        return owp_err_set(err, OWP_ERR_NOMEM, "store: out of memory");
    for (uint32_t i = 0; i < nslots && !st; i++)
        st = owp_wire_decode_slot(p + 4 + (size_t)i * OWP_SLOT_LEN, &req->slots[i], err);
    return st;
}

owp_status ch_sessions(store_db *db, uint32_t path_id, owp_num64 from, owp_num64 to,
                       store_session_fn fn, void *arg, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    uint64_t path;
    owp_status st = ch_path_hash_of(self, path_id, &path, err);
    if (st)
        return st;
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT start, sid, first_send, last_send, sent, lost, dups, "
                  "reordered, records, finished, next_seqno, file_seq, node, file_name, request "
                  "FROM %s.sessions WHERE path = %llu AND start >= %llu AND start < %llu "
                  "ORDER BY start, sid FORMAT RowBinary", self->db, (unsigned long long)path,
                  (unsigned long long)from, (unsigned long long)to);
    if ((st = ch_exec(self, "sessions", err)))
        return st;
    ch_buf rows = ch_take_answer(self); /* fn may call the store (export does) */
    ch_reader r = ch_reader_of(&rows);
    int have_prev = 0;
    owp_num64 prev_start = 0;
    uint8_t prev_sid[OWP_SID_LEN] = {0};
    while (!st && !ch_reader_done(&r)) {
        store_session s = {.path_id = path_id};
        char node[256], fname[1025];
        const uint8_t *req_bytes;
        size_t req_len;
        s.start = ch_rd_u64(&r);
        ch_rd_fixed(&r, s.sid, OWP_SID_LEN);
        uint64_t *u64s[7] = {&s.first, &s.last, &s.sent, &s.lost, &s.dups, &s.reordered,
                             &s.records};
        for (int i = 0; i < 7; i++)
            *u64s[i] = ch_rd_u64(&r);
        s.finished = ch_rd_u32(&r);
        s.next_seqno = ch_rd_u32(&r);
        s.file_seq = ch_rd_u64(&r);
        ch_rd_str(&r, node, sizeof node);
        ch_rd_str(&r, fname, sizeof fname);
        ch_rd_bytes(&r, &req_bytes, &req_len);
        if (r.bad) {
            st = malformed(self, "sessions", err);
            break;
        }
        /* The previous session again: a copy not merged yet. */
        int dup = have_prev && s.start == prev_start && !memcmp(s.sid, prev_sid, OWP_SID_LEN);
        have_prev = 1;
        prev_start = s.start;
        memcpy(prev_sid, s.sid, OWP_SID_LEN);
        if (dup)
            continue;
        owp_request req;
        st = decode_request(req_bytes, req_len, &req, err);
        s.node = node;
        s.file_name = fname;
        s.request = &req;
        int stop = !st && fn(&s, arg);
        owp_request_clear(&req);
        if (stop)
            break;
    }
    ch_buf_free(&rows);
    return st;
}
