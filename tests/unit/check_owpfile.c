/* check_owpfile.c - .owp files: every reference vector reads, and rewrites to
 * the same bytes in its own layout; hostile and truncated copies fail cleanly. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "owpfile.h"
#include "testutil.h"

/* name, receiver layout (1) or fetched layout (0) */
static const struct {
    const char *path;
    int receiver;
} vectors[] = {
    {"owp/auth-from.owp", 1},         {"owp/auth-to.owp", 0},
    {"owp/clean100-from.owp", 1},     {"owp/clean100-to.owp", 0},
    {"owp/dscp-ef-from.owp", 1},      {"owp/dscp-ef-to.owp", 0},
    {"owp/enc-from.owp", 1},          {"owp/enc-to.owp", 0},
    {"owp/interrupted-from.owp", 1},  {"owp/ipv6-open-from.owp", 1},
    {"owp/ipv6-open-to.owp", 0},      {"owp/loss-dup-from.owp", 1},
    {"owp/loss-dup-to.owp", 0},       {"owp/open-from.owp", 1},
    {"owp/open-to.owp", 0},           {"owp/owfetch.owp", 0},
    {"owp/padding-auth-from.owp", 1}, {"owp/padding-auth-to.owp", 0},
    {"owp/reorder-from.owp", 1},      {"owp/server-stored.owp", 1},
    {"owp/skips-from.owp", 1},        {"owp/skips-pcap-to.owp", 0},
    {"owp/skips-to.owp", 0},          {"owp/slots-from.owp", 1},
    {"owp/slots-to.owp", 0},
    {"powstream/17198800808123080680_17198800821161034206.owp", 1},
    {"powstream/17198800821161034206_17198800833841743534.owp", 1},
};
#define NVECTORS (sizeof vectors / sizeof vectors[0])

static uint8_t *load(const char *rel, size_t *len)
{
    char *path = tu_vector_path(rel);
    uint8_t *b = (uint8_t *)tu_read_file(path, len);
    free(path);
    ck_assert_ptr_nonnull(b);
    return b;
}

/* Read a memory image; returns NULL (err filled) on failure. */
static owp_file *read_mem(const uint8_t *b, size_t len, FILE **fp, owp_err *err)
{
    /* fmemopen takes a writable buffer; mode "rb" never writes to it. */
    *fp = fmemopen((void *)(uintptr_t)b, len ? len : 1, "rb");
    ck_assert_ptr_nonnull(*fp);
    if (len == 0) { /* fmemopen cannot make an empty stream: use a real one */
        fclose(*fp);
        *fp = tmpfile();
    }
    return owp_file_read(*fp, "mem.owp", err);
}

typedef struct collect {
    owp_record *recs;
    uint32_t n, cap;
} collect;

static int collect_fn(const owp_record *r, void *arg)
{
    collect *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->recs = realloc(c->recs, c->cap * sizeof *c->recs);
        ck_assert_ptr_nonnull(c->recs);
    }
    c->recs[c->n++] = *r;
    return 0;
}

static uint8_t *file_bytes(FILE *fp, size_t *len)
{
    fflush(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    ck_assert_int_ge(n, 0);
    uint8_t *b = malloc((size_t)n + 1);
    rewind(fp);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, fp), (size_t)n);
    *len = (size_t)n;
    return b;
}

