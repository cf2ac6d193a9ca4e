/* check_crypto.c - PBKDF2, Token, HMAC, CBC chain and test-session keys against
 * the reference vectors (tests/vectors/crypto/) and the A/E captures. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "pcap.h"
#include "testutil.h"

#define CONTROL_PORT 8861

static size_t hex_member(json_t *obj, const char *key, uint8_t *out, size_t outlen)
{
    return tu_json_hex(obj, key, out, outlen);
}

static void assert_bytes_eq(const uint8_t *got, const uint8_t *want, size_t n, const char *what)
{
    ck_assert_msg(memcmp(got, want, n) == 0, "%s differs from the vector", what);
}

/* ---- vectors/crypto ------------------------------------------------------ */

static void check_pbkdf2_item(json_t *it, size_t i)
{
    uint8_t pass[256], salt[16], want[16], got[16];
    size_t passlen = hex_member(it, "passphrase_hex", pass, sizeof pass);
    ck_assert_uint_eq(hex_member(it, "salt", salt, sizeof salt), 16);
    ck_assert_uint_eq(hex_member(it, "key", want, sizeof want), 16);
    ck_assert_int_eq(json_integer_value(json_object_get(it, "dklen")), 16);
    uint32_t count = (uint32_t)json_integer_value(json_object_get(it, "count"));
    owp_err err = {0};
    ck_assert_int_eq(owp_pbkdf2_key(pass, passlen, salt, count, got, &err), OWP_OK);
    ck_assert_msg(memcmp(got, want, 16) == 0, "pbkdf2 item %zu differs", i);
}

