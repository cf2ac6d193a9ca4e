/* agent_spool.c - spool names, sequence numbers, spooling (see agent_spool.h). */
#include "agent_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_store.h"
#include "digest.h"

#define SPOOL_PATH_MAX 4096
#define TIMES_LEN 41 /* START_END: 20 + 1 + 20 */
#define DIGEST_PART (1 + OWM_MSG_DIGEST_HEX) /* ".DIGEST" */
#define SEQ_FILE ".seq"
#define GAPS_FILE ".gaps"

struct agent_spool {
    char dir[SPOOL_PATH_MAX];
    pthread_mutex_t lock;
    uint64_t next;     /* next sequence number to hand out */
    uint64_t reserved; /* first number not reserved in DIR/.seq */
    agent_spool_gap *gaps; /* recorded gaps, ascending by first */
    size_t ngaps;
    int fail_errno; /* testing: links fail with this (agent_spool_fail_links) */
};

/* ------------------------------------------------------------------ names */

static const char *kind_suffix(owm_file_kind kind)
{
    switch (kind) {
    case OWM_FILE_KIND_OWP: return ".owp";
    case OWM_FILE_KIND_SUM: return ".sum";
    case OWM_FILE_KIND_SUBSUM: return ".sub.sum";
    case OWM_FILE_KIND_UNMEASURED: return ".unm";
    default: return NULL;
    }
}

owp_status agent_spool_format_name(char *buf, size_t len, uint64_t seq, const char *stream_id,
                                   owp_num64 start, owp_num64 end, owm_file_kind kind,
                                   const char *digest)
{
    const char *suffix = kind_suffix(kind);
    int has_digest = digest && *digest;
    if (!suffix || !stream_id || !owm_msg_token_ok(stream_id, OWM_MSG_MAX_ID) ||
        (has_digest && !owm_msg_digest_ok(digest)))
        return OWP_ERR_INVALID;
    int n = snprintf(buf, len, "%020" PRIu64 ".%s.%020" PRIu64 "_%020" PRIu64 "%s%s%s", seq,
                     stream_id, (uint64_t)start, (uint64_t)end, has_digest ? "." : "",
                     has_digest ? digest : "", suffix);
    return n < 0 || (size_t)n >= len ? OWP_ERR_INVALID : OWP_OK;
}

owp_status agent_spool_entry_name(const agent_spool_entry *e, char *buf, size_t len)
{
    return agent_spool_format_name(buf, len, e->seq, e->stream_id, e->start, e->end, e->kind,
                                   e->digest);
}

