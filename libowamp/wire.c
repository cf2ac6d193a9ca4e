/*
 * wire.c - OWAMP-Control message codec (RFC 4656 section 3); byte layouts in
 * ../shared/spec/owamp-wire.md sections 2-11.
 *
 * MBZ policy. The reference (owamp 5.2.3, protocol.c) reads only the fields
 * it needs and ignores almost every MBZ/Unused field, and owping/owampd must
 * interoperate with it and with whatever it tolerates. So decoders ACCEPT
 * non-zero MBZ fields unless the reference itself checks them; each decoder
 * says which applies. Encoders always write zeros. Value fields (message
 * type, Accept, Mode, IPVN, slot type, counts) are always checked.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"

const char *owp_accept_name(int accept)
{
    switch (accept) {
    case OWP_ACCEPT_OK: return "accepted";
    case OWP_ACCEPT_FAILURE: return "failure, reason unspecified";
    case OWP_ACCEPT_INTERNAL: return "internal error";
    case OWP_ACCEPT_NOT_SUPPORTED: return "some aspect of the request is not supported";
    case OWP_ACCEPT_PERMANENT: return "cannot perform the request due to permanent resource limitations";
    case OWP_ACCEPT_TEMPORARY: return "cannot perform the request due to temporary resource limitations";
    }
    return "invalid accept value";
}

/* Accept values outside 0-5 are a protocol error (the reference's
 * GetAcceptType fails the connection on them). */
static owp_status check_accept(uint8_t accept, const char *msg, owp_err *err)
{
    if (accept > OWP_ACCEPT_TEMPORARY)
        return owp_err_set(err, OWP_ERR_PROTO, "%s: invalid Accept value %u", msg, accept);
    return OWP_OK;
}

static owp_status check_type(uint8_t got, uint8_t want, const char *msg, owp_err *err)
{
    if (got != want)
        return owp_err_set(err, OWP_ERR_PROTO, "%s: message type %u, expected %u", msg, got, want);
    return OWP_OK;
}

/* ---- Server-Greeting ---- */

void owp_wire_encode_greeting(const owp_greeting *m, uint8_t out[OWP_GREETING_LEN])
{
    memset(out, 0, OWP_GREETING_LEN);
    owp_put32(out + 12, m->modes);
    memcpy(out + 16, m->challenge, 16);
    memcpy(out + 32, m->salt, 16);
    owp_put32(out + 48, m->count);
}

/* Unused (0-11) and MBZ (52-63) are not checked: the reference ignores them.
 * Modes is taken as is (0 = refusal, unknown bits such as TWAMP's mixed mode
 * are for the client to ignore when it picks a mode). */
owp_status owp_wire_decode_greeting(const uint8_t in[OWP_GREETING_LEN], owp_greeting *m,
                                    owp_err *err)
{
    (void)err;
    memset(m, 0, sizeof *m);
    m->modes = owp_get32(in + 12);
    memcpy(m->challenge, in + 16, 16);
    memcpy(m->salt, in + 32, 16);
    m->count = owp_get32(in + 48);
    return OWP_OK;
}

/* ---- Set-Up-Response ---- */

static int is_single_known_mode(uint32_t mode, uint32_t known)
{
    return (mode & known) == mode &&
           (mode == OWP_MODE_OPEN || mode == OWP_MODE_AUTH || mode == OWP_MODE_ENCRYPTED ||
            mode == OWP_MODE_MIXED);
}

void owp_wire_encode_setup_response(const owp_setup_response *m,
                                    uint8_t out[OWP_SETUP_RESPONSE_LEN])
{
    memset(out, 0, OWP_SETUP_RESPONSE_LEN);
    owp_put32(out, m->mode);
    /* KeyID is NUL padded, not NUL terminated: 80 characters fill the field. */
    const char *nul = memchr(m->keyid, '\0', OWP_KEYID_LEN);
    memcpy(out + 4, m->keyid, nul ? (size_t)(nul - m->keyid) : OWP_KEYID_LEN);
    memcpy(out + 84, m->token, 64);
    memcpy(out + 148, m->client_iv, 16);
}

