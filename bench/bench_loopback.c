/*
 * bench_loopback.c - the loopback delay floor and the send schedule's
 * accuracy of the test endpoints. Prints figures, not pass/fail.
 *
 *   bench_loopback [COUNT [MEAN_SECONDS]]   default 10000 packets, 0.001 s mean
 *   bench_loopback --quick                  1000 packets (a ~1 s smoke run)
 *
 * One open-mode session over 127.0.0.1 between a sender thread and a
 * receiver thread, exponential spacing. Reported:
 *   one-way delay  = kernel receive timestamp - sender's timestamp
 *   send lateness  = sender's timestamp - scheduled send time
 *   CPU            = each loop's CPU time over the session's length (the
 *                    sender spins the last few tens of microseconds before
 *                    each packet; the receiver sleeps in poll)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RUSAGE_THREAD */
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "clock.h"
#include "endpoint.h"
#include "sendsched.h"

typedef struct bench {
    owp_request req;
    owp_slot slot;
    owp_session_keys keys;
    owp_endpoint *tx, *rx;
    owp_num64 *scheduled; /* per seq */
    double *delay_us, *late_us;
    size_t ndelay, nlate;
    owp_send_result sent;
    owp_recv_stats stats;
    owp_status tx_status, rx_status;
    owp_err tx_err, rx_err;
    double tx_cpu, rx_cpu;
} bench;

static double signed_us(owp_num64 a, owp_num64 b)
{
    return a >= b ? owp_num64_to_double(a - b) * 1e6 : -owp_num64_to_double(b - a) * 1e6;
}

static int on_record(const owp_record *r, void *arg)
{
    bench *b = arg;
    if (owp_record_lost(r))
        return 0;
    b->delay_us[b->ndelay++] = signed_us(r->recv_time, r->send_time);
    if (r->seq < b->req.npackets && b->nlate < b->req.npackets)
        b->late_us[b->nlate++] = signed_us(r->send_time, b->scheduled[r->seq]);
    return 0;
}

static double thread_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static void *sender(void *arg)
{
    bench *b = arg;
    double t0 = thread_cpu_seconds();
    b->tx_status = owp_endpoint_send(b->tx, &b->req, &b->keys, NULL, &b->sent, &b->tx_err);
    b->tx_cpu = thread_cpu_seconds() - t0;
    return NULL;
}