/* n decimal digits at s into *out (no overflow for n <= 20 checked below). */
static int parse_digits(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

bool agent_spool_parse_name(const char *name, agent_spool_entry *e)
{
    memset(e, 0, sizeof *e);
    size_t len = strnlen(name, AGENT_SPOOL_NAME_MAX);
    const char *ext;
    if (ends_with(name, len, ".sub.sum")) {
        e->kind = OWM_FILE_KIND_SUBSUM;
        ext = ".sum";
    } else if (ends_with(name, len, ".sum")) {
        e->kind = OWM_FILE_KIND_SUM;
        ext = ".sum";
    } else if (ends_with(name, len, ".owp")) {
        e->kind = OWM_FILE_KIND_OWP;
        ext = ".owp";
    } else if (ends_with(name, len, ".unm")) {
        e->kind = OWM_FILE_KIND_UNMEASURED;
        ext = ".unm";
    } else {
        return false;
    }
    size_t suffix = strlen(kind_suffix(e->kind));
    /* SEQ "." ID "." START "_" END ["." DIGEST] SUFFIX, with an ID of at
     * least one byte. The digest's dot stands where a digit of END would
     * in a name without one, so the two forms cannot be confused. */
    if (len < AGENT_SPOOL_SEQ_DIGITS + 1 + 1 + 1 + TIMES_LEN + suffix)
        return false;
    size_t digest = 0;
    if (len >= AGENT_SPOOL_SEQ_DIGITS + 3 + TIMES_LEN + DIGEST_PART + suffix &&
        name[len - suffix - DIGEST_PART] == '.') {
        memcpy(e->digest, name + len - suffix - OWM_MSG_DIGEST_HEX, OWM_MSG_DIGEST_HEX);
        e->digest[OWM_MSG_DIGEST_HEX] = '\0';
        if (!owm_msg_digest_ok(e->digest))
            return false;
        digest = DIGEST_PART;
    }
    const char *times = name + len - suffix - digest - TIMES_LEN;
    uint64_t start, end;
    if (name[AGENT_SPOOL_SEQ_DIGITS] != '.' || times[-1] != '.' || times[20] != '_' ||
        !parse_digits(name, AGENT_SPOOL_SEQ_DIGITS, &e->seq) || e->seq == 0 ||
        !parse_digits(times, 20, &start) || !parse_digits(times + 21, 20, &end))
        return false;
    const char *id = name + AGENT_SPOOL_SEQ_DIGITS + 1;
    size_t idlen = (size_t)(times - 1 - id);
    if (idlen == 0 || idlen > OWM_MSG_MAX_ID)
        return false;
    memcpy(e->stream_id, id, idlen);
    e->stream_id[idlen] = '\0';
    if (!owm_msg_token_ok(e->stream_id, OWM_MSG_MAX_ID))
        return false;
    e->start = start;
    e->end = end;
    snprintf(e->name, sizeof e->name, "%.*s%s", TIMES_LEN, times, ext);
    return true;
}

/* ------------------------------------------------------------------ sequence numbers */

static owp_status read_seq_file(const char *path, uint64_t *out, owp_err *err)
{
    *out = 0;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return errno == ENOENT ? OWP_OK : owp_err_sys(err, "open %s", path);
    char line[64] = "";
    char *got = fgets(line, sizeof line, fp);
    fclose(fp);
    size_t n = got ? strcspn(line, "\n") : 0;
    if (n == 0 || n > 20 || !parse_digits(line, n, out))
        return owp_err_set(err, OWP_ERR_PARSE, "%s: expected a decimal sequence number", path);
    return OWP_OK;
}

static owp_status reserve_locked(agent_spool *s, owp_err *err)
{
    char path[SPOOL_PATH_MAX + 8], text[32];
    snprintf(path, sizeof path, "%s/" SEQ_FILE, s->dir);
    uint64_t limit = s->next + AGENT_SPOOL_SEQ_BLOCK;
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", limit);
    owp_status st = agent_store_write_file(path, text, (size_t)n, err);
    if (st == OWP_OK)
        s->reserved = limit;
    return st;
}

/* ------------------------------------------------------------------ gap records */

static const char *gap_reason_token(owm_gap_reason r)
{
    return r == OWM_GAP_REASON_UNUSED ? "unused"
           : r == OWM_GAP_REASON_BUDGET ? "budget"
                                                        : "acked";
}

/* One line of DIR/.gaps: FIRST LAST REASON KIND START END STREAM ("-" for
 * no stream); 1 when it is one. */
static int parse_gap_line(const char *line, agent_spool_gap *g)
{
    char reason[16], stream[OWM_MSG_MAX_ID + 2];
    unsigned kind;
    uint64_t start, end;
    memset(g, 0, sizeof *g);
    if (sscanf(line, "%" SCNu64 " %" SCNu64 " %15s %u %" SCNu64 " %" SCNu64 " %129s", &g->first,
               &g->last, reason, &kind, &start, &end, stream) != 7 ||
        g->first == 0 || g->first > g->last || kind > OWM_FILE_KIND_UNMEASURED)
        return 0;
    if (!strcmp(reason, "unused"))
        g->reason = OWM_GAP_REASON_UNUSED;
    else if (!strcmp(reason, "budget"))
        g->reason = OWM_GAP_REASON_BUDGET;
    else
        return 0;
    if (strcmp(stream, "-") != 0 && owm_msg_token_ok(stream, OWM_MSG_MAX_ID))
        snprintf(g->stream_id, sizeof g->stream_id, "%.*s", (int)OWM_MSG_MAX_ID, stream);
    g->kind = (owm_file_kind)kind;
    g->start = start;
    g->end = end;
    return 1;
}

static int cmp_gap(const void *a, const void *b)
{
    uint64_t x = ((const agent_spool_gap *)a)->first, y = ((const agent_spool_gap *)b)->first;
    return x < y ? -1 : x > y;
}

/* Keep g in memory (sorted), forgetting the oldest beyond the limit. */
static owp_status remember_gap(agent_spool *s, const agent_spool_gap *g, owp_err *err)
{
    if (s->ngaps == AGENT_SPOOL_MAX_GAPS) {
        memmove(s->gaps, s->gaps + 1, (s->ngaps - 1) * sizeof *s->gaps);
        s->ngaps--;
    }
    agent_spool_gap *more = realloc(s->gaps, (s->ngaps + 1) * sizeof *more);
    if (!more)
        return owp_err_set(err, OWP_ERR_NOMEM, "spool %s: out of memory", s->dir);
    s->gaps = more;
    size_t i = s->ngaps;
    while (i > 0 && s->gaps[i - 1].first > g->first) {
        s->gaps[i] = s->gaps[i - 1];
        i--;
    }
    s->gaps[i] = *g;
    s->ngaps++;
    return OWP_OK;
}

/* Append g to DIR/.gaps durably (O_APPEND + fdatasync), then remember it. */
static owp_status record_gap(agent_spool *s, const agent_spool_gap *g, owp_err *err)
{
    char path[SPOOL_PATH_MAX + 8], line[AGENT_SPOOL_NAME_MAX + 128];
    snprintf(path, sizeof path, "%s/" GAPS_FILE, s->dir);
    int n = snprintf(line, sizeof line, "%" PRIu64 " %" PRIu64 " %s %u %" PRIu64 " %" PRIu64 " %s\n",
                     g->first, g->last, gap_reason_token(g->reason), (unsigned)g->kind,
                     (uint64_t)g->start, (uint64_t)g->end, g->stream_id[0] ? g->stream_id : "-");
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return owp_err_sys(err, "open %s", path);
    int ok = write(fd, line, (size_t)n) == n && fdatasync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!ok) {
        errno = saved;
        return owp_err_sys(err, "append to %s", path);
    }
    return remember_gap(s, g, err);
}

