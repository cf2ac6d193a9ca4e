/*
 * owpfile_internal.h - what the two-way file (twpfile.c) shares with the .owp
 * code of owpfile.c: the writer of the header, session description and
 * records, for either version, and the record region read in chunks of raw
 * records. Internal to libowamp.
 */
#ifndef OWP_OWPFILE_INTERNAL_H
#define OWP_OWPFILE_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "owpfile.h"

/* Bytes of one record of the file: 25 (version 3), 24 (0 and 2), 50 (two-way). */
unsigned owp_file_record_len(const owp_file *self);

/* A run of raw records read from the file. */
typedef struct owp_file_chunk {
    const uint8_t *bytes; /* n records of owp_file_record_len() bytes */
    uint64_t n;
    uint64_t first;       /* record index of the first (0 = the file's first record) */
    uint64_t offset;      /* its file offset */
} owp_file_chunk;

/* Consumes a chunk; sets *stopped to end the walk early. */
typedef owp_status (*owp_file_chunk_fn)(owp_file *f, const owp_file_chunk *c, void *arg,
                                        int *stopped, owp_err *err);

/* The records [first, first + count) in chunks (bounded by the file size),
 * as owp_file_each_record_from walks them. */
owp_status owp_file_each_chunk(owp_file *self, uint32_t first, uint32_t count,
                               owp_file_chunk_fn fn, void *arg, owp_err *err);

/* A writer of the receiver layout (owp_file_writer_new) for a file of this
 * version: a two-way one takes its records raw (50 octets each, twpfile.c),
 * and its header keeps next_seqno, the count and the skip offset 0 as the
 * reference's does; owp_file_writer_finish then takes no skip ranges. */
owp_file_writer *owp_file_writer_new_version(FILE *fp, const owp_request *req, uint32_t version,
                                             owp_err *err);
/* Appends one record of the writer's record length, as owp_file_writer_add. */
owp_status owp_file_writer_add_raw(owp_file_writer *self, const uint8_t *record, owp_err *err);

#endif
