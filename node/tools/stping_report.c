/*
 * stping_report.c - stping's -T list and its report (stping_report.h).
 */
#include "stping_report.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "hostport.h"
#include "options.h"
#include "twstats.h"

/* ------------------------------------------------------------ -T */

/* name, or its abbreviation (at least two letters). */
static int is(const char *word, size_t len, const char *name)
{
    return len >= 2 && len <= strlen(name) && strncasecmp(word, name, len) == 0;
}

static owp_status parse_number(const char *text, const char *what, uint32_t max, int *out,
                               owp_err *err)
{
    uint32_t v;
    owp_status st = owp_parse_uint32(text, what, &v, err);
    if (st == OWP_OK && v > max)
        st = owp_err_set(err, OWP_ERR_PARSE, "%s %u: at most %u", what, v, max);
    if (st == OWP_OK)
        *out = (int)v;
    return st;
}

/* "access=ID[:CODE]" (CODE 1, available, by default). */
static owp_status parse_access(char *value, owp_stamp_tlv_request *r, owp_err *err)
{
    if (!value)
        return owp_err_set(err, OWP_ERR_PARSE, "access needs an ID: access=1 (3GPP) or 2");
    char *code = strchr(value, ':');
    if (code)
        *code++ = '\0';
    owp_status st = parse_number(value, "access ID", 15, &r->access_id, err);
    if (st == OWP_OK && r->access_id == 0)
        st = owp_err_set(err, OWP_ERR_PARSE, "access ID 0: 1 (3GPP) or 2 (non-3GPP)");
    r->access_return_code = 1;
    if (st == OWP_OK && code)
        st = parse_number(code, "access return code", 255, &r->access_return_code, err);
    return st;
}

static owp_status parse_item(char *item, owp_stamp_tlv_request *r, owp_err *err)
{
    char *value = strchr(item, '=');
    if (value)
        *value++ = '\0';
    size_t n = strlen(item);
    if (is(item, n, "pad") || is(item, n, "padding")) {
        if (!value)
            return owp_err_set(err, OWP_ERR_PARSE, "pad needs a size: pad=N");
        return parse_number(value, "pad", 65000, &r->extra_padding, err);
    }
    if (is(item, n, "cos")) {
        r->cos_dscp = 0;
        return value ? owp_parse_dscp(value, &r->cos_dscp, err) : OWP_OK;
    }
    if (is(item, n, "access"))
        return parse_access(value, r, err);
    if (value)
        return owp_err_set(err, OWP_ERR_PARSE, "%s takes no value", item);
    if (is(item, n, "location"))
        r->location = 1;
    else if (is(item, n, "timestamp") || strcasecmp(item, "ts") == 0)
        r->timestamp_info = 1;
    else if (is(item, n, "direct"))
        r->direct = 1;
    else if (is(item, n, "follow-up"))
        r->follow_up = 1;
    else if (is(item, n, "hmac"))
        r->hmac = 1;
    else
        return owp_err_set(err, OWP_ERR_PARSE, "unknown TLV \"%s\" (pad=N, location, timestamp, "
                                               "cos[=DSCP], direct, access=ID, follow-up, hmac)",
                           item);
    return OWP_OK;
}

owp_status stping_parse_tlvs(const char *list, owp_stamp_tlv_request *r, owp_err *err)
{
    char copy[256];
    if (snprintf(copy, sizeof copy, "%s", list) >= (int)sizeof copy)
        return owp_err_set(err, OWP_ERR_PARSE, "the list is too long");
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        owp_status st = parse_item(item, r, err);
        if (st != OWP_OK)
            return st;
    }
    return OWP_OK;
}

/* ------------------------------------------------------------ the STAMP lines */

static const char *sync_name(uint8_t v)
{
    switch (v) {
    case 1: return "NTP";
    case 2: return "PTP";
    case 3: return "SSU/BITS";
    case 4: return "GNSS";
    case 5: return "local free-running clock";
    }
    return "unspecified";
}

static const char *method_name(uint8_t v)
{
    switch (v) {
    case OWP_STAMP_TS_HW: return "hardware";
    case OWP_STAMP_TS_SW: return "software";
    case OWP_STAMP_TS_CONTROL: return "control plane";
    }
    return "unspecified";
}

static void print_address(FILE *out, int family, const uint8_t *addr, uint16_t port)
{
    char text[INET6_ADDRSTRLEN] = "?";
    if (family)
        inet_ntop(family, addr, text, sizeof text);
    fprintf(out, "[%s]:%u", text, port);
}

