/*
 * sendsched.h - RFC 4656 send schedules (sections 3.5, 3.6, Appendix A/B).
 *
 * Packet i uses slot i mod nslots: an exponential slot draws a unit-mean
 * deviate (Knuth's algorithm S over an AES-128 counter-mode uniform source
 * keyed with the SID) scaled by the mean; a fixed slot adds its offset. Packet
 * i is due at start + delta_0 + ... + delta_i.
 */
#ifndef OWP_SCHEDULE_H
#define OWP_SCHEDULE_H

#include <stdint.h>

#include "error.h"
#include "owamp.h"
#include "timestamp.h"

/* Slots (owp_slot) are defined in owamp.h. */

/* Parse owping's -i syntax ("0.1e,0.2f", "0.05"); *slots is malloc'd, caller frees.
 * Errors as the reference words them ("Invalid numeric value (X) for schedule"). */
owp_status owp_slots_parse(const char *spec, owp_slot **slots, uint32_t *nslots, owp_err *err);

/* Mean interval between packets in seconds: sum(slot values) / nslots. */
double owp_slots_mean_interval(const owp_slot *slots, uint32_t nslots);

/* The generator: an opaque, sequential walk through one session's schedule. */
typedef struct owp_sched owp_sched;

owp_sched *owp_sched_new(const uint8_t sid[16], const owp_slot *slots, uint32_t nslots,
                         owp_err *err);
void owp_sched_destroy(owp_sched **self_p);

/* Delta of the next packet (advances the walk by one packet). */
owp_num64 owp_sched_next_delta(owp_sched *self);

/* Cumulative offset of packet seq from the session start (delta_0 + ... + delta_seq).
 * Walks forward from the current position, or restarts when seq is behind it. */
owp_num64 owp_sched_offset(owp_sched *self, uint32_t seq);

/* The offsets of packets seq, seq + 1, ... into out[0..n): n calls of
 * owp_sched_offset in one walk, for readers that go through a whole session
 * (the statistics). Fewer when the sequence numbers end (past UINT32_MAX);
 * returns how many. */
uint32_t owp_sched_offsets(owp_sched *self, uint32_t seq, uint32_t n, owp_num64 *out);

/* Non-zero once the AES source has failed (OpenSSL error after a successful
 * _new; not seen in practice). The walk then continues with deviate 1.0
 * (each exponential slot yields its mean) so a sender keeps a sane rate;
 * callers that care check this after the session. */
int owp_sched_failed(const owp_sched *self);

/* The bare exponential source, for the RFC's Appendix B test vectors:
 * unit-mean deviates as 32.32 from a 16-byte seed. */
typedef struct owp_expgen owp_expgen;
owp_expgen *owp_expgen_new(const uint8_t seed[16], owp_err *err);
owp_num64 owp_expgen_next(owp_expgen *self);
void owp_expgen_destroy(owp_expgen **self_p);
int owp_expgen_failed(const owp_expgen *self); /* as owp_sched_failed */

#endif
