/* check_sendsched.c - RFC 4656 exponential generator and send schedules against
 * the reference's vectors (tests/vectors/schedule/), and owping -i parsing. */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sendsched.h"
#include "testutil.h"

#define DEVIATES "schedule/exp-deviates.json"
#define SCHEDULES "schedule/schedules.json"
#define OWTVEC "schedule/owtvec-output.txt"
#define OWTVEC_SEEDS 4

static json_t *items_of(json_t *root, const char *file)
{
    json_t *items = json_object_get(root, "items");
    ck_assert_msg(json_is_array(items) && json_array_size(items) > 0, "%s: no items", file);
    return items;
}

static uint64_t hex64_value(json_t *str)
{
    const char *s = json_string_value(str);
    ck_assert_msg(s != NULL && strlen(s) == 16, "expected a 16-digit hex string");
    uint8_t b[8];
    ck_assert_int_eq(tu_hex_decode(s, b, sizeof b), 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static owp_expgen *expgen_for(json_t *item)
{
    uint8_t seed[16];
    ck_assert_uint_eq(tu_json_hex(item, "seed", seed, sizeof seed), 16);
    owp_err err;
    owp_expgen *gen = owp_expgen_new(seed, &err);
    ck_assert_msg(gen != NULL, "owp_expgen_new: %s", err.msg);
    return gen;
}

/* ---------------------------------------------------------------- deviates */

START_TEST(first_64_deviates_match_reference)
{
    json_t *root = tu_load_json(DEVIATES);
    size_t i;
    json_t *item;
    json_array_foreach(items_of(root, DEVIATES), i, item) {
        owp_expgen *gen = expgen_for(item);
        json_t *values = json_object_get(item, "first_64_values");
        ck_assert_uint_eq(json_array_size(values), 64);
        owp_num64 sum = 0;
        size_t n;
        json_t *v;
        json_array_foreach(values, n, v) {
            owp_num64 got = owp_expgen_next(gen);
            ck_assert_msg(got == hex64_value(v), "seed %zu deviate %zu: got %016" PRIx64, i, n, got);
            sum += got;
        }
        ck_assert_uint_eq(sum, tu_json_hex64(item, "sum_first_64"));
        ck_assert_int_eq(owp_expgen_failed(gen), 0);
        owp_expgen_destroy(&gen);
        ck_assert_ptr_null(gen);
    }
    json_decref(root);
}
END_TEST

/* Values and running sums after 1, 10, ..., 1,000,000 draws. Returns the final sum. */
static owp_num64 walk_checkpoints(json_t *item, size_t index)
{
    owp_expgen *gen = expgen_for(item);
    json_t *checkpoints = json_object_get(item, "checkpoints");
    ck_assert(json_array_size(checkpoints) > 0);
    owp_num64 sum = 0, value = 0;
    json_int_t drawn = 0;
    size_t c;
    json_t *cp;
    json_array_foreach(checkpoints, c, cp) {
        json_int_t n = json_integer_value(json_object_get(cp, "n"));
        ck_assert_int_gt(n, drawn);
        for (; drawn < n; drawn++) {
            value = owp_expgen_next(gen);
            sum += value;
        }
        ck_assert_msg(value == hex64_value(json_object_get(cp, "value")), "seed %zu n=%lld: value %016" PRIx64,
                      index, (long long)n, value);
        ck_assert_msg(sum == hex64_value(json_object_get(cp, "sum")), "seed %zu n=%lld: sum %016" PRIx64, index,
                      (long long)n, sum);
    }
    ck_assert_int_eq(drawn, 1000000);
    owp_expgen_destroy(&gen);
    return sum;
}

/* owtvec's "FINAL SUM[i]: 0x..., EXPECTED_SUM[i]: 0x..." lines: the RFC's sums. */
static void rfc_expected_sums(owp_num64 expected[OWTVEC_SEEDS])
{
    char *path = tu_vector_path(OWTVEC);
    char *text = tu_read_file(path, NULL);
    int found = 0;
    for (const char *p = strstr(text, "EXPECTED_SUM["); p; p = strstr(p + 1, "EXPECTED_SUM[")) {
        unsigned idx;
        unsigned long long v;
        ck_assert_int_eq(sscanf(p, "EXPECTED_SUM[%u]: 0x%llx", &idx, &v), 2);
        ck_assert_uint_lt(idx, OWTVEC_SEEDS);
        expected[idx] = v;
        found++;
    }
    ck_assert_int_eq(found, OWTVEC_SEEDS);
    free(text);
    free(path);
}

START_TEST(million_draw_checkpoints_match_reference_and_rfc)
{
    owp_num64 rfc[OWTVEC_SEEDS];
    rfc_expected_sums(rfc);
    json_t *root = tu_load_json(DEVIATES);
    json_t *items = items_of(root, DEVIATES);
    ck_assert_uint_eq(json_array_size(items), OWTVEC_SEEDS);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        owp_num64 sum = walk_checkpoints(item, i);
        ck_assert_msg(sum == rfc[i], "seed %zu: final sum %016" PRIx64 " is not the RFC's %016" PRIx64, i, sum,
                      rfc[i]);
    }
    json_decref(root);
}
END_TEST

START_TEST(expgen_rejects_bad_arguments)
{
    owp_err err;
    ck_assert_ptr_null(owp_expgen_new(NULL, &err));
    ck_assert_int_eq(err.code, OWP_ERR_INVALID);
    ck_assert_ptr_null(owp_expgen_new(NULL, NULL));
    owp_expgen *none = NULL;
    owp_expgen_destroy(&none);
    owp_expgen_destroy(NULL);
    ck_assert_uint_eq(owp_expgen_next(NULL), (owp_num64)1 << 32);
}
END_TEST

/* ---------------------------------------------------------------- schedules */

static owp_slot *slots_of(json_t *item, uint32_t *nslots)
{
    json_t *arr = json_object_get(item, "slots");
    size_t n = json_array_size(arr);
    ck_assert_uint_gt(n, 0);
    owp_slot *slots = calloc(n, sizeof *slots);
    ck_assert_ptr_nonnull(slots);
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        const char *type = json_string_value(json_object_get(s, "type"));
        ck_assert_ptr_nonnull(type);
        ck_assert_msg(!strcmp(type, "exp") || !strcmp(type, "fixed"), "unknown slot type %s", type);
        slots[i].type = strcmp(type, "exp") == 0 ? OWP_SLOT_EXP : OWP_SLOT_FIXED;
        slots[i].value = tu_json_hex64(s, "value");
    }
    *nslots = (uint32_t)n;
    return slots;
}

