/*
 * server_internal.h - what the parts of the server engine share: the server
 * object, one control connection, and the few calls between the parts.
 * Not installed; server.h is the public interface.
 *
 *   server.c        the connection: handshake, sessions, Stop-Sessions, tests
 *   server_fetch.c  Fetch-Session: streams a stored session back
 *   datadir.c       where session files live (datadir.h)
 */
#ifndef OWP_SERVER_INTERNAL_H
#define OWP_SERVER_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "channel.h"
#include "server.h"

struct owp_server {
    owp_server_config cfg;
    char *datadir; /* cfg.datadir, without trailing slashes */
    struct sockaddr_storage test_local;
    atomic_int stop_requested;
};

typedef struct session session; /* one test session: server.c */

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

/* A log line through the configured callback (none: dropped). */
void owp_srv_log(const owp_server *s, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Send one control message and its HMAC. */
owp_status owp_srv_send_msg(conn *c, const uint8_t *buf, size_t len, owp_err *err);

/* Answer a Fetch-Session whose first block is first (server_fetch.c).
 * Returns an error only when the connection cannot go on. */
owp_status owp_srv_fetch(conn *c, const uint8_t first[16], owp_err *err);

#endif
