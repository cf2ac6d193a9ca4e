/*
 * owampd_process.c - owampd becoming a daemon: the pid file (locked from
 * start-up on, so a second owampd on the same vardir stops at once), the
 * pid and info files, the fork that detaches from the terminal while the
 * starting process waits for the daemon's start-up status, the open-file
 * limit, and the final drop to the run-as user.
 *
 * Kept apart from owampd.c, which serves connections, because none of this
 * is about OWAMP: it is the reference's process contract (owamp-server.pid,
 * owamp-server.info, exit status of the starting command).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "owampd_process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon_log.h"


void owampd_process_lock_pid_file(daemon_state *d)
{
    snprintf(d->pid_path, sizeof d->pid_path, "%s/%s.pid", d->vardir, d->role->file_base);
    d->pid_fd = open(d->pid_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (d->pid_fd < 0 || fcntl(d->pid_fd, F_SETLK, &fl) != 0) {
        log_err("Unable to lock file %s: %s", d->pid_path, strerror(errno));
        exit(1);
    }
}

void owampd_process_raise_fd_limit(uint32_t maxsessions)
{
    struct rlimit rl;
    if (maxsessions == 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)maxsessions * 2;
    if (rl.rlim_cur < want && (rl.rlim_max == RLIM_INFINITY || want <= rl.rlim_max)) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void write_pid_files(daemon_state *d)
{
    pid_t pid = getpid();
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)pid);
    if (ftruncate(d->pid_fd, 0) != 0 || pwrite(d->pid_fd, buf, (size_t)n, 0) != n) {
        log_err("Unable to write %s: %s", d->pid_path, strerror(errno));
        exit(1);
    }
    char info[OWAMPD_PATH_MAX + 32];
    snprintf(info, sizeof info, "%s/%s.info", d->vardir, d->role->file_base);
    FILE *fp = fopen(info, "w");
    if (!fp) {
        log_err("Unable to open %s: %s", info, strerror(errno));
        exit(1);
    }
    fprintf(fp, "START=%020" PRIu64 "\nPID=%ld\n", (uint64_t)d->start_time, (long)pid);
    if (fclose(fp) != 0) {
        log_err("Unable to write %s: %s", info, strerror(errno));
        exit(1);
    }
}

/* The parent of owampd_process_daemonise: exit with the daemon's start-up status, read
 * from the start-up pipe. */
static _Noreturn void await_daemon(daemon_state *d, int pfd[2])
{
    close(pfd[1]);
    close(d->pid_fd); /* releases our lock so the daemon can take it */
    unsigned char status = 1;
    ssize_t r;
    do
        r = read(pfd[0], &status, 1);
    while (r < 0 && errno == EINTR);
    _exit(r == 1 ? status : 1);
}

static void stdio_to_dev_null(void)
{
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
}

/* Unless -Z: fork; the parent waits until the child has its pid file and
 * sockets ready and exits with the child's start-up status. Returns the
 * daemon's end of the start-up pipe (-1 with -Z). */
int owampd_process_daemonise(daemon_state *d)
{
    if (d->foreground) {
        setpgid(0, 0); /* our own process group: shutdown signals only our children */
        write_pid_files(d);
        return -1;
    }
    int pfd[2];
    if (pipe(pfd) != 0) {
        log_err("pipe: %s", strerror(errno));
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_err("fork: %s", strerror(errno));
        exit(1);
    }
    if (pid > 0)
        await_daemon(d, pfd);
    close(pfd[0]);
    setsid();
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int rc;
    do
        rc = fcntl(d->pid_fd, F_SETLKW, &fl);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        log_err("Unable to lock file %s: %s", d->pid_path, strerror(errno));
        exit(1);
    }
    write_pid_files(d);
    if (chdir("/") != 0)
        log_warn("chdir /: %s", strerror(errno));
    stdio_to_dev_null();
    return pfd[1];
}

void owampd_process_drop_privileges(daemon_state *d)
{
    if (geteuid() != 0)
        return;
    if (d->drop_gid) {
        if (setgroups(1, &d->run_gid) != 0 || setgid(d->run_gid) != 0) {
            log_err("Unable to setgid(%ld): %s", (long)d->run_gid, strerror(errno));
            exit(1);
        }
    }
    if (d->drop_uid && setuid(d->run_uid) != 0) {
        log_err("Unable to setuid(%ld): %s", (long)d->run_uid, strerror(errno));
        exit(1);
    }
}

/* Tell the waiting parent of owampd_process_daemonise that start-up succeeded. */
void owampd_process_report_started(int ready_fd)
{
    if (ready_fd < 0)
        return;
    unsigned char ok = 0;
    if (write(ready_fd, &ok, 1) != 1)
        log_warn("start-up pipe: %s", strerror(errno));
    close(ready_fd);
}
