/*
 * pfs.h - pass-phrase store files (owampd.pfs, owping -k):
 * "IDENTITY<whitespace>HEX" per line, '#' comments, blank lines.
 */
#ifndef OWP_PFS_H
#define OWP_PFS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct owp_pfs owp_pfs;

/* Strict load (owampd): any bad line fails with "PATH:LINE: why";
 * a duplicate identity fails too. A missing file is an error here
 * (OWP_ERR_SYS with errno left at ENOENT); callers that treat it as
 * "no identities" test errno == ENOENT and use owp_pfs_new() instead. */
owp_pfs *owp_pfs_load(const char *path, owp_err *err);
owp_pfs *owp_pfs_new(void); /* empty store */
void owp_pfs_destroy(owp_pfs **self_p);

/* Pass-phrase bytes of identity (exact match), or NULL. *len set on success.
 * The pointer stays owned by the store. */
const uint8_t *owp_pfs_lookup(const owp_pfs *self, const char *identity, size_t *len);
size_t owp_pfs_count(const owp_pfs *self);

/* Longest identity a client can send (the wire KeyID is 80 bytes). */
#define OWP_PFS_IDENTITY_MAX 80

/* Identity lookup is EXACT everywhere in owmesh. The reference (pfstore,
 * owping -k) compares only the shorter of the two names, so "al" finds
 * "alice"; that bug is deliberately not reproduced. */

/* Tolerant single-identity lookup (owping/powstream -k): scans path for
 * identity, skipping lines that are not well-formed entries, first match
 * wins. On success copies the pass-phrase into out_buf and sets *out_len.
 * Errors: OWP_ERR_SYS file unreadable ("Unable to open PATH: ..."),
 * OWP_ERR_INVALID identity not in the file ("Unable to find pass-phrase
 * for id="ID" from pffile="PATH""), OWP_ERR_PARSE the identity's own line
 * is malformed or its pass-phrase is longer than out_cap ("PATH:LINE: ..."). */
owp_status owp_pfs_find_in_file(const char *path, const char *identity, uint8_t *out_buf,
                                size_t out_cap, size_t *out_len, owp_err *err);

/* ---- editing (pfstore) ----
 * A store keeps every line of the file in order, so saving it rewrites
 * only what owp_pfs_set/owp_pfs_remove changed; comments, blank lines and
 * untouched entries are written back byte for byte. */

/* Load for editing identity: as pfstore, only lines whose identity equals
 * `identity` are validated ("PATH:LINE: why"); other malformed lines and
 * repeated identities are kept as plain text and written back verbatim.
 * Missing file: OWP_ERR_SYS, errno ENOENT. */
owp_pfs *owp_pfs_load_for_edit(const char *path, const char *identity, owp_err *err);

/* Set identity's pass-phrase (len >= 1 bytes): replaces the entry in place,
 * else appends one. The entry is written "IDENTITY<TAB>lower-case hex".
 * Rejects an empty pass-phrase (owampd would refuse the line) and
 * identities that are empty, longer than OWP_PFS_IDENTITY_MAX, start with
 * '#' or contain blanks or control characters. */
owp_status owp_pfs_set(owp_pfs *self, const char *identity, const uint8_t *passphrase,
                       size_t len, owp_err *err);
/* Remove identity: OWP_ERR_INVALID "Identity 'X' not found" when absent. */
owp_status owp_pfs_remove(owp_pfs *self, const char *identity, owp_err *err);

/* Write the store to path atomically: a temporary file in the same
 * directory (mode 0600) is written, flushed to disk and renamed over path. */
owp_status owp_pfs_save(const char *path, const owp_pfs *self, owp_err *err);

#endif
