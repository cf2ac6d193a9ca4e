/* check_report_synth.c - owstats' outputs on synthesised sessions, against
 * what the code printed before its fast paths (issue 15) and against
 * printf itself:
 *  - summary, -M, -a, -N, -M -N, -v, -b, -n, -U of eight sessions made here
 *    (duplicates, loss, heavy loss, reordering, skip ranges, stray and
 *    random records, negative delays, timestamps that wrap past 2^64, every
 *    kind of error estimate) equal tests/vectors/owstats-synth/NAME.txt,
 *    written by this suite on the library before the change (README.md
 *    there), byte for byte, errors included;
 *  - -R of the same sessions and of random records equals the plain printf
 *    formatting of the records the generator made (a test oracle: the
 *    reference's format string, nothing else).
 * OWP_SYNTH_WRITE=DIR writes the NAME.txt files (and NAME.owp) to DIR
 * instead of comparing: how the vectors were made. With OWP_SYNTH_SEED=N as
 * well, the sessions are other ones: run twice on two libraries and
 * compare the directories to test a change on more sessions than the
 * vectors hold. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "owpfile.h"
#include "report.h"
#include "sendsched.h"
#include "testutil.h"

/* ------------------------------------------------------------ randomness */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t x = (*state += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Each draw in a statement of its own: C leaves the order of the
 * initialisers of a struct and of a binary operator's operands open, and
 * two compilers (or -O levels) must make the same sessions. */
static unsigned per_mille(uint64_t *s) { return (unsigned)(splitmix64(s) % 1000); }

/* Any 64-bit value, small ones as likely as large ones. */
static uint64_t random_u64_any_size(uint64_t *s)
{
    uint64_t v = splitmix64(s);
    unsigned shift = (unsigned)(splitmix64(s) % 64);
    return v >> shift;
}

/* A valid error estimate (multiplier 1..255), S bit and scale at random. */
static uint16_t random_errest(uint64_t *s)
{
    uint16_t v = (uint16_t)splitmix64(s);
    return (uint16_t)((v & 0xBF00) | (1 + v % 255));
}

/* ------------------------------------------------------------ sessions */

#define NTP_DEC_2025 ((owp_num64)3976000000u << 32) /* 2025-12-29 */
#define MS(x) ((owp_num64)((x) * 4294967.296))

enum { ERREST_SYNC, ERREST_UNSYNC, ERREST_RANDOM, ERREST_TWO };

typedef struct synth_spec {
    const char *name;
    uint32_t npackets;
    owp_slot slots[3];
    uint32_t nslots;
    owp_num64 start, timeout;
    unsigned loss_pm, dup_pm, negative_pm; /* per mille of packets */
    owp_num64 base_delay, jitter;          /* delay = base + uniform [0, jitter) */
    unsigned ttl_spread;                   /* TTLs 251 - [0, spread) */
    int errest_mode;
    owp_skip skips[2];
    uint32_t nskips;
    unsigned strays;     /* records of seqs past the session, at random places */
    int lost_at_end;     /* lost records at the end (Stop-Sessions), not at their timeout */
    uint32_t finished;
    unsigned random_pm;  /* packets replaced by a record of random fields ... */
    int wild;            /* ... their times anywhere (the error paths), else near the packet's */
} synth_spec;

#define EXP(ms) {OWP_SLOT_EXP, MS(ms)}
#define FIXED(ms) {OWP_SLOT_FIXED, MS(ms)}

static const synth_spec specs[] = {
    {"clean", 1000, {EXP(10)}, 1, NTP_DEC_2025, MS(2000), 0, 0, 0, MS(20), MS(0.3), 1,
     ERREST_SYNC, {{0, 0}}, 0, 0, 0, OWP_FINISHED_NORMAL, 0, 0},
    {"lossdup", 2000, {EXP(5), FIXED(2), EXP(1)}, 3, NTP_DEC_2025 + MS(123), MS(3000), 50, 30, 0,
     MS(10), MS(25), 3, ERREST_TWO, {{0, 0}}, 0, 0, 0, OWP_FINISHED_NORMAL, 0, 0},
    {"heavyloss", 1000, {FIXED(1)}, 1, NTP_DEC_2025, MS(500), 600, 10, 0, MS(3), MS(1), 2,
     ERREST_SYNC, {{0, 0}}, 0, 0, 0, OWP_FINISHED_NORMAL, 0, 0},
    {"skips", 2500, {EXP(2)}, 1, NTP_DEC_2025 + MS(999), MS(1000), 20, 5, 0, MS(5), MS(4), 1,
     ERREST_RANDOM, {{300, 420}, {2000, 2100}}, 2, 40, 0, OWP_FINISHED_INCOMPLETE, 0, 0},
    {"straddle", 1200, {EXP(1)}, 1, NTP_DEC_2025, MS(100), 10, 10, 30, MS(25.5), MS(0.5), 4,
     ERREST_UNSYNC, {{0, 0}}, 0, 0, 0, OWP_FINISHED_NORMAL, 0, 0},
    /* The ends of the 32.32 clock: 1900 and 2036 (times just below 2^64). */
    {"early", 800, {EXP(4)}, 1, MS(900), MS(800), 30, 20, 5, MS(1), MS(30), 2, ERREST_RANDOM,
     {{0, 0}}, 0, 3, 0, OWP_FINISHED_NORMAL, 0, 0},
    {"late", 800, {EXP(20)}, 1, UINT64_MAX - MS(40000), MS(1500), 30, 20, 5, MS(40), MS(80), 2,
     ERREST_RANDOM, {{0, 0}}, 0, 3, 0, OWP_FINISHED_NORMAL, 0, 0},
    {"junk", 1200, {EXP(3)}, 1, NTP_DEC_2025, MS(400), 0, 10, 10, MS(2), MS(2), 5, ERREST_RANDOM,
     {{0, 0}}, 0, 5, 0, OWP_FINISHED_ERROR, 20, 0},
    {"wild", 800, {EXP(3)}, 1, NTP_DEC_2025, MS(50), 10, 10, 10, MS(2), MS(2), 5, ERREST_RANDOM,
     {{0, 0}}, 0, 5, 0, OWP_FINISHED_ERROR, 8, 1},
    {"broken", 600, {EXP(3)}, 1, NTP_DEC_2025, MS(50), 10, 10, 10, MS(2), MS(2), 5, ERREST_RANDOM,
     {{0, 0}}, 0, 5, 0, OWP_FINISHED_ERROR, 60, 1},
    {"tiny", 3, {FIXED(100)}, 1, NTP_DEC_2025, MS(1000), 300, 300, 0, MS(1), MS(1), 1, ERREST_SYNC,
     {{0, 0}}, 0, 0, 1, OWP_FINISHED_NORMAL, 0, 0},
};
#define NSPECS (sizeof specs / sizeof specs[0])

typedef struct arrival {
    owp_num64 when;
    uint32_t order;
    owp_record rec;
} arrival;

typedef struct session {
    owp_request req;
    owp_slot slots[3];
    arrival *a;
    uint32_t n, cap;
} session;

static void push(session *s, owp_num64 when, const owp_record *r)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->a = realloc(s->a, s->cap * sizeof *s->a);
        ck_assert_ptr_nonnull(s->a);
    }
    s->a[s->n] = (arrival){when, s->n, *r};
    s->n++;
}

