/*
 * twping - round-trip test against a TWAMP server (RFC 5357), option- and
 * output-compatible with perfSONAR owamp 5.2.3's twping.
 *
 *   twping [options] testaddr [servaddr]
 *
 * Opens TWAMP-Control (open, authenticated, encrypted or mixed mode), asks
 * for one session with Request-TW-Session, sends the test packets and
 * collects the reflections (libowamp twamp_client.h), and prints the
 * two-way report (twstats.h): the summary, -M, -R or -v.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdarg.h>
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
#include "twstats.h"

#define PROG "twping"
#define TWPING_MAX_PADDING 65000
#define TWPING_DEFAULT_PORTS "8760-9960"

enum { PHASE_SETUP, PHASE_TEST, PHASE_REPORT };
static volatile sig_atomic_t g_phase = PHASE_SETUP;
static atomic_int g_interrupt;

/* As owping: during set-up a signal ends the run (2); during the test the
 * first asks for an early stop with partial results, a second ends it. */
static void on_signal(int sig)
{
    (void)sig;
    int n = atomic_fetch_add(&g_interrupt, 1) + 1;
    if (g_phase == PHASE_SETUP || n > 1)
        _exit(2);
}

typedef struct twping_opts {
    uint32_t count;
    int dscp;
    owp_slot *slots;
    uint32_t nslots;
    double loss_timeout;   /* 0: RTT + 2 s */
    owp_portrange ports;
    uint32_t padding;
    int padding_set;
    double delay_start;
    int zero_addresses;    /* -Z */
    const char *save;      /* -F: accepted; see doc/twping.1 */
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

static void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", PROG);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static uint32_t parse_count(const char *text)
{
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (*end != '\0')
        die_usage("Invalid value. Positive integer expected");
    return (uint32_t)v;
}

static double parse_nonneg(const char *text, char letter)
{
    char *end;
    double v = strtod(text, &end);
    if (*end != '\0' || !(v >= 0.0)) {
        char msg[128];
        snprintf(msg, sizeof msg, "Invalid '-%c' value. Positive float expected", letter);
        die_usage(msg);
    }
    return v;
}

static void parse_test_option(twping_opts *o, int c, const char *arg)
{
    owp_err err;
    switch (c) {
    case 'c':
        if ((o->count = parse_count(arg)) == 0)
            die_usage("Invalid value. Positive integer expected");
        break;
    case 'D':
        if (owp_parse_dscp(arg, &o->dscp, &err) != OWP_OK) {
            errmsg("%s", err.msg);
            exit(1);
        }
        break;
    case 'F': o->save = arg; break;
    case 'i':
        free(o->slots);
        o->slots = NULL;
        if (owp_slots_parse(arg, &o->slots, &o->nslots, &err) != OWP_OK) {
            errmsg("%s", err.msg);
            die_usage("Invalid Schedule.");
        }
        break;
    case 'L': o->loss_timeout = parse_nonneg(arg, 'L'); break;
    case 'P':
        if (owp_parse_portrange(arg, 1, &o->ports, &err) != OWP_OK) {
            errmsg("%s", err.msg);
            die_usage("Invalid test port range specified.");
        }
        break;
    case 's': {
        uint32_t v = parse_count(arg);
        o->padding = v > TWPING_MAX_PADDING ? TWPING_MAX_PADDING : v;
        o->padding_set = 1;
        break;
    }
    case 'z': o->delay_start = parse_nonneg(arg, 'z'); break;
    case 'Z': o->zero_addresses = 1; break;
    }
}

static void parse_args(twping_opts *o, int argc, char **argv)
{
    static const char optstring[] =
        "h" "c:D:F:i:L:P:s:z:Z" TOOLS_CONN_OPTSTRING TOOLS_OUTPUT_OPTSTRING;
    owp_err err;
    o->count = 100;
    o->dscp = -1;
    if (owp_parse_portrange(TWPING_DEFAULT_PORTS, 1, &o->ports, &err) != OWP_OK)
        die_usage(err.msg);
    tools_conn_opts_init(&o->conn);
    o->conn.twamp = 1;
    tools_output_opts_init(&o->out);
    int c;
    while ((c = getopt_long(argc, argv, optstring, tools_long_options, NULL)) != -1) {
        if (tools_convention_opt(c, PROG, usage) == 0)
            exit(0);
        if (c != '?' && c < 0x80 && strchr("cDFiLPszZ", c)) {
            parse_test_option(o, c, optarg);
            continue;
        }
        int r = tools_prog_parse_opt(&o->conn, &o->out, c, optarg, PROG, usage);
        if (r < 0)
            exit(1);
        if (r == 0) {
            usage(stderr, "");
            exit(0);
        }
    }
    if (tools_prog_finish_opts(&o->conn, &o->out, PROG) != 0)
        exit(1);
    if (!o->slots && owp_slots_parse("0.1e", &o->slots, &o->nslots, &err) != OWP_OK)
        die_usage(err.msg);
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
    double timeout = o->loss_timeout > 0 ? o->loss_timeout : rtt + 2.0;
    owp_tw_spec spec = {
        .npackets = o->count,
        .slots = o->slots,
        .nslots = o->nslots,
        .padding = o->padding_set ? o->padding : default_padding(o, owp_client_mode(c)),
        .start_time = owp_client_start_time(c, 1, o->delay_start),
        .timeout = owp_num64_from_double(timeout),
        .dscp = o->dscp,
        .ports = o->ports,
        .zero_addresses = o->zero_addresses,
    };
    owp_err err;
    owp_tw_session *s = owp_tw_request(c, &spec, &err);
    if (!s) {
        errmsg("%s", err.msg);
        errmsg("Session Failed!");
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
    const owp_report_opts *ro = &o->out.report;
    owp_tw_report_opts to = {
        .bucket_width = ro->bucket_width, .units = ro->units, .sub_count = ro->sub_count,
        .machine = ro->machine, .raw = ro->raw, .verbose = ro->verbose,
        .percentiles = ro->percentiles, .npercentiles = ro->npercentiles,
    };
    uint32_t n;
    const owp_tw_record *rec = owp_tw_records(s, &n);
    owp_err err;
    if (owp_tw_report(stdout, &info, rec, n, &to, &err) != OWP_OK) {
        errmsg("%s", err.msg);
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

    owp_client *c = tools_conn_open(&o.conn, PROG, server);
    if (!c)
        return 1;
    owp_tw_session *s = request(&o, c);
    if (!s) {
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
        errmsg("%s", err.msg);
        errmsg("Test session(s) Failed...");
        rc = 1;
    } else {
        g_phase = PHASE_REPORT;
        if (!o.out.quiet || o.out.report.raw)
            rc = report(&o, c, s, hp.host);
    }
    owp_tw_session_destroy(&s);
    owp_client_close(&c);
    free(o.slots);
    tools_output_opts_clear(&o.out);
    return rc;
}
