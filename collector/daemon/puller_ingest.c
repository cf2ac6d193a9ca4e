/* puller_ingest.c - what becomes of one file or gap the puller received:
 * the digest check, the store's ingest, the quarantine of refused files and
 * the cursor (see puller.h, "Nothing lost"). */
#include "puller_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "unmeasured.h"

/* The kinds of file the store takes (the others only move the cursor). */
int puller_fetched_kind(owm_file_kind kind)
{
    return kind == OWM_FILE_KIND_OWP ||
           kind == OWM_FILE_KIND_UNMEASURED;
}

/* Write a file the store refused to QUARANTINE/NODE.SEQ.NAME; 1 when it is
 * safely on disk (fsync'ed). */
static int quarantine(puller *self, const pending *p, const char *file_name, char *path,
                      size_t len)
{
    if (!self->cfg.quarantine_dir)
        return 0;
    snprintf(path, len, "%s/%s.%" PRIu64 ".%s", self->cfg.quarantine_dir, self->node, p->seq,
             file_name);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return 0;
    int ok = fwrite(p->buf, 1, p->len, fp) == p->len && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    ok = fclose(fp) == 0 && ok;
    if (!ok)
        remove(path);
    return ok;
}


/* The store has no room (map or disk full): not the file's fault. It is
 * neither refused nor skipped: the cursor stays below it, the node keeps it,
 * and it is pulled again once the batch before it is committed. */
static void keep_for_later(puller *self, const pending *p, outcome *o, const owp_err *why)
{
    log_line(self, err, "file %" PRIu64 " %s not stored: %s; the cursor stays at %" PRIu64
             ", the node keeps the file and it is pulled again", p->seq, o->name, why->msg,
             self->cursor);
    o->retry = 1;
    o->full = 1;
    o->ack = 0;
}

/* A cursor advance that failed: with a full store, the entry is kept for
 * later (1); otherwise it is only logged (0). */
static int advance_failed(puller *self, const pending *p, outcome *o, const owp_err *why)
{
    if (store_full(self->cfg.store)) {
        keep_for_later(self, p, o, why);
        return 1;
    }
    log_line(self, err, "advancing the cursor past %s: %s", o->name, why->msg);
    return 0;
}

/* A file the store refused: keep its bytes in the quarantine directory, move
 * the cursor past it so it is not pulled forever, and ack it only once the
 * copy is safe (otherwise the node keeps it). */
static void refuse(puller *self, const pending *p, outcome *o, const owp_err *why)
{
    char saved[4096 + 300] = "";
    int kept = quarantine(self, p, o->name, saved, sizeof saved);
    log_line(self, err, "file %" PRIu64 " %s (%" PRIu64 " bytes) not ingested: %s; %s%s", p->seq,
             o->name, (uint64_t)p->len, why->msg,
             kept ? "quarantined as " : "left on the node (no quarantine copy): retrying later",
             saved);
    if (!kept) {
        /* The cursor must not pass a file that is neither stored nor kept. */
        o->retry = 1;
        o->ack = 0;
        return;
    }
    owp_err err;
    owp_err_clear(&err);
    if (store_cursor_advance(self->cfg.store, self->node, p->seq, o->name, &err) != OWP_OK)
        log_line(self, err, "advancing the cursor past %" PRIu64 ": %s", p->seq, err.msg);
    else
        o->cursor = 1;
    o->ack = 1;
}

/* The node's digest of a file, made when it was spooled, against the bytes
 * we got; 0 and *why set on a mismatch. */
static int digest_matches(const pending *p, owp_err *why)
{
    owm_digest got;
    if (!p->digest[0])
        return 1; /* an older node: nothing to check */
    if (owm_digest_buffer(p->buf, p->len, got, why) != OWP_OK)
        return 0;
    if (!strcmp(got, p->digest))
        return 1;
    owp_err_set(why, OWP_ERR_FORMAT, "digest mismatch (spooled as %s, received %s): the file "
                "changed on the node after it was spooled", p->digest, got);
    return 0;
}

/* Session data the node deleted uncollected: its time is unmeasured
 * ("spool over budget"), stored under the seq before the gap's cursor. */
static void record_budget_loss(puller *self, const pending *p)
{
    owp_err err;
    owp_err_clear(&err);
    uint32_t path_id = 0;
    if (self->cfg.path(self->cfg.path_arg, self->node, p->stream_id, NULL, 0, &path_id, &err) !=
            OWP_OK ||
        store_ingest_unmeasured(self->cfg.store, self->node, p->gap_last, "", path_id,
                                    p->start, p->end,
                                    owm_unmeasured_reason_token(OWM_UNMEASURED_SPOOL_BUDGET),
                                    "deleted uncollected by the node", NULL, &err) != OWP_OK)
        log_line(self, err, "recording the deleted file %" PRIu64 " as unmeasured: %s", p->seq,
                 err.msg);
}

/* A gap the node explained: the cursor passes it; nothing to ack. Files
 * deleted uncollected are loud, and their time is unmeasured, not lost. */
