/*
 * stream.h - the continuous-stream engine: powstream's measurement as a
 * library module, so that one process can run many streams at once (the
 * mesh node agent runs one per path).
 *
 * A stream is an endless sequence of OWAMP sessions of npackets each, stitched
 * together so that the packet stream has no seam: session k+1 starts at the
 * scheduled send time of the last packet of session k, and is requested and
 * started on another control connection while session k still runs. The
 * engine keeps a small pool of control connections (two, as the reference's
 * powstream, or more when sessions are shorter than the time the Stop-Sessions
 * exchange of a session takes, so that short sessions still abut).
 *
 * Every session, whatever happened to it, is written to the output directory
 * as START_END.owp and START_END.sum (START/END: 20-digit decimal 32.32
 * times); with sub_count, each sub-session of sub_count packets also gets a
 * preliminary START_END.sum (SESSION_FINISHED 0). Files are written under a
 * temporary name (NAME.i) and linked to NAME when complete.
 *
 * Faults never leave a hole in the time line:
 *  - a session that could not be set up in time (server down, refused,
 *    network gone) is written as a session whose packets are all lost, with a
 *    schedule made locally (a random SID), so the next session still starts at
 *    its last packet;
 *  - a session cut short (connection lost, server stopped early, control
 *    connection stalled) keeps what was measured, and the packets it could
 *    not measure are appended as lost records (the file is then marked
 *    unfinished, SESSION_FINISHED 0).
 * Connections are re-established with exponential back-off capped at the
 * retry delay. Only a stop requested by the caller ends a session short
 * without padding (the file then ends at its last measured packet).
 *
 * The engine runs in its own thread per stream; it never prints, never uses
 * signals or globals, and reports through two callbacks, both called from
 * the stream's thread: file_fn for each finished file, log_fn for log lines
 * (syslog priorities). owp_stream_stop() returns at once; the thread then
 * ends the running sessions with Stop-Sessions (bounded by a few seconds),
 * writes their files and exits; owp_stream_destroy() waits for that.
 */
#ifndef OWP_STREAM_H
#define OWP_STREAM_H

#include <stdint.h>

#include "client.h"
#include "endpoint.h"
#include "error.h"
#include "timestamp.h"

typedef enum owp_stream_file_kind {
    OWP_STREAM_FILE_OWP = 0, /* START_END.owp: the session data */
    OWP_STREAM_FILE_SUM,     /* START_END.sum: the -M summary of the whole session */
    OWP_STREAM_FILE_SUBSUM   /* START_END.sum: a preliminary sub-session summary */
} owp_stream_file_kind;

/* What file_fn is told about a finished file (valid during the call only). */
typedef struct owp_stream_file {
    owp_stream_file_kind kind;
    const char *path;        /* DIR/START_END.owp|.sum */
    owp_num64 start, end;    /* the times in the name */
    uint64_t session;        /* index of the session in the stream, from 0 */
    uint32_t first_seq;      /* seqs covered: [first_seq, last_seq) */
    uint32_t last_seq;
    int measured;            /* 0: a session that could not run (all packets lost) */
    int complete;            /* 1: the session ran to its end normally */
} owp_stream_file;

typedef void (*owp_stream_file_fn)(void *arg, const owp_stream_file *file);
/* priority: LOG_ERR, LOG_WARNING, LOG_INFO or LOG_DEBUG (syslog values). */
typedef void (*owp_stream_log_fn)(void *arg, int priority, const char *msg);

typedef struct owp_stream_opts {
    owp_client_opts client;      /* control connections: server, family, -S, -B, modes, key */
    const char *testpeer;        /* test peer host (port ignored); NULL = the server's address */
    int sender;                  /* 1 (-t): we send, data fetched from the server; 0: we receive */
    uint32_t npackets;           /* -c: packets per session (default 300) */
    uint32_t sub_count;          /* -N: packets per sub-session summary; 0 or npackets = none */
    double interval;             /* -i: mean seconds between packets (default 0.1) */
    double loss_timeout;         /* -L: seconds (default 10) */
    double enddelay;             /* -E: our sender's wait before Stop-Sessions (-t; default 1.0) */
    uint32_t padding;            /* -s */
    int dscp;                    /* -1 = unset */
    owp_portrange ports;         /* local test ports (default ephemeral) */
    double start_delay;          /* setup allowance of the first session (default 10 s; -z adds) */
    double retry_delay;          /* -I: cap of the reconnection back-off, seconds (default 60) */
    double bucket_width;         /* -b (default 0.0001) */
    int unix_times;              /* -U: UNIX_START_TIME/UNIX_END_TIME in .sum files */
    int numeric_hosts;           /* .sum FROM_HOST/TO_HOST as numeric addresses: no DNS
                                    lookups at all (powstream resolves them once per stream) */
    const char *dir;             /* -d: output directory (default ".") */
    int verbose;                 /* > 0: more LOG_DEBUG lines (session starts) */
    double min_lead;             /* least seconds between Request-Session and the start
                                  * time (default 1.0 + 2 x RTT) */
    owp_stream_file_fn file_fn;  /* may be NULL */
    owp_stream_log_fn log_fn;    /* may be NULL */
    void *arg;                   /* passed to both callbacks */
} owp_stream_opts;

void owp_stream_opts_default(owp_stream_opts *o);

/* Check options the way powstream reports them (e.g. sub_count must divide
 * npackets). Called by owp_stream_start too. */
owp_status owp_stream_check_opts(const owp_stream_opts *o, owp_err *err);

typedef struct owp_stream owp_stream;

/* Validate the options, copy them (strings included) and start the stream's
 * thread. Nothing is connected yet when this returns: connection failures are
 * logged and retried, never returned. */
owp_stream *owp_stream_start(const owp_stream_opts *o, owp_err *err);

/* Ask the stream to end: running sessions are stopped with Stop-Sessions and
 * their files written. Returns at once; safe from any thread, repeatable. */
void owp_stream_stop(owp_stream *self);

/* 1 once the stream's thread has finished (after a stop). */
int owp_stream_done(const owp_stream *self);

/* Stop (if not yet asked), wait for the thread, free everything. */
void owp_stream_destroy(owp_stream **self_p);

/* Counters, readable at any time from any thread. */
typedef struct owp_stream_counters {
    uint64_t sessions;           /* sessions written (measured or not) */
    uint64_t sessions_measured;  /* ... that ran */
    uint64_t sessions_unmeasured;/* ... that could not run: all packets lost */
    uint64_t sessions_cut;       /* ... that ended early and were padded with lost packets */
    uint64_t files;              /* files written */
    uint64_t connect_failures;   /* failed connection or session set-up attempts */
    uint64_t packets_lost;       /* lost records written (including padding) */
} owp_stream_counters;
void owp_stream_get_counters(const owp_stream *self, owp_stream_counters *c);

/* Number of control connections the stream uses for these options: 2, or more
 * when a session is shorter than the loss timeout + end delay + set-up lead. */
unsigned owp_stream_pool_size(const owp_stream_opts *o);

/* File name of a session or sub-session: "START_END.EXT" with 20-digit times. */
void owp_stream_file_name(char *buf, unsigned len, owp_num64 start, owp_num64 end,
                          const char *ext);

#endif
