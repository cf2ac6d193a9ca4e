/*
 * store_ch.c - the ClickHouse backend: opening (URL, schema), paths,
 * cursors, retention, batches and the ops table. Ingest is in
 * store_ch_ingest.c, reads in store_ch_query.c, unmeasured intervals in
 * store_ch_unmeasured.c; the schema and its reasons in doc/archive.md.
 */
#include <stdlib.h>
#include <string.h>

#include "store_ch.h"

/* One owp_num64 day: 86400 s in 32.32 fixed point (NTP days are UTC days). */
#define NTP_DAY "371085174374400"

/* The schema, version 1: every table a ReplacingMergeTree keyed so that
 * re-inserting a file's rows collapses them; partitions are whole UTC days
 * (NTP day numbers, no time zone) so retention drops partitions. */
static const char *const schema_sql[] = {
    "CREATE TABLE IF NOT EXISTS %s.meta (name String, value UInt64) "
    "ENGINE = ReplacingMergeTree(value) ORDER BY name",
    "CREATE TABLE IF NOT EXISTS %s.paths (path UInt64, src String, dst String, params String) "
    "ENGINE = ReplacingMergeTree ORDER BY path",
    "CREATE TABLE IF NOT EXISTS %s.records (path UInt64, send UInt64, seq UInt32, copy UInt8, "
    "recv UInt64, send_err UInt16, recv_err UInt16, ttl UInt8, flags UInt8, sess UInt64) "
    "ENGINE = ReplacingMergeTree PARTITION BY intDiv(send, " NTP_DAY ") "
    "ORDER BY (path, send, seq, copy)",
    "CREATE TABLE IF NOT EXISTS %s.sessions (path UInt64, start UInt64, sid FixedString(16), "
    "first_send UInt64, last_send UInt64, sent UInt64, lost UInt64, dups UInt64, "
    "reordered UInt64, records UInt64, finished UInt32, next_seqno UInt32, file_seq UInt64, "
    "node String, file_name String, request String) "
    "ENGINE = ReplacingMergeTree PARTITION BY intDiv(start, " NTP_DAY ") "
    "ORDER BY (path, start, sid)",
    "CREATE TABLE IF NOT EXISTS %s.hist_m (path UInt64, minute UInt32, sess UInt64, hist String) "
    "ENGINE = ReplacingMergeTree PARTITION BY intDiv(minute, 86400) ORDER BY (path, minute, sess)",
    "CREATE TABLE IF NOT EXISTS %s.hist_h (path UInt64, hour UInt32, version UInt64, "
    "hist String) ENGINE = ReplacingMergeTree(version) PARTITION BY intDiv(hour, 2592000) "
    "ORDER BY (path, hour)",
    "CREATE TABLE IF NOT EXISTS %s.hist_d (path UInt64, day UInt32, version UInt64, "
    "hist String) ENGINE = ReplacingMergeTree(version) PARTITION BY intDiv(day, 31536000) "
    "ORDER BY (path, day)",
    "CREATE TABLE IF NOT EXISTS %s.unmeasured (path UInt64, ustart UInt64, uend UInt64, "
    "reason String, detail String) "
    "ENGINE = ReplacingMergeTree PARTITION BY intDiv(ustart, " NTP_DAY ") ORDER BY (path, ustart)",
    "CREATE TABLE IF NOT EXISTS %s.cursors (node String, file_seq UInt64, file_name String) "
    "ENGINE = ReplacingMergeTree(file_seq) ORDER BY node",
};
#define NTABLES (sizeof schema_sql / sizeof schema_sql[0])

/* With a cluster (URL cluster=NAME) each table above is made as NAME_local
 * on this server and NAME is a Distributed table over every shard's
 * NAME_local, sharded by a key that sends every copy of a row to the same
 * shard (so the ReplacingMergeTrees still collapse them): the path for
 * measurements, the node for cursors, the name for meta values. */
static const char *shard_key(const char *table)
{
    if (!strcmp(table, "cursors"))
        return "cityHash64(node)";
    if (!strcmp(table, "meta"))
        return "cityHash64(name)";
    return "path";
}

/* Partition sizes in seconds, for retention: what each table's PARTITION BY divides by. */
typedef struct table_retention {
    const char *table;
    uint64_t partition_secs;
} table_retention;

/* ---- requests ---- */

/* A template with one "%s" for the database (the templates are constants). */
static void put_template(ch_buf *b, const char *tmpl, const char *db)
{
    const char *at = strstr(tmpl, "%s");
    if (!at) {
        ch_buf_put(b, tmpl, strlen(tmpl));
        return;
    }
    ch_buf_put(b, tmpl, (size_t)(at - tmpl));
    ch_buf_put(b, db, strlen(db));
    ch_buf_put(b, at + 2, strlen(at + 2));
}

