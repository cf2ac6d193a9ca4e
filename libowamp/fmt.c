/*
 * fmt.c - fast text for the per-record outputs (see fmt.h).
 *
 * printf interprets its format string and converts through a general
 * routine for every field: for owstats -R, 8 fields a record, that was 90 %
 * of the run. The integers here are written two digits at a time from a
 * table; the floating-point field (an error estimate) keeps printf's own
 * text, computed once per distinct estimate.
 */
#include "fmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

#define OUT_BUFFER_BYTES 65536
#define ERREST_VALUE_BITS 0x3FFFu /* scale and multiplier: all owp_errest_seconds reads */

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* v < 10^4 as exactly 4 digits at p. */
static void put4(char *p, uint32_t v)
{
    memcpy(p, digit_pairs + 2 * (v / 100), 2);
    memcpy(p + 2, digit_pairs + 2 * (v % 100), 2);
}

/* v < 10^8 as exactly 8 digits at p: two independent halves, so the
 * divisions do not wait for each other. */
static void put8(char *p, uint32_t v)
{
    put4(p, v / 10000);
    put4(p + 4, v % 10000);
}

static int decimal_length(uint32_t v)
{
    static const uint32_t tens[] = {10u,      100u,      1000u,      10000u,     100000u,
                                    1000000u, 10000000u, 100000000u, 1000000000u};
    int n = 1;
    while (n < 10 && v >= tens[n - 1]) /* comparisons, not a division per digit */
        n++;
    return n;
}

char *owp_fmt_u32(char *p, uint32_t v)
{
    int n = decimal_length(v);
    char *end = p + n, *q = end;
    while (v >= 100) {
        q -= 2;
        memcpy(q, digit_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) {
        q -= 2;
        memcpy(q, digit_pairs + 2 * v, 2);
    } else {
        *--q = (char)('0' + v);
    }
    return end;
}

char *owp_fmt_u64_020(char *p, uint64_t v)
{
    /* Three parts that fit 32 bits: 4 + 8 + 8 digits (2^64 has 20). */
    uint32_t low = (uint32_t)(v % 100000000u);
    v /= 100000000u;
    uint32_t mid = (uint32_t)(v % 100000000u);
    uint32_t high = (uint32_t)(v / 100000000u);
    put4(p, high);
    put8(p + 4, mid);
    put8(p + 12, low);
    return p + 20;
}

void owp_fmt_errest_memo_init(owp_fmt_errest_memo *m) { memset(m, 0, sizeof *m); }

char *owp_fmt_errest_g(owp_fmt_errest_memo *m, char *p, uint16_t errest)
{
    unsigned bits = errest & ERREST_VALUE_BITS;
    unsigned i = (bits ^ (bits >> 8)) & (OWP_FMT_MEMO_SLOTS - 1);
    uint16_t key = (uint16_t)(bits + 1);
    if (m->slot[i].key != key) {
        int n = snprintf(m->slot[i].text, sizeof m->slot[i].text, "%g",
                         owp_errest_seconds((uint16_t)bits));
        /* 6 significant digits of a value in [2^-32, 2^32]: at most 11 bytes. */
        if (n < 0 || (size_t)n >= sizeof m->slot[i].text)
            n = 0;
        m->slot[i].key = key;
        m->slot[i].len = (uint8_t)n;
    }
    /* The whole slot text, a constant size the compiler copies in one go;
     * only len bytes of it count. */
    memcpy(p, m->slot[i].text, sizeof m->slot[i].text);
    return p + m->slot[i].len;
}

static char *raw_time_half(owp_fmt_errest_memo *m, char *p, owp_num64 t, uint16_t errest)
{
    p = owp_fmt_u64_020(p, t);
    *p++ = ' ';
    *p++ = owp_errest_synchronized(errest) ? '1' : '0';
    *p++ = ' ';
    return owp_fmt_errest_g(m, p, errest);
}

char *owp_fmt_raw_record(owp_fmt_errest_memo *m, char *p, const owp_record *r, char end)
{
    p = owp_fmt_u32(p, r->seq);
    *p++ = ' ';
    p = raw_time_half(m, p, r->send_time, r->send_err);
    *p++ = ' ';
    p = raw_time_half(m, p, r->recv_time, r->recv_err);
    *p++ = ' ';
    p = owp_fmt_u32(p, r->ttl);
    *p++ = end;
    return p;
}

owp_status owp_fmt_out_init(owp_fmt_out *o, FILE *fp, owp_err *err)
{
    memset(o, 0, sizeof *o);
    o->fp = fp;
    o->buf = malloc(OUT_BUFFER_BYTES);
    if (!o->buf)
        return owp_err_set(err, OWP_ERR_NOMEM, "output buffer: out of memory");
    o->at = o->buf;
    o->end = o->buf + OUT_BUFFER_BYTES;
    return OWP_OK;
}

static void write_out(owp_fmt_out *o)
{
    size_t n = (size_t)(o->at - o->buf);
    if (n && !o->failed && fwrite(o->buf, 1, n, o->fp) != n)
        o->failed = errno ? errno : EIO;
    o->at = o->buf;
}

char *owp_fmt_reserve(owp_fmt_out *o, size_t n)
{
    if ((size_t)(o->end - o->at) < n)
        write_out(o);
    return o->at;
}

owp_status owp_fmt_out_finish(owp_fmt_out *o, const char *what, owp_err *err)
{
    if (!o->buf)
        return OWP_OK;
    write_out(o);
    if (!o->failed && fflush(o->fp) != 0)
        o->failed = errno ? errno : EIO;
    free(o->buf);
    o->buf = o->at = o->end = NULL;
    if (o->failed) {
        errno = o->failed;
        return owp_err_sys(err, "writing %s", what);
    }
    return OWP_OK;
}
