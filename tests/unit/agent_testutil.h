/* agent_testutil.h - the node agent suites' shared fixtures
 * (check_agent_reconcile.c, check_agent_store.c, check_agent_spool.c,
 * check_agent_streams.c, check_agent_link.c): schedules to reconcile, apply or
 * save, and the temporary files and directories the tests work in. Every
 * helper fails the running Check test on error. */
#ifndef OWMESH_TESTS_AGENT_TESTUTIL_H
#define OWMESH_TESTS_AGENT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "meshmsg.h"

/* Where the peer's owampd would be: a loopback port nothing serves (tcpmux,
 * port 1), so every connection is refused. */
#define ABSENT_PORT 1

/* Sets a string field of a message (NULL: ""). */
void set(char **field, const char *value);

/* A schedule for "chi" with streams from the given sources, ids "s-SOURCE";
 * the caller's to owm_msg_free. */
owm_msg *make_schedule(uint64_t generation, const char *const *sources, size_t n);

/* DIR/NAME, the caller's to free. */
char *path_in(const char *dir, const char *name);

/* Remove a test's temporary directory and free its path. */
void rm_tree(char *dir);

/* Writes len bytes of data to path, replacing it. */
void write_bytes(const char *path, const void *data, size_t len);

#endif