owp_status ch_exec(store_ch *self, const char *what, owp_err *err)
{
    if (self->sql.oom)
        return owp_err_set(err, OWP_ERR_NOMEM, "store %s: %s: out of memory", self->url.label,
                           what);
    int no_space = 0;
    owp_status st = ch_http_exec(self->http, what, ch_buf_str(&self->sql), &self->answer,
                                 &no_space, err);
    if (no_space)
        self->full = 1;
    return st;
}

owp_status ch_insert(store_ch *self, const char *what, const char *table, const char *cols,
                     const ch_buf *rows, owp_err *err)
{
    if (rows->len == 0 && !rows->oom)
        return OWP_OK;
    char statement[512];
    snprintf(statement, sizeof statement, "INSERT INTO %s.%s %s FORMAT RowBinary", self->db,
             table, cols);
    int no_space = 0;
    owp_status st = ch_http_insert(self->http, what, statement, rows, &no_space, err);
    if (no_space)
        self->full = 1;
    return st;
}

owp_status ch_check_writable(store_ch *self, owp_err *err)
{
    if (self->opts.readonly)
        return owp_err_set(err, OWP_ERR_INVALID, "store %s: opened read-only", self->url.label);
    return OWP_OK;
}

void ch_hook(store_ch *self, const char *point, uint64_t n)
{
    if (self->hook)
        self->hook(point, n, self->hook_arg);
}

int ch_push(void **arr, size_t *n, size_t *cap, const void *item, size_t sz)
{
    if (store_reserve(arr, cap, *n + 1, sz))
        return -1;
    memcpy((uint8_t *)*arr + *n * sz, item, sz);
    (*n)++;
    return 0;
}

static owp_status answer_format_error(store_ch *self, const char *what, owp_err *err)
{
    return owp_err_set(err, OWP_ERR_FORMAT, "store %s: %s: malformed answer from ClickHouse",
                       self->url.label, what);
}

/* ---- meta ---- */

owp_status ch_meta_get(store_ch *self, const char *name, uint64_t *value, owp_err *err)
{
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT max(value) FROM %s.meta WHERE name = ", self->db);
    ch_buf_sql_string(&self->sql, name);
    ch_buf_printf(&self->sql, " FORMAT RowBinary");
    owp_status st = ch_exec(self, "meta", err);
    if (st)
        return st;
    ch_reader r = ch_reader_of(&self->answer);
    *value = r.end > r.p ? ch_rd_u64(&r) : 0;
    return r.bad ? answer_format_error(self, "meta", err) : OWP_OK;
}

/* With a cluster the row goes to this server's own table: the schema
 * version says this shard's tables exist, and a Distributed insert would
 * need every shard's first. Reads (max over the shards) find it either way. */
static owp_status meta_put(store_ch *self, const char *name, uint64_t value, owp_err *err)
{
    ch_buf row = {0};
    ch_buf_bytes(&row, name, strlen(name));
    ch_buf_u64(&row, value);
    owp_status st = ch_insert(self, "meta", self->url.cluster[0] ? "meta_local" : "meta",
                              "(name, value)", &row, err);
    ch_buf_free(&row);
    return st;
}

/* ---- opening: the schema ---- */

static owp_status count_answer(store_ch *self, const char *what, uint64_t *n, owp_err *err)
{
    owp_status st = ch_exec(self, what, err);
    if (st)
        return st;
    ch_reader r = ch_reader_of(&self->answer);
    *n = ch_rd_u64(&r);
    return r.bad ? answer_format_error(self, what, err) : OWP_OK;
}

static owp_status has_meta_table(store_ch *self, int *has, owp_err *err)
{
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT count() FROM system.tables WHERE database = ");
    ch_buf_sql_string(&self->sql, self->url.database);
    ch_buf_printf(&self->sql, " AND name = 'meta' FORMAT RowBinary");
    uint64_t n = 0;
    owp_status st = count_answer(self, "open", &n, err);
    *has = n > 0;
    return st;
}

/* The table a template makes: the word after "%s.". */
static void template_table(const char *tmpl, char *name, size_t len)
{
    const char *at = strstr(tmpl, "%s.");
    size_t n = at ? strcspn(at + 3, " (") : 0;
    snprintf(name, len, "%.*s", (int)n, at ? at + 3 : "");
}

/* One table of the schema: itself, or with a cluster its local table and
 * the Distributed table over them. */
