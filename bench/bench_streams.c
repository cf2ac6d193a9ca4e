/*
 * bench_streams - how many concurrent 10 packets/s streams one node sustains
 * without loss: N stream engines (libowamp/stream.h) in this process receive
 * from one owampd on 127.0.0.1 that sends them all (so both sides of a node
 * are measured: owampd as the sender, the engine as the receiver). For each
 * N the run lasts one 10 s session (-c 100 -i 0.1, -L 2) per stream; the
 * report gives the packets lost and the CPU each side used, as a share of
 * one core.
 *
 *   bench_streams [-o path/to/owampd] [-p port] [N ...]   (default N: 10 50 100 200)
 *
 * Pin to 2 cores with `taskset -c 0,1 bench/bench_streams` for the figure
 * the issue asks for. Loopback only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "stream.h"

static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of every process in process group pgid (owampd and its children),
 * live ones only; the per-connection children live through the whole run. */
static double group_cpu(pid_t pgid)
{
    double total = 0;
    long hz = sysconf(_SC_CLK_TCK);
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], buf[1024];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (!p)
            continue;
        long pg = 0;
        unsigned long ut = 0, st = 0;
        /* fields after ')': state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
        if (sscanf(p + 2, "%*c %*d %ld %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pg, &ut, &st) ==
                3 &&
            pg == pgid)
            total += (double)(ut + st) / (double)hz;
    }
    if (d)
        closedir(d);
    return total;
}

static void rm_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static pid_t start_owampd(const char *owampd, const char *work, int port)
{
    char conf[4096], data[4096], lim[4200];
    snprintf(conf, sizeof conf, "%s/conf", work);
    snprintf(data, sizeof data, "%s/data", work);
    mkdir(conf, 0755);
    mkdir(data, 0755);
    snprintf(lim, sizeof lim, "%s/owamp-server.limits", conf);
    FILE *fp = fopen(lim, "w");
    if (fp) {
        fputs("limit root with delete_on_fetch=off\nassign default root\n", fp);
        fclose(fp);
    }
    snprintf(lim, sizeof lim, "%s/owamp-server.conf", conf);
    fp = fopen(lim, "w");
    if (fp) {
        /* Every stream comes from 127.0.0.1: the per-address set-up bound
         * (meant for the public) would measure the limit, not the server. */
        fputs("maxsetupperaddr 0\n", fp);
        fclose(fp);
    }
    pid_t pid = fork();
    if (pid == 0) {
        char sopt[64];
        snprintf(sopt, sizeof sopt, "127.0.0.1:%d", port);
        int null = open("/dev/null", 1);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execl(owampd, owampd, "-Z", "-f", "-c", conf, "-d", data, "-R", work, "-S", sopt,
              (char *)NULL);
        _exit(127);
    }
    sleep(1);
    return pid;
}

