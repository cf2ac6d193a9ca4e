/*
 * store_lmdb.c - the LMDB backend: its environment, paths, cursors and
 * retention. Ingest is in store_lmdb_ingest.c, reads in store_lmdb_query.c.
 */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store_lmdb.h"


owp_status store_mdb_err(owp_err *err, int rc, const char *what)
{
    if (rc == MDB_MAP_FULL)
        return owp_err_set(err, OWP_ERR_SYS, "store: %s: the map is full (raise map_size): %s",
                           what, mdb_strerror(rc));
    return owp_err_set(err, rc == ENOMEM ? OWP_ERR_NOMEM : OWP_ERR_SYS, "store: %s: %s", what,
                       mdb_strerror(rc));
}

/* Free bytes on the file system holding dir (root may use the reserve);
 * UINT64_MAX when unknown. */
static uint64_t free_bytes(const char *dir)
{
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0)
        return UINT64_MAX;
    uint64_t blocks = geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail;
    return blocks * vfs.f_frsize;
}

#define NEARLY_FULL_BYTES (4ull << 20)

/* Why a write failed for lack of room, in the operator's words; NULL when
 * rc is another failure. LMDB reports a short write as EIO, which is what a
 * full disk does to it: EIO counts when the disk is (nearly) full. */
static const char *room_problem(const store_lmdb *self, int rc)
{
    if (rc == MDB_MAP_FULL)
        return "store map full";
    if (rc == ENOSPC || rc == EDQUOT)
        return "no space left on device";
    if (rc == EFBIG)
        return "file size limit reached (ulimit -f)";
    if (rc == EIO && free_bytes(self->dir) < NEARLY_FULL_BYTES)
        return "no space left on device";
    return NULL;
}

owp_status store_write_err(store_lmdb *self, owp_err *err, int rc, const char *what)
{
    const char *room = room_problem(self, rc);
    if (!room)
        return owp_err_set(err, rc == ENOMEM ? OWP_ERR_NOMEM : OWP_ERR_SYS, "store %s: %s: %s",
                           self->dir, what, mdb_strerror(rc));
    self->full = 1;
    if (rc == MDB_MAP_FULL)
        return owp_err_set(err, OWP_ERR_SYS, "store %s: %s: %s (its map size, %llu KiB, is used "
                           "up): nothing of it was stored; raise the map size (%s) or prune "
                           "older data", self->dir, what, room,
                           (unsigned long long)(self->opts.map_size >> 10), STORE_MAP_SIZE_ENV);
    return owp_err_set(err, OWP_ERR_SYS, "store %s: %s: %s (%s): nothing of it was stored; free "
                       "space on the disk holding %s", self->dir, what, room, mdb_strerror(rc),
                       self->dir);
}

int lmdb_full(const store_db *db)
{
    const store_lmdb *self = store_lmdb_of_const(db);
    return self->full;
}

/* ---- open / close ---- */

/* Added after the first stores were written: a read-only handle on an older
 * store finds no such database, and then has no intervals to read. */
static int open_unmeasured_db(store_lmdb *self, MDB_txn *txn, unsigned create)
{
    int rc = mdb_dbi_open(txn, "unmeasured", create, &self->unmeasured);
    self->has_unmeasured = rc == 0;
    return rc == MDB_NOTFOUND && !create ? 0 : rc;
}

static int open_dbs(store_lmdb *self, unsigned flags)
{
    static const char *const hist_names[LEVEL_COUNT] = {"hist_m", "hist_h", "hist_d"};
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, flags & MDB_RDONLY, &txn);
    if (rc)
        return rc;
    unsigned create = (flags & MDB_RDONLY) ? 0 : MDB_CREATE;
    if (!rc)
        rc = mdb_dbi_open(txn, "paths", create, &self->paths);
    if (!rc)
        rc = mdb_dbi_open(txn, "path_names", create, &self->path_names);
    if (!rc)
        rc = mdb_dbi_open(txn, "records", create, &self->records);
    if (!rc)
        rc = mdb_dbi_open(txn, "sessions", create, &self->sessions);
    for (int l = 0; l < LEVEL_COUNT && !rc; l++)
        rc = mdb_dbi_open(txn, hist_names[l], create, &self->hist[l]);
    if (!rc)
        rc = mdb_dbi_open(txn, "cursors", create, &self->cursors);
    if (!rc)
        rc = mdb_dbi_open(txn, "meta", create, &self->meta);
    if (!rc)
        rc = open_unmeasured_db(self, txn, create);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

