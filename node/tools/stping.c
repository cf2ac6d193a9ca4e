/*
 * stping - round-trip test against a STAMP Session-Reflector (RFC 8762,
 * RFC 8972), in the owping/twping family: the same test, connection and
 * output options where they apply, and twping's report.
 *
 *   stping [options] host[:port]        (port 862 unless given)
 *
 * No control protocol: the test packets go straight to the reflector
 * (libowamp stamp_client.h), which answers them in the same session as long
 * as the source address, port and SSID (-I) stay the same. TLVs are asked
 * for with -T; -A A authenticates every packet with the key of -u in the
 * key file -k ("IDENTITY HEXKEY" lines, as a .pfs file). -F FILE saves the
 * records in twping's two-way file format (twpfile.h: STAMP's reflected
 * packet carries the same times, seqs and TTL), which owstats reads.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_opts.h"
#include "clock.h"
#include "hostport.h"
#include "options.h"
#include "stamp_client.h"
#include "stamp_tlv.h"
#include "stping_report.h"
#include "twsave.h"

#define PROG "stping"
/* The loss timeout without -L: no control connection measures the RTT. */
#define DEFAULT_TIMEOUT 2.0
/* The first packet's lead without -z: the sender thread's start. */
#define START_LEAD 0.1

enum { PHASE_SETUP, PHASE_TEST, PHASE_REPORT };
static volatile sig_atomic_t g_phase = PHASE_SETUP;
static atomic_int g_interrupt;

/* As twping: during set-up a signal ends the run (2); during the test the
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

typedef struct stping_opts {
    tools_test_opts test;  /* -c -D -i -L -P -s -z */
    tools_conn_opts conn;  /* -4 -6 -A -B -k -S -u */
    tools_output_opts out;
    owp_stamp_tlv_request tlvs;
    int ssid;              /* -I */
    const char *save;      /* -F: twping's two-way file (twpfile.h) */
} stping_opts;

static void usage(FILE *out, const char *msg)
{
    tools_usage_head(out, PROG, msg, "[arguments] host[:port]");
    fprintf(out, "\n");
    fprintf(out,
            "              [Test Args]\n"
            "   -c count       number of test packets\n"
            "   -D DSCP        RFC 2474 style DSCP value for TOS byte\n"
            "   -F file        save results to file (twping's two-way format)\n"
            "   -i wait        mean average time between packets (seconds)\n"
            "   -L timeout     maximum time to wait for a packet before declaring it lost "
            "(seconds, default 2)\n"
            "   -P portrange   port range to use during the test\n"
            "   -s padding     octets of an Extra Padding TLV in each packet\n"
            "   -z delayStart  time to wait before executing test (seconds)\n"
            "   -I ssid        Session-Sender Identifier, 0-65535 (default 0)\n"
            "   -T tlvs        TLVs to send, comma separated: pad=N, location, timestamp,\n"
            "                  cos[=DSCP], direct, access=ID[:CODE], follow-up, hmac\n");
    fprintf(out, "\n");
    tools_conn_usage(out);
    fprintf(out, "   (stping) -A takes [O]pen or [A]uthenticated; -u names the key in the -k "
                 "file\n\n");
    tools_output_usage(out);
    tools_usage_tail(out);
}

static void die_usage(const char *msg)
{
    usage(stderr, msg);
    exit(1);
}

static int parse_ssid(stping_opts *o, const char *arg)
{
    uint32_t v;
    owp_err err;
    if (owp_parse_uint32(arg, "-I", &v, &err) != OWP_OK || v > 0xFFFF) {
        tools_errmsg(PROG, "-I %s: an SSID is 0 to 65535", arg);
        return -1;
    }
    o->ssid = (int)v;
    return 1;
}

