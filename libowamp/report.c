/*
 * report.c - session reports in the reference owamp 5.2.3's formats
 * (owp-file-format.md section 8, programs.md sections 5.5 and 6).
 *
 * The -M, -R and -v formats are byte-compatible with the reference. The
 * human-readable summary is too, except for the median, jitter and -a
 * percentile values, which are the exact nearest-rank percentiles of the
 * first copies (owdstat.h, doc/statistics.md, doc/compat.md).
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "hostport.h"
#include "owdstat.h"
#include "stats.h"
#include "timestamp.h"
#include "twpfile.h"

#define TSTAMP_FMT "%020" PRIu64 /* 32.32 values as 20-digit decimals */

void owp_report_opts_default(owp_report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bucket_width = OWP_STATS_DEFAULT_BUCKET_WIDTH;
    o->units = 'm';
}

/* Endpoint names as the reference prints them. */
typedef struct endpoints {
    char from_host[NI_MAXHOST], from_addr[NI_MAXHOST], from_port[16];
    char to_host[NI_MAXHOST], to_addr[NI_MAXHOST], to_port[16];
} endpoints;

static void name_endpoint(uint8_t ipvn, const uint8_t addr[16], uint16_t port, const char *given,
                          char *host, char *num, char *serv)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (owp_sockaddr_from_wire(ipvn, addr, port, &ss, &len, NULL) != OWP_OK) {
        strcpy(num, "***");
        serv[0] = '\0';
        if (given)
            snprintf(host, NI_MAXHOST, "%s", given);
        else
            strcpy(host, "***");
        return;
    }
    owp_sockaddr_format_addr((struct sockaddr *)&ss, num, NI_MAXHOST);
    snprintf(serv, 16, "%u", (unsigned)port);
    if (given)
        snprintf(host, NI_MAXHOST, "%s", given);
    else
        owp_sockaddr_name((struct sockaddr *)&ss, host, NI_MAXHOST);
}

double owp_report_unit_scale(char units, const char **label)
{
    switch (units) {
    case 'n': case 'N': *label = "ns"; return 1e9;
    case 'u': case 'U': *label = "us"; return 1e6;
    case 's': case 'S': *label = ""; return 1.0;
    default: *label = "ms"; return 1e3;
    }
}

typedef struct report_ctx {
    FILE *out;
    const owp_request *req;
    owp_file *file;
    const owp_report_opts *o;
    endpoints ep;
    double scale;
    const char *unit;
    owp_stats *stats;
    FILE *records_out; /* -v destination, NULL without -v */
    int finished;      /* -M SESSION_FINISHED: OWP_REPORT_FINISHED_FILE or 0/1 */
    owp_err *err;
    owp_status status;
} report_ctx;

static void print_header(const report_ctx *c, FILE *out)
{
    fprintf(out, "\n--- owping statistics from [%s]:%s to [%s]:%s ---\n", c->ep.from_host,
            c->ep.from_port, c->ep.to_host, c->ep.to_port);
    fprintf(out, "SID:\t");
    for (int i = 0; i < OWP_SID_LEN; i++)
        fprintf(out, "%02x", c->req->sid[i]);
    fprintf(out, "\n");
}

static double unix_seconds(owp_num64 t)
{
    return owp_num64_to_double(t) - (double)OWP_NTP_UNIX_OFFSET;
}