static owp_sched *sched_for(json_t *item, uint32_t *nslots_out)
{
    uint8_t sid[16];
    ck_assert_uint_eq(tu_json_hex(item, "sid", sid, sizeof sid), 16);
    uint32_t nslots;
    owp_slot *slots = slots_of(item, &nslots);
    owp_err err;
    owp_sched *sched = owp_sched_new(sid, slots, nslots, &err);
    ck_assert_msg(sched != NULL, "owp_sched_new: %s", err.msg);
    free(slots); /* the schedule keeps its own copy */
    if (nslots_out)
        *nslots_out = nslots;
    return sched;
}

/* Row i: [seq, delta, cumulative offset, start + offset]. */
static uint64_t row_field(json_t *packets, size_t row, size_t field)
{
    return hex64_value(json_array_get(json_array_get(packets, row), field));
}

START_TEST(every_schedule_row_matches_reference)
{
    json_t *root = tu_load_json(SCHEDULES);
    size_t c;
    json_t *item;
    int cases = 0;
    json_array_foreach(items_of(root, SCHEDULES), c, item) {
        owp_sched *sched = sched_for(item, NULL);
        owp_num64 start = tu_json_hex64(item, "start_time");
        json_t *packets = json_object_get(item, "packets");
        json_int_t npackets = json_integer_value(json_object_get(item, "npackets"));
        ck_assert_int_eq((json_int_t)json_array_size(packets), npackets);

        owp_num64 offset = 0;
        for (size_t r = 0; r < json_array_size(packets); r++) {
            json_t *row = json_array_get(packets, r);
            ck_assert_int_eq(json_integer_value(json_array_get(row, 0)), (json_int_t)r);
            owp_num64 delta = owp_sched_next_delta(sched);
            offset += delta;
            ck_assert_msg(delta == row_field(packets, r, 1), "case %zu seq %zu: delta %016" PRIx64, c, r, delta);
            ck_assert_msg(offset == row_field(packets, r, 2), "case %zu seq %zu: offset", c, r);
            ck_assert_msg(start + offset == row_field(packets, r, 3), "case %zu seq %zu: time", c, r);
        }
        ck_assert_int_eq(owp_sched_failed(sched), 0);
        owp_sched_destroy(&sched);
        ck_assert_ptr_null(sched);
        cases++;
    }
    ck_assert_int_eq(cases, 6);
    json_decref(root);
}
END_TEST

