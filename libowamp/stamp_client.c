/*
 * stamp_client.c - the STAMP Session-Sender (stamp_client.h): a sender
 * thread on the schedule, the reflected packets collected here.
 */
#include "stamp_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "clock.h"
#include "crypto.h"
#include "endpoint.h"
#include "endpoint_internal.h"
#include "hostport.h"
#include "pacer.h"
#include "sendsched.h"

#define POLL_MS 50
#define SEND_ENOBUFS_RETRIES 16

struct owp_stamp_client {
    owp_stamp_client_spec spec;   /* slots point at req.slots */
    owp_request req;
    owp_endpoint *ep;
    struct sockaddr_storage reflector, local;
    socklen_t reflector_len, local_len;
    owp_stamp_key *rx_key;        /* the collector's copy: a key serves one thread */
    size_t tlv_len;
    owp_tw_log log;               /* the records, in arrival order */
    owp_stamp_client_tlvs tlvs;
    uint32_t ignored;
    /* the sender thread */
    pthread_t thread;
    int thread_started;
    atomic_int stop, done;
    atomic_uint sent_upto;        /* every seq below was sent or skipped */
    owp_status send_status;
    owp_err send_err;
};

/* ------------------------------------------------------------ set-up */

static owp_status open_endpoint(owp_stamp_client *c, owp_err *err)
{
    const owp_stamp_client_spec *s = &c->spec;
    owp_endpoint_opts eo = {
        .family = s->reflector->sa_family, .local = s->local, .local_len = s->local_len,
        .ports = s->ports, .dscp = s->dscp, .bind_device = s->bind_device,
    };
    c->ep = owp_endpoint_new(&eo, err);
    return c->ep ? OWP_OK : (err ? err->code : OWP_ERR_SYS);
}

/* Our address: the spec's, or the one a socket connected to the reflector
 * is given (no packet is sent); the port is the endpoint's. */
static void find_local(owp_stamp_client *c)
{
    const owp_stamp_client_spec *s = &c->spec;
    c->local_len = sizeof c->local;
    if (s->local && s->local_len <= sizeof c->local) {
        memcpy(&c->local, s->local, s->local_len);
        c->local_len = s->local_len;
    } else {
        int fd = socket(s->reflector->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        memset(&c->local, 0, sizeof c->local);
        c->local.ss_family = s->reflector->sa_family;
        if (fd < 0 || connect(fd, s->reflector, s->reflector_len) != 0 ||
            getsockname(fd, (struct sockaddr *)&c->local, &c->local_len) != 0)
            c->local_len = s->reflector->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                              : sizeof(struct sockaddr_in);
        if (fd >= 0)
            close(fd);
    }
    owp_sockaddr_set_port((struct sockaddr *)&c->local, owp_endpoint_port(c->ep));
}

/* The report's view of the session. The SID (16 random octets) names the
 * session and seeds the schedule, as a server's SID does in OWAMP. */
static owp_status describe_session(owp_stamp_client *c, owp_err *err)
{
    const owp_stamp_client_spec *s = &c->spec;
    owp_request *r = &c->req;
    r->ipvn = s->reflector->sa_family == AF_INET6 ? 6 : 4;
    r->npackets = s->npackets;
    r->nslots = s->nslots;
    r->sender_port = owp_endpoint_port(c->ep);
    r->receiver_port = owp_sockaddr_port(s->reflector);
    r->padding = s->tlvs.extra_padding > 0 ? (uint32_t)s->tlvs.extra_padding : 0;
    r->start_time = s->start_time;
    r->timeout = owp_num64_from_double(s->timeout);
    r->typep = s->dscp > 0 ? (uint32_t)s->dscp << 24 : 0;
    r->slots = calloc(s->nslots, sizeof *r->slots);
    if (!r->slots)
        return owp_err_set(err, OWP_ERR_NOMEM, "STAMP sender: out of memory");
    memcpy(r->slots, s->slots, s->nslots * sizeof *r->slots);
    c->spec.slots = r->slots;
    find_local(c);
    uint8_t ipvn = r->ipvn;
    owp_sockaddr_to_wire((struct sockaddr *)&c->local, &ipvn, r->sender_addr);
    owp_sockaddr_to_wire(s->reflector, &ipvn, r->receiver_addr);
    return owp_random_bytes(r->sid, OWP_SID_LEN, err);
}

static owp_status check_spec(const owp_stamp_client_spec *s, owp_err *err)
{
    if (!s || !s->reflector || s->npackets == 0 || !s->slots || s->nslots == 0)
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP sender: a reflector, packets and a "
                                                 "schedule are needed");
    if (!owp_stamp_mode_valid(s->mode))
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP sender: mode %d", (int)s->mode);
    if ((s->mode == OWP_MODE_AUTH || s->tlvs.hmac) && !s->key)
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP sender: authenticated mode and the HMAC "
                                                 "TLV need a key");
    if (s->reflector_len > sizeof(struct sockaddr_storage))
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP sender: reflector address too long");
    size_t len = owp_stamp_base_len(s->mode) + owp_stamp_tlv_request_len(&s->tlvs);
    if (len > OWP_STAMP_PACKET_MAX)
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP sender: packets of %zu octets: at most %d",
                           len, OWP_STAMP_PACKET_MAX);
    return OWP_OK;
}