static int own_option(void *ctx, int c, const char *arg)
{
    stping_opts *o = ctx;
    owp_err err;
    switch (c) {
    case 'F':
        o->save = arg;
        return 1;
    case 'I':
        return parse_ssid(o, arg);
    case 'T':
        if (stping_parse_tlvs(arg, &o->tlvs, &err) != OWP_OK) {
            tools_errmsg(PROG, "-T %s: %s", arg, err.msg);
            return -1;
        }
        return 1;
    }
    return 0;
}

/* STAMP has two modes: -A takes exactly one of them. */
static owp_mode chosen_mode(const stping_opts *o)
{
    uint32_t m = o->conn.modes_set ? o->conn.modes : OWP_MODE_OPEN;
    if (m == OWP_MODE_OPEN || m == OWP_MODE_AUTH)
        return (owp_mode)m;
    tools_errmsg(PROG, "-A: STAMP is either open (O) or authenticated (A), one of them");
    exit(1);
}

/* --version before the shared option loop, whose version line calls every
 * program a drop-in for the reference's: owamp 5.2.3 has no STAMP. The
 * arguments of options are skipped, as getopt would. */
static void answer_version(int argc, char **argv, const char *optstring)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s (owmesh) %s\nthe STAMP Session-Sender of owmesh (RFC 8762, RFC 8972)\n",
                   PROG, PACKAGE_VERSION);
            exit(0);
        }
        const char *letter = argv[i][0] == '-' && argv[i][1] && argv[i][1] != '-' && !argv[i][2]
                                 ? strchr(optstring, argv[i][1])
                                 : NULL;
        if (letter && letter[1] == ':' && letter[2] != ':') /* "v::": attached only */
            i++;
    }
}

static void parse_args(stping_opts *o, int argc, char **argv)
{
    static const char optstring[] =
        "h" "F:I:T:" TOOLS_TEST_OPTSTRING TOOLS_CONN_OPTSTRING TOOLS_OUTPUT_OPTSTRING;
    answer_version(argc, argv, optstring);
    if (tools_test_opts_init(&o->test, usage) != 0)
        exit(1);
    tools_conn_opts_init(&o->conn);
    tools_output_opts_init(&o->out);
    owp_stamp_tlv_request_none(&o->tlvs);
    int rc = tools_test_prog_getopt(argc, argv, optstring, own_option, o, &o->test, &o->conn,
                                    &o->out, PROG, usage);
    if (rc >= 0)
        exit(rc);
    if (o->test.padding_set && o->test.padding > 0)
        o->tlvs.extra_padding = (int)o->test.padding;
}

/* The key for -A A or an HMAC TLV: -k FILE and -u IDENTITY. */
static owp_stamp_key *load_key(const stping_opts *o, owp_mode mode)
{
    int wanted = mode == OWP_MODE_AUTH || o->tlvs.hmac;
    if (!wanted && !o->conn.identity)
        return NULL;
    if (!o->conn.pfs_file || !o->conn.identity) {
        tools_errmsg(PROG, "authenticated mode and the HMAC TLV need a key: -k FILE -u IDENTITY");
        exit(1);
    }
    owp_err err;
    owp_stamp_key *key = owp_stamp_key_load(o->conn.pfs_file, o->conn.identity, &err);
    if (!key) {
        tools_errmsg(PROG, "%s", err.msg);
        exit(1);
    }
    return key;
}

static void resolve(const stping_opts *o, const char *operand, struct sockaddr_storage *peer,
                    socklen_t *peer_len, struct sockaddr_storage *local, socklen_t *local_len)
{
    owp_hostport hp;
    owp_err err;
    if (owp_hostport_parse(operand, &hp, &err) != OWP_OK)
        die_usage(err.msg);
    if (owp_hostport_resolve(&hp, OWP_STAMP_PORT, tools_conn_opts_family(&o->conn), SOCK_DGRAM, 0,
                             peer, peer_len, &err) != OWP_OK) {
        tools_errmsg(PROG, "%s", err.msg);
        exit(1);
    }
    *local_len = 0;
    if (!o->conn.src_addr)
        return;
    owp_hostport src;
    if (owp_hostport_parse(o->conn.src_addr, &src, &err) != OWP_OK ||
        (src.port[0] = '\0',
         owp_hostport_resolve(&src, "0", peer->ss_family, SOCK_DGRAM, 1, local, local_len,
                              &err)) != OWP_OK) {
        tools_errmsg(PROG, "source address (-S) \"%s\": %s", o->conn.src_addr, err.msg);
        exit(1);
    }
}