START_TEST(pbkdf2_rejects_zero_count)
{
    uint8_t salt[16] = {0}, key[16];
    owp_err err = {0};
    ck_assert_int_eq(owp_pbkdf2_key((const uint8_t *)"x", 1, salt, 0, key, &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(err.code, OWP_ERR_INVALID);
    /* A count from a hostile greeting is capped, not computed for minutes. */
    ck_assert_int_eq(owp_pbkdf2_key((const uint8_t *)"x", 1, salt, OWP_PBKDF2_COUNT_MAX + 1,
                                    key, &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(owp_pbkdf2_key((const uint8_t *)"x", 1, salt, 0x7fffffff, key, &err),
                     OWP_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "2147483647") != NULL, "%s", err.msg);
}
END_TEST

static void check_token_item(json_t *it, size_t i)
{
    const char *pass = json_string_value(json_object_get(it, "passphrase"));
    ck_assert_ptr_nonnull(pass);
    uint8_t salt[16], challenge[16], aes[16], hmac[32], plain[64], want[64], key[16];
    hex_member(it, "salt", salt, sizeof salt);
    hex_member(it, "challenge", challenge, sizeof challenge);
    hex_member(it, "aes_session_key", aes, sizeof aes);
    hex_member(it, "hmac_session_key", hmac, sizeof hmac);
    ck_assert_uint_eq(hex_member(it, "token_plaintext", plain, sizeof plain), 64);
    ck_assert_uint_eq(hex_member(it, "token_encrypted", want, sizeof want), 64);
    uint32_t count = (uint32_t)json_integer_value(json_object_get(it, "count"));
    owp_err err = {0};
    ck_assert_int_eq(owp_pbkdf2_key((const uint8_t *)pass, strlen(pass), salt, count, key,
                                    &err), OWP_OK);

    uint8_t token[64];
    ck_assert_int_eq(owp_token_encrypt(key, challenge, aes, hmac, token, &err), OWP_OK);
    assert_bytes_eq(token, want, 64, "encrypted token");

    uint8_t c2[16], a2[16], h2[32];
    ck_assert_int_eq(owp_token_decrypt(key, want, c2, a2, h2, &err), OWP_OK);
    assert_bytes_eq(c2, plain, 16, "decrypted challenge");
    assert_bytes_eq(a2, plain + 16, 16, "decrypted AES session key");
    assert_bytes_eq(h2, plain + 32, 32, "decrypted HMAC session key");

    /* A wrong pass-phrase decrypts to a different challenge. */
    key[0] ^= 1;
    ck_assert_int_eq(owp_token_decrypt(key, want, c2, a2, h2, &err), OWP_OK);
    ck_assert_msg(memcmp(c2, challenge, 16) != 0, "wrong key still gave the challenge");
}

static void check_test_session_keys_item(json_t *it, size_t i)
{
    uint8_t sid[16], aes[16], hmac[32], want_aes[16], want_hmac[32], got_aes[16],
        got_hmac[32];
    hex_member(it, "sid", sid, sizeof sid);
    hex_member(it, "aes_session_key", aes, sizeof aes);
    hex_member(it, "hmac_session_key", hmac, sizeof hmac);
    hex_member(it, "test_aes_key", want_aes, sizeof want_aes);
    hex_member(it, "test_hmac_key", want_hmac, sizeof want_hmac);
    owp_err err = {0};
    ck_assert_int_eq(owp_test_session_keys(sid, aes, hmac, got_aes, got_hmac, &err), OWP_OK);
    assert_bytes_eq(got_aes, want_aes, 16, "test AES key");
    assert_bytes_eq(got_hmac, want_hmac, 32, "test HMAC key");
}

static void check_hmac_item(json_t *it, size_t i)
{
    uint8_t key[64], msg[256], want[20], got[OWP_HMAC_LEN], want16[OWP_HMAC_LEN];
    size_t keylen = hex_member(it, "key", key, sizeof key);
    size_t msglen = hex_member(it, "message", msg, sizeof msg);
    ck_assert_uint_eq(hex_member(it, "hmac_sha1", want, sizeof want), 20);
    ck_assert_uint_eq(hex_member(it, "owamp_hmac_16", want16, sizeof want16), 16);
    assert_bytes_eq(want, want16, 16, "vector's own truncation");
    owp_err err = {0};

    ck_assert_int_eq(owp_hmac16(key, keylen, msg, msglen, got, &err), OWP_OK);
    assert_bytes_eq(got, want16, 16, "one-shot HMAC");
    ck_assert(owp_hmac_equal(got, want16));

    /* Running HMAC fed one byte at a time, then again after the restart
     * that final() performs: both give the same value. */
    owp_hmac *h = owp_hmac_new(key, keylen, &err);
    ck_assert_ptr_nonnull(h);
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < msglen; k++)
            ck_assert_int_eq(owp_hmac_update(h, msg + k, 1, &err), OWP_OK);
        memset(got, 0, sizeof got);
        ck_assert_int_eq(owp_hmac_final(h, got, &err), OWP_OK);
        assert_bytes_eq(got, want16, 16, "running HMAC");
    }
    owp_hmac_destroy(&h);
    ck_assert_ptr_null(h);
    owp_hmac_destroy(&h); /* NULL is accepted */
}

/* Every vector file under crypto/ and the check each of its items must pass. */
static const tu_vector_check item_vectors[] = {
    {"crypto/pbkdf2.json", "items", check_pbkdf2_item},
    {"crypto/token.json", "items", check_token_item},
    {"crypto/test-session-keys.json", "items", check_test_session_keys_item},
    {"crypto/hmac.json", "items", check_hmac_item},
};
#define N_ITEM_VECTORS (int)(sizeof item_vectors / sizeof item_vectors[0])

START_TEST(items_match_vectors)
{
    tu_each_vector(&item_vectors[_i]);
}
END_TEST

START_TEST(hmac_equal_differs_anywhere)
{
    uint8_t a[OWP_HMAC_LEN], b[OWP_HMAC_LEN];
    for (int i = 0; i < OWP_HMAC_LEN; i++)
        a[i] = (uint8_t)(i * 7 + 1);
    memcpy(b, a, sizeof a);
    ck_assert(owp_hmac_equal(a, b));
    for (int i = 0; i < OWP_HMAC_LEN; i++) {
        b[i] ^= 0x80;
        ck_assert_msg(!owp_hmac_equal(a, b), "difference at byte %d missed", i);
        b[i] ^= 0x80;
    }
}
END_TEST

START_TEST(random_bytes_fill)
{
    uint8_t a[64] = {0}, b[64] = {0};
    owp_err err = {0};
    ck_assert_int_eq(owp_random_bytes(a, sizeof a, &err), OWP_OK);
    ck_assert_int_eq(owp_random_bytes(b, sizeof b, &err), OWP_OK);
    ck_assert(memcmp(a, b, sizeof a) != 0);
    ck_assert_int_eq(owp_random_bytes(NULL, 0, &err), OWP_OK);
}
END_TEST

/* ---- CBC chain ------------------------------------------------------------ */

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 31 + (i >> 3));
}