static owp_status alloc_scratch(store_lmdb *self, owp_err *err)
{
    self->hists = malloc(LEVEL_COUNT * sizeof *self->hists);
    self->encoded = malloc(STORE_HIST_MAX_ENCODED);
    if (!self->hists || !self->encoded)
        return owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", self->dir);
    for (int i = 0; i < LEVEL_COUNT; i++)
        store_hist_init(&self->hists[i]);
    return OWP_OK;
}

/* The operator's map size (STORE_MAP_SIZE_ENV: bytes, or with a K, M, G or T
 * suffix), when set: the way to grow a full store without a rebuild. */
static owp_status map_size_from_env(uint64_t *map_size, owp_err *err)
{
    const char *text = getenv(STORE_MAP_SIZE_ENV);
    if (!text || !*text)
        return OWP_OK;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : *end == 'T' ? 40 : 0;
    if (shift)
        end++;
    if (errno || end == text || *end || text[0] == '-' || v == 0 || v > (UINT64_MAX >> shift))
        return owp_err_set(err, OWP_ERR_PARSE, "%s=%s: not a size (bytes, or with K, M, G or "
                           "T)", STORE_MAP_SIZE_ENV, text);
    *map_size = (uint64_t)v << shift;
    return OWP_OK;
}

store_db *store_lmdb_open(const char *dir, const store_opts *opts, owp_err *err)
{
    if (!dir || !*dir) {
        owp_err_set(err, OWP_ERR_INVALID, "store: no directory given");
        return NULL;
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        owp_err_sys(err, "store %s", dir);
        return NULL;
    }
    if (!S_ISDIR(st.st_mode)) {
        owp_err_set(err, OWP_ERR_INVALID, "store %s: not a directory", dir);
        return NULL;
    }
    store_lmdb *self = calloc(1, sizeof *self);
    if (!self || !(self->dir = strdup(dir))) {
        free(self);
        owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", dir);
        return NULL;
    }
    self->base.ops = &store_lmdb_ops;
    if (opts)
        self->opts = *opts;
    else
        store_opts_default(&self->opts);
    if (!self->opts.map_size)
        self->opts.map_size = STORE_DEFAULT_MAP_SIZE;
    if (map_size_from_env(&self->opts.map_size, err) != OWP_OK) {
        lmdb_close(&self->base);
        return NULL;
    }

    /* NOTLS: read transactions are not tied to threads (a query may run on
     * any thread of the caller). Never MDB_NOSYNC (see store.h). */
    unsigned flags = MDB_NOTLS;
    if (self->opts.readonly)
        flags |= MDB_RDONLY;
    if (self->opts.nometasync)
        flags |= MDB_NOMETASYNC;
    int rc = mdb_env_create(&self->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(self->env, 16);
    if (!rc)
        rc = mdb_env_set_mapsize(self->env, (size_t)self->opts.map_size);
    if (!rc)
        rc = mdb_env_open(self->env, dir, flags, 0644);
    if (!rc)
        rc = open_dbs(self, flags);
    if (rc) {
        store_mdb_err(err, rc, dir);
        lmdb_close(&self->base);
        return NULL;
    }
    if (alloc_scratch(self, err) != OWP_OK) {
        lmdb_close(&self->base);
        return NULL;
    }
    return &self->base;
}

void lmdb_close(store_db *db)
{
    store_lmdb *self = store_lmdb_of(db);
    lmdb_batch_abort(db);
    if (self->env)
        mdb_env_close(self->env);
    free(self->recs);
    store_query_scratch_free(&self->scratch);
    free(self->hists);
    free(self->encoded);
    free(self->path_buf);
    free(self->dir);
    free(self);
}

owp_status lmdb_sync(store_db *db, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    int rc = mdb_env_sync(self->env, 1);
    return rc ? store_write_err(self, err, rc, "sync") : OWP_OK;
}

void lmdb_set_hook(store_db *db, store_hook_fn hook, void *arg)
{
    store_lmdb *self = store_lmdb_of(db);
    self->hook = hook;
    self->hook_arg = arg;
}

/* ---- meta ---- */

uint64_t store_meta_get(store_lmdb *self, MDB_txn *txn, const char *name)
{
    MDB_val k = store_val(name, strlen(name)), v;
    if (mdb_get(txn, self->meta, &k, &v) || v.mv_size != 8)
        return 0;
    return be64_get(v.mv_data);
}

int store_meta_put(store_lmdb *self, MDB_txn *txn, const char *name, uint64_t value)
{
    uint8_t buf[8];
    be64_put(buf, value);
    MDB_val k = store_val(name, strlen(name)), v = {8, buf};
    return mdb_put(txn, self->meta, &k, &v, 0);
}

/* ---- paths ---- */

/* "src\0dst\0params\0" into buf (3 * 256 bytes); returns its length. */
static size_t path_name(char *buf, const char *src, const char *dst, const char *params)
{
    size_t n = 0;
    const char *parts[3] = {src, dst, params};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(parts[i]) + 1;
        memcpy(buf + n, parts[i], len);
        n += len;
    }
    return n;
}

