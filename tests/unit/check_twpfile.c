/* check_twpfile.c - two-way session files (twpfile.h): the reference twping's
 * files read field by field (tests/vectors/twamp/outputs: open200.twp
 * against its decode open200.twp.json, raw.twp against twping -R's printout
 * of it, every other file's header against what twping printed); a file
 * rewritten from what was read is the same bytes; save is all or nothing;
 * truncated and corrupt files fail with the file and offset named; and how
 * the statistics count a file's records (duplicates, losses, conflicts). */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "owpfile.h"
#include "testutil.h"
#include "twpfile.h"
#include "twstats.h"

#define OUT "twamp/outputs/"

static uint8_t *load(const char *rel, size_t *len)
{
    char *path = tu_vector_path(rel);
    uint8_t *b = (uint8_t *)tu_read_file(path, len);
    free(path);
    ck_assert_ptr_nonnull(b);
    return b;
}

/* A file image opened as owstats opens it; NULL (err filled) on failure. */
static owp_file *open_mem(const uint8_t *b, size_t len, const char *name, FILE **fp, owp_err *err)
{
    *fp = fmemopen((void *)(uintptr_t)b, len ? len : 1, "rb");
    ck_assert_ptr_nonnull(*fp);
    return owp_file_read_any(*fp, name, err);
}

/* A vector file's records, read whole. */
typedef struct loaded {
    uint8_t *bytes;
    size_t len;
    FILE *fp;
    owp_file *f;
    owp_tw_record *rec;
    uint32_t n;
} loaded;

static void load_twp(const char *rel, loaded *l)
{
    owp_err err;
    l->bytes = load(rel, &l->len);
    l->f = open_mem(l->bytes, l->len, rel, &l->fp, &err);
    ck_assert_msg(l->f != NULL, "%s: %s", rel, err.msg);
    ck_assert_int_eq(owp_twp_read_records(l->f, 0, &l->rec, &l->n, &err), OWP_OK);
}

static void unload(loaded *l)
{
    free(l->rec);
    owp_file_destroy(&l->f);
    fclose(l->fp);
    free(l->bytes);
}

/* ---------------------------------------------------------------- the reference's files */

/* The decoder's JSON holds 64-bit timestamps as integers past jansson's
 * range: read with every number a double (the small ones stay exact). */
static json_t *load_json_numbers(const char *rel)
{
    char *path = tu_vector_path(rel);
    json_error_t e;
    json_t *j = json_load_file(path, JSON_DECODE_INT_AS_REAL, &e);
    ck_assert_msg(j != NULL, "%s:%d: %s", path, e.line, e.text);
    free(path);
    return j;
}

static long long jint(json_t *v) { return (long long)json_number_value(v); }

static void check_half(const owp_record *r, json_t *row, size_t at, size_t i)
{
    uint8_t b[8];
    ck_assert_int_eq(r->seq, jint(json_array_get(row, at)));
    ck_assert_int_eq(tu_hex_decode(json_string_value(json_array_get(row, at + 1)), b, 8), 8);
    ck_assert_msg(r->send_time == owp_get64(b), "record %zu: send time", i);
    ck_assert_int_eq(tu_hex_decode(json_string_value(json_array_get(row, at + 2)), b, 2), 2);
    ck_assert_uint_eq(r->send_err, owp_get16(b));
    ck_assert_int_eq(tu_hex_decode(json_string_value(json_array_get(row, at + 3)), b, 8), 8);
    ck_assert_msg(r->recv_time == owp_get64(b), "record %zu: receive time", i);
    ck_assert_int_eq(tu_hex_decode(json_string_value(json_array_get(row, at + 4)), b, 2), 2);
    ck_assert_uint_eq(r->recv_err, owp_get16(b));
    ck_assert_int_eq(r->ttl, jint(json_array_get(row, at + 5)));
}

static void check_addr(const uint8_t addr[16], const char *dotted)
{
    unsigned a, b, c, d;
    ck_assert_int_eq(sscanf(dotted, "%u.%u.%u.%u", &a, &b, &c, &d), 4);
    const uint8_t want[16] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
    ck_assert_mem_eq(addr, want, 16);
}