/* The reference closes on a Mode with zero, several or unknown bits; so do we.
 * In open mode bytes 4-163 should be zero but the reference never looks. */
owp_status owp_wire_decode_setup_response(const uint8_t in[OWP_SETUP_RESPONSE_LEN],
                                          owp_setup_response *m, owp_err *err)
{
    return owp_wire_decode_setup_response_modes(in, OWP_MODE_OPEN | OWP_MODE_AUTH |
                                                        OWP_MODE_ENCRYPTED, m, err);
}

owp_status owp_wire_decode_setup_response_modes(const uint8_t in[OWP_SETUP_RESPONSE_LEN],
                                                uint32_t known, owp_setup_response *m,
                                                owp_err *err)
{
    memset(m, 0, sizeof *m);
    m->mode = owp_get32(in);
    if (!is_single_known_mode(m->mode, known))
        return owp_err_set(err, OWP_ERR_PROTO,
                           "Set-Up-Response: Mode 0x%08x is not exactly one known mode", m->mode);
    memcpy(m->keyid, in + 4, OWP_KEYID_LEN);
    m->keyid[OWP_KEYID_LEN] = '\0';
    memcpy(m->token, in + 84, 64);
    memcpy(m->client_iv, in + 148, 16);
    return OWP_OK;
}

/* ---- Server-Start ---- */

void owp_wire_encode_server_start(const owp_server_start *m, uint8_t out[OWP_SERVER_START_LEN])
{
    memset(out, 0, OWP_SERVER_START_LEN);
    out[15] = m->accept;
    memcpy(out + 16, m->server_iv, 16);
    /* A refusing server sends bytes 32-47 as zeros (owamp-wire.md section 4). */
    if (m->accept == OWP_ACCEPT_OK)
        owp_put64(out + 32, m->start_time);
}

/* MBZ 0-14 and 40-47 not checked (the reference ignores them). */
owp_status owp_wire_decode_server_start(const uint8_t in[OWP_SERVER_START_LEN],
                                        owp_server_start *m, owp_err *err)
{
    memset(m, 0, sizeof *m);
    m->accept = in[15];
    if (check_accept(m->accept, "Server-Start", err) != OWP_OK)
        return OWP_ERR_PROTO;
    memcpy(m->server_iv, in + 16, 16);
    m->start_time = owp_get64(in + 32);
    return OWP_OK;
}

/* ---- Request-Session ---- */

void owp_wire_encode_request_preamble(const owp_request *m, uint8_t out[OWP_REQUEST_PREAMBLE_LEN])
{
    memset(out, 0, OWP_REQUEST_PREAMBLE_LEN);
    out[0] = OWP_MSG_REQUEST_SESSION;
    out[1] = m->ipvn & 0x0f;
    out[2] = m->conf_sender ? 1 : 0;
    out[3] = m->conf_receiver ? 1 : 0;
    owp_put32(out + 4, m->nslots);
    owp_put32(out + 8, m->npackets);
    owp_put16(out + 12, m->sender_port);
    owp_put16(out + 14, m->receiver_port);
    memcpy(out + 16, m->sender_addr, 16);
    memcpy(out + 32, m->receiver_addr, 16);
    memcpy(out + 48, m->sid, OWP_SID_LEN);
    owp_put32(out + 64, m->padding);
    owp_put64(out + 68, m->start_time);
    owp_put64(out + 76, m->timeout);
    owp_put32(out + 84, m->typep);
}

void owp_wire_decode_request_fields(const uint8_t in[OWP_REQUEST_PREAMBLE_LEN], owp_request *m)
{
    m->ipvn = in[1] & 0x0f;
    m->conf_sender = in[2];
    m->conf_receiver = in[3];
    m->nslots = owp_get32(in + 4);
    m->npackets = owp_get32(in + 8);
    m->sender_port = owp_get16(in + 12);
    m->receiver_port = owp_get16(in + 14);
    memcpy(m->sender_addr, in + 16, 16);
    memcpy(m->receiver_addr, in + 32, 16);
    memcpy(m->sid, in + 48, OWP_SID_LEN);
    m->padding = owp_get32(in + 64);
    m->start_time = owp_get64(in + 68);
    m->timeout = owp_get64(in + 76);
    m->typep = owp_get32(in + 84);
}

