/*
 * check_puller.c - the puller's robustness (issue 11): a full store loses
 * no batch, a restart lists after the cursor, and a silent node is told
 * apart (not listening, refused our key, timed out). A node's spool served
 * by agent_data, pulled into an LMDB store, in one process.
 */
#include <check.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector_testutil.h"
#include "daemon_log.h"
#include "testutil.h"

#define VECTOR "owp/clean100-to.owp"
#define NFILES 12

/* n copies of the vector, one stream each (distinct sessions), spooled. */
static void rig_up_spooled(rig *r, uint64_t retention, uint64_t map_size, size_t n)
{
    rig_up(r, retention, 0, map_size);
    for (size_t i = 0; i < n; i++) {
        char stream[16];
        snprintf(stream, sizeof stream, "s%zu", i);
        spool_vector(r, VECTOR, stream, 1000 + i, OWM_FILE_KIND_OWP);
    }
}

static puller *rig_puller(rig *r)
{
    puller_config pc = rig_puller_config(r);
    pc.quarantine_dir = r->quarantine;
    pc.window = 4;
    return rig_puller_new(&pc);
}

/* ------------------------------------------------------------------ a full store */

/* The store's map fills up in the middle of the node's backlog: the file
 * that does not fit is neither quarantined nor skipped (the cursor stops
 * below it, the node keeps it); with a larger map everything is stored,
 * each file once. */
START_TEST(test_store_full_loses_nothing)
{
    rig r;
    rig_up_spooled(&r, 0, 128 * 1024, NFILES);
    puller *p = rig_puller(&r);
    rig_run(&r, p, true); /* until idle or reset */
    const puller_stats *st = puller_get_stats(p);
    ck_assert_msg(st->resets >= 1, "the map never filled up (%" PRIu64 " files stored)",
                  st->files);
    ck_assert_uint_lt(st->files, NFILES);
    uint64_t stored = st->files;
    ck_assert_uint_eq(count_in(r.quarantine, "."), 0);
    uint64_t cursor = rig_cursor(&r);
    ck_assert_uint_lt(cursor, r.seqs[NFILES - 1]);
    /* What is not stored is still on the node, unacked (the acks of what
     * is may be lost with the reset: the next listing acks those). */
    ck_assert_uint_ge(spool_count(&r), NFILES - stored);
    puller_destroy(&p);

    /* The operator raises the map size: the backlog drains. */
    store_close(&r.store);
    r.store = rig_open_store(r.store_dir, 64ull << 20);
    p = rig_puller(&r);
    rig_run(&r, p, true); /* until idle or reset */
    ck_assert_uint_eq(puller_get_stats(p)->resets, 0);
    ck_assert_uint_eq(stored + puller_get_stats(p)->files, NFILES);
    ck_assert_uint_eq(rig_cursor(&r), r.seqs[NFILES - 1]);
    ck_assert_uint_eq(count_in(r.quarantine, "."), 0);
    ck_assert_uint_eq(spool_count(&r), 0);
    puller_destroy(&p);
    rig_down(&r);
}
END_TEST

/* ------------------------------------------------------------------ restarts */

/* Files committed by an earlier run that died before its ack: the new run
 * lists after the cursor (fetches and lists nothing again), and the node
 * acks them because the listing says they are stored. */
START_TEST(test_restart_lists_after_cursor)
{
    rig r;
    rig_up_spooled(&r, 3600, 0, 4);
    char *src = tu_vector_path(VECTOR);
    owp_err err = {0};
    for (size_t i = 0; i < 3; i++) {
        FILE *fp = fopen(src, "rb");
        ck_assert_ptr_nonnull(fp);
        uint32_t id;
        char stream[16];
        snprintf(stream, sizeof stream, "s%zu", i);
        ck_assert_int_eq(store_path_id(r.store, stream, "n2", "test", &id, &err), OWP_OK);
        ck_assert_int_eq(store_ingest_file(r.store, "n2", r.seqs[i], "f", id, fp, NULL, &err),
                         OWP_OK);
        fclose(fp);
    }
    free(src);
    puller *p = rig_puller(&r);
    rig_run(&r, p, true); /* until idle or reset */
    const puller_stats *st = puller_get_stats(p);
    ck_assert_uint_eq(st->files, 1);     /* only the one after the cursor */
    ck_assert_uint_eq(st->skipped, 0);   /* nothing at or below it listed again */
    ck_assert_uint_eq(rig_cursor(&r), r.seqs[3]);
    puller_destroy(&p);
    /* Every file is acked (retention: kept read-only, the ack's mark). */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "find '%s' -name '0*' -perm 0444 | wc -l | grep -qx 4",
             r.spool_dir);
    ck_assert_msg(system(cmd) == 0, "not every spooled file was acked");
    /* And a second restart lists nothing, fetches nothing. */
    p = rig_puller(&r);
    rig_run(&r, p, true); /* until idle or reset */
    ck_assert_uint_eq(puller_get_stats(p)->files + puller_get_stats(p)->skipped, 0);
    ck_assert_uint_eq(puller_get_stats(p)->bytes, 0);
    puller_destroy(&p);
    rig_down(&r);
}
END_TEST

