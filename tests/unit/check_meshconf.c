/* check_meshconf.c - mesh definitions: every shipped example loads with its
 * expected streams (golden `owmesh check` output), each group type, powstream
 * defaults, duplicate collapse, the pSConfig mapping, stable stream ids, and
 * broken inputs whose errors name the exact JSON path. Slightly over our
 * ~800-line rule: every group type and mapping rule has its own small case,
 * and they share one mesh-text vocabulary (THREE_NODES, ONE_TEST, ...). */
#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curve.h"
#include "meshconf.h"
#include "testpkt.h"
#include "testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define ALL_MODES (OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED)
#define EXAMPLES_DIR VECTORS_DIR "/../../mesh-configs"

/* ------------------------------------------------------------ helpers */

static owm_mesh *parse_ok(const char *text)
{
    owp_err e = {0};
    owm_mesh *m = owm_mesh_parse(text, strlen(text), "inline.json", &e);
    ck_assert_msg(m != NULL, "parse failed: %s", e.msg);
    return m;
}

static void parse_fails(const char *text, const char *expected_msg)
{
    owp_err e = {0};
    owm_mesh *m = owm_mesh_parse(text, strlen(text), "inline.json", &e);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(e.code, OWP_ERR_PARSE);
    ck_assert_str_eq(e.msg, expected_msg);
}

/* The `owmesh check` output of a mesh, as one malloc'd string. */
static char *check_output(const owm_mesh *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(fp);
    owp_err e = {0};
    ck_assert_int_eq(owm_mesh_print_streams(m, fp, &e), OWP_OK);
    fclose(fp);
    return buf;
}

/* Warnings joined by newlines, with the source path replaced by FILE. */
static char *warnings_text(const owm_mesh *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(fp);
    size_t srclen = strlen(owm_mesh_source(m));
    for (size_t i = 0; i < owm_mesh_warning_count(m); i++) {
        const char *w = owm_mesh_warning(m, i);
        ck_assert(!strncmp(w, owm_mesh_source(m), srclen));
        fprintf(fp, "FILE%s\n", w + srclen);
    }
    fclose(fp);
    return buf;
}

static char *read_text(const char *path)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    return text;
}

/* Compare a mesh's output (and warnings) with NAME.out (and NAME.warn,
 * absent meaning none). */
static void assert_golden(const owm_mesh *m, const char *golden_base)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.out", golden_base);
    char *want = read_text(path), *got = check_output(m);
    ck_assert_str_eq(got, want);
    free(want);
    free(got);

    snprintf(path, sizeof path, "%s.warn", golden_base);
    FILE *fp = fopen(path, "r");
    want = fp ? read_text(path) : strdup("");
    if (fp)
        fclose(fp);
    got = warnings_text(m);
    ck_assert_str_eq(got, want);
    free(want);
    free(got);
}

static const owm_stream *find_stream(const owm_mesh *m, const char *src, const char *dst,
                                     const char *task)
{
    const owm_stream *s = owm_mesh_streams(m);
    for (size_t i = 0; i < owm_mesh_stream_count(m); i++)
        if (!strcmp(s[i].src->name, src) && !strcmp(s[i].dst->name, dst) &&
            (!task || !strcmp(s[i].task, task)))
            return &s[i];
    return NULL;
}

