/* agent_store.c - atomic files and the persisted schedule (see agent_store.h). */
#include "agent_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meshmsg.h"

#define STORE_PATH_MAX 4096
#define ALIVE_TAG "owmesh-node-alive "

static owp_status write_all(int fd, const void *data, size_t len, const char *path, owp_err *err)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return owp_err_sys(err, "write %s", path);
        p += n;
        len -= (size_t)n;
    }
    return OWP_OK;
}

/* fsync the directory holding path, so the rename itself survives a crash. */
static owp_status sync_parent(const char *path, owp_err *err)
{
    char copy[STORE_PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return owp_err_sys(err, "open directory %s", dir);
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0) {
        errno = e;
        return owp_err_sys(err, "fsync directory %s", dir);
    }
    return OWP_OK;
}

owp_status agent_store_write_via(const char *path, const char *tmp, const void *data, size_t len,
                                 int durable, owp_err *err)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return owp_err_sys(err, "create %s", tmp);
    owp_status st = write_all(fd, data, len, tmp, err);
    if (st == OWP_OK && durable && fsync(fd) != 0)
        st = owp_err_sys(err, "fsync %s", tmp);
    if (close(fd) != 0 && st == OWP_OK)
        st = owp_err_sys(err, "close %s", tmp);
    if (st == OWP_OK && rename(tmp, path) != 0)
        st = owp_err_sys(err, "rename %s to %s", tmp, path);
    if (st != OWP_OK) {
        unlink(tmp);
        return st;
    }
    return durable ? sync_parent(path, err) : OWP_OK;
}

owp_status agent_store_write_file(const char *path, const void *data, size_t len, owp_err *err)
{
    char tmp[STORE_PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return owp_err_set(err, OWP_ERR_INVALID, "%s: path too long", path);
    return agent_store_write_via(path, tmp, data, len, 1, err);
}

owp_status agent_store_save_schedule(const char *path, const owm_msg_schedule *schedule,
                                     owp_err *err)
{
    owm_msg env;
    owm_msg_wrap(&env, OWM_MSG_SCHEDULE, schedule); /* only encoded, never freed */
    uint8_t *buf = NULL;
    size_t len = 0;
    owp_status st = owm_msg_encode(&env, &buf, &len, err);
    if (st != OWP_OK) {
        owp_err_prefix(err, "%s", path);
        return st;
    }
    st = agent_store_write_file(path, buf, len, err);
    free(buf);
    return st;
}

/* The whole file, at most OWM_MSG_MAX_SIZE bytes. */
static owp_status read_small_file(const char *path, uint8_t **buf, size_t *len, int *missing,
                                  owp_err *err)
{
    *buf = NULL;
    *len = 0;
    *missing = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (errno == ENOENT) {
            *missing = 1;
            return OWP_OK;
        }
        return owp_err_sys(err, "open %s", path);
    }
    uint8_t *data = malloc(OWM_MSG_MAX_SIZE + 1);
    if (!data) {
        fclose(fp);
        return owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t n = fread(data, 1, OWM_MSG_MAX_SIZE + 1, fp);
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        free(data);
        return owp_err_set(err, OWP_ERR_SYS, "read %s: I/O error", path);
    }
    if (n > OWM_MSG_MAX_SIZE) {
        free(data);
        return owp_err_set(err, OWP_ERR_FORMAT, "%s: larger than %u bytes: not a saved schedule",
                           path, OWM_MSG_MAX_SIZE);
    }
    *buf = data;
    *len = n;
    return OWP_OK;
}

owp_status agent_store_load_schedule(const char *path, owm_msg **out, owp_err *err)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    int missing;
    owp_status st = read_small_file(path, &buf, &len, &missing, err);
    if (st != OWP_OK || missing)
        return st;
    if (len == 0) {
        free(buf);
        return owp_err_set(err, OWP_ERR_FORMAT, "%s: empty file: not a saved schedule", path);
    }
    owm_msg *env = NULL;
    st = owm_msg_decode(buf, len, &env, NULL, err);
    free(buf);
    if (st != OWP_OK) {
        owp_err_prefix(err, "%s", path);
        return st;
    }
    if (env->kind != OWM_MSG_SCHEDULE) {
        const char *kind = owm_msg_kind_name(env->kind);
        owm_msg_free(&env);
        return owp_err_set(err, OWP_ERR_PROTO, "%s: holds a %s message, not a Schedule", path,
                           kind);
    }
    *out = env;
    return OWP_OK;
}

owp_status agent_store_set_aside(const char *path, owp_err *err)
{
    char aside[STORE_PATH_MAX];
    if ((size_t)snprintf(aside, sizeof aside, "%s.corrupt", path) >= sizeof aside)
        return owp_err_set(err, OWP_ERR_INVALID, "%s: path too long", path);
    if (rename(path, aside) != 0)
        return owp_err_sys(err, "rename %s to %s", path, aside);
    return OWP_OK;
}

owp_status agent_store_save_alive(const char *path, owp_num64 t, owp_err *err)
{
    char tmp[STORE_PATH_MAX], text[64];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return owp_err_set(err, OWP_ERR_INVALID, "%s: path too long", path);
    int len = snprintf(text, sizeof text, ALIVE_TAG "%" PRIu64 "\n", (uint64_t)t);
    return agent_store_write_via(path, tmp, text, (size_t)len, 0, err);
}

owp_status agent_store_load_alive(const char *path, owp_num64 *t, owp_err *err)
{
    *t = 0;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return errno == ENOENT ? OWP_OK : owp_err_sys(err, "open %s", path);
    char line[64];
    int got = fgets(line, sizeof line, fp) != NULL;
    fclose(fp);
    size_t tag = strlen(ALIVE_TAG);
    char *end = NULL;
    uint64_t v = 0;
    if (got && strncmp(line, ALIVE_TAG, tag) == 0 && line[tag] >= '0' && line[tag] <= '9') {
        errno = 0;
        v = strtoull(line + tag, &end, 10);
    }
    if (!end || errno || *end != '\n' || v == 0)
        return owp_err_set(err, OWP_ERR_FORMAT, "%s: not a heartbeat file (\"" ALIVE_TAG "T\")",
                           path);
    *t = v;
    return OWP_OK;
}
