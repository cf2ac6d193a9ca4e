/*
 * server.h - the OWAMP-Control server engine (RFC 4656 section 3, server
 * side).
 *
 * One call of owp_server_serve() is one control connection, start to end,
 * blocking: greeting, Set-Up-Response, Server-Start, then commands
 * (Request-Session, Start-Sessions, Stop-Sessions, Fetch-Session) until the
 * client closes. owampd forks one process per connection, so a stalled or
 * hostile client never blocks others; the test endpoints of the connection
 * run in threads of that process.
 *
 * Receive sessions are stored live in the data directory and fetched from
 * there. Its layout and start-up preparation, the log priorities and the log
 * callback type are in datadir.h, which this header includes.
 *
 * Policy (limits, classes, open-mode filtering) plugs in through
 * owp_server_policy; every hook is optional and the default allows
 * everything with the class path "default".
 *
 * The library never prints: it reports through the log callback of the
 * configuration and through owp_err.
 */
#ifndef OWP_SERVER_H
#define OWP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "datadir.h"
#include "error.h"
#include "owamp.h"
#include "pfs.h"
#include "timestamp.h"

/* What the policy hooks know about one control connection. */
typedef struct owp_server_conn_info {
    const struct sockaddr *peer;     /* the control client */
    socklen_t peer_len;
    owp_mode mode;                   /* 0 before Set-Up-Response */
    const char *identity;            /* KeyID in A/E, "" in open mode */
    const char *class_path;          /* "default" unless the control hook chose another */
} owp_server_conn_info;

typedef struct owp_server_policy {
    void *arg; /* passed to every hook */
    /* Before the greeting: the modes to offer this peer (e.g. without open
     * mode when its class forbids it). NULL: the configured modes. */
    uint32_t (*greeting_modes)(void *arg, const struct sockaddr *peer, socklen_t peer_len,
                               uint32_t configured);
    /* After a successful Set-Up-Response: an Accept value for Server-Start
     * (0 accepts) and, in class_path (capacity OWP_SERVER_CLASS_MAX, preset to
     * "default"), the class directory path ("root/regular") under hierarchy/
     * for this connection's receive sessions. NULL: accept, "default". */
    int (*control)(void *arg, const owp_server_conn_info *conn, char *class_path);
    /* Each Request-Session, before any resource is taken: an Accept value
     * (0 allows). req has the SID and ports still as the client sent them.
     * *handle (preset to 0) may be set to any number naming what the policy
     * granted (owampd: its resource grant); it comes back in session_end.
     * NULL: allow. */
    int (*session)(void *arg, const owp_server_conn_info *conn, const owp_request *req,
                   uint64_t *handle);
    /* Each session that session() allowed, when it ends (or is refused later):
     * release what it holds (handle as session() set it). For receive sessions
     * path is the stored file and file_size its final size (NULL / 0 for send
     * sessions and for receive sessions whose file is deleted anyway:
     * keep_file 0 - a refused or failed session). Returning non-zero deletes
     * the stored file (e.g. a hard disk limit). NULL: keep. */
    int (*session_end)(void *arg, const owp_server_conn_info *conn, const owp_request *req,
                       uint64_t handle, int keep_file, const char *path, uint64_t file_size);
    /* After a fetch of a whole session (begin 0, end 0xFFFFFFFF, accepted):
     * file_class is the class path of the directory holding the file ("" when
     * unknown), file_size its size. Non-zero deletes the file and its catalog
     * entry (delete_on_fetch). NULL: keep. */
    int (*fetched)(void *arg, const owp_server_conn_info *conn, const char *file_class,
                   const char *path, uint64_t file_size);
} owp_server_policy;

typedef struct owp_server_config {
    uint32_t modes;                 /* owp_mode bits offered; default O|A|E */
    const owp_pfs *pfs;             /* identities for A/E; NULL = none (A/E then always fail) */
    uint32_t pbkdf2_count;          /* greeting Count; 0 = 2048 */
    const char *datadir;            /* absolute path; see owp_server_datadir_init() */
    owp_portrange testports;        /* UDP ports of test endpoints; 0-0 ephemeral */
    /* Address test endpoints bind to; NULL = the control connection's local address. */
    const struct sockaddr *test_local;
    socklen_t test_local_len;
    uint32_t controltimeout;        /* seconds per expected control message; 0 = none */
    /* Seconds from accept to a complete set-up (greeting out, the client's
     * Set-Up-Response in, Server-Start out): short, so that idle or dribbling
     * connections do not hold a process for controltimeout. 0 = controltimeout;
     * never longer than a non-zero controltimeout. */
    uint32_t setuptimeout;
    double enddelay;                /* seconds after last packet + timeout before our Stop-Sessions */
    owp_num64 start_time;           /* Server-Start Start-Time: when the daemon started */
    /* TWAMP-Control (RFC 5357, twampd): the commands are Request-TW-Session,
     * Start-Sessions and Stop-Sessions, each session is a Session-Reflector
     * (reflector.h), and modes may include OWP_MODE_MIXED (RFC 5618). */
    int twamp;
    uint32_t testtimeout;           /* TWAMP: a reflector idle this many seconds ends; 0 = 900 */
    owp_server_policy policy;
    owp_log_fn log;          /* NULL: silent */
    void *log_arg;
} owp_server_config;

void owp_server_config_default(owp_server_config *cfg);

typedef struct owp_server owp_server;

/* Copies cfg (strings and the policy struct; pfs stays owned by the caller
 * and must outlive the server). */
owp_server *owp_server_new(const owp_server_config *cfg, owp_err *err);
void owp_server_destroy(owp_server **self_p);

/* Serve one control connection on the connected socket fd (ownership taken:
 * fd is closed on return). peer is the client's address. Returns OWP_OK when
 * the client closed the connection between messages or after a clean
 * shutdown request; otherwise the error that ended the connection (it was
 * also logged, naming the peer). */
owp_status owp_server_serve(owp_server *self, int fd, const struct sockaddr *peer,
                            socklen_t peer_len, owp_err *err);

/* Ask a running owp_server_serve to finish: running tests stop early but the
 * Stop-Sessions exchange still happens (SIGTERM/SIGHUP in owampd's
 * per-connection child); outside a test the connection closes at the next
 * message boundary. Async-signal-safe. */
void owp_server_stop(owp_server *self);

#endif
