/*
 * stream_internal.h - what the three files of the stream engine share (not
 * installed; stream.h is the contract):
 *   stream.c             the scheduler loop: set-up, polling, finishing and
 *                        stopping sessions on the pool of control connections,
 *                        and the public API (options, life cycle, counters);
 *   stream_files.c       publishing a finished session: its .owp (as received,
 *                        or rewritten to the packets it keeps), its .sum and
 *                        its sub-session .sum files (report.h renders them);
 *   stream_unmeasured.c  the time line of unmeasured intervals: why a failure
 *                        happened, the hole a failing set-up opens, the
 *                        intervals held until their end has passed, and the
 *                        set-up back-off.
 * Threading: everything here runs on the stream's own thread, except what
 * is marked as guarded by owp_stream.mu.
 */
#ifndef OWP_STREAM_INTERNAL_H
#define OWP_STREAM_INTERNAL_H

#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "client.h"
#include "error.h"
#include "owamp.h"
#include "sendsched.h"
#include "stream.h"
#include "timestamp.h"

#define STREAM_PATH_MAX 4096
#define TSTAMP_FMT "%020" PRIu64

/* A session in flight on a slot. */
typedef struct stream_session {
    uint64_t index;
    owp_num64 start, end;          /* file-name times */
    owp_request req;               /* as accepted (owned copy) */
    owp_sched *sched;
    char tmp_path[STREAM_PATH_MAX]; /* receive: the client's file; -t: the fetched copy */
    FILE *fp;
    uint32_t subs_done;            /* sub-session summaries written */
    owp_num64 sub_start;           /* name START of the next sub-session */
} stream_session;

typedef struct stream_slot {
    owp_client *client;
    int running;
    stream_session sess;
    owp_num64 alive_at;            /* the connection was last seen open (set-up, polls) */
} stream_slot;

/* A stretch of the time line that was not measured, and why. */
typedef struct stream_interval {
    owp_num64 start, end;
    owp_stream_reason reason;
    char detail[OWP_ERR_MSG_MAX];
} stream_interval;

/* How a session ended, as owp_strm_write_session needs to know it. */
typedef struct session_outcome {
    int ok;                        /* Stop-Sessions exchanged normally */
    owp_num64 alive_at;            /* unless ok: the server was last known alive */
    owp_stream_reason reason;      /* unless ok */
    char detail[OWP_ERR_MSG_MAX];
} session_outcome;

struct owp_stream {
    owp_stream_opts o;
    char *server, *testpeer, *dir, *identity, *src_addr, *bind_device, *default_port;
    uint8_t *passphrase;

    pthread_t thread;
    int thread_started;
    atomic_int stop;
    atomic_int done;
    atomic_int retry;              /* owp_stream_retry_now() was called */
    pthread_mutex_t mu;            /* guards counters, health and the wake-up */
    pthread_cond_t cv;
    owp_stream_counters counters;
    owp_stream_health health;

    owp_slot sched_slot;           /* one exponential slot of mean interval */
    stream_slot *slots;
    unsigned nslots;
    uint64_t next_index;
    owp_num64 first_start;
    owp_num64 next_start;
    double last_rtt;

    /* Set-up failures: the latest one (a hole opened later takes its reason)
     * and the back-off, for the whole stream (one dead server, one wait). */
    int have_fail;
    owp_stream_reason fail_reason;
    char fail_detail[OWP_ERR_MSG_MAX];
    unsigned failures;
    double retry_at;               /* monotonic seconds; 0 = no wait */

    /* Unmeasured time: the open hole [hole.start, next_start), and closed
     * intervals held until their end has passed. */
    int hole_open;
    stream_interval hole;
    stream_interval *held;
    unsigned nheld, held_cap;

    struct sockaddr_storage peer;  /* test peer (for spec.peer) */
    socklen_t peer_len;
    int have_peer;                 /* testpeer given apart from the server */

    /* Host names for .sum files, resolved once: a reverse lookup can take seconds
     * and must not sit on the measurement thread at every session boundary. */
    uint8_t named_addr[2][16];
    char host_name[2][NI_MAXHOST];
    int names_valid;
    const char *names_ptr[2];
};

/* Scheduled send time of seq in a session. */
static inline owp_num64 owp_strm_sched_time(const stream_session *ss, uint32_t seq)
{
    return ss->req.start_time + owp_sched_offset(ss->sched, seq);
}

/* ---- stream.c ---- */

/* A log line through log_fn (if any). */
#define owp_strm_log(s, priority, ...) owp_log((s)->o.log_fn, (s)->o.arg, (priority), __VA_ARGS__)

/* Add n to one of s->counters (takes s->mu). */
void owp_strm_count(owp_stream *s, uint64_t *field, uint64_t n);

/* ---- stream_files.c ---- */

/* A private file DIR/.pow.XXXXXX (mode 0644, unbuffered) for session data;
 * its name in path. NULL (and path "") on failure. */
FILE *owp_strm_temp_file(owp_stream *s, char *path, size_t len, owp_err *err);

/* Close and remove the session's data file, free its request and schedule. */
void owp_strm_session_clear(stream_session *ss);

/* While a receive session runs: write the sub-session summaries whose
 * packets have all settled. */
void owp_strm_running_subs(owp_stream *s, stream_slot *sl);

/* A finished session: its files, and its unmeasured rest. data: its data
 * file or NULL; user_stop: the caller ended the stream, so the file ends at
 * its last measured packet and nothing is reported about the rest. */
void owp_strm_write_session(owp_stream *s, stream_session *ss, const char *data, int user_stop,
                            session_outcome *o);

/* ---- stream_unmeasured.c ---- */

/* Why a set-up or a session failed, from its error. */
owp_stream_reason owp_strm_classify(const owp_err *err);

/* Mark o failed for reason, with a printf-style detail. */
void owp_strm_outcome_failed(session_outcome *o, owp_stream_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One more failure: wait (exponential back-off) before the next set-up. */
void owp_strm_back_off(owp_stream *s);

/* A set-up attempt failed: the time line and health say so; back off. */
void owp_strm_note_failure(owp_stream *s, owp_stream_reason reason, const char *detail);

/* A session was set up at ss->start: an open hole ends there. */
void owp_strm_note_setup(owp_stream *s, const stream_session *ss);

/* The next start is too near to be set up: open a hole (or extend it). */
void owp_strm_hole_overdue(owp_stream *s);

/* Report the held intervals whose end has passed (flush: all up to now). */
void owp_strm_report_held(owp_stream *s, int flush);

/* Session ss was not measured from `from` to its end: give the time back
 * to the time line, or hold it as an unmeasured interval. */
void owp_strm_give_back(owp_stream *s, const stream_session *ss, owp_num64 from,
                        const session_outcome *o);

#endif
