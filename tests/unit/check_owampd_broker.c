/*
 * check_owampd_broker.c - owampd's resource broker (owampd_broker.h): both
 * ends of the channel in one process. The test thread is the master (it
 * answers with owampd_broker_serve, as owampd's poll loop does); each policy hook
 * runs on a thread of its own, as on a connection child's control thread,
 * and asks over a real SOCK_SEQPACKET socketpair.
 *
 * What the header and the broker's design promise: grants are taken and
 * given back through the ledger, a refusal carries the ledger's Accept value,
 * a child that dies or sends a malformed message loses every grant it held,
 * a child may end only its own grants, a child whose master is gone fails
 * closed, and stored files are charged (or left unserved) at start-up.
 */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_log.h"
#include "owamp.h"
#include "owampd.h"
#include "owampd_broker.h"
#include "testutil.h"
#include "wire.h"

/* regular (the default class) has a disk limit and delete_on_fetch; closed
 * (10/8) has no open mode; root caps the bandwidth of everything. */
static const char limits_text[] = "limit root with bandwidth=1000000, disk=100000\n"
                                  "limit regular with parent=root, disk=10000, delete_on_fetch=on\n"
                                  "limit closed with parent=root, allow_open_mode=off\n"
                                  "assign default regular\n"
                                  "assign net 10.0.0.0/8 closed\n";

#define CHILD_PID 4242
#define OTHER_PID 4343
#define SERVE_TIMEOUT_MS 5000

/* ------------------------------------------------------------------ the fixture */

/* One connection child: the master's view (ch) and the child's (d). */
typedef struct test_child {
    child ch;
    daemon_state d;
    owp_server_policy policy;
} test_child;

static owp_limits *limits;
static owp_limits_ledger *ledger;
static test_child kid, other;
static struct sockaddr_in loopback, closed_peer;

static void child_open(test_child *t, pid_t pid)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    memset(t, 0, sizeof *t);
    t->ch.pid = pid;
    t->ch.fd = sv[0];
    t->d.limits = limits;
    t->d.owampd_broker_fd = sv[1];
    owampd_broker_policy_hooks(&t->policy, &t->d);
}

static void child_close(test_child *t)
{
    if (t->ch.fd >= 0)
        close(t->ch.fd);
    if (t->d.owampd_broker_fd >= 0)
        close(t->d.owampd_broker_fd);
    t->ch.fd = t->d.owampd_broker_fd = -1;
}

static struct sockaddr_in ipv4(const char *text)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(861)};
    ck_assert_int_eq(inet_pton(AF_INET, text, &sa.sin_addr), 1);
    return sa;
}

static void broker_setup(void)
{
    owp_err err;
    limits = owp_limits_parse(limits_text, strlen(limits_text), "t.limits", NULL, &err);
    ck_assert_msg(limits != NULL, "%s", err.msg);
    ledger = owp_limits_ledger_new(limits, 1.0, &err);
    ck_assert_msg(ledger != NULL, "%s", err.msg);
    loopback = ipv4("127.0.0.1");
    closed_peer = ipv4("10.1.2.3");
    child_open(&kid, CHILD_PID);
    child_open(&other, OTHER_PID);
    /* The log on stderr, where tu_stderr_text() finds it. */
    daemon_log_set_syslog(0);
    daemon_log_open("check_owampd_broker", LOG_DAEMON, LOG_DEBUG, 1);
    tu_stderr_capture();
}

static void broker_teardown(void)
{
    child_close(&kid);
    child_close(&other);
    owp_limits_ledger_destroy(&ledger);
    owp_limits_destroy(&limits);
}

/* The master's poll loop for one child: wait for its message, answer it. */
static void serve_one(test_child *t)
{
    struct pollfd pfd = {.fd = t->ch.fd, .events = POLLIN};
    ck_assert_int_eq(poll(&pfd, 1, SERVE_TIMEOUT_MS), 1);
    owampd_broker_serve(limits, ledger, &t->ch);
}

/* ------------------------------------------------------------------ hooks on a child thread */

typedef enum { HOOK_CONTROL, HOOK_SESSION, HOOK_SESSION_END, HOOK_FETCHED } hook_kind;

/* One hook call and its arguments; result (and class_path, handle) come back. */
typedef struct hook_call {
    test_child *t;
    hook_kind kind;
    owp_server_conn_info conn;
    owp_request req;
    owp_slot slot;
    uint64_t handle;
    int keep_file;
    const char *path, *file_class;
    uint64_t size;
    char class_path[OWP_SERVER_CLASS_MAX];
    int result;
} hook_call;

