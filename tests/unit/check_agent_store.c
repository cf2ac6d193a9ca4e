/* check_agent_store.c - the node agent's saved state
 * (node/agent/agent_store.c): the saved schedule (round trip, missing,
 * damaged, foreign files, atomic writes) and the heartbeat file. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_store.h"
#include "agent_testutil.h"
#include "meshmsg.h"
#include "testutil.h"

/* ------------------------------------------------------------ saved schedule */

START_TEST(store_round_trip)
{
    char *dir = tu_tempdir();
    char *path = path_in(dir, "schedule.pb");
    const char *src[] = {"nyc", "sea", "lax"};
    owm_msg *env = make_schedule(7, src, 3);
    owm_msg_schedule_set_owamp_server(env->schedule, NULL)->test_port_low = 9000;
    env->schedule->owamp_server->test_port_high = 9100;
    env->schedule->owamp_server->modes = 1;
    owp_err e;
    ck_assert_msg(agent_store_save_schedule(path, env->schedule, &e) == OWP_OK, "%s", e.msg);
    char *tmp = path_in(dir, "schedule.pb.tmp");
    ck_assert_int_ne(access(tmp, F_OK), 0); /* renamed into place */
    owm_msg *back = NULL;
    ck_assert_msg(agent_store_load_schedule(path, &back, &e) == OWP_OK, "%s", e.msg);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(back->schedule->generation, 7);
    ck_assert_str_eq(back->schedule->node, "chi");
    ck_assert_uint_eq(back->schedule->n_streams, 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert(owm_msg_stream_equal(back->schedule->streams[i], env->schedule->streams[i]));
    ck_assert_uint_eq(back->schedule->owamp_server->test_port_high, 9100);
    /* Overwriting replaces the whole content. */
    env->schedule->generation = 8;
    ck_assert(agent_store_save_schedule(path, env->schedule, &e) == OWP_OK);
    owm_msg_free(&back);
    ck_assert(agent_store_load_schedule(path, &back, &e) == OWP_OK);
    ck_assert_uint_eq(back->schedule->generation, 8);
    owm_msg_free(&back);
    owm_msg_free(&env);
    free(tmp);
    free(path);
    rm_tree(dir);
}
END_TEST

START_TEST(store_missing_file_is_no_schedule)
{
    char *dir = tu_tempdir();
    char *path = path_in(dir, "none.pb");
    owm_msg *back = (owm_msg *)1;
    owp_err e;
    ck_assert(agent_store_load_schedule(path, &back, &e) == OWP_OK);
    ck_assert_ptr_null(back);
    free(path);
    rm_tree(dir);
}
END_TEST

START_TEST(store_damaged_files_refused)
{
    char *dir = tu_tempdir();
    char *path = path_in(dir, "schedule.pb");
    const char *src[] = {"nyc", "sea"};
    owm_msg *env = make_schedule(3, src, 2);
    owp_err e;
    uint8_t *good = NULL;
    size_t len = 0;
    ck_assert(owm_msg_encode(env, &good, &len, &e) == OWP_OK);

    /* empty, every truncation, garbage, another major version */
    write_bytes(path, "", 0);
    owm_msg *back = NULL;
    ck_assert(agent_store_load_schedule(path, &back, &e) != OWP_OK);
    ck_assert_ptr_null(back);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    int refused = 0;
    for (size_t cut = 1; cut < len; cut++) {
        write_bytes(path, good, cut);
        owp_status st = agent_store_load_schedule(path, &back, &e);
        if (st != OWP_OK)
            refused++;
        else /* a cut at a field boundary decodes: it must still be a valid schedule */
            ck_assert(back && back->schedule && back->schedule->generation == 3);
        owm_msg_free(&back);
    }
    ck_assert_int_gt(refused, (int)len / 2);
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(0xff - i * 7);
    write_bytes(path, junk, sizeof junk);
    ck_assert(agent_store_load_schedule(path, &back, &e) != OWP_OK);
    ck_assert_ptr_null(back);
    uint8_t other[] = {0x08, 0x09}; /* version 9, nothing else */
    write_bytes(path, other, sizeof other);
    ck_assert(agent_store_load_schedule(path, &back, &e) == OWP_ERR_PROTO);
    ck_assert_ptr_nonnull(strstr(e.msg, "version"));

    /* A valid envelope of another kind is not a schedule. */
    owm_msg *hello = owm_msg_new_hello("chi", "x", "127.0.0.3:8610", "", 1, &e);
    uint8_t *hb = NULL;
    size_t hlen = 0;
    ck_assert(owm_msg_encode(hello, &hb, &hlen, &e) == OWP_OK);
    write_bytes(path, hb, hlen);
    ck_assert(agent_store_load_schedule(path, &back, &e) == OWP_ERR_PROTO);
    ck_assert_ptr_nonnull(strstr(e.msg, "not a Schedule"));

    /* Set aside: the damaged file moves to PATH.corrupt. */
    ck_assert(agent_store_set_aside(path, &e) == OWP_OK);
    ck_assert_int_ne(access(path, F_OK), 0);
    char *aside = path_in(dir, "schedule.pb.corrupt");
    ck_assert_int_eq(access(aside, F_OK), 0);
    ck_assert(agent_store_load_schedule(path, &back, &e) == OWP_OK && back == NULL);

    free(aside);
    free(hb);
    free(good);
    owm_msg_free(&hello);
    owm_msg_free(&env);
    free(path);
    rm_tree(dir);
}
END_TEST

START_TEST(store_atomic_write_fails_cleanly)
{
    owp_err e;
    ck_assert(agent_store_write_file("/nonexistent-dir/x", "a", 1, &e) == OWP_ERR_SYS);
    ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent-dir/x.tmp"));
}
END_TEST

START_TEST(store_alive_round_trip)
{
    char *dir = tu_tempdir();
    char *path = path_in(dir, "alive");
    owp_err e;
    owp_num64 t = 1;
    ck_assert(agent_store_load_alive(path, &t, &e) == OWP_OK);
    ck_assert_uint_eq(t, 0); /* never ran */
    ck_assert(agent_store_save_alive(path, 17198800808123080680ull, &e) == OWP_OK);
    ck_assert(agent_store_save_alive(path, 17198800812948965449ull, &e) == OWP_OK);
    ck_assert(agent_store_load_alive(path, &t, &e) == OWP_OK);
    ck_assert_uint_eq(t, 17198800812948965449ull);
    char *tmp = path_in(dir, "alive.tmp");
    ck_assert_int_ne(access(tmp, F_OK), 0);
    write_bytes(path, "owmesh-node-alive twelve\n", 25);
    ck_assert(agent_store_load_alive(path, &t, &e) == OWP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    write_bytes(path, "owmesh-node-alive 12", 20); /* cut short */
    ck_assert(agent_store_load_alive(path, &t, &e) == OWP_ERR_FORMAT);
    free(tmp);
    free(path);
    rm_tree(dir);
}
END_TEST

static Suite *agent_store_suite(void)
{
    Suite *s = suite_create("agent_store");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, store_round_trip);
    tcase_add_test(tc, store_missing_file_is_no_schedule);
    tcase_add_test(tc, store_damaged_files_refused);
    tcase_add_test(tc, store_atomic_write_fails_cleanly);
    suite_add_tcase(s, tc);
    tc = tcase_create("unmeasured");
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, store_alive_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(agent_store_suite());
}