static int find_path(store_lmdb *self, MDB_txn *txn, const char *name, size_t len, uint32_t *id)
{
    MDB_val k = store_val(name, len), v;
    int rc = mdb_get(txn, self->path_names, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *id = 0;
        return 0;
    }
    if (!rc)
        *id = v.mv_size == 4 ? be32_get(v.mv_data) : 0;
    return rc;
}

owp_status lmdb_path_find(store_db *db, const char *src, const char *dst,
                               const char *params, uint32_t *id, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    char name[3 * (STORE_PATH_FIELD_MAX + 1)];
    owp_status st = store_check_path_strings(src, dst, params, err);
    if (st)
        return st;
    size_t len = path_name(name, src, dst, params);
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (!rc) {
        rc = find_path(self, txn, name, len, id);
        mdb_txn_abort(txn);
    }
    return rc ? store_mdb_err(err, rc, "path lookup") : OWP_OK;
}

static int create_path(store_lmdb *self, MDB_txn *txn, const char *name, size_t len, uint32_t *id)
{
    uint64_t next = store_meta_get(self, txn, "next_path_id");
    if (next == 0)
        next = 1;
    if (next > UINT32_MAX)
        return MDB_MAP_FULL;
    uint8_t idbuf[4];
    be32_put(idbuf, (uint32_t)next);
    MDB_val k = store_val(name, len), v = {4, idbuf};
    int rc = mdb_put(txn, self->path_names, &k, &v, MDB_NOOVERWRITE);
    if (!rc) {
        MDB_val ik = {4, idbuf}, iv = store_val(name, len);
        rc = mdb_put(txn, self->paths, &ik, &iv, MDB_APPEND);
    }
    if (!rc)
        rc = store_meta_put(self, txn, "next_path_id", next + 1);
    *id = (uint32_t)next;
    return rc;
}

owp_status lmdb_path_id(store_db *db, const char *src, const char *dst, const char *params,
                             uint32_t *id, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    char name[3 * (STORE_PATH_FIELD_MAX + 1)];
    owp_status st = lmdb_path_find(db, src, dst, params, id, err);
    if (st || *id)
        return st;
    size_t len = path_name(name, src, dst, params);
    MDB_txn *txn;
    int rc = store_write_begin(self, &txn);
    if (rc)
        return store_write_err(self, err, rc, "path create");
    /* Another process may have created it since the read above. */
    rc = find_path(self, txn, name, len, id);
    if (!rc && !*id)
        rc = create_path(self, txn, name, len, id);
    if (rc) {
        mdb_txn_abort(txn);
        return store_write_err(self, err, rc, "path create");
    }
    rc = mdb_txn_commit(txn);
    return rc ? store_write_err(self, err, rc, "path create") : OWP_OK;
}

owp_status store_check_path(store_lmdb *self, MDB_txn *txn, uint32_t path, owp_err *err)
{
    uint8_t kb[4];
    be32_put(kb, path);
    MDB_val k = {4, kb}, v;
    int rc = mdb_get(txn, self->paths, &k, &v);
    if (rc == MDB_NOTFOUND)
        return owp_err_set(err, OWP_ERR_INVALID, "store: unknown path id %u", path);
    return rc ? store_mdb_err(err, rc, "path lookup") : OWP_OK;
}

