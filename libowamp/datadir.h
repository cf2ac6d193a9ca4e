/*
 * datadir.h - the data directory where owampd stores receive sessions
 * (programs.md section 1.5):
 *
 *   DATADIR/hierarchy/<class path>/SIDHEX.owp   receive sessions, written live
 *                                              in the receiver layout
 *   DATADIR/catalog/SIDHEX.owp                 symlink to the file above;
 *                                              Fetch-Session finds data only here
 *
 * The server engine (server.h, which includes this header) places each
 * receive session's file here; owampd prepares the directory at start-up.
 * Functions never print: they report through an optional log callback and
 * through owp_err.
 */
#ifndef OWP_DATADIR_H
#define OWP_DATADIR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "owamp.h"

#define OWP_SERVER_CLASS_MAX 1024 /* bytes of a class path, NUL included */
#define OWP_SERVER_PATH_MAX 4096  /* bytes of any path built under DATADIR, NUL included */

/* A stored session file found under DATADIR/hierarchy/ at start-up:
 * class_path is its directory relative to hierarchy/ ("root/regular"; ""
 * for a file directly in hierarchy/), size its length in bytes. Return 0 to
 * link it into the catalog (owampd also charges it to the class), non-zero
 * to leave it out (e.g. no such class: it stays on disk, unserved). */
typedef int (*owp_server_stored_fn)(void *arg, const char *class_path, const char *path,
                                    uint64_t size);

/* Prepare DATADIR at daemon start: create DATADIR, catalog/ (0755) when
 * missing; empty catalog/ completely (stale links, files, directories); link
 * every DATADIR/hierarchy/.../<32 hex digits>.owp into catalog/. Other names
 * are ignored, so files left by a crash never stop the daemon. *nlinked (may
 * be NULL) gets the number of files linked. log may be NULL. */
owp_status owp_server_datadir_init(const char *datadir, owp_log_fn log, void *log_arg,
                                   unsigned *nlinked, owp_err *err);

/* The same, linking only the files that stored (NULL: all) accepts; owampd
 * charges each to its class this way. */
owp_status owp_server_datadir_init_stored(const char *datadir, owp_server_stored_fn stored,
                                          void *stored_arg, owp_log_fn log,
                                          void *log_arg, unsigned *nlinked, owp_err *err);

/* "DATADIR/catalog/SIDHEX.owp" into buf; 0 on success, -1 when it does not fit. */
int owp_server_catalog_path(const char *datadir, const uint8_t sid[OWP_SID_LEN], char *buf,
                            size_t len);

/* 32 lower-case hex digits + NUL. */
void owp_sid_hex(const uint8_t sid[OWP_SID_LEN], char out[2 * OWP_SID_LEN + 1]);

/* Whether a class path can name a directory under hierarchy/: shorter than
 * OWP_SERVER_CLASS_MAX, only plain non-empty components, no "." or "..", no
 * leading, trailing or doubled '/'. */
int owp_datadir_class_path_ok(const char *class_path);

/* In a DATADIR prepared by owp_server_datadir_init(): create a receive
 * session's file DATADIR/hierarchy/CLASS/SIDHEX.owp (mode 0644, missing
 * directories 0755; the file must not exist yet), open it for reading and
 * writing, and link DATADIR/catalog/SIDHEX.owp to it (a stale link of that
 * name is replaced). path and catalog (capacity OWP_SERVER_PATH_MAX each) get
 * the two names; on failure each stays "" unless it was created and so is the
 * caller's to remove. *fp (NULL unless opened) is the caller's to close. */
owp_status owp_datadir_create_session(const char *datadir, const char *class_path,
                                      const uint8_t sid[OWP_SID_LEN],
                                      char path[OWP_SERVER_PATH_MAX],
                                      char catalog[OWP_SERVER_PATH_MAX], FILE **fp,
                                      owp_err *err);

/* The class path of the directory holding the file that the catalog entry
 * catalog links to, into cls (capacity len); "" when the link is unreadable,
 * leads outside DATADIR/hierarchy/ or the class does not fit. */
void owp_datadir_file_class(const char *datadir, const char *catalog, char *cls, size_t len);

#endif