static void print_record_line(const report_ctx *c, const owp_record *r, owp_stats_event ev)
{
    FILE *out = c->records_out;
    if (ev == OWP_STATS_LOST) {
        fprintf(out, "seq_no=%-10u *LOST*\n", r->seq);
        return;
    }
    double d = owp_stats_delay(r) * c->scale;
    if (owp_errest_synchronized(r->send_err) && owp_errest_synchronized(r->recv_err)) {
        double e = (owp_errest_seconds(r->send_err) + owp_errest_seconds(r->recv_err)) * c->scale;
        if (c->o->unix_times)
            fprintf(out, "seq_no=%d delay=%e %s (sync, err=%.3g %s) sent=%f recv=%f\n",
                    (int)r->seq, d, c->unit, e, c->unit, unix_seconds(r->send_time),
                    unix_seconds(r->recv_time));
        else
            fprintf(out, "seq_no=%-10u delay=%.3g %s\t(sync, err=%.3g %s)\n", r->seq, d, c->unit,
                    e, c->unit);
    } else {
        fprintf(out, "seq_no=%-10u delay=%.3g %s\t(unsync)\n", r->seq, d, c->unit);
    }
}

static int feed_record(const owp_record *r, void *arg)
{
    report_ctx *c = arg;
    owp_stats_event ev;
    c->status = owp_stats_add(c->stats, r, &ev, c->err);
    if (c->status != OWP_OK)
        return 1;
    if (c->records_out && ev != OWP_STATS_IGNORED)
        print_record_line(c, r, ev);
    return 0;
}

const char *owp_report_value(char *buf, size_t len, int defined, double v, double scale)
{
    if (!defined)
        snprintf(buf, len, "nan");
    else
        snprintf(buf, len, "%.3g", v * scale);
    return buf;
}

static void print_summary(const report_ctx *c, FILE *out)
{
    owp_stats *s = c->stats; /* the exact percentiles select in its delays */
    char tbuf[80], b1[80], b2[80], b3[80];
    double v;

    print_header(c, out);
    owp_ntp_format_local(owp_stats_start_time(s), tbuf, sizeof tbuf);
    fprintf(out, "first:\t%s\n", tbuf);
    owp_ntp_format_local(owp_stats_end_time(s), tbuf, sizeof tbuf);
    fprintf(out, "last:\t%s\n", tbuf);

    uint32_t sent = owp_stats_sent(s), lost = owp_stats_lost(s);
    double loss = owp_owd_loss_ratio(lost, sent);
    fprintf(out, "%u sent, %u lost (%.3f%%), %u duplicates\n", sent, lost, 100.0 * loss,
            owp_stats_dups(s));

    double mn, mx, med;
    int has_min = owp_stats_min(s, &mn), has_max = owp_stats_max(s, &mx);
    int has_med = owp_stats_percentile(s, 0.5, &med);
    fprintf(out, "one-way delay min/median/max = %s/%s/%s %s, ",
            owp_report_value(b1, sizeof b1, has_min, mn, c->scale),
            owp_report_value(b2, sizeof b2, has_med, med, c->scale),
            owp_report_value(b3, sizeof b3, has_max, mx, c->scale), c->unit);
    if (owp_stats_sync(s))
        fprintf(out, "(err=%.3g %s)\n", owp_stats_maxerr(s) * c->scale, c->unit);
    else
        fprintf(out, "(unsync)\n");

    int has_jit = owp_stats_jitter(s, &v);
    fprintf(out, "one-way jitter = %s %s (P95-P50)\n",
            owp_report_value(b1, sizeof b1, has_jit, v, c->scale), c->unit);

    if (c->o->npercentiles) {
        fprintf(out, "Percentiles:\n");
        for (unsigned i = 0; i < c->o->npercentiles; i++) {
            /* The reference keeps -a values as floats. */
            double p = (double)(float)c->o->percentiles[i];
            int ok = owp_stats_percentile(s, c->o->percentiles[i] / 100.0, &v);
            fprintf(out, "\t%.1f: %s %s\n", p, owp_report_value(b1, sizeof b1, ok, v, c->scale),
                    c->unit);
        }
    }

    uint8_t min_ttl, max_ttl;
    unsigned nttl = owp_stats_ttl_values(s, &min_ttl, &max_ttl);
    if (nttl < 1)
        fprintf(out, "TTL not reported\n");
    else if (nttl == 1)
        fprintf(out, "hops = %d (consistently)\n", owp_owd_hops(min_ttl));
    else
        fprintf(out, "hops takes %u values; min hops = %d, max hops = %d\n", nttl,
                owp_owd_hops(max_ttl), owp_owd_hops(min_ttl));

    uint32_t limit = owp_stats_reorder_limit(s), total = owp_stats_reorder_total(s), j;
    for (j = 0; j < limit && owp_stats_reorder(s, j + 1); j++)
        fprintf(out, "%u-reordering = %f%%\n", j + 1, 100.0 * owp_stats_reorder(s, j + 1) / total);
    if (j == 0)
        fprintf(out, "no reordering\n");
    else if (j < limit)
        fprintf(out, "no %u-reordering\n", j + 1);
    else
        fprintf(out, "%u-reordering not handled\n", limit + 1);
    fprintf(out, "\n");
}

