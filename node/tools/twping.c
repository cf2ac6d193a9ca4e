/*
 * twping - round-trip test against a TWAMP server (RFC 5357), option- and
 * output-compatible with perfSONAR owamp 5.2.3's twping.
 *
 *   twping [options] testaddr [servaddr]
 *
 * Opens TWAMP-Control (open, authenticated, encrypted or mixed mode), asks
 * for one session with Request-TW-Session, sends the test packets and
 * collects the reflections (libowamp twamp_client.h), prints the two-way
 * report (twstats.h): the summary, -M, -R or -v, and with -F saves the
 * records as the reference's two-way file (twpfile.h), which owstats reads.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
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
#include "sendsched.h"
#include "twamp_client.h"
#include "twsave.h"
#include "twstats.h"

#define PROG "twping"

enum { PHASE_SETUP, PHASE_TEST, PHASE_REPORT };
static volatile sig_atomic_t g_phase = PHASE_SETUP;
static atomic_int g_interrupt;

/* As owping: during set-up a signal ends the run (2); during the test the
 * first asks for an early stop with partial results, a second ends it. */
static void on_signal(int sig)
{
    (void)sig;
    int n = atomic_fetch_add(&g_interrupt, 1) + 1;
    if (g_phase == PHASE_SETUP || n > 1) {
        tools_twsave_on_exit_signal(); /* -F: no half file left behind */
        _exit(2);
    }
}

typedef struct twping_opts {
    tools_test_opts test;  /* -c -D -i -L -P -s -z, as owping's */
    int zero_addresses;    /* -Z */
    const char *save;      /* -F: the two-way file (twpfile.h) */
    tools_conn_opts conn;
    tools_output_opts out;
} twping_opts;

static void usage(FILE *out, const char *msg)
{
    tools_usage_head(out, PROG, msg, "[arguments] testaddr [servaddr]");
    fprintf(out, "\n");
    fprintf(out,
            "              [Test Args]\n"
            "   -c count       number of test packets\n"
            "   -D DSCP        RFC 2474 style DSCP value for TOS byte\n"
            "   -F file        save results to file\n"
            "   -i wait        mean average time between packets (seconds)\n"
            "   -L timeout     maximum time to wait for a packet before declaring it lost "
            "(seconds)\n"
            "   -P portrange   port range to use during the test\n"
            "   -s padding     size of the padding added to each packet (bytes)\n"
            "   -z delayStart  time to wait before executing test (seconds)\n"
            "   -Z             do not specify addresses in test request (for NAT)\n");
    fprintf(out, "\n");
    tools_conn_usage(out);
    fprintf(out, "   -A authmode    (twping) also [M]ixed: encrypted control, open test "
                 "packets\n\n");
    tools_output_usage(out);
    tools_usage_tail(out);
}

static void die_usage(const char *msg)
{
    usage(stderr, msg);
    exit(1);
}

/* twping's own letters: -F and -Z. */
static int parse_own_option(void *ctx, int c, const char *arg)
{
    twping_opts *o = ctx;
    switch (c) {
    case 'F': o->save = arg; return 1;
    case 'Z': o->zero_addresses = 1; return 1;
    }
    return 0;
}

static void parse_args(twping_opts *o, int argc, char **argv)
{
    static const char optstring[] =
        "h" "F:Z" TOOLS_TEST_OPTSTRING TOOLS_CONN_OPTSTRING TOOLS_OUTPUT_OPTSTRING;
    if (tools_test_opts_init(&o->test, usage) != 0)
        exit(1);
    tools_conn_opts_init(&o->conn);
    o->conn.twamp = 1;
    tools_output_opts_init(&o->out);
    int rc = tools_test_prog_getopt(argc, argv, optstring, parse_own_option, o, &o->test,
                                    &o->conn, &o->out, PROG, usage);
    if (rc >= 0)
        exit(rc);
}

/* The reference's default padding: 27 (open, mixed) or 64 (authenticated,
 * encrypted) so that both directions carry equal sizes; 0 when more than one
 * mode was requested (it decides before it knows the mode). */