static int arrival_cmp(const void *x, const void *y)
{
    const arrival *a = x, *b = y;
    if (a->when != b->when)
        return a->when < b->when ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static uint16_t errest_of(const synth_spec *sp, uint32_t seq, uint64_t *rs)
{
    switch (sp->errest_mode) {
    case ERREST_UNSYNC: return OWP_ERREST_UNSYNC;
    case ERREST_RANDOM: return random_errest(rs);
    case ERREST_TWO: return seq % 700 < 350 ? 0x8a12 : 0x8b40;
    default: return 0x8a19;
    }
}

static void add_packet(session *s, const synth_spec *sp, uint32_t seq, owp_num64 due, uint64_t *rs)
{
    owp_record r = {.seq = seq, .send_err = errest_of(sp, seq, rs)};
    r.recv_err = errest_of(sp, seq, rs);
    if (per_mille(rs) < sp->loss_pm) {
        r.send_time = due;
        r.send_err = OWP_ERREST_UNSYNC;
        r.ttl = 255;
        push(s, sp->lost_at_end ? UINT64_MAX : due + sp->timeout, &r);
        return;
    }
    r.send_time = due + MS(0.004);
    owp_num64 delay = sp->base_delay + splitmix64(rs) % sp->jitter;
    r.recv_time = per_mille(rs) < sp->negative_pm ? r.send_time - delay : r.send_time + delay;
    if (!r.recv_time)
        r.recv_time = 1; /* 0 would read as lost */
    r.ttl = (uint8_t)(251 - splitmix64(rs) % sp->ttl_spread);
    push(s, r.recv_time, &r);
    if (per_mille(rs) < sp->dup_pm) {
        r.recv_time += MS(0.05) + 1;
        push(s, r.recv_time, &r);
    }
}

/* A record of random fields in place of packet seq (due then): wild, any
 * seq up to twice the session's and times anywhere; else a seq near seq or
 * past the session, received within a loss timeout of due. */
static void add_random(session *s, const synth_spec *sp, uint32_t seq, owp_num64 due,
                       uint64_t *rs)
{
    owp_record r = {0};
    r.send_err = random_errest(rs);
    r.recv_err = random_errest(rs);
    r.ttl = (uint8_t)splitmix64(rs);
    if (sp->wild) {
        r.seq = (uint32_t)(splitmix64(rs) % (2 * (uint64_t)sp->npackets + 2));
        r.send_time = splitmix64(rs);
        r.recv_time = random_u64_any_size(rs);
        push(s, splitmix64(rs), &r);
        return;
    }
    uint32_t near = seq + (uint32_t)(splitmix64(rs) % 20);
    r.seq = splitmix64(rs) % 3 ? near : sp->npackets + near;
    r.send_time = due - splitmix64(rs) % sp->timeout;
    r.recv_time = due + 1 + splitmix64(rs) % (sp->timeout / 4);
    push(s, r.recv_time, &r);
}

static void make_session(const synth_spec *sp, uint64_t seed, session *s)
{
    memset(s, 0, sizeof *s);
    uint64_t rs = seed;
    owp_request *req = &s->req;
    req->ipvn = 4;
    req->conf_receiver = 1;
    req->nslots = sp->nslots;
    memcpy(s->slots, sp->slots, sizeof s->slots);
    req->slots = s->slots;
    req->npackets = sp->npackets;
    req->sender_port = 8765;
    req->receiver_port = 9876;
    const uint8_t lo[4] = {127, 0, 0, 1};
    memcpy(req->sender_addr, lo, 4);
    memcpy(req->receiver_addr, lo, 4);
    for (int i = 0; i < OWP_SID_LEN; i++)
        req->sid[i] = (uint8_t)splitmix64(&rs);
    req->start_time = sp->start;
    req->timeout = sp->timeout;

    owp_err err;
    owp_sched *sched = owp_sched_new(req->sid, req->slots, req->nslots, &err);
    ck_assert_msg(sched != NULL, "%s", err.msg);
    for (uint32_t seq = 0; seq < sp->npackets; seq++) {
        owp_num64 due = sp->start + owp_sched_offset(sched, seq);
        if (sp->random_pm && per_mille(&rs) < sp->random_pm)
            add_random(s, sp, seq, due, &rs);
        else
            add_packet(s, sp, seq, due, &rs);
    }
    owp_sched_destroy(&sched);
    for (unsigned i = 0; i < sp->strays; i++) {
        owp_record r = {.seq = sp->npackets + (uint32_t)(splitmix64(&rs) % 1000),
                        .send_err = 0x8a19, .recv_err = 0x8a19, .ttl = 250};
        r.send_time = s->a[splitmix64(&rs) % s->n].rec.send_time;
        r.recv_time = r.send_time + MS(3);
        push(s, s->a[splitmix64(&rs) % s->n].when, &r);
    }
    qsort(s->a, s->n, sizeof *s->a, arrival_cmp);
}

/* The session as a file in fp (tmpfile), finished with sp's skips. */
static FILE *write_session(const synth_spec *sp, const session *s)
{
    FILE *fp = tmpfile();
    ck_assert_ptr_nonnull(fp);
    owp_err err;
    owp_file_writer *w = owp_file_writer_new(fp, &s->req, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    for (uint32_t i = 0; i < s->n; i++)
        ck_assert_int_eq(owp_file_writer_add(w, &s->a[i].rec, &err), OWP_OK);
    ck_assert_int_eq(owp_file_writer_finish(w, sp->finished, sp->npackets, sp->skips, sp->nskips,
                                            &err),
                     OWP_OK);
    owp_file_writer_destroy(&w);
    return fp;
}

/* ------------------------------------------------------------ outputs */

static const double pcts[] = {0, 10, 25, 50, 75, 95, 99.9, 100};

typedef struct variant {
    const char *label;
    void (*set)(owp_report_opts *o);
    int digest; /* kept as its line count and FNV-1a hash (-v: a line a record) */
} variant;

static void v_summary(owp_report_opts *o) { (void)o; }
static void v_machine(owp_report_opts *o) { o->machine = 1; }
static void v_percentiles(owp_report_opts *o)
{
    o->percentiles = pcts;
    o->npercentiles = sizeof pcts / sizeof pcts[0];
}
static void v_sub(owp_report_opts *o) { o->sub_count = 500; }
static void v_machine_sub(owp_report_opts *o) { o->machine = 1, o->sub_count = 700; }
static void v_verbose(owp_report_opts *o) { o->verbose = 1; }
static void v_verbose25(owp_report_opts *o) { o->verbose = 1, o->verbose_max = 25; }
static void v_fine(owp_report_opts *o) { o->machine = 1, o->bucket_width = 0.00001; }
static void v_coarse(owp_report_opts *o) { v_percentiles(o), o->bucket_width = 0.01; }
static void v_micro(owp_report_opts *o) { o->units = 'u'; }
static void v_unix(owp_report_opts *o) { o->machine = 1, o->unix_times = 1; }

static const variant variants[] = {
    {"summary", v_summary, 0}, {"-M", v_machine, 0},     {"-a", v_percentiles, 0},
    {"-N 500", v_sub, 0},      {"-M -N 700", v_machine_sub, 0}, {"-v", v_verbose, 1},
    {"-v25", v_verbose25, 0},  {"-M -b 0.00001", v_fine, 0}, {"-a -b 0.01", v_coarse, 0},
    {"-n u", v_micro, 0},      {"-M -U", v_unix, 0},
};

static void print_digest(FILE *out, const char *text, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t)text[i]) * 0x100000001b3ull;
        lines += text[i] == '\n';
    }
    fprintf(out, "%zu lines, fnv1a64 %016" PRIx64 "\n", lines, h);
}
#define NVARIANTS (sizeof variants / sizeof variants[0])

