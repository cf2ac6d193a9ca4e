/*
 * check_endpoint.c - the UDP test endpoints over loopback: whole sessions
 * between a sender thread and a receiver thread (127.0.0.1 and ::1, all three
 * modes), skip ranges and losses of a late sender, hostile datagrams, duplicates,
 * the stop flag, and port-range allocation.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* usleep under strict -std */
#endif
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "endpoint.h"
#include "sendsched.h"
#include "testpkt.h"

/* ------------------------------------------------------------ fixtures */

typedef struct records {
    owp_record *r;
    size_t n, cap;
} records;

static int collect(const owp_record *r, void *arg)
{
    records *rs = arg;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 256;
        rs->r = realloc(rs->r, rs->cap * sizeof *rs->r);
        ck_assert_ptr_nonnull(rs->r);
    }
    rs->r[rs->n++] = *r;
    return 0;
}

static void loopback(int family, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s4->sin_port = htons(port);
        *len = sizeof *s4;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        s6->sin6_port = htons(port);
        *len = sizeof *s6;
    }
}

static owp_endpoint *loopback_endpoint(int family, uint16_t low, uint16_t high, owp_err *err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    loopback(family, 0, &ss, &len);
    owp_endpoint_opts o = {
        .family = family,
        .local = (struct sockaddr *)&ss,
        .local_len = len,
        .ports = {low, high},
        .dscp = -1,
    };
    return owp_endpoint_new(&o, err);
}

static void peer_of(owp_endpoint *self, owp_endpoint *other, int family)
{
    struct sockaddr_storage ss;
    socklen_t len;
    loopback(family, owp_endpoint_port(other), &ss, &len);
    owp_err e;
    ck_assert_msg(owp_endpoint_set_peer(self, (struct sockaddr *)&ss, len, &e) == OWP_OK, "%s",
                  e.msg);
}

typedef struct session {
    int family;
    owp_request req;
    owp_slot slot;
    owp_session_keys keys;
    owp_endpoint *tx, *rx;
    atomic_int tx_stop, rx_stop;
    atomic_uint rx_next_seqno;
    owp_send_result sent;
    owp_status tx_status;
    owp_err tx_err;
    owp_recv_stats stats;
    owp_status rx_status;
    owp_err rx_err;
    records recs;
} session;

static void session_init(session *s, int family, owp_mode mode, uint32_t npackets,
                         owp_slot_type slot_type, double interval, double timeout,
                         double start_in)
{
    memset(s, 0, sizeof *s);
    s->family = family;
    s->keys.mode = mode;
    for (int i = 0; i < 16; i++)
        s->keys.aes_key[i] = (uint8_t)(0x10 + i);
    for (int i = 0; i < 32; i++)
        s->keys.hmac_key[i] = (uint8_t)(0x80 + i);
    s->slot.type = slot_type;
    s->slot.value = owp_num64_from_double(interval);
    s->req.ipvn = family == AF_INET ? 4 : 6;
    s->req.nslots = 1;
    s->req.slots = &s->slot;
    s->req.npackets = npackets;
    for (int i = 0; i < 16; i++)
        s->req.sid[i] = (uint8_t)(0xa0 + i * 3);
    s->req.timeout = owp_num64_from_double(timeout);
    uint16_t errest;
    owp_num64 now = owp_clock_now(&errest);
    s->req.start_time = start_in >= 0 ? now + owp_num64_from_double(start_in)
                                      : now - owp_num64_from_double(-start_in);
    atomic_store(&s->rx_next_seqno, npackets);

    owp_err e;
    s->tx = loopback_endpoint(family, 0, 0, &e);
    ck_assert_msg(s->tx != NULL, "%s", e.msg);
    s->rx = loopback_endpoint(family, 0, 0, &e);
    ck_assert_msg(s->rx != NULL, "%s", e.msg);
    peer_of(s->tx, s->rx, family);
    peer_of(s->rx, s->tx, family);
    s->req.sender_port = owp_endpoint_port(s->tx);
    s->req.receiver_port = owp_endpoint_port(s->rx);
}

