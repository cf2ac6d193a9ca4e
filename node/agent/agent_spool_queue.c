/*
 * agent_spool_queue.c - a stream's work queue (see agent_spool.h): the files
 * its engine finished, spooled in order as room allows, held in memory when
 * they cannot be written yet, and what a previous run left adopted.
 */
#include "agent_spool.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_spool_internal.h"
#include "agent_store.h"

/* ------------------------------------------------------------------ work queues */

#define WORK_NAME_MAX 64
#define KEPT_MARK ".spooled" /* START_END.owp.spooled: that .owp is in the spool */

typedef struct queued_file {
    char name[WORK_NAME_MAX]; /* in the work directory */
    owm_file_kind kind;
    owp_num64 start, end;
    char *text; /* not written yet (held in memory), or NULL */
    size_t len;
} queued_file;

typedef struct file_list {
    queued_file *v;
    size_t n, cap;
} file_list;

struct agent_spool_queue {
    agent_spool *spool;
    char dir[SPOOL_PATH_MAX];
    char stream_id[OWM_MSG_MAX_ID + 1];
    pthread_mutex_t lock;
    file_list waiting; /* not spooled yet, oldest first */
    file_list kept;    /* spooled .owp whose work copy waits for its .sum */
    size_t ntexts;     /* entries of waiting held in memory */
    int blocked_errno; /* the last drain stopped on this (0: it did not) */
    int blocked;       /* the last drain left files waiting */
    unsigned since_blocked;
};

/* Appends the size bytes at elem to the array v of *n elements (room for
 * *cap), doubling the room from first_cap when full. Returns the array,
 * moved or not, or NULL out of memory (v then still valid and unchanged):
 * one growth rule for the spool's lists of files. */
static void *array_append(void *v, size_t *n, size_t *cap, const void *elem, size_t size,
                          size_t first_cap)
{
    if (*n == *cap) {
        size_t more = *cap ? *cap * 2 : first_cap;
        void *grown = realloc(v, more * size);
        if (!grown)
            return NULL;
        v = grown;
        *cap = more;
    }
    memcpy((char *)v + *n * size, elem, size);
    ++*n;
    return v;
}

static owp_status list_push(file_list *l, const queued_file *f)
{
    queued_file *v = array_append(l->v, &l->n, &l->cap, f, sizeof *f, 8);
    if (!v)
        return OWP_ERR_NOMEM;
    l->v = v;
    return OWP_OK;
}

static void list_remove(file_list *l, size_t i)
{
    free(l->v[i].text);
    memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof *l->v);
    l->n--;
}

static void list_clear(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].text);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int list_has_name(const file_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return 1;
    return 0;
}

/* Index of the entry of kind with these times, or -1. */
static long list_find(const file_list *l, owm_file_kind kind, owp_num64 start, owp_num64 end)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].kind == kind && l->v[i].start == start && l->v[i].end == end)
            return (long)i;
    return -1;
}

agent_spool_queue *agent_spool_queue_new(agent_spool *spool, const char *work_dir,
                                         const char *stream_id, owp_err *err)
{
    if (!spool || !work_dir || strlen(work_dir) >= SPOOL_PATH_MAX - WORK_NAME_MAX - 2 ||
        !stream_id || !owm_msg_token_ok(stream_id, OWM_MSG_MAX_ID)) {
        owp_err_set(err, OWP_ERR_INVALID, "spool queue for %s: bad work directory or stream id",
                    work_dir ? work_dir : "?");
        return NULL;
    }
    agent_spool_queue *q = calloc(1, sizeof *q);
    if (!q) {
        owp_err_set(err, OWP_ERR_NOMEM, "spool queue for %s: out of memory", work_dir);
        return NULL;
    }
    q->spool = spool;
    snprintf(q->dir, sizeof q->dir, "%s", work_dir);
    snprintf(q->stream_id, sizeof q->stream_id, "%s", stream_id);
    pthread_mutex_init(&q->lock, NULL);
    return q;
}

