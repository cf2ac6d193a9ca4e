/*
 * check_agent_owampd.c - the node agent's owampd supervision
 * (agent_owampd.h) with a fake "owampd": a shell script that records its
 * command line, then exits, hangs, or hangs ignoring SIGTERM.
 *
 * What the header promises: nothing starts before the first tick; the
 * child gets -Z -S -d -R and -U/-G/-c/-P/-a only when set, never -f (an
 * owampd must not stay root); a dead child is
 * restarted after 1 s, doubling up to 60 s, back to 1 s once it ran a minute;
 * a hold delays the first start until its time or a release; new settings
 * restart the child at once; stopping is SIGTERM, then SIGKILL after 5 s.
 * Time is the `now` the test passes to tick, so the back-off is checked
 * without waiting for it.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent_owampd.h"
#include "clock.h"
#include "daemon_log.h"
#include "testutil.h"

#define PATH_LEN 4096
#define WAIT_SECONDS 5.0
#define LISTEN "127.0.0.1:8610"

/* The fakes append their arguments to "runs" next to themselves. */
static const char exits_script[] = "#!/bin/sh\n"
                                   "echo \"$*\" >> \"$(dirname \"$0\")/runs\"\n"
                                   "exit 3\n";
static const char hangs_script[] = "#!/bin/sh\n"
                                   "echo \"$*\" >> \"$(dirname \"$0\")/runs\"\n"
                                   "exec sleep 600\n";
/* SIG_IGN survives exec, so sleep ignores SIGTERM too. */
static const char stubborn_script[] = "#!/bin/sh\n"
                                      "trap '' TERM\n"
                                      "echo \"$*\" >> \"$(dirname \"$0\")/runs\"\n"
                                      "exec sleep 600\n";

/* ------------------------------------------------------------------ the fixture */

static char datadir[PATH_LEN], vardir[PATH_LEN], program[PATH_LEN], runs[PATH_LEN];

static void supervision_setup(void)
{
    tu_dir_setup();
    snprintf(datadir, sizeof datadir, "%s/data", tu_dir);
    snprintf(vardir, sizeof vardir, "%s/var", tu_dir);
    snprintf(program, sizeof program, "%s/owampd", tu_dir);
    snprintf(runs, sizeof runs, "%s/runs", tu_dir);
    daemon_log_set_syslog(0);
    daemon_log_open("check_agent_owampd", LOG_DAEMON, LOG_DEBUG, 1);
    tu_stderr_capture();
}

static void supervision_teardown(void)
{
    rmdir(datadir);
    rmdir(vardir);
    tu_dir_teardown();
}

static void install_fake(const char *script)
{
    free(tu_write_file(tu_dir, "owampd", script));
    ck_assert_int_eq(chmod(program, 0755), 0);
}

static agent_owampd_config base_config(void)
{
    agent_owampd_config c = {
        .program = program, .node = "n1", .listen = LISTEN, .datadir = datadir,
        .vardir = vardir, .copy_stderr = 0,
    };
    return c;
}

