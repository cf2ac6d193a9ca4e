/*
 * fuzz_fetch.c - the client's handling of a Fetch-Session response
 * (owping -T, owfetch): the fuzz input is what the server sends after our
 * Fetch-Session, in open mode, over a socketpair: Fetch-Ack, the stored
 * Request-Session (preamble, slots, HMAC), the skip ranges (padded, HMAC) and
 * the records (padded, HMAC). What was accepted is written in the fetched
 * layout and read back and reported as owfetch does.
 *
 * libowamp/client.h offers no way to run owp_client_fetch() on an
 * already-connected socket (owp_client_open() always connects and performs
 * the connection set-up itself), so this target drives the same lower layers
 * in the same order as client.c's owp_client_fetch(): owp_chan in open mode,
 * the wire decoders, the error-estimate check on every record, and
 * owp_file_write_fetched_header() followed by the raw records.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bytes.h"
#include "channel.h"
#include "owpfile.h"
#include "report.h"
#include "timestamp.h"
#include "wire.h"

/* The socket buffer must hold the whole input: the writer end is filled
 * before the reader starts. */
#define FUZZ_FETCH_MAX_INPUT (128 * 1024)
#define FUZZ_FETCH_TIMEOUT_MS 200
/* Reports walk the schedule up to the last packet (the reference's END_TIME),
 * a cost linear in npackets that teaches the fuzzer nothing: larger sessions
 * are fetched and read back but not reported. */
#define FUZZ_FETCH_REPORT_MAX_PACKETS 65536

static FILE *g_out;  /* the fetched file, reused across runs */
static FILE *g_null; /* reports go nowhere */

static owp_status recv_request(owp_chan *chan, owp_request *req, owp_err *err)
{
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN] = { 0 };
    owp_status st = owp_chan_recv(chan, pre, 96, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    if (st == OWP_OK)
        st = owp_wire_decode_request_preamble(pre, req, err);
    if (st != OWP_OK)
        return st;
    if (req->nslots == 0 || req->nslots > OWP_MAX_SLOTS)
        return owp_err_set(err, OWP_ERR_PROTO, "%u slots", req->nslots);
    req->slots = calloc(req->nslots, sizeof *req->slots);
    if (!req->slots)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; st == OWP_OK && i < req->nslots; i++) {
        uint8_t slot[OWP_SLOT_LEN];
        st = owp_chan_recv(chan, slot, sizeof slot, err);
        if (st == OWP_OK)
            st = owp_wire_decode_slot(slot, &req->slots[i], err);
    }
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    return st;
}

static owp_status recv_skips(owp_chan *chan, uint32_t nskips, owp_skip **skips, owp_err *err)
{
    *skips = NULL;
    size_t len = owp_wire_pad16((size_t)nskips * 8);
    uint8_t *buf = len ? malloc(len) : NULL;
    if (len && !buf)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    owp_status st = len ? owp_chan_recv(chan, buf, len, err) : OWP_OK;
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    if (st == OWP_OK && nskips) {
        *skips = malloc(nskips * sizeof **skips);
        if (!*skips)
            st = owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; st == OWP_OK && i < nskips; i++) {
            (*skips)[i].first = owp_get32(buf + 8 * i);
            (*skips)[i].last = owp_get32(buf + 8 * i + 4);
        }
    }
    free(buf);
    return st;
}

static owp_status recv_records(owp_chan *chan, uint32_t nrecords, FILE *out, owp_err *err)
{
    enum { CHUNK = 400 * 16 };
    static uint8_t buf[CHUNK];
    uint64_t want = (uint64_t)nrecords * OWP_RECORD_LEN;
    uint64_t total = owp_wire_pad16(want);
    uint64_t got = 0;
    owp_status st = OWP_OK;
    while (st == OWP_OK && got < total) {
        size_t n = total - got > CHUNK ? CHUNK : (size_t)(total - got);
        st = owp_chan_recv(chan, buf, n, err);
        if (st != OWP_OK)
            break;
        size_t keep = got + n <= want ? n : (size_t)(want > got ? want - got : 0);
        for (size_t off = 0; off + OWP_RECORD_LEN <= keep; off += OWP_RECORD_LEN) {
            uint16_t se = owp_get16(buf + off + 4), re = owp_get16(buf + off + 6);
            if (!owp_errest_valid(se) || !owp_errest_valid(re))
                st = owp_err_set(err, OWP_ERR_PROTO, "record with multiplier 0");
        }
        if (st == OWP_OK && keep && fwrite(buf, 1, keep, out) != keep)
            st = owp_err_sys(err, "fwrite");
        got += n;
    }
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    return st;
}

/* The client side of one Fetch-Session exchange; OWP_OK when the file was written. */
static owp_status fetch(owp_chan *chan, FILE *out, owp_err *err)
{
    owp_fetch_session fs = { .begin_seq = 0, .end_seq = 0xFFFFFFFFu };
    uint8_t req_buf[OWP_FETCH_SESSION_LEN] = { 0 };
    owp_wire_encode_fetch_session(&fs, req_buf);
    owp_status st = owp_chan_send(chan, req_buf, 32, err);
    if (st == OWP_OK)
        st = owp_chan_send_hmac(chan, err);
    if (st != OWP_OK)
        return st;

    uint8_t ackbuf[OWP_FETCH_ACK_LEN] = { 0 };
    owp_fetch_ack ack;
    st = owp_chan_recv(chan, ackbuf, 16, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    if (st == OWP_OK)
        st = owp_wire_decode_fetch_ack(ackbuf, &ack, err);
    if (st != OWP_OK)
        return st;
    if (ack.accept != OWP_ACCEPT_OK)
        return owp_err_set(err, OWP_ERR_REFUSED, "denied");
    if (ack.nskips > OWP_STOP_MAX_SKIPS)
        return owp_err_set(err, OWP_ERR_PROTO, "%u skip ranges", ack.nskips);

    owp_request req;
    memset(&req, 0, sizeof req);
    owp_skip *skips = NULL;
    st = recv_request(chan, &req, err);
    if (st == OWP_OK)
        st = recv_skips(chan, ack.nskips, &skips, err);
    uint32_t finished = ack.finished <= OWP_FINISHED_INCOMPLETE ? ack.finished : OWP_FINISHED_ERROR;
    if (st == OWP_OK)
        st = owp_file_write_fetched_header(out, &req, finished, ack.next_seqno, skips, ack.nskips,
                                           ack.nrecords, err);
    if (st == OWP_OK)
        st = recv_records(chan, ack.nrecords, out, err);
    if (st == OWP_OK && fflush(out) != 0)
        st = owp_err_sys(err, "fflush");
    free(skips);
    owp_request_clear(&req);
    return st;
}

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
        g_out = tmpfile();
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
    if (fetch(chan, g_out, &err) == OWP_OK)
        report(g_out);
    owp_chan_destroy(&chan);
    close(sv[1]);
    return 0;
}
