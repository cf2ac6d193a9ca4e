/*
 * stamp_reflector.c - the STAMP Session-Reflector engine (stamp_reflector.h):
 * the decision and the answer for one datagram; stamp_reflector_io.c reads
 * and sends them on a socket.
 */
#include "stamp_reflector.h"
#include "stamp_reflector_internal.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hostport.h"
#include "stamp_table.h"
#include "stamp_tlv.h"

/* How often idle sessions are swept out (seconds). */
#define SWEEP_INTERVAL 1.0

const char *owp_stamp_verdict_name(owp_stamp_verdict v)
{
    static const char *const names[OWP_STAMP_VERDICTS] = {
        "reflected", "malformed", "auth", "denied", "rate-source", "rate-global",
        "amplification", "sessions-full", "send-error",
    };
    return (unsigned)v < OWP_STAMP_VERDICTS ? names[v] : "unknown";
}

owp_stamp_reflector *owp_stamp_reflector_new(const owp_stamp_reflector_config *cfg,
                                             owp_stamp_policy *policy, owp_err *err)
{
    if (!cfg || !policy || !owp_stamp_mode_valid(cfg->mode) ||
        (cfg->mode == OWP_MODE_AUTH && !cfg->key)) {
        owp_stamp_policy_destroy(&policy);
        owp_err_set(err, OWP_ERR_INVALID,
                    "STAMP reflector: a policy and a mode (authenticated with its key) needed");
        return NULL;
    }
    owp_stamp_reflector *r = calloc(1, sizeof *r);
    if (!r) {
        owp_stamp_policy_destroy(&policy);
        owp_err_set(err, OWP_ERR_NOMEM, "STAMP reflector: out of memory");
        return NULL;
    }
    r->cfg = *cfg;
    r->policy = policy;
    const owp_stamp_limits *l = owp_stamp_policy_limits(policy);
    r->limiter = owp_stamp_limiter_new(l->max_sources, err);
    r->sessions = r->limiter ? owp_stamp_table_new(l->max_sessions, sizeof(owp_stamp_session), err)
                             : NULL;
    r->rx = malloc(OWP_STAMP_IO_BUF);
    r->tx = malloc(OWP_STAMP_IO_BUF + OWP_STAMP_GROWTH_ROOM);
    if (!r->sessions || !r->rx || !r->tx) {
        if (r->sessions)
            owp_err_set(err, OWP_ERR_NOMEM, "STAMP reflector: out of memory");
        owp_stamp_reflector_destroy(&r);
    }
    return r;
}

void owp_stamp_reflector_destroy(owp_stamp_reflector **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_stamp_reflector *r = *self_p;
    owp_stamp_policy_destroy(&r->policy);
    owp_stamp_limiter_destroy(&r->limiter);
    owp_stamp_table_destroy(&r->sessions);
    free(r->rx);
    free(r->tx);
    free(r);
    *self_p = NULL;
}

void owp_stamp_reflector_set_policy(owp_stamp_reflector *r, owp_stamp_policy *policy)
{
    if (!policy)
        return;
    owp_stamp_policy_destroy(&r->policy);
    r->policy = policy;
}

const owp_stamp_policy *owp_stamp_reflector_policy(const owp_stamp_reflector *r)
{
    return r->policy;
}

const owp_stamp_counters *owp_stamp_reflector_counters(const owp_stamp_reflector *r)
{
    return &r->counters;
}

size_t owp_stamp_reflector_sessions(const owp_stamp_reflector *r)
{
    return owp_stamp_table_count(r->sessions);
}

/* ------------------------------------------------------------ one datagram */

static owp_stamp_verdict drop(owp_stamp_reflector *r, const owp_stamp_datagram *d,
                              owp_stamp_verdict v, owp_err *why)
{
    r->counters.n[v]++;
    if (r->cfg.log) {
        char peer[96];
        owp_sockaddr_format(d->src, peer, sizeof peer);
        owp_log(r->cfg.log, r->cfg.log_arg, OWP_LOG_DEBUG, "STAMP from %s (%zu octets): %s: %s",
                peer, d->len, owp_stamp_verdict_name(v), why ? why->msg : "");
    }
    return v;
}