static owp_status create_table(store_ch *self, const char *tmpl, owp_err *err)
{
    ch_buf_reset(&self->sql);
    if (!self->url.cluster[0]) {
        put_template(&self->sql, tmpl, self->db);
        return ch_exec(self, "create table", err);
    }
    char table[64], local[80];
    template_table(tmpl, table, sizeof table);
    snprintf(local, sizeof local, "%s.%s_local ", self->db, table);
    const char *rest = strstr(tmpl, "%s.") + 3 + strlen(table);
    ch_buf_put(&self->sql, tmpl, (size_t)(strstr(tmpl, "%s.") - tmpl));
    ch_buf_printf(&self->sql, "%s%s", local, rest + (*rest == ' '));
    owp_status st = ch_exec(self, "create table", err);
    if (st)
        return st;
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "CREATE TABLE IF NOT EXISTS %s.%s AS %s.%s_local ENGINE = "
                  "Distributed(", self->db, table, self->db, table);
    ch_buf_sql_string(&self->sql, self->url.cluster);
    ch_buf_printf(&self->sql, ", ");
    ch_buf_sql_string(&self->sql, self->url.database);
    ch_buf_printf(&self->sql, ", '%s_local', %s)", table, shard_key(table));
    return ch_exec(self, "create distributed table", err);
}

/* The tables on the server self->http speaks to. */
static owp_status create_schema_here(store_ch *self, owp_err *err)
{
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "CREATE DATABASE IF NOT EXISTS %s", self->db);
    owp_status st = ch_exec(self, "create database", err);
    for (size_t i = 0; i < NTABLES && !st; i++)
        st = create_table(self, schema_sql[i], err);
    /* Last: a version row says every table of that version exists. */
    return st ? st : meta_put(self, "schema_version", CH_SCHEMA_VERSION, err);
}

/* The tables on another shard (HOST:PORT, n bytes at hp), with this URL's
 * user and password. */
static owp_status create_schema_on_shard(store_ch *self, const char *hp, size_t n, owp_err *err)
{
    ch_url shard = self->url;
    owp_status st = store_ch_parse_hostport(hp, n, &shard, self->url.label, err);
    if (st || (!strcmp(shard.host, self->url.host) && shard.port == self->url.port))
        return st;
    char label[sizeof shard.label];
    snprintf(label, sizeof label, "%s://%.*s/%s", shard.https ? "clickhouses" : "clickhouse",
             (int)n, hp, shard.database);
    ch_http_conf conf = {shard.https, shard.host, shard.port, shard.user, shard.password,
                         label, 0};
    ch_http *http = ch_http_new(&conf, err), *mine = self->http;
    if (!http)
        return OWP_ERR_NOMEM;
    self->http = http;
    st = create_schema_here(self, err);
    self->http = mine;
    ch_http_destroy(&http);
    return st;
}

/* A Distributed table answers only once every shard has its local tables:
 * a writer makes them here and on every shard the URL lists (shards=). */
static owp_status create_schema(store_ch *self, owp_err *err)
{
    owp_status st = create_schema_here(self, err);
    for (const char *s = self->url.shards; !st && *s;) {
        size_t k = strcspn(s, ",");
        st = create_schema_on_shard(self, s, k, err);
        s += k + (s[k] == ',');
    }
    return st;
}

static owp_status check_schema(store_ch *self, owp_err *err)
{
    int has = 0;
    uint64_t version = 0;
    owp_status st = has_meta_table(self, &has, err);
    if (!st && has)
        st = ch_meta_get(self, "schema_version", &version, err);
    if (st)
        return st;
    if (version > CH_SCHEMA_VERSION)
        return owp_err_set(err, OWP_ERR_INVALID, "store %s: schema version %llu is newer than "
                           "this program knows (%d): upgrade owmesh", self->url.label,
                           (unsigned long long)version, CH_SCHEMA_VERSION);
    if (self->opts.readonly) {
        if (version == 0)
            return owp_err_set(err, OWP_ERR_INVALID, "store %s: no owmesh store in database %s",
                               self->url.label, self->url.database);
        return OWP_OK;
    }
    /* Creates whatever a store of an older version (or none) lacks. */
    return create_schema(self, err);
}

/* ---- paths ---- */

static void free_paths(store_ch *self)
{
    for (size_t i = 0; i < self->npaths; i++) {
        free(self->paths[i].src);
        free(self->paths[i].dst);
        free(self->paths[i].params);
    }
    free(self->paths);
    self->paths = NULL;
    self->npaths = self->paths_cap = 0;
}