static void session_clear(session *s)
{
    owp_endpoint_destroy(&s->tx);
    owp_endpoint_destroy(&s->rx);
    owp_send_result_clear(&s->sent);
    free(s->recs.r);
}

static void *sender_thread(void *arg)
{
    session *s = arg;
    s->tx_status = owp_endpoint_send(s->tx, &s->req, &s->keys, &s->tx_stop, &s->sent, &s->tx_err);
    return NULL;
}

static void *receiver_thread(void *arg)
{
    session *s = arg;
    s->rx_status = owp_endpoint_receive(s->rx, &s->req, &s->keys, &s->rx_stop, &s->rx_next_seqno,
                                        collect, &s->recs, &s->stats, &s->rx_err);
    return NULL;
}

static void session_run(session *s)
{
    pthread_t tx, rx;
    ck_assert_int_eq(pthread_create(&rx, NULL, receiver_thread, s), 0);
    ck_assert_int_eq(pthread_create(&tx, NULL, sender_thread, s), 0);
    pthread_join(tx, NULL);
    pthread_join(rx, NULL);
    ck_assert_msg(s->tx_status == OWP_OK, "sender: %s", s->tx_err.msg);
    ck_assert_msg(s->rx_status == OWP_OK, "receiver: %s", s->rx_err.msg);
}

static double seconds_between(owp_num64 later, owp_num64 earlier)
{
    return later >= earlier ? owp_num64_to_double(later - earlier)
                            : -owp_num64_to_double(earlier - later);
}

/* A sealed test packet as a peer would send it. */
static size_t craft(const session *s, uint32_t seq, uint8_t *buf, size_t cap)
{
    size_t len = owp_testpkt_size(s->keys.mode, s->req.padding);
    ck_assert_uint_le(len, cap);
    owp_testcrypt *tc = NULL;
    owp_err e;
    if (s->keys.mode != OWP_MODE_OPEN) {
        uint8_t ta[16], th[32];
        ck_assert(owp_test_session_keys(s->req.sid, s->keys.aes_key, s->keys.hmac_key, ta, th,
                                        &e) == OWP_OK);
        tc = owp_testcrypt_new(s->keys.mode, ta, th, &e);
        ck_assert_msg(tc != NULL, "%s", e.msg);
    }
    uint16_t errest;
    owp_num64 now = owp_clock_now(&errest);
    ck_assert(owp_testpkt_prepare(s->keys.mode, seq, buf, len, &e) == OWP_OK);
    ck_assert(owp_testpkt_seal(tc, s->keys.mode, now, errest, buf, len, &e) == OWP_OK);
    owp_testcrypt_destroy(&tc);
    return len;
}

/* A plain UDP socket on the loopback address (the "raw" injector). */
static int plain_socket(int family, uint16_t *port)
{
    int fd = socket(family, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_storage ss;
    socklen_t len;
    loopback(family, 0, &ss, &len);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
    len = sizeof ss;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

static void inject(int fd, const session *s, const uint8_t *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    loopback(s->family, owp_endpoint_port(s->rx), &ss, &sl);
    ck_assert_int_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl), (ssize_t)len);
}

static void set_rx_peer(session *s, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    loopback(s->family, port, &ss, &len);
    ck_assert(owp_endpoint_set_peer(s->rx, (struct sockaddr *)&ss, len, NULL) == OWP_OK);
}

/* ------------------------------------------------------------ whole sessions */