static void check_preamble(const owp_request *req, json_t *p)
{
    ck_assert_int_eq(req->ipvn, jint(json_object_get(p, "ipvn")));
    ck_assert_int_eq(req->conf_sender, jint(json_object_get(p, "conf_sender")));
    ck_assert_int_eq(req->conf_receiver,
                      jint(json_object_get(p, "conf_receiver")));
    ck_assert_int_eq(req->nslots, jint(json_object_get(p, "num_slots")));
    ck_assert_int_eq(req->npackets, jint(json_object_get(p, "num_packets")));
    ck_assert_int_eq(req->sender_port, jint(json_object_get(p, "sender_port")));
    ck_assert_int_eq(req->receiver_port,
                      jint(json_object_get(p, "receiver_port")));
    check_addr(req->sender_addr, json_string_value(json_object_get(p, "sender_address")));
    check_addr(req->receiver_addr, json_string_value(json_object_get(p, "receiver_address")));
    uint8_t sid[16];
    ck_assert_uint_eq(tu_json_hex(p, "sid", sid, sizeof sid), 16);
    ck_assert_mem_eq(req->sid, sid, 16);
    ck_assert_int_eq(req->padding, jint(json_object_get(p, "padding_length")));
    ck_assert_uint_eq(req->start_time, tu_json_hex64(json_object_get(p, "start_time"), "hex"));
    ck_assert_uint_eq(req->timeout, tu_json_hex64(p, "timeout_hex"));
    uint8_t typep[4];
    ck_assert_uint_eq(tu_json_hex(p, "type_p", typep, sizeof typep), 4);
    ck_assert_uint_eq(req->typep, owp_get32(typep));
}

/* open200.twp: every header and preamble field and all 200 records, as the
 * independent decoder (twpfile.py) read them. */
START_TEST(test_reference_file)
{
    json_t *j = load_json_numbers(OUT "open200.twp.json");
    loaded l;
    load_twp(OUT "open200.twp", &l);
    json_t *h = json_object_get(j, "header");
    ck_assert_int_eq(owp_file_version(l.f), jint(json_object_get(h, "version")));
    ck_assert(owp_file_is_twoway(l.f));
    ck_assert_int_eq(owp_file_finished(l.f), jint(json_object_get(h, "finished")));
    ck_assert_uint_eq(owp_file_next_seqno(l.f), 0);
    ck_assert_uint_eq(owp_file_nskips(l.f), 0);
    ck_assert_int_eq(owp_file_nrecords(l.f),
                      jint(json_object_get(j, "records_by_file_size")));
    const owp_request *req = owp_file_request(l.f);
    check_preamble(req, json_object_get(j, "preamble"));
    json_t *slot = json_array_get(json_object_get(j, "slots"), 0);
    ck_assert_int_eq(req->slots[0].type, jint(json_object_get(slot, "type")));
    ck_assert_uint_eq(req->slots[0].value, tu_json_hex64(slot, "value_hex"));
    json_t *rows = json_object_get(j, "records");
    ck_assert_uint_eq(l.n, json_array_size(rows));
    for (uint32_t i = 0; i < l.n; i++) {
        check_half(&l.rec[i].fwd, json_array_get(rows, i), 0, i);
        check_half(&l.rec[i].bck, json_array_get(rows, i), 6, i);
    }
    unload(&l);
    json_decref(j);
}
END_TEST

