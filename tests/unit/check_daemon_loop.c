/* check_daemon_loop.c - the mesh daemons' event loop (daemon/daemon_loop.h):
 * SIGHUP reloads between events and the loop goes on, SIGTERM/SIGINT end it
 * with 0, a stop during start-up ends it at once, a handler's -1 ends it with
 * -1, readers are called while readable and not after reader_end. Each test
 * runs in its own process (Check's fork mode), so the signal flags are fresh. */
#include <check.h>
#include <signal.h>
#include <time.h>

#include "clock.h"
#include "daemon_loop.h"
#include "testutil.h"

typedef struct probe {
    daemon_loop *loop;
    int reloads;
    int ticks;
    int reads;
    int reload_seen_at_tick; /* the tick on which the reload had happened */
} probe;

static daemon_loop *new_loop(void)
{
    owp_err err;
    owp_err_clear(&err);
    daemon_loop *loop = daemon_loop_new(&err);
    ck_assert_msg(loop != NULL, "daemon_loop_new: %s", err.msg);
    return loop;
}

static void on_reload(daemon_loop *loop, void *arg)
{
    probe *p = arg;
    ck_assert_ptr_eq(loop, p->loop);
    p->reloads++;
}

/* Tick 1 raises SIGHUP; the tick after the reload raises SIGTERM. */
static int hup_then_term(zloop_t *zl, int id, void *arg)
{
    probe *p = arg;
    p->ticks++;
    if (p->ticks == 1)
        raise(SIGHUP);
    else if (p->reloads > 0 && !p->reload_seen_at_tick) {
        p->reload_seen_at_tick = p->ticks;
        raise(SIGTERM);
    } else if (p->ticks > 200)
        return -1; /* the signal never arrived: fail, do not hang */
    return 0;
}

START_TEST(hup_reloads_and_term_stops)
{
    probe p = {0};
    p.loop = new_loop();
    daemon_loop_on_reload(p.loop, on_reload, &p);
    ck_assert_int_ge(daemon_loop_timer(p.loop, 5, hup_then_term, &p), 0);
    ck_assert_int_eq(daemon_loop_run(p.loop), 0);
    ck_assert_int_eq(p.reloads, 1);
    /* The reload came between ticks, and the loop went on after it. */
    ck_assert_int_ge(p.reload_seen_at_tick, 2);
    daemon_loop_destroy(&p.loop);
    ck_assert_ptr_null(p.loop);
}
END_TEST

static int never_called(zloop_t *zl, int id, void *arg)
{
    ((probe *)arg)->ticks++;
    return -1;
}

START_TEST(stop_during_start_up_ends_at_once)
{
    probe p = {0};
    p.loop = new_loop();
    ck_assert_int_ge(daemon_loop_timer(p.loop, 2000, never_called, &p), 0);
    raise(SIGINT);
    double t0 = owp_clock_monotonic();
    ck_assert_int_eq(daemon_loop_run(p.loop), 0);
    ck_assert(owp_clock_monotonic() - t0 < 1.0);
    ck_assert_int_eq(p.ticks, 0);
    daemon_loop_destroy(&p.loop);
}
END_TEST

static int fail_on_third(zloop_t *zl, int id, void *arg)
{
    probe *p = arg;
    return ++p->ticks == 3 ? -1 : 0;
}

START_TEST(handler_failure_ends_with_minus_one)
{
    probe p = {0};
    p.loop = new_loop();
    ck_assert_int_ge(daemon_loop_timer(p.loop, 2, fail_on_third, &p), 0);
    ck_assert_int_eq(daemon_loop_run(p.loop), -1);
    ck_assert_int_eq(p.ticks, 3);
    daemon_loop_destroy(&p.loop);
}
END_TEST

typedef struct reader_probe {
    probe p;
    zsock_t *in;
    zsock_t *out;
} reader_probe;

static int on_readable(zloop_t *zl, zsock_t *sock, void *arg)
{
    reader_probe *r = arg;
    char *s = zstr_recv(r->in);
    ck_assert_str_eq(s, "ping");
    zstr_free(&s);
    if (++r->p.reads == 2)
        daemon_loop_reader_end(r->p.loop, r->in); /* the third must not come */
    return 0;
}

/* Sends three messages, one per tick, then stops the loop two ticks later. */
static int send_then_stop(zloop_t *zl, int id, void *arg)
{
    reader_probe *r = arg;
    r->p.ticks++;
    if (r->p.ticks <= 3)
        zstr_send(r->out, "ping");
    else if (r->p.ticks == 6)
        raise(SIGTERM);
    return 0;
}

START_TEST(reader_called_until_ended)
{
    reader_probe r = {0};
    r.p.loop = new_loop();
    r.in = zsock_new_pair("@inproc://check_daemon_loop");
    r.out = zsock_new_pair(">inproc://check_daemon_loop");
    ck_assert(r.in && r.out);
    ck_assert_int_eq(daemon_loop_reader(r.p.loop, r.in, on_readable, &r), 0);
    ck_assert_int_ge(daemon_loop_timer(r.p.loop, 5, send_then_stop, &r), 0);
    ck_assert_int_eq(daemon_loop_run(r.p.loop), 0);
    ck_assert_int_eq(r.p.reads, 2);
    /* The third message is still queued: nobody read it after reader_end. */
    zsock_set_rcvtimeo(r.in, 0);
    char *left = zstr_recv(r.in);
    ck_assert_str_eq(left, "ping");
    zstr_free(&left);
    daemon_loop_destroy(&r.p.loop);
    zsock_destroy(&r.out);
    zsock_destroy(&r.in);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("daemon_loop");
    TCase *tc = tcase_create("loop");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, hup_reloads_and_term_stops);
    tcase_add_test(tc, stop_during_start_up_ends_at_once);
    tcase_add_test(tc, handler_failure_ends_with_minus_one);
    tcase_add_test(tc, reader_called_until_ended);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
