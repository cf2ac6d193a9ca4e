/* check_stamp_reflector.c - the STAMP reflector's decisions
 * (stamp_reflector.h, stamp_policy.h): the policy file (every statement,
 * every error named by file and line), address rules, token buckets with
 * the time given, and the engine's answer to one datagram at a time:
 * stateless and stateful numbering, sessions by SSID, denied and
 * rate-limited sources, the amplification refusal, TWAMP-Light requests,
 * authenticated mode, Follow-Up Telemetry after a seal, the reply's DSCP. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "stamp_policy.h"
#include "stamp_reflector.h"
#include "stamp_tlv.h"
#include "testutil.h"

static struct sockaddr_in v4(const char *addr, uint16_t port)
{
    struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};
    ck_assert_int_eq(inet_pton(AF_INET, addr, &s.sin_addr), 1);
    return s;
}

static struct sockaddr_in6 v6(const char *addr, uint16_t port)
{
    struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    ck_assert_int_eq(inet_pton(AF_INET6, addr, &s.sin6_addr), 1);
    return s;
}

static owp_stamp_policy *policy_of(const char *text)
{
    owp_err err;
    owp_stamp_policy *p = owp_stamp_policy_parse(text, strlen(text), "stampd.policy", &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    return p;
}

static int allows(const owp_stamp_policy *p, const struct sockaddr *sa, socklen_t len)
{
    return owp_stamp_policy_allows(p, sa, len);
}

/* ------------------------------------------------------------ the policy file */

START_TEST(policy_rules)
{
    owp_stamp_policy *p = policy_of("# who\n"
                                    "deny 192.0.2.128/25\n"
                                    "allow 192.0.2.0/24 2001:db8::/32\n"
                                    "allow \\\n 198.51.100.7\n");
    struct sockaddr_in a = v4("192.0.2.5", 1), b = v4("192.0.2.200", 1), c = v4("203.0.113.1", 1),
                       d = v4("198.51.100.7", 1);
    struct sockaddr_in6 e = v6("2001:db8::1", 1), f = v6("::ffff:192.0.2.5", 1),
                        g = v6("2001:db9::1", 1);
    ck_assert_int_eq(allows(p, (struct sockaddr *)&a, sizeof a), 1);
    ck_assert_int_eq(allows(p, (struct sockaddr *)&b, sizeof b), 0); /* first match: deny */
    ck_assert_int_eq(allows(p, (struct sockaddr *)&c, sizeof c), 0); /* allow rules: default deny */
    ck_assert_int_eq(allows(p, (struct sockaddr *)&d, sizeof d), 1);
    ck_assert_int_eq(allows(p, (struct sockaddr *)&e, sizeof e), 1);
    ck_assert_int_eq(allows(p, (struct sockaddr *)&f, sizeof f), 1); /* v4-mapped = IPv4 */
    ck_assert_int_eq(allows(p, (struct sockaddr *)&g, sizeof g), 0);
    owp_stamp_policy_destroy(&p);
    p = policy_of("deny 10.0.0.0/8\n"); /* deny rules only: default allow */
    ck_assert_int_eq(allows(p, (struct sockaddr *)&c, sizeof c), 1);
    owp_stamp_policy_destroy(&p);
    p = policy_of("allow 10.0.0.0/8\ndefault allow\n");
    ck_assert_int_eq(allows(p, (struct sockaddr *)&c, sizeof c), 1);
    char text[256];
    owp_stamp_policy_describe(p, text, sizeof text);
    ck_assert_str_eq(text, "1 rule, default allow, 1000/s per source (burst 1000), "
                           "100000/s in all (burst 100000)");
    owp_stamp_policy_destroy(&p);
}
END_TEST

START_TEST(policy_limits)
{
    owp_stamp_policy *p = policy_of("rate-per-source 10 20\nrate-global 0\nmax-sources 5\n"
                                    "max-sessions 7\nsession-idle 30\ncos-dscp 0,ef,10-12\n"
                                    "max-reply-growth 20\n");
    const owp_stamp_limits *l = owp_stamp_policy_limits(p);
    ck_assert(l->rate_source == 10 && l->burst_source == 20);
    ck_assert(l->rate_global == 0);
    ck_assert_uint_eq(l->max_sources, 5);
    ck_assert_uint_eq(l->max_sessions, 7);
    ck_assert(l->session_idle == 30);
    ck_assert_uint_eq(l->dscp_allowed, (1ull << 0) | (1ull << 46) | (7ull << 10));
    ck_assert_uint_eq(l->max_reply_growth, 20);
    owp_stamp_policy_destroy(&p);
    p = policy_of("cos-dscp none\n");
    ck_assert_uint_eq(owp_stamp_policy_limits(p)->dscp_allowed, 0);
    owp_stamp_policy_destroy(&p);
}
END_TEST

