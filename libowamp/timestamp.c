/*
 * timestamp.c - OWAMP 32.32 time values, their conversions and the 16-bit
 * error estimate.
 *
 * Every conversion truncates, as the reference (owamp 5.2.3) does, so values
 * computed here are bit-identical to the ones it writes on the wire and in
 * .owp files (tests/vectors/time/timestamps.json). Absolute times live in NTP
 * era 0: seconds since 1900 modulo 2^32, so 2036-02-07T06:28:16Z wraps to 0
 * exactly as in the reference.
 */
#include "timestamp.h"

#include <stdio.h>
#include <string.h>

#define TWO_POW_32 4294967296.0
#define TWO_POW_64 18446744073709551616.0
#define USEC_PER_SEC 1000000u
#define NSEC_PER_SEC 1000000000u
#define FRACTION_MASK 0xFFFFFFFFu

typedef unsigned __int128 owp_u128;

/* ---------------------------------------------------------------- 32.32 arithmetic */

owp_num64 owp_num64_from_double(double seconds)
{
    /* The reference maps negatives to 0 and truncates the rest. NaN and values
     * beyond the 32.32 range are undefined behaviour in its cast; here they
     * saturate so hostile input never reaches an undefined conversion. */
    if (!(seconds > 0.0))
        return 0;
    double scaled = seconds * TWO_POW_32;
    if (scaled >= TWO_POW_64)
        return UINT64_MAX;
    return (owp_num64)scaled;
}

double owp_num64_to_double(owp_num64 v)
{
    return (double)v / TWO_POW_32;
}

owp_num64 owp_num64_mul(owp_num64 a, owp_num64 b)
{
    /* The middle 64 bits of the 128-bit product: integer part overflow and
     * fraction bits below 2^-32 are both dropped, as in the reference. */
    return (owp_num64)(((owp_u128)a * b) >> 32);
}

owp_num64 owp_num64_from_usec(uint64_t usec)
{
    return (owp_num64)(((owp_u128)usec << 32) / USEC_PER_SEC);
}

uint64_t owp_num64_to_usec(owp_num64 v)
{
    return (uint64_t)(((owp_u128)v * USEC_PER_SEC) >> 32);
}

owp_num64 owp_num64_from_nsec(uint64_t nsec)
{
    return (owp_num64)(((owp_u128)nsec << 32) / NSEC_PER_SEC);
}

uint64_t owp_num64_to_nsec(owp_num64 v)
{
    return (uint64_t)(((owp_u128)v * NSEC_PER_SEC) >> 32);
}

/* ---------------------------------------------------------------- absolute times */

/* Unix seconds + 32-bit fraction -> NTP 32.32. The seconds wrap modulo 2^32
 * (era 0), which is what adding 2208988800 << 32 in 64 bits does. */
static owp_num64 ntp_from_unix(int64_t unix_sec, uint32_t fraction)
{
    uint32_t ntp_sec = (uint32_t)((uint64_t)unix_sec + OWP_NTP_UNIX_OFFSET);
    return (owp_num64)ntp_sec << 32 | fraction;
}

/* NTP 32.32 -> Unix 32.32 (seconds part unsigned: era 0 maps onto 1900..2036
 * shifted, 0 becomes 2085978496 as in the reference). */
static owp_num64 unix_from_ntp(owp_num64 ntp)
{
    return ntp - ((owp_num64)OWP_NTP_UNIX_OFFSET << 32);
}

/* Bring a sub-second count into [0, unit) by moving whole seconds. */
static void normalize(int64_t *sec, int64_t *sub, int64_t unit)
{
    *sec += *sub / unit;
    *sub %= unit;
    if (*sub < 0) {
        *sub += unit;
        *sec -= 1;
    }
}

owp_num64 owp_ntp_from_timespec(const struct timespec *ts)
{
    int64_t sec = ts->tv_sec, nsec = ts->tv_nsec;
    normalize(&sec, &nsec, NSEC_PER_SEC);
    return ntp_from_unix(sec, (uint32_t)owp_num64_from_nsec((uint64_t)nsec));
}