START_TEST(cbc_split_equals_oneshot)
{
    uint8_t key[16], iv[16], plain[160], once[160], split[160], back[160];
    fill_pattern(key, 16, 1);
    fill_pattern(iv, 16, 2);
    fill_pattern(plain, sizeof plain, 3);
    owp_err err = {0};

    owp_cbc *c = owp_cbc_new(key, iv, 1, &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(owp_cbc_update(c, plain, once, sizeof plain, &err), OWP_OK);
    owp_cbc_destroy(&c);
    ck_assert_ptr_null(c);

    /* Same plaintext as messages of 16, 48, 0, 32 and 64 bytes, in place. */
    static const size_t parts[] = {16, 48, 0, 32, 64};
    memcpy(split, plain, sizeof plain);
    c = owp_cbc_new(key, iv, 1, &err);
    size_t off = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        ck_assert_int_eq(owp_cbc_update(c, split + off, split + off, parts[i], &err), OWP_OK);
        off += parts[i];
    }
    ck_assert_uint_eq(off, sizeof plain);
    owp_cbc_destroy(&c);
    assert_bytes_eq(split, once, sizeof once, "split CBC encryption");

    /* Decryption chains across calls too, block by block. */
    owp_cbc *d = owp_cbc_new(key, iv, 0, &err);
    ck_assert_ptr_nonnull(d);
    for (size_t o = 0; o < sizeof once; o += 16)
        ck_assert_int_eq(owp_cbc_update(d, once + o, back + o, 16, &err), OWP_OK);
    owp_cbc_destroy(&d);
    assert_bytes_eq(back, plain, sizeof plain, "CBC decryption");

    /* A CBC chain is not ECB: equal plaintext blocks encrypt differently. */
    uint8_t zeros[32] = {0}, z[32];
    c = owp_cbc_new(key, iv, 1, &err);
    ck_assert_int_eq(owp_cbc_update(c, zeros, z, 32, &err), OWP_OK);
    owp_cbc_destroy(&c);
    ck_assert(memcmp(z, z + 16, 16) != 0);
}
END_TEST

START_TEST(cbc_token_matches_chain)
{
    /* The Token is CBC with IV 0: the chain API must agree with it. */
    uint8_t key[16], challenge[16], aes[16], hmac[32], token[64], plain[64], chained[64];
    uint8_t iv[16] = {0};
    fill_pattern(key, 16, 9);
    fill_pattern(challenge, 16, 10);
    fill_pattern(aes, 16, 11);
    fill_pattern(hmac, 32, 12);
    memcpy(plain, challenge, 16);
    memcpy(plain + 16, aes, 16);
    memcpy(plain + 32, hmac, 32);
    owp_err err = {0};
    ck_assert_int_eq(owp_token_encrypt(key, challenge, aes, hmac, token, &err), OWP_OK);
    owp_cbc *c = owp_cbc_new(key, iv, 1, &err);
    ck_assert_int_eq(owp_cbc_update(c, plain, chained, 32, &err), OWP_OK);
    ck_assert_int_eq(owp_cbc_update(c, plain + 32, chained + 32, 32, &err), OWP_OK);
    owp_cbc_destroy(&c);
    assert_bytes_eq(chained, token, 64, "chained token");
}
END_TEST