/* The file's own word, unless the caller knows better (a .sum of a session
 * still being written says 0). */
static int session_finished(const report_ctx *c)
{
    if (c->finished != OWP_REPORT_FINISHED_FILE)
        return c->finished ? 1 : 0;
    return owp_file_finished(c->file) == OWP_FINISHED_NORMAL ? 1 : 0;
}

static void print_machine(const report_ctx *c, FILE *out)
{
    const owp_stats *s = c->stats;
    const owp_request *req = c->req;
    double v;

    fprintf(out, "SUMMARY\t%.2f\n", 3.0);
    fprintf(out, "SID\t");
    for (int i = 0; i < OWP_SID_LEN; i++)
        fprintf(out, "%02x", req->sid[i]);
    fprintf(out, "\n");
    fprintf(out, "FROM_HOST\t%s\nFROM_ADDR\t%s\nFROM_PORT\t%s\n", c->ep.from_host, c->ep.from_addr,
            c->ep.from_port);
    fprintf(out, "TO_HOST\t%s\nTO_ADDR\t%s\nTO_PORT\t%s\n", c->ep.to_host, c->ep.to_addr,
            c->ep.to_port);
    fprintf(out, "START_TIME\t" TSTAMP_FMT "\n", owp_stats_start_time(s));
    fprintf(out, "END_TIME\t" TSTAMP_FMT "\n", owp_stats_end_time(s));
    if (c->o->unix_times) {
        fprintf(out, "UNIX_START_TIME\t%f\n", unix_seconds(owp_stats_start_time(s)));
        fprintf(out, "UNIX_END_TIME\t%f\n", unix_seconds(owp_stats_end_time(s)));
    }
    /* Type-P is a DSCP when only the low 6 bits of its first byte are set. */
    if (!(req->typep & ~0x3F000000u))
        fprintf(out, "DSCP\t0x%2.2x\n", (unsigned)(req->typep >> 24));
    fprintf(out, "LOSS_TIMEOUT\t%" PRIu64 "\n", req->timeout);
    fprintf(out, "PACKET_PADDING\t%u\n", req->padding);
    fprintf(out, "SESSION_PACKET_COUNT\t%u\n", req->npackets);
    fprintf(out, "SAMPLE_PACKET_COUNT\t%u\n", owp_stats_last(s) - owp_stats_first(s));
    fprintf(out, "BUCKET_WIDTH\t%g\n", owp_stats_bucket_width(s));
    fprintf(out, "SESSION_FINISHED\t%d\n", session_finished(c));
    fprintf(out, "SENT\t%u\n", owp_stats_sent(s));
    fprintf(out, "SYNC\t%d\n", owp_stats_sync(s));
    fprintf(out, "MAXERR\t%g\n", owp_stats_maxerr(s));
    fprintf(out, "DUPS\t%u\n", owp_stats_dups(s));
    fprintf(out, "LOST\t%u\n", owp_stats_lost(s));
    if (owp_stats_min(s, &v))
        fprintf(out, "MIN\t%g\n", v);
    if (owp_stats_percentile_ref(s, 0.5, &v))
        fprintf(out, "MEDIAN\t%g\n", v);
    if (owp_stats_max(s, &v))
        fprintf(out, "MAX\t%g\n", v);
    if (owp_stats_jitter_ref(s, &v))
        fprintf(out, "PDV\t%g\n", v);

    if (owp_stats_sent(s) > owp_stats_lost(s)) {
        fprintf(out, "<BUCKETS>\n");
        for (uint32_t i = 0; i < owp_stats_nbuckets(s); i++) {
            int32_t idx;
            uint32_t n;
            owp_stats_bucket_ref_order(s, i, &idx, &n);
            fprintf(out, "\t%d\t%u\n", idx, n);
        }
        fprintf(out, "</BUCKETS>\n");
    }

    uint8_t min_ttl, max_ttl;
    unsigned nttl = owp_stats_ttl_values(s, &min_ttl, &max_ttl);
    fprintf(out, "MINTTL\t%u\nMAXTTL\t%u\n", min_ttl, max_ttl);
    if (nttl > 0) {
        fprintf(out, "<TTLBUCKETS>\n");
        for (unsigned t = 0; t < 256; t++)
            if (owp_stats_ttl_count(s, (uint8_t)t))
                fprintf(out, "\t%u\t%u\n", t, owp_stats_ttl_count(s, (uint8_t)t));
        fprintf(out, "</TTLBUCKETS>\n");
    }
    fprintf(out, "\n");

    fprintf(out, "<NREORDERING>\n");
    uint32_t limit = owp_stats_reorder_limit(s), j;
    for (j = 0; j < limit && owp_stats_reorder(s, j + 1); j++)
        fprintf(out, "\t%u\t%u\n", j + 1, owp_stats_reorder(s, j + 1));
    if (j == 0 || j >= limit)
        fprintf(out, "\t%u\t%u\n", j + 1, 0u);
    fprintf(out, "</NREORDERING>\n");
}