/* Split a stored "src\0dst\0params\0" value; -1 when malformed. */
static int split_path(const MDB_val *v, const char *parts[3])
{
    const char *p = v->mv_data, *end = p + v->mv_size;
    for (int i = 0; i < 3; i++) {
        const char *nul = memchr(p, 0, (size_t)(end - p));
        if (!nul)
            return -1;
        parts[i] = p;
        p = nul + 1;
    }
    return 0;
}

/* Send time of the newest data of a path: last record, else last minute histogram. */
static owp_num64 path_newest(store_lmdb *self, MDB_txn *txn, uint32_t path)
{
    MDB_dbi dbs[2] = {self->records, self->hist[LEVEL_MINUTE]};
    for (int i = 0; i < 2; i++) {
        MDB_cursor *c;
        if (mdb_cursor_open(txn, dbs[i], &c))
            continue;
        uint8_t kb[4];
        be32_put(kb, path + 1);
        MDB_val k = {4, kb}, v;
        int rc = path == UINT32_MAX ? mdb_cursor_get(c, &k, &v, MDB_LAST)
                                    : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (path != UINT32_MAX)
            rc = rc == MDB_NOTFOUND ? mdb_cursor_get(c, &k, &v, MDB_LAST)
                                    : (rc ? rc : mdb_cursor_get(c, &k, &v, MDB_PREV));
        owp_num64 t = 0;
        if (!rc && k.mv_size >= 8 && be32_get(k.mv_data) == path)
            t = i == 0 ? be64_get((uint8_t *)k.mv_data + 4)
                       : (owp_num64)be32_get((uint8_t *)k.mv_data + 4) << 32;
        mdb_cursor_close(c);
        if (t)
            return t;
    }
    return 0;
}

owp_status lmdb_list_paths(store_db *db, store_path_fn fn, void *arg, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    MDB_txn *txn;
    MDB_cursor *c;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return store_mdb_err(err, rc, "paths");
    rc = mdb_cursor_open(txn, self->paths, &c);
    if (rc) {
        mdb_txn_abort(txn);
        return store_mdb_err(err, rc, "paths");
    }
    MDB_val k, v;
    owp_status st = OWP_OK;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const char *parts[3];
        if (k.mv_size != 4 || split_path(&v, parts)) {
            st = owp_err_set(err, OWP_ERR_FORMAT, "store: malformed path entry");
            break;
        }
        store_path p = {be32_get(k.mv_data), parts[0], parts[1], parts[2], 0};
        p.newest = path_newest(self, txn, p.id);
        if (fn(&p, arg))
            break;
    }
    if (!st && rc && rc != MDB_NOTFOUND)
        st = store_mdb_err(err, rc, "paths");
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return st;
}

owp_status lmdb_path_get(store_db *db, uint32_t id, store_path *path, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return store_mdb_err(err, rc, "path");
    owp_status st = store_check_path(self, txn, id, err);
    uint8_t kb[4];
    be32_put(kb, id);
    MDB_val k = {4, kb}, v;
    const char *parts[3];
    if (!st && (mdb_get(txn, self->paths, &k, &v) || split_path(&v, parts)))
        st = owp_err_set(err, OWP_ERR_FORMAT, "store: malformed path entry %u", id);
    if (!st) {
        char *buf = realloc(self->path_buf, v.mv_size);
        if (!buf) {
            st = owp_err_set(err, OWP_ERR_NOMEM, "store: out of memory");
        } else {
            self->path_buf = buf;
            memcpy(buf, v.mv_data, v.mv_size);
            path->id = id;
            path->src = buf + (parts[0] - (const char *)v.mv_data);
            path->dst = buf + (parts[1] - (const char *)v.mv_data);
            path->params = buf + (parts[2] - (const char *)v.mv_data);
            path->newest = path_newest(self, txn, id);
        }
    }
    mdb_txn_abort(txn);
    return st;
}

/* ---- cursors ---- */

