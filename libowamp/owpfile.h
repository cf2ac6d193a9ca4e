/*
 * owpfile.h - the .owp session data file (../shared/spec/owp-file-format.md),
 * byte-compatible with the reference owamp 5.2.3.
 *
 * Version 3 header (40 bytes), then the session description (Request-Session
 * preamble with zero HMAC, slots, a zero block), then either
 *   receiver layout: records, then skip ranges  (owampd datadir, owping -F, powstream)
 *   fetched layout:  skip ranges, then records  (owping -T, owfetch)
 * The reader also accepts versions 0 and 2 (legacy) as the reference does,
 * and with owp_file_read_any the two-way version 0x83 (twping's files: the
 * same header and session description, 50-octet records; twpfile.h).
 */
#ifndef OWP_OWPFILE_H
#define OWP_OWPFILE_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "owamp.h"
#include "timestamp.h"

#define OWP_RECORD_LEN 25
#define OWP_FILE_VERSION 3
#define OWP_FILE_VERSION_TWOWAY 0x83

/* The Finished values, owp_record and owp_record_fn are in owamp.h. */
void owp_record_encode(const owp_record *r, uint8_t out[OWP_RECORD_LEN]);
void owp_record_decode(const uint8_t in[OWP_RECORD_LEN], owp_record *r);

/* ---- Reading ---- */
typedef struct owp_file owp_file;

/* Reads and validates the header and session description; name is used in
 * error messages. The FILE stays owned by the caller and must stay open.
 * A two-way file is refused (OWP_ERR_FORMAT) ... */
owp_file *owp_file_read(FILE *fp, const char *name, owp_err *err);
/* ... unless read with owp_file_read_any (owstats; its records are read
 * with twpfile.h, owp_file_each_record refuses them). */
owp_file *owp_file_read_any(FILE *fp, const char *name, owp_err *err);
int owp_file_is_twoway(const owp_file *self);
void owp_file_destroy(owp_file **self_p);

uint32_t owp_file_version(const owp_file *self);
uint32_t owp_file_finished(const owp_file *self);
uint32_t owp_file_next_seqno(const owp_file *self);
const owp_request *owp_file_request(const owp_file *self); /* slots included; NULL for version 0 */
uint32_t owp_file_nskips(const owp_file *self);
const owp_skip *owp_file_skips(const owp_file *self);
uint32_t owp_file_nrecords(const owp_file *self); /* as the reference counts them (spec §6.2) */

/* Call fn for each record in file order, at most max records (0 = all).
 * fn returns non-zero to stop early. Truncated or invalid records (e.g. an
 * error estimate with multiplier 0) fail with OWP_ERR_FORMAT naming the record. */
owp_status owp_file_each_record(owp_file *self, uint32_t max, owp_record_fn fn, void *arg,
                                owp_err *err);

/* Records the record region holds: from oset_records to the skip ranges when
 * they follow the records, else to the end of the file (spec section 6.6;
 * what owstats iterates over, as opposed to owp_file_nrecords). */
uint32_t owp_file_region_nrecords(const owp_file *self);
/* As owp_file_each_record, starting at record index first (0 = the first
 * record of the file) and reading at most count records (bounded by the file
 * size). Used for -N sub-sessions and -R. */
owp_status owp_file_each_record_from(owp_file *self, uint32_t first, uint32_t count,
                                     owp_record_fn fn, void *arg, owp_err *err);
/* The name given to owp_file_read (for messages). */
const char *owp_file_name(const owp_file *self);

/* ---- Writing, receiver layout: header, records as they come, skips at the end ---- */
typedef struct owp_file_writer owp_file_writer;
owp_file_writer *owp_file_writer_new(FILE *fp, const owp_request *req, owp_err *err);
owp_status owp_file_writer_add(owp_file_writer *self, const owp_record *r, owp_err *err);
/* Append skip ranges and rewrite the header (finished, next_seqno, counts, offsets). */
owp_status owp_file_writer_finish(owp_file_writer *self, uint32_t finished, uint32_t next_seqno,
                                  const owp_skip *skips, uint32_t nskips, owp_err *err);
uint32_t owp_file_writer_nrecords(const owp_file_writer *self);
void owp_file_writer_destroy(owp_file_writer **self_p); /* does not close fp */

/* ---- Writing, fetched layout: header, skips, then records streamed in ---- */
owp_status owp_file_write_fetched_header(FILE *fp, const owp_request *req, uint32_t finished,
                                         uint32_t next_seqno, const owp_skip *skips,
                                         uint32_t nskips, uint32_t nrecords, owp_err *err);

/* Bytes of the header + session description for nslots slots (184 for 1). */
uint64_t owp_file_header_len(uint32_t nslots);

#endif
