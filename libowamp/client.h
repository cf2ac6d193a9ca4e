/*
 * client.h - the OWAMP-Control client engine (RFC 4656 section 3, client side)
 * and the local ends of its test sessions.
 *
 * One owp_client is one control connection. The life of a test:
 *
 *   owp_client_open()      connect, read the Server-Greeting, pick a mode
 *                          (E, else A, else O among offered ∩ wanted), send
 *                          Set-Up-Response, read Server-Start; measures the RTT
 *   owp_client_request()   once per session: bind the local UDP endpoint,
 *                          Request-Session, Accept-Session ("to": the server
 *                          receives and makes the SID; "from": the server sends,
 *                          we make the SID)
 *   owp_client_start()     Start-Sessions / Start-Ack; the local senders and
 *                          receivers run in threads
 *   owp_client_wait()      wait for the end of every session, exchange
 *                          Stop-Sessions (the server's next_seqno/skip ranges
 *                          are applied to our receive files), or stop early when
 *                          *interrupt becomes non-zero; a Stop-Sessions the
 *                          server sends first stops our senders at once and is
 *                          answered straight away (RFC 4656 3.8).
 *                          owp_client_poll() is the same wait step by step;
 *                          owp_client_reset() readies the connection for the
 *                          next set of sessions
 *   owp_client_fetch()     Fetch-Session of a session the server received
 *                          (owp_client_recv_fetch() reads the response alone)
 *   owp_client_close()
 *
 * Every wait is bounded: control messages by the control timeout, the test by
 * its last scheduled packet + loss timeout + enddelay + a grace period. The
 * library never prints; errors name the peer and the message at fault.
 * An owp_client is used by one thread at a time (its own endpoint threads are
 * internal).
 */
#ifndef OWP_CLIENT_H
#define OWP_CLIENT_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "channel.h"
#include "error.h"
#include "owamp.h"
#include "timestamp.h"

#define OWP_CONTROL_PORT "861"
#define OWP_CLIENT_DEFAULT_TIMEOUT_MS 30000

typedef struct owp_client owp_client;

typedef struct owp_client_opts {
    const char *server;          /* control server operand: node, node:port, [v6]:port */
    const char *default_port;    /* NULL: "861" */
    int family;                  /* AF_UNSPEC (IPv6 first), AF_INET or AF_INET6 (-4/-6) */
    const char *src_addr;        /* -S: local address for control and test sockets, or NULL */
    const char *bind_device;     /* -B: SO_BINDTODEVICE for control and test sockets, or NULL */
    uint32_t modes;              /* wanted owp_mode bits (-A); 0 means open only */
    const char *identity;        /* -u KeyID (truncated to 80 bytes), or NULL */
    const uint8_t *passphrase;   /* pass-phrase bytes for A/E, or NULL (then only O) */
    size_t passphrase_len;
    int control_timeout_ms;      /* per control message; <= 0: OWP_CLIENT_DEFAULT_TIMEOUT_MS */
    /* TWAMP-Control (twping, twamp_client.h): modes may include OWP_MODE_MIXED
     * and the choice is E, else A, else M, else O, as the reference's twping. */
    int twamp;
} owp_client_opts;

void owp_client_opts_default(owp_client_opts *o);

/* Connect and complete the connection set-up, all of it within one
 * control_timeout_ms (a server that stalls or dribbles mid-handshake gets
 * OWP_ERR_TIMEOUT). A greeting asking for more than OWP_PBKDF2_COUNT_MAX
 * PBKDF2 iterations in A/E mode is OWP_ERR_PROTO. Refusals are OWP_ERR_REFUSED:
 * a greeting with Modes 0 ("server refused the connection"), no common mode
 * ("no common mode: server offers X, client wants Y"), Server-Start Accept != 0
 * (e.g. a wrong pass-phrase or unknown identity). */
owp_client *owp_client_open(const owp_client_opts *o, owp_err *err);
void owp_client_close(owp_client **self_p);

double owp_client_rtt(const owp_client *self);            /* seconds, Set-Up-Response -> Server-Start */
owp_num64 owp_client_server_start(const owp_client *self); /* Server-Start Start-Time (daemon start) */
owp_mode owp_client_mode(const owp_client *self);
uint32_t owp_client_server_modes(const owp_client *self);   /* modes the greeting offered */
/* Addresses of the control connection (for report host names). */
const struct sockaddr *owp_client_local_addr(const owp_client *self, socklen_t *len);
const struct sockaddr *owp_client_peer_addr(const owp_client *self, socklen_t *len);

/* The Start Time owping uses: now + max(delay_start, 1 s + RTT x (1 + nsessions)). */
owp_num64 owp_client_start_time(const owp_client *self, uint32_t nsessions, double delay_start);

typedef enum owp_direction {
    OWP_DIR_TO = 0,  /* we send, the server receives (Conf-Receiver = 1) */
    OWP_DIR_FROM = 1 /* the server sends, we receive (Conf-Sender = 1) */
} owp_direction;