static void assert_params_eq(const owm_test_params *a, const owm_test_params *b)
{
    ck_assert_double_eq(a->packet_interval, b->packet_interval);
    ck_assert_uint_eq(a->packet_count, b->packet_count);
    ck_assert_uint_eq(a->packet_padding, b->packet_padding);
    ck_assert_double_eq(a->loss_timeout, b->loss_timeout);
    ck_assert_double_eq(a->bucket_width, b->bucket_width);
    ck_assert_uint_eq(a->sub_session_count, b->sub_session_count);
    ck_assert_uint_eq(a->dscp, b->dscp);
    ck_assert_uint_eq(a->auth_modes, b->auth_modes);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* ------------------------------------------------------------ examples */

static const struct {
    const char *file;
    size_t nodes, streams, warnings;
    owm_mesh_format format;
} EXAMPLES[] = {
    {"demo-3node.json", 3, 6, 0, OWM_MESH_NATIVE},
    {"two-site-disjoint.json", 5, 16, 0, OWM_MESH_NATIVE},
    {"large-20node.json", 20, 444, 0, OWM_MESH_NATIVE},
    {"psconfig-latencybg.json", 5, 8, 4, OWM_MESH_PSCONFIG},
};

/* Every file in mesh-configs/ loads, has the expected counts and exactly
 * the golden check output: a new example cannot be added untested. */
START_TEST(every_example_loads)
{
    DIR *d = opendir(EXAMPLES_DIR);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    size_t seen = 0;
    while ((de = readdir(d))) {
        if (!has_suffix(de->d_name, ".json"))
            continue;
        size_t k = 0;
        while (k < N_ELEMS(EXAMPLES) && strcmp(EXAMPLES[k].file, de->d_name))
            k++;
        ck_assert_msg(k < N_ELEMS(EXAMPLES), "mesh-configs/%s has no expectations here",
                      de->d_name);
        char path[4096], golden[4096];
        snprintf(path, sizeof path, "%s/%s", EXAMPLES_DIR, de->d_name);
        owp_err e = {0};
        owm_mesh *m = owm_mesh_load(path, &e);
        ck_assert_msg(m != NULL, "%s", e.msg);
        ck_assert_uint_eq(owm_mesh_node_count(m), EXAMPLES[k].nodes);
        ck_assert_uint_eq(owm_mesh_stream_count(m), EXAMPLES[k].streams);
        ck_assert_uint_eq(owm_mesh_warning_count(m), EXAMPLES[k].warnings);
        ck_assert_int_eq(owm_mesh_get_format(m), EXAMPLES[k].format);
        ck_assert_str_eq(owm_mesh_source(m), path);
        snprintf(golden, sizeof golden, "%s/mesh/examples/%.*s", VECTORS_DIR,
                 (int)(strlen(de->d_name) - 5), de->d_name);
        assert_golden(m, golden);
        owm_mesh_destroy(&m);
        ck_assert_ptr_null(m);
        seen++;
    }
    closedir(d);
    ck_assert_uint_eq(seen, N_ELEMS(EXAMPLES));
}
END_TEST

START_TEST(demo_nodes_and_params)
{
    owp_err e = {0};
    owm_mesh *m = owm_mesh_load(EXAMPLES_DIR "/demo-3node.json", &e);
    ck_assert_ptr_nonnull(m);
    const owm_node *a = owm_mesh_node(m, 0), *c = owm_mesh_node_find(m, "charlie");
    ck_assert_str_eq(a->name, "alpha");
    ck_assert_str_eq(a->host, "127.0.0.2");
    ck_assert_uint_eq(a->owamp_port, 8610);
    ck_assert_str_eq(a->data_endpoint, "tcp://127.0.0.2:5560");
    ck_assert_ptr_null(a->public_key);
    ck_assert_str_eq(c->address, "127.0.0.4:8610");
    ck_assert_str_eq(c->host, "127.0.0.4");
    ck_assert_uint_eq(c->owamp_port, 8610); /* from the address this time */
    ck_assert_uint_eq(c->index, 2);
    ck_assert_ptr_null(owm_mesh_node(m, 3));
    ck_assert_ptr_null(owm_mesh_node_find(m, "delta"));
    ck_assert_ptr_null(owm_mesh_node_find(m, NULL));

    const owm_stream *s = find_stream(m, "bravo", "charlie", "demo-owd");
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->test, "owd-10pps");
    ck_assert_double_eq(s->params.packet_interval, 0.1);
    ck_assert_uint_eq(s->params.packet_count, 600);
    ck_assert_uint_eq(s->params.sub_session_count, 60);
    ck_assert_double_eq(s->params.loss_timeout, 10);
    ck_assert_double_eq(s->params.bucket_width, 0.0001);
    char line[512];
    owm_stream_format(s, line, sizeof line);
    ck_assert_str_eq(line, "bravo -> charlie  interval=0.1 count=600 padding=0 loss-timeout=10 "
                           "bucket-width=0.0001 sub-sessions=60 dscp=0 auth=AEO task=demo-owd");
    char server[64];
    owm_node_format_server(c, server, sizeof server);
    ck_assert_str_eq(server, "127.0.0.4:8610");
    owm_mesh_destroy(&m);
    owm_mesh_destroy(&m); /* NULL: a no-op */
    owm_mesh_destroy(NULL);
}
END_TEST

START_TEST(two_site_keys_and_dscp_names)
{
    owp_err e = {0};
    owm_mesh *m = owm_mesh_load(EXAMPLES_DIR "/two-site-disjoint.json", &e);
    ck_assert_ptr_nonnull(m);
    const owm_node *chi2 = owm_mesh_node_find(m, "chi2");
    ck_assert_str_eq(chi2->public_key, "ZvIP1Li>R!r*t:t>T^KSr}dfg>U=k@P*RkG@aQE6");
    ck_assert_ptr_eq(owm_mesh_node_by_key(m, chi2->public_key), chi2);
    ck_assert_ptr_null(owm_mesh_node_by_key(m, "0000000000000000000000000000000000000000"));
    const owm_stream *wan = find_stream(m, "chi3", "nyc2", NULL);
    ck_assert_uint_eq(wan->params.dscp, 34); /* "AF41" */
    ck_assert_uint_eq(wan->params.auth_modes, ALL_MODES);
    ck_assert_ptr_null(find_stream(m, "nyc1", "chi1", "lan"));
    ck_assert_ptr_nonnull(find_stream(m, "chi2", "chi1", "lan"));
    owm_mesh_destroy(&m);
}
END_TEST

/* ------------------------------------------------------------ expansion */

#define THREE_NODES "\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, " \
                    "\"b\": {\"address\": \"127.0.0.3\"}, \"c\": {\"address\": \"127.0.0.4\"}}"
#define ONE_TEST "\"tests\": {\"t\": {\"type\": \"latencybg\"}}"