START_TEST(offsets_by_seq_forward_backward_and_mixed)
{
    json_t *root = tu_load_json(SCHEDULES);
    size_t c;
    json_t *item;
    json_array_foreach(items_of(root, SCHEDULES), c, item) {
        owp_sched *sched = sched_for(item, NULL);
        json_t *packets = json_object_get(item, "packets");
        uint32_t n = (uint32_t)json_array_size(packets);

        /* Backwards: every call restarts the walk. */
        for (uint32_t r = n; r-- > 0;)
            ck_assert_msg(owp_sched_offset(sched, r) == row_field(packets, r, 2), "case %zu back %u", c, r);
        /* Strided forward jumps, repeated seqs, then a restart. */
        for (uint32_t r = 0; r < n; r += 7) {
            ck_assert_uint_eq(owp_sched_offset(sched, r), row_field(packets, r, 2));
            ck_assert_uint_eq(owp_sched_offset(sched, r), row_field(packets, r, 2));
        }
        ck_assert_uint_eq(owp_sched_offset(sched, 0), row_field(packets, 0, 2));
        /* next_delta continues the same walk: after seq 0 comes delta_1. */
        if (n > 1)
            ck_assert_uint_eq(owp_sched_next_delta(sched), row_field(packets, 1, 1));
        owp_sched_destroy(&sched);
    }
    json_decref(root);
}
END_TEST