void agent_spool_queue_destroy(agent_spool_queue **self_p)
{
    if (!self_p || !*self_p)
        return;
    agent_spool_queue *q = *self_p;
    list_clear(&q->waiting);
    list_clear(&q->kept);
    pthread_mutex_destroy(&q->lock);
    free(q);
    *self_p = NULL;
}

const char *agent_spool_queue_dir(const agent_spool_queue *self)
{
    return self->dir;
}

const char *agent_spool_queue_stream(const agent_spool_queue *self)
{
    return self->stream_id;
}

static void work_path(const agent_spool_queue *q, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", q->dir, name);
}

static void unlink_work(const agent_spool_queue *q, const char *name)
{
    char path[SPOOL_PATH_MAX + WORK_NAME_MAX];
    work_path(q, name, path, sizeof path);
    unlink(path);
}

static owp_status queue_push_locked(agent_spool_queue *q, const queued_file *f, owp_err *err)
{
    if (list_push(&q->waiting, f) != OWP_OK)
        return owp_err_set(err, OWP_ERR_NOMEM, "spool queue for %s: out of memory", q->dir);
    return OWP_OK;
}

owp_status agent_spool_queue_file(agent_spool_queue *self, const char *name, owm_file_kind kind,
                                  owp_num64 start, owp_num64 end, owp_err *err)
{
    queued_file f = {.kind = kind, .start = start, .end = end};
    if (!name || strlen(name) >= sizeof f.name || !agent_spool_kind_suffix(kind))
        return owp_err_set(err, OWP_ERR_INVALID, "spool queue for %s: bad file \"%s\"",
                           self->dir, name ? name : "");
    snprintf(f.name, sizeof f.name, "%s", name);
    pthread_mutex_lock(&self->lock);
    owp_status st = OWP_OK;
    /* Never twice: a file is queued once, and a kept .owp is spooled already. */
    if (!list_has_name(&self->waiting, name) && !list_has_name(&self->kept, name))
        st = queue_push_locked(self, &f, err);
    pthread_mutex_unlock(&self->lock);
    return st;
}

owp_status agent_spool_queue_text(agent_spool_queue *self, const char *name, owm_file_kind kind,
                                  owp_num64 start, owp_num64 end, const char *text, size_t len,
                                  owp_err *err)
{
    queued_file f = {.kind = kind, .start = start, .end = end, .len = len};
    if (!name || strlen(name) >= sizeof f.name || !agent_spool_kind_suffix(kind) || !text)
        return owp_err_set(err, OWP_ERR_INVALID, "spool queue for %s: bad file \"%s\"",
                           self->dir, name ? name : "");
    snprintf(f.name, sizeof f.name, "%s", name);
    pthread_mutex_lock(&self->lock);
    owp_status st = OWP_OK;
    if (list_has_name(&self->waiting, name)) {
        st = OWP_OK; /* the same interval twice: once is enough */
    } else if (self->ntexts >= AGENT_SPOOL_QUEUE_MAX_TEXTS) {
        st = owp_err_set(err, OWP_ERR_NOMEM, "%s/%s: %u intervals already held in memory "
                         "waiting for disk space: this one is lost", self->dir, name,
                         AGENT_SPOOL_QUEUE_MAX_TEXTS);
    } else if (!(f.text = malloc(len ? len : 1))) {
        st = owp_err_set(err, OWP_ERR_NOMEM, "%s/%s: out of memory", self->dir, name);
    } else {
        memcpy(f.text, text, len);
        st = queue_push_locked(self, &f, err);
        if (st == OWP_OK)
            self->ntexts++;
        else
            free(f.text);
    }
    pthread_mutex_unlock(&self->lock);
    return st;
}

size_t agent_spool_queue_waiting(agent_spool_queue *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->waiting.n;
    pthread_mutex_unlock(&self->lock);
    return n;
}

size_t agent_spool_queue_unwritten(agent_spool_queue *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->ntexts;
    pthread_mutex_unlock(&self->lock);
    return n;
}