START_TEST(policy_errors)
{
    static const struct {
        const char *text;
        int line;
        const char *why;
    } cases[] = {
        {"allow 192.0.2.0/24\nallow 192.0.2.1/24\n", 2, "bits set past the prefix length"},
        {"deny\n", 1, "at least one address prefix"},
        {"allow host.example\n", 1, "not an IPv4 or IPv6 address"},
        {"allow 10.0.0.0/33\n", 1, "0 to 32"},
        {"\n\ndefault maybe\n", 3, "allow or deny"},
        {"rate-per-source fast\n", 1, "rate-per-source"},
        {"rate-global 10 0.5\n", 1, "below one packet"},
        {"max-sessions 0\n", 1, "1 to"},
        {"cos-dscp 12-3\n", 1, "empty"},
        {"cos-dscp 99\n", 1, "cos-dscp"},
        {"session-idle 1 2\n", 1, "one value"},
        {"reflect everything\n", 1, "unknown statement \"reflect\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        owp_err err;
        ck_assert_ptr_null(owp_stamp_policy_parse(cases[i].text, strlen(cases[i].text),
                                                  "stampd.policy", &err));
        tu_assert_error_at(err.msg, "stampd.policy", cases[i].line, cases[i].why, i);
    }
    owp_err err;
    ck_assert_ptr_null(owp_stamp_policy_load("/nonexistent/stampd.policy", &err));
    ck_assert_msg(strstr(err.msg, "/nonexistent/stampd.policy"), "%s", err.msg);
}
END_TEST

START_TEST(shipped_policy)
{
    /* The default policy make install puts in sysconfdir never rots. */
    owp_err err;
    char *path = tu_vector_path("../../config/stampd.policy");
    owp_stamp_policy *p = owp_stamp_policy_load(path, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    free(path);
    struct sockaddr_in a = v4("203.0.113.1", 1);
    ck_assert_int_eq(allows(p, (struct sockaddr *)&a, sizeof a), 1);
    ck_assert(owp_stamp_policy_limits(p)->rate_source == 1000);
    ck_assert_uint_eq(owp_stamp_policy_limits(p)->max_reply_growth, 0);
    owp_stamp_policy_destroy(&p);
}
END_TEST

START_TEST(rate_limits)
{
    owp_stamp_policy *p = policy_of("rate-per-source 10 3\nrate-global 0.2 4\nmax-sources 2\n");
    const owp_stamp_limits *l = owp_stamp_policy_limits(p);
    owp_stamp_limiter *lim = owp_stamp_limiter_new(l->max_sources, NULL);
    struct sockaddr_in a = v4("192.0.2.1", 1), b = v4("192.0.2.2", 1), c = v4("192.0.2.3", 1);
    const struct sockaddr *sa = (struct sockaddr *)&a, *sb = (struct sockaddr *)&b;
    for (int i = 0; i < 3; i++) /* a burst of 3 */
        ck_assert_int_eq(owp_stamp_limiter_take(lim, l, sa, sizeof a, 10.0), OWP_STAMP_RATE_OK);
    ck_assert_int_eq(owp_stamp_limiter_take(lim, l, sa, sizeof a, 10.0),
                     OWP_STAMP_RATE_SOURCE_EXCEEDED);
    /* 0.2 s at 10/s brings two tokens back; it takes the global bucket's last. */
    ck_assert_int_eq(owp_stamp_limiter_take(lim, l, sa, sizeof a, 10.2), OWP_STAMP_RATE_OK);
    /* A packet refused per source took no global token: the fifth in all is refused. */
    ck_assert_int_eq(owp_stamp_limiter_take(lim, l, sb, sizeof b, 10.2),
                     OWP_STAMP_RATE_GLOBAL_EXCEEDED);
    /* A third address finds no room in a table of 2: refused as a source. */
    ck_assert_int_eq(owp_stamp_limiter_take(lim, l, (struct sockaddr *)&c, sizeof c, 10.3),
                     OWP_STAMP_RATE_SOURCE_EXCEEDED);
    /* Once idle long enough to refill, a source's bucket is swept away. */
    ck_assert_int_eq(owp_stamp_limiter_take(lim, l, (struct sockaddr *)&c, sizeof c, 20.0),
                     OWP_STAMP_RATE_OK);
    owp_stamp_limiter_destroy(&lim);
    owp_stamp_policy_destroy(&p);
}
END_TEST

/* ------------------------------------------------------------ the engine */

typedef struct rig {
    owp_stamp_reflector *r;
    owp_stamp_key *key;
    struct sockaddr_in src, dst;
    uint8_t req[512], reply[600];
    owp_stamp_reply out;
    owp_stamp_datagram d;
    double now;
} rig;

static void rig_new(rig *g, owp_mode mode, int stateful, const char *policy)
{
    memset(g, 0, sizeof *g);
    if (mode == OWP_MODE_AUTH) {
        uint8_t k[32] = {1, 2, 3};
        g->key = owp_stamp_key_new(k, sizeof k, NULL);
    }
    owp_stamp_reflector_config cfg = {.mode = mode, .stateful = stateful, .key = g->key};
    g->r = owp_stamp_reflector_new(&cfg, policy_of(policy), NULL);
    ck_assert_ptr_nonnull(g->r);
    g->src = v4("192.0.2.1", 5000);
    g->dst = v4("192.0.2.9", 862);
    g->now = 100.0;
}

static void rig_free(rig *g)
{
    owp_stamp_reflector_destroy(&g->r);
    owp_stamp_key_destroy(&g->key);
}

/* A sender packet of len octets (base, then TLVs from hex). */
static size_t request(rig *g, owp_mode mode, uint32_t seq, uint16_t ssid, const char *tlv_hex)
{
    size_t base = owp_stamp_base_len(mode);
    long n = tlv_hex ? tu_hex_decode(tlv_hex, g->req + base, sizeof g->req - base) : 0;
    owp_stamp_sender m = {.seq = seq, .timestamp = 0x1000000000000000ull + seq, .errest = 1,
                          .ssid = ssid};
    ck_assert_int_eq(owp_stamp_sender_encode(mode, g->key, &m, g->req, base, NULL), OWP_OK);
    return base + (size_t)n;
}

static owp_stamp_verdict send_one(rig *g, size_t len, owp_stamp_reflected *m)
{
    g->d = (owp_stamp_datagram){
        .buf = g->req, .len = len, .src = (struct sockaddr *)&g->src, .src_len = sizeof g->src,
        .dst = (struct sockaddr *)&g->dst, .dst_len = sizeof g->dst, .t2 = 0x2000000000000000ull,
        .t2_err = 1, .ttl = 60, .tos = 0, .now = g->now,
    };
    g->out = (owp_stamp_reply){.buf = g->reply, .cap = sizeof g->reply};
    owp_stamp_verdict v = owp_stamp_reflector_answer(g->r, &g->d, &g->out, NULL);
    if (v != OWP_STAMP_REFLECTED)
        return v;
    ck_assert_int_eq(owp_stamp_reflector_seal(g->r, &g->out, 0x3000000000000000ull + len, 1, NULL),
                     OWP_OK);
    owp_stamp_reflector_sent(g->r, 1);
    if (m && g->out.len >= owp_stamp_base_len(OWP_MODE_OPEN))
        ck_assert_int_eq(owp_stamp_reflected_decode(g->key ? OWP_MODE_AUTH : OWP_MODE_OPEN, g->key,
                                                    g->reply, g->out.len, m, NULL), OWP_OK);
    return v;
}

START_TEST(stateless_and_stateful)
{
    rig g;
    owp_stamp_reflected m;
    rig_new(&g, OWP_MODE_OPEN, 0, "");
    ck_assert_int_eq(send_one(&g, request(&g, OWP_MODE_OPEN, 41, 3, NULL), &m),
                     OWP_STAMP_REFLECTED);
    ck_assert_uint_eq(m.seq, 41); /* stateless: the sender's */
    ck_assert_uint_eq(m.sender_seq, 41);
    ck_assert_uint_eq(m.ssid, 3);
    ck_assert_uint_eq(m.recv_time, 0x2000000000000000ull);
    ck_assert_uint_eq(m.sender_ttl, 60);
    ck_assert_uint_eq(g.out.len, 44);
    rig_free(&g);
    rig_new(&g, OWP_MODE_OPEN, 1, "");
    uint32_t seqs[] = {10, 11, 13};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(send_one(&g, request(&g, OWP_MODE_OPEN, seqs[i], 3, NULL), &m),
                         OWP_STAMP_REFLECTED);
        ck_assert_uint_eq(m.seq, (uint32_t)i); /* stateful: its own, from 0 */
    }
    /* Another SSID from the same address and port is another session. */
    ck_assert_int_eq(send_one(&g, request(&g, OWP_MODE_OPEN, 14, 4, NULL), &m),
                     OWP_STAMP_REFLECTED);
    ck_assert_uint_eq(m.seq, 0);
    ck_assert_uint_eq(owp_stamp_reflector_sessions(g.r), 2);
    /* Follow-Up Telemetry names the session's previous answer. */
    size_t len = request(&g, OWP_MODE_OPEN, 15, 3, "80070010" "00000000000000000000000000000000");
    ck_assert_int_eq(send_one(&g, len, &m), OWP_STAMP_REFLECTED);
    ck_assert_uint_eq(owp_get32(g.reply + 48), 2);
    ck_assert_uint_eq(owp_get64(g.reply + 52), 0x3000000000000000ull + 44);
    ck_assert_uint_eq(owp_stamp_reflector_counters(g.r)->n[OWP_STAMP_REFLECTED], 5);
    rig_free(&g);
}
END_TEST

START_TEST(denied_and_rate_limited)
{
    rig g;
    rig_new(&g, OWP_MODE_OPEN, 0, "deny 192.0.2.0/24\n");
    ck_assert_int_eq(send_one(&g, request(&g, OWP_MODE_OPEN, 1, 0, NULL), NULL),
                     OWP_STAMP_DROP_DENIED);
    owp_stamp_reflector_set_policy(g.r, policy_of("rate-per-source 1 2\n")); /* a reload */
    ck_assert_int_eq(send_one(&g, request(&g, OWP_MODE_OPEN, 1, 0, NULL), NULL),
                     OWP_STAMP_REFLECTED);
    ck_assert_int_eq(send_one(&g, request(&g, OWP_MODE_OPEN, 2, 0, NULL), NULL),
                     OWP_STAMP_REFLECTED);
    ck_assert_int_eq(send_one(&g, request(&g, OWP_MODE_OPEN, 3, 0, NULL), NULL),
                     OWP_STAMP_DROP_RATE_SOURCE);
    const owp_stamp_counters *c = owp_stamp_reflector_counters(g.r);
    ck_assert_uint_eq(c->n[OWP_STAMP_DROP_DENIED], 1);
    ck_assert_uint_eq(c->n[OWP_STAMP_DROP_RATE_SOURCE], 1);
    ck_assert_str_eq(owp_stamp_verdict_name(OWP_STAMP_DROP_RATE_SOURCE), "rate-source");
    rig_free(&g);
}
END_TEST

START_TEST(amplification_refused)
{
    rig g;
    owp_stamp_reflected m;
    rig_new(&g, OWP_MODE_OPEN, 0, "");
    request(&g, OWP_MODE_OPEN, 1, 0, NULL);
    /* TWAMP-Light without padding: an answer would be 41 octets for 14. */
    owp_err why;
    g.d = (owp_stamp_datagram){.buf = g.req, .len = 14, .src = (struct sockaddr *)&g.src,
                               .src_len = sizeof g.src, .now = g.now, .tos = -1};
    g.out = (owp_stamp_reply){.buf = g.reply, .cap = sizeof g.reply};
    ck_assert_int_eq(owp_stamp_reflector_answer(g.r, &g.d, &g.out, &why),
                     OWP_STAMP_DROP_AMPLIFICATION);
    ck_assert_msg(strstr(why.msg, "larger than the request"), "%s", why.msg);
    ck_assert_int_eq(send_one(&g, 13, NULL), OWP_STAMP_DROP_MALFORMED);
    /* TWAMP-Light padded to 41 octets: answered in 41. */
    ck_assert_int_eq(send_one(&g, 41, NULL), OWP_STAMP_REFLECTED);
    ck_assert_uint_eq(g.out.len, 41);
    ck_assert_uint_eq(owp_get32(g.reply + 24), 1); /* the sender's seq */
    /* Never larger: TLVs are answered in their own room. */
    size_t len = request(&g, OWP_MODE_OPEN, 2, 0, "80020014" "00000000" "80070010"
                                                  "00000000000000000000000000000000");
    ck_assert_int_eq(send_one(&g, len, &m), OWP_STAMP_REFLECTED);
    ck_assert_uint_eq(g.out.len, len);
    rig_free(&g);
}
END_TEST

START_TEST(authenticated)
{
    rig g;
    owp_stamp_reflected m;
    rig_new(&g, OWP_MODE_AUTH, 0, "");
    size_t len = request(&g, OWP_MODE_AUTH, 5, 9, NULL);
    ck_assert_int_eq(send_one(&g, len, &m), OWP_STAMP_REFLECTED);
    ck_assert_uint_eq(m.sender_seq, 5);
    ck_assert_uint_eq(m.ssid, 9);
    g.req[20] ^= 1;
    ck_assert_int_eq(send_one(&g, len, NULL), OWP_STAMP_DROP_AUTH);
    ck_assert_int_eq(send_one(&g, 44, NULL), OWP_STAMP_DROP_MALFORMED);
    /* TLVs without an HMAC TLV: I flags, no growth unless the policy allows it. */
    len = request(&g, OWP_MODE_AUTH, 6, 9, "8003000400000000");
    ck_assert_int_eq(send_one(&g, len, &m), OWP_STAMP_REFLECTED);
    ck_assert_uint_eq(g.out.len, len);
    ck_assert_uint_eq(g.reply[112], OWP_STAMP_TLV_I);
    owp_stamp_reflector_set_policy(g.r, policy_of("max-reply-growth 20\n"));
    ck_assert_int_eq(send_one(&g, len, &m), OWP_STAMP_REFLECTED);
    ck_assert_uint_eq(g.out.len, len + 20);
    ck_assert_uint_eq(g.reply[len + 1], OWP_STAMP_TLV_HMAC);
    owp_stamp_tlv_answers a;
    ck_assert_int_eq(owp_stamp_tlv_read_answers(g.reply + 112, g.out.len - 112, g.key, m.seq, &a,
                                                NULL), OWP_OK);
    ck_assert_int_eq(a.hmac_ok, 1);
    rig_free(&g);
}
END_TEST

START_TEST(reply_dscp_and_sessions_full)
{
    rig g;
    rig_new(&g, OWP_MODE_OPEN, 1, "cos-dscp 46\nmax-sessions 1\n");
    ck_assert_int_eq(send_one(&g, request(&g, OWP_MODE_OPEN, 1, 0, "80040004b8000000"), NULL),
                     OWP_STAMP_REFLECTED);
    ck_assert_int_eq(g.out.dscp, 46);
    ck_assert_int_eq(send_one(&g, request(&g, OWP_MODE_OPEN, 2, 0, "8004000428000000"), NULL),
                     OWP_STAMP_REFLECTED);
    ck_assert_int_eq(g.out.dscp, -1); /* DSCP 10 is not allowed: RP 1 */
    ck_assert_uint_eq(g.reply[44 + 5] & 0x03, 1);
    g.src.sin_port = htons(5001);
    ck_assert_int_eq(send_one(&g, request(&g, OWP_MODE_OPEN, 3, 0, NULL), NULL),
                     OWP_STAMP_DROP_SESSIONS);
    rig_free(&g);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stamp_reflector");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, policy_rules);
    tcase_add_test(tc, policy_limits);
    tcase_add_test(tc, policy_errors);
    tcase_add_test(tc, shipped_policy);
    tcase_add_test(tc, rate_limits);
    suite_add_tcase(s, tc);
    tc = tcase_create("engine");
    tcase_add_test(tc, stateless_and_stateful);
    tcase_add_test(tc, denied_and_rate_limited);
    tcase_add_test(tc, amplification_refused);
    tcase_add_test(tc, authenticated);
    tcase_add_test(tc, reply_dscp_and_sessions_full);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(suite()); }