/* raw.twp against the 16 fields per record its twping run printed (-R). */
START_TEST(test_reference_raw)
{
    loaded l;
    load_twp(OUT "raw.twp", &l);
    size_t len;
    char *text = (char *)load(OUT "raw.txt", &len);
    char *line = text;
    for (uint32_t i = 0; i < l.n; i++) {
        const owp_record *h[2] = {&l.rec[i].fwd, &l.rec[i].bck};
        for (int k = 0; k < 2; k++) {
            unsigned long seq;
            uint64_t send, recv;
            unsigned ss, rs, ttl;
            double se, re;
            int used = 0;
            ck_assert_int_eq(sscanf(line, "%lu %" SCNu64 " %u %lg %" SCNu64 " %u %lg %u%n", &seq,
                                    &send, &ss, &se, &recv, &rs, &re, &ttl, &used),
                             8);
            line += used;
            ck_assert_uint_eq(h[k]->seq, seq);
            ck_assert_msg(h[k]->send_time == send && h[k]->recv_time == recv,
                          "record %u half %d: times", i, k);
            ck_assert_double_eq_tol(owp_errest_seconds(h[k]->send_err), se, se * 1e-5);
            ck_assert_double_eq_tol(owp_errest_seconds(h[k]->recv_err), re, re * 1e-5);
            ck_assert_int_eq(owp_errest_synchronized(h[k]->send_err), ss);
            ck_assert_uint_eq(h[k]->ttl, ttl);
        }
    }
    ck_assert_uint_eq(l.n, 200);
    while (*line == '\n')
        line++;
    ck_assert_msg(*line == '\0', "raw.txt has more records than raw.twp");
    free(text);
    unload(&l);
}
END_TEST

/* Every file the reference's twping runs saved: its SID and ports are those
 * the run printed, 200 records, finished, as README.md E says. */
static const char *const variants[] = {"machine", "percentiles", "sub10", "units-us", "verbose"};

START_TEST(test_reference_variants)
{
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        char twp[64], txt[64], want[128];
        snprintf(twp, sizeof twp, OUT "%s.twp", variants[v]);
        snprintf(txt, sizeof txt, OUT "%s.txt", variants[v]);
        loaded l;
        load_twp(twp, &l);
        size_t len;
        char *text = (char *)load(txt, &len);
        const owp_request *req = owp_file_request(l.f);
        ck_assert_uint_eq(owp_file_finished(l.f), OWP_FINISHED_NORMAL);
        ck_assert_uint_eq(l.n, 200);
        ck_assert_uint_eq(req->npackets, 200);
        ck_assert_uint_eq(req->conf_sender & req->conf_receiver, 1);
        char *p = want;
        for (int i = 0; i < 16; i++)
            p += sprintf(p, "%02x", req->sid[i]);
        ck_assert_msg(strstr(text, want), "%s: SID %s", txt, want);
        if (v == 0)
            snprintf(want, sizeof want, "FROM_PORT\t%u\nTO_HOST\t127.0.0.1\nTO_ADDR\t127.0.0.1\n"
                     "TO_PORT\t%u\n", req->sender_port, req->receiver_port);
        else
            snprintf(want, sizeof want, "[localhost]:%u to [127.0.0.1]:%u ---",
                     req->sender_port, req->receiver_port);
        ck_assert_msg(strstr(text, want), "%s: %s", txt, want);
        for (uint32_t i = 0; i < l.n; i++)
            ck_assert_uint_eq(l.rec[i].fwd.seq, i); /* loss-free, in order */
        free(text);
        unload(&l);
    }
}
END_TEST

/* ---------------------------------------------------------------- writing */

/* What was read, written again: the same bytes (the reference's header,
 * preamble and records). */
START_TEST(test_rewrite_identical)
{
    loaded l;
    load_twp(OUT "open200.twp", &l);
    FILE *out = tmpfile(); /* the header is rewritten in place at the end */
    ck_assert_ptr_nonnull(out);
    owp_err err;
    owp_twp_writer *w = owp_twp_writer_new(out, owp_file_request(l.f), &err);
    ck_assert_ptr_nonnull(w);
    for (uint32_t i = 0; i < l.n; i++)
        ck_assert_int_eq(owp_twp_writer_add(w, &l.rec[i], &err), OWP_OK);
    ck_assert_int_eq(owp_twp_writer_finish(w, OWP_FINISHED_NORMAL, &err), OWP_OK);
    ck_assert_uint_eq(owp_twp_writer_nrecords(w), 200);
    owp_twp_writer_destroy(&w);
    uint8_t *buf = malloc(l.len + 1);
    rewind(out);
    ck_assert_uint_eq(fread(buf, 1, l.len + 1, out), l.len);
    ck_assert_mem_eq(buf, l.bytes, l.len);
    fclose(out);
    free(buf);
    unload(&l);
}
END_TEST