static const struct {
    int family;
    owp_mode mode;
    owp_slot_type slot;
} combos[] = {
    {AF_INET, OWP_MODE_OPEN, OWP_SLOT_FIXED},  {AF_INET, OWP_MODE_AUTH, OWP_SLOT_EXP},
    {AF_INET, OWP_MODE_ENCRYPTED, OWP_SLOT_FIXED}, {AF_INET6, OWP_MODE_OPEN, OWP_SLOT_EXP},
    {AF_INET6, OWP_MODE_AUTH, OWP_SLOT_FIXED}, {AF_INET6, OWP_MODE_ENCRYPTED, OWP_SLOT_EXP},
};

START_TEST(loopback_session_all_received)
{
    session s;
    const uint32_t n = 200;
    session_init(&s, combos[_i].family, combos[_i].mode, n, combos[_i].slot, 0.001, 2.0, 0.05);
    s.req.padding = 17;
    session_run(&s);

    ck_assert_uint_eq(s.sent.next_seqno, n);
    ck_assert_uint_eq(s.sent.nskips, 0);
    ck_assert_uint_eq(s.stats.received, n);
    ck_assert_uint_eq(s.stats.lost, 0);
    ck_assert_uint_eq(s.stats.duplicates, 0);
    ck_assert_uint_eq(s.recs.n, n);
    for (uint32_t i = 0; i < n; i++) {
        const owp_record *r = &s.recs.r[i];
        ck_assert_uint_eq(r->seq, i);
        ck_assert(!owp_record_lost(r));
        double delay = seconds_between(r->recv_time, r->send_time);
        ck_assert_msg(delay > 0 && delay < 0.1, "seq %u: delay %g s", i, delay);
        ck_assert_uint_eq(r->ttl, 255);
        ck_assert(owp_errest_valid(r->send_err));
        ck_assert(owp_errest_valid(r->recv_err));
        /* The sender never leaves early, and on an idle loopback not far late. */
        ck_assert_msg(r->send_time >= s.req.start_time, "seq %u sent before the start", i);
    }
    session_clear(&s);
}
END_TEST

START_TEST(sender_never_leaves_early)
{
    /* The sender's timestamp is taken after the due instant, for every packet. */
    session s;
    const uint32_t n = 100;
    session_init(&s, AF_INET, OWP_MODE_OPEN, n, OWP_SLOT_EXP, 0.002, 2.0, 0.03);
    session_run(&s);
    ck_assert_uint_eq(s.recs.n, n);
    owp_sched *sched = owp_sched_new(s.req.sid, s.req.slots, s.req.nslots, NULL);
    ck_assert_ptr_nonnull(sched);
    owp_num64 due = s.req.start_time;
    int late_by_more_than_10ms = 0;
    for (uint32_t i = 0; i < n; i++) {
        due += owp_sched_next_delta(sched);
        ck_assert_uint_eq(s.recs.r[i].seq, i);
        ck_assert_msg(s.recs.r[i].send_time >= due, "seq %u left %g s early", i,
                      seconds_between(due, s.recs.r[i].send_time));
        if (seconds_between(s.recs.r[i].send_time, due) > 0.01)
            late_by_more_than_10ms++;
    }
    /* Generous: a loaded machine preempts now and then; a sender that
     * oversleeps its schedule is late on most packets. */
    ck_assert_int_le(late_by_more_than_10ms, (int)n / 5);
    owp_sched_destroy(&sched);
    session_clear(&s);
}
END_TEST