START_TEST(cbc_rejects_partial_blocks)
{
    uint8_t key[16] = {0}, iv[16] = {0}, in[64] = {0}, out[64];
    owp_err err = {0};
    owp_cbc *c = owp_cbc_new(key, iv, 1, &err);
    ck_assert_ptr_nonnull(c);
    static const size_t bad[] = {1, 15, 17, 31, 33, 63};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        owp_err_clear(&err);
        ck_assert_int_eq(owp_cbc_update(c, in, out, bad[i], &err), OWP_ERR_INVALID);
        ck_assert_int_eq(err.code, OWP_ERR_INVALID);
        ck_assert(strstr(err.msg, "multiple of 16") != NULL);
    }
    /* A rejected call leaves the chain where it was. */
    uint8_t fresh[16], after[16];
    ck_assert_int_eq(owp_cbc_update(c, in, after, 16, &err), OWP_OK);
    owp_cbc_destroy(&c);
    c = owp_cbc_new(key, iv, 1, &err);
    ck_assert_int_eq(owp_cbc_update(c, in, fresh, 16, &err), OWP_OK);
    owp_cbc_destroy(&c);
    assert_bytes_eq(after, fresh, 16, "chain after rejected calls");
    owp_cbc_destroy(&c);
}
END_TEST

/* ---- keys and control streams of the A/E captures -------------------------- */

static json_t *find_msg(json_t *control, const char *name)
{
    size_t i;
    json_t *m;
    json_array_foreach(control, i, m) {
        const char *msg = json_string_value(json_object_get(m, "msg"));
        if (msg && strcmp(msg, name) == 0)
            return m;
    }
    ck_abort_msg("capture transcript has no %s", name);
    return NULL;
}

static const char *const ae_captures[] = {"auth", "enc"};

/* The transcript of A/E capture i (freed by the caller), its control messages
 * and the session keys its Set-Up-Response carries. */
static json_t *ae_transcript(int i, json_t **control, uint8_t aes[16], uint8_t hmac[32])
{
    char rel[64];
    snprintf(rel, sizeof rel, "pcap/%s.decoded.json", ae_captures[i]);
    json_t *root = tu_load_json(rel);
    *control = json_object_get(root, "control");
    json_t *setup = find_msg(*control, "Set-Up-Response");
    hex_member(setup, "aes_session_key", aes, 16);
    hex_member(setup, "hmac_session_key", hmac, 32);
    return root;
}

START_TEST(capture_keys)
{
    json_t *control;
    uint8_t want_aes[16], want_hmac[32];
    json_t *root = ae_transcript(_i, &control, want_aes, want_hmac);
    json_t *greet = find_msg(control, "Server-Greeting");
    json_t *setup = find_msg(control, "Set-Up-Response");

    uint8_t salt[16], challenge[16], token[64], want_key[16];
    hex_member(greet, "salt", salt, sizeof salt);
    hex_member(greet, "challenge", challenge, sizeof challenge);
    hex_member(setup, "token", token, sizeof token);
    hex_member(setup, "pbkdf2_key", want_key, sizeof want_key);
    uint32_t count = (uint32_t)json_integer_value(json_object_get(greet, "count"));

    static const char pass[] = "correct horse";
    uint8_t key[16], c[16], aes[16], hmac[32], again[64];
    owp_err err = {0};
    ck_assert_int_eq(owp_pbkdf2_key((const uint8_t *)pass, strlen(pass), salt, count, key, &err),
                     OWP_OK);
    assert_bytes_eq(key, want_key, 16, "PBKDF2 key of the capture");
    ck_assert_int_eq(owp_token_decrypt(key, token, c, aes, hmac, &err), OWP_OK);
    assert_bytes_eq(c, challenge, 16, "token challenge");
    assert_bytes_eq(aes, want_aes, 16, "AES session key");
    assert_bytes_eq(hmac, want_hmac, 32, "HMAC session key");
    ck_assert_int_eq(owp_token_encrypt(key, c, aes, hmac, again, &err), OWP_OK);
    assert_bytes_eq(again, token, 64, "re-encrypted token");

    /* Every test session's keys derive (the packets' check is check_testpkt's). */
    json_t *pkt;
    size_t i;
    json_array_foreach(json_object_get(root, "test"), i, pkt) {
        uint8_t sid[16], taes[16], thmac[32];
        hex_member(pkt, "sid", sid, sizeof sid);
        ck_assert_int_eq(owp_test_session_keys(sid, aes, hmac, taes, thmac, &err), OWP_OK);
    }
    json_decref(root);
}
END_TEST