static ch_path *find_hash(store_ch *self, uint64_t hash)
{
    for (size_t i = 0; i < self->npaths; i++)
        if (self->paths[i].hash == hash)
            return &self->paths[i];
    return NULL;
}

static int same_path(const ch_path *p, const char *src, const char *dst, const char *params)
{
    return !strcmp(p->src, src) && !strcmp(p->dst, dst) && !strcmp(p->params, params);
}

static owp_status collision(store_ch *self, const ch_path *p, const char *src, const char *dst,
                            owp_err *err)
{
    return owp_err_set(err, OWP_ERR_FORMAT, "store %s: paths %s -> %s and %s -> %s have the same "
                       "hash %016llx: cannot store both", self->url.label, p->src, p->dst, src,
                       dst, (unsigned long long)p->hash);
}

/* Append a path (strings copied); its id is the new count. */
static owp_status append_path(store_ch *self, uint64_t hash, const char *src, const char *dst,
                              const char *params, owp_err *err)
{
    ch_path p = {hash, strdup(src), strdup(dst), strdup(params)};
    if (!p.src || !p.dst || !p.params ||
        ch_push((void **)&self->paths, &self->npaths, &self->paths_cap, &p, sizeof p)) {
        free(p.src);
        free(p.dst);
        free(p.params);
        return owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", self->url.label);
    }
    return OWP_OK;
}

/* Read the path table; paths not known yet get the next ids, in (src, dst,
 * params) order. */
static owp_status reload_paths(store_ch *self, owp_err *err)
{
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT DISTINCT path, src, dst, params FROM %s.paths "
                  "ORDER BY src, dst, params FORMAT RowBinary", self->db);
    owp_status st = ch_exec(self, "paths", err);
    ch_reader r = ch_reader_of(&self->answer);
    while (!st && !ch_reader_done(&r)) {
        char src[STORE_PATH_FIELD_MAX + 1], dst[STORE_PATH_FIELD_MAX + 1],
            params[STORE_PATH_FIELD_MAX + 1];
        uint64_t hash = ch_rd_u64(&r);
        ch_rd_str(&r, src, sizeof src);
        ch_rd_str(&r, dst, sizeof dst);
        ch_rd_str(&r, params, sizeof params);
        if (r.bad)
            return answer_format_error(self, "paths", err);
        const ch_path *known = find_hash(self, hash);
        if (known && !same_path(known, src, dst, params))
            st = collision(self, known, src, dst, err);
        else if (!known)
            st = append_path(self, hash, src, dst, params, err);
    }
    return st;
}

/* The id of a path, 0 when neither this handle nor the table knows it. */
static owp_status lookup_path(store_ch *self, const char *src, const char *dst,
                              const char *params, uint32_t *id, owp_err *err)
{
    uint64_t hash = store_ch_path_hash(src, dst, params);
    *id = 0;
    for (int pass = 0; pass < 2; pass++) {
        const ch_path *p = find_hash(self, hash);
        if (p) {
            if (!same_path(p, src, dst, params))
                return collision(self, p, src, dst, err);
            *id = (uint32_t)(p - self->paths) + 1;
            return OWP_OK;
        }
        owp_status st = pass == 0 ? reload_paths(self, err) : OWP_OK;
        if (st)
            return st;
    }
    return OWP_OK;
}

static owp_status ch_path_find(store_db *db, const char *src, const char *dst,
                               const char *params, uint32_t *id, owp_err *err)
{
    owp_status st = store_check_path_strings(src, dst, params, err);
    return st ? st : lookup_path(store_ch_of(db), src, dst, params, id, err);
}

static owp_status ch_path_id(store_db *db, const char *src, const char *dst, const char *params,
                             uint32_t *id, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    owp_status st = ch_path_find(db, src, dst, params, id, err);
    if (st || *id)
        return st;
    if ((st = ch_check_writable(self, err)))
        return st;
    if (self->npaths >= UINT32_MAX - 1)
        return owp_err_set(err, OWP_ERR_INVALID, "store %s: too many paths", self->url.label);
    uint64_t hash = store_ch_path_hash(src, dst, params);
    ch_buf row = {0};
    ch_buf_u64(&row, hash);
    ch_buf_bytes(&row, src, strlen(src));
    ch_buf_bytes(&row, dst, strlen(dst));
    ch_buf_bytes(&row, params, strlen(params));
    /* Another collector creating it too inserts the same row: it collapses. */
    st = ch_insert(self, "path create", "paths", "(path, src, dst, params)", &row, err);
    ch_buf_free(&row);
    if (!st)
        st = append_path(self, hash, src, dst, params, err);
    if (!st)
        *id = (uint32_t)self->npaths;
    return st;
}

