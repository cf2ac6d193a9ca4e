/* agent_spool.c - spool names, sequence numbers, gap records and spooling (see
 * agent_spool.h); the streams' work queues are in agent_spool_queue.c. */
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

#include "agent_spool_internal.h"
#include "agent_store.h"
#include "digest.h"

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

const char *agent_spool_kind_suffix(owm_file_kind kind)
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
    const char *suffix = agent_spool_kind_suffix(kind);
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
int agent_spool_parse_digits(const char *s, size_t n, uint64_t *out)
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

int agent_spool_ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

bool agent_spool_parse_name(const char *name, agent_spool_entry *e)
{
    memset(e, 0, sizeof *e);
    size_t len = strnlen(name, AGENT_SPOOL_NAME_MAX);
    const char *ext;
    if (agent_spool_ends_with(name, len, ".sub.sum")) {
        e->kind = OWM_FILE_KIND_SUBSUM;
        ext = ".sum";
    } else if (agent_spool_ends_with(name, len, ".sum")) {
        e->kind = OWM_FILE_KIND_SUM;
        ext = ".sum";
    } else if (agent_spool_ends_with(name, len, ".owp")) {
        e->kind = OWM_FILE_KIND_OWP;
        ext = ".owp";
    } else if (agent_spool_ends_with(name, len, ".unm")) {
        e->kind = OWM_FILE_KIND_UNMEASURED;
        ext = ".unm";
    } else {
        return false;
    }
    size_t suffix = strlen(agent_spool_kind_suffix(e->kind));
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
        !agent_spool_parse_digits(name, AGENT_SPOOL_SEQ_DIGITS, &e->seq) || e->seq == 0 ||
        !agent_spool_parse_digits(times, 20, &start) || !agent_spool_parse_digits(times + 21, 20, &end))
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
    if (n == 0 || n > 20 || !agent_spool_parse_digits(line, n, out))
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