/* The drop of a packet too short to be answered, or answered without growing. */
static owp_stamp_verdict check_length(owp_stamp_reflector *r, const owp_stamp_datagram *d,
                                      owp_err *why)
{
    size_t need = owp_stamp_reflected_min(r->cfg.mode);
    if (r->cfg.mode == OWP_MODE_OPEN && d->len >= OWP_STAMP_SENDER_MIN && d->len < need) {
        owp_err_set(why, OWP_ERR_REFUSED, "an answer takes %zu octets: larger than the request",
                    need);
        return OWP_STAMP_DROP_AMPLIFICATION;
    }
    if (d->len < need) {
        owp_err_set(why, OWP_ERR_FORMAT, "a %s test packet takes at least %zu octets",
                    r->cfg.mode == OWP_MODE_AUTH ? "authenticated" : "STAMP", need);
        return OWP_STAMP_DROP_MALFORMED;
    }
    return OWP_STAMP_REFLECTED;
}

/* The sender's session (stateless mode without room: a blank one). */
static owp_stamp_session *session_of(owp_stamp_reflector *r, const owp_stamp_datagram *d,
                                     uint16_t ssid)
{
    const owp_stamp_limits *l = owp_stamp_policy_limits(r->policy);
    if (d->now - r->last_sweep >= SWEEP_INTERVAL) {
        owp_stamp_table_expire(r->sessions, d->now - l->session_idle);
        r->last_sweep = d->now;
    }
    uint8_t key[OWP_STAMP_TABLE_KEY];
    owp_stamp_session *s = NULL;
    if (owp_stamp_table_key(d->src, d->src_len, 1, ssid, key)) {
        s = owp_stamp_table_find(r->sessions, key, d->now);
        /* A reload may have lowered max-sessions below the table's size. */
        if (!s && owp_stamp_table_count(r->sessions) < l->max_sessions)
            s = owp_stamp_table_get(r->sessions, key, d->now, NULL);
    }
    if (!s && !r->cfg.stateful) {
        memset(&r->scratch, 0, sizeof r->scratch);
        s = &r->scratch;
    }
    return s;
}

/* Answer the TLVs after the base into out's; the reply's length. */
static size_t answer_tlvs(owp_stamp_reflector *r, const owp_stamp_datagram *d,
                          const owp_stamp_session *s, uint32_t req_seq, uint32_t seq,
                          owp_stamp_reply *out)
{
    size_t base = owp_stamp_base_len(r->cfg.mode);
    const owp_stamp_limits *l = owp_stamp_policy_limits(r->policy);
    owp_stamp_tlv_ctx c = {
        .src = d->src, .src_len = d->src_len, .dst = d->dst, .dst_len = d->dst_len,
        .tos = d->tos, .synchronized = owp_clock_synchronized(),
        .rx_count = s->rx, .tx_count = s->tx + 1, .stateful = r->cfg.stateful,
        .have_last = s->have_last, .last_seq = s->last_seq, .last_time = s->last_time,
        .dscp_allowed = l->dscp_allowed, .key = r->cfg.key,
        .authenticated = r->cfg.mode == OWP_MODE_AUTH, .growth_allowed = l->max_reply_growth,
    };
    owp_stamp_tlv_result res;
    if (owp_stamp_tlv_answer(&c, d->buf + base, d->len - base, req_seq, seq, out->buf + base,
                             out->cap - base, &res, NULL) != OWP_OK)
        return 0;
    r->counters.tlv_unrecognized += res.unrecognized;
    r->counters.tlv_malformed += res.malformed;
    r->counters.tlv_integrity += res.integrity_failed ? res.count : 0;
    out->dscp = res.reply_dscp;
    return base + res.reply_len;
}