owp_stamp_client *owp_stamp_client_new(const owp_stamp_client_spec *spec, owp_err *err)
{
    if (check_spec(spec, err) != OWP_OK)
        return NULL;
    owp_stamp_client *c = calloc(1, sizeof *c);
    if (!c) {
        owp_err_set(err, OWP_ERR_NOMEM, "STAMP sender: out of memory");
        return NULL;
    }
    c->spec = *spec;
    atomic_init(&c->stop, 0);
    atomic_init(&c->done, 0);
    atomic_init(&c->sent_upto, 0);
    memcpy(&c->reflector, spec->reflector, spec->reflector_len);
    c->reflector_len = spec->reflector_len;
    c->tlv_len = owp_stamp_tlv_request_len(&spec->tlvs);
    if (owp_tw_log_init(&c->log, spec->npackets, err) != OWP_OK)
        goto fail;
    if (spec->key && !(c->rx_key = owp_stamp_key_dup(spec->key, err)))
        goto fail;
    if (open_endpoint(c, err) != OWP_OK || describe_session(c, err) != OWP_OK)
        goto fail;
    return c;
fail:
    owp_stamp_client_destroy(&c);
    return NULL;
}

void owp_stamp_client_destroy(owp_stamp_client **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_stamp_client *c = *self_p;
    if (c->thread_started) {
        atomic_store(&c->stop, 1);
        pthread_join(c->thread, NULL);
    }
    owp_stamp_key_destroy(&c->rx_key);
    owp_endpoint_destroy(&c->ep);
    free(c->req.slots);
    owp_tw_log_clear(&c->log);
    free(c);
    *self_p = NULL;
}

const owp_request *owp_stamp_client_request(const owp_stamp_client *c) { return &c->req; }

const struct sockaddr *owp_stamp_client_local(const owp_stamp_client *c, socklen_t *len)
{
    *len = c->local_len;
    return (const struct sockaddr *)&c->local;
}

const struct sockaddr *owp_stamp_client_reflector(const owp_stamp_client *c, socklen_t *len)
{
    *len = c->reflector_len;
    return (const struct sockaddr *)&c->reflector;
}

double owp_stamp_client_seconds_until_results(const owp_stamp_client *c)
{
    const owp_request *r = &c->req;
    double wait = owp_num64_to_double(r->start_time) - owp_num64_to_double(owp_clock_now(NULL));
    return (wait > 0 ? wait : 0) +
           r->npackets * owp_slots_mean_interval(r->slots, r->nslots) + c->spec.timeout;
}

const owp_tw_record *owp_stamp_client_records(const owp_stamp_client *c, uint32_t *n)
{
    *n = (uint32_t)c->log.n;
    return c->log.records;
}

const owp_stamp_client_tlvs *owp_stamp_client_tlv_summary(const owp_stamp_client *c)
{
    return &c->tlvs;
}

uint32_t owp_stamp_client_ignored(const owp_stamp_client *c) { return c->ignored; }

/* ------------------------------------------------------------ sending */

/* ENOBUFS is retried a few times; any other failure loses this packet,
 * which the collection reports lost. A bad socket ends the session. */
static owp_status send_packet(const owp_stamp_client *c, const uint8_t *buf, size_t len,
                              uint32_t seq, owp_err *err)
{
    for (int tries = 0;; tries++) {
        if (sendto(owp_endpoint_fd(c->ep), buf, len, 0, (const struct sockaddr *)&c->reflector,
                   c->reflector_len) >= 0)
            return OWP_OK;
        if (errno == EINTR || (errno == ENOBUFS && tries < SEND_ENOBUFS_RETRIES))
            continue;
        if (errno == EBADF || errno == ENOTSOCK || errno == EFAULT)
            return owp_err_sys(err, "send STAMP test packet %u", seq);
        return OWP_OK;
    }
}