typedef struct owp_test_spec {
    owp_direction dir;
    /* Test peer address (port ignored); NULL = the control server's address. */
    const struct sockaddr *peer;
    socklen_t peer_len;
    uint32_t npackets;
    const owp_slot *slots;       /* copied */
    uint32_t nslots;
    uint32_t padding;
    owp_num64 start_time;        /* absolute; see owp_client_start_time() */
    owp_num64 timeout;           /* loss threshold, 32.32 seconds */
    int dscp;                    /* 0-63 for Type-P and the socket's TOS; -1 = unset */
    owp_portrange ports;         /* local UDP ports (0-0: ephemeral) */
    double enddelay;             /* our sender waits last packet + timeout + enddelay before Stop-Sessions */
    FILE *out;                   /* OWP_DIR_FROM: receives the data, receiver layout (required);
                                  * stays owned by the caller, left positioned at its end */
} owp_test_spec;

/* Request one session. On success *index (if non-NULL) is its index for the
 * accessors below. A non-zero Accept-Session is OWP_ERR_REFUSED naming the value. */
owp_status owp_client_request(owp_client *self, const owp_test_spec *spec, unsigned *index,
                              owp_err *err);
unsigned owp_client_nsessions(const owp_client *self);
/* The session as requested and accepted (SID and both ports filled in). */
const owp_request *owp_client_session_request(const owp_client *self, unsigned index);
owp_direction owp_client_session_dir(const owp_client *self, unsigned index);

/* Start-Sessions; a non-zero Start-Ack is OWP_ERR_REFUSED. Starts the local endpoint threads. */
owp_status owp_client_start(owp_client *self, owp_err *err);

/* Estimated seconds from now until every session has ended (owping's
 * "Approximately %.1f seconds until results available"). */
double owp_client_seconds_until_results(const owp_client *self);

/* Wait for the sessions to end and exchange Stop-Sessions. If *interrupt (may
 * be NULL) becomes non-zero, the test is stopped early as by owp_client_stop_now().
 * A server Stop-Sessions with Accept != 0 is OWP_ERR_REFUSED; the receive files
 * are finished either way (finished = 1 after a good exchange). */
owp_status owp_client_wait(owp_client *self, const atomic_int *interrupt, owp_err *err);

/* The same wait, one step at a time, for callers that drive several
 * connections from one thread (the stream engine): does what is due, waits at
 * most timeout_ms (capped at 50 ms) for the server, and sets *done to 1 once
 * the test is over; the status and files are then as owp_client_wait leaves
 * them. Calling it again after *done returns OWP_OK with *done = 1. */
owp_status owp_client_poll(owp_client *self, const atomic_int *interrupt, int timeout_ms,
                           int *done, owp_err *err);

/* Forget the finished sessions so the same control connection can request,
 * start and stop another set (as powstream reuses its connections). Fails
 * while sessions are running. */
owp_status owp_client_reset(owp_client *self, owp_err *err);

/* Stop now: senders stop, our Stop-Sessions carries what was sent, and the
 * server's Stop-Sessions (awaited for a bounded time) ends our receivers. */
owp_status owp_client_stop_now(owp_client *self, owp_err *err);

/* Outcome of a local session after owp_client_wait(). */
typedef struct owp_session_result {
    uint32_t next_seqno;      /* "to": what we sent; "from": the server's Stop-Sessions value */
    uint32_t nskips;
    uint32_t nrecords;        /* "from": records written to the file */
    int stopped_early;
} owp_session_result;
owp_status owp_client_session_result(const owp_client *self, unsigned index,
                                     owp_session_result *r, owp_err *err);

/* What Fetch-Ack said. */
typedef struct owp_fetch_result {
    uint8_t finished;
    uint32_t next_seqno;
    uint32_t nskips;
    uint32_t nrecords;
} owp_fetch_result;

/* Fetch-Session of sid, records begin..end (0 and 0xFFFFFFFF = whole session),
 * written to out in the fetched layout (skip ranges, then records). A refused
 * fetch is OWP_ERR_REFUSED. result may be NULL. */
owp_status owp_client_fetch(owp_client *self, const uint8_t sid[OWP_SID_LEN], uint32_t begin,
                            uint32_t end, FILE *out, owp_fetch_result *result, owp_err *err);

/* The response half of owp_client_fetch(), for a caller that sent the
 * Fetch-Session itself on chan (any owp_chan in its mode, e.g. a fuzzer's
 * socketpair): Fetch-Ack, the stored Request-Session, the skip ranges and the
 * records, written to out in the fetched layout, every record's error
 * estimates checked. peer names the server in errors; sid, when not NULL, is
 * the SID asked for, which the stored request must carry. A refused fetch is
 * OWP_ERR_REFUSED. result may be NULL. */
owp_status owp_client_recv_fetch(owp_chan *chan, const char *peer, const uint8_t *sid, FILE *out,
                                 owp_fetch_result *result, owp_err *err);

#endif