static void *run_hook(void *arg)
{
    hook_call *c = arg;
    const owp_server_policy *p = &c->t->policy;
    switch (c->kind) {
    case HOOK_CONTROL:
        c->result = p->control(p->arg, &c->conn, c->class_path);
        break;
    case HOOK_SESSION:
        c->result = p->session(p->arg, &c->conn, &c->req, &c->handle);
        break;
    case HOOK_SESSION_END:
        c->result = p->session_end(p->arg, &c->conn, &c->req, c->handle, c->keep_file, c->path,
                                   c->size);
        break;
    case HOOK_FETCHED:
        c->result = p->fetched(p->arg, &c->conn, c->file_class, c->path, c->size);
        break;
    }
    return NULL;
}

/* A call from child t in open mode from 127.0.0.1, class "root/regular". */
static hook_call call_of(test_child *t, hook_kind kind)
{
    hook_call c;
    memset(&c, 0, sizeof c);
    c.t = t;
    c.kind = kind;
    c.conn.peer = (const struct sockaddr *)&loopback;
    c.conn.peer_len = sizeof loopback;
    c.conn.mode = OWP_MODE_OPEN;
    c.conn.identity = "";
    c.conn.class_path = "root/regular";
    return c;
}

/* Run the hook on its own thread while the master answers nmessages. */
static int call_hook(hook_call *c, int nmessages)
{
    c->req.slots = &c->slot; /* into this copy of the call */
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, run_hook, c), 0);
    for (int i = 0; i < nmessages; i++)
        serve_one(c->t);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    return c->result;
}

/* A receive session of npackets sent every interval seconds. */
static hook_call session_call(test_child *t, double interval, uint32_t npackets)
{
    hook_call c = call_of(t, HOOK_SESSION);
    c.slot = (owp_slot){OWP_SLOT_FIXED, owp_num64_from_double(interval)};
    c.req.conf_receiver = 1;
    c.req.nslots = 1;
    c.req.npackets = npackets;
    return c;
}

static void control_ok(test_child *t)
{
    hook_call c = call_of(t, HOOK_CONTROL);
    ck_assert_int_eq(call_hook(&c, 1), OWP_ACCEPT_OK);
    ck_assert_str_eq(c.class_path, "root/regular");
}

/* A granted receive session of 100 packets at 10 ms; its grant id. */
static uint64_t grant_ok(test_child *t)
{
    hook_call c = session_call(t, 0.01, 100);
    ck_assert_int_eq(call_hook(&c, 1), OWP_ACCEPT_OK);
    ck_assert_uint_ne(c.handle, 0);
    return c.handle;
}

static void assert_usage(const char *class_path, uint64_t bandwidth, uint64_t disk)
{
    uint64_t b = 0, d = 0;
    const owp_limits_class *cls = owp_limits_class_by_path(limits, class_path);
    ck_assert_ptr_nonnull(cls);
    ck_assert_int_eq(owp_limits_ledger_usage(ledger, cls, &b, &d), 0);
    ck_assert_msg(b == bandwidth && d == disk, "%s: bandwidth %llu disk %llu, want %llu %llu",
                  class_path, (unsigned long long)b, (unsigned long long)d,
                  (unsigned long long)bandwidth, (unsigned long long)disk);
}

static void assert_logged(const char *what)
{
    char *text = tu_stderr_text();
    ck_assert_msg(strstr(text, what) != NULL, "log lacks \"%s\":\n%s", what, text);
    free(text);
}

/* ------------------------------------------------------------------ grants */

START_TEST(control_opens_the_connections_class)
{
    control_ok(&kid);
    /* The master opened the connection under the child's pid. */
    owp_err err;
    const owp_limits_class *regular = owp_limits_class_by_path(limits, "root/regular");
    ck_assert_int_eq(owp_limits_ledger_conn_open(ledger, CHILD_PID, regular, &err),
                     OWP_ERR_INVALID);
    assert_logged("userid(nil) is in class root/regular");
}
END_TEST

START_TEST(session_granted_then_ended_with_its_file)
{
    control_ok(&kid);
    uint64_t grant = grant_ok(&kid);
    uint64_t disk = owp_limits_session_disk(1, 100);
    owp_slot slot = {OWP_SLOT_FIXED, owp_num64_from_double(0.01)};
    uint64_t bandwidth = owp_limits_session_bandwidth(&slot, 1, 0, OWP_MODE_OPEN, 0);
    ck_assert_uint_eq(owp_limits_ledger_grants(ledger, CHILD_PID), 1);
    assert_usage("root/regular", bandwidth, disk);
    assert_usage("root", bandwidth, disk);

    /* The session kept a 500-byte file: the bandwidth goes, the file stays charged. */
    hook_call end = call_of(&kid, HOOK_SESSION_END);
    end.handle = grant;
    end.keep_file = 1;
    end.path = "/d/hierarchy/root/regular/x.owp";
    end.size = 500;
    ck_assert_int_eq(call_hook(&end, 1), 0);
    ck_assert_uint_eq(owp_limits_ledger_grants(ledger, CHILD_PID), 0);
    assert_usage("root/regular", 0, 500);
}
END_TEST