/* Every variant's output and status, one after the other. */
static char *render_all(FILE *fp, const char *name)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(out);
    for (size_t v = 0; v < NVARIANTS; v++) {
        owp_err err;
        owp_err_clear(&err);
        owp_file *f = owp_file_read(fp, name, &err);
        ck_assert_msg(f != NULL, "%s", err.msg);
        owp_report_opts o;
        owp_report_opts_default(&o);
        variants[v].set(&o);
        fprintf(out, "=== %s\n", variants[v].label);
        char *vtext = NULL;
        size_t vlen = 0;
        FILE *vout = variants[v].digest ? open_memstream(&vtext, &vlen) : out;
        ck_assert_ptr_nonnull(vout);
        owp_status st = owp_report_file(vout, f, "localhost", "localhost", &o, &err);
        if (variants[v].digest) {
            fclose(vout);
            print_digest(out, vtext, vlen);
            free(vtext);
        }
        fprintf(out, "=== status %d%s%s\n", (int)st, st ? " " : "", st ? err.msg : "");
        owp_file_destroy(&f);
    }
    fclose(out);
    return text;
}

/* The reference's -R line, by printf. */
static char *raw_oracle(const session *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(out);
    for (uint32_t i = 0; i < s->n; i++) {
        const owp_record *r = &s->a[i].rec;
        fprintf(out, "%lu %020" PRIu64 " %u %g %020" PRIu64 " %u %g %u\n", (unsigned long)r->seq,
                r->send_time, (unsigned)owp_errest_synchronized(r->send_err),
                owp_errest_seconds(r->send_err), r->recv_time,
                (unsigned)owp_errest_synchronized(r->recv_err), owp_errest_seconds(r->recv_err),
                (unsigned)r->ttl);
    }
    fclose(out);
    return text;
}

