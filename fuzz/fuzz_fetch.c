/*
 * fuzz_fetch.c - the client's handling of a Fetch-Session response
 * (owping -T, owfetch): the fuzz input is what the server sends after our
 * Fetch-Session, in open mode, over a socketpair: Fetch-Ack, the stored
 * Request-Session (preamble, slots, HMAC), the skip ranges (padded, HMAC) and
 * the records (padded, HMAC). owp_client_recv_fetch() - the code
 * owp_client_fetch() runs once its Fetch-Session is sent - reads it into the
 * fetched layout, which is then read back and reported as owfetch does.
 */
/* memfd_create: _GNU_SOURCE comes from config.h (-include) */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "client.h"
#include "owpfile.h"
#include "report.h"

/* The socket buffer must hold the whole input: the writer end is filled
 * before the reader starts. */
#define FUZZ_FETCH_MAX_INPUT (128 * 1024)
#define FUZZ_FETCH_TIMEOUT_MS 50 /* never waited for: the input ends in EOF */
/* Reports walk the schedule up to the last packet (the reference's END_TIME),
 * a cost linear in npackets that teaches the fuzzer nothing: larger sessions
 * are fetched and read back but not reported. At 65536 that walk was 80 % of
 * every run (~1 000 exec/s); 1024 packets still reach every report path. */
#define FUZZ_FETCH_REPORT_MAX_PACKETS 1024

static FILE *g_out;  /* the fetched file, reused across runs */
static FILE *g_null; /* reports go nowhere */

/* Read the fetched file back and report it in the formats owfetch prints. */
static void report(FILE *fp)
{
    owp_err err;
    rewind(fp);
    owp_file *f = owp_file_read(fp, "fetched", &err);
    if (!f)
        return;
    const owp_request *req = owp_file_request(f);
    if (req && req->npackets > FUZZ_FETCH_REPORT_MAX_PACKETS) {
        owp_file_destroy(&f);
        return;
    }
    owp_report_opts o;
    owp_report_opts_default(&o);
    static const char *const hosts = "fuzz";
    owp_report_file(g_null, f, hosts, hosts, &o, &err);
    o.machine = 1;
    owp_report_file(g_null, f, hosts, hosts, &o, &err);
    o.machine = 0;
    o.raw = 1;
    owp_report_file(g_null, f, hosts, hosts, &o, &err);
    owp_file_destroy(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_FETCH_MAX_INPUT)
        return 0;
    if (!g_out) {
        /* In memory: a tmpfile's writes and truncations went to the disk. */
        int fd = memfd_create("owmesh-fuzz-fetch", MFD_CLOEXEC);
        g_out = fd >= 0 ? fdopen(fd, "w+b") : NULL;
        g_null = fopen("/dev/null", "w");
        if (!g_out || !g_null)
            abort();
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    int bufsize = 2 * FUZZ_FETCH_MAX_INPUT;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
    /* The "server": everything it will ever say, then end of stream. */
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(sv[1], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0)
            break; /* whatever did not fit is simply not sent */
        off += (size_t)n;
    }
    shutdown(sv[1], SHUT_WR);

    owp_err err;
    owp_chan *chan = owp_chan_new(sv[0], "fuzz-server", FUZZ_FETCH_TIMEOUT_MS, &err);
    if (!chan)
        abort();
    if (owp_chan_set_mode(chan, OWP_MODE_OPEN, NULL, NULL, NULL, NULL, &err) != OWP_OK)
        abort();
    if (fseek(g_out, 0, SEEK_SET) != 0 || ftruncate(fileno(g_out), 0) != 0)
        abort();
    /* No SID to match: the stored request may carry any. */
    if (owp_client_recv_fetch(chan, "fuzz-server", NULL, g_out, NULL, &err) == OWP_OK)
        report(g_out);
    owp_chan_destroy(&chan);
    close(sv[1]);
    return 0;
}