static size_t round16(size_t n)
{
    return (n + 15) / 16 * 16;
}

/* Walks one direction of a control connection: decrypts the next n bytes
 * (as its own owp_cbc_update call, so the chain is exercised across calls),
 * feeds them to the running HMAC, and checks HMAC fields as they come. */
typedef struct walker {
    const uint8_t *stream;
    size_t len, off;
    owp_cbc *cbc;
    owp_hmac *hmac;
    int checked;
} walker;

static void walk_covered(walker *w, size_t n)
{
    ck_assert_msg(w->off + n <= w->len, "control stream ends at %zu, need %zu more at %zu",
                  w->len, n, w->off);
    uint8_t *plain = malloc(n + 1);
    ck_assert_ptr_nonnull(plain);
    owp_err err = {0};
    ck_assert_int_eq(owp_cbc_update(w->cbc, w->stream + w->off, plain, n, &err), OWP_OK);
    ck_assert_int_eq(owp_hmac_update(w->hmac, plain, n, &err), OWP_OK);
    free(plain);
    w->off += n;
}

static void walk_hmac(walker *w, json_t *field)
{
    const char *want_hex = json_string_value(json_object_get(field, "hmac"));
    ck_assert_ptr_nonnull(want_hex);
    uint8_t want[16], field_plain[16], mine[16];
    ck_assert_int_eq(tu_hex_decode(want_hex, want, sizeof want), 16);
    ck_assert_msg(w->off + 16 <= w->len, "control stream ends before an HMAC at %zu", w->off);
    owp_err err = {0};
    ck_assert_int_eq(owp_cbc_update(w->cbc, w->stream + w->off, field_plain, 16, &err), OWP_OK);
    ck_assert_int_eq(owp_hmac_final(w->hmac, mine, &err), OWP_OK);
    ck_assert_msg(memcmp(field_plain, want, 16) == 0, "decrypted HMAC field at %zu differs",
                  w->off);
    ck_assert_msg(owp_hmac_equal(mine, field_plain), "running HMAC at stream offset %zu differs",
                  w->off);
    w->off += 16;
    w->checked++;
}

static size_t stop_sessions_body(json_t *m)
{
    size_t n = 16, i;
    json_t *s;
    json_array_foreach(json_object_get(m, "sessions"), i, s) {
        size_t nskips = json_array_size(json_object_get(s, "skips"));
        n += 16 + round16(8 + 8 * nskips);
    }
    return n;
}

static void walk_message(walker *w, json_t *m)
{
    const char *msg = json_string_value(json_object_get(m, "msg"));
    if (strcmp(msg, "Request-Session") == 0) {
        walk_covered(w, 96);
        walk_hmac(w, json_object_get(m, "hmac1"));
        walk_covered(w, 16 * json_array_size(json_object_get(m, "slot_list")));
        walk_hmac(w, json_object_get(m, "hmac2"));
    } else if (strcmp(msg, "Accept-Session") == 0 || strcmp(msg, "Fetch-Session") == 0) {
        walk_covered(w, 32);
        walk_hmac(w, json_object_get(m, "hmac"));
    } else if (strcmp(msg, "Start-Sessions") == 0 || strcmp(msg, "Start-Ack") == 0
               || strcmp(msg, "Fetch-Ack") == 0) {
        walk_covered(w, 16);
        walk_hmac(w, json_object_get(m, "hmac"));
    } else if (strcmp(msg, "Stop-Sessions") == 0) {
        walk_covered(w, stop_sessions_body(m));
        walk_hmac(w, json_object_get(m, "hmac"));
    } else if (strcmp(msg, "Fetch-Data") == 0) {
        walk_covered(w, 96);
        walk_hmac(w, json_object_get(m, "hmac_preamble"));
        walk_covered(w, 16 * json_array_size(json_object_get(m, "slots")));
        walk_hmac(w, json_object_get(m, "hmac_slots"));
        walk_covered(w, round16(8 * json_array_size(json_object_get(m, "skips"))));
        walk_hmac(w, json_object_get(m, "hmac_skips"));
        walk_covered(w, round16(25 * json_array_size(json_object_get(m, "records"))));
        walk_hmac(w, json_object_get(m, "hmac_records"));
    } else {
        ck_abort_msg("unexpected encrypted message %s", msg);
    }
}