START_TEST(late_sender_skips_and_receiver_reports_loss)
{
    /* Started 0.5 s in the past with a 0.1 s timeout: the first ~80 packets
     * (5 ms apart) are more than the timeout late and are never sent. */
    session s;
    const uint32_t n = 160;
    session_init(&s, AF_INET, OWP_MODE_AUTH, n, OWP_SLOT_FIXED, 0.005, 0.1, -0.5);
    session_run(&s);

    ck_assert_uint_eq(s.sent.next_seqno, n);
    ck_assert_uint_eq(s.sent.nskips, 1);
    ck_assert_uint_eq(s.sent.skips[0].first, 0);
    uint32_t last_skipped = s.sent.skips[0].last;
    ck_assert_uint_ge(last_skipped, 70);
    ck_assert_uint_le(last_skipped, 90);

    /* Every seq accounted for exactly once (first arrival or loss). */
    uint8_t *accounted = calloc(n, 1);
    for (size_t i = 0; i < s.recs.n; i++) {
        const owp_record *r = &s.recs.r[i];
        ck_assert_uint_lt(r->seq, n);
        ck_assert_uint_eq(accounted[r->seq], 0);
        accounted[r->seq] = 1;
        if (r->seq <= last_skipped) {
            ck_assert_msg(owp_record_lost(r), "skipped seq %u not reported lost", r->seq);
            ck_assert_uint_eq(r->send_err, OWP_ERREST_UNSYNC);
            ck_assert_uint_eq(r->ttl, 255);
            owp_num64 scheduled = s.req.start_time + (owp_num64)(r->seq + 1) * s.slot.value;
            ck_assert_uint_eq(r->send_time, scheduled);
        }
    }
    for (uint32_t i = 0; i < n; i++)
        ck_assert_msg(accounted[i], "seq %u neither received nor lost", i);
    free(accounted);
    /* A packet sent just inside the timeout may arrive just outside it
     * (then it is counted late, not recorded twice). */
    ck_assert_uint_ge(s.stats.lost, last_skipped + 1);
    ck_assert_uint_le(s.stats.lost, last_skipped + 10);
    ck_assert_uint_eq(s.stats.lost - (last_skipped + 1), s.stats.dropped_late);
    ck_assert_uint_eq(s.stats.received + s.stats.lost, n);
    /* Losses come in expiry order: the first records are seqs 0, 1, 2 ... lost. */
    for (uint32_t i = 0; i <= last_skipped; i++)
        ck_assert_uint_eq(s.recs.r[i].seq, i);
    session_clear(&s);
}
END_TEST

/* ------------------------------------------------------------ hostile input */

START_TEST(hostile_datagrams_are_dropped_and_counted)
{
    session s;
    const uint32_t n = 20;
    session_init(&s, AF_INET, OWP_MODE_AUTH, n, OWP_SLOT_FIXED, 0.001, 10.0, -0.01);
    uint16_t peer_port, stranger_port;
    int peer = plain_socket(AF_INET, &peer_port);
    int stranger = plain_socket(AF_INET, &stranger_port);
    int ttl = 9;
    ck_assert_int_eq(setsockopt(peer, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl), 0);
    set_rx_peer(&s, peer_port);

    uint8_t buf[256];
    size_t len = craft(&s, 0, buf, sizeof buf);
    inject(stranger, &s, buf, len); /* right packet, wrong source port */
    len = craft(&s, 1, buf, sizeof buf);
    buf[40] ^= 0x01; /* corrupt the HMAC */
    inject(peer, &s, buf, len);
    len = craft(&s, n, buf, sizeof buf); /* seq >= npackets */
    inject(peer, &s, buf, len);
    len = craft(&s, 0xffffffffu, buf, sizeof buf);
    inject(peer, &s, buf, len);
    inject(peer, &s, buf, 20); /* shorter than a mode A packet */
    for (uint32_t i = 0; i < n; i++) {
        len = craft(&s, i, buf, sizeof buf);
        inject(peer, &s, buf, len);
    }

    /* Everything is queued: the receiver drains it and finishes. */
    owp_err e;
    ck_assert_msg(owp_endpoint_receive(s.rx, &s.req, &s.keys, NULL, NULL, collect, &s.recs,
                                       &s.stats, &e) == OWP_OK,
                  "%s", e.msg);
    ck_assert_uint_eq(s.stats.dropped_bad_source, 1);
    ck_assert_uint_eq(s.stats.dropped_bad_hmac, 2);
    ck_assert_uint_eq(s.stats.dropped_bad_seq, 2);
    ck_assert_uint_eq(s.stats.received, n);
    ck_assert_uint_eq(s.stats.lost, 0);
    ck_assert_uint_eq(s.recs.n, n);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_uint_eq(s.recs.r[i].seq, i);
        ck_assert_uint_eq(s.recs.r[i].ttl, 9);
    }
    close(peer);
    close(stranger);
    session_clear(&s);
}
END_TEST

