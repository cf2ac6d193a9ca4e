/* check_meshmsg_builders.c - building and using mesh messages
 * (mesh/meshmsg.c): deep stream copies, stream equality, sanitized Error
 * texts, string and bytes setters. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshmsg.h"
#include "meshmsg_internal.h"
#include "meshmsg_testutil.h"
#include "owamp.h"
#include "testutil.h"

/* A copy of a stream is deep: it outlives the message it came from. */
START_TEST(stream_copy_is_deep)
{
    owp_err e;
    owm_msg *env = make_schedule();
    owm_msg_stream *copy = owm_msg_stream_copy(env->schedule->streams[0], &e);
    ck_assert_msg(copy != NULL, "%s", e.msg);
    ck_assert(owm_msg_stream_equal(copy, env->schedule->streams[0]));
    ck_assert_ptr_ne(copy->id, env->schedule->streams[0]->id);
    ck_assert_ptr_ne(copy->params, env->schedule->streams[0]->params);
    owm_msg_free(&env);
    ck_assert_str_eq(copy->params->identity, "meshkey");
    owm_msg_stream_free(&copy);
    ck_assert_ptr_null(copy);
    owm_msg_stream_free(&copy);
}
END_TEST

/* ------------------------------------------------------------ helpers */

START_TEST(stream_equality)
{
    owm_msg *a = make_schedule(), *b = make_schedule();
    owm_msg_stream *sa = a->schedule->streams[0], *sb = b->schedule->streams[0];
    ck_assert(owm_msg_stream_equal(sa, sb));
    ck_assert(!owm_msg_stream_equal(sa, a->schedule->streams[1]));
    sb->params->dscp = 0;
    ck_assert(!owm_msg_stream_equal(sa, sb));
    sb->params->dscp = sa->params->dscp;
    set(&sb->params->identity, "other");
    ck_assert(!owm_msg_stream_equal(sa, sb));
    set(&sb->params->identity, "meshkey");
    set(&sb->peer, "127.0.0.2:8862");
    ck_assert(!owm_msg_stream_equal(sa, sb));
    set(&sb->peer, sa->peer);
    ck_assert(owm_msg_stream_equal(sa, sb));
    ck_assert(owm_msg_stream_equal(NULL, NULL));
    ck_assert(!owm_msg_stream_equal(sa, NULL));
    owm_msg_free(&a);
    owm_msg_free(&b);
}
END_TEST

START_TEST(error_text_sanitized)
{
    owp_err e;
    char hostile[1500];
    memset(hostile, 'h', sizeof hostile - 1);
    hostile[sizeof hostile - 1] = '\0';
    hostile[3] = '\n';
    hostile[4] = '\x1b';
    owm_msg *env = owm_msg_new_error(OWM_ERROR_MALFORMED, hostile, &e);
    ck_assert(env != NULL);
    ck_assert_uint_eq(strlen(env->error->text), OWM_MSG_MAX_TEXT);
    ck_assert(strncmp(env->error->text, "hhh??hh", 7) == 0);
    ck_assert_msg(owm_msg_validate(env, &e) == OWP_OK, "%s", e.msg);
    owm_msg_free(&env);
    env = owm_msg_new_error(OWM_ERROR_INTERNAL, NULL, &e);
    ck_assert_str_eq(env->error->text, "ERROR_INTERNAL");
    owm_msg_free(&env);

    /* a decode failure answered with the Error it asks for */
    static const uint8_t v2[] = {0x08, 0x02, 0x10, 0x00};
    owm_error_code why = 0;
    owm_msg *none;
    ck_assert_int_eq(owm_msg_decode(v2, sizeof v2, &none, &why, &e), OWP_ERR_PROTO);
    env = owm_msg_new_error(why, e.msg, &e);
    ck_assert(env != NULL);
    uint8_t *buf;
    size_t len;
    ck_assert(owm_msg_encode(env, &buf, &len, &e) == OWP_OK);
    owm_msg_free(&env);
    ck_assert(owm_msg_decode(buf, len, &env, NULL, &e) == OWP_OK);
    ck_assert_int_eq(env->error->code, OWM_ERROR_VERSION);
    ck_assert_str_eq(env->error->text, "peer speaks mesh protocol version 2, we speak 1");
    owm_msg_free(&env);
    free(buf);
}
END_TEST

START_TEST(set_string_replaces)
{
    owp_err e;
    owm_msg *env = make_hello();
    set(&env->hello->node, "first");
    set(&env->hello->node, "second"); /* the first copy is freed (ASan would tell) */
    ck_assert_str_eq(env->hello->node, "second");
    set(&env->hello->node, NULL);
    ck_assert_str_eq(env->hello->node, "");
    set(&env->hello->node, "third");
    ck_assert_str_eq(env->hello->node, "third");
    owm_msg_free(&env);
    env = make_file_chunk();
    ck_assert(owm_msg_set_bytes(&env->file_chunk->data, "ab", 2, &e) == OWP_OK);
    ck_assert_uint_eq(env->file_chunk->data.len, 2);
    ck_assert(memcmp(env->file_chunk->data.data, "ab", 2) == 0);
    owm_msg_free(&env);
}
END_TEST

static Suite *meshmsg_builders_suite(void)
{
    Suite *s = suite_create("meshmsg_builders");
    TCase *tc = tcase_create("helpers");
    tcase_add_test(tc, stream_copy_is_deep);
    tcase_add_test(tc, stream_equality);
    tcase_add_test(tc, error_text_sanitized);
    tcase_add_test(tc, set_string_replaces);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(meshmsg_builders_suite());
}
