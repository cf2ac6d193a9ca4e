/*
 * client_internal.h - what the parts of the client engine share: the client
 * object (one control connection), its sessions, and the few calls between
 * the parts. Not installed; client.h is the public interface.
 *
 *   client.c          the control connection: connect, Server-Greeting /
 *                     Set-Up-Response / Server-Start, accessors, close
 *   client_session.c  Request-Session / Accept-Session, Start-Sessions and
 *                     the local sender and receiver threads
 *   client_stop.c     waiting for the end of the test, Stop-Sessions both
 *                     ways, session results, reset for the next set
 *   client_fetch.c    Fetch-Session: the stored session streamed back
 *
 * The control connection is driven by the caller's thread only; each local
 * test endpoint (sender or receiver) runs in its own thread and talks to the
 * control side through atomics (stop flags, done flags) and, after a join,
 * through its result fields.
 */
#ifndef OWP_CLIENT_INTERNAL_H
#define OWP_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client.h"
#include "clock.h"
#include "endpoint.h"
#include "owpfile.h"

typedef struct client_session {
    owp_direction dir;
    owp_request req;                 /* owns slots; SID and ports as accepted */
    owp_endpoint *ep;
    struct sockaddr_storage peer;    /* test peer, port = the server's test port */
    socklen_t peer_len;
    owp_session_keys keys;
    double enddelay;
    owp_num64 last_packet;           /* scheduled time of the last packet */

    /* receiver side ("from") */
    FILE *out;
    owp_file_writer *writer;
    atomic_uint stop_next_seqno;
    atomic_uint seen_next;           /* highest received seq + 1 (set by the receiver thread) */
    owp_status write_status;         /* first failure to store a record */
    owp_err write_err;
    owp_recv_stats rstats;

    /* sender side ("to") */
    owp_send_result sent;

    /* thread */
    pthread_t thread;
    int thread_started, thread_joined;
    atomic_int stop;
    atomic_int done;
    owp_status thread_status;
    owp_err thread_err;

    /* outcome */
    int got_server_stop;             /* the server's Stop-Sessions listed this session */
    uint32_t result_next_seqno;
    uint32_t result_nskips;
    int file_finished;
    int stopped_early;
} client_session;

struct owp_client {
    owp_chan *chan;
    char peer_name[300];
    struct sockaddr_storage local, peer;
    socklen_t local_len, peer_len;
    const char *bind_device;
    char bind_device_buf[64];
    struct sockaddr_storage src;     /* -S, resolved to the control family */
    socklen_t src_len;               /* 0: none */
    char src_host[256];
    int family_wanted;

    uint32_t server_modes;
    owp_mode mode;
    uint8_t aes_key[16], hmac_key[32];
    double rtt;
    owp_num64 server_start;
    int control_timeout_ms;

    client_session *sess;
    unsigned nsess, cap;
    int started;
    int finished;                    /* Stop-Sessions exchange completed (or abandoned) */
    int stopping;
    int sent_stop;
    int got_server_stop;
    uint8_t server_stop_accept;
    double stop_began;               /* monotonic seconds when stopping began */
    int wait_began;                  /* test_end computed */
    double test_end;                 /* monotonic bound on the whole test */
    owp_status finish_status;        /* outcome of the finished exchange */
};

/* Seconds from now until the absolute OWAMP time t (negative when past). */
static inline double owp_cli_seconds_until(owp_num64 t)
{
    owp_num64 now = owp_clock_now(NULL);
    if (t >= now)
        return owp_num64_to_double(t - now);
    return -owp_num64_to_double(now - t);
}

/* Resolve the -S address for family (port 0) (client.c). */
owp_status owp_cli_resolve_src(const char *src, int family, struct sockaddr_storage *out,
                               socklen_t *outlen, owp_err *err);

/* SO_BINDTODEVICE (-B) on fd; a NULL device does nothing (client.c). */
owp_status owp_cli_bind_device(int fd, const char *device, owp_err *err);

/* Join the session's endpoint thread if it runs and was not joined yet
 * (client_session.c). */
void owp_cli_join_session(client_session *s);

/* Free what a session owns; its thread must be joined (client_session.c). */
void owp_cli_session_free(client_session *s);

#endif