static char *render_raw(FILE *fp)
{
    owp_err err;
    owp_file *f = owp_file_read(fp, "raw", &err);
    ck_assert_msg(f != NULL, "%s", err.msg);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(out);
    owp_report_opts o;
    owp_report_opts_default(&o);
    o.raw = 1;
    ck_assert_int_eq(owp_report_file(out, f, NULL, NULL, &o, &err), OWP_OK);
    fclose(out);
    owp_file_destroy(&f);
    return text;
}

/* The first line where a and b differ, for the failure message. */
static void assert_same_text(const char *got, const char *want, const char *what)
{
    size_t i = 0, line = 1, bol = 0;
    while (got[i] && got[i] == want[i]) {
        if (got[i] == '\n')
            line++, bol = i + 1;
        i++;
    }
    if (!got[i] && !want[i])
        return;
    ck_abort_msg("%s: line %zu differs:\n got: %.120s\nwant: %.120s", what, line, got + bol,
                 want + bol);
}

static void write_text(const char *dir, const char *name, const char *ext, const void *data,
                       size_t len)
{
    char file[256];
    snprintf(file, sizeof file, "%s%s", name, ext);
    free(tu_write_file_n(dir, file, data, len));
}

static void dump_owp(const char *dir, const char *name, FILE *fp)
{
    size_t len;
    rewind(fp);
    char *buf = NULL;
    fseek(fp, 0, SEEK_END);
    len = (size_t)ftell(fp);
    rewind(fp);
    buf = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, len, fp), len);
    write_text(dir, name, ".owp", buf, len);
    free(buf);
}