static void pass_gap(puller *self, const pending *p, outcome *o)
{
    o->ack = 0;
    snprintf(o->name, sizeof o->name, "seqs %" PRIu64 "-%" PRIu64, p->seq, p->gap_last);
    if (p->gap_reason == OWM_GAP_REASON_BUDGET)
        log_line(self, err, "file %" PRIu64 " (%s %s) was DELETED UNCOLLECTED by the node: its "
                 "spool was over its disk budget", p->seq, p->stream_id[0] ? p->stream_id : "?",
                 p->kind == OWM_FILE_KIND_OWP ? "session data" : "file");
    else if (p->gap_reason == OWM_GAP_REASON_ACKED)
        log_line(self, warn, "files %" PRIu64 "-%" PRIu64 " were acked by another collector and "
                 "deleted by the node: not in this store", p->seq, p->gap_last);
    else
        log_line(self, debug, "seqs %" PRIu64 "-%" PRIu64 " were never used (node restart)",
                 p->seq, p->gap_last);
    owp_err err;
    owp_err_clear(&err);
    if (p->gap_reason == OWM_GAP_REASON_BUDGET &&
        p->kind == OWM_FILE_KIND_OWP && p->stream_id[0] && p->end > p->start)
        record_budget_loss(self, p);
    if (store_cursor_advance(self->cfg.store, self->node, p->gap_last, o->name, &err) != OWP_OK)
        advance_failed(self, p, o, &err);
    else
        o->cursor = 1;
}

/* An unmeasured-interval file (mesh/unmeasured.h): stored beside the records. */
static owp_status ingest_unmeasured(puller *self, const pending *p, uint32_t path_id,
                                    outcome *o, owp_err *err)
{
    owm_unmeasured u;
    owp_status st = owm_unmeasured_parse(p->buf, p->len, &u, err);
    if (st == OWP_OK && strcmp(u.stream_id, p->stream_id) != 0)
        st = owp_err_set(err, OWP_ERR_FORMAT, "unmeasured file of stream %s listed for stream %s",
                         u.stream_id, p->stream_id);
    if (st != OWP_OK)
        return st;
    return store_ingest_unmeasured(self->cfg.store, self->node, p->seq, o->name, path_id,
                                       u.start, u.end, owm_unmeasured_reason_token(u.reason),
                                       u.detail, &o->res, err);
}

void puller_ingest_one(puller *self, const pending *p, outcome *o)
{
    memset(o, 0, sizeof *o);
    o->seq = p->seq;
    o->last = p->gap ? p->gap_last : p->seq;
    o->ack = 1;
    if (p->committed) {
        /* Stored before (a crash came between commit and ack): ack only. */
        if (!p->gap)
            log_line(self, debug, "file %" PRIu64 " %s.%s: already stored (cursor %" PRIu64
                     "): acked", p->seq, p->stream_id, p->name, self->cursor);
        o->ack = !p->gap;
        o->gap = p->gap;
        return;
    }
    if (p->gap) {
        o->gap = 1;
        pass_gap(self, p, o);
        return;
    }
    if (!puller_fetched_kind(p->kind)) {
        /* A summary: the store derives summaries from the records. The
         * cursor passes it all the same, so that it stays contiguous: every
         * seq at or below it is handled. */
        snprintf(o->name, sizeof o->name, "%s.%s", p->stream_id, p->name);
        owp_err err;
        owp_err_clear(&err);
        if (store_cursor_advance(self->cfg.store, self->node, p->seq, o->name, &err) ==
            OWP_OK)
            o->cursor = 1;
        else
            advance_failed(self, p, o, &err);
        return;
    }
    snprintf(o->name, sizeof o->name, "%s.%s", p->stream_id, p->name);
    owp_err err;
    owp_err_clear(&err);
    uint32_t path_id = 0;
    owp_status st = digest_matches(p, &err) ? OWP_OK : OWP_ERR_FORMAT;
    if (st == OWP_OK)
        st = self->cfg.path(self->cfg.path_arg, self->node, p->stream_id, p->buf, p->len,
                            &path_id, &err);
    if (st == OWP_OK && p->kind == OWM_FILE_KIND_UNMEASURED)
        st = ingest_unmeasured(self, p, path_id, o, &err);
    else if (st == OWP_OK)
        st = store_ingest_buffer(self->cfg.store, self->node, p->seq, o->name, path_id,
                                     p->buf, p->len, &o->res, &err);
    if (st != OWP_OK && store_full(self->cfg.store)) {
        keep_for_later(self, p, o, &err);
        return;
    }
    if (st != OWP_OK) {
        refuse(self, p, o, &err);
        return;
    }
    o->has_res = 1;
    o->cursor = 1;
    o->stored = o->res.status == STORE_INGEST_STORED;
    if (!o->stored)
        log_line(self, debug, "file %" PRIu64 " %s: %s", p->seq, o->name,
                 o->res.status == STORE_INGEST_ALREADY ? "already stored (cursor)"
                                                     : "session already stored");
}