START_TEST(session_refused_with_the_ledgers_accept)
{
    control_ok(&kid);
    /* 10000 packets/s: more than root's 1 Mbit/s. */
    hook_call fast = session_call(&kid, 0.0001, 100);
    ck_assert_int_eq(call_hook(&fast, 1), OWP_LIMITS_ACCEPT_DENIED);
    assert_logged("ResReq DENIED: ");
    assert_logged(":request:bandwidth = ");
    /* 1000 packets need more disk than regular's 10000 bytes. */
    hook_call big = session_call(&kid, 0.01, 1000);
    ck_assert_int_eq(call_hook(&big, 1), OWP_LIMITS_ACCEPT_DENIED);
    assert_logged("ResReq DENIED: regular:request:disk");
    /* Nothing was charged, and the connection may still ask. */
    assert_usage("root/regular", 0, 0);
    ck_assert_uint_eq(owp_limits_ledger_grants(ledger, CHILD_PID), 0);
    grant_ok(&kid);
}
END_TEST

/* A kept file far larger than its estimate cannot be claimed: the hook
 * says delete it, and its whole disk charge is gone. */
START_TEST(file_too_large_for_the_class_is_deleted)
{
    control_ok(&kid);
    hook_call end = call_of(&kid, HOOK_SESSION_END);
    end.handle = grant_ok(&kid);
    end.keep_file = 1;
    end.path = "/d/hierarchy/root/regular/big.owp";
    end.size = 20000;
    ck_assert_int_eq(call_hook(&end, 1), 1);
    assert_logged("big.owp Too large! Deleting... (See diskfudge)");
    assert_usage("root/regular", 0, 0);
}
END_TEST

START_TEST(child_ends_only_its_own_grants)
{
    control_ok(&kid);
    control_ok(&other);
    uint64_t grant = grant_ok(&kid);
    hook_call end = call_of(&other, HOOK_SESSION_END);
    end.handle = grant;
    ck_assert_int_eq(call_hook(&end, 1), 0); /* refused: nothing to delete */
    ck_assert_uint_eq(owp_limits_ledger_grants(ledger, CHILD_PID), 1);
    assert_logged("no resource grant");
    ck_assert_int_ge(other.ch.fd, 0); /* a refused request is no reason to cut it off */
}
END_TEST

/* ------------------------------------------------------------------ a child that goes away */

START_TEST(dead_child_loses_its_grants)
{
    control_ok(&kid);
    grant_ok(&kid);
    grant_ok(&kid);
    ck_assert_uint_eq(owp_limits_ledger_grants(ledger, CHILD_PID), 2);
    close(kid.d.owampd_broker_fd); /* the child exits */
    kid.d.owampd_broker_fd = -1;
    serve_one(&kid);
    ck_assert_int_eq(kid.ch.fd, -1);
    ck_assert_uint_eq(owp_limits_ledger_grants(ledger, CHILD_PID), 0);
    assert_usage("root/regular", 0, 0);
    assert_logged("2 resource grant(s) released");
}
END_TEST

/* Messages the master must refuse to read: each cuts the child off. */
static const struct {
    size_t len;
    uint8_t bytes[32];
} malformed[] = {
    {10, {2}},                                  /* shorter than a header */
    {24, {9}},                                  /* unknown type */
    {24, {0}},                                  /* type 0 */
    {24, {2, 2}},                               /* flag other than 0 or 1 */
    {24, {2, 0, 0, 0, 1}},                      /* reserved bytes not zero */
    {26, {1, 0, 0, 3}},                         /* text length is not the rest */
    {26, {1, 0, 0, 2, [24] = 'a', [25] = '\0'}}, /* a NUL in the text */
};

START_TEST(malformed_message_cuts_the_child_off)
{
    control_ok(&kid);
    grant_ok(&kid);
    ck_assert_int_eq(send(kid.d.owampd_broker_fd, malformed[_i].bytes, malformed[_i].len, 0),
                     (ssize_t)malformed[_i].len);
    serve_one(&kid);
    ck_assert_int_eq(kid.ch.fd, -1);
    ck_assert_uint_eq(owp_limits_ledger_grants(ledger, CHILD_PID), 0);
    assert_logged("malformed message");
}
END_TEST

/* A child whose master is gone refuses rather than serve without grants. */
START_TEST(child_without_master_fails_closed)
{
    close(kid.ch.fd);
    kid.ch.fd = -1;
    hook_call control = call_of(&kid, HOOK_CONTROL);
    ck_assert_int_eq(call_hook(&control, 0), OWP_ACCEPT_INTERNAL);
    hook_call session = session_call(&kid, 0.01, 10);
    ck_assert_int_eq(call_hook(&session, 0), OWP_ACCEPT_INTERNAL);
    assert_logged("resource broker:");
}
END_TEST