/* A session's .sum is spooled: its kept .owp (spooled before it) goes. */
static void release_kept_owp(agent_spool_queue *q, owp_num64 start, owp_num64 end)
{
    long k = list_find(&q->kept, OWM_FILE_KIND_OWP, start, end);
    if (k < 0)
        return;
    unlink_work(q, q->kept.v[k].name);
    list_remove(&q->kept, (size_t)k);
}

/* The head is spooled: its work copy goes, except a session's .owp, which
 * the engine still reads to write the .sum (kept until the .sum is spooled). */
static owp_status settle_head(agent_spool_queue *q, owp_err *err)
{
    queued_file f = q->waiting.v[0];
    f.text = NULL;
    list_remove(&q->waiting, 0);
    if (f.kind == OWM_FILE_KIND_OWP) {
        if (list_push(&q->kept, &f) != OWP_OK)
            return owp_err_set(err, OWP_ERR_NOMEM, "spool queue for %s: out of memory", q->dir);
        return OWP_OK;
    }
    unlink_work(q, f.name);
    if (f.kind == OWM_FILE_KIND_SUM)
        release_kept_owp(q, f.start, f.end);
    return OWP_OK;
}

/* An interval held in memory becomes its work file (through NAME.i). */
static owp_status write_text(agent_spool_queue *q, queued_file *f, owp_err *err)
{
    char path[SPOOL_PATH_MAX + WORK_NAME_MAX], tmp[sizeof path + 2];
    work_path(q, f->name, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.i", path);
    owp_status st = agent_store_write_via(path, tmp, f->text, f->len, 0, err);
    if (st != OWP_OK)
        return st;
    free(f->text);
    f->text = NULL;
    q->ntexts--;
    return OWP_OK;
}

/* Spool the oldest file: OWP_OK, or the failure with *failed_errno. */
static owp_status spool_head(agent_spool_queue *q, agent_spool_drain *r, int *failed_errno,
                             owp_err *err)
{
    queued_file *f = &q->waiting.v[0];
    errno = 0;
    owp_status st = f->text ? write_text(q, f, err) : OWP_OK;
    if (st == OWP_OK) {
        char path[SPOOL_PATH_MAX + WORK_NAME_MAX];
        work_path(q, f->name, path, sizeof path);
        struct stat sb;
        if (lstat(path, &sb) != 0 && errno == ENOENT) {
            r->vanished++; /* removed behind our back: nothing left to spool */
            list_remove(&q->waiting, 0);
            return OWP_OK;
        }
        errno = 0;
        st = agent_spool_add(q->spool, path, q->stream_id, f->start, f->end, f->kind, NULL, err);
    }
    if (st != OWP_OK) {
        *failed_errno = st == OWP_ERR_SYS && errno ? errno : 0;
        return st;
    }
    r->spooled++;
    return settle_head(q, err);
}

/* Intervals held in memory go to disk as soon as they can, even behind a
 * file the spool cannot take yet: on disk, a restart finds them. */
static void write_texts(agent_spool_queue *q)
{
    for (size_t i = 0; q->ntexts > 0 && i < q->waiting.n; i++)
        if (q->waiting.v[i].text && write_text(q, &q->waiting.v[i], NULL) != OWP_OK)
            return;
}

owp_status agent_spool_queue_drain(agent_spool_queue *self, agent_spool_drain *r, owp_err *err)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_lock(&self->lock);
    write_texts(self);
    owp_status st = OWP_OK;
    int failed_errno = 0;
    while (st == OWP_OK && self->waiting.n > 0)
        st = spool_head(self, r, &failed_errno, err);
    int was_blocked = self->blocked;
    self->blocked = self->waiting.n > 0;
    self->blocked_errno = self->blocked ? failed_errno : 0;
    if (was_blocked)
        self->since_blocked += r->spooled;
    r->waiting = self->waiting.n;
    r->blocked_errno = self->blocked_errno;
    r->now_blocked = self->blocked && !was_blocked;
    r->now_unblocked = was_blocked && !self->blocked;
    if (r->now_unblocked)
        r->since_blocked = self->since_blocked;
    if (!self->blocked || r->now_blocked)
        self->since_blocked = 0;
    pthread_mutex_unlock(&self->lock);
    return st;
}