static uint16_t client_control_port(const tu_pcap *cap)
{
    for (size_t i = 0; i < tu_pcap_count(cap); i++) {
        const tu_packet *p = tu_pcap_get(cap, i);
        if (p->proto == 6 && p->dport == CONTROL_PORT)
            return p->sport;
    }
    ck_abort_msg("no control connection to port %d", CONTROL_PORT);
    return 0;
}

/* Decrypt one direction of the capture's control connection and verify every
 * HMAC with the running HMAC: CBC chaining across messages, the running HMAC
 * restart at each field, and Server-Start's last block counted into the
 * server's first HMAC. */
static void walk_direction(const tu_pcap *cap, json_t *control, int from_client,
                           const uint8_t aes[16], const uint8_t hmac_key[32])
{
    uint16_t cport = client_control_port(cap);
    walker w = {0};
    uint8_t *stream = tu_pcap_tcp_stream(cap, from_client ? cport : CONTROL_PORT,
                                         from_client ? CONTROL_PORT : cport, &w.len);
    w.stream = stream;
    uint8_t iv[16];
    owp_err err = {0};
    if (from_client) {
        hex_member(find_msg(control, "Set-Up-Response"), "client_iv", iv, sizeof iv);
        w.off = 164;
    } else {
        hex_member(find_msg(control, "Server-Start"), "server_iv", iv, sizeof iv);
        w.off = 64 + 32;
    }
    w.cbc = owp_cbc_new(aes, iv, 0, &err);
    w.hmac = owp_hmac_new(hmac_key, 32, &err);
    ck_assert_ptr_nonnull(w.cbc);
    ck_assert_ptr_nonnull(w.hmac);
    if (!from_client)
        walk_covered(&w, 16); /* Server-Start bytes 32-47: no HMAC field of its own */

    const char *dir = from_client ? "C->S" : "S->C";
    size_t i;
    json_t *m;
    json_array_foreach(control, i, m) {
        const char *msg = json_string_value(json_object_get(m, "msg"));
        if (strcmp(json_string_value(json_object_get(m, "dir")), dir) != 0
            || strcmp(msg, "Set-Up-Response") == 0 || strcmp(msg, "Server-Greeting") == 0
            || strcmp(msg, "Server-Start") == 0)
            continue;
        walk_message(&w, m);
    }
    ck_assert_uint_eq(w.off, w.len);
    ck_assert_int_ge(w.checked, 4);
    owp_cbc_destroy(&w.cbc);
    owp_hmac_destroy(&w.hmac);
    free(stream);
}

START_TEST(capture_control_streams)
{
    json_t *control;
    uint8_t aes[16], hmac[32];
    json_t *root = ae_transcript(_i, &control, aes, hmac);

    char rel[64];
    snprintf(rel, sizeof rel, "pcap/%s.pcap", ae_captures[_i]);
    char *path = tu_vector_path(rel);
    tu_pcap *cap = tu_pcap_load(path);
    walk_direction(cap, control, 1, aes, hmac);
    walk_direction(cap, control, 0, aes, hmac);
    tu_pcap_free(&cap);
    free(path);
    json_decref(root);
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("vectors");
    tcase_add_loop_test(tc, items_match_vectors, 0, N_ITEM_VECTORS);
    tcase_add_test(tc, pbkdf2_rejects_zero_count);
    tcase_add_test(tc, hmac_equal_differs_anywhere);
    tcase_add_test(tc, random_bytes_fill);
    suite_add_tcase(s, tc);

    tc = tcase_create("cbc");
    tcase_add_test(tc, cbc_split_equals_oneshot);
    tcase_add_test(tc, cbc_token_matches_chain);
    tcase_add_test(tc, cbc_rejects_partial_blocks);
    suite_add_tcase(s, tc);

    tc = tcase_create("captures");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, capture_keys, 0, 2);
    tcase_add_loop_test(tc, capture_control_streams, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(crypto_suite());
}
