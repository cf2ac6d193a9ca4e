/*
 * policy.h - owampd's policy engine: the owamp-server.limits / owampd.limits
 * file (programs.md section 3), class resolution for a connection, and the
 * resource ledger that grants or denies bandwidth, disk and test sessions.
 *
 * Three pieces, used by owampd's master process:
 *
 *   owp_limits        the parsed file: a tree of limit classes (the first
 *                     "limit" line is the root) and the "assign" rules that
 *                     map addresses and identities to classes. Immutable
 *                     once loaded, so it may be shared freely (also by the
 *                     per-connection children after fork).
 *
 *   resolution        which class a connection belongs to: its address
 *                     (longest "assign net" prefix, else "assign default",
 *                     else the root) or, in authenticated/encrypted mode, its
 *                     identity (a class named like the identity, else
 *                     "assign user", else the address).
 *
 *   owp_limits_ledger the running usage of every class. Each request is
 *                     checked against EVERY ancestor of the connection's class
 *                     whose limit is non-zero, each level keeping its own
 *                     counter. Grants are numbered and belong to a connection,
 *                     so a connection that drops releases everything at once.
 *
 * Concurrency: none. An owp_limits_ledger is single-threaded by design: it
 * lives in ONE process (owampd's master) which serialises the requests its
 * children send over their socketpairs. Do not call a ledger from two threads
 * or share one between processes; forked children must ask the master.
 *
 * Deliberate differences from the reference (doc/compat.md): keywords and
 * keys must be whole words ("limits x with" is an error, not class "s");
 * text after a value or after an assign line is an error unless it is a
 * '#' comment; class names may not contain '/' nor be "." or ".."; two
 * conflicting "assign net" lines for the same prefix, or "assign user" lines
 * for the same identity, are an error; error line numbers are the true
 * line the logical line starts on.
 */
#ifndef OWP_POLICY_H
#define OWP_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"
#include "owamp.h"
#include "pfs.h"

/* Longest class name (it becomes a directory name under hierarchy/). */
#define OWP_LIMITS_CLASS_NAME_MAX 80

/* Warning text when the file is missing or defines no class. */
#define OWP_LIMITS_NO_LIMITS_WARNING "WARNING: No limits specified."

/* Name of the implicit root class used when no class is defined. */
#define OWP_LIMITS_DEFAULT_CLASS "default"

/* Accept-Session value for a request the policy refuses (as the reference). */
#define OWP_LIMITS_ACCEPT_DENIED 1

typedef struct owp_limits owp_limits;
typedef struct owp_limits_class owp_limits_class;

/* The limits of one class after inheritance; 0 means "no limit at this level". */
typedef struct owp_limit_values {
    uint64_t bandwidth;     /* bit/s of all concurrent sessions of the class */
    uint64_t disk;          /* bytes of stored receive sessions */
    uint64_t test_sessions; /* Request-Sessions per control connection */
    int delete_on_fetch;    /* 0/1, default 0 */
    int allow_open_mode;    /* 0/1, default 1 */
} owp_limit_values;

/* ---------------------------------------------------------------- loading */

/* Load a limits file. pfs holds the identities "assign user" may name (NULL:
 * none, so every "assign user" line fails). A missing file (ENOENT) is not an
 * error: the result is the implicit root class "default" with no limits and
 * owp_limits_warning() returns OWP_LIMITS_NO_LIMITS_WARNING. Any syntax error
 * fails with OWP_ERR_PARSE and "PATH:LINE: what was expected" (the reference's
 * wording where it has one, e.g. "PATH:4: classname "x" duplicated"); an
 * unreadable file with OWP_ERR_SYS. Returns NULL on failure. */
owp_limits *owp_limits_load(const char *path, const owp_pfs *pfs, owp_err *err);

/* Parse len bytes of text (need not be NUL-terminated); name is used in error
 * messages in place of a path. Same rules and results as owp_limits_load. */
owp_limits *owp_limits_parse(const char *text, size_t len, const char *name,
                             const owp_pfs *pfs, owp_err *err);

void owp_limits_destroy(owp_limits **self_p);

/* OWP_LIMITS_NO_LIMITS_WARNING when no class was defined (the caller logs it
 * as a warning), else NULL. */
const char *owp_limits_warning(const owp_limits *self);

/* ---------------------------------------------------------------- classes */

