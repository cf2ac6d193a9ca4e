/*
 * agent_spool.h - the node's spool of finished measurement files.
 *
 * Each stream's engine writes its sessions, as powstream names them
 * (START_END.owp, START_END.sum), into the stream's own work directory. As
 * soon as a file is finished it is hard-linked into one flat spool directory
 * under a name that carries everything a collector needs, in the order it
 * needs it:
 *
 *     SEQ.STREAM-ID.START_END.DIGEST.owp       session data         (FILE_KIND_OWP)
 *     SEQ.STREAM-ID.START_END.DIGEST.sum       session summary      (FILE_KIND_SUM)
 *     SEQ.STREAM-ID.START_END.DIGEST.sub.sum   sub-session summary  (FILE_KIND_SUBSUM)
 *     SEQ.STREAM-ID.START_END.DIGEST.unm       unmeasured interval  (FILE_KIND_UNMEASURED,
 *                                              mesh/unmeasured.h)
 *
 * SEQ is the node's file sequence number (proto/mesh.proto, data plane): 20
 * decimal digits, > 0, and it only ever grows, across restarts too, so a
 * plain sort of the directory is seq order and a collector's cursor (the
 * last seq it committed) stays meaningful. START and END are the 20-digit
 * 32.32 times of the engine's name. The name parses back without ambiguity
 * although a stream id may contain dots: SEQ is fixed-width at the front,
 * START_END, DIGEST and the extension are fixed-width at the back. DIGEST
 * (mesh/digest.h) is made from the file's bytes when it is spooled, so a
 * collector can tell a file damaged on the node's disk; names of older
 * versions without it are still read (no digest then).
 *
 * Sequence numbers are reserved on disk in blocks (DIR/.seq holds the first
 * number not yet reserved, written atomically), so a crash can skip numbers
 * but never reuse one; at start-up the next number is also kept above every
 * seq found in the directory.
 *
 * Gaps. A collector's cursor may pass a seq only when it stored that file
 * or knows it will never exist, so the spool records why numbers are
 * missing (DIR/.gaps, one line per event, appended durably): the numbers a
 * restart skipped, and files deleted uncollected under the disk budget. Any
 * other absent seq below agent_spool_next_seq() was deleted after an ack.
 *
 * Thread safety: an agent_spool is used by every stream's thread at once
 * (agent_spool_add) and by the data endpoint; its lock covers the sequence
 * counter and the gap records. A file gets its seq and its link in the
 * spool under the lock, so every seq below agent_spool_next_seq() is
 * already in the directory (or gone for good): a listing that reads the
 * counter first and then the directory never misses a file below it.
 */
#ifndef OWM_AGENT_SPOOL_H
#define OWM_AGENT_SPOOL_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "meshtypes.h"
#include "meshmsg.h"
#include "timestamp.h"

#define AGENT_SPOOL_SEQ_DIGITS 20
/* Longest spool file name, NUL included. */
#define AGENT_SPOOL_NAME_MAX \
    (AGENT_SPOOL_SEQ_DIGITS + 1 + OWM_MSG_MAX_ID + 1 + 41 + 1 + OWM_MSG_DIGEST_HEX + 8 + 1)
/* Gap records kept (DIR/.gaps): the oldest are forgotten beyond this. */
#define AGENT_SPOOL_MAX_GAPS 4096u
/* Sequence numbers reserved per write of DIR/.seq. */
#define AGENT_SPOOL_SEQ_BLOCK 1024u

typedef struct agent_spool_entry {
    uint64_t seq;
    char stream_id[OWM_MSG_MAX_ID + 1];
    owp_num64 start, end;
    owm_file_kind kind;
    char name[48]; /* the engine's name, as FileEntry.name: START_END.owp|.sum|.unm */
    char digest[OWM_MSG_DIGEST_HEX + 1]; /* "" in names of older versions */
} agent_spool_entry;

/* The spool name of a file: OWP_OK, or OWP_ERR_INVALID when it does not fit len or the stream
 * id is not a token (owm_msg_token_ok) or kind is not a file kind or digest
 * (NULL or "" for none) is not one. */
