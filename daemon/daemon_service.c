/* daemon_service.c - foreground, systemd or detached (see daemon_service.h). */
#include "daemon_service.h"
#include "daemon_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The detached daemon's end of the start-up pipe; -1: nobody waits. */
static int ready_fd = -1;

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

int daemon_service_under_systemd(void)
{
    return env_set("INVOCATION_ID") || env_set("JOURNAL_STREAM");
}

int daemon_service_stays_foreground(int foreground_option)
{
    return foreground_option || daemon_service_under_systemd();
}

void daemon_service_print_version(const char *progname)
{
    printf("%s %s\n", progname, PACKAGE_VERSION);
}

/* The parent: wait for the byte that says the daemon is up. */
static _Noreturn void await_ready(pid_t child, int fd)
{
    unsigned char ok;
    ssize_t n;
    do
        n = read(fd, &ok, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1)
        _exit(0);
    /* The daemon ended before it was ready; it logged why. */
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    _exit(1);
}

/* Standard streams from first to last (0 to 2) on /dev/null. */
static void stdio_to_dev_null(int first, int last)
{
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return;
    for (int i = first; i <= last; i++)
        dup2(fd, i);
    if (fd > 2)
        close(fd);
}

owp_status daemon_service_detach(int foreground_option, owp_err *err)
{
    if (daemon_service_stays_foreground(foreground_option))
        return OWP_OK;
    int pfd[2];
    if (pipe(pfd) != 0)
        return owp_err_set(err, OWP_ERR_SYS, "cannot detach: pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return owp_err_set(err, OWP_ERR_SYS, "cannot detach: fork: %s", strerror(errno));
    }
    if (pid > 0) {
        close(pfd[1]);
        await_ready(pid, pfd[0]);
    }
    close(pfd[0]);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC); /* not inherited by owampd */
    ready_fd = pfd[1];
    setsid();
    /* No chdir("/"): the daemons keep using the relative paths of their
     * command line (data directory, spool) for as long as they run. */
    /* Standard error stays the starter's until the daemon is up: a start-up
     * failure is said there, not only in syslog. */
    stdio_to_dev_null(0, 1);
    daemon_log_set_problems_to_stderr(1);
    return OWP_OK;
}

void daemon_service_ready(void)
{
    if (ready_fd < 0)
        return;
    unsigned char ok = 0;
    ssize_t n;
    do
        n = write(ready_fd, &ok, 1);
    while (n < 0 && errno == EINTR);
    close(ready_fd);
    ready_fd = -1;
    daemon_log_set_problems_to_stderr(0);
    stdio_to_dev_null(2, 2);
}
