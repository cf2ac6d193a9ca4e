/* collector_testutil.c - the data plane suites' shared rig
 * (collector_testutil.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector_testutil.h"
#include "testutil.h"

static int endpoint_counter;

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rig_new_endpoint(rig *r)
{
    snprintf(r->endpoint, sizeof r->endpoint, "inproc://data-%d-%d", (int)getpid(),
             endpoint_counter++);
}

store_db *rig_open_store(const char *dir, uint64_t map_size)
{
    store_opts o;
    store_opts_default(&o);
    o.map_size = map_size;
    owp_err err = {0};
    store_db *s = store_open(dir, &o, &err);
    ck_assert_msg(s, "%s", err.msg);
    return s;
}

void rig_up(rig *r, uint64_t retention, uint64_t budget, uint64_t map_size)
{
    memset(r, 0, sizeof *r);
    r->dir = tu_tempdir();
    snprintf(r->spool_dir, sizeof r->spool_dir, "%s/spool", r->dir);
    snprintf(r->store_dir, sizeof r->store_dir, "%s/store", r->dir);
    snprintf(r->quarantine, sizeof r->quarantine, "%s/quarantine", r->dir);
    rig_new_endpoint(r);
    ck_assert_int_eq(mkdir(r->store_dir, 0755), 0);
    ck_assert_int_eq(mkdir(r->quarantine, 0755), 0);
    owp_err err = {0};
    r->spool = agent_spool_open(r->spool_dir, &err);
    ck_assert_msg(r->spool, "%s", err.msg);
    agent_data_config dc = {.node = RIG_NODE, .endpoint = r->endpoint, .spool = r->spool,
                            .retention_s = retention, .budget_bytes = budget};
    r->data = agent_data_new(&dc, &err);
    ck_assert_msg(r->data, "%s", err.msg);
    r->store = rig_open_store(r->store_dir, map_size);
}

void rig_down(rig *r)
{
    puller_destroy(&r->puller);
    agent_data_destroy(&r->data);
    agent_spool_destroy(&r->spool);
    store_close(&r->store);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir); /* with its subdirectories */
    ck_assert_int_eq(system(cmd), 0);
    free(r->dir);
}

void spool_vector(rig *r, const char *rel, const char *stream, uint64_t start,
                  owm_file_kind kind)
{
    ck_assert_uint_lt(r->nseqs, RIG_MAX_SEQS);
    char *src = tu_vector_path(rel);
    size_t len;
    char *bytes = tu_read_file(src, &len);
    ck_assert_ptr_nonnull(bytes);
    char *tmp = tu_write_file_n(r->dir, "work.tmp", bytes, len);
    owp_err err = {0};
    uint64_t seq = 0;
    ck_assert_int_eq(agent_spool_add(r->spool, tmp, stream, start << 32, (start + 10) << 32, kind,
                                     &seq, &err), OWP_OK);
    unlink(tmp);
    r->seqs[r->nseqs++] = seq;
    free(tmp);
    free(bytes);
    free(src);
}

owp_status test_path(void *arg, const char *node, const char *stream_id, const void *data,
                     size_t len, uint32_t *path_id, owp_err *err)
{
    (void)data;
    (void)len;
    return store_path_id(*(store_db **)arg, stream_id, node, "test", path_id, err);
}

puller_config rig_puller_config(rig *r)
{
    puller_config pc = {.node = RIG_NODE, .endpoint = r->endpoint, .store = r->store,
                        .path = test_path, .path_arg = &r->store, .poll_s = 0.05,
                        .timeout_s = 2};
    return pc;
}

puller *rig_puller_new(const puller_config *pc)
{
    owp_err err = {0};
    puller *p = puller_new(pc, &err);
    ck_assert_msg(p, "%s", err.msg);
    return p;
}

void rig_run(rig *r, puller *p, bool stop_at_reset)
{
    double end = now_s() + 5;
    int idle_turns = 0;
    while (now_s() < end && idle_turns < 5 && !(stop_at_reset && puller_get_stats(p)->resets)) {
        zmq_pollitem_t items[2] = {
            {zsock_resolve(agent_data_socket(r->data)), 0, ZMQ_POLLIN, 0},
            {puller_socket(p) ? zsock_resolve(puller_socket(p)) : NULL, 0, ZMQ_POLLIN, 0},
        };
        zmq_poll(items, puller_socket(p) ? 2 : 1, 10);
        double now = now_s();
        if (items[0].revents & ZMQ_POLLIN)
            agent_data_handle(r->data);
        if (puller_socket(p) && (items[1].revents & ZMQ_POLLIN))
            puller_handle(p, now);
        puller_tick(p, now);
        idle_turns = puller_idle(p) ? idle_turns + 1 : 0;
    }
}

uint64_t rig_cursor(const rig *r)
{
    uint64_t cursor = 0;
    owp_err err = {0};
    ck_assert_int_eq(store_cursor(r->store, RIG_NODE, &cursor, NULL, 0, &err), OWP_OK);
    return cursor;
}

size_t count_in(const char *dir, const char *pattern)
{
    char cmd[800];
    size_t n = 0;
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '%s'", dir, pattern);
    FILE *p = popen(cmd, "r");
    if (p && fscanf(p, "%zu", &n) != 1)
        n = 0;
    if (p)
        pclose(p);
    return n;
}

size_t spool_count(const rig *r)
{
    return count_in(r->spool_dir, "^[0-9]");
}
