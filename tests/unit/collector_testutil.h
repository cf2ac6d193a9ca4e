/* collector_testutil.h - the data plane suites' shared rig (check_collector.c,
 * check_puller.c): a node's spool served by agent_data on an inproc endpoint,
 * an LMDB store, and pullers from the one into the other, all in one process
 * and one temporary directory; the loop that turns node and puller; what the
 * tests read back (the store's cursor, the spool's files). Every helper fails
 * the running Check test on error. */
#ifndef OWMESH_TESTS_COLLECTOR_TESTUTIL_H
#define OWMESH_TESTS_COLLECTOR_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_data.h"
#include "agent_spool.h"
#include "puller.h"
#include "store.h"

#define RIG_NODE "n2" /* the rig's node, as the puller and the store name it */
#define RIG_MAX_SEQS 64

typedef struct rig {
    char *dir; /* the temporary directory: spool/, store/, quarantine/ */
    char spool_dir[512], store_dir[512], quarantine[512], endpoint[64];
    agent_spool *spool;
    agent_data *data;  /* serves spool at endpoint */
    store_db *store;
    puller *puller;    /* a test's puller, if it keeps it here (rig_down destroys it) */
    uint64_t seqs[RIG_MAX_SEQS]; /* what spool_vector spooled, in order */
    size_t nseqs;
} rig;

/* The monotonic clock, in seconds. */
double now_s(void);

/* A fresh, numbered inproc endpoint (libzmq releases an inproc name
 * asynchronously: a test that replaces its node binds a new one). */
void rig_new_endpoint(rig *r);

/* The rig's directories, an empty spool served with the given retention
 * (seconds) and budget (bytes, 0: none), and a store of map_size bytes
 * (0: the store's default). */
void rig_up(rig *r, uint64_t retention, uint64_t budget, uint64_t map_size);
void rig_down(rig *r);

/* The store at dir with a map of map_size bytes (0: the default). */
store_db *rig_open_store(const char *dir, uint64_t map_size);

/* Spools a copy of vector file rel as stream's file of kind, covering the
 * ten seconds from start (NTP seconds); its seq is appended to r->seqs. */
void spool_vector(rig *r, const char *rel, const char *stream, uint64_t start,
                  owm_file_kind kind);

/* The puller path callback the rig's pullers use: every stream is a path
 * ("test" parameters) of the store that arg points to (a store_db **, so a
 * store reopened under the puller is followed). */
owp_status test_path(void *arg, const char *node, const char *stream_id, const void *data,
                     size_t len, uint32_t *path_id, owp_err *err);

/* A puller of RIG_NODE from the rig's endpoint into its store (polling every
 * 50 ms, 2 s timeout): the caller sets what else it needs, then rig_puller_new. */
puller_config rig_puller_config(rig *r);
puller *rig_puller_new(const puller_config *pc);

/* Turns node and puller until the puller has been idle for five turns
 * (or has reset, with stop_at_reset), at most 5 s. */
void rig_run(rig *r, puller *p, bool stop_at_reset);

/* The store's cursor for RIG_NODE (0: none). */
uint64_t rig_cursor(const rig *r);

/* How many names in dir match the grep pattern. */
size_t count_in(const char *dir, const char *pattern);

/* Spooled files (names starting with their seq) in the rig's spool. */
size_t spool_count(const rig *r);

#endif