void agent_spool_queue_engine_gone(agent_spool_queue *self)
{
    pthread_mutex_lock(&self->lock);
    for (size_t i = self->kept.n; i-- > 0;) {
        queued_file *k = &self->kept.v[i];
        if (list_find(&self->waiting, OWM_FILE_KIND_SUM, k->start, k->end) >= 0) {
            if (!agent_spool_ends_with(k->name, strlen(k->name), KEPT_MARK)) {
                char from[SPOOL_PATH_MAX + WORK_NAME_MAX], to[sizeof from + 16];
                work_path(self, k->name, from, sizeof from);
                snprintf(to, sizeof to, "%s" KEPT_MARK, from);
                if (rename(from, to) == 0)
                    snprintf(k->name + strlen(k->name), sizeof k->name - strlen(k->name),
                             KEPT_MARK);
            }
            continue; /* the .sum to come releases it */
        }
        unlink_work(self, k->name);
        list_remove(&self->kept, i);
    }
    pthread_mutex_unlock(&self->lock);
}

/* ---- adopting what a previous run left */

/* START_END.EXT exactly, as the engine names finished files. */
static int engine_name(const char *name, const char *ext, owp_num64 *start, owp_num64 *end)
{
    uint64_t a, b;
    if (strlen(name) != TIMES_LEN + strlen(ext) || strcmp(name + TIMES_LEN, ext) != 0 ||
        name[20] != '_' || !agent_spool_parse_digits(name, 20, &a) || !agent_spool_parse_digits(name + 21, 20, &b))
        return 0;
    *start = a;
    *end = b;
    return 1;
}

static int is_temporary(const char *name)
{
    size_t len = strlen(name);
    return strncmp(name, ".pow.", 5) == 0 || agent_spool_ends_with(name, len, ".i");
}

/* A found file: .sum files are SUM for now (told apart once all are seen);
 * the .owp.spooled marker is an OWP kept as spooled. */
typedef struct found_file {
    queued_file f;
    int spooled; /* a second link exists, or the marker */
} found_file;

typedef struct found_list {
    found_file *v;
    size_t n, cap;
} found_list;

static owp_status found_push(found_list *l, const found_file *f)
{
    found_file *v = array_append(l->v, &l->n, &l->cap, f, sizeof *f, 16);
    if (!v)
        return OWP_ERR_NOMEM;
    l->v = v;
    return OWP_OK;
}

static int finished_kind(const char *name, owm_file_kind *kind, owp_num64 *start, owp_num64 *end)
{
    if (engine_name(name, ".unm", start, end))
        *kind = OWM_FILE_KIND_UNMEASURED;
    else if (engine_name(name, ".sum", start, end))
        *kind = OWM_FILE_KIND_SUM;
    else if (engine_name(name, ".owp", start, end) ||
             engine_name(name, ".owp" KEPT_MARK, start, end))
        *kind = OWM_FILE_KIND_OWP;
    else
        return 0;
    return 1;
}

/* The work directory's finished files (temporaries removed on the way). */
static owp_status scan_work_dir(const char *dir, found_list *out, owp_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? OWP_OK : owp_err_sys(err, "open %s", dir);
    struct dirent *de;
    owp_status st = OWP_OK;
    while (st == OWP_OK && (de = readdir(d)) != NULL) {
        found_file ff;
        memset(&ff, 0, sizeof ff);
        struct stat sb;
        if (is_temporary(de->d_name)) {
            unlinkat(dirfd(d), de->d_name, 0);
        } else if (strlen(de->d_name) < sizeof ff.f.name && /* longer: not one of ours */
                   finished_kind(de->d_name, &ff.f.kind, &ff.f.start, &ff.f.end) &&
                   fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
                   S_ISREG(sb.st_mode)) {
            memcpy(ff.f.name, de->d_name, strlen(de->d_name) + 1);
            ff.spooled = sb.st_nlink > 1 || agent_spool_ends_with(de->d_name, strlen(de->d_name), KEPT_MARK);
            if (found_push(out, &ff) != OWP_OK)
                st = owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", dir);
        }
    }
    closedir(d);
    return st;
}

