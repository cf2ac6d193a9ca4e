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
 * a duplicate identity fails too. A missing file is an error here; callers
 * that treat it as "no identities" check errno/ENOENT via owp_pfs_new(). */
owp_pfs *owp_pfs_load(const char *path, owp_err *err);
owp_pfs *owp_pfs_new(void); /* empty store */
void owp_pfs_destroy(owp_pfs **self_p);

/* Pass-phrase bytes of identity (exact match), or NULL. *len set on success.
 * The pointer stays owned by the store. */
const uint8_t *owp_pfs_lookup(const owp_pfs *self, const char *identity, size_t *len);
size_t owp_pfs_count(const owp_pfs *self);

#endif