/* Packet seq, due at due: TLVs first (the HMAC TLV does not cover the
 * timestamp), then the wait, the timestamp, the base's HMAC and the send. */
static owp_status send_one(owp_stamp_client *c, owp_pacer *pacer, uint8_t *buf, size_t len,
                           uint32_t seq, owp_num64 due, uint32_t sent, owp_err *err)
{
    const owp_stamp_client_spec *s = &c->spec;
    size_t base = owp_stamp_base_len(s->mode);
    owp_status st = owp_stamp_tlv_request_encode(&s->tlvs, s->key, seq, sent + 1, buf + base,
                                                 len - base, err);
    if (st != OWP_OK || owp_pacer_wait_until(pacer, due, &c->stop))
        return st;
    owp_stamp_sender m = {.seq = seq, .ssid = s->ssid};
    m.timestamp = owp_clock_now(&m.errest);
    if ((st = owp_stamp_sender_encode(s->mode, s->key, &m, buf, len, err)) != OWP_OK)
        return st;
    /* Before the send: its reflection may be back before this thread runs again. */
    atomic_store(&c->sent_upto, seq + 1);
    return send_packet(c, buf, len, seq, err);
}

static owp_status send_loop(owp_stamp_client *c, owp_pacer *pacer, owp_sched *sched, uint8_t *buf,
                            size_t len, owp_err *err)
{
    owp_num64 due = c->spec.start_time, timeout = c->req.timeout;
    uint32_t sent = 0;
    for (uint32_t seq = 0; seq < c->spec.npackets && !atomic_load(&c->stop); seq++) {
        due = owp_ep_add_saturated(due, owp_sched_next_delta(sched));
        /* A packet found later than the loss timeout would count as lost
         * anyway: skipped (reported lost). */
        if (owp_clock_now(NULL) <= owp_ep_add_saturated(due, timeout)) {
            owp_status st = send_one(c, pacer, buf, len, seq, due, sent, err);
            if (st != OWP_OK)
                return st;
            if (atomic_load(&c->stop))
                break;
            sent++;
        }
        atomic_store(&c->sent_upto, seq + 1);
    }
    return OWP_OK;
}

static void *sender_main(void *arg)
{
    owp_stamp_client *c = arg;
    size_t len = owp_stamp_base_len(c->spec.mode) + c->tlv_len;
    uint8_t *buf = calloc(1, len);
    owp_sched *sched = owp_sched_new(c->req.sid, c->req.slots, c->req.nslots, &c->send_err);
    owp_pacer *pacer = owp_pacer_new(OWP_EP_STOP_POLL_NS, &c->send_err);
    if (!buf)
        c->send_status = owp_err_set(&c->send_err, OWP_ERR_NOMEM, "STAMP sender: out of memory");
    else if (!sched || !pacer)
        c->send_status = c->send_err.code;
    else
        c->send_status = send_loop(c, pacer, sched, buf, len, &c->send_err);
    owp_pacer_destroy(&pacer);
    owp_sched_destroy(&sched);
    free(buf);
    atomic_store(&c->done, 1);
    return NULL;
}

/* ------------------------------------------------------------ collecting */

static void note_tlvs(owp_stamp_client *c, const uint8_t *area, size_t len, uint32_t seq)
{
    owp_stamp_tlv_answers a;
    owp_stamp_client_tlvs *t = &c->tlvs;
    if (owp_stamp_tlv_read_answers(area, len, c->rx_key, seq, &a, NULL) != OWP_OK)
        t->unreadable++;
    if (a.count == 0)
        return;
    t->answers++;
    t->unrecognized += a.unrecognized > 0;
    t->malformed += a.malformed > 0;
    t->integrity += a.integrity > 0;
    if (a.hmac_present && a.hmac_ok)
        t->hmac_ok++;
    else if (a.hmac_present)
        t->hmac_bad++;
    t->last = a;
}