owp_status lmdb_cursor(store_db *db, const char *node, uint64_t *file_seq, char *name,
                            size_t name_len, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    owp_status st = store_check_node(node, err);
    if (st)
        return st;
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return store_mdb_err(err, rc, "cursor");
    MDB_val k = store_val(node, strlen(node)), v;
    rc = mdb_get(txn, self->cursors, &k, &v);
    *file_seq = 0;
    if (name && name_len)
        name[0] = 0;
    if (!rc && v.mv_size >= 8) {
        *file_seq = be64_get(v.mv_data);
        if (name && name_len) {
            size_t n = v.mv_size - 8 < name_len - 1 ? v.mv_size - 8 : name_len - 1;
            memcpy(name, (uint8_t *)v.mv_data + 8, n);
            name[n] = 0;
        }
    }
    mdb_txn_abort(txn);
    return rc && rc != MDB_NOTFOUND ? store_mdb_err(err, rc, "cursor") : OWP_OK;
}

/* The node's cursor inside a write transaction (0 when none). */
uint64_t store_cursor_get(store_lmdb *self, MDB_txn *txn, const char *node)
{
    MDB_val k = store_val(node, strlen(node)), v;
    if (mdb_get(txn, self->cursors, &k, &v) || v.mv_size < 8)
        return 0;
    return be64_get(v.mv_data);
}

int store_cursor_put(store_lmdb *self, MDB_txn *txn, const char *node, uint64_t file_seq,
                     const char *file_name)
{
    size_t nlen = file_name ? strlen(file_name) : 0;
    if (nlen > 1024)
        nlen = 1024;
    MDB_val k = store_val(node, strlen(node)), v = {8 + nlen, NULL};
    int rc = mdb_put(txn, self->cursors, &k, &v, MDB_RESERVE);
    if (!rc) {
        be64_put(v.mv_data, file_seq);
        if (nlen)
            memcpy((uint8_t *)v.mv_data + 8, file_name, nlen);
    }
    return rc;
}

owp_status lmdb_cursor_advance(store_db *db, const char *node, uint64_t file_seq,
                                    const char *file_name, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    owp_status st = store_check_node(node, err);
    if (st)
        return st;
    MDB_txn *txn;
    int rc = store_write_begin(self, &txn);
    if (rc)
        return store_write_err(self, err, rc, "cursor");
    uint64_t cur = store_cursor_get(self, txn, node);
    if (file_seq <= cur) {
        mdb_txn_abort(txn);
        return owp_err_set(err, OWP_ERR_INVALID,
                           "store: node %s: file %llu is not after the cursor %llu", node,
                           (unsigned long long)file_seq, (unsigned long long)cur);
    }
    rc = store_cursor_put(self, txn, node, file_seq, file_name);
    if (rc) {
        mdb_txn_abort(txn);
        return store_write_err(self, err, rc, "cursor");
    }
    rc = mdb_txn_commit(txn);
    return rc ? store_write_err(self, err, rc, "cursor") : OWP_OK;
}

/* ---- retention ---- */

/* Delete the entries of db whose time (key bytes 4.. as `tlen` big-endian
 * bytes, compared as seconds) is before cutoff; counts into *n. */
