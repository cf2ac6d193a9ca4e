/*
 * bench_stampd.c - how many reflections a second stampd's engine makes on one
 * core, next to a bare UDP echo loop on the same socket set-up measured in
 * the same run. Prints figures, not pass/fail.
 *
 *   bench_stampd [SECONDS]      default 2 s per figure
 *   bench_stampd --quick        0.5 s
 *
 * One thread serves an owp_endpoint socket on 127.0.0.1 (kernel receive
 * stamps, TTLs; stampd's socket): either the reflector (stamp_reflector.h,
 * as stampd's loop calls it, with TOS and destination-address control data)
 * or an echo that reads each datagram with the same control data and sends
 * it back unchanged. A load thread keeps a window of packets in flight and
 * sends the next one for each answer. The figure is answers per second of
 * wall time and per second of the serving thread's CPU time (its one core).
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
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "endpoint.h"
#include "endpoint_internal.h"
#include "stamp_reflector.h"
#include "stamp_tlv.h"

#define WINDOW 32
#define BATCH 64

typedef struct serve_arg {
    owp_endpoint *ep;
    owp_stamp_reflector *r;   /* NULL: the echo */
    atomic_int stop;
    double cpu;               /* seconds the thread ran */
} serve_arg;

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The peer: each datagram read as the reflector reads it, sent back as is. */
static void echo_batch(int fd)
{
    uint8_t buf[2048];
    for (int i = 0; i < BATCH; i++) {
        struct sockaddr_storage src;
        char control[512];
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr msg = {.msg_name = &src, .msg_namelen = sizeof src, .msg_iov = &iov,
                             .msg_iovlen = 1, .msg_control = control,
                             .msg_controllen = sizeof control};
        ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
        if (n < 0)
            return;
        owp_ep_rx_info rx;
        owp_ep_parse_control(&msg, &rx);
        (void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&src, msg.msg_namelen);
    }
}

static void *serve_main(void *p)
{
    serve_arg *a = p;
    int fd = owp_endpoint_fd(a->ep);
    owp_stamp_socket s;
    if (a->r && owp_stamp_socket_init(&s, fd, NULL) != OWP_OK)
        return NULL;
    double cpu0 = thread_cpu();
    while (!atomic_load(&a->stop)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 10) <= 0)
            continue;
        if (a->r)
            owp_stamp_reflector_serve(a->r, &s, BATCH, NULL);
        else
            echo_batch(fd);
    }
    a->cpu = thread_cpu() - cpu0;
    return NULL;
}

/* One test packet of the mode with the TLVs, as stping builds it. */
static size_t make_packet(owp_mode mode, owp_stamp_key *key, const owp_stamp_tlv_request *t,
                          uint32_t seq, uint8_t *buf)
{
    size_t base = owp_stamp_base_len(mode), len = base + owp_stamp_tlv_request_len(t);
    owp_stamp_tlv_request_encode(t, key, seq, seq + 1, buf + base, len - base, NULL);
    owp_stamp_sender m = {.seq = seq, .timestamp = owp_clock_now(&m.errest)};
    owp_stamp_sender_encode(mode, key, &m, buf, len, NULL);
    return len;
}

typedef struct load {
    owp_mode mode;
    owp_stamp_key *key;
    owp_stamp_tlv_request tlvs;
} load;

/* Keep WINDOW packets in flight for seconds: the answers counted. */
static uint64_t run_load(const load *l, const struct sockaddr_in *to, double seconds)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&lo, sizeof lo);
    connect(fd, (const struct sockaddr *)to, sizeof *to);
    uint8_t pkt[2048], in[2048];
    uint32_t seq = 0;
    uint64_t answers = 0;
    double end = owp_clock_monotonic() + seconds;
    for (int i = 0; i < WINDOW; i++)
        (void)send(fd, pkt, make_packet(l->mode, l->key, &l->tlvs, seq++, pkt), 0);
    while (owp_clock_monotonic() < end) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) == 0) { /* answers lost: fill the window again */
            for (int i = 0; i < WINDOW; i++)
                (void)send(fd, pkt, make_packet(l->mode, l->key, &l->tlvs, seq++, pkt), 0);
            continue;
        }
        while (recv(fd, in, sizeof in, 0) > 0) {
            answers++;
            (void)send(fd, pkt, make_packet(l->mode, l->key, &l->tlvs, seq++, pkt), 0);
        }
    }
    close(fd);
    return answers;
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