static owp_status load_gaps(agent_spool *s, owp_err *err)
{
    char path[SPOOL_PATH_MAX + 8], line[AGENT_SPOOL_NAME_MAX + 128];
    snprintf(path, sizeof path, "%s/" GAPS_FILE, s->dir);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return errno == ENOENT ? OWP_OK : owp_err_sys(err, "open %s", path);
    owp_status st = OWP_OK;
    agent_spool_gap g;
    while (st == OWP_OK && fgets(line, sizeof line, fp))
        if (parse_gap_line(line, &g)) /* a torn last line (crash mid-append) is skipped */
            st = remember_gap(s, &g, err);
    fclose(fp);
    if (st == OWP_OK && s->ngaps)
        qsort(s->gaps, s->ngaps, sizeof *s->gaps, cmp_gap);
    return st;
}

owp_status agent_spool_note_uncollected(agent_spool *self, const agent_spool_entry *e,
                                        owp_err *err)
{
    agent_spool_gap g;
    memset(&g, 0, sizeof g);
    g.first = g.last = e->seq;
    g.reason = OWM_GAP_REASON_BUDGET;
    snprintf(g.stream_id, sizeof g.stream_id, "%s", e->stream_id);
    g.kind = e->kind;
    g.start = e->start;
    g.end = e->end;
    pthread_mutex_lock(&self->lock);
    owp_status st = record_gap(self, &g, err);
    pthread_mutex_unlock(&self->lock);
    return st;
}

bool agent_spool_gap_from(agent_spool *self, uint64_t seq, agent_spool_gap *g)
{
    pthread_mutex_lock(&self->lock);
    /* Gaps are disjoint and sorted, so their ends ascend too. */
    size_t lo = 0, hi = self->ngaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->gaps[mid].last < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    bool found = lo < self->ngaps;
    if (found)
        *g = self->gaps[lo];
    pthread_mutex_unlock(&self->lock);
    return found;
}

/* ------------------------------------------------------------------ the spool */

static void note_max_seq(void *arg, const agent_spool_entry *e, uint64_t size)
{
    (void)size;
    uint64_t *max = arg;
    if (e->seq > *max)
        *max = e->seq;
}

/* The numbers the last run reserved but did not give out (above every file
 * in the directory, below the next one) are skipped: say so, once. */
static owp_status note_skipped(agent_spool *s, uint64_t max_seen, owp_err *err)
{
    uint64_t first = max_seen + 1, last = s->next - 1;
    if (first > last)
        return OWP_OK;
    if (s->ngaps && s->gaps[s->ngaps - 1].last >= last)
        return OWP_OK; /* recorded by an earlier start */
    if (s->ngaps && s->gaps[s->ngaps - 1].last >= first)
        first = s->gaps[s->ngaps - 1].last + 1;
    agent_spool_gap g;
    memset(&g, 0, sizeof g);
    g.first = first;
    g.last = last;
    g.reason = OWM_GAP_REASON_UNUSED;
    return record_gap(s, &g, err);
}

