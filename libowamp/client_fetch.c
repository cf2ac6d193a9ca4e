/*
 * client_fetch.c - Fetch-Session, client side (RFC 4656 section 3.9; wire
 * facts: ../shared/spec/owamp-wire.md section 10): send the request, then
 * read the Fetch-Ack, the stored Request-Session, the skip ranges and the
 * records into a file in the fetched layout. owp_client_recv_fetch() reads
 * the response alone on any channel.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "client_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "channel.h"
#include "wire.h"

static owp_status recv_fetch_request(owp_chan *chan, owp_request *req, owp_err *err)
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
        return owp_err_set(err, OWP_ERR_PROTO, "fetched Request-Session: %u slots", req->nslots);
    req->slots = calloc(req->nslots, sizeof *req->slots);
    if (!req->slots)
        return owp_err_set(err, OWP_ERR_NOMEM, "fetched Request-Session: out of memory");
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

static owp_status recv_fetch_skips(owp_chan *chan, uint32_t nskips, owp_skip **skips, owp_err *err)
{
    *skips = NULL;
    size_t len = owp_wire_pad16((size_t)nskips * 8);
    uint8_t *buf = len ? malloc(len) : NULL;
    if (len && !buf)
        return owp_err_set(err, OWP_ERR_NOMEM, "fetched skip ranges: out of memory");
    owp_status st = len ? owp_chan_recv(chan, buf, len, err) : OWP_OK;
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    if (st == OWP_OK && nskips) {
        *skips = malloc(nskips * sizeof **skips);
        if (!*skips)
            st = owp_err_set(err, OWP_ERR_NOMEM, "fetched skip ranges: out of memory");
        for (uint32_t i = 0; st == OWP_OK && i < nskips; i++) {
            (*skips)[i].first = owp_get32(buf + 8 * i);
            (*skips)[i].last = owp_get32(buf + 8 * i + 4);
        }
    }
    free(buf);
    return st;
}

/* Records arrive back to back, padded to 16 at the end; 400 bytes hold 16. */
static owp_status recv_fetch_records(owp_chan *chan, uint32_t nrecords, FILE *out, owp_err *err)
{
    enum { CHUNK = 400 * 16 };
    uint8_t buf[CHUNK];
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
            /* Chunks are multiples of 25 until the padded tail, so records never straddle. */
            uint16_t se = owp_get16(buf + off + 4), re = owp_get16(buf + off + 6);
            if (!owp_errest_valid(se) || !owp_errest_valid(re))
                st = owp_err_set(err, OWP_ERR_PROTO,
                                 "fetched record %llu: error estimate with multiplier 0",
                                 (unsigned long long)((got + off) / OWP_RECORD_LEN));
        }
        if (st == OWP_OK && keep && fwrite(buf, 1, keep, out) != keep)
            st = owp_err_sys(err, "writing fetched records");
        got += n;
    }
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    return st;
}

/* The stored request, the skip ranges and the records after a Fetch-Ack
 * that accepted, written to out. */
static owp_status recv_fetch_data(owp_chan *chan, const owp_fetch_ack *ack,
                                  const uint8_t *sid, FILE *out, owp_err *err)
{
    owp_request req;
    memset(&req, 0, sizeof req);
    owp_skip *skips = NULL;
    owp_status st = recv_fetch_request(chan, &req, err);
    if (st == OWP_OK && sid && memcmp(req.sid, sid, OWP_SID_LEN) != 0)
        st = owp_err_set(err, OWP_ERR_PROTO, "fetched session has a different SID");
    if (st == OWP_OK)
        st = recv_fetch_skips(chan, ack->nskips, &skips, err);
    uint32_t finished =
        ack->finished <= OWP_FINISHED_INCOMPLETE ? ack->finished : OWP_FINISHED_ERROR;
    if (st == OWP_OK)
        st = owp_file_write_fetched_header(out, &req, finished, ack->next_seqno, skips,
                                           ack->nskips, ack->nrecords, err);
    if (st == OWP_OK)
        st = recv_fetch_records(chan, ack->nrecords, out, err);
    if (st == OWP_OK && fflush(out) != 0)
        st = owp_err_sys(err, "writing fetched data");
    free(skips);
    owp_request_clear(&req);
    return st;
}

owp_status owp_client_recv_fetch(owp_chan *chan, const char *peer, const uint8_t *sid, FILE *out,
                                 owp_fetch_result *result, owp_err *err)
{
    if (!out)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_recv_fetch: no output file");
    uint8_t ackbuf[OWP_FETCH_ACK_LEN] = { 0 };
    owp_fetch_ack ack;
    owp_status st = owp_chan_recv(chan, ackbuf, 16, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(chan, err);
    if (st == OWP_OK)
        st = owp_wire_decode_fetch_ack(ackbuf, &ack, err);
    if (st != OWP_OK)
        return owp_err_prefix(err, "Fetch-Ack from %s", peer);
    if (ack.accept != OWP_ACCEPT_OK)
        return owp_err_set(err, OWP_ERR_REFUSED, "server %s denied the fetch (Accept %u: %s)",
                           peer, ack.accept, owp_accept_name(ack.accept));
    if (ack.nskips > OWP_STOP_MAX_SKIPS)
        return owp_err_set(err, OWP_ERR_PROTO, "Fetch-Ack from %s: %u skip ranges", peer,
                           ack.nskips);
    if (recv_fetch_data(chan, &ack, sid, out, err) != OWP_OK)
        return owp_err_prefix(err, "Fetch-Session from %s", peer);
    if (result) {
        result->finished = ack.finished;
        result->next_seqno = ack.next_seqno;
        result->nskips = ack.nskips;
        result->nrecords = ack.nrecords;
    }
    return OWP_OK;
}

owp_status owp_client_fetch(owp_client *self, const uint8_t sid[OWP_SID_LEN], uint32_t begin,
                            uint32_t end, FILE *out, owp_fetch_result *result, owp_err *err)
{
    if (!out)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_client_fetch: no output file");
    owp_fetch_session fs = { .begin_seq = begin, .end_seq = end };
    memcpy(fs.sid, sid, OWP_SID_LEN);
    uint8_t buf[OWP_FETCH_SESSION_LEN] = { 0 };
    owp_wire_encode_fetch_session(&fs, buf);
    owp_status st = owp_chan_send(self->chan, buf, 32, err);
    if (st == OWP_OK)
        st = owp_chan_send_hmac(self->chan, err);
    if (st != OWP_OK)
        return owp_err_prefix(err, "sending Fetch-Session");
    return owp_client_recv_fetch(self->chan, self->peer_name, sid, out, result, err);
}
