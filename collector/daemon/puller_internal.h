/*
 * puller_internal.h - what the puller's two files share (puller.h is the
 * contract): puller.c is the protocol with the node (listings, fetches
 * under credit, acks, resets, the clock); puller_ingest.c is what becomes
 * of one received file or gap in the store (digest check, ingest,
 * quarantine, the cursor). Threading: the caller's loop thread only.
 */
#ifndef OWM_PULLER_INTERNAL_H
#define OWM_PULLER_INTERNAL_H

#include "daemon_log.h"
#include "meshmsg.h"
#include "puller.h"

#define MAX_FILE_BYTES (1024ull * 1024 * 1024) /* a .owp beyond this is not one */

/* One entry of the queue, in seq order: a listed file, or a gap the node
 * explained (seqs seq..gap_last that are not in its spool). */
typedef struct pending {
    uint64_t seq;
    char stream_id[OWM_MSG_MAX_ID + 1];
    char name[OWM_MSG_MAX_ID + 1];
    char digest[OWM_MSG_DIGEST_HEX + 1]; /* "" from an older node */
    owm_file_kind kind;
    uint64_t size, start, end;
    int gap;                 /* a gap, not a file */
    uint64_t gap_last;
    owm_gap_reason gap_reason;
    int fetching, complete;
    int committed;           /* at or below the store's cursor: stored already, only to ack */
    unsigned outstanding;    /* chunks granted and not yet received */
    uint8_t *buf;
    size_t len, cap;
} pending;

struct puller {
    puller_config cfg;
    char *node, *endpoint, *server_key;
    zsock_t *sock;
    pending *q;
    size_t qn, qhead, qcap;
    uint64_t listed_upto;    /* highest seq listed or handled */
    uint64_t cursor;         /* the store's cursor for the node */
    int listing, more;
    int warned_legacy;       /* said once that the node's listings may skip files */
    int listed;              /* a listing was answered since the last reset */
    uint64_t synced_upto;    /* with nometasync: the cursor as of the last store_sync */
    /* Why the node is silent: libzmq's socket monitor on the DEALER,
     * what it saw since the socket was opened. */
    zsock_t *monitor;
    int seen_retry;          /* a connection refused (nothing bound there) */
    int seen_connect;        /* TCP connected */
    int seen_handshake;      /* the ZMTP/CURVE handshake succeeded */
    int seen_drop;           /* connected, then closed before the handshake succeeded */
    int seen_refusal;        /* the handshake failed (ZMQ_EVENT_HANDSHAKE_FAILED_*) */
    char refusal[96];        /* how it failed */
    puller_silence silence;  /* the last verdict (puller_last_silence) */
    unsigned socket_serial;  /* opened sockets so far (puller_socket_serial) */
    double list_at, deadline, reconnect_at, backoff;
    double store_backoff;    /* the wait before pulling again into a full store */
    uint64_t *acks;
    size_t nacks, acks_cap;
    double first_unacked;    /* when the oldest queued ack was queued */
    puller_stats stats;
};

/* Every log line names the node. */
#define log_line(self, level, fmt, ...) \
    log_##level("node %s: " fmt, (self)->node __VA_OPT__(,) __VA_ARGS__)

/* What became of one file; applied (stats, callback, ack, cursor) only once
 * the batch holding it is committed. */
typedef struct outcome {
    uint64_t seq, last;      /* last: seq, or a gap's last seq */
    char name[2 * OWM_MSG_MAX_ID + 2];
    store_ingest_result res;
    int has_res;  /* res is meaningful (passed to on_file) */
    int stored;   /* records stored now */
    int ack;      /* the node may drop it */
    int cursor;   /* the store's cursor moved to seq */
    int retry;    /* not handled (no safe copy of a refused file): pull it again later */
    int gap;      /* a gap the node explained, not a file */
    int full;     /* with retry: the store is full (not the file's fault) */
} outcome;

/* The kinds of file the store takes (the others only move the cursor). */
int puller_fetched_kind(owm_file_kind kind);

/* Ingest one complete queue entry (a file or a gap) inside the open batch:
 * o says what became of it, to be applied once the batch is committed. */
void puller_ingest_one(puller *self, const pending *p, outcome *o);

#endif