START_TEST(duplicates_are_recorded)
{
    session s;
    const uint32_t n = 10;
    session_init(&s, AF_INET6, OWP_MODE_OPEN, n, OWP_SLOT_FIXED, 0.001, 10.0, -0.01);
    uint16_t peer_port;
    int peer = plain_socket(AF_INET6, &peer_port);
    int hops = 7; /* the receiver reports the hop limit it saw, not a default */
    ck_assert_int_eq(setsockopt(peer, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops), 0);
    set_rx_peer(&s, peer_port);

    uint8_t buf[64];
    for (uint32_t i = 0; i < n; i++) {
        size_t len = craft(&s, i, buf, sizeof buf);
        inject(peer, &s, buf, len);
        inject(peer, &s, buf, len);
        if (i == 4)
            inject(peer, &s, buf, len);
    }
    owp_err e;
    ck_assert_msg(owp_endpoint_receive(s.rx, &s.req, &s.keys, NULL, NULL, collect, &s.recs,
                                       &s.stats, &e) == OWP_OK,
                  "%s", e.msg);
    ck_assert_uint_eq(s.stats.received, n);
    ck_assert_uint_eq(s.stats.duplicates, n + 1);
    /* Everything queued is read in one batch, the last duplicate included. */
    ck_assert_uint_eq(s.recs.n, 2 * n + 1);
    ck_assert_uint_eq(s.recs.r[0].seq, 0);
    ck_assert_uint_eq(s.recs.r[1].seq, 0);
    ck_assert_uint_eq(s.recs.r[8].seq, 4);
    ck_assert_uint_eq(s.recs.r[9].seq, 4);
    ck_assert_uint_eq(s.recs.r[10].seq, 4);
    ck_assert_uint_eq(s.recs.r[1].ttl, 7);
    close(peer);
    session_clear(&s);
}
END_TEST

START_TEST(late_arrival_after_loss_is_dropped)
{
    /* Seq 0 was due 1 s ago with a 0.1 s timeout: it is reported lost, and
     * its arrival afterwards is counted, not recorded a second time. */
    session s;
    session_init(&s, AF_INET, OWP_MODE_OPEN, 2, OWP_SLOT_FIXED, 0.001, 0.1, -1.0);
    uint16_t peer_port;
    int peer = plain_socket(AF_INET, &peer_port);
    set_rx_peer(&s, peer_port);
    uint8_t buf[64];
    size_t len = craft(&s, 0, buf, sizeof buf);
    inject(peer, &s, buf, len);
    owp_err e;
    ck_assert(owp_endpoint_receive(s.rx, &s.req, &s.keys, NULL, NULL, collect, &s.recs, &s.stats,
                                   &e) == OWP_OK);
    ck_assert_uint_eq(s.stats.lost, 2);
    ck_assert_uint_eq(s.stats.dropped_late, 1);
    ck_assert_uint_eq(s.recs.n, 2);
    ck_assert(owp_record_lost(&s.recs.r[0]));
    ck_assert(owp_record_lost(&s.recs.r[1]));
    close(peer);
    session_clear(&s);
}
END_TEST

START_TEST(huge_session_is_refused)
{
    session s;
    session_init(&s, AF_INET, OWP_MODE_OPEN, 10, OWP_SLOT_FIXED, 0.001, 1.0, 0);
    s.req.npackets = 4000000000u;
    owp_err e;
    ck_assert_int_eq(owp_endpoint_receive(s.rx, &s.req, &s.keys, NULL, NULL, collect, &s.recs,
                                          &s.stats, &e),
                     OWP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(e.msg, "4000000000"));
    session_clear(&s);
}
END_TEST

