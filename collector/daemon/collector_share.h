/*
 * collector_share.h - a collector's part in dividing a mesh with the other
 * collectors of its archive (issue 12; the coordinator's part:
 * coordinator/assign.h; owmesh-collector(8), "Sharing an archive").
 *
 * A collector whose archive identity is not "" shares it: it asks the
 * coordinator every heartbeat period (DirectoryRequest with its archive,
 * its period and the nodes it pulls), pulls only the nodes a divided
 * Directory marks assigned, stops a puller as soon as its node is no longer
 * marked, and stops every puller once its lease has run out: LEASE_PERIODS
 * periods since it sent the last request that was answered. The
 * coordinator reassigns a silent collector's nodes after 2 periods, so by
 * then the old one has stopped.
 *
 * Pure functions: no state of their own, any thread.
 */
#ifndef OWM_COLLECTOR_SHARE_H
#define OWM_COLLECTOR_SHARE_H

#include <stddef.h>

#include "meshtypes.h"

#define COLLECTOR_LEASE_PERIODS 1.5
#define COLLECTOR_DEFAULT_HEARTBEAT 5.0 /* seconds (-H) */

/* The identity of the archive a store location writes to, the one place it
 * is computed: "" for a directory (an LMDB store, which no other collector
 * writes), else the URL without user, password, parameters and trailing
 * '/': "clickhouse://u:pw@db1:8123/owmesh/?password_file=f" ->
 * "clickhouse://db1:8123/owmesh"; a cluster store (cluster=NAME) is the
 * cluster's, whichever shard the URL names: "clickhouse://cluster NAME/owmesh".
 * Truncated to len - 1 bytes. Returns buf. */
const char *collector_archive_of(const char *location, char *buf, size_t len);

/* The lease of a Directory answering a request sent at asked_at (monotonic):
 * pulling is allowed until then. */
double collector_lease_end(double asked_at, double period);

/* Seconds to the next DirectoryRequest of a sharing collector: the
 * coordinator's hint (Directory.next_request; 0 = none) if sooner than
 * period, else period. */
double collector_next_request(double period, double hint);

/* Does the collector pull entry i of d? Every entry of an undivided
 * directory; of a divided one, those marked assigned. */
int collector_pulls(const owm_msg_directory *d, size_t i);

#endif