START_TEST(vectors_rewrite_byte_identical)
{
    size_t len;
    uint8_t *orig = load(vectors[_i].path, &len);
    FILE *fp;
    owp_err err;
    owp_file *f = read_mem(orig, len, &fp, &err);
    ck_assert_msg(f != NULL, "%s: %s", vectors[_i].path, err.msg);
    ck_assert_uint_eq(owp_file_version(f), 3);
    ck_assert_uint_eq(owp_file_finished(f), OWP_FINISHED_NORMAL);
    ck_assert_uint_eq(owp_file_nrecords(f), owp_get32(orig + 20));
    ck_assert_uint_eq(owp_file_region_nrecords(f), owp_get32(orig + 20));
    ck_assert_uint_eq(owp_file_nskips(f), owp_get32(orig + 16));
    const owp_request *req = owp_file_request(f);
    ck_assert_ptr_nonnull(req);
    ck_assert_uint_eq(owp_file_header_len(req->nslots), owp_get64(orig + 32) -
                      (vectors[_i].receiver ? 0 : 8 * owp_file_nskips(f)));

    collect c = {0};
    ck_assert_int_eq(owp_file_each_record(f, 0, collect_fn, &c, &err), OWP_OK);
    ck_assert_uint_eq(c.n, owp_file_nrecords(f));

    FILE *out = tmpfile();
    ck_assert_ptr_nonnull(out);
    if (vectors[_i].receiver) {
        owp_file_writer *w = owp_file_writer_new(out, req, &err);
        ck_assert_msg(w != NULL, "%s", err.msg);
        for (uint32_t i = 0; i < c.n; i++)
            ck_assert_int_eq(owp_file_writer_add(w, &c.recs[i], &err), OWP_OK);
        ck_assert_uint_eq(owp_file_writer_nrecords(w), c.n);
        ck_assert_int_eq(owp_file_writer_finish(w, owp_file_finished(f), owp_file_next_seqno(f),
                                                owp_file_skips(f), owp_file_nskips(f), &err),
                         OWP_OK);
        owp_file_writer_destroy(&w);
        ck_assert_ptr_null(w);
    } else {
        ck_assert_int_eq(owp_file_write_fetched_header(out, req, owp_file_finished(f),
                                                       owp_file_next_seqno(f), owp_file_skips(f),
                                                       owp_file_nskips(f), c.n, &err),
                         OWP_OK);
        for (uint32_t i = 0; i < c.n; i++) {
            uint8_t rb[OWP_RECORD_LEN];
            owp_record_encode(&c.recs[i], rb);
            ck_assert_uint_eq(fwrite(rb, 1, sizeof rb, out), sizeof rb);
        }
    }
    size_t nlen;
    uint8_t *again = file_bytes(out, &nlen);
    ck_assert_uint_eq(nlen, len);
    ck_assert_msg(memcmp(again, orig, len) == 0, "%s: rewritten bytes differ", vectors[_i].path);

    free(again);
    fclose(out);
    free(c.recs);
    owp_file_destroy(&f);
    ck_assert_ptr_null(f);
    owp_file_destroy(&f); /* NULL is accepted */
    fclose(fp);
    free(orig);
}
END_TEST

START_TEST(vector_contents)
{
    size_t len;
    uint8_t *b = load("owp/skips-from.owp", &len);
    FILE *fp;
    owp_err err;
    owp_file *f = read_mem(b, len, &fp, &err);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(owp_file_nskips(f), 1);
    ck_assert_uint_eq(owp_file_skips(f)[0].first, 627);
    ck_assert_uint_eq(owp_file_skips(f)[0].last, 967);
    collect c = {0};
    ck_assert_int_eq(owp_file_each_record(f, 0, collect_fn, &c, &err), OWP_OK);
    uint32_t lost = 0;
    for (uint32_t i = 0; i < c.n; i++)
        lost += owp_record_lost(&c.recs[i]) ? 1u : 0u;
    ck_assert_uint_eq(lost, 343);
    /* starting further in, bounded counts */
    collect d = {0};
    ck_assert_int_eq(owp_file_each_record_from(f, 1990, 100, collect_fn, &d, &err), OWP_OK);
    ck_assert_uint_eq(d.n, 10);
    ck_assert_uint_eq(d.recs[0].seq, c.recs[1990].seq);
    free(c.recs);
    free(d.recs);
    owp_file_destroy(&f);
    fclose(fp);
    free(b);

    b = load("owp/slots-to.owp", &len);
    f = read_mem(b, len, &fp, &err);
    ck_assert_ptr_nonnull(f);
    const owp_request *req = owp_file_request(f);
    ck_assert_uint_eq(req->nslots, 3);
    ck_assert_int_eq(req->slots[0].type, OWP_SLOT_FIXED);
    ck_assert_int_eq(req->slots[1].type, OWP_SLOT_EXP);
    ck_assert_uint_eq(req->npackets, 30);
    ck_assert_uint_eq(owp_file_header_len(3), 216);
    owp_file_destroy(&f);
    fclose(fp);
    free(b);
}
END_TEST

