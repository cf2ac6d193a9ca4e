/*
 * twpfile.h - two-way session files: what `twping -F FILE` (and stping -F)
 * writes and owstats reads, byte-compatible with perfSONAR owamp 5.2.3's
 * twping (tests/vectors/twamp/README.md section E;
 * ../shared/spec/owp-file-format.md sections 2-4 and 7).
 *
 * The .owp version 3 layout (owpfile.h, whose header and session
 * description code this shares) with version 0x83 and 50-octet records: the
 * forward half of a two-way record, then the reflected half, each a v3
 * record (owp_tw_record, twstats.h), in arrival order, lost packets after
 * (owp_tw_record_lost_at). The header says finished, next_seqno 0, no skip
 * ranges, num_records 0 (readers count records from the file size) and
 * oset_skips 0. The stored preamble is not the Request-TW-Session that went
 * on the wire but the session as it ran: message type 1, Conf-Sender and
 * Conf-Receiver 1, the slots and packet count of the schedule, the actual
 * addresses and ports (ours as the sender's, the reflector's as the
 * receiver's), the SID of Accept-Session, HMAC zero.
 *
 * Files are opened with owp_file_read_any (owpfile.h): owp_file_is_twoway
 * tells them apart, and owp_file_request, owp_file_finished,
 * owp_file_region_nrecords and owp_file_name apply to both.
 */
#ifndef OWP_TWPFILE_H
#define OWP_TWPFILE_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "owamp.h"
#include "owpfile.h"
#include "twstats.h"

#define OWP_TW_RECORD_LEN 50

void owp_tw_record_encode(const owp_tw_record *r, uint8_t out[OWP_TW_RECORD_LEN]);
void owp_tw_record_decode(const uint8_t in[OWP_TW_RECORD_LEN], owp_tw_record *r);

/* ---- Reading ---- */

/* A consumer of two-way records: returns non-zero to stop early. */
typedef int (*owp_tw_record_fn)(const owp_tw_record *r, void *arg);

/* Call fn for the records [first, first + count) of a two-way file in file
 * order (bounded by the file size). A one-way file, a truncated record or an
 * error estimate with multiplier 0 (which makes the reference's reader fail
 * the file) fail with OWP_ERR_FORMAT naming the file, the offset and the
 * record. */
owp_status owp_twp_each_record(owp_file *f, uint32_t first, uint32_t count, owp_tw_record_fn fn,
                               void *arg, owp_err *err);

/* The file's records, at most max (0: all), into *records (malloc'd, the
 * caller frees; memory follows the file's size, not a count in it). */
owp_status owp_twp_read_records(owp_file *f, uint32_t max, owp_tw_record **records, uint32_t *n,
                                owp_err *err);

/* ---- Writing: header, records as they come (each flushed, for readers of
 * a growing file), the header again at the end ---- */

typedef struct owp_twp_writer owp_twp_writer;

/* req is the session as it ran (schedule slots, npackets, SID, actual
 * addresses and ports); it is copied and stored with Conf-Sender and
 * Conf-Receiver 1. The header says finished 2 (incomplete) until
 * owp_twp_writer_finish. fp stays the caller's. */
owp_twp_writer *owp_twp_writer_new(FILE *fp, const owp_request *req, owp_err *err);
owp_status owp_twp_writer_add(owp_twp_writer *self, const owp_tw_record *r, owp_err *err);
/* Rewrites the header with finished (OWP_FINISHED_NORMAL for a session that
 * ran to its end or was stopped early by the user, as the reference) and
 * flushes. */
owp_status owp_twp_writer_finish(owp_twp_writer *self, uint32_t finished, owp_err *err);
uint32_t owp_twp_writer_nrecords(const owp_twp_writer *self);
void owp_twp_writer_destroy(owp_twp_writer **self_p); /* does not close fp */

/* ---- Saving a whole session at once, atomically enough ----
 * The file is written beside path under a temporary name, synced, and
 * renamed over path only when complete: a run killed before or during the
 * save leaves no file at path that claims to be finished (at most the
 * temporary one, which owp_twp_save_abort or a signal handler unlinks). */

typedef struct owp_twp_save owp_twp_save;

/* Creates the temporary file now, so that a path that cannot be written
 * fails before the test runs. */
owp_twp_save *owp_twp_save_begin(const char *path, owp_err *err);
/* The temporary file's name (for unlink(2) in a signal handler). */
const char *owp_twp_save_temp_path(const owp_twp_save *self);
/* Write the session's records (finished 1), sync, rename over path; frees
 * *self_p either way (the temporary file is unlinked on failure). */
owp_status owp_twp_save_commit(owp_twp_save **self_p, const owp_request *req,
                               const owp_tw_record *records, uint32_t n, owp_err *err);
/* Nothing saved: unlink the temporary file, free. */
void owp_twp_save_abort(owp_twp_save **self_p);

#endif