owp_status ch_path_hash_of(store_ch *self, uint32_t id, uint64_t *hash, owp_err *err)
{
    if (id == 0 || id > self->npaths) {
        owp_status st = reload_paths(self, err);
        if (st)
            return st;
    }
    if (id == 0 || id > self->npaths)
        return owp_err_set(err, OWP_ERR_INVALID, "store: unknown path id %u", id);
    *hash = self->paths[id - 1].hash;
    return OWP_OK;
}

/* Newest data of each path in hashes[0..n): the last stored record (the
 * sessions know it), else the last minute histogram. */
static owp_status newest_of(store_ch *self, const uint64_t *hashes, size_t n, owp_num64 *newest,
                            owp_err *err)
{
    static const char *const from_sql[2] = {
        "SELECT path, max(last_send) FROM %s.sessions WHERE path IN (",
        "SELECT path, toUInt64(max(minute)) * 4294967296 FROM %s.hist_m WHERE path IN ("};
    memset(newest, 0, n * sizeof *newest);
    for (int source = 0; source < 2; source++) {
        ch_buf_reset(&self->sql);
        put_template(&self->sql, from_sql[source], self->db);
        size_t asked = 0;
        for (size_t i = 0; i < n; i++)
            if (!newest[i])
                ch_buf_printf(&self->sql, "%s%llu", asked++ ? "," : "",
                              (unsigned long long)hashes[i]);
        if (!asked)
            return OWP_OK;
        ch_buf_printf(&self->sql, ") GROUP BY path FORMAT RowBinary");
        owp_status st = ch_exec(self, "paths", err);
        if (st)
            return st;
        ch_reader r = ch_reader_of(&self->answer);
        while (!ch_reader_done(&r)) {
            uint64_t hash = ch_rd_u64(&r), t = ch_rd_u64(&r);
            for (size_t i = 0; i < n && !r.bad; i++)
                if (hashes[i] == hash && !newest[i])
                    newest[i] = t;
        }
        if (r.bad)
            return answer_format_error(self, "paths", err);
    }
    return OWP_OK;
}

static owp_status ch_list_paths(store_db *db, store_path_fn fn, void *arg, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    owp_status st = reload_paths(self, err);
    size_t n = self->npaths;
    if (st || n == 0)
        return st;
    uint64_t *hashes = malloc(n * sizeof *hashes);
    owp_num64 *newest = malloc(n * sizeof *newest);
    if (!hashes || !newest)
        st = owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", self->url.label);
    for (size_t i = 0; !st && i < n; i++)
        hashes[i] = self->paths[i].hash;
    if (!st)
        st = newest_of(self, hashes, n, newest, err);
    for (size_t i = 0; !st && i < n; i++) {
        const ch_path *p = &self->paths[i];
        store_path sp = {(uint32_t)i + 1, p->src, p->dst, p->params, newest[i]};
        if (fn(&sp, arg))
            break;
    }
    free(hashes);
    free(newest);
    return st;
}

static owp_status ch_path_get(store_db *db, uint32_t id, store_path *path, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    uint64_t hash;
    owp_status st = ch_path_hash_of(self, id, &hash, err);
    owp_num64 newest = 0;
    if (!st)
        st = newest_of(self, &hash, 1, &newest, err);
    if (st)
        return st;
    const ch_path *p = &self->paths[id - 1];
    size_t a = strlen(p->src) + 1, b = strlen(p->dst) + 1;
    memcpy(self->path_buf, p->src, a);
    memcpy(self->path_buf + a, p->dst, b);
    memcpy(self->path_buf + a + b, p->params, strlen(p->params) + 1);
    *path = (store_path){id, self->path_buf, self->path_buf + a, self->path_buf + a + b, newest};
    return OWP_OK;
}

/* ---- cursors ---- */

owp_status ch_cursor_get(store_ch *self, const char *node, uint64_t *seq, char *name,
                         size_t name_len, owp_err *err)
{
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT max(file_seq), argMax(file_name, file_seq) FROM "
                  "%s.cursors WHERE node = ", self->db);
    ch_buf_sql_string(&self->sql, node);
    ch_buf_printf(&self->sql, " FORMAT RowBinary");
    owp_status st = ch_exec(self, "cursor", err);
    if (st)
        return st;
    ch_reader r = ch_reader_of(&self->answer);
    char stored[1025] = "";
    *seq = 0;
    if (!ch_reader_done(&r)) {
        *seq = ch_rd_u64(&r);
        ch_rd_str(&r, stored, sizeof stored);
    }
    if (r.bad)
        return answer_format_error(self, "cursor", err);
    const ch_pending *p = &self->pend;
    for (size_t i = 0; i < p->ncursors; i++)
        if (!strcmp(p->cursors_seen[i].node, node) && p->cursors_seen[i].seq > *seq) {
            *seq = p->cursors_seen[i].seq;
            snprintf(stored, sizeof stored, "%s", p->cursors_seen[i].name);
        }
    if (name && name_len)
        snprintf(name, name_len, "%s", stored);
    return OWP_OK;
}