/*
 * Checked: type 1, IPVN 4 or 6, 1 <= nslots <= OWP_MAX_SLOTS, npackets >= 1
 * (nslots bounds the slot allocation a peer can make us do).
 * Not checked, as in the reference: the MBZ nibble of byte 1 (the reference
 * masks it off), MBZ 88-95, the Type-P bits (the session's owner decides),
 * both Conf flags set (the server answers Accept 3) or neither (the reference
 * refuses the session, not the connection). Conf bytes other than 0 count as
 * 1, like the reference.
 */
owp_status owp_wire_decode_request_preamble(const uint8_t in[OWP_REQUEST_PREAMBLE_LEN],
                                            owp_request *m, owp_err *err)
{
    if (check_type(in[0], OWP_MSG_REQUEST_SESSION, "Request-Session", err) != OWP_OK)
        return OWP_ERR_PROTO;
    owp_slot *slots = m->slots;
    memset(m, 0, sizeof *m);
    owp_wire_decode_request_fields(in, m);
    m->slots = slots;
    if (m->ipvn != 4 && m->ipvn != 6)
        return owp_err_set(err, OWP_ERR_PROTO, "Request-Session: unsupported IP version %u",
                           m->ipvn);
    m->conf_sender = m->conf_sender ? 1 : 0;
    m->conf_receiver = m->conf_receiver ? 1 : 0;
    if (m->nslots < 1 || m->nslots > OWP_MAX_SLOTS)
        return owp_err_set(err, OWP_ERR_PROTO,
                           "Request-Session: Number of Schedule Slots %u outside 1-%u", m->nslots,
                           (unsigned)OWP_MAX_SLOTS);
    if (m->npackets < 1)
        return owp_err_set(err, OWP_ERR_PROTO, "Request-Session: Number of Packets is 0");
    return OWP_OK;
}

void owp_wire_encode_slot(const owp_slot *slot, uint8_t out[OWP_SLOT_LEN])
{
    memset(out, 0, OWP_SLOT_LEN);
    out[0] = slot->type == OWP_SLOT_FIXED ? 1 : 0;
    owp_put64(out + 8, slot->value);
}

/* Slot type must be 0 or 1 (the reference fails otherwise); MBZ 1-7 ignored as
 * in the reference. */
owp_status owp_wire_decode_slot(const uint8_t in[OWP_SLOT_LEN], owp_slot *slot, owp_err *err)
{
    if (in[0] > 1)
        return owp_err_set(err, OWP_ERR_PROTO, "Request-Session: unknown slot type %u", in[0]);
    slot->type = in[0] == 1 ? OWP_SLOT_FIXED : OWP_SLOT_EXP;
    slot->value = owp_get64(in + 8);
    return OWP_OK;
}

owp_status owp_request_copy(owp_request *dst, const owp_request *src, owp_err *err)
{
    owp_slot *slots = NULL;
    if (src->nslots > 0 && src->slots) {
        if (src->nslots > OWP_MAX_SLOTS)
            return owp_err_set(err, OWP_ERR_INVALID, "owp_request_copy: %u slots", src->nslots);
        slots = malloc(src->nslots * sizeof *slots);
        if (!slots)
            return owp_err_set(err, OWP_ERR_NOMEM, "owp_request_copy: %u slots", src->nslots);
        memcpy(slots, src->slots, src->nslots * sizeof *slots);
    }
    *dst = *src;
    dst->slots = slots;
    return OWP_OK;
}

void owp_request_clear(owp_request *m)
{
    if (!m)
        return;
    free(m->slots);
    memset(m, 0, sizeof *m);
}

