/*
 * owping - one-way delay test against an OWAMP server (programs.md §5),
 * option- and output-compatible with perfSONAR owamp 5.2.3's owping.
 *
 *   owping [options] testpeer [server]
 *
 * Requests a "to" session (we send) and/or a "from" session (the peer
 * sends), runs them, fetches the "to" data and prints both reports.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "client_opts.h"
#include "hostport.h"
#include "options.h"
#include "owpfile.h"
#include "report.h"
#include "sendsched.h"

#define PROG "owping"

/* ------------------------------------------------------------ signals (§5.6) */

enum { PHASE_SETUP, PHASE_TEST, PHASE_REPORT };
static volatile sig_atomic_t g_phase = PHASE_SETUP;
static atomic_int g_interrupt;

/* During set-up any signal ends the run with 2. During the test the first
 * signal asks for an early stop (Stop-Sessions, partial results, exit 0); a
 * second one ends the run with 2. */
static void on_signal(int sig)
{
    (void)sig;
    int n = atomic_fetch_add(&g_interrupt, 1) + 1;
    if (g_phase == PHASE_SETUP || n > 1)
        _exit(2);
}

/* ------------------------------------------------------------ options */

typedef struct owping_opts {
    /* test (§5.1): -c -D -i -L -P -s -z shared with twping */
    tools_test_opts test;
    double enddelay;
    int enddelay_set;
    int to, from;
    const char *save_to;   /* -T */
    const char *save_from; /* -F */
    /* connection (§5.2): shared with owfetch and owup */
    tools_conn_opts conn;
    /* output (§5.3): shared with owstats and owfetch */
    tools_output_opts out;
} owping_opts;

/* The reference's usage text; -E, -d and -p are accepted but not listed. */
static void usage(FILE *out, const char *msg)
{
    tools_usage_head(out, PROG, msg, "[arguments] testaddr [servaddr]");
    fprintf(out, "\n");
    fprintf(out,
            "              [Test Args]\n"
            "   -c count       number of test packets\n"
            "   -D DSCP        RFC 2474 style DSCP value for TOS byte\n"
            "   -f | -F file   perform one-way test from testhost [and save results to file]\n"
            "   -i wait        mean average time between packets (seconds)\n"
            "   -L timeout     maximum time to wait for a packet before declaring it lost "
            "(seconds)\n"
            "   -P portrange   port range to use during the test\n"
            "   -s padding     size of the padding added to each packet (bytes)\n"
            "   -t | -T file   perform one-way test to testhost [and save results to file]\n"
            "   -z delayStart  time to wait before executing test (seconds)\n");
    fprintf(out, "\n");
    tools_conn_usage(out);
    fprintf(out, "\n");
    tools_output_usage(out);
    tools_usage_tail(out);
}

static void die_usage(const char *msg)
{
    usage(stderr, msg);
    exit(1);
}

/* owping's own letters: -E and the directions. */
static int parse_own_option(void *ctx, int c, const char *arg)
{
    owping_opts *o = ctx;
    switch (c) {
    case 'E':
        o->enddelay_set = 1;
        return tools_parse_nonneg(arg, 'E', &o->enddelay, usage) == 0 ? 1 : -1;
    case 'f': o->from = 1; return 1;
    case 'F': o->from = 1; o->save_from = arg; return 1;
    case 't': o->to = 1; return 1;
    case 'T': o->to = 1; o->save_to = arg; return 1;
    }
    return 0;
}

static void parse_args(owping_opts *o, int argc, char **argv)
{
    static const char optstring[] = "h" "E:fF:tT:" TOOLS_TEST_OPTSTRING TOOLS_CONN_OPTSTRING
        TOOLS_OUTPUT_OPTSTRING;
    if (tools_test_opts_init(&o->test, usage) != 0)
        exit(1);
    o->test.dscp_once = 1;
    tools_conn_opts_init(&o->conn);
    tools_output_opts_init(&o->out);
    int rc = tools_test_prog_getopt(argc, argv, optstring, parse_own_option, o, &o->test,
                                    &o->conn, &o->out, PROG, usage);
    if (rc >= 0)
        exit(rc);
    if (!o->to && !o->from)
        o->to = o->from = 1;
}