owp_status ch_cursor_queue(store_ch *self, const char *node, uint64_t seq, const char *name,
                           owp_err *err)
{
    ch_pending *p = &self->pend;
    size_t nlen = name ? strlen(name) : 0;
    ch_pending_cursor c = {strdup(node), strndup(name ? name : "", 1024), seq};
    if (!c.node || !c.name ||
        ch_push((void **)&p->cursors_seen, &p->ncursors, &p->cursors_cap, &c, sizeof c)) {
        free(c.node);
        free(c.name);
        return owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", self->url.label);
    }
    ch_buf_bytes(&p->cursors, node, strlen(node));
    ch_buf_u64(&p->cursors, seq);
    ch_buf_bytes(&p->cursors, name ? name : "", nlen > 1024 ? 1024 : nlen);
    return OWP_OK;
}

static owp_status ch_cursor(store_db *db, const char *node, uint64_t *file_seq, char *name,
                            size_t name_len, owp_err *err)
{
    owp_status st = store_check_node(node, err);
    return st ? st : ch_cursor_get(store_ch_of(db), node, file_seq, name, name_len, err);
}

static owp_status ch_cursor_advance(store_db *db, const char *node, uint64_t file_seq,
                                    const char *file_name, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    owp_status st = store_check_node(node, err);
    if (!st)
        st = ch_check_writable(self, err);
    uint64_t cur = 0;
    if (!st)
        st = ch_cursor_get(self, node, &cur, NULL, 0, err);
    if (st)
        return st;
    if (file_seq <= cur)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "store: node %s: file %llu is not after the cursor %llu", node,
                           (unsigned long long)file_seq, (unsigned long long)cur);
    st = ch_cursor_queue(self, node, file_seq, file_name, err);
    if (!st && !self->batch_open)
        st = ch_pending_flush(self, err);
    return st;
}

/* ---- pending writes ---- */

void ch_pending_clear(ch_pending *p)
{
    ch_buf_reset(&p->records);
    ch_buf_reset(&p->hist_m);
    ch_buf_reset(&p->sessions);
    ch_buf_reset(&p->unmeasured);
    ch_buf_reset(&p->cursors);
    for (size_t i = 0; i < p->ncursors; i++) {
        free(p->cursors_seen[i].node);
        free(p->cursors_seen[i].name);
    }
    p->ncursors = p->nhours = p->nsess = p->nunm = 0;
    p->nrecords = 0;
}

void ch_pending_free(ch_pending *p)
{
    ch_pending_clear(p);
    ch_buf_free(&p->records);
    ch_buf_free(&p->hist_m);
    ch_buf_free(&p->sessions);
    ch_buf_free(&p->unmeasured);
    ch_buf_free(&p->cursors);
    free(p->hours);
    free(p->sess);
    free(p->unm);
    free(p->cursors_seen);
    memset(p, 0, sizeof *p);
}

owp_status ch_pending_flush(store_ch *self, owp_err *err)
{
    ch_pending *p = &self->pend;
    self->full = 0; /* the verdict of this write */
    owp_status st = ch_insert(self, "records", "records",
                              "(path, send, seq, copy, recv, send_err, recv_err, ttl, flags, sess)",
                              &p->records, err);
    if (!st) {
        ch_hook(self, "histograms", p->nrecords);
        st = ch_insert(self, "histograms", "hist_m", "(path, minute, sess, hist)", &p->hist_m,
                       err);
    }
    if (!st)
        st = ch_rollup(self, err);
    if (!st) {
        ch_hook(self, "session", p->nrecords);
        st = ch_insert(self, "sessions", "sessions",
                       "(path, start, sid, first_send, last_send, sent, lost, dups, reordered, "
                       "records, finished, next_seqno, file_seq, node, file_name, request)",
                       &p->sessions, err);
    }
    if (!st)
        st = ch_insert(self, "unmeasured", "unmeasured",
                       "(path, ustart, uend, reason, detail)", &p->unmeasured, err);
    if (!st) {
        /* Last: the cursor moves only once ClickHouse has everything before it. */
        ch_hook(self, "cursor", p->nrecords);
        st = ch_insert(self, "cursor", "cursors", "(node, file_seq, file_name)", &p->cursors, err);
    }
    ch_pending_clear(p);
    return st;
}