owp_status agent_spool_format_name(char *buf, size_t len, uint64_t seq, const char *stream_id,
                                   owp_num64 start, owp_num64 end, owm_file_kind kind,
                                   const char *digest);
/* The same from a parsed entry (its digest included). */
owp_status agent_spool_entry_name(const agent_spool_entry *e, char *buf, size_t len);

/* Parse a spool name: true and *e filled, or false when name is not one (temporary
 * files, .seq, anything else in the directory). */
bool agent_spool_parse_name(const char *name, agent_spool_entry *e);

typedef struct agent_spool agent_spool;

/* Open (creating it, mode 0755) the spool directory; reads DIR/.seq and the
 * directory to find the next sequence number. */
agent_spool *agent_spool_open(const char *dir, owp_err *err);
void agent_spool_destroy(agent_spool **self_p);

const char *agent_spool_dir(const agent_spool *self);
/* The number the next file will get. */
uint64_t agent_spool_next_seq(agent_spool *self);

/* Spool the finished file at path (digest, then hard link; path itself is
 * left for the caller to remove). *seq (if non-NULL) is the number it got. */
owp_status agent_spool_add(agent_spool *self, const char *path, const char *stream_id,
                           owp_num64 start, owp_num64 end, owm_file_kind kind, uint64_t *seq,
                           owp_err *err);

/* Call fn for every spooled file (directory order; size in bytes). */
typedef void (*agent_spool_fn)(void *arg, const agent_spool_entry *e, uint64_t size);
owp_status agent_spool_scan(agent_spool *self, agent_spool_fn fn, void *arg, owp_err *err);

/* Why a seq is not in the spool (FileList.gaps). */
typedef struct agent_spool_gap {
    uint64_t first, last;          /* inclusive */
    owm_gap_reason reason;
    /* BUDGET: the file that was deleted (kind 0 when unknown) */
    char stream_id[OWM_MSG_MAX_ID + 1];
    owm_file_kind kind;
    owp_num64 start, end;
} agent_spool_gap;

/* Record that e was deleted without any collector's ack (the disk budget),
 * durably, before the caller deletes it. */
owp_status agent_spool_note_uncollected(agent_spool *self, const agent_spool_entry *e,
                                        owp_err *err);

/* The first recorded gap that ends at or after seq into *g (it holds seq
 * when g->first <= seq); false when there is none. A seq below
 * agent_spool_next_seq() that is neither in the directory nor in a recorded
 * gap was deleted after an ack (GAP_REASON_ACKED). */
bool agent_spool_gap_from(agent_spool *self, uint64_t seq, agent_spool_gap *g);

/* Tidy a stream's work directory (at start-up, and after its engine has
 * stopped): temporary files of an interrupted write (NAME.i, .pow.*) are
 * removed; a finished START_END.owp|.sum|.unm already spooled (a second link
 * exists, or START_END.owp.spooled marks the session's .owp) is removed; one
 * not spooled yet (the agent stopped between the engine's write and the
 * spooling, or the spool's disk was full) is spooled first, in the order the
 * engine finished them. *adopted counts those. A missing directory is not an
 * error; on a failure the files not spooled yet stay where they are. */
owp_status agent_spool_tidy_work_dir(agent_spool *self, const char *work_dir,
                                     const char *stream_id, unsigned *adopted, owp_err *err);

/*
 * Work queues: a stream's finished files on their way to the spool.
 *
 * A file that cannot be spooled (the disk is full: ENOSPC, EDQUOT...) stays
 * in the work directory, queued; every file finished after it queues behind
 * it, so the spool receives a stream's files in the order the engine
 * finished them, each exactly once, as soon as a drain succeeds. A work copy
 * is removed only once it is spooled; a session's .owp stays until its .sum
 * is spooled too (the engine reads it to write the .sum, and a restart tells
 * a session summary from a sub-session summary by it). An unmeasured
 * interval that cannot even be written to the work directory is held in
 * memory, in its place in the queue, and written when a drain reaches it.
 *
 * Thread safety: a queue has its own lock; the stream's thread adds and
 * drains, the agent's main loop drains too.
 */