/* One datagram: a reflection of ours fills the record of its sender seq. */
static void take_reflection(owp_stamp_client *c, const uint8_t *buf, size_t len,
                            const struct sockaddr *from, socklen_t fromlen, owp_num64 t4,
                            uint16_t e4, uint8_t ttl)
{
    owp_stamp_reflected m;
    if (!owp_ep_same_address(from, fromlen, (struct sockaddr *)&c->reflector, c->reflector_len) ||
        owp_stamp_reflected_decode(c->spec.mode, c->rx_key, buf, len, &m, NULL) != OWP_OK ||
        m.sender_seq >= atomic_load(&c->sent_upto)) {
        c->ignored++;
        return;
    }
    int first = !c->log.seen[m.sender_seq];
    owp_tw_record r = {
        .fwd = {.seq = m.sender_seq, .send_time = m.sender_time, .send_err = m.sender_errest,
                .recv_time = m.recv_time, .recv_err = m.errest, .ttl = m.sender_ttl},
        .bck = {.seq = m.seq, .send_time = m.timestamp, .send_err = m.errest,
                .recv_time = t4, .recv_err = e4, .ttl = ttl},
    };
    owp_tw_log_add(&c->log, &r);
    if (!first)
        return; /* the TLVs of the first answer count */
    size_t base = owp_stamp_base_len(c->spec.mode);
    if (len > base)
        note_tlvs(c, buf + base, len - base, m.seq);
}

static owp_status drain(owp_stamp_client *c, uint8_t *buf, owp_err *err)
{
    for (;;) {
        struct sockaddr_storage from;
        owp_ep_control control;
        struct iovec iov = {.iov_base = buf, .iov_len = OWP_STAMP_PACKET_MAX};
        struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                             .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof control.buf};
        ssize_t n = recvmsg(owp_endpoint_fd(c->ep), &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return OWP_OK;
            if (owp_ep_recv_error_transient(errno))
                continue;
            return owp_err_sys(err, "receive STAMP reflected packet");
        }
        owp_ep_rx_info rx;
        owp_ep_parse_control(&msg, &rx);
        uint16_t e4;
        owp_num64 t4 = owp_ep_rx_time(&rx, &e4);
        take_reflection(c, buf, (size_t)n, (struct sockaddr *)&from, msg.msg_namelen, t4, e4,
                        owp_ep_rx_ttl(&rx));
    }
}

/* Until the sender is done and a loss timeout has passed since (or an
 * interrupt). */
static owp_status collect(owp_stamp_client *c, const atomic_int *interrupt, owp_err *err)
{
    uint8_t *buf = malloc(OWP_STAMP_PACKET_MAX);
    if (!buf)
        return owp_err_set(err, OWP_ERR_NOMEM, "STAMP sender: out of memory");
    owp_status st = OWP_OK;
    double done_at = -1;
    for (;;) {
        if ((st = drain(c, buf, err)) != OWP_OK)
            break;
        double now = owp_clock_monotonic();
        if (interrupt && atomic_load(interrupt)) {
            atomic_store(&c->stop, 1);
            break;
        }
        if (done_at < 0 && atomic_load(&c->done))
            done_at = now;
        if (done_at >= 0 && now - done_at >= c->spec.timeout)
            break;
        struct pollfd pfd = {.fd = owp_endpoint_fd(c->ep), .events = POLLIN};
        if (poll(&pfd, 1, POLL_MS) < 0 && errno != EINTR) {
            st = owp_err_sys(err, "poll on the STAMP socket");
            break;
        }
    }
    free(buf);
    return st;
}

/* Every packet sent or skipped gets a record: the lost ones theirs after
 * the others. */
static owp_status finish_records(owp_stamp_client *c, owp_err *err)
{
    return owp_tw_log_finish(&c->log, &c->req, atomic_load(&c->sent_upto), err);
}

owp_status owp_stamp_client_run(owp_stamp_client *c, const atomic_int *interrupt, owp_err *err)
{
    if (!c || c->thread_started)
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP sender: no session, or run twice");
    int e = pthread_create(&c->thread, NULL, sender_main, c);
    if (e != 0) {
        errno = e;
        return owp_err_sys(err, "pthread_create for the STAMP sender");
    }
    c->thread_started = 1;
    owp_status st = collect(c, interrupt, err);
    if (st != OWP_OK)
        atomic_store(&c->stop, 1);
    pthread_join(c->thread, NULL);
    c->thread_started = 0;
    if (st == OWP_OK && c->send_status != OWP_OK) {
        if (err)
            *err = c->send_err;
        st = c->send_status;
    }
    owp_status fin = finish_records(c, st == OWP_OK ? err : NULL);
    return st != OWP_OK ? st : fin;
}
