/*
 * store.c - the store interface (store.h): opens the backend a location
 * names (a directory: LMDB; clickhouse://...: ClickHouse) and passes every
 * call to it; the argument checks and defaults both backends share.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"

/* ---- opening ---- */

void store_opts_default(store_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->map_size = STORE_DEFAULT_MAP_SIZE;
    opts->keep_raw = 30ULL * STORE_DAY;
    opts->keep_minute = 90ULL * STORE_DAY;
    opts->keep_hour = 730ULL * STORE_DAY;
    opts->keep_day = 730ULL * STORE_DAY;
}

int store_location_is_url(const char *location)
{
    return location && strstr(location, "://") != NULL;
}

const char *store_location_shown(const char *location, char *buf, size_t len)
{
    const char *scheme_end = location ? strstr(location, "://") : NULL;
    snprintf(buf, len, "%s", location ? location : "");
    if (!scheme_end)
        return buf;
    const char *auth = scheme_end + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', auth_len);
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon)
        snprintf(buf, len, "%.*s:***%s", (int)(colon - location), location, at);
    return buf;
}

store_db *store_open(const char *location, const store_opts *opts, owp_err *err)
{
    if (!location || !*location) {
        owp_err_set(err, OWP_ERR_INVALID, "store: no directory or URL given");
        return NULL;
    }
    if (!store_location_is_url(location))
        return store_lmdb_open(location, opts, err);
    if (!strncmp(location, "clickhouse://", 13) || !strncmp(location, "clickhouses://", 14))
        return store_ch_open(location, opts, err);
    owp_err_set(err, OWP_ERR_INVALID,
                "store %s: unknown kind of store (a directory, or clickhouse://HOST:PORT/DATABASE)",
                location);
    return NULL;
}

void store_close(store_db **self_p)
{
    if (!self_p || !*self_p)
        return;
    (*self_p)->ops->close(*self_p);
    *self_p = NULL;
}

const char *store_backend_name(const store_db *self) { return self->ops->name; }

owp_status store_sync(store_db *self, owp_err *err) { return self->ops->sync(self, err); }

int store_full(const store_db *self) { return self->ops->full(self); }

void store_set_hook(store_db *self, store_hook_fn hook, void *arg)
{
    self->ops->set_hook(self, hook, arg);
}

/* ---- paths ---- */

owp_status store_path_id(store_db *self, const char *src, const char *dst, const char *params,
                         uint32_t *id, owp_err *err)
{
    return self->ops->path_id(self, src, dst, params, id, err);
}

owp_status store_path_find(store_db *self, const char *src, const char *dst, const char *params,
                           uint32_t *id, owp_err *err)
{
    return self->ops->path_find(self, src, dst, params, id, err);
}

owp_status store_list_paths(store_db *self, store_path_fn fn, void *arg, owp_err *err)
{
    return self->ops->list_paths(self, fn, arg, err);
}

owp_status store_path_get(store_db *self, uint32_t id, store_path *path, owp_err *err)
{
    return self->ops->path_get(self, id, path, err);
}

/* ---- ingest ---- */

owp_status store_ingest_file(store_db *self, const char *node, uint64_t file_seq,
                             const char *file_name, uint32_t path_id, FILE *fp,
                             store_ingest_result *result, owp_err *err)
{
    return self->ops->ingest_file(self, node, file_seq, file_name, path_id, fp, result, err);
}

owp_status store_ingest_buffer(store_db *self, const char *node, uint64_t file_seq,
                               const char *file_name, uint32_t path_id, const void *data,
                               size_t len, store_ingest_result *result, owp_err *err)
{
    if (!data || len == 0)
        return owp_err_set(err, OWP_ERR_FORMAT, "store: %s: empty file",
                           file_name ? file_name : "(unnamed)");
    /* fmemopen takes a writable buffer; mode "rb" never writes to it. */
    FILE *fp = fmemopen((void *)(uintptr_t)data, len, "rb");
    if (!fp)
        return owp_err_sys(err, "store: %s", file_name ? file_name : "(unnamed)");
    owp_status st = store_ingest_file(self, node, file_seq, file_name, path_id, fp, result, err);
    fclose(fp);
    return st;
}

owp_status store_batch_begin(store_db *self, owp_err *err)
{
    return self->ops->batch_begin(self, err);
}

owp_status store_batch_commit(store_db *self, owp_err *err)
{
    return self->ops->batch_commit(self, err);
}

void store_batch_abort(store_db *self) { self->ops->batch_abort(self); }

owp_status store_cursor_advance(store_db *self, const char *node, uint64_t file_seq,
                                const char *file_name, owp_err *err)
{
    return self->ops->cursor_advance(self, node, file_seq, file_name, err);
}

owp_status store_cursor(store_db *self, const char *node, uint64_t *file_seq, char *name,
                        size_t name_len, owp_err *err)
{
    return self->ops->cursor(self, node, file_seq, name, name_len, err);
}

owp_status store_prune(store_db *self, owp_num64 now, store_prune_result *result, owp_err *err)
{
    return self->ops->prune(self, now, result, err);
}

/* ---- queries ---- */

owp_status store_query_run(store_db *self, const store_query *q, store_row_fn fn, void *arg,
                           owp_err *err)
{
    owp_status st = store_query_check(q, err);
    return st ? st : self->ops->query_run(self, q, fn, arg, err);
}