/* ------------------------------------------------------------------ silences */

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Tick the puller (and the node's sockets, if any) until its first reset. */
static puller_silence silence_of(puller *p, agent_data *node, zsock_t *mute)
{
    double end = now_s() + 10;
    while (now_s() < end && !puller_get_stats(p)->resets) {
        zmq_pollitem_t items[2] = {{NULL, 0, ZMQ_POLLIN, 0}, {NULL, 0, ZMQ_POLLIN, 0}};
        int n = 0;
        if (node) {
            items[n++].socket = zsock_resolve(agent_data_socket(node));
            items[n++].socket = zsock_resolve(agent_data_zap(node));
        } else if (mute) {
            items[n++].socket = zsock_resolve(mute);
        }
        if (n)
            zmq_poll(items, n, 10);
        else
            zclock_sleep(10);
        if (node && (items[0].revents & ZMQ_POLLIN))
            agent_data_handle(node);
        if (node && (items[1].revents & ZMQ_POLLIN))
            agent_data_handle_zap(node);
        if (mute && (items[0].revents & ZMQ_POLLIN)) {
            zmsg_t *m = zmsg_recv(mute); /* heard, never answered */
            zmsg_destroy(&m);
        }
        puller_tick(p, now_s());
    }
    ck_assert_uint_ge(puller_get_stats(p)->resets, 1);
    return puller_last_silence(p);
}

/* Answer the node's sockets (the ZAP handler too) for a while, the
 * puller not ticked. */
static void serve_node_for(agent_data *node, double seconds)
{
    double end = now_s() + seconds;
    while (now_s() < end) {
        zmq_pollitem_t items[2] = {{zsock_resolve(agent_data_socket(node)), 0, ZMQ_POLLIN, 0},
                                   {zsock_resolve(agent_data_zap(node)), 0, ZMQ_POLLIN, 0}};
        zmq_poll(items, 2, 10);
        if (items[0].revents & ZMQ_POLLIN)
            agent_data_handle(node);
        if (items[1].revents & ZMQ_POLLIN)
            agent_data_handle_zap(node);
    }
}

START_TEST(test_silence_told_apart)
{
    char *dir = tu_tempdir();
    store_db *s = rig_open_store(dir, 0);
    owp_err err = {0};
    char endpoint[64];
    zcert_t *ours = zcert_new(), *node_cert = zcert_new(), *other = zcert_new();

    /* Nothing bound: connection refused. */
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", free_port());
    puller_config pc = {.node = "ghost", .endpoint = endpoint, .store = s, .path = test_path,
                        .path_arg = &s, .timeout_s = 0.5};
    puller *p = puller_new(&pc, &err);
    ck_assert_msg(p, "%s", err.msg);
    ck_assert_int_eq(silence_of(p, NULL, NULL), PULLER_NOT_LISTENING);
    ck_assert_str_eq(puller_silence_name(PULLER_NOT_LISTENING), "not listening");
    puller_destroy(&p);

    /* A node whose ZAP handler accepts another collector's key only. */
    agent_spool *spool = agent_spool_open(dir, &err);
    ck_assert_msg(spool, "%s", err.msg);
    int port = free_port();
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    agent_data_config dc = {.node = "n3", .endpoint = endpoint, .cert = node_cert,
                            .keys = {zcert_public_txt(other)}, .n_keys = 1, .spool = spool};
    agent_data *node = agent_data_new(&dc, &err);
    ck_assert_msg(node, "%s", err.msg);
    pc.node = "n3";
    pc.cert = ours;
    pc.server_key = zcert_public_txt(node_cert);
    p = puller_new(&pc, &err);
    ck_assert_msg(p, "%s", err.msg);
    ck_assert_int_eq(silence_of(p, node, NULL), PULLER_KEY_REFUSED);
    puller_destroy(&p);

    /* The same refusal, finished before the puller's first request: libzmq
     * then has no connection to queue the request on, and the puller must
     * still time out and name the refusal (it once retried every tick). */
    p = puller_new(&pc, &err);
    ck_assert_msg(p, "%s", err.msg);
    serve_node_for(node, 0.3);
    ck_assert_int_eq(silence_of(p, node, NULL), PULLER_KEY_REFUSED);
    puller_destroy(&p);
    agent_data_destroy(&node);
    agent_spool_destroy(&spool);

    /* Something that takes the connection and never answers. */
    zsock_t *mute = zsock_new(ZMQ_ROUTER);
    ck_assert_ptr_nonnull(mute);
    port = zsock_bind(mute, "tcp://127.0.0.1:*");
    ck_assert_int_gt(port, 0);
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    pc.node = "mute";
    pc.cert = NULL;
    pc.server_key = NULL;
    p = puller_new(&pc, &err);
    ck_assert_msg(p, "%s", err.msg);
    ck_assert_int_eq(silence_of(p, NULL, mute), PULLER_TIMED_OUT);
    puller_destroy(&p);
    zsock_destroy(&mute);

    zcert_destroy(&ours);
    zcert_destroy(&node_cert);
    zcert_destroy(&other);
    store_close(&s);
    tu_tempdir_remove(dir);
    free(dir);
}
END_TEST

static Suite *puller_suite(void)
{
    Suite *s = suite_create("puller");
    TCase *tc = tcase_create("robustness");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_store_full_loses_nothing);
    tcase_add_test(tc, test_restart_lists_after_cursor);
    tcase_add_test(tc, test_silence_told_apart);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    daemon_log_open("check_puller", LOG_USER,
                    getenv("CHECK_VERBOSE") ? LOG_DEBUG : LOG_WARNING,
                    getenv("CHECK_VERBOSE") != NULL);
    SRunner *sr = srunner_create(puller_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