/* ------------------------------------------------------------ stop flag */

START_TEST(stop_flag_ends_both_loops_quickly)
{
    /* 100000 packets 10 ms apart would take 17 minutes. */
    session s;
    session_init(&s, AF_INET, OWP_MODE_ENCRYPTED, 100000, OWP_SLOT_FIXED, 0.01, 5.0, 0.01);
    pthread_t tx, rx;
    ck_assert_int_eq(pthread_create(&rx, NULL, receiver_thread, &s), 0);
    ck_assert_int_eq(pthread_create(&tx, NULL, sender_thread, &s), 0);
    usleep(300000);

    double t0 = owp_clock_monotonic();
    atomic_store(&s.tx_stop, 1);
    pthread_join(tx, NULL);
    double tx_took = owp_clock_monotonic() - t0;
    ck_assert_msg(s.tx_status == OWP_OK, "%s", s.tx_err.msg);
    uint32_t sent = s.sent.next_seqno;
    ck_assert_uint_gt(sent, 10);
    ck_assert_uint_lt(sent, 100);

    /* Tell the receiver the sender stopped 3 past what it sent: those 3 are lost. */
    atomic_store(&s.rx_next_seqno, sent + 3);
    t0 = owp_clock_monotonic();
    atomic_store(&s.rx_stop, 1);
    pthread_join(rx, NULL);
    double rx_took = owp_clock_monotonic() - t0;
    ck_assert_msg(s.rx_status == OWP_OK, "%s", s.rx_err.msg);
    /* The loops look at the flag every 50 ms; the rest is slack for a busy machine. */
    ck_assert_msg(tx_took < 0.15, "sender took %g s to stop", tx_took);
    ck_assert_msg(rx_took < 0.15, "receiver took %g s to stop", rx_took);
    ck_assert_uint_eq(s.stats.received, sent);
    ck_assert_uint_eq(s.stats.lost, 3);
    ck_assert_uint_eq(s.recs.n, sent + 3);
    for (uint32_t i = 0; i < sent + 3; i++) {
        ck_assert_uint_eq(s.recs.r[i].seq, i);
        ck_assert_int_eq(owp_record_lost(&s.recs.r[i]), i >= sent);
    }
    session_clear(&s);
}
END_TEST

START_TEST(stop_before_start_sends_nothing)
{
    session s;
    session_init(&s, AF_INET, OWP_MODE_OPEN, 100, OWP_SLOT_FIXED, 0.001, 1.0, 30.0);
    atomic_store(&s.tx_stop, 1);
    atomic_store(&s.rx_stop, 1);
    atomic_store(&s.rx_next_seqno, 0);
    session_run(&s);
    ck_assert_uint_eq(s.sent.next_seqno, 0);
    ck_assert_uint_eq(s.recs.n, 0);
    session_clear(&s);
}
END_TEST

/* ------------------------------------------------------------ socket setup */

/* Hold `count` consecutive ports on 127.0.0.1; returns the first. */
static uint16_t hold_ports(int *fds, int count)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        uint16_t base = (uint16_t)(20000 + (unsigned)(rand() % 30000));
        int held = 0;
        for (; held < count; held++) {
            struct sockaddr_storage ss;
            socklen_t len;
            loopback(AF_INET, (uint16_t)(base + held), &ss, &len);
            fds[held] = socket(AF_INET, SOCK_DGRAM, 0);
            if (bind(fds[held], (struct sockaddr *)&ss, len) != 0) {
                close(fds[held]);
                break;
            }
        }
        if (held == count)
            return base;
        while (held-- > 0)
            close(fds[held]);
    }
    ck_abort_msg("no run of free ports found");
    return 0;
}