static int prune_db(MDB_txn *txn, MDB_dbi db, size_t tlen, uint64_t cutoff_sec, uint64_t *n)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, db, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (!rc) {
        if (k.mv_size < 4 + tlen) {
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
            continue;
        }
        uint32_t path = be32_get(k.mv_data);
        uint64_t t = tlen == 8 ? be64_get((uint8_t *)k.mv_data + 4) >> 32
                               : be32_get((uint8_t *)k.mv_data + 4);
        if (t < cutoff_sec) {
            /* Re-seek from a copy of the key: robust whatever the cursor
             * points at after a delete (the last entry included). */
            uint8_t kb[32];
            size_t klen = k.mv_size < sizeof kb ? k.mv_size : sizeof kb;
            memcpy(kb, k.mv_data, klen);
            rc = mdb_cursor_del(c, 0);
            if (!rc) {
                (*n)++;
                k.mv_size = klen;
                k.mv_data = kb;
                rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
            }
            continue;
        }
        /* This path is done: jump to the next one. */
        if (path == UINT32_MAX)
            break;
        uint8_t kb[4];
        be32_put(kb, path + 1);
        k.mv_size = 4;
        k.mv_data = kb;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static uint64_t cutoff(owp_num64 now, uint64_t keep)
{
    uint64_t now_sec = now >> 32;
    return keep && keep < now_sec ? now_sec - keep : 0;
}

owp_status lmdb_prune(store_db *db, owp_num64 now, store_prune_result *result, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    store_prune_result r = {0};
    MDB_txn *txn;
    int rc = store_write_begin(self, &txn);
    if (rc)
        return store_write_err(self, err, rc, "prune");
    uint64_t raw_cut = cutoff(now, self->opts.keep_raw);
    if (raw_cut) {
        rc = prune_db(txn, self->records, 8, raw_cut, &r.records);
        if (!rc)
            rc = prune_db(txn, self->sessions, 8, raw_cut, &r.sessions);
        uint64_t intervals = 0; /* unmeasured intervals go with the raw records */
        if (!rc && self->has_unmeasured)
            rc = prune_db(txn, self->unmeasured, 8, raw_cut, &intervals);
        if (!rc && raw_cut > store_meta_get(self, txn, META_RAW_HORIZON))
            rc = store_meta_put(self, txn, META_RAW_HORIZON, raw_cut);
    }
    const uint64_t keep[LEVEL_COUNT] = {self->opts.keep_minute, self->opts.keep_hour,
                                        self->opts.keep_day};
    uint64_t *counts[LEVEL_COUNT] = {&r.minutes, &r.hours, &r.days};
    for (int l = 0; l < LEVEL_COUNT && !rc; l++) {
        uint64_t cut = cutoff(now, keep[l]);
        /* Keep a period until all of it is older than the cutoff. */
        if (cut <= level_secs[l])
            continue;
        uint64_t first_kept = cut - level_secs[l] + 1;
        rc = prune_db(txn, self->hist[l], 4, first_kept, counts[l]);
        /* Queries widen their edges to the coarser level before this. */
        uint64_t horizon = first_kept + level_secs[l] - 1;
        horizon -= horizon % level_secs[l];
        if (!rc && horizon > store_meta_get(self, txn, meta_hist_horizon[l]))
            rc = store_meta_put(self, txn, meta_hist_horizon[l], horizon);
    }
    if (rc) {
        mdb_txn_abort(txn);
        return store_write_err(self, err, rc, "prune");
    }
    rc = mdb_txn_commit(txn);
    if (rc)
        return store_write_err(self, err, rc, "prune");
    if (result)
        *result = r;
    return OWP_OK;
}

int store_write_begin(store_lmdb *self, MDB_txn **txn)
{
    self->full = 0; /* the verdict of this write, not of an earlier one */
    return mdb_txn_begin(self->env, self->batch, 0, txn);
}

owp_status lmdb_batch_begin(store_db *db, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    if (self->batch)
        return owp_err_set(err, OWP_ERR_INVALID, "store: a batch is already open");
    self->full = 0;
    int rc = mdb_txn_begin(self->env, NULL, 0, &self->batch);
    if (rc) {
        self->batch = NULL;
        return store_write_err(self, err, rc, "batch");
    }
    return OWP_OK;
}

owp_status lmdb_batch_commit(store_db *db, owp_err *err)
{
    store_lmdb *self = store_lmdb_of(db);
    MDB_txn *txn = self->batch;
    self->batch = NULL;
    self->full = 0;
    int rc = txn ? mdb_txn_commit(txn) : 0;
    return rc ? store_write_err(self, err, rc, "batch commit") : OWP_OK;
}

void lmdb_batch_abort(store_db *db)
{
    store_lmdb *self = store_lmdb_of(db);
    if (self->batch)
        mdb_txn_abort(self->batch);
    self->batch = NULL;
}

const store_ops store_lmdb_ops = {
    .name = "lmdb",
    .close = lmdb_close,
    .sync = lmdb_sync,
    .full = lmdb_full,
    .path_id = lmdb_path_id,
    .path_find = lmdb_path_find,
    .list_paths = lmdb_list_paths,
    .path_get = lmdb_path_get,
    .ingest_file = lmdb_ingest_file,
    .batch_begin = lmdb_batch_begin,
    .batch_commit = lmdb_batch_commit,
    .batch_abort = lmdb_batch_abort,
    .cursor_advance = lmdb_cursor_advance,
    .cursor = lmdb_cursor,
    .set_hook = lmdb_set_hook,
    .prune = lmdb_prune,
    .query_run = lmdb_query_run,
    .export_records = lmdb_export,
    .sessions = lmdb_sessions,
    .ingest_unmeasured = lmdb_ingest_unmeasured,
    .unmeasured_list = lmdb_unmeasured_list,
};