static owp_slot g_slots[2] = {{.type = OWP_SLOT_EXP, .value = 0x0ccccccc},
                              {.type = OWP_SLOT_FIXED, .value = 0x028f5c28}};

/* A session of our own: IPv6, two slots, conf 0 (stored as 1). */
static void make_request(owp_request *req)
{
    memset(req, 0, sizeof *req);
    req->ipvn = 6;
    req->nslots = 2;
    req->slots = g_slots;
    req->npackets = 5;
    req->sender_port = 8761;
    req->receiver_port = 19501;
    req->sender_addr[15] = 1;
    req->receiver_addr[15] = 1;
    for (int i = 0; i < 16; i++)
        req->sid[i] = (uint8_t)(0xa0 + i);
    req->padding = 64;
    req->start_time = 0xeec082dc00000000ULL;
    req->timeout = 0x0000000200000000ULL;
    req->typep = 0x2e000000;
}

/* Records 0..4: 2 answered twice (a send duplicate), 3 lost. */
static uint32_t make_records(owp_tw_record *r)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < 5; i++) {
        if (i == 3)
            continue;
        owp_num64 t1 = 0xeec082dc10000000ULL + ((owp_num64)i << 28);
        r[n++] = (owp_tw_record){
            .fwd = {.seq = i, .send_time = t1, .recv_time = t1 + 40000, .send_err = 0x8a01,
                    .recv_err = 0x0001, .ttl = 254},
            .bck = {.seq = i, .send_time = t1 + 50000, .recv_time = t1 + 90000,
                    .send_err = 0x0001, .recv_err = 0x8a01, .ttl = 253},
        };
    }
    r[n] = r[2];
    r[n++].bck.seq = 7;
    r[n++] = owp_tw_record_lost_at(3, 0xeec082dc40000000ULL, 0x0001);
    return n;
}

static int same_half(const owp_record *a, const owp_record *b)
{
    return a->seq == b->seq && a->send_err == b->send_err && a->recv_err == b->recv_err &&
           a->send_time == b->send_time && a->recv_time == b->recv_time && a->ttl == b->ttl;
}