agent_spool *agent_spool_open(const char *dir, owp_err *err)
{
    if (!dir || !*dir || strlen(dir) >= SPOOL_PATH_MAX - AGENT_SPOOL_NAME_MAX - 2) {
        owp_err_set(err, OWP_ERR_INVALID, "spool directory: missing or too long a path");
        return NULL;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        owp_err_sys(err, "mkdir %s", dir);
        return NULL;
    }
    agent_spool *s = calloc(1, sizeof *s);
    if (!s) {
        owp_err_set(err, OWP_ERR_NOMEM, "spool %s: out of memory", dir);
        return NULL;
    }
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    pthread_mutex_init(&s->lock, NULL);
    char path[SPOOL_PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/" SEQ_FILE, s->dir);
    uint64_t stored = 0, max_seen = 0;
    if (read_seq_file(path, &stored, err) != OWP_OK || load_gaps(s, err) != OWP_OK ||
        agent_spool_scan(s, note_max_seq, &max_seen, err) != OWP_OK) {
        agent_spool_destroy(&s);
        return NULL;
    }
    s->next = stored > max_seen ? stored : max_seen + 1;
    if (s->next == 0)
        s->next = 1;
    s->reserved = s->next; /* nothing reserved by this run yet */
    if (note_skipped(s, max_seen, err) != OWP_OK) {
        agent_spool_destroy(&s);
        return NULL;
    }
    return s;
}

void agent_spool_destroy(agent_spool **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_mutex_destroy(&(*self_p)->lock);
    free((*self_p)->gaps);
    free(*self_p);
    *self_p = NULL;
}

const char *agent_spool_dir(const agent_spool *self)
{
    return self->dir;
}

uint64_t agent_spool_next_seq(agent_spool *self)
{
    pthread_mutex_lock(&self->lock);
    uint64_t next = self->next;
    pthread_mutex_unlock(&self->lock);
    return next;
}

owp_status agent_spool_add(agent_spool *self, const char *path, const char *stream_id,
                           owp_num64 start, owp_num64 end, owm_file_kind kind, uint64_t *seq,
                           owp_err *err)
{
    char name[AGENT_SPOOL_NAME_MAX], target[SPOOL_PATH_MAX + AGENT_SPOOL_NAME_MAX + 2];
    owm_digest digest;
    /* Outside the lock: the file is finished, and reading it takes time. */
    if (owm_digest_file(path, digest, err) != OWP_OK)
        return err ? err->code : OWP_ERR_SYS;
    pthread_mutex_lock(&self->lock);
    owp_status st = OWP_OK;
    if (self->next >= self->reserved)
        st = reserve_locked(self, err);
    uint64_t n = self->next;
    if (st == OWP_OK && agent_spool_format_name(name, sizeof name, n, stream_id, start, end,
                                                kind, digest) != 0)
        st = owp_err_set(err, OWP_ERR_INVALID, "spool: stream id \"%s\" or file kind %d unusable",
                         stream_id ? stream_id : "", (int)kind);
    if (st == OWP_OK) {
        snprintf(target, sizeof target, "%s/%s", self->dir, name);
        if (self->fail_errno)
            errno = self->fail_errno;
        if (self->fail_errno || link(path, target) != 0)
            st = owp_err_sys(err, "link %s to %s", path, target);
        else
            self->next++;
    }
    int saved = errno; /* the caller tells a full disk by it */
    pthread_mutex_unlock(&self->lock);
    if (st == OWP_OK && seq)
        *seq = n;
    errno = saved;
    return st;
}

void agent_spool_fail_links(agent_spool *self, int err_no)
{
    pthread_mutex_lock(&self->lock);
    self->fail_errno = err_no;
    pthread_mutex_unlock(&self->lock);
}

owp_status agent_spool_scan(agent_spool *self, agent_spool_fn fn, void *arg, owp_err *err)
{
    DIR *d = opendir(self->dir);
    if (!d)
        return owp_err_sys(err, "open spool directory %s", self->dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        agent_spool_entry e;
        if (!agent_spool_parse_name(de->d_name, &e))
            continue;
        struct stat sb;
        uint64_t size = 0;
        if (fstatat(dirfd(d), de->d_name, &sb, 0) == 0)
            size = (uint64_t)sb.st_size;
        else if (errno == ENOENT)
            continue; /* collected while we looked */
        fn(arg, &e, size);
    }
    closedir(d);
    return OWP_OK;
}

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
    if (!name || strlen(name) >= sizeof f.name || !kind_suffix(kind))
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
    if (!name || strlen(name) >= sizeof f.name || !kind_suffix(kind) || !text)
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
            if (!ends_with(k->name, strlen(k->name), KEPT_MARK)) {
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
        name[20] != '_' || !parse_digits(name, 20, &a) || !parse_digits(name + 21, 20, &b))
        return 0;
    *start = a;
    *end = b;
    return 1;
}

static int is_temporary(const char *name)
{
    size_t len = strlen(name);
    return strncmp(name, ".pow.", 5) == 0 || ends_with(name, len, ".i");
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
            ff.spooled = sb.st_nlink > 1 || ends_with(de->d_name, strlen(de->d_name), KEPT_MARK);
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