static void assert_pairs(const owm_mesh *m, const char *const *pairs, size_t n)
{
    ck_assert_uint_eq(owm_mesh_stream_count(m), n);
    for (size_t i = 0; i < n; i++) {
        char got[64];
        const owm_stream *s = &owm_mesh_streams(m)[i];
        snprintf(got, sizeof got, "%s>%s", s->src->name, s->dst->name);
        ck_assert_str_eq(got, pairs[i]);
    }
}

START_TEST(group_mesh_every_ordered_pair)
{
    owm_mesh *m = parse_ok("{" THREE_NODES ", " ONE_TEST ", \"groups\": {\"g\": {\"type\": "
                           "\"mesh\", \"nodes\": [\"c\", \"a\", \"b\"]}}, \"tasks\": {\"x\": "
                           "{\"group\": \"g\", \"test\": \"t\"}}}");
    const char *const want[] = {"c>a", "c>b", "a>c", "a>b", "b>c", "b>a"};
    assert_pairs(m, want, N_ELEMS(want));
    owm_mesh_destroy(&m);
}
END_TEST

/* A disjoint group a | b, c with extra keys (a JSON fragment) in the group. */
#define DISJOINT_MESH(extra)                                                                    \
    "{" THREE_NODES ", " ONE_TEST ", \"groups\": {\"g\": {\"type\": \"disjoint\", "             \
    "\"a-nodes\": [\"a\"], \"b-nodes\": [\"b\", \"c\"]" extra "}}, "                           \
    "\"tasks\": {\"x\": {\"group\": \"g\", \"test\": \"t\"}}}"