static owp_status ch_batch_begin(store_db *db, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    if (self->batch_open)
        return owp_err_set(err, OWP_ERR_INVALID, "store: a batch is already open");
    owp_status st = ch_check_writable(self, err);
    if (st)
        return st;
    ch_pending_clear(&self->pend);
    self->batch_open = 1;
    self->full = 0;
    return OWP_OK;
}

static owp_status ch_batch_commit(store_db *db, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    if (!self->batch_open)
        return OWP_OK;
    self->batch_open = 0;
    return ch_pending_flush(self, err);
}

static void ch_batch_abort(store_db *db)
{
    store_ch *self = store_ch_of(db);
    self->batch_open = 0;
    ch_pending_clear(&self->pend);
}

/* ---- retention ---- */

static uint64_t cutoff(owp_num64 now, uint64_t keep)
{
    uint64_t now_sec = now >> 32;
    return keep && keep < now_sec ? now_sec - keep : 0;
}

/* Drop the partitions of table that end at or before cut_sec (partitions are
 * psize seconds long); *rows counts their rows (duplicates not yet merged
 * included). */
static owp_status drop_before(store_ch *self, const char *name, uint64_t psize, uint64_t cut_sec,
                              uint64_t *rows, owp_err *err)
{
    /* With a cluster, this server's shard: each collector prunes its own. */
    char table[80];
    snprintf(table, sizeof table, "%s%s", name, self->url.cluster[0] ? "_local" : "");
    ch_buf_reset(&self->sql);
    ch_buf_printf(&self->sql, "SELECT partition, sum(rows) FROM system.parts WHERE database = ");
    ch_buf_sql_string(&self->sql, self->url.database);
    ch_buf_printf(&self->sql, " AND table = '%s' AND active GROUP BY partition FORMAT RowBinary",
                  table);
    owp_status st = ch_exec(self, "prune", err);
    if (st)
        return st;
    /* The answer is overwritten by the drops: keep the partitions to drop. */
    uint64_t *drop = NULL;
    size_t ndrop = 0, cap = 0;
    ch_reader r = ch_reader_of(&self->answer);
    while (!ch_reader_done(&r)) {
        char part[32];
        ch_rd_str(&r, part, sizeof part);
        uint64_t n = ch_rd_u64(&r);
        char *end;
        unsigned long long id = strtoull(part, &end, 10);
        if (r.bad || *end || end == part)
            continue; /* not one of ours */
        if ((id + 1) * psize <= cut_sec) {
            if (ch_push((void **)&drop, &ndrop, &cap, &(uint64_t){id}, sizeof id)) {
                free(drop);
                return owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory",
                                   self->url.label);
            }
            *rows += n;
        }
    }
    for (size_t i = 0; i < ndrop && !st; i++) {
        ch_buf_reset(&self->sql);
        ch_buf_printf(&self->sql, "ALTER TABLE %s.%s DROP PARTITION %llu", self->db, table,
                      (unsigned long long)drop[i]);
        st = ch_exec(self, "prune", err);
    }
    free(drop);
    return st;
}

/* Raise a horizon (never lowers it). */
static owp_status raise_meta(store_ch *self, const char *name, uint64_t value, owp_err *err)
{
    uint64_t old = 0;
    owp_status st = ch_meta_get(self, name, &old, err);
    return st || value <= old ? st : meta_put(self, name, value, err);
}