/* ---- -p: one file per block, written as DIR/SESSIONSTART.i then linked ---- */

static owp_status open_block_file(const report_ctx *c, char *tmp, size_t len, FILE **fp)
{
    snprintf(tmp, len, "%s%s" TSTAMP_FMT ".i", c->o->files_dir ? c->o->files_dir : "",
             c->o->files_dir ? "/" : "", c->req->start_time);
    *fp = fopen(tmp, "w");
    if (!*fp)
        return owp_err_sys(c->err, "OWStatsParse: fopen(%s)", tmp);
    return OWP_OK;
}

static owp_status finish_block_file(const report_ctx *c, const char *tmp, FILE *fp)
{
    char name[4096];
    snprintf(name, sizeof name, "%s%s" TSTAMP_FMT "_" TSTAMP_FMT "%s",
             c->o->files_dir ? c->o->files_dir : "", c->o->files_dir ? "/" : "",
             owp_stats_start_time(c->stats), owp_stats_end_time(c->stats),
             c->o->machine ? ".sum" : ".txt");
    if (fclose(fp) != 0) {
        owp_status st = owp_err_sys(c->err, "fclose(%s)", tmp);
        unlink(tmp);
        return st;
    }
    if (link(tmp, name) != 0) {
        owp_status st = owp_err_sys(c->err, "OWStatsParse: link(%s,%s)", tmp, name);
        unlink(tmp);
        return st;
    }
    unlink(tmp);
    fprintf(c->out, "%s\n", name);
    fflush(c->out);
    return OWP_OK;
}

/* -N: where each block's records lie in the file. Block b covers seqs
 * [k*b, min(k*(b+1), npackets)); lo[b]/hi[b] are the file indexes of its
 * first and last record (lo = UINT32_MAX: none). A block's statistics depend
 * only on its own records in file order, so reading [lo, hi] gives exactly
 * what reading from the reference's start index to the end of the file
 * gives, without re-reading the rest of the file for every block. */