/* ------------------------------------------------------------ the test */

typedef struct owping_run {
    owp_client *client;
    int to_index, from_index;
    FILE *from_fp;
    char remote_name[256]; /* testpeer host as typed */
    char local_name[1025];
} owping_run;

static void fail_session(owping_run *r, const owp_err *err)
{
    tools_errmsg(PROG, "%s", err->msg);
    tools_errmsg(PROG, "Session Failed!");
    owp_client_close(&r->client);
    exit(1);
}

static void request_sessions(const owping_opts *o, owping_run *r, const char *testpeer)
{
    owp_hostport hp;
    owp_err err;
    if (owp_hostport_parse(testpeer, &hp, &err) != OWP_OK)
        die_usage(err.msg);
    snprintf(r->remote_name, sizeof r->remote_name, "%s", hp.host);
    struct sockaddr_storage peer;
    socklen_t peer_len;
    socklen_t ctl_len;
    const struct sockaddr *ctl = owp_client_peer_addr(r->client, &ctl_len);
    /* The test peer's family follows the control connection unless -4/-6 said otherwise. */
    int family = tools_conn_opts_family(&o->conn);
    if (family == AF_UNSPEC)
        family = ctl->sa_family;
    if (owp_hostport_resolve(&hp, OWP_CONTROL_PORT, family, SOCK_DGRAM, 0, &peer, &peer_len,
                             &err) != OWP_OK &&
        owp_hostport_resolve(&hp, OWP_CONTROL_PORT, AF_UNSPEC, SOCK_DGRAM, 0, &peer, &peer_len,
                             &err) != OWP_OK)
        fail_session(r, &err);

    double rtt = owp_client_rtt(r->client);
    double timeout = o->test.loss_timeout > 0 ? o->test.loss_timeout : rtt + 2.0;
    if (timeout < o->out.report.bucket_width) {
        tools_errmsg(PROG,
                     "Invalid test specification: LossThreshold(%f) '-L' < BucketWidth (%f) '-b'",
                     timeout, o->out.report.bucket_width);
        exit(1);
    }
    uint32_t nsessions = (uint32_t)(o->to + o->from);
    owp_test_spec spec = {
        .peer = (struct sockaddr *)&peer,
        .peer_len = peer_len,
        .npackets = o->test.count,
        .slots = o->test.slots,
        .nslots = o->test.nslots,
        .padding = o->test.padding,
        .start_time = owp_client_start_time(r->client, nsessions, o->test.delay_start),
        .timeout = owp_num64_from_double(timeout),
        .dscp = o->test.dscp,
        .ports = o->test.ports,
        .enddelay = o->enddelay_set ? o->enddelay : 1.0,
    };
    r->to_index = r->from_index = -1;
    unsigned idx;
    if (o->to) {
        spec.dir = OWP_DIR_TO;
        if (owp_client_request(r->client, &spec, &idx, &err) != OWP_OK)
            fail_session(r, &err);
        r->to_index = (int)idx;
    }
    if (o->from) {
        r->from_fp = o->save_from ? fopen(o->save_from, "w+b") : tools_prog_tmpfile(PROG);
        if (!r->from_fp) {
            if (o->save_from)
                tools_errmsg(PROG, "fopen(%s): %s", o->save_from, strerror(errno));
            exit(1);
        }
        spec.dir = OWP_DIR_FROM;
        spec.out = r->from_fp;
        if (owp_client_request(r->client, &spec, &idx, &err) != OWP_OK) {
            if (o->save_from)
                unlink(o->save_from);
            fail_session(r, &err);
        }
        r->from_index = (int)idx;
    }
}