START_TEST(group_disjoint_both_ways_and_unidirectional)
{
    owm_mesh *m = parse_ok(DISJOINT_MESH(""));
    const char *const both[] = {"a>b", "a>c", "b>a", "c>a"};
    assert_pairs(m, both, N_ELEMS(both));
    owm_mesh_destroy(&m);

    m = parse_ok(DISJOINT_MESH(", \"unidirectional\": true"));
    const char *const one_way[] = {"a>b", "a>c"};
    assert_pairs(m, one_way, N_ELEMS(one_way));
    owm_mesh_destroy(&m);

    m = parse_ok(DISJOINT_MESH(", \"unidirectional\": false"));
    assert_pairs(m, both, N_ELEMS(both));
    owm_mesh_destroy(&m);

    /* A node on both sides never measures to itself. */
    m = parse_ok("{" THREE_NODES ", " ONE_TEST ", \"groups\": {\"g\": {\"type\": \"disjoint\", "
                 "\"a-nodes\": [\"a\", \"b\"], \"b-nodes\": [\"b\"]}}, \"tasks\": {\"x\": "
                 "{\"group\": \"g\", \"test\": \"t\"}}}");
    const char *const overlap[] = {"a>b", "b>a"};
    assert_pairs(m, overlap, N_ELEMS(overlap));
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(group_list_explicit_pairs)
{
    owm_mesh *m = parse_ok("{" THREE_NODES ", " ONE_TEST ", \"groups\": {\"g\": {\"type\": "
                           "\"list\", \"pairs\": [[\"c\", \"a\"], [\"a\", \"b\"], [\"c\", "
                           "\"a\"]]}}, \"tasks\": {\"x\": {\"group\": \"g\", \"test\": \"t\"}}}");
    const char *const want[] = {"c>a", "a>b"}; /* the repeated pair collapses */
    assert_pairs(m, want, N_ELEMS(want));
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(no_tasks_no_streams)
{
    owm_mesh *m = parse_ok("{" THREE_NODES "}");
    ck_assert_uint_eq(owm_mesh_node_count(m), 3);
    ck_assert_uint_eq(owm_mesh_stream_count(m), 0);
    char *out = check_output(m);
    ck_assert_str_eq(out, "");
    free(out);
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(defaults_are_powstreams)
{
    owm_test_params d;
    owm_test_params_default(&d);
    ck_assert_double_eq(d.packet_interval, 0.1); /* -i */
    ck_assert_uint_eq(d.packet_count, 300);      /* -c */
    ck_assert_uint_eq(d.packet_padding, 0);      /* -s */
    ck_assert_double_eq(d.loss_timeout, 10);     /* -L */
    ck_assert_double_eq(d.bucket_width, 0.0001); /* -b */
    ck_assert_uint_eq(d.dscp, 0);                /* -D */
    ck_assert_uint_eq(d.auth_modes, ALL_MODES);  /* -A AEO */

    char *path = tu_vector_path("mesh/defaults.json");
    owp_err e = {0};
    owm_mesh *m = owm_mesh_load(path, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_uint_eq(owm_mesh_stream_count(m), 2);
    const owm_stream *s = owm_mesh_streams(m);
    d.sub_session_count = 300; /* -N defaults to -c: no sub-sessions */
    assert_params_eq(&s[0].params, &d);
    assert_params_eq(&s[1].params, &d);
    ck_assert_str_eq(s[1].src->host, "::1");
    ck_assert_uint_eq(s[1].src->owamp_port, OWM_OWAMP_PORT);
    char server[64];
    owm_node_format_server(s[1].src, server, sizeof server);
    ck_assert_str_eq(server, "[::1]:861");
    char golden[4096];
    snprintf(golden, sizeof golden, "%s/mesh/defaults", VECTORS_DIR);
    assert_golden(m, golden);
    owm_mesh_destroy(&m);
    free(path);
}
END_TEST

START_TEST(duplicates_collapse_different_params_do_not)
{
    char *path = tu_vector_path("mesh/duplicates.json");
    owp_err e = {0};
    owm_mesh *m = owm_mesh_load(path, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    /* all: 6 pairs; a-to-bc repeats a>b and a>c with equal parameters
     * (another test name, explicit defaults); owd-ef on a>b is its own. */
    ck_assert_uint_eq(owm_mesh_stream_count(m), 7);
    const owm_stream *plain = find_stream(m, "a", "b", "t1");
    const owm_stream *ef = find_stream(m, "a", "b", "t3");
    ck_assert_ptr_nonnull(plain);
    ck_assert_ptr_nonnull(ef);
    ck_assert_ptr_null(find_stream(m, "a", "b", "t2"));
    ck_assert_ptr_null(find_stream(m, "a", "c", "t2"));
    ck_assert_str_ne(plain->id, ef->id);
    ck_assert_uint_eq(ef->params.dscp, 46);
    char golden[4096];
    snprintf(golden, sizeof golden, "%s/mesh/duplicates", VECTORS_DIR);
    assert_golden(m, golden);
    owm_mesh_destroy(&m);
    free(path);
}
END_TEST

/* ------------------------------------------------------------ stream ids */

static bool is_hex_id(const char *id)
{
    if (strlen(id) != OWM_STREAM_ID_LEN)
        return false;
    for (const char *s = id; *s; s++)
        if (!strchr("0123456789abcdef", *s))
            return false;
    return true;
}

START_TEST(stream_ids_are_stable_and_distinct)
{
    owp_err e = {0};
    owm_mesh *m1 = owm_mesh_load(EXAMPLES_DIR "/large-20node.json", &e);
    owm_mesh *m2 = owm_mesh_load(EXAMPLES_DIR "/large-20node.json", &e);
    ck_assert_ptr_nonnull(m1);
    ck_assert_ptr_nonnull(m2);
    const owm_stream *s1 = owm_mesh_streams(m1), *s2 = owm_mesh_streams(m2);
    for (size_t i = 0; i < owm_mesh_stream_count(m1); i++) {
        ck_assert(is_hex_id(s1[i].id));
        ck_assert_str_eq(s1[i].id, s2[i].id);
        ck_assert_ptr_eq(owm_mesh_stream_find(m1, s1[i].id), &s1[i]);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(s1[i].id, s1[j].id);
    }
    ck_assert_ptr_null(owm_mesh_stream_find(m1, "00000000000000000000000000000000"));
    ck_assert_ptr_null(owm_mesh_stream_find(m1, NULL));
    owm_mesh_destroy(&m1);
    owm_mesh_destroy(&m2);
}
END_TEST

/* Renaming tasks and tests or reordering the file keeps every id; changing
 * what a stream does (a parameter, an address) changes its id. */
START_TEST(stream_ids_ignore_names_and_order)
{
    owm_mesh *before = parse_ok(
        "{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": \"127.0.0.3\"}},"
        " \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", \"b\"]}},"
        " \"tests\": {\"t\": {\"type\": \"latencybg\", \"packet-count\": 600}},"
        " \"tasks\": {\"x\": {\"group\": \"g\", \"test\": \"t\"}}}");
    owm_mesh *renamed = parse_ok(
        "{\"tasks\": {\"renamed\": {\"test\": \"t2\", \"group\": \"g2\"}},"
        " \"tests\": {\"t2\": {\"packet-count\": 600, \"type\": \"latencybg\"}},"
        " \"groups\": {\"g2\": {\"type\": \"list\", \"pairs\": [[\"b\", \"a\"], [\"a\", \"b\"]]}},"
        " \"nodes\": {\"b\": {\"address\": \"127.0.0.3:861\"}, \"a\": {\"address\": \"127.0.0.2\"}}}");
    owm_mesh *changed = parse_ok(
        "{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": \"127.0.0.9\"}},"
        " \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", \"b\"]}},"
        " \"tests\": {\"t\": {\"type\": \"latencybg\", \"packet-count\": 600, \"dscp\": 1}},"
        " \"tasks\": {\"x\": {\"group\": \"g\", \"test\": \"t\"}}}");
    const owm_stream *ab = find_stream(before, "a", "b", NULL);
    const owm_stream *ba = find_stream(before, "b", "a", NULL);
    ck_assert_str_eq(find_stream(renamed, "a", "b", NULL)->id, ab->id);
    ck_assert_str_eq(find_stream(renamed, "b", "a", NULL)->id, ba->id);
    ck_assert_str_ne(ab->id, ba->id);
    ck_assert_str_ne(find_stream(changed, "a", "b", NULL)->id, ab->id);
    ck_assert_ptr_null(owm_mesh_stream_find(changed, ab->id));
    owm_mesh_destroy(&before);
    owm_mesh_destroy(&renamed);
    owm_mesh_destroy(&changed);
}
END_TEST

/* ------------------------------------------------------------ pSConfig */

START_TEST(psconfig_template_mapping)
{
    char *path = tu_vector_path("mesh/psconfig-template.json");
    owp_err e = {0};
    owm_mesh *m = owm_mesh_load(path, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_int_eq(owm_mesh_get_format(m), OWM_MESH_PSCONFIG);
    ck_assert_uint_eq(owm_mesh_node_count(m), 4); /* ps-d is disabled */
    ck_assert_ptr_null(owm_mesh_node_find(m, "ps-d"));

    /* owmesh's per-node keys live in the address's _meta. */
    const owm_node *a = owm_mesh_node_find(m, "ps-a");
    ck_assert_uint_eq(a->owamp_port, 8610);
    ck_assert_str_eq(a->public_key, "S$>5bPNNGO:I+tdZH<(ZeZ?%GZx1E#QpU78e4xzj");
    ck_assert_str_eq(a->data_endpoint, "tcp://127.0.0.21:5560");
    const owm_node *c = owm_mesh_node_find(m, "ps-c");
    ck_assert_str_eq(c->host, "::1");
    ck_assert_uint_eq(c->owamp_port, 8611);

    /* mesh_group minus the excluded ps-a -> ps-c, plus site_group both ways;
     * mesh_again repeats mesh_default and collapses. */
    ck_assert_uint_eq(owm_mesh_stream_count(m), 9);
    ck_assert_ptr_null(find_stream(m, "ps-a", "ps-c", NULL));
    ck_assert_ptr_nonnull(find_stream(m, "ps-c", "ps-a", NULL));
    ck_assert_ptr_null(find_stream(m, "ps-a", "ps-b", "mesh_again"));

    /* packet-timeout 0 keeps the default; loss-threshold maps to -L;
     * ip-tos 46 is DSCP 11 (the TOS byte's upper six bits). */
    const owm_stream *def = find_stream(m, "ps-b", "ps-c", "mesh_default");
    ck_assert_double_eq(def->params.loss_timeout, 10);
    ck_assert_uint_eq(def->params.packet_count, 300);
    const owm_stream *tuned = find_stream(m, "ps-e", "ps-b", "site_tuned");
    ck_assert_double_eq(tuned->params.packet_interval, 0.05);
    ck_assert_uint_eq(tuned->params.packet_count, 1200);
    ck_assert_uint_eq(tuned->params.sub_session_count, 1200);
    ck_assert_uint_eq(tuned->params.packet_padding, 32);
    ck_assert_double_eq(tuned->params.loss_timeout, 3);
    ck_assert_double_eq(tuned->params.bucket_width, 0.0005);
    ck_assert_uint_eq(tuned->params.dscp, 11);

    /* Other test types, list groups and unknown sections are warnings. */
    ck_assert_uint_eq(owm_mesh_warning_count(m), 6);
    ck_assert_ptr_null(owm_mesh_warning(m, 6));
    char golden[4096];
    snprintf(golden, sizeof golden, "%s/mesh/psconfig-template", VECTORS_DIR);
    assert_golden(m, golden);
    owm_mesh_destroy(&m);
    free(path);
}
END_TEST

START_TEST(psconfig_packet_timeout_and_tos)
{
    owm_mesh *m = parse_ok(
        "{\"addresses\": {\"x\": {\"address\": \"127.0.0.2\"}, \"y\": {\"address\": \"127.0.0.3\"}},"
        " \"groups\": {\"g\": {\"type\": \"disjoint\", \"unidirectional\": true,"
        "   \"a-addresses\": [{\"name\": \"x\"}], \"b-addresses\": [{\"name\": \"y\"}]}},"
        " \"tests\": {\"t\": {\"type\": \"latencybg\", \"spec\": {\"packet-timeout\": 7,"
        "   \"ip-tos\": 255}}},"
        " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}");
    ck_assert_uint_eq(owm_mesh_stream_count(m), 1);
    ck_assert_double_eq(owm_mesh_streams(m)[0].params.loss_timeout, 7);
    ck_assert_uint_eq(owm_mesh_streams(m)[0].params.dscp, 63);
    ck_assert_uint_eq(owm_mesh_warning_count(m), 0);
    owm_mesh_destroy(&m);
}
END_TEST

/* ------------------------------------------------------------ errors */

/* Every broken vector fails with exactly the message in its .err file
 * (FILE standing for the path): the JSON path, what was expected, what
 * was found. */
START_TEST(broken_vectors_name_exact_path)
{
    char *dir = tu_vector_path("mesh/broken");
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    size_t checked = 0;
    while ((de = readdir(d))) {
        if (!has_suffix(de->d_name, ".json"))
            continue;
        char path[4096], errpath[4096], want[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        snprintf(errpath, sizeof errpath, "%s/%.*s.err", dir, (int)(strlen(de->d_name) - 5),
                 de->d_name);
        char *golden = read_text(errpath);
        golden[strcspn(golden, "\n")] = '\0';
        ck_assert_msg(!strncmp(golden, "FILE", 4), "%s: must start with FILE", errpath);
        snprintf(want, sizeof want, "%s%s", path, golden + 4);
        owp_err e = {0};
        owm_mesh *m = owm_mesh_load(path, &e);
        ck_assert_msg(m == NULL, "%s loaded", de->d_name);
        ck_assert_int_eq(e.code, OWP_ERR_PARSE);
        ck_assert_str_eq(e.msg, want);
        free(golden);
        checked++;
    }
    closedir(d);
    free(dir);
    ck_assert_uint_ge(checked, 50);
}
END_TEST

START_TEST(inline_errors)
{
    /* The example of the issue, verbatim. */
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}}, \"tests\": {\"owd\": "
                "{\"type\": \"latencybg\", \"packet-count\": \"ten\"}}}",
                "inline.json: $.tests.owd.packet-count: expected a positive integer, "
                "got \"ten\"");
    /* Keys that need quoting in a path. */
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}}, \"tests\": {\"o.w.d\": "
                "{\"type\": \"latencybg\", \"dscp\": -1}}}",
                "inline.json: $.tests['o.w.d'].dscp: expected a DSCP value 0-63 or a name such "
                "as \"EF\", \"AF41\" or \"CS5\", got -1");
    parse_fails("{\"nodes\": {\"-a\": {\"address\": \"127.0.0.2\"}}}",
                "inline.json: $.nodes.-a: expected a node name of letters, digits, '.', '_', "
                "':' or '-' (1-64 characters, starting with a letter or digit)");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\", \"it's\": 1}}}",
                "inline.json: $.nodes.a['it\\'s']: unknown key; expected one of (address, "
                "public-key, owamp-port, data-endpoint)");
    /* A task before the groups it names is fine; an unknown one lists them. */
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}}, \"tasks\": {\"t\": "
                "{\"group\": \"g\", \"test\": \"t\"}}}",
                "inline.json: $.tasks.t.group: expected one of the groups (none defined), "
                "got \"g\"");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"\"}}}",
                "inline.json: $.nodes.a.address: expected a non-empty string, got \"\"");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \":8610\"}}}",
                "inline.json: $.nodes.a.address: expected a host name or address, optionally "
                "with :port ([v6]:port for IPv6), got \":8610\"");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2:owamp\"}}}",
                "inline.json: $.nodes.a.address: expected a port number 1-65535 after ':', "
                "got \"owamp\"");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}}, \"tests\": {\"owd\": "
                "{\"type\": \"latencybg\", \"packet-interval\": 3601}}}",
                "inline.json: $.tests.owd.packet-interval: expected a number of seconds > 0 "
                "and <= 3600, got 3601");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}}, \"tests\": {\"owd\": "
                "{\"type\": \"latencybg\", \"packet-count\": 4294967296}}}",
                "inline.json: $.tests.owd.packet-count: expected a positive integer, "
                "got 4294967296");
}
END_TEST

