/*
 * check_daemon_service.c - how a mesh daemon runs (daemon/daemon_service.h):
 * systemd is recognised by $INVOCATION_ID or $JOURNAL_STREAM; -Z or systemd
 * keep the daemon in the foreground (no fork); otherwise it detaches into a
 * new session and the waiting parent exits 0 once the daemon is ready, 1
 * when the daemon ended first.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_service.h"
#include "testutil.h"

static void no_systemd(void)
{
    unsetenv("INVOCATION_ID");
    unsetenv("JOURNAL_STREAM");
}

START_TEST(systemd_is_recognised_by_its_environment)
{
    no_systemd();
    ck_assert_int_eq(daemon_service_under_systemd(), 0);
    ck_assert_int_eq(daemon_service_stays_foreground(0), 0);
    ck_assert_int_eq(daemon_service_stays_foreground(1), 1); /* -Z */
    setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
    ck_assert_int_eq(daemon_service_under_systemd(), 1);
    ck_assert_int_eq(daemon_service_stays_foreground(0), 1);
    no_systemd();
    setenv("JOURNAL_STREAM", "8:12345", 1);
    ck_assert_int_eq(daemon_service_under_systemd(), 1);
    setenv("JOURNAL_STREAM", "", 1); /* empty is unset */
    ck_assert_int_eq(daemon_service_under_systemd(), 0);
}
END_TEST

START_TEST(foreground_does_not_fork)
{
    no_systemd();
    pid_t before = getpid();
    owp_err err = {0};
    ck_assert_int_eq(daemon_service_detach(1, &err), OWP_OK);
    ck_assert_int_eq(getpid(), before);
    setenv("INVOCATION_ID", "x", 1);
    ck_assert_int_eq(daemon_service_detach(0, &err), OWP_OK);
    ck_assert_int_eq(getpid(), before);
    daemon_service_ready(); /* nobody waits: nothing happens */
}
END_TEST

/* A child that detaches; the daemon it leaves behind reports its session id
 * on the pipe, then is ready (or exits 3 first when !ready). The child's
 * exit status, the parent's verdict, is returned. */
static int detach_in_child(int ready, pid_t *daemon_sid)
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pfd[0]);
        no_systemd();
        owp_err err = {0};
        if (daemon_service_detach(0, &err) != OWP_OK)
            _exit(9);
        pid_t sid = getsid(0);
        if (write(pfd[1], &sid, sizeof sid) != (ssize_t)sizeof sid)
            _exit(8);
        close(pfd[1]);
        if (!ready)
            _exit(3);
        daemon_service_ready();
        daemon_service_ready(); /* a second time: nothing */
        _exit(0);
    }
    close(pfd[1]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(read(pfd[0], daemon_sid, sizeof *daemon_sid), (ssize_t)sizeof *daemon_sid);
    close(pfd[0]);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

START_TEST(detached_daemon_ready_parent_exits_0)
{
    pid_t sid = 0;
    ck_assert_int_eq(detach_in_child(1, &sid), 0);
    ck_assert_int_ne(sid, getsid(0)); /* a session of its own */
}
END_TEST

START_TEST(detached_daemon_failing_parent_exits_1)
{
    pid_t sid = 0;
    ck_assert_int_eq(detach_in_child(0, &sid), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("daemon_service");
    TCase *tc = tcase_create("service");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, systemd_is_recognised_by_its_environment);
    tcase_add_test(tc, foreground_does_not_fork);
    tcase_add_test(tc, detached_daemon_ready_parent_exits_0);
    tcase_add_test(tc, detached_daemon_failing_parent_exits_1);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