static void print_values(FILE *out, const owp_stamp_tlv_answers *a)
{
    if (a->have_location) {
        fprintf(out, "Location: the reflector saw ");
        print_address(out, a->loc_src_family, a->loc_src, a->loc_src_port);
        fprintf(out, " -> ");
        print_address(out, a->loc_dst_family, a->loc_dst, a->loc_dst_port);
        fprintf(out, "\n");
    }
    if (a->have_timestamp_info)
        fprintf(out, "Timestamp Information: in %s, %s; out %s, %s\n", sync_name(a->sync_in),
                method_name(a->ts_in), sync_name(a->sync_out), method_name(a->ts_out));
    if (a->have_cos)
        fprintf(out, "Class of Service: DSCP1 %u %s (RP %u), arrived with DSCP2 %u ECN %u\n",
                a->dscp1, a->rp ? "refused" : "used", a->rp, a->dscp2, a->ecn);
    if (a->have_direct)
        fprintf(out, "Direct Measurement: S_TxC %u, R_RxC %u, R_TxC %u\n", a->s_txc, a->r_rxc,
                a->r_txc);
    if (a->have_access_report)
        fprintf(out, "Access Report: ID %u, return code %u\n", a->access_id, a->return_code);
    if (a->have_follow_up)
        fprintf(out, "Follow-Up Telemetry: seq %u, timestamp %020llu (%s)\n", a->follow_up_seq,
                (unsigned long long)a->follow_up_time, method_name(a->follow_up_mode));
}

/* Stateful reflectors number their answers themselves (RFC 8762 4.3). */
static void print_numbering(FILE *out, const owp_tw_record *rec, uint32_t n)
{
    uint32_t received = 0, differ = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!owp_tw_record_lost(&rec[i])) {
            received++;
            differ += rec[i].bck.seq != rec[i].fwd.seq;
        }
    if (received == 0)
        return;
    if (differ)
        fprintf(out, "reflector sequence numbers: its own (stateful), %u of %u differ from ours\n",
                differ, received);
    else
        fprintf(out, "reflector sequence numbers: ours (stateless, or stateful and nothing lost "
                     "on the way there)\n");
}

static void print_stamp(FILE *out, const owp_stamp_client *c, const owp_tw_record *rec,
                        uint32_t n)
{
    const owp_stamp_client_tlvs *t = owp_stamp_client_tlv_summary(c);
    print_numbering(out, rec, n);
    if (t->answers) {
        fprintf(out, "TLVs in %u answers: unrecognized in %u, malformed in %u, integrity failed "
                     "in %u",
                t->answers, t->unrecognized, t->malformed, t->integrity);
        if (t->hmac_ok || t->hmac_bad)
            fprintf(out, "; HMAC TLV verified in %u, failed in %u", t->hmac_ok, t->hmac_bad);
        fprintf(out, "\n");
        print_values(out, &t->last);
    }
    if (owp_stamp_client_ignored(c))
        fprintf(out, "ignored %u datagrams (another source, undecodable, or a bad HMAC)\n",
                owp_stamp_client_ignored(c));
    fprintf(out, "\n");
}

int stping_report(FILE *out, const owp_stamp_client *c, const owp_report_opts *ro,
                  const char *operand, const char *prog)
{
    char from_host[1025], from_addr[128], to_addr[128];
    owp_hostport hp;
    socklen_t len;
    const struct sockaddr *local = owp_stamp_client_local(c, &len);
    owp_sockaddr_name(local, from_host, sizeof from_host);
    owp_sockaddr_format_addr(local, from_addr, sizeof from_addr);
    owp_sockaddr_format_addr(owp_stamp_client_reflector(c, &len), to_addr, sizeof to_addr);
    if (owp_hostport_parse(operand, &hp, NULL) != OWP_OK)
        snprintf(hp.host, sizeof hp.host, "%s", to_addr);
    owp_tw_session_info info = {
        .req = owp_stamp_client_request(c), .from_host = from_host, .from_addr = from_addr,
        .to_host = hp.host, .to_addr = to_addr, .finished = 1, .prog = prog,
    };
    owp_tw_report_opts to = {
        .bucket_width = ro->bucket_width, .units = ro->units, .sub_count = ro->sub_count,
        .machine = ro->machine, .raw = ro->raw, .verbose = ro->verbose,
        .percentiles = ro->percentiles, .npercentiles = ro->npercentiles,
    };
    uint32_t n;
    const owp_tw_record *rec = owp_stamp_client_records(c, &n);
    owp_err err;
    if (owp_tw_report(out, &info, rec, n, &to, &err) != OWP_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return 1;
    }
    if (!ro->machine && !ro->raw)
        print_stamp(out, c, rec, n);
    fflush(out);
    return 0;
}