static void *receiver(void *arg)
{
    bench *b = arg;
    double t0 = thread_cpu_seconds();
    b->rx_status = owp_endpoint_receive(b->rx, &b->req, &b->keys, NULL, NULL, on_record, b,
                                        &b->stats, &b->rx_err);
    b->rx_cpu = thread_cpu_seconds() - t0;
    return NULL;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static void print_row(const char *what, double *v, size_t n)
{
    qsort(v, n, sizeof *v, compare_double);
    printf("%-22s median %8.1f   p99 %8.1f   min %8.1f   max %9.1f   (n=%zu)\n", what,
           percentile(v, n, 50), percentile(v, n, 99), n ? v[0] : 0, n ? v[n - 1] : 0, n);
}

static owp_endpoint *loopback_endpoint(uint16_t *port)
{
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    owp_endpoint_opts o = {.family = AF_INET, .local = (struct sockaddr *)&lo,
                           .local_len = sizeof lo, .dscp = -1};
    owp_err e;
    owp_endpoint *ep = owp_endpoint_new(&o, &e);
    if (!ep) {
        fprintf(stderr, "bench_loopback: %s\n", e.msg);
        exit(1);
    }
    *port = owp_endpoint_port(ep);
    return ep;
}

static void connect_to(owp_endpoint *ep, uint16_t port)
{
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    owp_err e;
    if (owp_endpoint_set_peer(ep, (struct sockaddr *)&peer, sizeof peer, &e) != OWP_OK) {
        fprintf(stderr, "bench_loopback: %s\n", e.msg);
        exit(1);
    }
}

static int parse_args(int argc, char **argv, uint32_t *count, double *mean)
{
    *count = 10000;
    *mean = 0.001;
    if (argc == 2 && strcmp(argv[1], "--quick") == 0) {
        *count = 1000;
        return 0;
    }
    if (argc > 3)
        return -1;
    char *end;
    if (argc > 1) {
        unsigned long v = strtoul(argv[1], &end, 10);
        if (*end || v == 0 || v > 10000000)
            return -1;
        *count = (uint32_t)v;
    }
    if (argc > 2) {
        *mean = strtod(argv[2], &end);
        if (*end || !(*mean > 0 && *mean <= 10))
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint32_t count;
    double mean;
    if (parse_args(argc, argv, &count, &mean) != 0) {
        fprintf(stderr, "usage: bench_loopback [COUNT [MEAN_SECONDS]] | --quick\n");
        return 2;
    }
    owp_err e;
    if (owp_clock_init(&e) != OWP_OK) {
        fprintf(stderr, "bench_loopback: %s\n", e.msg);
        return 1;
    }

    static bench b;
    b.keys.mode = OWP_MODE_OPEN;
    b.slot.type = OWP_SLOT_EXP;
    b.slot.value = owp_num64_from_double(mean);
    b.req.ipvn = 4;
    b.req.nslots = 1;
    b.req.slots = &b.slot;
    b.req.npackets = count;
    b.req.timeout = owp_num64_from_double(2.0);
    for (int i = 0; i < 16; i++)
        b.req.sid[i] = (uint8_t)(i * 17 + 3);
    uint16_t errest;
    b.req.start_time = owp_clock_now(&errest) + owp_num64_from_double(0.1);

    b.scheduled = malloc(count * sizeof *b.scheduled);
    b.delay_us = malloc(count * sizeof *b.delay_us * 2); /* duplicates fit too */
    b.late_us = malloc(count * sizeof *b.late_us);
    owp_sched *sched = owp_sched_new(b.req.sid, b.req.slots, b.req.nslots, &e);
    if (!b.scheduled || !b.delay_us || !b.late_us || !sched) {
        fprintf(stderr, "bench_loopback: setup failed: %s\n", sched ? "out of memory" : e.msg);
        return 1;
    }
    owp_num64 due = b.req.start_time;
    for (uint32_t i = 0; i < count; i++)
        b.scheduled[i] = due += owp_sched_next_delta(sched);
    owp_sched_destroy(&sched);

    uint16_t tx_port, rx_port;
    b.tx = loopback_endpoint(&tx_port);
    b.rx = loopback_endpoint(&rx_port);
    connect_to(b.tx, rx_port);
    connect_to(b.rx, tx_port);

    double span = owp_num64_to_double(b.scheduled[count - 1] - b.req.start_time);
    printf("bench_loopback: %u packets, exponential mean %.3f ms (~%.1f s), open mode, 127.0.0.1\n",
           count, mean * 1e3, span);
    fflush(stdout);

    pthread_t tx, rx;
    pthread_create(&rx, NULL, receiver, &b);
    pthread_create(&tx, NULL, sender, &b);
    pthread_join(tx, NULL);
    pthread_join(rx, NULL);
    if (b.tx_status != OWP_OK || b.rx_status != OWP_OK) {
        fprintf(stderr, "bench_loopback: %s\n", b.tx_status != OWP_OK ? b.tx_err.msg : b.rx_err.msg);
        return 1;
    }

    printf("sent %u (skipped ranges %u)   received %llu   lost %llu   duplicates %llu\n",
           b.sent.next_seqno, b.sent.nskips, (unsigned long long)b.stats.received,
           (unsigned long long)b.stats.lost, (unsigned long long)b.stats.duplicates);
    print_row("one-way delay (us):", b.delay_us, b.ndelay);
    print_row("send lateness (us):", b.late_us, b.nlate);
    size_t over10 = 0, over100 = 0, over1000 = 0;
    for (size_t i = 0; i < b.nlate; i++) {
        over10 += b.late_us[i] > 10;
        over100 += b.late_us[i] > 100;
        over1000 += b.late_us[i] > 1000;
    }
    printf("packets late by more than 10 us: %zu   100 us: %zu   1 ms: %zu\n", over10, over100,
           over1000);
    double wall = span + 0.1;
    printf("CPU over the session:  sender %.1f%%   receiver %.1f%%\n", 100 * b.tx_cpu / wall,
           100 * b.rx_cpu / wall);
    printf("reference (perfSONAR owamp, this kind of machine): delay median ~41 us, p99 ~400 us\n");

    owp_send_result_clear(&b.sent);
    owp_endpoint_destroy(&b.tx);
    owp_endpoint_destroy(&b.rx);
    free(b.scheduled);
    free(b.delay_us);
    free(b.late_us);
    return 0;
}