/* Answers a second (wall) of one server with one load; *per_cpu per second
 * of the server thread's CPU. */
static double measure(owp_stamp_reflector *r, const load *l, double seconds, double *per_cpu)
{
    serve_arg a = {.ep = endpoint(), .r = r};
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons(owp_endpoint_port(a.ep))};
    pthread_t t;
    pthread_create(&t, NULL, serve_main, &a);
    double t0 = owp_clock_monotonic();
    uint64_t n = run_load(l, &to, seconds);
    double wall = owp_clock_monotonic() - t0;
    atomic_store(&a.stop, 1);
    pthread_join(t, NULL);
    owp_endpoint_destroy(&a.ep);
    *per_cpu = a.cpu > 0 ? (double)n / a.cpu : 0;
    return (double)n / wall;
}

static owp_stamp_reflector *reflector(owp_mode mode, int stateful, owp_stamp_key *key)
{
    static const char policy[] = "rate-per-source 0\nrate-global 0\n";
    owp_stamp_reflector_config cfg = {.mode = mode, .stateful = stateful, .key = key};
    owp_stamp_reflector *r = owp_stamp_reflector_new(
        &cfg, owp_stamp_policy_parse(policy, sizeof policy - 1, "bench", NULL), NULL);
    if (!r) {
        fprintf(stderr, "bench_stampd: no reflector\n");
        exit(1);
    }
    return r;
}

static void row(const char *what, double rate, double per_cpu, double echo)
{
    printf("  %-40s %9.0f /s  %9.0f per CPU-second", what, rate, per_cpu);
    if (echo > 0)
        printf("  (%3.0f%% of the echo)", 100.0 * per_cpu / echo);
    printf("\n");
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    if (argc > 1)
        seconds = strcmp(argv[1], "--quick") == 0 ? 0.5 : strtod(argv[1], NULL);
    if (!(seconds > 0)) {
        fprintf(stderr, "usage: bench_stampd [SECONDS] | --quick\n");
        return 1;
    }
    owp_err e;
    if (owp_clock_init(&e) != OWP_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    uint8_t k[32] = {1};
    owp_stamp_key *lkey = owp_stamp_key_new(k, sizeof k, NULL),
                  *rkey = owp_stamp_key_new(k, sizeof k, NULL);
    load open = {.mode = OWP_MODE_OPEN}, tlv = open, auth = {.mode = OWP_MODE_AUTH, .key = lkey};
    owp_stamp_tlv_request_none(&open.tlvs);
    owp_stamp_tlv_request_none(&tlv.tlvs);
    tlv.tlvs.timestamp_info = tlv.tlvs.location = tlv.tlvs.direct = 1;
    owp_stamp_tlv_request_none(&auth.tlvs);
    auth.tlvs.timestamp_info = auth.tlvs.hmac = 1;
    printf("bench_stampd: 127.0.0.1, %d packets in flight, %.1f s a figure, one serving thread\n",
           WINDOW, seconds);
    double echo_cpu, cpu, rate = measure(NULL, &open, seconds, &echo_cpu);
    row("bare UDP echo, same socket (44 octets)", rate, echo_cpu, 0);
    owp_stamp_reflector *r = reflector(OWP_MODE_OPEN, 0, NULL);
    rate = measure(r, &open, seconds, &cpu);
    row("STAMP open, stateless (44 octets)", rate, cpu, echo_cpu);
    owp_stamp_reflector_destroy(&r);
    r = reflector(OWP_MODE_OPEN, 1, NULL);
    rate = measure(r, &tlv, seconds, &cpu);
    row("STAMP open, stateful, 3 TLVs (120 octets)", rate, cpu, echo_cpu);
    owp_stamp_reflector_destroy(&r);
    r = reflector(OWP_MODE_AUTH, 1, rkey);
    rate = measure(r, &auth, seconds, &cpu);
    row("STAMP authenticated, HMAC TLV (140 octets)", rate, cpu, echo_cpu);
    owp_stamp_reflector_destroy(&r);
    owp_stamp_key_destroy(&lkey);
    owp_stamp_key_destroy(&rkey);
    return 0;
}
