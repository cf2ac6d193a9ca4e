/*
 * server_internal.h - what the parts of the server engine share: the server
 * object, one control connection, its test sessions, and the few calls
 * between the parts. Not installed; server.h is the public interface.
 *
 *   server.c          the connection: the server object, control I/O, the
 *                     handshake (greeting, Set-Up-Response, Server-Start)
 *                     and the command loop
 *   server_session.c  Request-Session / Accept-Session, the connection's
 *                     session table, Start-Sessions and the endpoint threads
 *   server_stop.c     the test phase: waiting for the sessions to end,
 *                     Stop-Sessions both ways, finishing the session files
 *   server_fetch.c    Fetch-Session: streams a stored session back
 *   datadir.c         where session files live (datadir.h)
 *
 * The connection is driven by one thread; each started session's endpoint
 * runs in its own thread and talks to the connection through atomics (stop,
 * stop_next_seqno, done) and, after a join, through its result fields.
 */
#ifndef OWP_SERVER_INTERNAL_H
#define OWP_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "channel.h"
#include "endpoint.h"
#include "owpfile.h"
#include "server.h"
#include "wire.h"

/* How often waits look at the stop request and the threads. */
#define OWP_SRV_POLL_SLICE_MS 100

struct owp_server {
    owp_server_config cfg;
    char *datadir; /* cfg.datadir, without trailing slashes */
    struct sockaddr_storage test_local;
    atomic_int stop_requested;
};

typedef struct session session;

/* One control connection. */
typedef struct conn {
    owp_server *srv;
    owp_chan *chan;
    char peer_name[160];
    struct sockaddr_storage peer;
    socklen_t peer_len;
    struct sockaddr_storage local;
    socklen_t local_len;
    owp_mode mode;
    char identity[OWP_KEYID_LEN + 1];
    char class_path[OWP_SERVER_CLASS_MAX];
    owp_session_keys keys;
    owp_server_conn_info info;
    session **sessions;
    size_t nsessions, cap;
} conn;

/* One requested test session and, once started, its endpoint thread. */
struct session {
    conn *c;
    owp_request req;     /* as accepted: SID and our port filled in; owns its slots */
    int server_receives; /* 1: we receive and store; 0: we send */
    int policy_held;     /* the policy's session() allowed it: session_end() is owed */
    uint64_t policy_handle;
    owp_endpoint *ep;
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    atomic_uint stop_next_seqno;
    atomic_int done;
    struct timespec done_at; /* CLOCK_MONOTONIC when the thread returned */
    owp_status status;
    owp_err err;
    owp_err write_err;
    owp_send_result sent;
    owp_recv_stats stats;
    /* receive sessions */
    FILE *fp;
    owp_file_writer *writer;
    char path[OWP_SERVER_PATH_MAX];
    char catalog[OWP_SERVER_PATH_MAX];
};

/* ---- server.c ---- */

/* A log line through the configured callback (none: dropped). */
#define owp_srv_log(s, prio, ...) owp_log((s)->cfg.log, (s)->cfg.log_arg, (prio), __VA_ARGS__)

/* Has owp_server_stop() been called? */
int owp_srv_stop_requested(const conn *c);

/* The configured control timeout in milliseconds (0: none). */
int owp_srv_control_timeout_ms(const conn *c);

/* The first block of the next command (waiting at most the control
 * timeout, in slices that see a stop request), or OWP_ERR_CLOSED when the
 * client closed the connection between messages, OWP_ERR_INTERRUPTED on a
 * stop request. */
owp_status owp_srv_next_command(conn *c, uint8_t blk[16], owp_err *err);

/* Send one control message and its HMAC. */
owp_status owp_srv_send_msg(conn *c, const uint8_t *buf, size_t len, owp_err *err);

/* ---- server_session.c ---- */

/* Answer a Request-Session whose first block is first: Accept-Session, and
 * on acceptance the session joins the table. Returns an error only when the
 * connection cannot go on. */
owp_status owp_srv_request_session(conn *c, const uint8_t first[16], owp_err *err);

/* Answer a Start-Sessions whose first block is first and start every
 * session's endpoint thread. OWP_ERR_REFUSED: a refusing Start-Ack was sent
 * and the sessions ended; the connection stays idle. */
owp_status owp_srv_start_sessions(conn *c, const uint8_t first[16], owp_err *err);

/* The session with this SID, or NULL. */
session *owp_srv_find_session(const conn *c, const uint8_t sid[OWP_SID_LEN]);

/* Stop and join the session's thread (if any). */
void owp_srv_join_session(session *sess);

/* Finish a receive session's file: header (Finished, Next Seqno), skip
 * ranges, flushed to the kernel. Its thread must be joined. Does nothing for
 * a send session or a file already finished. */
void owp_srv_finish_file(conn *c, session *sess, uint32_t finished, uint32_t next_seqno,
                         const owp_skip *skips, uint32_t nskips);

/* End a session for good: join, finish (unless owp_srv_finish_file did) or
 * delete its file, release policy resources, free. keep_file 0 deletes the
 * stored file. */
void owp_srv_end_session(conn *c, session *sess, uint32_t finished, uint32_t next_seqno,
                         const owp_skip *skips, uint32_t nskips, int keep_file);

/* End every session of the connection (used when the connection ends
 * without the Stop-Sessions exchange) and empty the table. */
void owp_srv_end_all_sessions(conn *c, uint32_t finished);

/* ---- server_stop.c ---- */

/* From Start-Ack to the end of the Stop-Sessions exchange. */
owp_status owp_srv_run_tests(conn *c, owp_err *err);

/* ---- twamp_server.c ---- */

/* The TWAMP-Control command loop (RFC 5357 3.5-3.8) after the handshake:
 * Request-TW-Session, Start-Sessions, Stop-Sessions; each accepted session
 * is a Session-Reflector thread (reflector.h). Returns as command_loop. */
owp_status owp_tw_command_loop(conn *c, owp_err *err);

/* ---- server_fetch.c ---- */

/* Answer a Fetch-Session whose first block is first.
 * Returns an error only when the connection cannot go on. */
owp_status owp_srv_fetch(conn *c, const uint8_t first[16], owp_err *err);

#endif