/* The seed of session i: fixed, unless OWP_SYNTH_WRITE asks for others. */
static uint64_t session_seed(int i)
{
    const char *dir = getenv("OWP_SYNTH_WRITE"), *seed = getenv("OWP_SYNTH_SEED");
    uint64_t base = dir && *dir && seed ? strtoull(seed, NULL, 0) << 16 : 0x5eed0000u;
    return base + (uint64_t)i;
}

START_TEST(reports_match_before)
{
    const synth_spec *sp = &specs[_i];
    session s;
    make_session(sp, session_seed(_i), &s);
    FILE *fp = write_session(sp, &s);
    char *got = render_all(fp, sp->name);
    const char *dir = getenv("OWP_SYNTH_WRITE");
    if (dir && *dir) {
        write_text(dir, sp->name, ".txt", got, strlen(got));
        dump_owp(dir, sp->name, fp);
    } else {
        char rel[128];
        snprintf(rel, sizeof rel, "owstats-synth/%s.txt", sp->name);
        char *path = tu_vector_path(rel);
        char *want = tu_read_file(path, NULL);
        ck_assert_msg(want != NULL, "%s missing", path);
        assert_same_text(got, want, rel);
        free(want);
        free(path);
    }
    free(got);
    fclose(fp);
    free(s.a);
}
END_TEST

START_TEST(raw_is_printf)
{
    const synth_spec *sp = &specs[_i];
    session s;
    make_session(sp, session_seed(_i), &s);
    FILE *fp = write_session(sp, &s);
    char *got = render_raw(fp), *want = raw_oracle(&s);
    assert_same_text(got, want, sp->name);
    free(got);
    free(want);
    fclose(fp);
    free(s.a);
}
END_TEST

/* Random records, every field anywhere in its range: 30 000 lines, more
 * than one output buffer, every error-estimate form. */
START_TEST(raw_random_records_are_printf)
{
    synth_spec sp = specs[0];
    sp.finished = OWP_FINISHED_ERROR;
    session s = {0};
    s.req.ipvn = 4;
    s.req.nslots = 1;
    s.req.slots = sp.slots;
    s.req.npackets = 30000;
    uint64_t rs = 42;
    for (uint32_t i = 0; i < 30000; i++) {
        owp_record r = {0};
        r.seq = (uint32_t)splitmix64(&rs);
        r.send_err = random_errest(&rs);
        r.recv_err = random_errest(&rs);
        r.send_time = splitmix64(&rs);
        r.recv_time = random_u64_any_size(&rs);
        r.ttl = (uint8_t)splitmix64(&rs);
        if (i % 1000 == 0) { /* the extremes */
            r.seq = i % 3000 == 0 ? UINT32_MAX : 0;
            r.send_time = UINT64_MAX;
            r.recv_time = 0;
        }
        push(&s, i, &r);
    }
    FILE *fp = write_session(&sp, &s);
    char *got = render_raw(fp), *want = raw_oracle(&s);
    assert_same_text(got, want, "random records");
    free(got);
    free(want);
    fclose(fp);
    free(s.a);
}
END_TEST

/* -R to a stream that cannot be written: an error naming the output, not
 * silence. */
START_TEST(raw_write_error_is_reported)
{
    session s;
    make_session(&specs[NSPECS - 1], 1, &s);
    FILE *fp = write_session(&specs[NSPECS - 1], &s);
    owp_err err;
    owp_file *f = owp_file_read(fp, "tiny", &err);
    ck_assert_ptr_nonnull(f);
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        owp_report_opts o;
        owp_report_opts_default(&o);
        o.raw = 1;
        ck_assert_int_eq(owp_report_file(full, f, NULL, NULL, &o, &err), OWP_ERR_SYS);
        ck_assert_ptr_nonnull(strstr(err.msg, "writing raw records"));
        fclose(full);
    }
    owp_file_destroy(&f);
    fclose(fp);
    free(s.a);
}
END_TEST

static Suite *report_synth_suite(void)
{
    Suite *s = suite_create("report_synth");
    TCase *tc = tcase_create("synth");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, reports_match_before, 0, (int)NSPECS);
    tcase_add_loop_test(tc, raw_is_printf, 0, (int)NSPECS);
    tcase_add_test(tc, raw_random_records_are_printf);
    tcase_add_test(tc, raw_write_error_is_reported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    setenv("TZ", "UTC", 1); /* the summaries' first/last lines */
    tzset();
    return tu_run_suite(report_synth_suite());
}