static void expect_format_error(const uint8_t *b, size_t len, const char *what)
{
    FILE *fp;
    owp_err err;
    owp_err_clear(&err);
    owp_file *f = read_mem(b, len, &fp, &err);
    if (f) { /* header fine: the records must then fail */
        collect c = {0};
        owp_status st = owp_file_each_record(f, 0, collect_fn, &c, &err);
        free(c.recs);
        owp_file_destroy(&f);
        ck_assert_msg(st == OWP_ERR_FORMAT, "%s: accepted", what);
    }
    ck_assert_int_eq(err.code, OWP_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "mem.owp") != NULL, "%s: message lacks the file name: %s", what,
                  err.msg);
    ck_assert_msg(strstr(err.msg, "offset") != NULL, "%s: message lacks the offset: %s", what,
                  err.msg);
    fclose(fp);
}

START_TEST(truncated_copies_fail_cleanly)
{
    size_t len;
    uint8_t *b = load("owp/loss-dup-to.owp", &len);
    /* Every cut of the header and the first records, then every 7th byte. */
    for (size_t cut = 0; cut < len; cut += cut < 400 ? 1 : 7) {
        uint8_t *copy = malloc(cut + 1);
        memcpy(copy, b, cut);
        expect_format_error(copy, cut, "truncated");
        free(copy);
    }
    free(b);
}
END_TEST

START_TEST(corrupted_headers_fail)
{
    size_t len;
    uint8_t *b = load("owp/open-from.owp", &len);
    uint8_t *c = malloc(len);

    memcpy(c, b, len); c[0] = 'X';
    expect_format_error(c, len, "bad magic");
    memcpy(c, b, len); owp_put32(c + 4, 7);
    expect_format_error(c, len, "bad version");
    memcpy(c, b, len); owp_put32(c + 4, 0x83);
    expect_format_error(c, len, "two-way version");
    memcpy(c, b, len); owp_put64(c + 32, 200); /* header end no longer matches 1 slot */
    expect_format_error(c, len, "header end");
    memcpy(c, b, len); owp_put64(c + 32, 0xffffffffffffull);
    expect_format_error(c, len, "record offset beyond file");
    memcpy(c, b, len); c[175] = 1; /* zero block */
    expect_format_error(c, len, "non-zero block");
    memcpy(c, b, len); owp_put32(c + 20, 21); /* one record more than present */
    expect_format_error(c, len, "num_records");
    memcpy(c, b, len); owp_put32(c + 20, 0xffffffff);
    expect_format_error(c, len, "huge num_records");
    memcpy(c, b, len); owp_put32(c + 16, 0x10000000); /* skips beyond the file */
    expect_format_error(c, len, "num_skips");
    memcpy(c, b, len); owp_put32(c + 44, 0x7fffffff); /* nslots */
    expect_format_error(c, len, "nslots");
    memcpy(c, b, len); c[40] = 2; /* preamble message type */
    expect_format_error(c, len, "preamble type");
    memcpy(c, b, len); c[184 + 5 * 25 + 7] = 0; /* record 5: recv multiplier 0 */
    expect_format_error(c, len, "multiplier 0");
    memcpy(c, b, len);
    expect_format_error(c, len - 3, "partial record of a finished file");

    free(c);
    free(b);
}
END_TEST