typedef struct block_spans {
    uint32_t k, nblocks, npackets, index;
    uint32_t *lo, *hi;
    uint32_t last_block, last_first; /* the block of the last record and its first seq */
} block_spans;

static int note_span(const owp_record *r, void *arg)
{
    block_spans *s = arg;
    uint32_t i = s->index++;
    if (r->seq >= s->npackets)
        return 0; /* in no block's range */
    /* Records come mostly in seq order: the last record's block saves a
     * division for most of them. */
    uint32_t b = r->seq - s->last_first < s->k ? s->last_block : r->seq / s->k;
    s->last_block = b;
    s->last_first = b * s->k;
    if (s->lo[b] == UINT32_MAX)
        s->lo[b] = i;
    s->hi[b] = i;
    return 0;
}

/* Fills spans, or leaves spans->lo NULL when the plain walk must be used:
 * -vN reads the first N records from each block's start index; and a block
 * count beyond the records the file holds would only waste memory. */
static owp_status find_block_spans(report_ctx *c, uint32_t k, uint32_t nblocks,
                                   block_spans *spans)
{
    memset(spans, 0, sizeof *spans);
    uint32_t region = owp_file_region_nrecords(c->file);
    if (c->o->verbose_max || nblocks < 2 || nblocks > region)
        return OWP_OK;
    uint32_t *lo = malloc(nblocks * sizeof *lo), *hi = malloc(nblocks * sizeof *hi);
    if (!lo || !hi) {
        free(lo);
        free(hi);
        return OWP_OK; /* the plain walk needs no memory */
    }
    memset(lo, 0xff, nblocks * sizeof *lo);
    *spans = (block_spans){k, nblocks, c->req->npackets, 0, lo, hi, 0, 0};
    owp_status st = owp_file_each_record_from(c->file, 0, region, note_span, spans, c->err);
    if (st != OWP_OK) {
        free(lo);
        free(hi);
        spans->lo = spans->hi = NULL;
    }
    return st;
}

/* One block: parse the records of [first, last) and print its summary.
 * span: NULL, or {first index, count} of the records to read. */
static owp_status report_block(report_ctx *c, uint32_t first, uint32_t last, uint32_t *start_index,
                               const uint32_t span[2])
{
    FILE *out = c->out;
    char tmp[4096];
    owp_status st;
    if (c->o->print_files && (st = open_block_file(c, tmp, sizeof tmp, &out)) != OWP_OK)
        return st;

    st = owp_stats_begin(c->stats, first, last, *start_index, c->err);
    if (st == OWP_OK) {
        c->records_out = c->o->verbose ? out : NULL;
        if (c->records_out)
            print_header(c, out);
        uint32_t region = owp_file_region_nrecords(c->file);
        uint32_t from = span ? span[0] : *start_index;
        uint32_t n = span ? span[1] : *start_index < region ? region - *start_index : 0;
        if (c->o->verbose_max && c->o->verbose_max < n)
            n = c->o->verbose_max;
        c->status = OWP_OK;
        st = owp_file_each_record_from(c->file, from, n, feed_record, c, c->err);
        if (st == OWP_OK)
            st = c->status;
    }
    if (st == OWP_OK)
        st = owp_stats_end(c->stats, c->err);
    if (st != OWP_OK) {
        if (c->o->print_files) {
            fclose(out);
            unlink(tmp);
        }
        return st;
    }
    *start_index = owp_stats_next_index(c->stats);
    if (c->o->machine)
        print_machine(c, out);
    else
        print_summary(c, out);
    if (c->o->print_files)
        return finish_block_file(c, tmp, out);
    return OWP_OK;
}

/* -R: the reference's raw lines (fmt.h: printf's bytes at a tenth of its cost). */
typedef struct raw_ctx {
    owp_fmt_out out;
    owp_fmt_errest_memo memo;
} raw_ctx;