static uint32_t default_padding(const twping_opts *o, owp_mode mode)
{
    uint32_t m = o->conn.modes;
    if (m & (m - 1))
        return 0;
    return mode == OWP_MODE_AUTH || mode == OWP_MODE_ENCRYPTED ? 64 : 27;
}

static owp_tw_session *request(const twping_opts *o, owp_client *c)
{
    double rtt = owp_client_rtt(c);
    double timeout = o->test.loss_timeout > 0 ? o->test.loss_timeout : rtt + 2.0;
    owp_tw_spec spec = {
        .npackets = o->test.count,
        .slots = o->test.slots,
        .nslots = o->test.nslots,
        .padding = o->test.padding_set ? o->test.padding : default_padding(o, owp_client_mode(c)),
        .start_time = owp_client_start_time(c, 1, o->test.delay_start),
        .timeout = owp_num64_from_double(timeout),
        .dscp = o->test.dscp,
        .ports = o->test.ports,
        .zero_addresses = o->zero_addresses,
    };
    owp_err err;
    owp_tw_session *s = owp_tw_request(c, &spec, &err);
    if (!s) {
        tools_errmsg(PROG, "%s", err.msg);
        tools_errmsg(PROG, "Session Failed!");
    }
    return s;
}

static int report(const twping_opts *o, owp_client *c, owp_tw_session *s, const char *peer_host)
{
    char from_host[1025], from_addr[128], to_addr[128];
    socklen_t len;
    owp_sockaddr_name(owp_client_local_addr(c, &len), from_host, sizeof from_host);
    owp_sockaddr_format_addr(owp_client_local_addr(c, &len), from_addr, sizeof from_addr);
    owp_sockaddr_format_addr(owp_client_peer_addr(c, &len), to_addr, sizeof to_addr);
    owp_tw_session_info info = {
        .req = owp_tw_session_request(s),
        .from_host = from_host, .from_addr = from_addr,
        .to_host = peer_host, .to_addr = to_addr,
        .finished = 1,
    };
    owp_tw_report_opts to = owp_tw_report_opts_of(&o->out.report);
    uint32_t n;
    const owp_tw_record *rec = owp_tw_records(s, &n);
    owp_err err;
    if (owp_tw_report(stdout, &info, rec, n, &to, &err) != OWP_OK) {
        tools_errmsg(PROG, "%s", err.msg);
        return 1;
    }
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    tools_prog_signals(on_signal);
    static twping_opts o;
    parse_args(&o, argc, argv);
    if (tools_prog_init(PROG) != 0)
        return 1;
    int nops = argc - optind;
    if (nops < 1 || nops > 2)
        die_usage(NULL);
    const char *testpeer = argv[optind];
    const char *server = nops == 2 ? argv[optind + 1] : testpeer;
    owp_hostport hp;
    owp_err err;
    if (owp_hostport_parse(testpeer, &hp, &err) != OWP_OK)
        die_usage(err.msg);

    owp_twp_save *save = tools_twsave_begin(PROG, o.save);
    owp_client *c = tools_conn_open(&o.conn, PROG, server);
    owp_tw_session *s = c ? request(&o, c) : NULL;
    if (!s) {
        tools_twsave_abort(&save);
        owp_client_close(&c);
        return 1;
    }
    g_phase = PHASE_TEST;
    if (!o.out.quiet && !o.out.report.raw)
        printf("Approximately %.1f seconds until results available\n",
               owp_tw_seconds_until_results(s));
    fflush(stdout);
    int rc = 0;
    if (owp_tw_run(s, &g_interrupt, &err) != OWP_OK) {
        tools_errmsg(PROG, "%s", err.msg);
        tools_errmsg(PROG, "Test session(s) Failed...");
        rc = 1;
    } else {
        g_phase = PHASE_REPORT;
        if (save) {
            uint32_t n;
            const owp_tw_record *rec = owp_tw_records(s, &n);
            rc = tools_twsave_commit(PROG, &save, owp_tw_session_request(s), rec, n);
        }
        if (!o.out.quiet || o.out.report.raw)
            rc |= report(&o, c, s, hp.host);
    }
    tools_twsave_abort(&save);
    owp_tw_session_destroy(&s);
    owp_client_close(&c);
    tools_test_opts_clear(&o.test);
    tools_output_opts_clear(&o.out);
    return rc;
}
