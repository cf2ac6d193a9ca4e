/*
 * timestamp.h - OWAMP time values (RFC 4656 section 4.1.2).
 *
 * owp_num64 is unsigned 32.32 fixed point. As an absolute time it counts
 * seconds since 1900-01-01 UTC (NTP epoch); as a relative time (slot
 * values, timeouts, schedule offsets) plain seconds. Conversions truncate
 * exactly as the reference does (see tests/vectors/time/timestamps.json).
 *
 * The error estimate is the 16-bit wire form: S bit, Z bit, 6-bit scale,
 * 8-bit multiplier; error = multiplier * 2^scale / 2^32 seconds.
 */
#ifndef OWP_TIMESTAMP_H
#define OWP_TIMESTAMP_H

#include <stdint.h>
#include <sys/time.h>
#include <time.h>

typedef uint64_t owp_num64;

#define OWP_NTP_UNIX_OFFSET 2208988800UL /* seconds from 1900 to 1970 */

/* The reference writes 0x0001 for an unsynchronized clock whose error is unknown. */
#define OWP_ERREST_UNSYNC 0x0001

owp_num64 owp_num64_from_double(double seconds);   /* truncating */
double owp_num64_to_double(owp_num64 v);
owp_num64 owp_num64_mul(owp_num64 a, owp_num64 b); /* 32.32 x 32.32, truncated */
owp_num64 owp_num64_from_usec(uint64_t usec);
uint64_t owp_num64_to_usec(owp_num64 v);
owp_num64 owp_num64_from_nsec(uint64_t nsec);
uint64_t owp_num64_to_nsec(owp_num64 v);

/* Absolute times. */
owp_num64 owp_ntp_from_timespec(const struct timespec *ts);
void owp_ntp_to_timespec(owp_num64 ntp, struct timespec *ts);
owp_num64 owp_ntp_from_timeval(const struct timeval *tv);
void owp_ntp_to_timeval(owp_num64 ntp, struct timeval *tv);

/* Error estimate. encode picks the smallest scale whose multiplier fits
 * 8 bits and rounds up so the encoded error is never smaller than err_sec. */
uint16_t owp_errest_encode(int synchronized, double err_sec);
/* The same from an error already in 32.32 seconds, and from microseconds as
 * the kernel reports them (the reference's path: usec -> 32.32 -> shift). */
uint16_t owp_errest_from_num64(int synchronized, owp_num64 err);
uint16_t owp_errest_from_usec(int synchronized, uint32_t usec);
double owp_errest_seconds(uint16_t errest);
int owp_errest_synchronized(uint16_t errest);
/* Multiplier 0 is invalid on the wire and in files. */
int owp_errest_valid(uint16_t errest);

/* Format an absolute time as the reference does in reports
 * ("2026-11-23T07:44:18.312", local time, ms rounded from ns). */
void owp_ntp_format_local(owp_num64 ntp, char *buf, unsigned len);

#endif