START_TEST(test_write_read_back)
{
    owp_request req;
    make_request(&req);
    owp_tw_record rec[8];
    uint32_t n = make_records(rec);
    char *path = tu_write_file(tu_dir, "s.twp", "");
    FILE *fp = fopen(path, "w+b");
    owp_err err;
    owp_twp_writer *w = owp_twp_writer_new(fp, &req, &err);
    ck_assert_ptr_nonnull(w);
    for (uint32_t i = 0; i < n; i++)
        ck_assert_int_eq(owp_twp_writer_add(w, &rec[i], &err), OWP_OK);
    fflush(fp);
    /* Not finished yet: readable, and says so. */
    owp_file *f = owp_file_read_any(fp, path, &err);
    ck_assert_msg(f != NULL, "%s", err.msg);
    ck_assert_uint_eq(owp_file_finished(f), OWP_FINISHED_INCOMPLETE);
    owp_file_destroy(&f);
    ck_assert_int_eq(owp_twp_writer_finish(w, OWP_FINISHED_NORMAL, &err), OWP_OK);
    owp_twp_writer_destroy(&w);

    f = owp_file_read_any(fp, path, &err);
    ck_assert_msg(f != NULL, "%s", err.msg);
    ck_assert_uint_eq(owp_file_finished(f), OWP_FINISHED_NORMAL);
    ck_assert_uint_eq(owp_file_nrecords(f), n);
    const owp_request *got = owp_file_request(f);
    ck_assert_uint_eq(got->ipvn, 6);
    ck_assert_uint_eq(got->conf_sender, 1);
    ck_assert_uint_eq(got->conf_receiver, 1);
    ck_assert_uint_eq(got->nslots, 2);
    ck_assert_uint_eq(got->slots[1].type, OWP_SLOT_FIXED);
    ck_assert_uint_eq(got->slots[1].value, 0x028f5c28);
    ck_assert_mem_eq(got->sid, req.sid, 16);
    ck_assert_mem_eq(got->sender_addr, req.sender_addr, 16);
    ck_assert_uint_eq(got->typep, req.typep);
    owp_tw_record *back;
    uint32_t nback;
    ck_assert_int_eq(owp_twp_read_records(f, 0, &back, &nback, &err), OWP_OK);
    ck_assert_uint_eq(nback, n);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert(same_half(&back[i].fwd, &rec[i].fwd));
        ck_assert(same_half(&back[i].bck, &rec[i].bck));
    }
    free(back);
    ck_assert_int_eq(owp_twp_read_records(f, 2, &back, &nback, &err), OWP_OK);
    ck_assert_uint_eq(nback, 2);
    free(back);
    owp_file_destroy(&f);

    /* The header as the reference writes it. */
    size_t len;
    uint8_t *bytes = (uint8_t *)tu_read_file(path, &len);
    ck_assert_uint_eq(len, 40 + 112 + 2 * 16 + 16 + n * OWP_TW_RECORD_LEN);
    ck_assert_uint_eq(owp_get32(bytes + 4), 0x83);
    ck_assert_uint_eq(owp_get32(bytes + 12), 0); /* next_seqno */
    ck_assert_uint_eq(owp_get32(bytes + 20), 0); /* num_records */
    ck_assert_uint_eq(owp_get64(bytes + 24), 0); /* oset_skips */
    ck_assert_uint_eq(owp_get64(bytes + 32), 200); /* oset_records: after two slots */
    ck_assert_uint_eq(bytes[40], 1);               /* message type */
    free(bytes);
    fclose(fp);
    free(path);
}
END_TEST

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Nothing at the path until the whole file is there; an abort leaves nothing. */
START_TEST(test_save_atomic)
{
    owp_request req;
    make_request(&req);
    owp_tw_record rec[8];
    uint32_t n = make_records(rec);
    char path[512];
    snprintf(path, sizeof path, "%s/saved.twp", tu_dir);
    owp_err err;
    owp_twp_save *s = owp_twp_save_begin(path, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    char temp[600];
    snprintf(temp, sizeof temp, "%s", owp_twp_save_temp_path(s));
    ck_assert(file_exists(temp));
    ck_assert(!file_exists(path));
    owp_twp_save_abort(&s);
    ck_assert_ptr_null(s);
    ck_assert(!file_exists(temp));
    ck_assert(!file_exists(path));

    s = owp_twp_save_begin(path, &err);
    ck_assert_ptr_nonnull(s);
    snprintf(temp, sizeof temp, "%s", owp_twp_save_temp_path(s));
    ck_assert_int_eq(owp_twp_save_commit(&s, &req, rec, n, &err), OWP_OK);
    ck_assert_ptr_null(s);
    ck_assert(file_exists(path));
    ck_assert(!file_exists(temp));
    FILE *fp = fopen(path, "rb");
    owp_file *f = owp_file_read_any(fp, path, &err);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(owp_file_finished(f), OWP_FINISHED_NORMAL);
    ck_assert_uint_eq(owp_file_nrecords(f), n);
    owp_file_destroy(&f);
    fclose(fp);

    /* A directory that does not exist: refused at once, naming the path. */
    snprintf(path, sizeof path, "%s/no/such/dir/x.twp", tu_dir);
    ck_assert_ptr_null(owp_twp_save_begin(path, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, path));
}
END_TEST

/* ---------------------------------------------------------------- hostile files */

static void expect_failure(const uint8_t *b, size_t len, const char *why)
{
    FILE *fp;
    owp_err err;
    owp_file *f = open_mem(b, len, "bad.twp", &fp, &err);
    owp_status st = OWP_OK;
    if (f) {
        owp_tw_record *rec = NULL;
        uint32_t n;
        st = owp_twp_read_records(f, 0, &rec, &n, &err);
        free(rec);
        owp_file_destroy(&f);
    }
    fclose(fp);
    ck_assert_msg(!f || st != OWP_OK, "accepted: %s", why);
    ck_assert_msg(strncmp(err.msg, "bad.twp: offset ", 16) == 0, "%s: \"%s\"", why, err.msg);
    ck_assert_msg(strstr(err.msg, why) != NULL, "wanted \"%s\" in \"%s\"", why, err.msg);
}

START_TEST(test_truncated_and_corrupt)
{
    size_t len;
    uint8_t *b = load(OUT "open200.twp", &len);
    uint8_t *c = malloc(len);
    /* Cut inside record 150: a finished file holds whole records only. */
    expect_failure(b, 184 + 150 * 50 + 17, "offset 7684: truncated record");
    /* Cut inside the session description, and inside the fixed header. */
    expect_failure(b, 120, "offset 32: record offset outside the file");
    expect_failure(b, 30, "file header truncated");
    /* A multiplier 0 in record 7's reflected half (its receive error). */
    memcpy(c, b, len);
    c[184 + 7 * 50 + 25 + 7] = 0;
    expect_failure(c, len, "offset 534: record 7 (seq 7): error estimate with multiplier 0");
    /* Not an owamp file; a two-way version the reference never wrote. */
    memcpy(c, b, len);
    c[0] = 'X';
    expect_failure(c, len, "offset 0: bad magic");
    memcpy(c, b, len);
    c[7] = 0x84;
    expect_failure(c, len, "offset 4: unknown two-way file version 0x84");
    /* Slots that do not fit the header. */
    memcpy(c, b, len);
    c[47] = 3;
    expect_failure(c, len, "header end does not match 3 schedule slots");
    free(c);

    /* The one-way reader refuses a two-way file; the two-way reader a one-way one. */
    FILE *fp = fmemopen(b, len, "rb");
    owp_err err;
    ck_assert_ptr_null(owp_file_read(fp, "x.twp", &err));
    ck_assert_str_eq(err.msg, "x.twp: offset 4: version 0x83 is a two-way (TWAMP) file");
    owp_file *f = owp_file_read_any(fp, "x.twp", &err);
    ck_assert_int_eq(owp_file_each_record(f, 0, NULL, NULL, &err), OWP_ERR_FORMAT);
    owp_file_destroy(&f);
    fclose(fp);
    free(b);
    b = load("owp/open-from.owp", &len);
    fp = fmemopen(b, len, "rb");
    f = owp_file_read_any(fp, "open-from.owp", &err);
    ck_assert_ptr_nonnull(f);
    ck_assert(!owp_file_is_twoway(f));
    owp_tw_record *rec;
    uint32_t n;
    ck_assert_int_eq(owp_twp_read_records(f, 0, &rec, &n, &err), OWP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "is not a two-way file"));
    owp_file_destroy(&f);
    fclose(fp);
    free(b);
}
END_TEST