/* Fetch the "to" session into -T's file or a temp file; NULL on failure
 * (reported, not fatal: owping still exits 0). */
static FILE *fetch_to_session(const owping_opts *o, owping_run *r)
{
    const owp_request *req = owp_client_session_request(r->client, (unsigned)r->to_index);
    FILE *fp = tools_conn_fetch_open(PROG, o->save_to);
    if (!fp)
        return NULL;
    if (tools_conn_fetch(r->client, PROG, req->sid, fp, o->save_to) != 0) {
        char hex[2 * OWP_SID_LEN + 1];
        for (int i = 0; i < OWP_SID_LEN; i++)
            snprintf(hex + 2 * i, 3, "%02x", req->sid[i]);
        tools_errmsg(PROG, "Unable to fetch data for sid(%s)", hex);
        return NULL;
    }
    return fp;
}

static void report(const owping_opts *o, FILE *fp, const char *name, const char *from,
                   const char *to)
{
    owp_err err;
    fflush(fp);
    rewind(fp);
    owp_file *f = owp_file_read(fp, name, &err);
    if (!f) {
        tools_errmsg(PROG, "%s", err.msg);
        tools_errmsg(PROG, "do_stats(\"%s\" session) failed", name);
        return;
    }
    if (owp_report_file(stdout, f, from, to, &o->out.report, &err) != OWP_OK) {
        tools_errmsg(PROG, "%s", err.msg);
        tools_errmsg(PROG, "do_stats(\"%s\" session) failed", name);
    }
    owp_file_destroy(&f);
    fflush(stdout);
}

static void local_name(owping_run *r)
{
    socklen_t len;
    const struct sockaddr *sa = owp_client_local_addr(r->client, &len);
    owp_sockaddr_name(sa, r->local_name, sizeof r->local_name);
}

int main(int argc, char **argv)
{
    tools_prog_signals(on_signal);
    owp_err err;

    static owping_opts o;
    parse_args(&o, argc, argv);
    if (tools_prog_init(PROG) != 0)
        return 1;
    int nops = argc - optind;
    if (nops < 1 || nops > 2)
        die_usage(NULL);
    const char *testpeer = argv[optind];
    const char *server = nops == 2 ? argv[optind + 1] : testpeer;

    static owping_run r;
    r.client = tools_conn_open(&o.conn, PROG, server);
    if (!r.client)
        return 1;
    request_sessions(&o, &r, testpeer);
    if (owp_client_start(r.client, &err) != OWP_OK)
        fail_session(&r, &err);
    g_phase = PHASE_TEST;
    if (atomic_load(&g_interrupt))
        _exit(2);

    int quiet = o.out.quiet;
    int raw = o.out.report.raw;
    if (!quiet && !raw)
        printf("Approximately %.1f seconds until results available\n",
               owp_client_seconds_until_results(r.client));
    fflush(stdout);

    if (owp_client_wait(r.client, &g_interrupt, &err) != OWP_OK) {
        tools_errmsg(PROG, "%s", err.msg);
        tools_errmsg(PROG, "Test session(s) Failed...");
        if (o.save_from)
            unlink(o.save_from);
        owp_client_close(&r.client);
        return 1;
    }
    g_phase = PHASE_REPORT;
    if (atomic_load(&g_interrupt) > 1)
        _exit(2);

    local_name(&r);
    if (o.to && (o.save_to || !quiet || raw)) {
        FILE *tofp = fetch_to_session(&o, &r);
        if (tofp && (!quiet || raw))
            report(&o, tofp, "to", r.local_name, r.remote_name);
        if (tofp)
            fclose(tofp);
    }
    if (r.from_fp) {
        if (!quiet || raw)
            report(&o, r.from_fp, "from", r.remote_name, r.local_name);
        fclose(r.from_fp);
    }
    owp_client_close(&r.client);
    tools_test_opts_clear(&o.test);
    tools_output_opts_clear(&o.out);
    return 0;
}