static int print_raw(const owp_record *r, void *arg)
{
    raw_ctx *c = arg;
    char *p = owp_fmt_reserve(&c->out, OWP_FMT_RAW_ROOM);
    owp_fmt_commit(&c->out, owp_fmt_raw_record(&c->memo, p, r, '\n'));
    return 0;
}

static owp_status report_raw(FILE *out, owp_file *f, owp_err *err)
{
    raw_ctx *c = malloc(sizeof *c);
    if (!c)
        return owp_err_set(err, OWP_ERR_NOMEM, "raw records: out of memory");
    owp_fmt_errest_memo_init(&c->memo);
    owp_status st = owp_fmt_out_init(&c->out, out, err);
    if (st == OWP_OK) {
        st = owp_file_each_record_from(f, 0, owp_file_nrecords(f), print_raw, c, err);
        owp_status wst = owp_fmt_out_finish(&c->out, "raw records", st == OWP_OK ? err : NULL);
        if (st == OWP_OK)
            st = wst;
    }
    free(c);
    return st;
}

/* Reports need a version 2 file (the reference's check, and its words). */
static owp_status check_version(owp_file *f, owp_err *err)
{
    if (!owp_file_request(f) || owp_file_version(f) < 2)
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "%s: owp files must be version 2 or greater (version = %u)",
                           owp_file_name(f), owp_file_version(f));
    return OWP_OK;
}

/* Everything a summary of f needs: names, units, the statistics object
 * (owned by c: owp_stats_destroy(&c->stats) when done). */
static owp_status report_open(report_ctx *c, FILE *out, owp_file *f, const char *from_host,
                              const char *to_host, const owp_report_opts *o, owp_err *err)
{
    const owp_request *req = owp_file_request(f);
    if (!(o->bucket_width > 0.0))
        return owp_err_set(err, OWP_ERR_INVALID, "bucket width must be positive");
    *c = (report_ctx){.out = out, .req = req, .file = f, .o = o,
                      .finished = OWP_REPORT_FINISHED_FILE, .err = err};
    name_endpoint(req->ipvn, req->sender_addr, req->sender_port, from_host, c->ep.from_host,
                  c->ep.from_addr, c->ep.from_port);
    name_endpoint(req->ipvn, req->receiver_addr, req->receiver_port, to_host, c->ep.to_host,
                  c->ep.to_addr, c->ep.to_port);
    c->scale = owp_report_unit_scale(o->units, &c->unit);
    c->stats = owp_stats_new(req, owp_file_skips(f), owp_file_nskips(f), o->bucket_width, err);
    if (!c->stats)
        return err ? err->code : OWP_ERR_INVALID;
    return OWP_OK;
}

/* -N K: ceil(npackets / K) blocks [0,K), [K,2K)...; the last runs to the end.
 * *k is 0 when there is one block (no K, or K >= npackets). */
static uint32_t block_count(const owp_request *req, uint32_t sub_count, uint32_t *k)
{
    *k = sub_count && sub_count < req->npackets ? sub_count : 0;
    if (!*k)
        return 1;
    return req->npackets / *k + (req->npackets % *k ? 1 : 0);
}

/* Seqs [*first, *last) of block b (*last UINT32_MAX: to the session's end). */
static void block_range(const owp_request *req, uint32_t k, uint32_t b, uint32_t *first,
                        uint32_t *last)
{
    *first = k ? k * b : 0;
    *last = UINT32_MAX;
    if (k && (uint64_t)k * (b + 1) <= req->npackets)
        *last = k * (b + 1);
}

/* A two-way file (twping -F): twping's report formats (twstats.h) of its
 * records, under the names owstats gives the endpoints. */