/* Every cut of a file either reads (an unfinished file may end anywhere)
 * or fails with a message; never more records than whole ones. */
START_TEST(test_every_cut)
{
    size_t len;
    uint8_t *b = load(OUT "open200.twp", &len);
    for (size_t cut = 0; cut < 184 + 3 * 50; cut++) {
        FILE *fp;
        owp_err err;
        err.msg[0] = '\0';
        owp_file *f = open_mem(b, cut, "cut.twp", &fp, &err);
        if (f) {
            owp_tw_record *rec;
            uint32_t n;
            if (owp_twp_read_records(f, 0, &rec, &n, &err) == OWP_OK) {
                ck_assert_uint_le(184 + (size_t)n * 50, cut);
                free(rec);
            }
            owp_file_destroy(&f);
        } else {
            ck_assert_msg(strncmp(err.msg, "cut.twp: offset ", 16) == 0, "cut %zu: %s", cut,
                          err.msg);
        }
        fclose(fp);
    }
    free(b);
}
END_TEST

/* ---------------------------------------------------------------- counting records */

static owp_tw_range g_range = {.first = 0, .last = 5};

START_TEST(test_duplicates_and_loss)
{
    owp_tw_record rec[10];
    uint32_t n = make_records(rec);
    rec[n] = rec[1]; /* the answer to packet 1 duplicated on its way back */
    n++;
    owp_tw_stats s;
    ck_assert_int_eq(owp_tw_stats_compute(rec, n, &g_range, 0, &s, NULL), OWP_OK);
    ck_assert_uint_eq(s.sent, 5);
    ck_assert_uint_eq(s.lost, 1);
    ck_assert_uint_eq(s.received, 4);
    ck_assert_uint_eq(s.send_dups, 1);
    ck_assert_uint_eq(s.reflect_dups, 1);
    ck_assert_int_eq(s.sync, 0); /* the lost record's receive estimate lacks S */
    ck_assert_uint_eq(s.ttl_fwd[254], 4);
    owp_tw_stats_clear(&s);
    /* A range holds only its sender seqs. */
    owp_tw_range two = {.first = 2, .last = 3};
    ck_assert_int_eq(owp_tw_stats_compute(rec, n, &two, 0, &s, NULL), OWP_OK);
    ck_assert_uint_eq(s.sent, 1);
    ck_assert_uint_eq(s.send_dups, 1);
    ck_assert_int_eq(s.sync, 1); /* the reference's: no lost record in it */
    owp_tw_stats_clear(&s);
}
END_TEST

