/*
 * bench_twping.c - the TWAMP round-trip floor on loopback next to the OWAMP
 * one-way floor, measured in the same run with the same endpoints. Prints
 * figures, not pass/fail.
 *
 *   bench_twping [COUNT [MEAN_SECONDS]]   default 5000 packets, 0.001 s mean
 *   bench_twping --quick                  500 packets
 *
 * One-way: the OWAMP sender (endpoint_send.c) to the OWAMP receiver
 * (endpoint_recv.c), delay = kernel receive stamp - sender's stamp.
 * Round trip: the same sender to a Session-Reflector (reflector.c) in its own
 * thread, reflections read here with kernel stamps: round trip =
 * (T4 - T1) - (T3 - T2) and the reflector's processing time T3 - T2, as
 * twping reports them. Open mode, 127.0.0.1, exponential spacing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "endpoint.h"
#include "owdstat.h"
#include "reflector.h"
#include "twamp_wire.h"

typedef struct sender_arg {
    owp_endpoint *ep;
    owp_request *req;
    owp_session_keys keys;
    atomic_int stop, done;
    owp_send_result res;
} sender_arg;

static void *send_main(void *p)
{
    sender_arg *a = p;
    owp_err e;
    if (owp_endpoint_send(a->ep, a->req, &a->keys, &a->stop, &a->res, &e) != OWP_OK)
        fprintf(stderr, "sender: %s\n", e.msg);
    atomic_store(&a->done, 1);
    return NULL;
}

static owp_endpoint *endpoint(void)
{
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    owp_endpoint_opts o = {.family = AF_INET, .local = (struct sockaddr *)&lo,
                           .local_len = sizeof lo, .dscp = -1};
    owp_err e;
    owp_endpoint *ep = owp_endpoint_new(&o, &e);
    if (!ep) {
        fprintf(stderr, "endpoint: %s\n", e.msg);
        exit(1);
    }
    return ep;
}

static void peer_of(owp_endpoint *ep, struct sockaddr_in *sa)
{
    *sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                               .sin_port = htons(owp_endpoint_port(ep))};
}

static void print_figures(const char *what, double *v, size_t n)
{
    double mn = 0, p50 = 0, p99 = 0;
    owp_owd_percentile(v, n, 0.0, &mn);
    owp_owd_percentile(v, n, 0.5, &p50);
    owp_owd_percentile(v, n, 0.99, &p99);
    printf("%-28s n=%-6zu min %8.2f us  median %8.2f us  p99 %8.2f us\n", what, n, mn * 1e6,
           p50 * 1e6, p99 * 1e6);
}

typedef struct oneway {
    double *v;
    size_t n;
} oneway;

static int take_delay(const owp_record *r, void *arg)
{
    oneway *o = arg;
    if (!owp_record_lost(r))
        o->v[o->n++] = owp_num64_to_double(r->recv_time) - owp_num64_to_double(r->send_time);
    return 0;
}

static void one_way(owp_request *req)
{
    owp_endpoint *tx = endpoint(), *rx = endpoint();
    struct sockaddr_in a;
    peer_of(rx, &a);
    owp_endpoint_set_peer(tx, (struct sockaddr *)&a, sizeof a, NULL);
    sender_arg s = {.ep = tx, .req = req, .keys = {.mode = OWP_MODE_OPEN}};
    req->start_time = owp_clock_now(NULL) + owp_num64_from_double(0.2);
    oneway o = {.v = calloc(req->npackets, sizeof(double))};
    pthread_t t;
    pthread_create(&t, NULL, send_main, &s);
    owp_err e;
    if (owp_endpoint_receive(rx, req, &s.keys, NULL, NULL, take_delay, &o, NULL, &e) != OWP_OK)
        fprintf(stderr, "receiver: %s\n", e.msg);
    pthread_join(t, NULL);
    print_figures("owping one-way delay", o.v, o.n);
    free(o.v);
    owp_send_result_clear(&s.res);
    owp_endpoint_destroy(&tx);
    owp_endpoint_destroy(&rx);
}

typedef struct refl_arg {
    owp_reflector_config cfg;
    atomic_int stop;
} refl_arg;

static void *reflect_main(void *p)
{
    refl_arg *r = p;
    owp_err e;
    if (owp_reflector_run(&r->cfg, &r->stop, NULL, &e) != OWP_OK)
        fprintf(stderr, "reflector: %s\n", e.msg);
    return NULL;
}

static void collect(owp_endpoint *tx, sender_arg *s, double *rtt, double *proc, size_t *n)
{
    uint8_t buf[OWP_TW_PACKET_MAX];
    double quiet_since = -1;
    for (;;) {
        union {
            char b[CMSG_SPACE(sizeof(struct timespec)) + 64];
            struct cmsghdr align;
        } c;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b,
                             .msg_controllen = sizeof c.b};
        ssize_t len = recvmsg(owp_endpoint_fd(tx), &msg, MSG_DONTWAIT);
        if (len < 0) {
            double now = owp_clock_monotonic();
            if (atomic_load(&s->done)) {
                if (quiet_since < 0)
                    quiet_since = now;
                else if (now - quiet_since > 0.5)
                    return;
            }
            struct pollfd pfd = {.fd = owp_endpoint_fd(tx), .events = POLLIN};
            poll(&pfd, 1, 50);
            continue;
        }
        owp_num64 t4 = owp_clock_now(NULL);
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(cm), sizeof ts);
                t4 = owp_clock_from_kernel(&ts, NULL);
            }
        owp_tw_reflected m;
        if (owp_tw_reflect_open(NULL, OWP_MODE_OPEN, buf, (size_t)len, &m, NULL) != OWP_OK)
            continue;
        double t1 = owp_num64_to_double(m.sender_time), t2 = owp_num64_to_double(m.recv_time);
        double t3 = owp_num64_to_double(m.timestamp), t4d = owp_num64_to_double(t4);
        rtt[*n] = (t4d - t1) - (t3 - t2);
        proc[*n] = t3 - t2;
        (*n)++;
    }
}

static void round_trip(owp_request *req)
{
    owp_endpoint *tx = endpoint(), *rf = endpoint();
    struct sockaddr_in to_reflector, to_sender;
    peer_of(rf, &to_reflector);
    peer_of(tx, &to_sender);
    owp_endpoint_set_peer(tx, (struct sockaddr *)&to_reflector, sizeof to_reflector, NULL);
    refl_arg r = {.cfg = {.fd = owp_endpoint_fd(rf), .peer = (struct sockaddr *)&to_sender,
                          .peer_len = sizeof to_sender, .test_mode = OWP_MODE_OPEN}};
    pthread_t rt, st;
    pthread_create(&rt, NULL, reflect_main, &r);
    sender_arg s = {.ep = tx, .req = req, .keys = {.mode = OWP_MODE_OPEN}};
    req->start_time = owp_clock_now(NULL) + owp_num64_from_double(0.2);
    double *rtt = calloc(req->npackets, sizeof(double));
    double *proc = calloc(req->npackets, sizeof(double));
    size_t n = 0;
    pthread_create(&st, NULL, send_main, &s);
    collect(tx, &s, rtt, proc, &n);
    pthread_join(st, NULL);
    atomic_store(&r.stop, 1);
    pthread_join(rt, NULL);
    print_figures("twping round-trip time", rtt, n);
    print_figures("reflector processing time", proc, n);
    free(rtt);
    free(proc);
    owp_send_result_clear(&s.res);
    owp_endpoint_destroy(&tx);
    owp_endpoint_destroy(&rf);
}

int main(int argc, char **argv)
{
    uint32_t count = 5000;
    double mean = 0.001;
    if (argc > 1 && strcmp(argv[1], "--quick") == 0)
        count = 500;
    else if (argc > 1)
        count = (uint32_t)strtoul(argv[1], NULL, 10);
    if (argc > 2)
        mean = strtod(argv[2], NULL);
    if (count == 0 || !(mean > 0)) {
        fprintf(stderr, "usage: bench_twping [COUNT [MEAN_SECONDS]] | --quick\n");
        return 1;
    }
    owp_err e;
    if (owp_clock_init(&e) != OWP_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    owp_slot slot = {.type = OWP_SLOT_EXP, .value = owp_num64_from_double(mean)};
    owp_request req = {.ipvn = 4, .npackets = count, .nslots = 1, .slots = &slot,
                       .timeout = owp_num64_from_double(1.0), .padding = 27};
    memset(req.sid, 0x5a, sizeof req.sid);
    printf("bench_twping: %u packets each, %.3f ms mean spacing, 127.0.0.1, open mode\n", count,
           mean * 1e3);
    one_way(&req);
    round_trip(&req);
    return 0;
}