int owp_request_dscp(const owp_request *m)
{
    /* Plain DSCP: byte 0 = 00dddddd, bytes 1-3 zero. Anything else (e.g. a
     * PHB ID, RFC 4656 3.5 / RFC 2836) is not a DSCP. */
    if (m->typep & 0xC0FFFFFFu)
        return -1;
    return (int)(m->typep >> 24);
}

/* ---- Accept-Session ---- */

void owp_wire_encode_accept_session(const owp_accept_session *m,
                                    uint8_t out[OWP_ACCEPT_SESSION_LEN])
{
    memset(out, 0, OWP_ACCEPT_SESSION_LEN);
    out[0] = m->accept;
    owp_put16(out + 2, m->port);
    memcpy(out + 4, m->sid, OWP_SID_LEN);
}

/* MBZ 1 and 20-31 ignored (the reference reads only Accept, Port, SID). */
owp_status owp_wire_decode_accept_session(const uint8_t in[OWP_ACCEPT_SESSION_LEN],
                                          owp_accept_session *m, owp_err *err)
{
    memset(m, 0, sizeof *m);
    m->accept = in[0];
    if (check_accept(m->accept, "Accept-Session", err) != OWP_OK)
        return OWP_ERR_PROTO;
    m->port = owp_get16(in + 2);
    memcpy(m->sid, in + 4, OWP_SID_LEN);
    return OWP_OK;
}

/* ---- Start-Sessions / Start-Ack ---- */

void owp_wire_encode_start_sessions(uint8_t out[OWP_START_SESSIONS_LEN])
{
    memset(out, 0, OWP_START_SESSIONS_LEN);
    out[0] = OWP_MSG_START_SESSIONS;
}

/* Only the type is checked; MBZ 1-15 ignored as in the reference. */
owp_status owp_wire_decode_start_sessions(const uint8_t in[OWP_START_SESSIONS_LEN], owp_err *err)
{
    return check_type(in[0], OWP_MSG_START_SESSIONS, "Start-Sessions", err);
}

void owp_wire_encode_start_ack(uint8_t accept, uint8_t out[OWP_START_ACK_LEN])
{
    memset(out, 0, OWP_START_ACK_LEN);
    out[0] = accept;
}

/* MBZ 1-15 ignored as in the reference. */
owp_status owp_wire_decode_start_ack(const uint8_t in[OWP_START_ACK_LEN], uint8_t *accept,
                                     owp_err *err)
{
    *accept = in[0];
    return check_accept(in[0], "Start-Ack", err);
}

/* ---- Stop-Sessions ---- */

size_t owp_wire_stop_session_blocks(uint32_t nskips)
{
    /* SID (16) + Next Seqno (4) + Number of Skip Ranges (4) + 8 per range,
     * padded to the block size. size_t arithmetic: no overflow on 64-bit
     * for any uint32_t count. */
    return owp_wire_pad16(16 + 8 + 8 * (size_t)nskips) / 16;
}

size_t owp_wire_stop_sessions_len(const owp_stop_sessions *m)
{
    size_t len = 16;
    for (uint32_t i = 0; i < m->nsessions; i++)
        len += 16 * owp_wire_stop_session_blocks(m->sessions[i].nskips);
    return len;
}

void owp_wire_encode_stop_sessions(const owp_stop_sessions *m, uint8_t *out)
{
    size_t len = owp_wire_stop_sessions_len(m);
    memset(out, 0, len);
    out[0] = OWP_MSG_STOP_SESSIONS;
    out[1] = m->accept;
    owp_put32(out + 4, m->nsessions);
    uint8_t *p = out + 16;
    for (uint32_t i = 0; i < m->nsessions; i++) {
        const owp_stop_session *s = &m->sessions[i];
        memcpy(p, s->sid, OWP_SID_LEN);
        owp_put32(p + 16, s->next_seqno);
        owp_put32(p + 20, s->nskips);
        for (uint32_t k = 0; k < s->nskips; k++) {
            owp_put32(p + 24 + 8 * (size_t)k, s->skips[k].first);
            owp_put32(p + 28 + 8 * (size_t)k, s->skips[k].last);
        }
        p += 16 * owp_wire_stop_session_blocks(s->nskips);
    }
}