/* powstream's "holes in data" check: c x i below 10 s + L is a warning. */
START_TEST(short_session_warns)
{
    owm_mesh *m = parse_ok("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}}, \"tests\": "
                           "{\"owd\": {\"type\": \"latencybg\", \"packet-count\": 100}}}");
    ck_assert_uint_eq(owm_mesh_warning_count(m), 1);
    ck_assert_str_eq(owm_mesh_warning(m, 0),
                     "inline.json: $.tests.owd: a session lasts about 10 s, less than 10 s + "
                     "loss-timeout (10 s): powstream warns that holes in the data are likely");
    owm_mesh_destroy(&m);
    m = parse_ok("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}}, \"tests\": "
                 "{\"owd\": {\"type\": \"latencybg\", \"packet-count\": 100, "
                 "\"loss-timeout\": 0.5, \"packet-interval\": 0.11}}}");
    ck_assert_uint_eq(owm_mesh_warning_count(m), 0);
    owm_mesh_destroy(&m);
}
END_TEST

/* Branches the other cases leave out: how each kind of value is described,
 * long lists and strings cut, members that are not names, pSConfig
 * "excludes" that are not what they should be. */
START_TEST(more_inline_errors)
{
    parse_fails("{\"nodes\": {\"a\": 5}}",
                "inline.json: $.nodes.a: expected a node object, got 5");
    parse_fails("{\"addresses\": {\"a\": \"127.0.0.2\"}}",
                "inline.json: $.addresses.a: expected an address object, got "
                "\"127.0.0.2\"");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": "
                "\"127.0.0.3\"}}, \"tests\": {\"owd\": {\"type\": \"latencybg\", "
                "\"packet-count\": true}}}",
                "inline.json: $.tests.owd.packet-count: expected a positive integer, got "
                "true");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": "
                "\"127.0.0.3\"}}, \"tests\": {\"owd\": {\"type\": \"latencybg\", "
                "\"dscp\": false}}}",
                "inline.json: $.tests.owd.dscp: expected a DSCP value 0-63 or a name "
                "such as \"EF\", \"AF41\" or \"CS5\", got false");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": "
                "\"127.0.0.3\"}}, \"tests\": {\"owd\": {\"type\": \"latencybg\", "
                "\"auth\": null}}}",
                "inline.json: $.tests.owd.auth: expected authentication modes: letters "
                "A, E and/or O (such as \"AEO\"), got null");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": "
                "\"127.0.0.3\"}}, \"tests\": {\"owd\": {\"type\": \"latencybg\", "
                "\"packet-padding\": []}}}",
                "inline.json: $.tests.owd.packet-padding: expected an integer 0-65535, "
                "got an empty array");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": "
                "\"127.0.0.3\"}}, \"tests\": {\"owd\": {\"type\": \"latencybg\", "
                "\"auth\": "
                "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}}",
                "inline.json: $.tests.owd.auth: expected authentication modes: letters "
                "A, E and/or O (such as \"AEO\"), got "
                "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": "
                "\"127.0.0.3\"}}, \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": "
                "[1, \"a\"]}}}",
                "inline.json: $.groups.g.nodes[0]: expected a node name, got 1");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": "
                "\"127.0.0.3\"}}, \"groups\": {\"g\": {\"type\": \"list\"}}}",
                "inline.json: $.groups.g: expected the key \"pairs\" (an array of "
                "[source, destination])");
    parse_fails("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": "
                "\"127.0.0.3\"}}, \"groups\": {\"g\": {\"type\": \"list\", \"pairs\": "
                "[[\"a\", \"c\"]]}}}",
                "inline.json: $.groups.g.pairs[0][1]: expected one of the nodes (a, b), "
                "got \"c\"");
    parse_fails("{\"addresses\": {\"x\": {\"address\": \"127.0.0.2\"}}, \"groups\": "
                "{\"g\": {\"type\": \"mesh\", \"addresses\": [{\"name\": \"x\"}], "
                "\"excludes\": [5]}}}",
                "inline.json: $.groups.g.excludes[0]: expected an object with "
                "\"local-address\" and \"target-addresses\", got 5");
    parse_fails("{\"addresses\": {\"x\": {\"address\": \"127.0.0.2\"}}, \"groups\": "
                "{\"g\": {\"type\": \"mesh\", \"addresses\": [{\"name\": \"x\"}], "
                "\"excludes\": [{\"target-addresses\": []}]}}}",
                "inline.json: $.groups.g.excludes[0]: expected the key \"local-address\"");
}
END_TEST