/* What the reference's owstats refuses fails, naming the sender seq. */
START_TEST(test_conflicts)
{
    owp_tw_record rec[10];
    uint32_t n = make_records(rec);
    owp_err err;
    owp_tw_stats s;
    rec[n] = rec[0];
    rec[n].fwd.recv_time = 0; /* lost after it came back */
    ck_assert_int_eq(owp_tw_stats_compute(rec, n + 1, &g_range, 0, &s, &err), OWP_ERR_FORMAT);
    ck_assert_str_eq(err.msg, "sender seq 0: a lost record for a packet that came back");
    rec[n] = rec[0];
    rec[n].fwd.seq = 3; /* came back after it was recorded lost */
    rec[n].bck.seq = 9;
    ck_assert_int_eq(owp_tw_stats_compute(rec, n + 1, &g_range, 0, &s, &err), OWP_ERR_FORMAT);
    ck_assert_str_eq(err.msg, "sender seq 3: a reflection of a packet recorded lost");
    rec[n] = rec[1];
    rec[n].fwd.seq = 4; /* reflector seq 1 answering sender seq 4 */
    ck_assert_int_eq(owp_tw_stats_compute(rec, n + 1, &g_range, 0, &s, &err), OWP_ERR_FORMAT);
    ck_assert_str_eq(err.msg, "sender seq 4: reflector seq 1 answered sender seq 1 before");
}
END_TEST

static Suite *twpfile_suite(void)
{
    Suite *s = suite_create("twpfile");
    TCase *tc = tcase_create("reference");
    tcase_add_test(tc, test_reference_file);
    tcase_add_test(tc, test_reference_raw);
    tcase_add_test(tc, test_reference_variants);
    suite_add_tcase(s, tc);
    tc = tcase_create("writing");
    tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
    tcase_add_test(tc, test_rewrite_identical);
    tcase_add_test(tc, test_write_read_back);
    tcase_add_test(tc, test_save_atomic);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_add_test(tc, test_truncated_and_corrupt);
    tcase_add_test(tc, test_every_cut);
    suite_add_tcase(s, tc);
    tc = tcase_create("records");
    tcase_add_test(tc, test_duplicates_and_loss);
    tcase_add_test(tc, test_conflicts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run_suite(twpfile_suite()); }