START_TEST(exhausted_port_range_names_the_range)
{
    int fds[3];
    uint16_t base = hold_ports(fds, 3);
    owp_err e;
    owp_endpoint *ep = loopback_endpoint(AF_INET, base, (uint16_t)(base + 2), &e);
    ck_assert_ptr_null(ep);
    char want[64];
    snprintf(want, sizeof want, "no free UDP port in %u-%u", base, base + 2);
    ck_assert_str_eq(e.msg, want);

    /* Free the middle port: every start point finds it. */
    close(fds[1]);
    for (int i = 0; i < 10; i++) {
        ep = loopback_endpoint(AF_INET, base, (uint16_t)(base + 2), &e);
        ck_assert_msg(ep != NULL, "%s", e.msg);
        ck_assert_uint_eq(owp_endpoint_port(ep), base + 1);
        owp_endpoint_destroy(&ep);
        ck_assert_ptr_null(ep);
    }
    close(fds[0]);
    close(fds[2]);
}
END_TEST

START_TEST(port_range_start_is_random)
{
    int fds[1];
    uint16_t base = hold_ports(fds, 1);
    close(fds[0]);
    /* A 64-port range: 20 endpoints do not all start at the same port. */
    int seen_other = 0;
    uint16_t first = 0;
    for (int i = 0; i < 20; i++) {
        owp_err e;
        owp_endpoint *ep = loopback_endpoint(AF_INET, base, (uint16_t)(base + 63), &e);
        if (!ep)
            continue; /* someone else holds the whole run: unlikely, harmless */
        uint16_t p = owp_endpoint_port(ep);
        ck_assert_uint_ge(p, base);
        ck_assert_uint_le(p, base + 63);
        if (i == 0)
            first = p;
        else if (p != first)
            seen_other = 1;
        owp_endpoint_destroy(&ep);
    }
    ck_assert(seen_other);
}
END_TEST

START_TEST(socket_options_applied)
{
    owp_endpoint_opts o = {.family = AF_INET, .dscp = 46};
    owp_err e;
    owp_endpoint *ep = owp_endpoint_new(&o, &e);
    ck_assert_msg(ep != NULL, "%s", e.msg);
    int fd = owp_endpoint_fd(ep), v = 0;
    socklen_t len = sizeof v;
    ck_assert_int_eq(getsockopt(fd, IPPROTO_IP, IP_TOS, &v, &len), 0);
    ck_assert_int_eq(v, 46 << 2);
    ck_assert_int_eq(getsockopt(fd, IPPROTO_IP, IP_TTL, &v, &len), 0);
    ck_assert_int_eq(v, 255);
    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &v, &len), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_uint_gt(owp_endpoint_port(ep), 0);
    owp_endpoint_destroy(&ep);

    owp_endpoint_opts o6 = {.family = AF_INET6, .dscp = 10};
    ep = owp_endpoint_new(&o6, &e);
    ck_assert_msg(ep != NULL, "%s", e.msg);
    fd = owp_endpoint_fd(ep);
    ck_assert_int_eq(getsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &v, &len), 0);
    ck_assert_int_eq(v, 10 << 2);
    ck_assert_int_eq(getsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &len), 0);
    ck_assert_int_eq(v, 255);
    owp_endpoint_destroy(&ep);
    owp_endpoint_destroy(NULL);
}
END_TEST

START_TEST(bind_device)
{
    owp_err e;
    owp_endpoint_opts bogus = {.family = AF_INET, .dscp = -1, .bind_device = "nosuchdev0"};
    ck_assert_ptr_null(owp_endpoint_new(&bogus, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "nosuchdev0"));

    owp_endpoint_opts lo = {.family = AF_INET, .dscp = -1, .bind_device = "lo"};
    owp_endpoint *ep = owp_endpoint_new(&lo, &e);
    if (!ep) {
        /* Unprivileged: SO_BINDTODEVICE needs CAP_NET_RAW; the error names the device. */
        ck_assert_ptr_nonnull(strstr(e.msg, "device lo"));
        return;
    }
    char dev[32] = "";
    socklen_t len = sizeof dev;
    ck_assert_int_eq(getsockopt(owp_endpoint_fd(ep), SOL_SOCKET, SO_BINDTODEVICE, dev, &len), 0);
    ck_assert_str_eq(dev, "lo");
    owp_endpoint_destroy(&ep);
}
END_TEST

