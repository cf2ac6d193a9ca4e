/*
 * agent_data_index.c - the spooled files as the data endpoint knows them:
 * the index in seq order, the mark of an ack, and what may be deleted
 * (acked files past the retention; over the disk budget the oldest acked
 * first, then, loudly and recorded, unacked ones).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent_data_internal.h"
#include "daemon_log.h"

#define ACKED_MODE 0444

void agent_data_spool_path(const agent_data *self, const agent_spool_entry *e, char *buf,
                           size_t len)
{
    char name[AGENT_SPOOL_NAME_MAX];
    if (agent_spool_entry_name(e, name, sizeof name) != 0)
        name[0] = '\0';
    snprintf(buf, len, "%s/%s", agent_spool_dir(self->cfg.spool), name);
}

static void index_add(void *arg, const agent_spool_entry *e, uint64_t size)
{
    agent_data *self = arg;
    if (self->n_files == self->cap_files) {
        size_t cap = self->cap_files ? self->cap_files * 2 : 256;
        spool_file *f = realloc(self->files, cap * sizeof *f);
        if (!f)
            return; /* the file shows up in the next scan */
        self->files = f;
        self->cap_files = cap;
    }
    spool_file *f = &self->files[self->n_files];
    memset(f, 0, sizeof *f);
    f->e = *e;
    f->size = size;
    char path[4096 + AGENT_SPOOL_NAME_MAX];
    agent_data_spool_path(self, e, path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    f->size = (uint64_t)st.st_size;
    f->acked = (st.st_mode & 0777) == ACKED_MODE;
    f->mtime = st.st_mtime;
    self->n_files++;
}

static int cmp_seq(const void *a, const void *b)
{
    uint64_t x = ((const spool_file *)a)->e.seq, y = ((const spool_file *)b)->e.seq;
    return x < y ? -1 : x > y;
}

void agent_data_index_rescan(agent_data *self)
{
    owp_err err;
    owp_err_clear(&err);
    self->n_files = 0;
    if (agent_spool_scan(self->cfg.spool, index_add, self, &err) != OWP_OK)
        log_err("node %s: data: scanning the spool: %s", self->cfg.node, err.msg);
    if (self->n_files)
        qsort(self->files, self->n_files, sizeof *self->files, cmp_seq);
}

/* Forget the files deleted since the last scan. In memory: a rescan (a stat
 * per file) after every ack would make draining a large spool quadratic. */
void agent_data_index_drop_deleted(agent_data *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->n_files; i++)
        if (self->files[i].acked != 2)
            self->files[kept++] = self->files[i];
    self->n_files = kept;
}

/* The first file with seq > after (n_files when none). */
size_t agent_data_index_after(const agent_data *self, uint64_t after)
{
    size_t lo = 0, hi = self->n_files;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->files[mid].e.seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

spool_file *agent_data_index_find(agent_data *self, uint64_t seq)
{
    size_t i = agent_data_index_after(self, seq - 1);
    return i < self->n_files && self->files[i].e.seq == seq ? &self->files[i] : NULL;
}

void agent_data_mark_acked(agent_data *self, spool_file *sf)
{
    char path[4096 + AGENT_SPOOL_NAME_MAX];
    agent_data_spool_path(self, &sf->e, path, sizeof path);
    if (self->cfg.retention_s == 0) {
        if (unlink(path) != 0 && errno != ENOENT)
            log_warn("node %s: data: removing acked %s: %s", self->cfg.node, path,
                     strerror(errno));
        sf->acked = 2; /* gone */
        return;
    }
    if (sf->acked)
        return;
    /* The mark of an ack: read-only, modification time = ack time. */
    if (chmod(path, ACKED_MODE) != 0 || utimensat(AT_FDCWD, path, NULL, 0) != 0)
        log_warn("node %s: data: marking %s acked: %s", self->cfg.node, path, strerror(errno));
    sf->acked = 1;
    sf->mtime = time(NULL);
}

/* ------------------------------------------------------------------ retention, budget */

static void delete_file(agent_data *self, spool_file *sf, const char *why)
{
    char path[4096 + AGENT_SPOOL_NAME_MAX];
    agent_data_spool_path(self, &sf->e, path, sizeof path);
    owp_err err;
    owp_err_clear(&err);
    /* A collector must learn that this file is gone uncollected (not acked,
     * not never-made): no record, no deletion. */
    if (!sf->acked && agent_spool_note_uncollected(self->cfg.spool, &sf->e, &err) != OWP_OK) {
        log_err("node %s: data: NOT deleting uncollected %s over the disk budget: %s",
                self->cfg.node, path, err.msg);
        return;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        log_warn("node %s: data: removing %s: %s", self->cfg.node, path, strerror(errno));
        return;
    }
    if (!sf->acked)
        log_err("node %s: data: DELETED UNCOLLECTED file %s (stream %s, seq %" PRIu64 ", %" PRIu64
                " bytes): %s", self->cfg.node, sf->e.name, sf->e.stream_id, sf->e.seq, sf->size,
                why);
    else
        log_debug("node %s: data: removed acked %s: %s", self->cfg.node, path, why);
    sf->acked = 2;
}

void agent_data_enforce(agent_data *self, double now)
{
    self->last_enforce = now;
    agent_data_index_rescan(self);
    time_t wall = time(NULL);
    uint64_t total = 0;
    for (size_t i = 0; i < self->n_files; i++) {
        spool_file *sf = &self->files[i];
        if (sf->acked == 1 && self->cfg.retention_s &&
            (uint64_t)(wall - sf->mtime) >= self->cfg.retention_s)
            delete_file(self, sf, "acked and past the retention");
        else if (sf->acked == 1 && !self->cfg.retention_s)
            delete_file(self, sf, "acked");
        if (sf->acked != 2)
            total += sf->size;
    }
    if (self->cfg.budget_bytes && total > self->cfg.budget_bytes) {
        log_warn("node %s: data: spool holds %" PRIu64 " bytes, over the disk budget of %" PRIu64
                 ": removing the oldest acked files first", self->cfg.node, total,
                 self->cfg.budget_bytes);
        /* Two passes in seq (age) order: acked files, then (loudly) unacked. */
        for (int pass = 0; pass < 2 && total > self->cfg.budget_bytes; pass++)
            for (size_t i = 0; i < self->n_files && total > self->cfg.budget_bytes; i++) {
                spool_file *sf = &self->files[i];
                if (sf->acked == 2 || (pass == 0 && !sf->acked))
                    continue;
                delete_file(self, sf, "the spool is over its disk budget (-B)");
                if (sf->acked == 2)
                    total -= sf->size;
            }
    }
    agent_data_index_rescan(self);
}