static owp_status ch_prune(store_db *db, owp_num64 now, store_prune_result *result, owp_err *err)
{
    store_ch *self = store_ch_of(db);
    store_prune_result r = {0};
    owp_status st = ch_check_writable(self, err);
    uint64_t raw_cut = cutoff(now, self->opts.keep_raw);
    if (!st && raw_cut) {
        uint64_t intervals = 0;
        st = drop_before(self, "records", STORE_DAY, raw_cut, &r.records, err);
        if (!st)
            st = drop_before(self, "sessions", STORE_DAY, raw_cut, &r.sessions, err);
        if (!st) /* unmeasured intervals go with the raw records */
            st = drop_before(self, "unmeasured", STORE_DAY, raw_cut, &intervals, err);
        if (!st)
            st = raise_meta(self, META_RAW_HORIZON, raw_cut - raw_cut % STORE_DAY, err);
    }
    static const uint64_t psize[LEVEL_COUNT] = {86400, 2592000, 31536000};
    const uint64_t keep[LEVEL_COUNT] = {self->opts.keep_minute, self->opts.keep_hour,
                                        self->opts.keep_day};
    uint64_t *counts[LEVEL_COUNT] = {&r.minutes, &r.hours, &r.days};
    for (int l = 0; l < LEVEL_COUNT && !st; l++) {
        uint64_t cut = cutoff(now, keep[l]);
        if (cut <= level_secs[l])
            continue;
        st = drop_before(self, ch_hist_table[l], psize[l], cut, counts[l], err);
        /* Periods before the first kept partition are gone: queries widen
         * their edges to the coarser level there, as with LMDB. */
        if (!st)
            st = raise_meta(self, ch_meta_hist_horizon[l], cut - cut % psize[l], err);
    }
    self->have_horizon = 0; /* queries read the new horizons */
    if (!st && result)
        *result = r;
    return st;
}

/* ---- open / close ---- */

static void ch_close(store_db *db)
{
    store_ch *self = store_ch_of(db);
    ch_http_destroy(&self->http);
    ch_pending_free(&self->pend);
    free_paths(self);
    ch_buf_free(&self->sql);
    ch_buf_free(&self->answer);
    free(self->recs);
    free(self->hist);
    free(self->encoded);
    store_query_scratch_free(&self->scratch);
    free(self->db);
    memset(self->url.password, 0, sizeof self->url.password);
    free(self);
}

static owp_status ch_sync(store_db *db, owp_err *err)
{
    (void)db;
    (void)err;
    return OWP_OK; /* an INSERT that returned is on ClickHouse's disk */
}

static int ch_full(const store_db *db) { return ((const store_ch *)db)->full; }

static void ch_set_hook(store_db *db, store_hook_fn hook, void *arg)
{
    store_ch *self = store_ch_of(db);
    self->hook = hook;
    self->hook_arg = arg;
}

static const store_ops store_ch_ops = {
    .name = "clickhouse",
    .close = ch_close,
    .sync = ch_sync,
    .full = ch_full,
    .path_id = ch_path_id,
    .path_find = ch_path_find,
    .list_paths = ch_list_paths,
    .path_get = ch_path_get,
    .ingest_file = ch_ingest_file,
    .batch_begin = ch_batch_begin,
    .batch_commit = ch_batch_commit,
    .batch_abort = ch_batch_abort,
    .cursor_advance = ch_cursor_advance,
    .cursor = ch_cursor,
    .set_hook = ch_set_hook,
    .prune = ch_prune,
    .query_run = ch_query_run,
    .query_many = ch_query_many,
    .export_records = ch_export,
    .sessions = ch_sessions,
    .ingest_unmeasured = ch_ingest_unmeasured,
    .unmeasured_list = ch_unmeasured_list,
};

static owp_status open_connection(store_ch *self, const char *url, owp_err *err)
{
    owp_status st = store_ch_url_parse(url, &self->url, err);
    if (!st && self->url.password_file[0]) {
        st = store_ch_password_file(self->url.password_file, self->url.password,
                                    sizeof self->url.password, err);
        if (st)
            owp_err_prefix(err, "store %s", self->url.label);
    }
    if (st)
        return st;
    size_t n = strlen(self->url.database) + 3;
    if (!(self->db = malloc(n)))
        return owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", self->url.label);
    snprintf(self->db, n, "`%s`", self->url.database);
    ch_http_conf conf = {self->url.https, self->url.host,     self->url.port,
                         self->url.user,  self->url.password, self->url.label, 0};
    self->http = ch_http_new(&conf, err);
    return self->http ? OWP_OK : OWP_ERR_NOMEM;
}

store_db *store_ch_open(const char *url, const store_opts *opts, owp_err *err)
{
    store_ch *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "store: out of memory");
        return NULL;
    }
    self->base.ops = &store_ch_ops;
    if (opts)
        self->opts = *opts;
    else
        store_opts_default(&self->opts);
    owp_status st = open_connection(self, url, err);
    if (!st) {
        self->hist = malloc(sizeof *self->hist);
        self->encoded = malloc(STORE_HIST_MAX_ENCODED);
        if (!self->hist || !self->encoded)
            st = owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", self->url.label);
        else
            store_hist_init(self->hist);
    }
    if (!st)
        st = check_schema(self, err);
    if (!st)
        st = reload_paths(self, err);
    if (st) {
        ch_close(&self->base);
        return NULL;
    }
    return &self->base;
}