size_t owp_limits_class_count(const owp_limits *self);
/* Classes in definition order: index 0 is the root. NULL past the end. */
const owp_limits_class *owp_limits_class_at(const owp_limits *self, size_t index);
const owp_limits_class *owp_limits_root(const owp_limits *self);
/* Exact (case-sensitive) class name, or NULL. */
const owp_limits_class *owp_limits_class_find(const owp_limits *self, const char *name);
/* The class whose path from the root is exactly class_path ("root/regular"),
 * or NULL (unknown name, or a known name at the wrong place in the tree). */
const owp_limits_class *owp_limits_class_by_path(const owp_limits *self,
                                                 const char *class_path);

/* Pointers stay owned by the owp_limits and live as long as it does. */
const char *owp_limits_class_name(const owp_limits_class *cls);
const owp_limits_class *owp_limits_class_parent(const owp_limits_class *cls); /* NULL: root */
const owp_limit_values *owp_limits_class_values(const owp_limits_class *cls);

/* The class names from the root down to cls joined by '/' ("root/regular"):
 * the directory of the class's stored sessions under DATADIR/hierarchy/.
 * Returns 0, or -1 (buf holds "" when len > 0) when it does not fit in len. */
int owp_limits_class_path(const owp_limits_class *cls, char *buf, size_t len);

/* ---------------------------------------------------------------- resolution */

/* Class of a client address: longest-prefix "assign net" match (an
 * IPv4-mapped IPv6 address matches the IPv4 entries), else "assign default",
 * else the root. Never NULL for a loaded owp_limits (an address of another
 * family, or a NULL address, gets the default/root class). */
const owp_limits_class *owp_limits_class_for_addr(const owp_limits *self,
                                                  const struct sockaddr *addr,
                                                  socklen_t addr_len);

/* Class of a control connection after Set-Up-Response. In authenticated or
 * encrypted mode with a non-empty identity: a class named like the identity
 * wins (the reference does this even over an "assign user" line), else the
 * identity's "assign user" class; otherwise (open mode, no identity, no
 * match) the address lookup above. mode is an owp_mode value. */
const owp_limits_class *owp_limits_class_for_conn(const owp_limits *self,
                                                  const struct sockaddr *addr,
                                                  socklen_t addr_len, uint32_t mode,
                                                  const char *identity);

/* Whether open mode may be offered to this address before the greeting: the
 * allow_open_mode value of owp_limits_class_for_addr(). 1 or 0. */
int owp_limits_allow_open_mode(const owp_limits *self, const struct sockaddr *addr,
                               socklen_t addr_len);

/* ---------------------------------------------------------------- what a session costs */

/* Bandwidth of one test session in bit/s, as the reference charges it:
 * packets/s x IP packet size x 8, where packets/s = nslots / sum of the slot
 * values (seconds) and the size = 20 (IPv4) or 40 (IPv6) + 8 (UDP) + 14
 * (open mode) or 48 (authenticated/encrypted) + padding. ipv6 is judged by
 * the control connection. A schedule whose slots sum to zero (or no slots)
 * costs 0, as the reference charges it (owping -i 0 is accepted under any
 * bandwidth limit). The result is truncated to an integer and saturates at
 * UINT64_MAX. */
uint64_t owp_limits_session_bandwidth(const owp_slot *slots, uint32_t nslots, uint32_t padding,
                                      uint32_t mode, int ipv6);

/* Disk estimate of a receive session before it runs:
 * 184 + 16 x nslots + 25 x npackets bytes (header, slots, records). */
uint64_t owp_limits_session_disk(uint32_t nslots, uint32_t npackets);

/* ---------------------------------------------------------------- the ledger */

typedef struct owp_limits_ledger owp_limits_ledger;

/* A ledger over limits (which must outlive it). diskfudge (1.0-10.0, from
 * owamp-server.conf) multiplies the disk limit when a finished file turns out
 * larger than its estimate. */
owp_limits_ledger *owp_limits_ledger_new(const owp_limits *limits, double diskfudge,
                                         owp_err *err);
void owp_limits_ledger_destroy(owp_limits_ledger **self_p);

/* Bytes already stored for the class at class_path (a file found under
 * DATADIR/hierarchy/<class_path>/ at start-up). Counted at the class and every
 * ancestor without any limit check (existing data may exceed a limit that was
 * lowered; new requests are then refused until enough is released).
 * OWP_ERR_INVALID "No associated user class" when class_path is not a class
 * path of the tree: the caller skips the file with a warning. */
