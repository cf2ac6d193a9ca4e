/*
 * digest.h - the checksum a node makes of each file when it spools it and a
 * collector checks before it stores the file (FileEntry.digest): the first
 * 128 bits of the file's SHA-256, as OWM_MSG_DIGEST_HEX lowercase hex digits.
 *
 * The .owp format carries no checksum of its own; without this a byte
 * flipped on the node's disk would be stored as a (wrong) measurement.
 * 128 bits are plenty to catch corruption and keep spool names short.
 */
#ifndef OWM_DIGEST_H
#define OWM_DIGEST_H

#include <stddef.h>

#include "error.h"
#include "meshmsg.h"

typedef char owm_digest[OWM_MSG_DIGEST_HEX + 1];

/* The digest of len bytes at data. */
owp_status owm_digest_buffer(const void *data, size_t len, owm_digest out, owp_err *err);

/* The digest of the whole file at path (read in chunks; OWP_ERR_SYS naming it). */
owp_status owm_digest_file(const char *path, owm_digest out, owp_err *err);

#endif