START_TEST(slot_values_parse_like_the_reference)
{
    /* The -i strings behind the vector cases give the stored 32.32 values. */
    struct {
        const char *spec;
        uint32_t n;
        owp_slot want[3];
    } cases[] = {
        { "0.05", 1, { { OWP_SLOT_EXP, 0x0ccccccc } } },
        { "0.1e", 1, { { OWP_SLOT_EXP, 0x19999999 } } },
        { "0.001", 1, { { OWP_SLOT_EXP, 0x00418937 } } },
        { "0.005E", 1, { { OWP_SLOT_EXP, 0x0147ae14 } } },
        { "0.5f", 1, { { OWP_SLOT_FIXED, 0x80000000 } } },
        { "0.01f,0.03e,0.02F", 3,
          { { OWP_SLOT_FIXED, 0x028f5c28 }, { OWP_SLOT_EXP, 0x07ae147a }, { OWP_SLOT_FIXED, 0x051eb851 } } },
        { "1.0e,0f", 2, { { OWP_SLOT_EXP, 0x100000000ULL }, { OWP_SLOT_FIXED, 0 } } },
        { "-0.5", 1, { { OWP_SLOT_EXP, 0 } } }, /* negatives are not rejected */
        { "2.5e-1f", 1, { { OWP_SLOT_FIXED, 0x40000000 } } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        owp_slot *slots = NULL;
        uint32_t n = 0;
        owp_err err;
        ck_assert_msg(owp_slots_parse(cases[i].spec, &slots, &n, &err) == OWP_OK, "%s: %s", cases[i].spec,
                      err.msg);
        ck_assert_uint_eq(n, cases[i].n);
        for (uint32_t k = 0; k < n; k++) {
            ck_assert_msg(slots[k].type == cases[i].want[k].type, "%s slot %u type", cases[i].spec, k);
            ck_assert_msg(slots[k].value == cases[i].want[k].value, "%s slot %u value %016" PRIx64, cases[i].spec,
                          k, slots[k].value);
        }
        free(slots);
    }
}
END_TEST

START_TEST(slot_parse_errors_use_reference_wording)
{
    struct {
        const char *spec;
        const char *msg;
    } cases[] = {
        { "abc", "Invalid numeric value (abc) for schedule" },
        { "0.1,x", "Invalid numeric value (x) for schedule" },
        { "e", "Invalid numeric value (e) for schedule" },
        { "nan", "Invalid numeric value (nan) for schedule" },
        { "inf", "Invalid numeric value (inf) for schedule" },
        { "5e9", "Invalid numeric value (5e9) for schedule" },
        { "0.1x", "Invalid slot type (x) for schedule" },
        { "0.1ef", "Invalid slot type (ef) for schedule" },
        { "0.1 ", "Invalid slot type ( ) for schedule" },
        { "0.1,0.2g", "Invalid slot type (g) for schedule" },
        { "", "Unable to parse schedule specification" },
        { ",", "Unable to parse schedule specification" },
        { "0.1,,0.2", "Unable to parse schedule specification" },
        { ",0.1", "Unable to parse schedule specification" },
        { "0.1,", "Unable to parse schedule specification" },
        /* Elements are checked in order before the count is. */
        { "0.1,,zz", "Invalid numeric value (zz) for schedule" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        owp_slot *slots = (owp_slot *)&cases; /* must stay untouched */
        uint32_t n = 77;
        owp_err err;
        ck_assert_msg(owp_slots_parse(cases[i].spec, &slots, &n, &err) == OWP_ERR_PARSE, "\"%s\" accepted",
                      cases[i].spec);
        ck_assert_str_eq(err.msg, cases[i].msg);
        ck_assert_ptr_eq(slots, (owp_slot *)&cases);
        ck_assert_uint_eq(n, 77);
    }
    owp_slot *slots = NULL;
    uint32_t n = 0;
    ck_assert_int_eq(owp_slots_parse(NULL, &slots, &n, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_slots_parse("0.1", NULL, &n, NULL), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_slots_parse("0.1", &slots, NULL, NULL), OWP_ERR_INVALID);
}
END_TEST

START_TEST(long_slot_lists)
{
    enum { N = 5000 };
    char *spec = malloc(N * 6 + 1);
    ck_assert_ptr_nonnull(spec);
    char *p = spec;
    for (int i = 0; i < N; i++)
        p += sprintf(p, "%s%df", i ? "," : "", i % 10);
    owp_slot *slots = NULL;
    uint32_t n = 0;
    ck_assert_int_eq(owp_slots_parse(spec, &slots, &n, NULL), OWP_OK);
    ck_assert_uint_eq(n, N);
    ck_assert_uint_eq(slots[N - 1].value, (owp_num64)((N - 1) % 10) << 32);
    ck_assert(fabs(owp_slots_mean_interval(slots, n) - 4.5) < 1e-9);
    free(slots);
    free(spec);
}
END_TEST

START_TEST(mean_interval)
{
    owp_slot *slots = NULL;
    uint32_t n = 0;
    ck_assert_int_eq(owp_slots_parse("0.01f,0.03e,0.02f", &slots, &n, NULL), OWP_OK);
    ck_assert(fabs(owp_slots_mean_interval(slots, n) - 0.02) < 1e-9);
    free(slots);
    ck_assert(owp_slots_mean_interval(NULL, 0) == 0.0);
}
END_TEST

START_TEST(fixed_slots_draw_nothing)
{
    /* Interleaving fixed slots must not disturb the exponential stream: the
     * exp deltas of "1e,0.5f" are exactly the unit deviates of the SID. */
    uint8_t sid[16] = { 0x28, 0x72, 0x97, 0x93, 0x03, 0xab, 0x47, 0xee,
                        0xac, 0x02, 0x8d, 0xab, 0x38, 0x29, 0xda, 0xb2 };
    owp_slot slots[2] = { { OWP_SLOT_EXP, (owp_num64)1 << 32 }, { OWP_SLOT_FIXED, 0x80000000 } };
    owp_sched *sched = owp_sched_new(sid, slots, 2, NULL);
    owp_expgen *gen = owp_expgen_new(sid, NULL);
    ck_assert_ptr_nonnull(sched);
    ck_assert_ptr_nonnull(gen);
    /* The RFC's first seed: its first deviate is 0x6d27e540 (exp-deviates.json). */
    ck_assert_uint_eq(owp_sched_next_delta(sched), 0x6d27e540);
    ck_assert_uint_eq(owp_expgen_next(gen), 0x6d27e540);
    ck_assert_uint_eq(owp_sched_next_delta(sched), 0x80000000);
    for (int i = 0; i < 1000; i++) {
        ck_assert_uint_eq(owp_sched_next_delta(sched), owp_expgen_next(gen));
        ck_assert_uint_eq(owp_sched_next_delta(sched), 0x80000000);
    }
    owp_expgen_destroy(&gen);
    owp_sched_destroy(&sched);
}
END_TEST

START_TEST(sched_rejects_bad_arguments)
{
    uint8_t sid[16] = { 0 };
    owp_slot ok = { OWP_SLOT_EXP, 0x19999999 };
    owp_slot bad = { (owp_slot_type)7, 0 };
    owp_err err;
    ck_assert_ptr_null(owp_sched_new(NULL, &ok, 1, &err));
    ck_assert_int_eq(err.code, OWP_ERR_INVALID);
    ck_assert_ptr_null(owp_sched_new(sid, NULL, 1, &err));
    ck_assert_ptr_null(owp_sched_new(sid, &ok, 0, &err));
    ck_assert_ptr_null(owp_sched_new(sid, &bad, 1, &err));
    ck_assert_int_eq(err.code, OWP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "slot 0"));
    owp_sched *none = NULL;
    owp_sched_destroy(&none);
    owp_sched_destroy(NULL);
    ck_assert_uint_eq(owp_sched_next_delta(NULL), 0);
    ck_assert_uint_eq(owp_sched_offset(NULL, 3), 0);
    ck_assert_int_eq(owp_sched_failed(NULL), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schedule");

    TCase *dev = tcase_create("deviates");
    tcase_set_timeout(dev, 30); /* a million draws per seed; well under a second unsanitized */
    tcase_add_test(dev, first_64_deviates_match_reference);
    tcase_add_test(dev, million_draw_checkpoints_match_reference_and_rfc);
    tcase_add_test(dev, expgen_rejects_bad_arguments);
    suite_add_tcase(s, dev);

    TCase *sched = tcase_create("schedules");
    tcase_add_test(sched, every_schedule_row_matches_reference);
    tcase_add_test(sched, offsets_by_seq_forward_backward_and_mixed);
    tcase_add_test(sched, fixed_slots_draw_nothing);
    tcase_add_test(sched, sched_rejects_bad_arguments);
    suite_add_tcase(s, sched);

    TCase *slots = tcase_create("slots");
    tcase_add_test(slots, slot_values_parse_like_the_reference);
    tcase_add_test(slots, slot_parse_errors_use_reference_wording);
    tcase_add_test(slots, long_slot_lists);
    tcase_add_test(slots, mean_interval);
    suite_add_tcase(s, slots);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
