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
 * Every session that measured something is written to the output directory
 * as START_END.owp and START_END.sum (START/END: 20-digit decimal 32.32
 * times); with sub_count, each sub-session of sub_count packets also gets a
 * preliminary START_END.sum (SESSION_FINISHED 0). Files are written under a
 * temporary name (NAME.i) and linked to NAME when complete.
 *
 * Unmeasured is not lost. Only packets of a session that really ran can be
 * lost; time the stream could not measure is reported as an UNMEASURED
 * interval (unmeasured_fn, and a log line), never written as lost packets:
 *  - a session that could not be set up (server down, refused, network
 *    gone, a local failure) writes no file at all. While set-ups fail, the
 *    time line's next start moves along with the clock, so the first session
 *    set up once the server answers again starts one set-up lead later (not
 *    at some session boundary far ahead); the unmeasured interval runs from
 *    where measurement stopped to that session's start, so the time line
 *    stays stitched: measured sessions and unmeasured intervals abut.
 *    Consecutive failures are one interval, reported once its end has passed
 *    and at least once per session length while the outage lasts;
 *  - a session cut short (control connection lost, server stopped early)
 *    keeps what was measured: packets scheduled before the failure was seen
 *    (less one round trip for those still in flight) that did not arrive are
 *    lost; the packets scheduled after it were never sent and are the
 *    session's unmeasured remainder. The file ends at its last kept packet
 *    (marked unfinished, SESSION_FINISHED 0). A session that ends normally
 *    keeps its real losses;
 *  - every interval carries a reason (owp_stream_reason: the server refused,
 *    no answer, unreachable, local error) and the failure's message.
 * Set-ups are retried with exponential back-off from 1 s capped at the retry
 * delay and at OWP_STREAM_RETRY_MAX seconds, so a server that comes back is
 * measured again within one set-up; owp_stream_retry_now() skips the wait
 * (the mesh agent calls it when the coordinator says a peer is back). Only a
 * stop requested by the caller ends a session short without reporting its
 * rest (the file then ends at its last measured packet).
 *
 * The engine runs in its own thread per stream; it never prints, never uses
 * signals or globals, and reports through callbacks, all called from the
 * stream's thread: file_fn for each finished file, unmeasured_fn for each
 * unmeasured interval, log_fn for log lines (syslog priorities).
 * owp_stream_stop() returns at once; the thread then ends the running
 * sessions with Stop-Sessions (bounded by a few seconds), writes their files,
 * reports the unmeasured time up to now and exits; owp_stream_destroy()
 * waits for that.
 */
#ifndef OWP_STREAM_H
#define OWP_STREAM_H

#include <stdint.h>

#include "client.h"
#include "error.h"
#include "owamp.h"
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
    int complete;            /* 1: the session ran to its end normally */
} owp_stream_file;

typedef void (*owp_stream_file_fn)(void *arg, const owp_stream_file *file);

/* Why time could not be measured. Independent of any mesh vocabulary: the
 * mesh agent maps these to its own reasons (and adds "peer down"). */
typedef enum owp_stream_reason {
    OWP_STREAM_REFUSED = 1,   /* connection refused or reset, or the server refused the
                               * connection or session, or ended the session early */
    OWP_STREAM_TIMEOUT,       /* no answer in time: connect, handshake, control messages */
    OWP_STREAM_UNREACHABLE,   /* no route, host or network unreachable, name lookup failed */
    OWP_STREAM_LOCAL          /* a failure of this host: disk, memory, local sockets */
} owp_stream_reason;

/* "owampd refused", "control timeout", "unreachable", "local error". */
const char *owp_stream_reason_text(owp_stream_reason r);

/* An interval of the stream's time line that was not measured. */
typedef struct owp_stream_unmeasured {
    owp_num64 start, end;     /* [start, end), OWAMP times; never in the future */
    owp_stream_reason reason;
    const char *detail;       /* the failure's message (valid during the call only) */
} owp_stream_unmeasured;

typedef void (*owp_stream_unmeasured_fn)(void *arg, const owp_stream_unmeasured *u);

/* Back-off cap whatever the retry delay: a server that comes back is tried
 * again within this many seconds. */
#define OWP_STREAM_RETRY_MAX 5.0

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
    double retry_delay;          /* -I: cap of the reconnection back-off, seconds (default 60;
                                  * never more than OWP_STREAM_RETRY_MAX) */
    double bucket_width;         /* -b (default 0.0001) */
    int unix_times;              /* -U: UNIX_START_TIME/UNIX_END_TIME in .sum files */
    int numeric_hosts;           /* .sum FROM_HOST/TO_HOST as numeric addresses: no DNS
                                    lookups at all (powstream resolves them once per stream) */
    const char *dir;             /* -d: output directory (default ".") */
    int verbose;                 /* > 0: more LOG_DEBUG lines (session starts) */
    double min_lead;             /* least seconds between Request-Session and the start
                                  * time (default 1.0 + 2 x RTT) */
    owp_stream_file_fn file_fn;  /* may be NULL */
    owp_stream_unmeasured_fn unmeasured_fn; /* may be NULL (the intervals are logged) */
    owp_log_fn log_fn;    /* may be NULL */
    void *arg;                   /* passed to every callback */
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

/* Retry the set-up now, whatever the back-off says (e.g. the peer is known
 * to be back). Safe from any thread; the stream's thread acts on it. */
void owp_stream_retry_now(owp_stream *self);

/* The requested start time of the stream's first session (now + start_delay
 * when the stream was started). */
owp_num64 owp_stream_first_start(const owp_stream *self);

/* 1 once the stream's thread has finished (after a stop). */
int owp_stream_done(const owp_stream *self);

/* Stop (if not yet asked), wait for the thread, free everything. */
void owp_stream_destroy(owp_stream **self_p);

/* Counters, readable at any time from any thread. */
typedef struct owp_stream_counters {
    uint64_t sessions;           /* sessions set up that have ended */
    uint64_t sessions_measured;  /* ... that measured something: files written */
    uint64_t sessions_unmeasured;/* ... that measured nothing: no file, all unmeasured */
    uint64_t sessions_cut;       /* ... measured in part: file, then an unmeasured rest */
    uint64_t files;              /* files written */
    uint64_t connect_failures;   /* failed connection or session set-up attempts */
    uint64_t packets_lost;       /* lost records written (packets of sessions that ran) */
    uint64_t intervals;          /* unmeasured intervals reported */
} owp_stream_counters;
void owp_stream_get_counters(owp_stream *self, owp_stream_counters *c);

/* Where the stream stands, for health reports (all times OWAMP, wall clock). */
typedef struct owp_stream_health {
    owp_num64 last_attempt;      /* last session set-up attempt; 0 = none yet */
    owp_num64 last_setup;        /* last successful set-up; 0 = none yet */
    owp_num64 failing_since;     /* first failure since the last successful set-up
                                  * (set-up or cut session); 0 = not failing */
    owp_stream_reason reason;    /* of the latest failure, while failing */
} owp_stream_health;
void owp_stream_get_health(owp_stream *self, owp_stream_health *h);

/* Number of control connections the stream uses for these options: 2, or more
 * when a session is shorter than the loss timeout + end delay + set-up lead. */
unsigned owp_stream_pool_size(const owp_stream_opts *o);

/* File name of a session or sub-session: "START_END.EXT" with 20-digit times. */
void owp_stream_file_name(char *buf, unsigned len, owp_num64 start, owp_num64 end,
                          const char *ext);

#endif
