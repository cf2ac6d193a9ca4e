/* agent_testutil.c - the node agent suites' shared fixtures
 * (agent_testutil.h). */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* nftw */
#endif
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_testutil.h"

void set(char **field, const char *value)
{
    owp_err e;
    ck_assert_msg(owm_msg_set_string(field, value, &e) == OWP_OK, "%s", e.msg);
}

owm_msg *make_schedule(uint64_t generation, const char *const *sources, size_t n)
{
    owp_err e;
    owm_msg *env = owm_msg_new(OWM_MSG_SCHEDULE, &e);
    ck_assert_msg(env != NULL, "%s", e.msg);
    env->schedule->generation = generation;
    set(&env->schedule->node, "chi");
    for (size_t i = 0; i < n; i++) {
        owm_msg_stream *st = owm_msg_schedule_add_stream(env->schedule, &e);
        ck_assert_msg(st != NULL, "%s", e.msg);
        char id[64], peer[64];
        snprintf(id, sizeof id, "s-%s", sources[i]);
        snprintf(peer, sizeof peer, "127.0.0.%zu:8610", i + 2);
        set(&st->id, id);
        set(&st->source, sources[i]);
        set(&st->peer, peer);
        st->params->count = 50;
        st->params->interval = 0.02;
        st->params->loss_timeout = 1;
    }
    return env;
}

char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    ck_assert_ptr_nonnull(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void rm_tree(char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    fclose(fp);
}
