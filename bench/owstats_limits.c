/*
 * owstats_limits.c - bench_owstats' limits and binary timings (see
 * owstats_limits.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fopencookie */
#endif
#include "owstats_limits.h"

#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fmt.h"
#include "owpfile.h"

#define FORMAT_MAX_RECORDS (1u << 20)
#define WRITE_CHUNK (1u << 24)

extern char **environ;

double limit_read_file(const char *path, uint64_t size, int repeats)
{
    uint8_t *buf = malloc(size ? size : 1);
    double best = INFINITY;
    for (int i = 0; buf && i < repeats; i++) {
        double t0 = owp_clock_monotonic();
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            break;
        uint64_t got = 0;
        ssize_t n;
        while (got < size && (n = read(fd, buf + got, size - got)) > 0)
            got += (uint64_t)n;
        close(fd);
        double dt = owp_clock_monotonic() - t0;
        if (got == size && dt < best)
            best = dt;
    }
    free(buf);
    return isinf(best) ? -1 : best;
}

double limit_write_bytes(uint64_t n, int repeats)
{
    size_t chunk = n < WRITE_CHUNK ? (size_t)n : WRITE_CHUNK;
    char *buf = malloc(chunk ? chunk : 1);
    FILE *out = fopen("/dev/null", "w");
    double best = INFINITY;
    if (buf && out) {
        memset(buf, 'x', chunk);
        for (int i = 0; i < repeats; i++) {
            double t0 = owp_clock_monotonic();
            for (uint64_t left = n; left > 0;) {
                size_t k = left < chunk ? (size_t)left : chunk;
                if (fwrite(buf, 1, k, out) != k)
                    break;
                left -= k;
            }
            fflush(out);
            double dt = owp_clock_monotonic() - t0;
            if (dt < best)
                best = dt;
        }
    }
    if (out)
        fclose(out);
    free(buf);
    return isinf(best) ? -1 : best;
}

typedef struct record_list {
    owp_record *v;
    uint32_t n, cap;
    uint64_t total;
} record_list;

static int keep_record(const owp_record *r, void *arg)
{
    record_list *l = arg;
    l->total++;
    if (l->n < l->cap)
        l->v[l->n++] = *r;
    return 0;
}

static volatile size_t format_sink; /* the formatted bytes the compiler must not drop */

double limit_format_raw(const char *path, uint64_t *records, int repeats)
{
    record_list l = {malloc(FORMAT_MAX_RECORDS * sizeof *l.v), 0, FORMAT_MAX_RECORDS, 0};
    owp_fmt_errest_memo *memo = malloc(sizeof *memo);
    char *buf = malloc(1u << 16);
    FILE *fp = fopen(path, "rb");
    owp_file *f = fp ? owp_file_read(fp, path, NULL) : NULL;
    double best = INFINITY;
    if (l.v && memo && buf && f && owp_file_each_record(f, 0, keep_record, &l, NULL) == OWP_OK) {
        for (int i = 0; i < repeats; i++) {
            owp_fmt_errest_memo_init(memo);
            size_t written = 0;
            char *p = buf;
            double t0 = owp_clock_monotonic();
            for (uint32_t k = 0; k < l.n; k++) {
                if ((size_t)(buf + (1u << 16) - p) < OWP_FMT_RAW_ROOM) {
                    written += (size_t)(p - buf);
                    p = buf;
                }
                p = owp_fmt_raw_record(memo, p, &l.v[k], '\n');
            }
            double dt = owp_clock_monotonic() - t0;
            format_sink += written + (size_t)(p - buf);
            if (dt < best)
                best = dt;
        }
    }
    *records = l.total;
    owp_file_destroy(&f);
    if (fp)
        fclose(fp);
    free(buf);
    free(memo);
    free(l.v);
    if (isinf(best) || l.n == 0)
        return -1;
    return best * (double)l.total / l.n;
}

static ssize_t count_write(void *cookie, const char *buf, size_t n)
{
    (void)buf;
    *(uint64_t *)cookie += n;
    return (ssize_t)n;
}

FILE *counting_file(uint64_t *count)
{
    cookie_io_functions_t io = {.write = count_write};
    *count = 0;
    return fopencookie(count, "w", io);
}

static double run_once(const char *prog, char *const *argv)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    double t0 = owp_clock_monotonic();
    int rc = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    if (rc != 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    double dt = owp_clock_monotonic() - t0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? dt : -1;
}

double time_binary(const char *prog, const char *const *options, const char *file, int repeats)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = (char *)(uintptr_t)prog;
    for (int i = 0; options[i] && argc < 14; i++)
        argv[argc++] = (char *)(uintptr_t)options[i];
    argv[argc++] = (char *)(uintptr_t)file;
    argv[argc] = NULL;
    double best = INFINITY;
    for (int i = 0; i < repeats; i++) {
        double dt = run_once(prog, argv);
        if (dt < 0)
            return -1;
        if (dt < best)
            best = dt;
    }
    return best;
}

double load_average(void)
{
    double load;
    return getloadavg(&load, 1) == 1 ? load : -1;
}