/* Type 3, Accept 0-5, nsessions <= OWP_STOP_MAX_SESSIONS. MBZ 2-3 and 8-15
 * ignored (the reference reads only Accept and the count). */
owp_status owp_wire_decode_stop_header(const uint8_t in[16], uint8_t *accept, uint32_t *nsessions,
                                       owp_err *err)
{
    if (check_type(in[0], OWP_MSG_STOP_SESSIONS, "Stop-Sessions", err) != OWP_OK)
        return OWP_ERR_PROTO;
    if (check_accept(in[1], "Stop-Sessions", err) != OWP_OK)
        return OWP_ERR_PROTO;
    uint32_t n = owp_get32(in + 4);
    if (n > OWP_STOP_MAX_SESSIONS)
        return owp_err_set(err, OWP_ERR_PROTO, "Stop-Sessions: Number of Sessions %u exceeds %u",
                           n, (unsigned)OWP_STOP_MAX_SESSIONS);
    *accept = in[1];
    *nsessions = n;
    return OWP_OK;
}

owp_status owp_wire_decode_stop_counts(const uint8_t in[16], uint32_t *next_seqno,
                                       uint32_t *nskips, owp_err *err)
{
    uint32_t n = owp_get32(in + 4);
    if (n > OWP_STOP_MAX_SKIPS)
        return owp_err_set(err, OWP_ERR_PROTO,
                           "Stop-Sessions: Number of Skip Ranges %u exceeds %u", n,
                           (unsigned)OWP_STOP_MAX_SKIPS);
    *next_seqno = owp_get32(in);
    *nskips = n;
    return OWP_OK;
}

/* One session description at in (len bytes available). Checks as the
 * reference does: each range first <= last, and the 8 padding bytes after an
 * even number of ranges are zero. (The reference's ordering check never fires,
 * so out-of-order ranges are accepted.) */
static owp_status decode_stop_session(const uint8_t *in, size_t len, uint32_t index,
                                      owp_stop_session *s, size_t *used, owp_err *err)
{
    if (len < 32)
        return owp_err_set(err, OWP_ERR_PROTO, "Stop-Sessions: session %u truncated", index);
    memcpy(s->sid, in, OWP_SID_LEN);
    if (owp_wire_decode_stop_counts(in + 16, &s->next_seqno, &s->nskips, err) != OWP_OK)
        return OWP_ERR_PROTO;
    size_t blocks = owp_wire_stop_session_blocks(s->nskips);
    if (blocks > len / 16)
        return owp_err_set(err, OWP_ERR_PROTO,
                           "Stop-Sessions: session %u claims %u skip ranges, only %zu bytes left",
                           index, s->nskips, len);
    if (s->nskips > 0) {
        s->skips = malloc(s->nskips * sizeof *s->skips);
        if (!s->skips)
            return owp_err_set(err, OWP_ERR_NOMEM, "Stop-Sessions: %u skip ranges", s->nskips);
    }
    for (uint32_t k = 0; k < s->nskips; k++) {
        const uint8_t *r = in + 24 + 8 * (size_t)k;
        s->skips[k].first = owp_get32(r);
        s->skips[k].last = owp_get32(r + 4);
        if (s->skips[k].last < s->skips[k].first)
            return owp_err_set(err, OWP_ERR_PROTO,
                               "Stop-Sessions: session %u skip range %u: last %u < first %u",
                               index, k, s->skips[k].last, s->skips[k].first);
    }
    if (s->nskips % 2 == 0 && !owp_all_zero(in + 16 * blocks - 8, 8))
        return owp_err_set(err, OWP_ERR_PROTO, "Stop-Sessions: session %u: non-zero padding",
                           index);
    *used = 16 * blocks;
    return OWP_OK;
}