typedef struct agent_spool_queue agent_spool_queue;

/* Unmeasured intervals held in memory per queue, at most (the oldest kept). */
#define AGENT_SPOOL_QUEUE_MAX_TEXTS 4096u

/* A queue for work_dir, whose files belong to stream_id. Nothing is read
 * from the directory (agent_spool_queue_adopt does that). */
agent_spool_queue *agent_spool_queue_new(agent_spool *spool, const char *work_dir,
                                         const char *stream_id, owp_err *err);
/* Free the queue; files waiting stay in the work directory (where tidying
 * or adopting finds them), intervals still held in memory are lost: see
 * agent_spool_queue_unwritten(). */
void agent_spool_queue_destroy(agent_spool_queue **self_p);

const char *agent_spool_queue_dir(const agent_spool_queue *self);
const char *agent_spool_queue_stream(const agent_spool_queue *self);

/* What a previous run left in the work directory (see
 * agent_spool_tidy_work_dir): temporaries removed, files already spooled
 * removed, the others queued in the order the engine finished them (those
 * already queued are not queued twice). *found (if non-NULL) counts the
 * files queued. Call it before the stream's engine starts. */
owp_status agent_spool_queue_adopt(agent_spool_queue *self, unsigned *found, owp_err *err);

/* A file the engine finished: work_dir/name (START_END.owp|.sum|.unm). A
 * name already queued, or a spooled .owp still kept, is not queued again.
 * Queuing does not spool: drain. */
owp_status agent_spool_queue_file(agent_spool_queue *self, const char *name, owm_file_kind kind,
                                  owp_num64 start, owp_num64 end, owp_err *err);

/* A file not written yet: text becomes work_dir/name when a drain reaches
 * it (written through NAME.i), then it is spooled. OWP_ERR_NOMEM when
 * AGENT_SPOOL_QUEUE_MAX_TEXTS are already held. */
owp_status agent_spool_queue_text(agent_spool_queue *self, const char *name, owm_file_kind kind,
                                  owp_num64 start, owp_num64 end, const char *text, size_t len,
                                  owp_err *err);

/* What a drain did, and whether it changed the queue's state (so a caller
 * logs once per change, never once per file). */
typedef struct agent_spool_drain {
    unsigned spooled;   /* files spooled by this drain */
    unsigned vanished;  /* queued files no longer in the work directory (dropped) */
    size_t waiting;     /* files still queued */
    int blocked_errno;  /* why the oldest could not be spooled (ENOSPC...), 0: not blocked */
    int now_blocked;    /* 1: this drain found the queue newly blocked */
    int now_unblocked;  /* 1: this drain emptied a queue that was blocked */
    unsigned since_blocked; /* with now_unblocked: files spooled since it was blocked */
} agent_spool_drain;

/* Spool queued files, oldest first, until one fails or none is left.
 * OWP_OK when the queue is empty; otherwise the failure (r->blocked_errno
 * is its errno when it was a system call's). */
owp_status agent_spool_queue_drain(agent_spool_queue *self, agent_spool_drain *r, owp_err *err);

/* Files queued (written or not). */
size_t agent_spool_queue_waiting(agent_spool_queue *self);
/* Of those, intervals held in memory only (lost if the queue is destroyed). */
size_t agent_spool_queue_unwritten(agent_spool_queue *self);

/* The engine has stopped: a spooled .owp kept for its .sum goes, or, when
 * that .sum is still queued, becomes START_END.owp.spooled (so the .sum is
 * still a session summary to a restart, and the .owp is not spooled twice). */
void agent_spool_queue_engine_gone(agent_spool_queue *self);

/* Testing: every spooling fails as a link would with err_no (ENOSPC,
 * EDQUOT...) until called again with 0. */
void agent_spool_fail_links(agent_spool *self, int err_no);

#endif