static int run_step(int nstreams, const char *server, const char *work, pid_t owampd)
{
    owp_stream **st = calloc((size_t)nstreams, sizeof *st);
    owp_stream_opts o;
    owp_stream_opts_default(&o);
    o.client.server = server;
    o.npackets = 100;
    o.interval = 0.1;
    o.loss_timeout = 2;
    o.start_delay = 3;
    o.retry_delay = 1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/out%d", work, nstreams);
    mkdir(dir, 0755);
    o.dir = dir;
    double cpu0 = self_cpu(), srv0 = group_cpu(owampd), t0 = owp_clock_monotonic();
    for (int i = 0; i < nstreams; i++) {
        owp_err err;
        st[i] = owp_stream_start(&o, &err);
        if (!st[i]) {
            fprintf(stderr, "stream %d: %s\n", i, err.msg);
            return -1;
        }
    }
    /* Wait until every stream has written its first session (or 40 s). */
    for (;;) {
        int done = 0;
        for (int i = 0; i < nstreams; i++) {
            owp_stream_counters c;
            owp_stream_get_counters(st[i], &c);
            done += c.sessions >= 1;
        }
        if (done == nstreams || owp_clock_monotonic() - t0 > 40)
            break;
        usleep(100000);
    }
    double cpu1 = self_cpu(), srv1 = group_cpu(owampd), t1 = owp_clock_monotonic();
    uint64_t lost = 0, sessions = 0, measured = 0, failures = 0;
    for (int i = 0; i < nstreams; i++) {
        owp_stream_counters c;
        owp_stream_get_counters(st[i], &c);
        lost += c.packets_lost;
        sessions += c.sessions;
        measured += c.sessions_measured;
        failures += c.connect_failures;
    }
    for (int i = 0; i < nstreams; i++)
        owp_stream_stop(st[i]);
    for (int i = 0; i < nstreams; i++)
        owp_stream_destroy(&st[i]);
    free(st);
    /* lost counts padding/unmeasured; add the lost records measured: read from
     * the .sum files would be exact, the engine counter covers padding only,
     * so count LOST lines. */
    char cmd[4400];
    snprintf(cmd, sizeof cmd,
             "cat '%s'/*.sum 2>/dev/null | awk -F'\\t' '$1==\"LOST\"{l+=$2} $1==\"SENT\"{s+=$2} "
             "END{printf \"%%d %%d\", s, l}'",
             dir);
    FILE *p = popen(cmd, "r");
    long sent = 0, lostsum = 0;
    if (p) {
        if (fscanf(p, "%ld %ld", &sent, &lostsum) != 2)
            sent = lostsum = 0;
        pclose(p);
    }
    double wall = t1 - t0;
    printf("%6d %8.1f %8ld %8ld %8llu %10.1f%% %10.1f%%\n", nstreams, wall, sent, lostsum,
           (unsigned long long)failures, 100 * (cpu1 - cpu0) / wall, 100 * (srv1 - srv0) / wall);
    fflush(stdout);
    (void)lost;
    (void)sessions;
    (void)measured;
    return 0;
}

int main(int argc, char **argv)
{
    const char *owampd = "node/owampd/owampd";
    int port = 0;
    int ch;
    while ((ch = getopt(argc, argv, "o:p:h")) != -1) {
        if (ch == 'o')
            owampd = optarg;
        else if (ch == 'p')
            port = atoi(optarg);
        else {
            fprintf(stderr, "usage: bench_streams [-o owampd] [-p port] [N ...]\n");
            return ch == 'h' ? 0 : 1;
        }
    }
    if (access(owampd, X_OK) != 0) {
        fprintf(stderr, "bench_streams: %s: %s (give -o path/to/owampd)\n", owampd,
                strerror(errno));
        return 1;
    }
    owp_err err;
    if (owp_clock_init(&err) != OWP_OK) {
        fprintf(stderr, "bench_streams: %s\n", err.msg);
        return 1;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (!port)
        port = 30000 + getpid() % 20000;
    char work[] = "/tmp/bench_streams.XXXXXX";
    if (!mkdtemp(work)) {
        perror("mkdtemp");
        return 1;
    }
    pid_t daemon = start_owampd(owampd, work, port);
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1:%d", port);
    printf("10 packets/s streams, one 10 s session each (owampd sends, the engine receives)\n");
    printf("%6s %8s %8s %8s %8s %11s %11s\n", "N", "wall s", "sent", "lost", "connfail",
           "engine CPU", "owampd CPU");
    static const int defaults[] = { 10, 50, 100, 200 };
    int nsteps = argc - optind > 0 ? argc - optind : 4;
    for (int i = 0; i < nsteps; i++) {
        int n = argc - optind > 0 ? atoi(argv[optind + i]) : defaults[i];
        if (n <= 0 || run_step(n, server, work, daemon) != 0)
            break;
    }
    kill(-daemon, SIGTERM);
    kill(daemon, SIGTERM);
    waitpid(daemon, NULL, 0);
    rm_tree(work);
    return 0;
}