/* ------------------------------------------------------------------ no question asked */

START_TEST(greeting_offers_open_mode_by_class)
{
    const owp_server_policy *p = &kid.policy;
    ck_assert_uint_eq(p->greeting_modes(p->arg, (const struct sockaddr *)&loopback,
                                        sizeof loopback, 7),
                      7);
    ck_assert_uint_eq(p->greeting_modes(p->arg, (const struct sockaddr *)&closed_peer,
                                        sizeof closed_peer, 7),
                      7 & ~(uint32_t)OWP_MODE_OPEN);
    /* Nothing to take away when open mode is not configured. */
    ck_assert_uint_eq(p->greeting_modes(p->arg, (const struct sockaddr *)&closed_peer,
                                        sizeof closed_peer, OWP_MODE_AUTH),
                      OWP_MODE_AUTH);
}
END_TEST

/* ------------------------------------------------------------------ stored files */

START_TEST(stored_files_charged_to_their_class)
{
    ck_assert_int_eq(owampd_broker_charge_stored_file(ledger, "root/regular", "/d/a.owp", 300), 0);
    assert_usage("root/regular", 0, 300);
    assert_usage("root", 0, 300);
    /* A file of no class stays unserved. */
    ck_assert_int_eq(owampd_broker_charge_stored_file(ledger, "root/gone", "/d/b.owp", 7), 1);
    assert_logged("verify_datadir: Ignoring \"/d/b.owp\": No associated user class");
    assert_usage("root", 0, 300);
}
END_TEST

START_TEST(over_disk_limit_is_reported)
{
    ck_assert_int_eq(owampd_broker_charge_stored_file(ledger, "root/regular", "/d/a.owp", 12000), 0);
    owampd_broker_warn_over_disk_limit(limits, ledger);
    assert_logged("class regular: 12000 bytes stored by earlier runs exceed its disk limit (10000)");
    char *text = tu_stderr_text();
    ck_assert_ptr_null(strstr(text, "class root:")); /* 12000 fit root's 100000 */
    free(text);
}
END_TEST

/* delete_on_fetch: the child removes the file and the master its bytes. */
START_TEST(fetched_file_deleted_by_class)
{
    char *dir = tu_tempdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/x.owp", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fclose(fp);
    ck_assert_int_eq(owampd_broker_charge_stored_file(ledger, "root/regular", path, 300), 0);
    ck_assert_int_eq(owampd_broker_charge_stored_file(ledger, "root/closed", path, 50), 0);

    /* closed has no delete_on_fetch: the file stays, nothing is asked. */
    hook_call keep = call_of(&kid, HOOK_FETCHED);
    keep.file_class = "root/closed";
    keep.path = path;
    keep.size = 50;
    ck_assert_int_eq(call_hook(&keep, 0), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);

    hook_call gone = call_of(&kid, HOOK_FETCHED);
    gone.file_class = "root/regular";
    gone.path = path;
    gone.size = 300;
    ck_assert_int_eq(call_hook(&gone, 1), 1);
    ck_assert_int_ne(stat(path, &st), 0);
    assert_usage("root/regular", 0, 0);
    assert_usage("root/closed", 0, 50);
    assert_usage("root", 0, 50);
    tu_tempdir_remove(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("owampd_broker");
    TCase *tc = tcase_create("grants");
    tcase_add_checked_fixture(tc, broker_setup, broker_teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, control_opens_the_connections_class);
    tcase_add_test(tc, session_granted_then_ended_with_its_file);
    tcase_add_test(tc, session_refused_with_the_ledgers_accept);
    tcase_add_test(tc, file_too_large_for_the_class_is_deleted);
    tcase_add_test(tc, child_ends_only_its_own_grants);
    suite_add_tcase(s, tc);

    tc = tcase_create("lost children");
    tcase_add_checked_fixture(tc, broker_setup, broker_teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, dead_child_loses_its_grants);
    tcase_add_loop_test(tc, malformed_message_cuts_the_child_off, 0,
                        (int)(sizeof malformed / sizeof malformed[0]));
    tcase_add_test(tc, child_without_master_fails_closed);
    suite_add_tcase(s, tc);

    tc = tcase_create("classes and files");
    tcase_add_checked_fixture(tc, broker_setup, broker_teardown);
    tcase_add_test(tc, greeting_offers_open_mode_by_class);
    tcase_add_test(tc, stored_files_charged_to_their_class);
    tcase_add_test(tc, over_disk_limit_is_reported);
    tcase_add_test(tc, fetched_file_deleted_by_class);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