/* "one of the nodes (...)" stops after about 200 characters of names. */
START_TEST(known_names_list_is_cut)
{
    char text[2048];
    int used = snprintf(text, sizeof text, "{\"nodes\": {");
    for (int i = 0; i < 12; i++)
        used += snprintf(text + used, sizeof text - (size_t)used,
                         "%s\"node-with-a-long-name-%02d\": {\"address\": \"127.0.0.%d\"}",
                         i ? ", " : "", i, i + 2);
    snprintf(text + used, sizeof text - (size_t)used,
             "}, \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": "
             "[\"node-with-a-long-name-00\", \"zz\"]}}}");
    parse_fails(text, "inline.json: $.groups.g.nodes[1]: expected one of the nodes "
                      "(node-with-a-long-name-00, node-with-a-long-name-01, "
                      "node-with-a-long-name-02, node-with-a-long-name-03, "
                      "node-with-a-long-name-04, node-with-a-long-name-05, "
                      "node-with-a-long-name-06, node-with-a-long-name-07, ...), got \"zz\"");
}
END_TEST

/* Two nodes on one OWAMP server load, with a warning naming the first. */
START_TEST(same_server_warns)
{
    owm_mesh *m = parse_ok("{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, "
                           "\"b\": {\"address\": \"127.0.0.2:861\"}}}");
    ck_assert_uint_eq(owm_mesh_warning_count(m), 1);
    ck_assert_str_eq(owm_mesh_warning(m, 0), "inline.json: $.nodes.b: same OWAMP server "
                                             "(127.0.0.2 port 861) as node a");
    owm_mesh_destroy(&m);
}
END_TEST