owp_stamp_verdict owp_stamp_reflector_answer(owp_stamp_reflector *r, const owp_stamp_datagram *d,
                                             owp_stamp_reply *out, owp_err *why)
{
    owp_err_clear(why);
    out->len = 0;
    out->dscp = -1;
    r->pending = NULL;
    if (!owp_stamp_policy_allows(r->policy, d->src, d->src_len)) {
        owp_err_set(why, OWP_ERR_REFUSED, "the policy does not allow this source");
        return drop(r, d, OWP_STAMP_DROP_DENIED, why);
    }
    switch (owp_stamp_limiter_take(r->limiter, owp_stamp_policy_limits(r->policy), d->src,
                                   d->src_len, d->now)) {
    case OWP_STAMP_RATE_SOURCE_EXCEEDED:
        owp_err_set(why, OWP_ERR_REFUSED, "above the rate allowed per source");
        return drop(r, d, OWP_STAMP_DROP_RATE_SOURCE, why);
    case OWP_STAMP_RATE_GLOBAL_EXCEEDED:
        owp_err_set(why, OWP_ERR_REFUSED, "above the reflector's rate");
        return drop(r, d, OWP_STAMP_DROP_RATE_GLOBAL, why);
    case OWP_STAMP_RATE_OK:
        break;
    }
    owp_stamp_verdict v = check_length(r, d, why);
    if (v != OWP_STAMP_REFLECTED)
        return drop(r, d, v, why);
    if (out->cap < d->len) {
        owp_err_set(why, OWP_ERR_FORMAT, "no room for a %zu-octet answer", d->len);
        return drop(r, d, OWP_STAMP_DROP_MALFORMED, why);
    }
    owp_stamp_sender m;
    if (owp_stamp_sender_decode(r->cfg.mode, r->cfg.key, d->buf, d->len, &m, why) != OWP_OK)
        return drop(r, d, OWP_STAMP_DROP_AUTH, why);
    owp_stamp_session *s = session_of(r, d, m.ssid);
    if (!s) {
        owp_err_set(why, OWP_ERR_REFUSED, "%zu sessions already: no room for another",
                    owp_stamp_table_count(r->sessions));
        return drop(r, d, OWP_STAMP_DROP_SESSIONS, why);
    }
    s->rx++;
    uint32_t seq = r->cfg.stateful ? s->next_seq : m.seq;
    size_t base = owp_stamp_base_len(r->cfg.mode);
    size_t len = d->len > base ? answer_tlvs(r, d, s, m.seq, seq, out) : d->len;
    if (len == 0) {
        owp_err_set(why, OWP_ERR_CRYPTO, "the TLVs could not be answered");
        return drop(r, d, OWP_STAMP_DROP_MALFORMED, why);
    }
    if (len > d->len + owp_stamp_policy_limits(r->policy)->max_reply_growth) {
        owp_err_set(why, OWP_ERR_REFUSED, "the answer would take %zu octets", len);
        return drop(r, d, OWP_STAMP_DROP_AMPLIFICATION, why);
    }
    owp_stamp_reflected refl = {
        .seq = seq, .ssid = m.ssid, .recv_time = d->t2, .sender_seq = m.seq,
        .sender_time = m.timestamp, .sender_errest = m.errest, .sender_ttl = d->ttl,
    };
    if (owp_stamp_reflected_prepare(r->cfg.mode, &refl, out->buf, len, why) != OWP_OK)
        return drop(r, d, OWP_STAMP_DROP_MALFORMED, why);
    out->len = len;
    r->pending = s;
    r->pending_seq = seq;
    return OWP_STAMP_REFLECTED;
}

owp_status owp_stamp_reflector_seal(owp_stamp_reflector *r, owp_stamp_reply *out, owp_num64 t3,
                                    uint16_t t3_err, owp_err *err)
{
    if (!r->pending)
        return owp_err_set(err, OWP_ERR_INVALID, "STAMP reflector: nothing to seal");
    owp_status st = owp_stamp_reflected_seal(r->cfg.mode, r->cfg.key, t3, t3_err, out->buf,
                                             out->len, err);
    if (st != OWP_OK)
        return st;
    owp_stamp_session *s = r->pending;
    r->pending = NULL;
    s->tx++;
    s->next_seq++;
    s->have_last = 1;
    s->last_seq = r->pending_seq;
    s->last_time = t3;
    return OWP_OK;
}

void owp_stamp_reflector_sent(owp_stamp_reflector *r, int ok)
{
    r->counters.n[ok ? OWP_STAMP_REFLECTED : OWP_STAMP_DROP_SEND]++;
}