owp_status owp_wire_decode_stop_sessions(const uint8_t *in, size_t len, owp_stop_sessions *m,
                                         owp_err *err)
{
    memset(m, 0, sizeof *m);
    if (len < 16)
        return owp_err_set(err, OWP_ERR_PROTO, "Stop-Sessions: %zu bytes, header needs 16", len);
    uint32_t nsessions;
    if (owp_wire_decode_stop_header(in, &m->accept, &nsessions, err) != OWP_OK)
        return OWP_ERR_PROTO;
    size_t left = len - 16;
    /* Every session takes at least two blocks: refuse before allocating. */
    if ((size_t)nsessions > left / 32)
        return owp_err_set(err, OWP_ERR_PROTO,
                           "Stop-Sessions: %u sessions cannot fit in %zu bytes", nsessions, left);
    if (nsessions > 0) {
        m->sessions = calloc(nsessions, sizeof *m->sessions);
        if (!m->sessions)
            return owp_err_set(err, OWP_ERR_NOMEM, "Stop-Sessions: %u sessions", nsessions);
    }
    m->nsessions = nsessions;
    const uint8_t *p = in + 16;
    for (uint32_t i = 0; i < nsessions; i++) {
        size_t used = 0;
        owp_status st = decode_stop_session(p, left, i, &m->sessions[i], &used, err);
        if (st != OWP_OK) {
            owp_stop_sessions_clear(m);
            return st;
        }
        p += used;
        left -= used;
    }
    if (left != 0) {
        owp_stop_sessions_clear(m);
        return owp_err_set(err, OWP_ERR_PROTO, "Stop-Sessions: %zu bytes after the last session",
                           left);
    }
    return OWP_OK;
}

void owp_stop_sessions_clear(owp_stop_sessions *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; m->sessions && i < m->nsessions; i++)
        free(m->sessions[i].skips);
    free(m->sessions);
    memset(m, 0, sizeof *m);
}

/* ---- Fetch-Session / Fetch-Ack ---- */

void owp_wire_encode_fetch_session(const owp_fetch_session *m, uint8_t out[OWP_FETCH_SESSION_LEN])
{
    memset(out, 0, OWP_FETCH_SESSION_LEN);
    out[0] = OWP_MSG_FETCH_SESSION;
    owp_put32(out + 8, m->begin_seq);
    owp_put32(out + 12, m->end_seq);
    memcpy(out + 16, m->sid, OWP_SID_LEN);
}

/* MBZ 1-7 ignored as in the reference. */
owp_status owp_wire_decode_fetch_session(const uint8_t in[OWP_FETCH_SESSION_LEN],
                                         owp_fetch_session *m, owp_err *err)
{
    memset(m, 0, sizeof *m);
    if (check_type(in[0], OWP_MSG_FETCH_SESSION, "Fetch-Session", err) != OWP_OK)
        return OWP_ERR_PROTO;
    m->begin_seq = owp_get32(in + 8);
    m->end_seq = owp_get32(in + 12);
    memcpy(m->sid, in + 16, OWP_SID_LEN);
    return OWP_OK;
}

void owp_wire_encode_fetch_ack(const owp_fetch_ack *m, uint8_t out[OWP_FETCH_ACK_LEN])
{
    memset(out, 0, OWP_FETCH_ACK_LEN);
    out[0] = m->accept;
    out[1] = m->finished;
    owp_put32(out + 4, m->next_seqno);
    owp_put32(out + 8, m->nskips);
    owp_put32(out + 12, m->nrecords);
}

/* Accept 0-5; MBZ 2-3 ignored as in the reference. Finished is passed on as is
 * (the file format knows values other than 0 and 1). The counts are not bounded
 * here: the fetcher reads the data incrementally and bounds its own buffers. */
owp_status owp_wire_decode_fetch_ack(const uint8_t in[OWP_FETCH_ACK_LEN], owp_fetch_ack *m,
                                     owp_err *err)
{
    memset(m, 0, sizeof *m);
    m->accept = in[0];
    if (check_accept(m->accept, "Fetch-Ack", err) != OWP_OK)
        return OWP_ERR_PROTO;
    m->finished = in[1];
    m->next_seqno = owp_get32(in + 4);
    m->nskips = owp_get32(in + 8);
    m->nrecords = owp_get32(in + 12);
    return OWP_OK;
}