/* "excludes" leaves out local -> target pairs; a disabled local address
 * excludes nothing and is in no pair. */
START_TEST(psconfig_excludes_leave_pairs_out)
{
    owm_mesh *m = parse_ok(
        "{\"addresses\": {\"x\": {\"address\": \"127.0.0.2\"}, \"y\": {\"address\": "
        "\"127.0.0.3\"}, \"z\": {\"address\": \"127.0.0.4\", \"disabled\": true}},"
        " \"groups\": {\"g\": {\"type\": \"mesh\", \"addresses\": [{\"name\": \"x\"},"
        "   {\"name\": \"y\"}, {\"name\": \"z\"}], \"excludes\": ["
        "   {\"local-address\": {\"name\": \"x\"}, \"target-addresses\": [{\"name\": \"y\"}]},"
        "   {\"local-address\": {\"name\": \"z\"}, \"target-addresses\": [{\"name\": \"x\"}]}]}},"
        " \"tests\": {\"t\": {\"type\": \"latencybg\"}},"
        " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}");
    ck_assert_uint_eq(owm_mesh_node_count(m), 2);
    ck_assert_uint_eq(owm_mesh_stream_count(m), 1);
    ck_assert_ptr_nonnull(find_stream(m, "y", "x", "k"));
    owm_mesh_destroy(&m);
}
END_TEST