static owp_stamp_client *make_client(stping_opts *o, owp_mode mode, owp_stamp_key *key,
                                     const char *operand)
{
    struct sockaddr_storage peer, local;
    socklen_t peer_len, local_len;
    resolve(o, operand, &peer, &peer_len, &local, &local_len);
    double lead = o->test.delay_start > START_LEAD ? o->test.delay_start : START_LEAD;
    /* Authenticated mode protects every TLV but Extra Padding (RFC 8972 4.8). */
    owp_stamp_tlv_request protected = o->tlvs;
    protected.extra_padding = -1;
    if (mode == OWP_MODE_AUTH && owp_stamp_tlv_request_len(&protected) > 0)
        o->tlvs.hmac = 1;
    owp_stamp_client_spec spec = {
        .mode = mode, .key = key, .ssid = (uint16_t)o->ssid, .tlvs = o->tlvs,
        .npackets = o->test.count, .slots = o->test.slots, .nslots = o->test.nslots,
        .start_time = owp_clock_now(NULL) + owp_num64_from_double(lead),
        .timeout = o->test.loss_timeout > 0 ? o->test.loss_timeout : DEFAULT_TIMEOUT,
        .dscp = o->test.dscp, .ports = o->test.ports,
        .local = local_len ? (struct sockaddr *)&local : NULL, .local_len = local_len,
        .bind_device = o->conn.bind_device,
        .reflector = (struct sockaddr *)&peer, .reflector_len = peer_len,
    };
    owp_err err;
    owp_stamp_client *c = owp_stamp_client_new(&spec, &err);
    if (!c) {
        tools_errmsg(PROG, "%s", err.msg);
        tools_errmsg(PROG, "Session Failed!");
    }
    return c;
}

int main(int argc, char **argv)
{
    tools_prog_signals(on_signal);
    static stping_opts o;
    parse_args(&o, argc, argv);
    if (tools_prog_init(PROG) != 0)
        return 1;
    if (argc - optind != 1)
        die_usage(NULL);
    const char *operand = argv[optind];
    owp_mode mode = chosen_mode(&o);
    owp_stamp_key *key = load_key(&o, mode);
    owp_twp_save *save = tools_twsave_begin(PROG, o.save);
    owp_stamp_client *c = make_client(&o, mode, key, operand);
    if (!c) {
        tools_twsave_abort(&save);
        owp_stamp_key_destroy(&key);
        return 1;
    }
    g_phase = PHASE_TEST;
    if (!o.out.quiet && !o.out.report.raw)
        printf("Approximately %.1f seconds until results available\n",
               owp_stamp_client_seconds_until_results(c));
    fflush(stdout);
    int rc = 0;
    owp_err err;
    if (owp_stamp_client_run(c, &g_interrupt, &err) != OWP_OK) {
        tools_errmsg(PROG, "%s", err.msg);
        tools_errmsg(PROG, "Test session(s) Failed...");
        rc = 1;
    } else {
        g_phase = PHASE_REPORT;
        if (save) {
            uint32_t n;
            const owp_tw_record *rec = owp_stamp_client_records(c, &n);
            rc = tools_twsave_commit(PROG, &save, owp_stamp_client_request(c), rec, n);
        }
        if (!o.out.quiet || o.out.report.raw)
            rc |= stping_report(stdout, c, &o.out.report, operand, PROG);
    }
    tools_twsave_abort(&save);
    owp_stamp_client_destroy(&c);
    owp_stamp_key_destroy(&key);
    tools_test_opts_clear(&o.test);
    tools_output_opts_clear(&o.out);
    return rc;
}