typedef struct one_of_many {
    store_many_row_fn fn;
    void *arg;
    size_t query;
    int stopped;
} one_of_many;

static int row_of_many(const store_row *row, void *arg)
{
    one_of_many *m = arg;
    m->stopped = m->fn(m->query, row, m->arg) != 0;
    return m->stopped;
}

owp_status store_query_many(store_db *self, const store_query *qs, size_t n,
                            store_many_row_fn fn, void *arg, owp_err *err)
{
    for (size_t i = 0; i < n; i++) {
        owp_status st = store_query_check(&qs[i], err);
        if (st)
            return st;
    }
    if (self->ops->query_many)
        return self->ops->query_many(self, qs, n, fn, arg, err);
    for (size_t i = 0; i < n; i++) {
        one_of_many m = {fn, arg, i, 0};
        owp_status st = self->ops->query_run(self, &qs[i], row_of_many, &m, err);
        if (st || m.stopped)
            return st;
    }
    return OWP_OK;
}

owp_status store_export(store_db *self, uint32_t path_id, owp_num64 from, owp_num64 to,
                        store_record_fn fn, void *arg, owp_err *err)
{
    return self->ops->export_records(self, path_id, from, to, fn, arg, err);
}

owp_status store_sessions(store_db *self, uint32_t path_id, owp_num64 from, owp_num64 to,
                          store_session_fn fn, void *arg, owp_err *err)
{
    return self->ops->sessions(self, path_id, from, to, fn, arg, err);
}

/* ---- unmeasured intervals ---- */

owp_status store_ingest_unmeasured(store_db *self, const char *node, uint64_t seq,
                                   const char *name, uint32_t path_id, owp_num64 start,
                                   owp_num64 end, const char *reason, const char *detail,
                                   store_ingest_result *res, owp_err *err)
{
    owp_status st = store_check_unmeasured_args(node, seq, name, start, end, reason, err);
    return st ? st
              : self->ops->ingest_unmeasured(self, node, seq, name, path_id, start, end, reason,
                                             detail, res, err);
}

owp_status store_unmeasured_list(store_db *self, uint32_t path_id, owp_num64 from, owp_num64 to,
                                 store_unmeasured_fn fn, void *arg, owp_err *err)
{
    return self->ops->unmeasured_list(self, path_id, from, to, fn, arg, err);
}

/* ---- checks both backends make ---- */

owp_status store_check_path_strings(const char *src, const char *dst, const char *params,
                                    owp_err *err)
{
    if (!src || !dst || !params || !*src || !*dst)
        return owp_err_set(err, OWP_ERR_INVALID, "store: a path needs a source and a destination");
    if (strlen(src) > STORE_PATH_FIELD_MAX || strlen(dst) > STORE_PATH_FIELD_MAX ||
        strlen(params) > STORE_PATH_FIELD_MAX)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "store: path %s -> %s: a field is longer than %d bytes", src, dst,
                           STORE_PATH_FIELD_MAX);
    return OWP_OK;
}

owp_status store_check_node(const char *node, owp_err *err)
{
    if (!node || !*node || strlen(node) > STORE_NODE_NAME_MAX)
        return owp_err_set(err, OWP_ERR_INVALID, "store: node name empty or longer than %d bytes",
                           STORE_NODE_NAME_MAX);
    return OWP_OK;
}

owp_status store_check_ingest_args(const char *node, uint64_t file_seq, const char *file_name,
                                   FILE *fp, owp_err *err)
{
    if (!node || !*node || strlen(node) > STORE_NODE_NAME_MAX)
        return owp_err_set(err, OWP_ERR_INVALID, "store: node name empty or too long");
    if (file_seq == 0)
        return owp_err_set(err, OWP_ERR_INVALID, "store: node %s: file seq 0 (seqs start at 1)",
                           node);
    if (!file_name || !fp)
        return owp_err_set(err, OWP_ERR_INVALID, "store: node %s: no file", node);
    return OWP_OK;
}

static int reason_valid(const char *reason)
{
    size_t n = reason ? strlen(reason) : 0;
    if (n == 0 || n > STORE_REASON_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = reason[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

owp_status store_check_unmeasured_args(const char *node, uint64_t seq, const char *name,
                                       owp_num64 start, owp_num64 end, const char *reason,
                                       owp_err *err)
{
    if (!node || !*node || strlen(node) > STORE_NODE_NAME_MAX)
        return owp_err_set(err, OWP_ERR_INVALID, "store: node name empty or too long");
    if (seq == 0)
        return owp_err_set(err, OWP_ERR_INVALID, "store: node %s: file seq 0 (seqs start at 1)",
                           node);
    if (!name)
        return owp_err_set(err, OWP_ERR_INVALID, "store: node %s: no file name", node);
    if (end <= start)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "store: %s: unmeasured interval ends before it starts", name);
    if (!reason_valid(reason))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "store: %s: reason \"%s\" is not a token of [a-z0-9-], 1 to %u bytes",
                           name, reason ? reason : "", STORE_REASON_MAX);
    return OWP_OK;
}

int store_reserve(void **buf, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap)
        return 0;
    size_t want = *cap ? *cap : 1024;
    while (want < n)
        want *= 2;
    if (want > SIZE_MAX / sz)
        return -1;
    void *p = realloc(*buf, want * sz);
    if (!p)
        return -1;
    *buf = p;
    *cap = want;
    return 0;
}