START_TEST(missing_file_and_bad_arguments)
{
    owp_err e = {0};
    ck_assert_ptr_null(owm_mesh_load("/nonexistent/mesh.json", &e));
    ck_assert_int_eq(e.code, OWP_ERR_SYS);
    ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/mesh.json"));
    ck_assert_ptr_null(owm_mesh_load(NULL, &e));
    ck_assert_int_eq(e.code, OWP_ERR_INVALID);
    ck_assert_ptr_null(owm_mesh_parse(NULL, 5, "x", &e));
    ck_assert_int_eq(e.code, OWP_ERR_INVALID);
    ck_assert_ptr_null(owm_mesh_parse(NULL, 0, NULL, &e));
    ck_assert_int_eq(e.code, OWP_ERR_PARSE);
    ck_assert_str_eq(e.msg, "<mesh>:1:0: '[' or '{' expected near end of file");
    /* A NULL err is allowed. */
    ck_assert_ptr_null(owm_mesh_parse("{}", 2, "x", NULL));
}
END_TEST

START_TEST(curve_key_form)
{
    ck_assert(owm_curve_key_valid("{DYWi:5AFAXc[e=DC1hv!>L1Kwe=^4dGXg#6r?(B"));
    ck_assert(owm_curve_key_valid("0000000000000000000000000000000000000000"));
    /* 5 digits encode 32 bits: "%nSc0" is 0xFFFFFFFF, "%nSc1" one more. */
    ck_assert(owm_curve_key_valid("%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0"));
    ck_assert(!owm_curve_key_valid("%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc1"));
    ck_assert(!owm_curve_key_valid("#####%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0"));
    ck_assert(!owm_curve_key_valid("{DYWi:5AFAXc[e=DC1hv!>L1Kwe=^4dGXg#6r?("));
    ck_assert(!owm_curve_key_valid("{DYWi:5AFAXc[e=DC1hv!>L1Kwe=^4dGXg#6r?(BB"));
    ck_assert(!owm_curve_key_valid("{DYWi:5AFAXc[e=DC1hv!>L1Kwe=^4dGXg#6r?(\""));
    ck_assert(!owm_curve_key_valid("{DYWi:5AFAXc[e=DC1hv!>L1Kwe=^4dGXg#6r ,B"));
    ck_assert(!owm_curve_key_valid(""));
    ck_assert(!owm_curve_key_valid(NULL));
}
END_TEST

/* Every prefix of a real file, and deterministic byte corruption of it,
 * must fail cleanly or load: never crash, never leak (ASan). */
START_TEST(hostile_input)
{
    size_t len;
    char *text = tu_read_file(EXAMPLES_DIR "/psconfig-latencybg.json", &len);
    ck_assert_ptr_nonnull(text);
    for (size_t cut = 0; cut < len; cut++) {
        owp_err e = {0};
        owm_mesh *m = owm_mesh_parse(text, cut, "cut.json", &e);
        if (m)
            owm_mesh_destroy(&m);
        else
            ck_assert_msg(!strncmp(e.msg, "cut.json", 8), "%s", e.msg);
    }
    uint32_t seed = 12345;
    const char noise[] = "{}[]\":,0-9.eE ntfa\\\x01\xff";
    for (int round = 0; round < 3000; round++) {
        char *copy = malloc(len);
        memcpy(copy, text, len);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            copy[at] = noise[(seed >> 8) % (sizeof noise - 1)];
        }
        owp_err e = {0};
        owm_mesh *m = owm_mesh_parse(copy, len, "noise.json", &e);
        if (m) {
            char *out = check_output(m);
            free(out);
            owm_mesh_destroy(&m);
        } else {
            ck_assert_msg(!strncmp(e.msg, "noise.json", 10), "%s", e.msg);
        }
        free(copy);
    }
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meshconf");
    TCase *tc = tcase_create("examples");
    tcase_add_test(tc, every_example_loads);
    tcase_add_test(tc, demo_nodes_and_params);
    tcase_add_test(tc, two_site_keys_and_dscp_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("expansion");
    tcase_add_test(tc, group_mesh_every_ordered_pair);
    tcase_add_test(tc, group_disjoint_both_ways_and_unidirectional);
    tcase_add_test(tc, group_list_explicit_pairs);
    tcase_add_test(tc, no_tasks_no_streams);
    tcase_add_test(tc, defaults_are_powstreams);
    tcase_add_test(tc, duplicates_collapse_different_params_do_not);
    suite_add_tcase(s, tc);
    tc = tcase_create("ids");
    tcase_add_test(tc, stream_ids_are_stable_and_distinct);
    tcase_add_test(tc, stream_ids_ignore_names_and_order);
    suite_add_tcase(s, tc);
    tc = tcase_create("psconfig");
    tcase_add_test(tc, psconfig_template_mapping);
    tcase_add_test(tc, psconfig_packet_timeout_and_tos);
    tcase_add_test(tc, psconfig_excludes_leave_pairs_out);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, broken_vectors_name_exact_path);
    tcase_add_test(tc, inline_errors);
    tcase_add_test(tc, more_inline_errors);
    tcase_add_test(tc, known_names_list_is_cut);
    tcase_add_test(tc, short_session_warns);
    tcase_add_test(tc, same_server_warns);
    tcase_add_test(tc, missing_file_and_bad_arguments);
    tcase_add_test(tc, curve_key_form);
    tcase_add_test(tc, hostile_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
