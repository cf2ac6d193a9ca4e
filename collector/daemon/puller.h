/*
 * puller.h - the collector's data plane with ONE node: list the node's
 * finished files after the store's cursor, fetch them under credit-based
 * flow control, ingest each .owp into the store (records + cursor in one
 * transaction), ack them to the node (proto/mesh.proto, "data plane").
 *
 * A ZeroMQ DEALER (CURVE client with the collector's key pair, the node's
 * public key) that ZeroMQ reconnects by itself. The puller is a state machine
 * driven by the caller's loop: puller_handle() when its socket is readable,
 * puller_tick() now and then. Files are ingested strictly in seq order (the
 * cursor only grows); up to `window` files are fetched at once, each with
 * at most `credit` chunks of `chunk_size` bytes in flight, so memory is
 * bounded by window x (file size) and the node never buffers more than
 * window x credit chunks for us. .sum files are not fetched: the store keeps
 * no summaries (it computes them from the records), so their seq only
 * advances the cursor and they are acked. .unm files (mesh/unmeasured.h) are
 * stored as unmeasured intervals.
 *
 * Nothing lost (issue 9). The cursor is contiguous: every seq at or below it
 * was stored, quarantined, or explained by the node as never existing
 * (FileList.gaps: numbers a restart skipped, files acked elsewhere, files
 * deleted over the disk budget, whose time is recorded as unmeasured). A
 * node's listing is complete through FileList.through, so a file being
 * spooled while the node reads its directory is never passed over. Each
 * file's digest, made when it was spooled, is checked before ingest: a
 * mismatch is quarantined, never stored. A file the store refuses and that
 * cannot be quarantined stops the cursor (retried later), never skipped.
 *
 * Group commit: the complete files at the head of the queue are ingested in
 * one store transaction (store_batch_begin, up to 64 files): a disk
 * flush costs milliseconds, a small file's records microseconds, so a
 * node's backlog drains at many files per flush.
 *
 * Acks: a file is acked after its batch is committed (and synced by
 * store_sync when the store runs with nometasync), in batches: at the
 * end of each listing, every 256 files, or after a second. A crash before
 * the ack makes the node list the file again; the store's cursor skips it
 * (STORE_INGEST_ALREADY) and the file is acked then.
 *
 * No answer within the timeout (node down, network) resets the puller: the
 * socket is recreated after a back-off (1 s doubling to 30 s), in-flight
 * fetches are dropped and listing resumes at the store's cursor. The log
 * line says which silence it was (puller_silence).
 *
 * Listing from the cursor. A (re)started puller lists after the store's
 * cursor, never from the beginning: a node keeping acked files (retention)
 * is not made to list them again, and one line per listing is logged, not
 * one per file. Files committed before a crash but not acked yet are at or
 * below the cursor: the node takes a listing request after seq S as the
 * collector's word that every file up to S is stored (agent_data.c), so
 * they are acked by the listing itself. With nometasync the store is synced
 * before a listing that says so.
 *
 * A full store (store_full: map or disk) refuses no file: the batch is not
 * committed, the cursor stays, and the files are pulled again after the
 * back-off, once space is back; the log says which store and what to do.
 */
#ifndef OWM_PULLER_H
#define OWM_PULLER_H

#include <stddef.h>
#include <stdint.h>

#include <czmq.h>

#include "error.h"
#include "store.h"

/* Resolve the path of a stream's file: the file's bytes are given so that
 * the .owp header (sender/receiver addresses) can be read. *path_id > 0. */
typedef owp_status (*puller_path_fn)(void *arg, const char *node, const char *stream_id,
                                     const void *data, size_t len, uint32_t *path_id,
                                     owp_err *err);

/* Called after each file is handled (for logs, tests and the die hook):
 * stored = 1 when ingested now, 0 when skipped (already stored, or .sum). */
typedef void (*puller_file_fn)(void *arg, const char *node, uint64_t seq, const char *name,
                               const store_ingest_result *result, int stored);

typedef struct puller_config {
    const char *node;        /* the node's name (cursor key, logs) */
    const char *endpoint;    /* its data endpoint */
    zcert_t *cert;           /* our key pair (not owned); NULL = no CURVE (tests) */
    const char *server_key;  /* the node's public key, Z85; with cert */
    store_db *store;        /* not owned */
    int store_nometasync;    /* the store needs store_sync before acks */
    puller_path_fn path;
    void *path_arg;
    const char *quarantine_dir; /* files the store refuses are kept here (then acked);
                                 * NULL: they are left on the node, unacked */
    puller_file_fn on_file;  /* may be NULL */
    void *on_file_arg;
    unsigned window;         /* files fetched at once (1-16; 0 = 16) */
    unsigned credit;         /* chunks in flight per file (0 = 4) */
    unsigned chunk_size;     /* bytes per chunk (0 = 256 KiB) */
    unsigned list_max;       /* files per listing (0 = 512) */
    double poll_s;           /* listing period when the node has nothing (0 = 1 s) */
    double timeout_s;        /* no answer within: reset (0 = 15 s) */
} puller_config;

typedef struct puller_stats {
    uint64_t files;          /* .owp files ingested */
    uint64_t records;        /* records stored */
    uint64_t skipped;        /* already stored, duplicate sessions, .sum files */
    uint64_t gaps;           /* missing seq ranges the node explained, passed */
    uint64_t acked;          /* seqs acked */
    uint64_t bytes;          /* bytes received in chunks */
    uint64_t resets;         /* timeouts and errors that reset the puller */
    unsigned max_credit_seen;/* most chunks ever outstanding for one file (tests) */
} puller_stats;

typedef struct puller puller;

/* Why a node did not answer within the timeout, from libzmq's socket
 * monitor on the puller's socket: nothing listening there (connection
 * refused), the node refused our key (the CURVE handshake failed: ZAP
 * denied it, or the node's key is not the one we have), or connected and
 * no answer. */
typedef enum puller_silence {
    PULLER_ANSWERED = 0,     /* no timeout since the last reset */
    PULLER_NOT_LISTENING,
    PULLER_KEY_REFUSED,
    PULLER_TIMED_OUT
} puller_silence;

puller *puller_new(const puller_config *config, owp_err *err);
void puller_destroy(puller **self_p);

/* The DEALER, for the caller's poller; it changes after a reset: re-read it
 * every turn (NULL while backing off). */
zsock_t *puller_socket(puller *self);
/* Counts the sockets opened: a new value means a new socket, even one that
 * got the address of the one destroyed (a poller must watch it anew). */
unsigned puller_socket_serial(const puller *self);
/* The socket is readable: handle every waiting message. */
void puller_handle(puller *self, double now);
/* Timeouts, listings, back-off. Call every turn (now: monotonic seconds). */
void puller_tick(puller *self, double now);
/* 1 while nothing is waiting: the node listed no file after the cursor. */
int puller_idle(const puller *self);
const puller_stats *puller_get_stats(const puller *self);
const char *puller_node(const puller *self);
/* Point at another endpoint/key (the directory changed): reset. */
owp_status puller_retarget(puller *self, const char *endpoint, const char *server_key,
                           owp_err *err);
const char *puller_endpoint(const puller *self);
/* The verdict of the last timeout (PULLER_ANSWERED once the node answers). */
puller_silence puller_last_silence(const puller *self);
/* "not listening", "refused our key", "timed out" (or "answered"). */
const char *puller_silence_name(puller_silence why);

#endif