static agent_owampd *supervisor(const agent_owampd_config *c)
{
    owp_err err;
    agent_owampd *o = agent_owampd_new(c, &err);
    ck_assert_msg(o != NULL, "%s", err.msg);
    return o;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Lines the fakes wrote so far (each run writes one). */
static int count_runs(void)
{
    if (access(runs, F_OK) != 0)
        return 0;
    char *text = tu_read_file(runs, NULL);
    int n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    free(text);
    return n;
}

static void wait_for_runs(int n)
{
    double deadline = owp_clock_monotonic() + WAIT_SECONDS;
    while (count_runs() < n) {
        ck_assert_msg(owp_clock_monotonic() < deadline, "the fake owampd ran %d times, not %d",
                      count_runs(), n);
        sleep_ms(10);
    }
}

/* The command line of run n (1-based), without the trailing newline. */
static char *run_args(int n)
{
    char *text = tu_read_file(runs, NULL);
    char *line = text;
    for (int i = 1; i < n; i++) {
        line = strchr(line, '\n');
        ck_assert_ptr_nonnull(line);
        line++;
    }
    char *end = strchr(line, '\n');
    ck_assert_ptr_nonnull(end);
    *end = '\0';
    char *copy = strdup(line);
    free(text);
    return copy;
}

/* Tick at the (virtual) time now until the dead child is reaped. */
static void tick_until_reaped(agent_owampd *o, double now)
{
    double deadline = owp_clock_monotonic() + WAIT_SECONDS;
    for (;;) {
        agent_owampd_tick(o, now);
        if (agent_owampd_pid(o) == 0)
            return;
        ck_assert_msg(owp_clock_monotonic() < deadline, "the child never exited");
        sleep_ms(10);
    }
}

/* A pid that was reaped is no process of ours any more. */
static void assert_gone(pid_t pid)
{
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
}

static int log_count(const char *what)
{
    char *text = tu_stderr_text();
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    free(text);
    return n;
}

/* What every command line starts with, root or not: never "-f". */
static const char *leading_args(void)
{
    return "-Z";
}

/* Run n (1-based) of the fake had the command line owampd gets with -S
 * listen and the fixture's directories, then extra (" -P 9000-9010"). */
static void assert_run(int n, const char *listen, const char *extra)
{
    wait_for_runs(n);
    char want[3 * PATH_LEN], *got = run_args(n);
    snprintf(want, sizeof want, "%s -S %s -d %s -R %s%s", leading_args(), listen, datadir,
             vardir, extra);
    ck_assert_str_eq(got, want);
    free(got);
}

/* A supervisor of the fake script with the fixture's settings, not ticked yet. */
static agent_owampd *idle(const char *script)
{
    install_fake(script);
    agent_owampd_config c = base_config();
    return supervisor(&c);
}

/* The same, its child started by the first tick and running the script. */
static agent_owampd *started(const char *script)
{
    agent_owampd *o = idle(script);
    agent_owampd_tick(o, 0);
    ck_assert_int_gt(agent_owampd_pid(o), 0);
    wait_for_runs(1);
    return o;
}

/* ------------------------------------------------------------------ settings */

START_TEST(new_needs_program_listen_and_directories)
{
    owp_err err;
    ck_assert_ptr_null(agent_owampd_new(NULL, &err));
    ck_assert_int_eq(err.code, OWP_ERR_INVALID);
    const char **fields[] = {NULL, NULL, NULL, NULL};
    agent_owampd_config c = base_config();
    fields[0] = &c.program;
    fields[1] = &c.listen;
    fields[2] = &c.datadir;
    fields[3] = &c.vardir;
    for (int i = 0; i < 4; i++) {
        c = base_config();
        *fields[i] = NULL;
        ck_assert_msg(agent_owampd_new(&c, &err) == NULL, "field %d missing, still made", i);
        ck_assert_int_eq(err.code, OWP_ERR_INVALID);
    }
}
END_TEST

START_TEST(first_tick_starts_with_every_setting)
{
    install_fake(hangs_script);
    agent_owampd_config c = base_config();
    c.confdir = "/etc/owmesh/owampd";
    c.testports = "9000-9010";
    c.authmode = "AE";
    agent_owampd *o = supervisor(&c);
    ck_assert_int_eq(agent_owampd_pid(o), 0);
    ck_assert_uint_eq(agent_owampd_starts(o), 0);
    ck_assert_int_ne(access(datadir, F_OK), 0); /* nothing happens before the first tick */

    agent_owampd_tick(o, 0);
    ck_assert_int_gt(agent_owampd_pid(o), 0);
    ck_assert_uint_eq(agent_owampd_starts(o), 1);
    assert_run(1, LISTEN, " -c /etc/owmesh/owampd -P 9000-9010 -a AE");
    struct stat st;
    ck_assert_int_eq(stat(datadir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(stat(vardir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));

    /* A running child is left alone by later ticks. */
    pid_t pid = agent_owampd_pid(o);
    agent_owampd_tick(o, 100);
    ck_assert_int_eq(agent_owampd_pid(o), pid);
    ck_assert_uint_eq(agent_owampd_starts(o), 1);
    agent_owampd_destroy(&o);
    ck_assert_ptr_null(o);
    assert_gone(pid);
    agent_owampd_destroy(&o); /* a second destroy does nothing */
}
END_TEST

START_TEST(unset_settings_are_left_out)
{
    agent_owampd *o = started(exits_script);
    assert_run(1, LISTEN, "");
    agent_owampd_destroy(&o);
}
END_TEST

/* The node's run-as user and group go to owampd, which drops to them
 * itself when started as root; -f (stay root) never. */
START_TEST(run_as_user_and_group_are_passed)
{
    install_fake(exits_script);
    agent_owampd_config c = base_config();
    c.run_user = "nobody";
    c.run_group = "nogroup";
    agent_owampd *o = supervisor(&c);
    agent_owampd_tick(o, 0);
    wait_for_runs(1);
    char want[3 * PATH_LEN], *got = run_args(1);
    snprintf(want, sizeof want, "-Z -U nobody -G nogroup -S %s -d %s -R %s", LISTEN, datadir,
             vardir);
    ck_assert_str_eq(got, want);
    ck_assert_ptr_null(strstr(got, "-f"));
    free(got);
    agent_owampd_destroy(&o);
}
END_TEST

/* ------------------------------------------------------------------ restarts */

/* A child that keeps dying: 1, 2, 4 ... 32 s, then 60 s, and 60 s again. */
START_TEST(dead_child_restarts_with_backoff)
{
    agent_owampd *o = started(exits_script);
    const double delays[] = {1, 2, 4, 8, 16, 32, 60, 60};
    double now = 0;
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        unsigned starts = agent_owampd_starts(o);
        tick_until_reaped(o, now);
        agent_owampd_tick(o, now + delays[i] - 0.01);
        ck_assert_msg(agent_owampd_starts(o) == starts, "restart %zu came before %g s", i,
                      delays[i]);
        now += delays[i];
        agent_owampd_tick(o, now);
        ck_assert_msg(agent_owampd_starts(o) == starts + 1, "no restart %zu after %g s", i,
                      delays[i]);
    }
    tick_until_reaped(o, now);
    ck_assert_int_eq(log_count("exited with status 3: restarting in 1 s"), 1);
    ck_assert_int_eq(log_count("exited with status 3: restarting in 60 s"), 3);
    agent_owampd_destroy(&o);
}
END_TEST

/* After a minute's run the next restart waits 1 s again. */
START_TEST(stable_run_resets_the_backoff)
{
    agent_owampd *o = started(exits_script);
    tick_until_reaped(o, 0); /* next in 1 s */
    agent_owampd_tick(o, 1);
    tick_until_reaped(o, 1); /* next in 2 s */
    agent_owampd_tick(o, 3);
    ck_assert_uint_eq(agent_owampd_starts(o), 3);
    tick_until_reaped(o, 63); /* it ran 60 s */
    agent_owampd_tick(o, 63.99);
    ck_assert_uint_eq(agent_owampd_starts(o), 3);
    agent_owampd_tick(o, 64);
    ck_assert_uint_eq(agent_owampd_starts(o), 4);
    agent_owampd_destroy(&o);
}
END_TEST

/* A program that cannot run is tried again with the same back-off. */
START_TEST(missing_program_is_retried_with_backoff)
{
    agent_owampd_config c = base_config(); /* no fake installed */
    agent_owampd *o = supervisor(&c);
    const char *why = "cannot run";
    agent_owampd_tick(o, 0);
    ck_assert_int_eq(agent_owampd_pid(o), 0);
    ck_assert_int_eq(log_count(why), 1);
    agent_owampd_tick(o, 0.99);
    ck_assert_int_eq(log_count(why), 1);
    agent_owampd_tick(o, 1);
    ck_assert_int_eq(log_count(why), 2);
    agent_owampd_tick(o, 2.99);
    ck_assert_int_eq(log_count(why), 2);
    agent_owampd_tick(o, 3);
    ck_assert_int_eq(log_count(why), 3);
    ck_assert_uint_eq(agent_owampd_starts(o), 0);
    /* Once the program is there, the next due attempt starts it. */
    install_fake(hangs_script);
    agent_owampd_tick(o, 7);
    ck_assert_int_gt(agent_owampd_pid(o), 0);
    agent_owampd_destroy(&o);
}
END_TEST

/* ------------------------------------------------------------------ hold, release, reconfigure */

START_TEST(hold_delays_the_first_start)
{
    agent_owampd *o = idle(hangs_script);
    agent_owampd_hold(o, 10);
    agent_owampd_tick(o, 9.99);
    ck_assert_uint_eq(agent_owampd_starts(o), 0);
    agent_owampd_tick(o, 10);
    ck_assert_uint_eq(agent_owampd_starts(o), 1);
    ck_assert_int_eq(log_count("no schedule yet"), 1);
    agent_owampd_destroy(&o);

    /* A release (the first schedule came) lifts the hold at once. */
    o = idle(hangs_script);
    agent_owampd_hold(o, 10);
    agent_owampd_release(o);
    agent_owampd_tick(o, 0);
    ck_assert_uint_eq(agent_owampd_starts(o), 1);
    ck_assert_int_eq(log_count("no schedule yet"), 1);
    agent_owampd_destroy(&o);
}
END_TEST

START_TEST(new_settings_restart_the_child_at_once)
{
    agent_owampd *o = started(hangs_script);
    pid_t first = agent_owampd_pid(o);
    /* The same values, or none: nothing to do. */
    ck_assert_int_eq(agent_owampd_reconfigure(o, LISTEN, NULL, NULL), 0);
    ck_assert_int_eq(agent_owampd_reconfigure(o, NULL, NULL, NULL), 0);
    ck_assert_int_eq(agent_owampd_pid(o), first);

    ck_assert_int_eq(agent_owampd_reconfigure(o, "127.0.0.1:8611", "9100-9110", NULL), 1);
    ck_assert_int_eq(agent_owampd_pid(o), 0);
    assert_gone(first);
    agent_owampd_tick(o, 0); /* no back-off */
    ck_assert_int_gt(agent_owampd_pid(o), 0);
    assert_run(2, "127.0.0.1:8611", " -P 9100-9110");
    agent_owampd_destroy(&o);
}
END_TEST

/* Settings that change before anything ran are simply the first ones. */
START_TEST(new_settings_before_the_first_start)
{
    agent_owampd *o = idle(exits_script);
    ck_assert_int_eq(agent_owampd_reconfigure(o, NULL, NULL, "O"), 1);
    ck_assert_uint_eq(agent_owampd_starts(o), 0);
    agent_owampd_tick(o, 0);
    assert_run(1, LISTEN, " -a O");
    agent_owampd_destroy(&o);
}
END_TEST

/* ------------------------------------------------------------------ stopping */

START_TEST(stop_is_sigterm)
{
    agent_owampd *o = started(hangs_script);
    pid_t pid = agent_owampd_pid(o);
    double t0 = owp_clock_monotonic();
    agent_owampd_destroy(&o);
    ck_assert(owp_clock_monotonic() - t0 < 4.0); /* no need to wait out the grace */
    assert_gone(pid);
    ck_assert_int_eq(log_count("stopped"), 1);
    ck_assert_int_eq(log_count("SIGKILL"), 0);
}
END_TEST

START_TEST(stubborn_child_gets_sigkill_after_5_s)
{
    agent_owampd *o = started(stubborn_script); /* its trap is set */
    pid_t pid = agent_owampd_pid(o);
    double t0 = owp_clock_monotonic();
    agent_owampd_destroy(&o);
    double took = owp_clock_monotonic() - t0;
    ck_assert_msg(took >= 5.0 && took < 8.0, "stopping took %g s", took);
    assert_gone(pid);
    ck_assert_int_eq(log_count("still running 5 s after SIGTERM: SIGKILL"), 1);
}
END_TEST

/* ------------------------------------------------------------------ the default program */

START_TEST(default_program_is_next_to_the_executable)
{
    char buf[PATH_LEN], exe[PATH_LEN];
    ck_assert_int_eq(agent_owampd_default_program(buf, sizeof buf), 0);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    size_t dl = strlen(exe);
    if (dl >= 6 && strcmp(exe + dl - 6, "/.libs") == 0) /* libtool's wrapper sits above */
        exe[dl - 6] = '\0';
    strcat(exe, "/owampd");
    ck_assert_str_eq(buf, exe);
    ck_assert_int_eq(agent_owampd_default_program(buf, strlen(exe)), -1); /* no room for the NUL */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("agent_owampd");
    TCase *tc = tcase_create("settings");
    tcase_add_checked_fixture(tc, supervision_setup, supervision_teardown);
    tcase_add_test(tc, new_needs_program_listen_and_directories);
    tcase_add_test(tc, first_tick_starts_with_every_setting);
    tcase_add_test(tc, unset_settings_are_left_out);
    tcase_add_test(tc, run_as_user_and_group_are_passed);
    tcase_add_test(tc, default_program_is_next_to_the_executable);
    suite_add_tcase(s, tc);

    tc = tcase_create("restarts");
    tcase_add_checked_fixture(tc, supervision_setup, supervision_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, dead_child_restarts_with_backoff);
    tcase_add_test(tc, stable_run_resets_the_backoff);
    tcase_add_test(tc, missing_program_is_retried_with_backoff);
    tcase_add_test(tc, hold_delays_the_first_start);
    tcase_add_test(tc, new_settings_restart_the_child_at_once);
    tcase_add_test(tc, new_settings_before_the_first_start);
    suite_add_tcase(s, tc);

    tc = tcase_create("stopping");
    tcase_add_checked_fixture(tc, supervision_setup, supervision_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, stop_is_sigterm);
    tcase_add_test(tc, stubborn_child_gets_sigkill_after_5_s);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
