/*
 * agent_data_internal.h - what the data endpoint's files share: its state,
 * the index of spooled files (agent_data_index.c) and the key checks
 * (agent_data_keys.c) that agent_data.c's requests call.
 */
#ifndef OWM_AGENT_DATA_INTERNAL_H
#define OWM_AGENT_DATA_INTERNAL_H

#include <time.h>

#include "agent_data.h"
#include "curve.h"
#include "meshmsg.h"
#include "monitor.h"
#include "ratelimit.h"
#include "zap.h"

typedef struct spool_file {
    agent_spool_entry e;
    uint64_t size;
    int acked;
    time_t mtime;
} spool_file;

typedef struct fetch {
    int active;
    uint64_t seq;
    int fd;
    uint64_t offset, size;
    uint32_t credit, chunk_size;
} fetch;

typedef struct peer {
    zframe_t *identity;
    double last_seen;
    fetch fetches[AGENT_DATA_MAX_FETCHES];
} peer;

struct agent_data {
    agent_data_config cfg;
    char endpoint[AGENT_DATA_MAX_ENDPOINT + 1]; /* as configured: announced, compared */
    char bound[AGENT_DATA_MAX_ENDPOINT + 1];    /* as libzmq names it: what unbind takes */
    char keys[AGENT_DATA_MAX_KEYS][OWM_CURVE_KEY_LEN + 1];
    zsock_t *router;
    owm_zap *zap;      /* NULL without CURVE */
    owm_monitor *monitor; /* NULL without CURVE */
    agent_data_collector collectors[AGENT_DATA_MAX_COLLECTORS]; /* the schedule's */
    size_t n_collectors;
    owm_ratelimit refused; /* refused keys logged */
    spool_file *files; /* the index: sorted by seq */
    size_t n_files, cap_files;
    peer peers[AGENT_DATA_MAX_PEERS];
    int blocked;       /* a send would have blocked: pump again soon */
    double now, last_enforce;
    uint8_t chunk[OWM_MSG_MAX_CHUNK]; /* one chunk read for sending (this endpoint's only) */
};

/* agent_data_index.c: the spool's files in seq order, as last scanned. */
void agent_data_spool_path(const agent_data *self, const agent_spool_entry *e, char *buf,
                           size_t len);
void agent_data_index_rescan(agent_data *self);
void agent_data_index_drop_deleted(agent_data *self);
size_t agent_data_index_after(const agent_data *self, uint64_t after);
spool_file *agent_data_index_find(agent_data *self, uint64_t seq);
/* A collector stored it: deleted, or (with a retention) marked read-only. */
void agent_data_mark_acked(agent_data *self, spool_file *sf);

/* agent_data_keys.c: the ZAP verdict (a listed collector's key or an -A
 * key), and a refused key's log line (at most once a minute per key). */
owm_zap_allow_fn agent_data_allow_collector;
void agent_data_log_refused(agent_data *self, const char *key, const char *address,
                            const char *what);

#endif