owp_status owp_limits_ledger_add_stored(owp_limits_ledger *self, const char *class_path,
                                        uint64_t bytes, owp_err *err);
/* A stored file of the class at class_path was deleted (delete_on_fetch, or
 * removed otherwise): release its bytes at the class and every ancestor.
 * Releasing more than is charged clamps the usage at 0 and reports
 * OWP_ERR_INVALID (the usage is still released). */
owp_status owp_limits_ledger_remove_stored(owp_limits_ledger *self, const char *class_path,
                                           uint64_t bytes, owp_err *err);

/* A control connection has been given its class. conn_id is any number the
 * caller uses to name the connection (owampd: the child's pid); it must not be
 * open already (OWP_ERR_INVALID). cls must belong to the ledger's limits. */
owp_status owp_limits_ledger_conn_open(owp_limits_ledger *self, uint64_t conn_id,
                                       const owp_limits_class *cls, owp_err *err);

/* The connection ended (cleanly, or its process died): every grant it still
 * holds is released as if ended without a stored file, then the connection is
 * forgotten. Unknown conn_id: nothing happens. Returns the number of grants
 * released. */
size_t owp_limits_ledger_conn_close(owp_limits_ledger *self, uint64_t conn_id);

/* One Request-Session of connection conn_id: bandwidth bit/s (every session;
 * see owp_limits_session_bandwidth) and disk bytes (receive sessions only,
 * see owp_limits_session_disk; 0 for send sessions). Checked in this order:
 * test_sessions (this connection's request count + 1, against every non-zero
 * test_sessions limit from its class up to the root), bandwidth, disk (each
 * against every non-zero limit up the chain, with that level's own usage).
 * Granted: OWP_OK, *accept = 0, *grant_id = a new non-zero id. Denied:
 * OWP_ERR_REFUSED, *accept = OWP_LIMITS_ACCEPT_DENIED and err holds
 *   "ResReq DENIED: CLASS:request:LIMIT = V (result = U, limit = L)"
 * naming the level that refused (U = its usage before the request, L = its
 * limit); nothing is charged and the request is not counted. Unknown
 * connection: OWP_ERR_INVALID, *accept = 2 (internal error). accept and
 * grant_id may be NULL. */
owp_status owp_limits_ledger_request(owp_limits_ledger *self, uint64_t conn_id,
                                     uint64_t bandwidth, uint64_t disk, uint64_t *grant_id,
                                     uint8_t *accept, owp_err *err);

/* A granted session is over (ended, stopped, or refused later). Its bandwidth
 * is released. keep_file 0: no file stays behind (send session, failed
 * session, file deleted), its disk estimate is released too. keep_file 1: the
 * received file of file_size bytes stays in the class directory: the charge
 * is corrected to file_size (a smaller file releases the difference; a larger
 * one claims the difference against limit x diskfudge at every level) and
 * from then on counts as stored data (owp_limits_ledger_remove_stored
 * releases it). If the claim is refused the whole disk charge is released and
 * OWP_ERR_REFUSED is returned with "ResReq DENIED: CLASS:claim:disk = ..."
 * in err: the caller must delete the file ("PATH Too large! Deleting...
 * (See diskfudge)"). The grant is gone after the call either way. Unknown
 * grant: OWP_ERR_INVALID. */
owp_status owp_limits_ledger_end(owp_limits_ledger *self, uint64_t grant_id, int keep_file,
                                 uint64_t file_size, owp_err *err);

/* Current usage of one class (its own counter: sessions and files of the class
 * and of all its descendants). Any pointer may be NULL. Returns -1 when cls
 * does not belong to the ledger's limits. */
int owp_limits_ledger_usage(const owp_limits_ledger *self, const owp_limits_class *cls,
                            uint64_t *bandwidth, uint64_t *disk);
/* The connection holding grant_id, in *conn_id: 0, or -1 when no such grant
 * exists (owampd checks that a child ends only its own grants). */
int owp_limits_ledger_grant_conn(const owp_limits_ledger *self, uint64_t grant_id,
                                 uint64_t *conn_id);
/* Number of grants currently held by a connection (0 for an unknown one). */
size_t owp_limits_ledger_grants(const owp_limits_ledger *self, uint64_t conn_id);

#endif