/* A version 2 file built from open-from.owp: 24-byte records, no TTL. */
START_TEST(legacy_version2)
{
    size_t len;
    uint8_t *b = load("owp/open-from.owp", &len);
    uint32_t n = owp_get32(b + 20);
    size_t hdr = 20 + 112 + 16 + 16, vlen = hdr + 24 * (size_t)n;
    uint8_t *v = calloc(1, vlen);
    memcpy(v, "OwA", 4);
    owp_put32(v + 4, 2);
    owp_put64(v + 8, hdr);
    owp_put32(v + 16, 1);
    memcpy(v + 20, b + 40, 112 + 16 + 16);
    for (uint32_t i = 0; i < n; i++) {
        owp_record r;
        owp_record_decode(b + 184 + 25 * i, &r);
        uint8_t *p = v + hdr + 24 * i;
        owp_put32(p, r.seq);
        owp_put64(p + 4, r.send_time);
        owp_put16(p + 12, r.send_err);
        owp_put64(p + 14, r.recv_time);
        owp_put16(p + 22, r.recv_err);
    }
    FILE *fp;
    owp_err err;
    owp_file *f = read_mem(v, vlen, &fp, &err);
    ck_assert_msg(f != NULL, "%s", err.msg);
    ck_assert_uint_eq(owp_file_version(f), 2);
    ck_assert_uint_eq(owp_file_nrecords(f), n);
    ck_assert_ptr_nonnull(owp_file_request(f));
    collect c = {0};
    ck_assert_int_eq(owp_file_each_record(f, 0, collect_fn, &c, &err), OWP_OK);
    ck_assert_uint_eq(c.n, n);
    for (uint32_t i = 0; i < n; i++) {
        owp_record r;
        owp_record_decode(b + 184 + 25 * i, &r);
        ck_assert_uint_eq(c.recs[i].seq, r.seq);
        ck_assert_uint_eq(c.recs[i].send_time, r.send_time);
        ck_assert_uint_eq(c.recs[i].recv_time, r.recv_time);
        ck_assert_uint_eq(c.recs[i].recv_err, r.recv_err);
        ck_assert_uint_eq(c.recs[i].ttl, 255);
    }
    free(c.recs);
    owp_file_destroy(&f);
    fclose(fp);

    /* version 0: header length then records, no session description */
    owp_put32(v + 4, 0);
    f = read_mem(v, vlen, &fp, &err);
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_null(owp_file_request(f));
    owp_file_destroy(&f);
    fclose(fp);
    free(v);
    free(b);
}
END_TEST

START_TEST(record_codec_roundtrip)
{
    owp_record r = {.seq = 0x01020304, .send_err = 0x8001, .recv_err = 0x05ff,
                    .send_time = 0x1122334455667788ull, .recv_time = 0, .ttl = 64};
    uint8_t b[OWP_RECORD_LEN];
    owp_record_encode(&r, b);
    static const uint8_t want[OWP_RECORD_LEN] = {1, 2, 3, 4, 0x80, 1, 5, 0xff, 0x11, 0x22, 0x33,
                                                 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0, 0, 0, 0, 0,
                                                 0, 0, 64};
    ck_assert_mem_eq(b, want, sizeof want);
    owp_record back;
    owp_record_decode(b, &back);
    ck_assert_uint_eq(back.seq, r.seq);
    ck_assert_uint_eq(back.send_time, r.send_time);
    ck_assert(owp_record_lost(&back));
    ck_assert_uint_eq(owp_file_header_len(1), 184);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("owpfile");
    TCase *tc = tcase_create("vectors");
    tcase_add_loop_test(tc, vectors_rewrite_byte_identical, 0, NVECTORS);
    tcase_add_test(tc, vector_contents);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, truncated_copies_fail_cleanly);
    tcase_add_test(tc, corrupted_headers_fail);
    suite_add_tcase(s, tc);
    tc = tcase_create("legacy");
    tcase_add_test(tc, legacy_version2);
    tcase_add_test(tc, record_codec_roundtrip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