void owp_ntp_to_timespec(owp_num64 ntp, struct timespec *ts)
{
    owp_num64 u = unix_from_ntp(ntp);
    ts->tv_sec = (time_t)(u >> 32);
    ts->tv_nsec = (long)owp_num64_to_nsec(u & FRACTION_MASK);
}

owp_num64 owp_ntp_from_timeval(const struct timeval *tv)
{
    int64_t sec = tv->tv_sec, usec = tv->tv_usec;
    normalize(&sec, &usec, USEC_PER_SEC);
    return ntp_from_unix(sec, (uint32_t)owp_num64_from_usec((uint64_t)usec));
}

void owp_ntp_to_timeval(owp_num64 ntp, struct timeval *tv)
{
    owp_num64 u = unix_from_ntp(ntp);
    tv->tv_sec = (time_t)(u >> 32);
    tv->tv_usec = (suseconds_t)owp_num64_to_usec(u & FRACTION_MASK);
}

/* ---------------------------------------------------------------- error estimate */

#define ERREST_S_BIT 0x8000u
#define ERREST_SCALE_SHIFT 8
#define ERREST_SCALE_MASK 0x3Fu
#define ERREST_MULT_MASK 0xFFu
#define ERREST_MAX_BEFORE_ROUNDING ((owp_num64)0xFE << 56)

uint16_t owp_errest_from_num64(int synchronized, owp_num64 err)
{
    /* The reference's algorithm: halve until the value fits below 0xFF,
     * counting halvings as the scale, then add one for the bits shifted off
     * (always, even when none were), so the estimate is never too small.
     * An error of 0 therefore encodes as multiplier 1, scale 0. */
    /* Saturate at the largest estimate that decodes without overflowing
     * 64 bits (255 << 56, about 4.28e9 s): no clock is ever that wrong. */
    if (err > ERREST_MAX_BEFORE_ROUNDING)
        err = ERREST_MAX_BEFORE_ROUNDING;
    unsigned scale = 0;
    while (err >= ERREST_MULT_MASK) {
        err >>= 1;
        scale++;
    }
    uint16_t multiplier = (uint16_t)(err + 1);
    uint16_t e = (uint16_t)(scale << ERREST_SCALE_SHIFT | multiplier);
    return synchronized ? (uint16_t)(e | ERREST_S_BIT) : e;
}

uint16_t owp_errest_from_usec(int synchronized, uint32_t usec)
{
    return owp_errest_from_num64(synchronized, owp_num64_from_usec(usec));
}

uint16_t owp_errest_encode(int synchronized, double err_sec)
{
    return owp_errest_from_num64(synchronized, owp_num64_from_double(err_sec));
}

double owp_errest_seconds(uint16_t errest)
{
    /* multiplier << scale in 64 bits, read as 32.32. Scales near 63 overflow
     * exactly as in the reference (scale 63, multiplier 255 -> 2^31 s). */
    unsigned scale = (errest >> ERREST_SCALE_SHIFT) & ERREST_SCALE_MASK;
    owp_num64 v = (owp_num64)(errest & ERREST_MULT_MASK) << scale;
    return owp_num64_to_double(v);
}

int owp_errest_synchronized(uint16_t errest)
{
    return (errest & ERREST_S_BIT) != 0;
}

int owp_errest_valid(uint16_t errest)
{
    return (errest & ERREST_MULT_MASK) != 0;
}

/* ---------------------------------------------------------------- reports */

void owp_ntp_format_local(owp_num64 ntp, char *buf, unsigned len)
{
    if (!buf || len == 0)
        return;

    struct timespec ts;
    struct tm tm;
    char date[64];
    owp_ntp_to_timespec(ntp, &ts);
    if (!localtime_r(&ts.tv_sec, &tm) || strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(date, sizeof date, "XXX"); /* the reference's placeholder */

    /* The reference divides in float and prints "%03.0f", so 999.6 ms shows
     * as ".1000"; the same arithmetic gives the same digits. */
    float ms = (float)ts.tv_nsec / 1000000;
    snprintf(buf, len, "%s.%03.0f", date, (double)ms);
}