START_TEST(invalid_options_rejected)
{
    owp_err e;
    owp_endpoint_opts bad_family = {.family = AF_UNIX, .dscp = -1};
    ck_assert_ptr_null(owp_endpoint_new(&bad_family, &e));
    ck_assert_int_eq(e.code, OWP_ERR_INVALID);
    owp_endpoint_opts bad_dscp = {.family = AF_INET, .dscp = 64};
    ck_assert_ptr_null(owp_endpoint_new(&bad_dscp, &e));
    ck_assert_ptr_null(loopback_endpoint(AF_INET, 9000, 8000, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "9000-8000"));
    /* A local address of the other family. */
    struct sockaddr_storage ss;
    socklen_t len;
    loopback(AF_INET6, 0, &ss, &len);
    owp_endpoint_opts mismatch = {.family = AF_INET, .local = (struct sockaddr *)&ss,
                                  .local_len = len, .dscp = -1};
    ck_assert_ptr_null(owp_endpoint_new(&mismatch, &e));
    ck_assert_int_eq(e.code, OWP_ERR_INVALID);

    /* Sending without a peer. */
    session s;
    session_init(&s, AF_INET, OWP_MODE_OPEN, 1, OWP_SLOT_FIXED, 0.001, 1.0, 0);
    owp_endpoint *lonely = loopback_endpoint(AF_INET, 0, 0, &e);
    ck_assert_int_eq(owp_endpoint_send(lonely, &s.req, &s.keys, NULL, &s.sent, &e),
                     OWP_ERR_INVALID);
    owp_endpoint_destroy(&lonely);
    s.keys.mode = (owp_mode)3;
    ck_assert_int_eq(owp_endpoint_send(s.tx, &s.req, &s.keys, NULL, &s.sent, &e), OWP_ERR_INVALID);
    session_clear(&s);
}
END_TEST

int main(void)
{
    owp_err e;
    if (owp_clock_init(&e) != OWP_OK) {
        fprintf(stderr, "clock: %s\n", e.msg);
        return 1;
    }
    srand((unsigned)getpid());
    Suite *s = suite_create("endpoint");

    TCase *sessions = tcase_create("sessions");
    tcase_set_timeout(sessions, 30);
    tcase_add_loop_test(sessions, loopback_session_all_received, 0,
                        (int)(sizeof combos / sizeof combos[0]));
    tcase_add_test(sessions, sender_never_leaves_early);
    tcase_add_test(sessions, late_sender_skips_and_receiver_reports_loss);
    suite_add_tcase(s, sessions);

    TCase *hostile = tcase_create("hostile");
    tcase_add_test(hostile, hostile_datagrams_are_dropped_and_counted);
    tcase_add_test(hostile, duplicates_are_recorded);
    tcase_add_test(hostile, late_arrival_after_loss_is_dropped);
    tcase_add_test(hostile, huge_session_is_refused);
    suite_add_tcase(s, hostile);

    TCase *stop = tcase_create("stop");
    tcase_set_timeout(stop, 10);
    tcase_add_test(stop, stop_flag_ends_both_loops_quickly);
    tcase_add_test(stop, stop_before_start_sends_nothing);
    suite_add_tcase(s, stop);

    TCase *setup = tcase_create("setup");
    tcase_add_test(setup, exhausted_port_range_names_the_range);
    tcase_add_test(setup, port_range_start_is_random);
    tcase_add_test(setup, socket_options_applied);
    tcase_add_test(setup, bind_device);
    tcase_add_test(setup, invalid_options_rejected);
    suite_add_tcase(s, setup);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