static owp_status report_twoway(FILE *out, owp_file *f, const char *from_host,
                                const char *to_host, const owp_report_opts *o, owp_err *err)
{
    if (!o->raw && (o->print_files || o->unix_times)) /* -R ignores both */
        return owp_err_set(err, OWP_ERR_INVALID, "%s: %s is not supported for two-way files",
                           owp_file_name(f), o->print_files ? "-p" : "-U");
    const owp_request *req = owp_file_request(f);
    endpoints ep;
    name_endpoint(req->ipvn, req->sender_addr, req->sender_port, from_host, ep.from_host,
                  ep.from_addr, ep.from_port);
    name_endpoint(req->ipvn, req->receiver_addr, req->receiver_port, to_host, ep.to_host,
                  ep.to_addr, ep.to_port);
    owp_tw_record *records;
    uint32_t n;
    owp_status st = owp_twp_read_records(f, o->verbose_max, &records, &n, err);
    if (st != OWP_OK)
        return st;
    owp_tw_session_info info = {
        .req = req, .from_host = ep.from_host, .from_addr = ep.from_addr,
        .to_host = ep.to_host, .to_addr = ep.to_addr,
        .finished = owp_file_finished(f) == OWP_FINISHED_NORMAL,
    };
    owp_tw_report_opts to = owp_tw_report_opts_of(o);
    if ((st = owp_tw_report(out, &info, records, n, &to, err)) != OWP_OK)
        owp_err_prefix(err, "%s", owp_file_name(f));
    free(records);
    return st;
}

owp_status owp_report_file(FILE *out, owp_file *f, const char *from_host, const char *to_host,
                           const owp_report_opts *o, owp_err *err)
{
    owp_status st = check_version(f, err);
    if (st != OWP_OK)
        return st;
    if (owp_file_is_twoway(f))
        return report_twoway(out, f, from_host, to_host, o, err);
    if (o->raw)
        return report_raw(out, f, err);
    report_ctx c;
    if ((st = report_open(&c, out, f, from_host, to_host, o, err)) != OWP_OK)
        return st;
    uint32_t k, nblocks = block_count(c.req, o->sub_count, &k);
    block_spans spans;
    st = find_block_spans(&c, k, nblocks, &spans);
    uint32_t start_index = 0;
    for (uint32_t b = 0; b < nblocks && st == OWP_OK; b++) {
        uint32_t first, last;
        block_range(c.req, k, b, &first, &last);
        uint32_t span[2] = {0, 0};
        if (spans.lo && spans.lo[b] != UINT32_MAX)
            span[0] = spans.lo[b], span[1] = spans.hi[b] - spans.lo[b] + 1;
        st = report_block(&c, first, last, &start_index, spans.lo ? span : NULL);
    }
    free(spans.lo);
    free(spans.hi);
    owp_stats_destroy(&c.stats);
    return st;
}

/* A block's statistics depend only on its own records in file order (see
 * block_spans), so walking the whole file from its first record, the others
 * ignored, gives what owp_report_file prints for that block. */
owp_status owp_report_summary_block(FILE *out, owp_file *f, const char *from_host,
                                    const char *to_host, const owp_report_opts *o,
                                    uint32_t block, int finished, owp_err *err)
{
    owp_status st = check_version(f, err);
    if (st != OWP_OK)
        return st;
    owp_report_opts mo = *o; /* one -M block on out, nothing else */
    mo.machine = 1;
    mo.raw = mo.verbose = mo.print_files = 0;
    mo.verbose_max = 0;
    report_ctx c;
    if ((st = report_open(&c, out, f, from_host, to_host, &mo, err)) != OWP_OK)
        return st;
    c.finished = finished;
    uint32_t k, nblocks = block_count(c.req, o->sub_count, &k);
    if (block < nblocks) {
        uint32_t first, last, start_index = 0;
        block_range(c.req, k, block, &first, &last);
        st = report_block(&c, first, last, &start_index, NULL);
    } else {
        st = owp_err_set(err, OWP_ERR_FORMAT, "%s: no summary for block %u", owp_file_name(f),
                         block);
    }
    owp_stats_destroy(&c.stats);
    return st;
}