static int has_owp(const found_list *l, owp_num64 start, owp_num64 end)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].f.kind == OWM_FILE_KIND_OWP && l->v[i].f.start == start &&
            l->v[i].f.end == end)
            return 1;
    return 0;
}

static int has_sum(const found_list *l, owp_num64 start, owp_num64 end)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].f.kind == OWM_FILE_KIND_SUM && l->v[i].f.start == start &&
            l->v[i].f.end == end)
            return 1;
    return 0;
}

/* The engine's order: a session's sub-session summaries (and unmeasured
 * intervals) end before or with it, then its .owp, then its .sum. */
static int engine_rank(owm_file_kind k)
{
    return k == OWM_FILE_KIND_OWP ? 1 : k == OWM_FILE_KIND_SUM ? 2 : 0;
}

static int cmp_found(const void *a, const void *b)
{
    const queued_file *x = &((const found_file *)a)->f, *y = &((const found_file *)b)->f;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    int rx = engine_rank(x->kind), ry = engine_rank(y->kind);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* One found file, in order: queue it, keep it, or remove it (spooled). */
static owp_status adopt_one(agent_spool_queue *q, const found_list *all, const found_file *ff,
                            unsigned *found, owp_err *err)
{
    const queued_file *f = &ff->f;
    if (list_has_name(&q->waiting, f->name) || list_has_name(&q->kept, f->name))
        return OWP_OK;
    if (!ff->spooled) {
        (*found)++;
        return queue_push_locked(q, f, err);
    }
    if (f->kind == OWM_FILE_KIND_OWP && has_sum(all, f->start, f->end)) {
        if (list_push(&q->kept, f) != OWP_OK)
            return owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", q->dir);
        return OWP_OK;
    }
    unlink_work(q, f->name);
    if (f->kind == OWM_FILE_KIND_SUM)
        release_kept_owp(q, f->start, f->end);
    return OWP_OK;
}

owp_status agent_spool_queue_adopt(agent_spool_queue *self, unsigned *found, owp_err *err)
{
    unsigned n = 0;
    found_list all = {0};
    owp_status st = scan_work_dir(self->dir, &all, err);
    /* A .sum is a session's summary when the session's .owp is still there
     * (it leaves only once its summary is spooled), else a sub-session's. */
    for (size_t i = 0; st == OWP_OK && i < all.n; i++)
        if (all.v[i].f.kind == OWM_FILE_KIND_SUM && !has_owp(&all, all.v[i].f.start,
                                                               all.v[i].f.end))
            all.v[i].f.kind = OWM_FILE_KIND_SUBSUM;
    if (st == OWP_OK && all.n)
        qsort(all.v, all.n, sizeof *all.v, cmp_found);
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; st == OWP_OK && i < all.n; i++)
        st = adopt_one(self, &all, &all.v[i], &n, err);
    pthread_mutex_unlock(&self->lock);
    free(all.v);
    if (found)
        *found = n;
    return st;
}

owp_status agent_spool_tidy_work_dir(agent_spool *self, const char *work_dir,
                                     const char *stream_id, unsigned *adopted, owp_err *err)
{
    *adopted = 0;
    agent_spool_queue *q = agent_spool_queue_new(self, work_dir, stream_id, err);
    if (!q)
        return err ? err->code : OWP_ERR_INVALID;
    agent_spool_drain r;
    memset(&r, 0, sizeof r);
    owp_status st = agent_spool_queue_adopt(q, NULL, err);
    if (st == OWP_OK)
        st = agent_spool_queue_drain(q, &r, err);
    agent_spool_queue_engine_gone(q);
    *adopted = r.spooled;
    agent_spool_queue_destroy(&q);
    return st;
}
