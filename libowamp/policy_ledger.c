/*
 * policy_ledger.c - the resource side of owamp-server.limits: what one test
 * session costs in bandwidth and disk, and the ledger that grants and
 * releases those costs and test sessions against every limited ancestor of a
 * connection's class (programs.md sections 1.5 and 1.7). Single-threaded: see
 * policy.h.
 */
#include "policy_internal.h"

#include <math.h>
#include <stdlib.h>

/* ================================================================ session cost */

uint64_t owp_limits_session_bandwidth(const owp_slot *slots, uint32_t nslots, uint32_t padding,
                                      uint32_t mode, int ipv6)
{
    double duration = 0.0;
    for (uint32_t i = 0; slots && i < nslots; i++)
        duration += (double)slots[i].value / 4294967296.0;
    /* A zero mean interval (owping -i 0: "as fast as possible") has no rate
     * the reference can compute; it charges nothing and so accepts the
     * session under any bandwidth limit. Doing the same keeps such tests
     * working against classes with a bandwidth limit. */
    if (!slots || nslots == 0 || !(duration > 0.0))
        return 0;
    unsigned payload = (mode & (OWP_MODE_AUTH | OWP_MODE_ENCRYPTED)) ? 48 : 14;
    double size = (ipv6 ? 40.0 : 20.0) + 8.0 + payload + (double)padding;
    double bits = (double)nslots / duration * size * 8.0;
    if (!(bits < 18446744073709551616.0))
        return UINT64_MAX;
    return (uint64_t)bits;
}

uint64_t owp_limits_session_disk(uint32_t nslots, uint32_t npackets)
{
    return 184u + 16u * (uint64_t)nslots + 25u * (uint64_t)npackets;
}

/* ================================================================ the ledger */

typedef enum { RES_TEST_SESSIONS, RES_BANDWIDTH, RES_DISK } resource;

static const char *const resource_names[] = {"test_sessions", "bandwidth", "disk"};

typedef struct usage {
    uint64_t bandwidth;
    uint64_t disk;
} usage;

typedef struct grant {
    uint64_t id;
    uint64_t conn_id;
    const owp_limits_class *cls;
    uint64_t bandwidth;
    uint64_t disk;
} grant;

typedef struct conn {
    uint64_t id;
    const owp_limits_class *cls;
    uint64_t nrequests; /* granted Request-Sessions (test_sessions) */
} conn;

struct owp_limits_ledger {
    const owp_limits *limits;
    double diskfudge;
    usage *used; /* one per class, by class index */
    conn *conns;
    size_t nconns, cap_conns;
    grant *grants;
    size_t ngrants, cap_grants;
    uint64_t next_grant_id;
};

owp_limits_ledger *owp_limits_ledger_new(const owp_limits *limits, double diskfudge,
                                         owp_err *err)
{
    if (!limits || limits->nclasses == 0)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_limits_ledger_new: no limits"), NULL;
    if (!(diskfudge >= 1.0 && diskfudge <= 10.0))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "Invalid diskfudge \"%g\":valid values 1.0<=diskfudge<=10.0",
                           diskfudge), NULL;
    owp_limits_ledger *self = calloc(1, sizeof *self);
    if (self)
        self->used = calloc(limits->nclasses, sizeof(usage));
    if (!self || !self->used) {
        free(self);
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory"), NULL;
    }
    self->limits = limits;
    self->diskfudge = diskfudge;
    self->next_grant_id = 1;
    return self;
}

void owp_limits_ledger_destroy(owp_limits_ledger **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_limits_ledger *self = *self_p;
    free(self->used);
    free(self->conns);
    free(self->grants);
    free(self);
    *self_p = NULL;
}

static int owns_class(const owp_limits_ledger *self, const owp_limits_class *cls)
{
    return cls && cls->index < self->limits->nclasses &&
           self->limits->classes[cls->index] == cls;
}

static conn *find_conn(const owp_limits_ledger *self, uint64_t conn_id)
{
    for (size_t i = 0; i < self->nconns; i++)
        if (self->conns[i].id == conn_id)
            return &self->conns[i];
    return NULL;
}

static grant *find_grant(const owp_limits_ledger *self, uint64_t grant_id)
{
    for (size_t i = 0; i < self->ngrants; i++)
        if (self->grants[i].id == grant_id)
            return &self->grants[i];
    return NULL;
}

static uint64_t limit_of(const owp_limits_class *c, resource r)
{
    return r == RES_TEST_SESSIONS ? c->values.test_sessions
           : r == RES_BANDWIDTH   ? c->values.bandwidth
                                  : c->values.disk;
}

static uint64_t *counter(owp_limits_ledger *self, const owp_limits_class *c, resource r)
{
    usage *u = &self->used[c->index];
    return r == RES_BANDWIDTH ? &u->bandwidth : &u->disk;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* limit x fudge as an integer, saturating. */
static uint64_t hard_limit(uint64_t limit, double fudge)
{
    if (fudge == 1.0)
        return limit;
    double h = floor((double)limit * fudge);
    return h >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)h;
}

/* The first level (from cls up) that cannot take amount more, or NULL.
 * A level's usage is its own counter, except for test_sessions, which are
 * counted per connection (conn_count) and checked against every level. */
static const owp_limits_class *refusing_level(owp_limits_ledger *self,
                                              const owp_limits_class *cls, resource r,
                                              uint64_t amount, uint64_t conn_count,
                                              double fudge, uint64_t *used_out)
{
    if (amount == 0)
        return NULL; /* nothing asked (a send session's disk): nothing to refuse */
    for (const owp_limits_class *c = cls; c; c = c->parent) {
        uint64_t limit = limit_of(c, r);
        if (limit == 0)
            continue; /* no limit at this level: look further up */
        uint64_t used = r == RES_TEST_SESSIONS ? conn_count : *counter(self, c, r);
        uint64_t hard = hard_limit(limit, fudge);
        if (amount > hard || used > hard - amount) {
            *used_out = used;
            return c;
        }
    }
    return NULL;
}

static owp_status deny(owp_err *err, const owp_limits_class *c, const char *query, resource r,
                       uint64_t amount, uint64_t used)
{
    return owp_err_set(err, OWP_ERR_REFUSED,
                       "ResReq DENIED: %s:%s:%s = %llu (result = %llu, limit = %llu)", c->name,
                       query, resource_names[r], (unsigned long long)amount,
                       (unsigned long long)used, (unsigned long long)limit_of(c, r));
}

/* Add (sign > 0) or release (sign < 0) amount at cls and every ancestor.
 * Releases clamp at 0; returns -1 if one had to. */
static int charge(owp_limits_ledger *self, const owp_limits_class *cls, resource r,
                  uint64_t amount, int sign)
{
    int clamped = 0;
    for (const owp_limits_class *c = cls; c; c = c->parent) {
        uint64_t *u = counter(self, c, r);
        if (sign > 0) {
            *u = sat_add(*u, amount);
        } else if (amount > *u) {
            *u = 0;
            clamped = 1;
        } else {
            *u -= amount;
        }
    }
    return clamped ? -1 : 0;
}

static owp_status stored_class(owp_limits_ledger *self, const char *class_path,
                               const owp_limits_class **cls, owp_err *err)
{
    if (!self || !class_path)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_limits_ledger: NULL argument");
    *cls = owp_limits_class_by_path(self->limits, class_path);
    if (!*cls)
        return owp_err_set(err, OWP_ERR_INVALID, "\"%s\": No associated user class", class_path);
    return OWP_OK;
}

owp_status owp_limits_ledger_add_stored(owp_limits_ledger *self, const char *class_path,
                                        uint64_t bytes, owp_err *err)
{
    const owp_limits_class *cls;
    owp_status st = stored_class(self, class_path, &cls, err);
    if (st == OWP_OK)
        charge(self, cls, RES_DISK, bytes, +1);
    return st;
}

owp_status owp_limits_ledger_remove_stored(owp_limits_ledger *self, const char *class_path,
                                           uint64_t bytes, owp_err *err)
{
    const owp_limits_class *cls;
    owp_status st = stored_class(self, class_path, &cls, err);
    if (st == OWP_OK && charge(self, cls, RES_DISK, bytes, -1) != 0)
        st = owp_err_set(err, OWP_ERR_INVALID,
                         "release of %llu disk bytes for \"%s\" exceeds its usage (now 0)",
                         (unsigned long long)bytes, class_path);
    return st;
}

owp_status owp_limits_ledger_conn_open(owp_limits_ledger *self, uint64_t conn_id,
                                       const owp_limits_class *cls, owp_err *err)
{
    if (!self || !owns_class(self, cls))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "owp_limits_ledger_conn_open: class not from this ledger's limits");
    if (find_conn(self, conn_id))
        return owp_err_set(err, OWP_ERR_INVALID, "connection %llu is already open",
                           (unsigned long long)conn_id);
    void *arr = self->conns;
    if (owp_limits_grow(&arr, &self->cap_conns, self->nconns, sizeof(conn)) != 0)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    self->conns = arr;
    self->conns[self->nconns++] = (conn){conn_id, cls, 0};
    return OWP_OK;
}

static void release_grant(owp_limits_ledger *self, grant *g)
{
    charge(self, g->cls, RES_BANDWIDTH, g->bandwidth, -1);
    charge(self, g->cls, RES_DISK, g->disk, -1);
    *g = self->grants[--self->ngrants]; /* order of grants does not matter */
}

size_t owp_limits_ledger_conn_close(owp_limits_ledger *self, uint64_t conn_id)
{
    if (!self)
        return 0;
    size_t released = 0;
    for (size_t i = 0; i < self->ngrants;) {
        if (self->grants[i].conn_id == conn_id) {
            release_grant(self, &self->grants[i]); /* moves the last grant to i */
            released++;
        } else {
            i++;
        }
    }
    conn *c = find_conn(self, conn_id);
    if (c)
        *c = self->conns[--self->nconns];
    return released;
}

owp_status owp_limits_ledger_request(owp_limits_ledger *self, uint64_t conn_id,
                                     uint64_t bandwidth, uint64_t disk, uint64_t *grant_id,
                                     uint8_t *accept, owp_err *err)
{
    uint8_t dummy_accept;
    uint64_t dummy_id;
    if (!accept)
        accept = &dummy_accept;
    if (!grant_id)
        grant_id = &dummy_id;
    *accept = 2; /* internal error until decided */
    *grant_id = 0;
    conn *c = self ? find_conn(self, conn_id) : NULL;
    if (!c)
        return owp_err_set(err, OWP_ERR_INVALID, "resource request from unknown connection %llu",
                           (unsigned long long)conn_id);
    const owp_limits_class *cls = c->cls;
    uint64_t used = 0;
    const owp_limits_class *at;

    /* In the reference's order; the first refusal decides and nothing is
     * charged (so a refused request does not count as a test session). */
    const resource order[] = {RES_TEST_SESSIONS, RES_BANDWIDTH, RES_DISK};
    const uint64_t amount[] = {1, bandwidth, disk};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        at = refusing_level(self, cls, order[i], amount[i], c->nrequests, 1.0, &used);
        if (at) {
            *accept = OWP_LIMITS_ACCEPT_DENIED;
            return deny(err, at, "request", order[i], amount[i], used);
        }
    }

    void *arr = self->grants;
    if (owp_limits_grow(&arr, &self->cap_grants, self->ngrants, sizeof(grant)) != 0)
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    self->grants = arr;
    grant *g = &self->grants[self->ngrants++];
    *g = (grant){self->next_grant_id++, conn_id, cls, bandwidth, disk};
    if (self->next_grant_id == 0)
        self->next_grant_id = 1; /* 0 never names a grant */
    charge(self, cls, RES_BANDWIDTH, bandwidth, +1);
    charge(self, cls, RES_DISK, disk, +1);
    c->nrequests++;
    *grant_id = g->id;
    *accept = 0;
    return OWP_OK;
}

owp_status owp_limits_ledger_end(owp_limits_ledger *self, uint64_t grant_id, int keep_file,
                                 uint64_t file_size, owp_err *err)
{
    grant *g = self ? find_grant(self, grant_id) : NULL;
    if (!g)
        return owp_err_set(err, OWP_ERR_INVALID, "no resource grant %llu",
                           (unsigned long long)grant_id);
    if (!keep_file) {
        release_grant(self, g);
        return OWP_OK;
    }
    owp_status st = OWP_OK;
    if (file_size < g->disk) {
        charge(self, g->cls, RES_DISK, g->disk - file_size, -1);
        g->disk = file_size;
    } else if (file_size > g->disk) {
        /* Larger than estimated: claim the rest against the hard limit. */
        uint64_t more = file_size - g->disk, used = 0;
        const owp_limits_class *at =
            refusing_level(self, g->cls, RES_DISK, more, 0, self->diskfudge, &used);
        if (at) {
            st = deny(err, at, "claim", RES_DISK, more, used);
        } else {
            charge(self, g->cls, RES_DISK, more, +1);
            g->disk = file_size;
        }
    }
    if (st != OWP_OK) {
        release_grant(self, g); /* the caller deletes the file */
        return st;
    }
    /* The file's bytes stay charged to the class as stored data. */
    g->disk = 0;
    release_grant(self, g);
    return OWP_OK;
}

int owp_limits_ledger_usage(const owp_limits_ledger *self, const owp_limits_class *cls,
                            uint64_t *bandwidth, uint64_t *disk)
{
    if (!self || !owns_class(self, cls))
        return -1;
    if (bandwidth)
        *bandwidth = self->used[cls->index].bandwidth;
    if (disk)
        *disk = self->used[cls->index].disk;
    return 0;
}

size_t owp_limits_ledger_grants(const owp_limits_ledger *self, uint64_t conn_id)
{
    size_t n = 0;
    for (size_t i = 0; self && i < self->ngrants; i++)
        n += self->grants[i].conn_id == conn_id;
    return n;
}

int owp_limits_ledger_grant_conn(const owp_limits_ledger *self, uint64_t grant_id,
                                 uint64_t *conn_id)
{
    for (size_t i = 0; self && i < self->ngrants; i++) {
        if (self->grants[i].id == grant_id) {
            if (conn_id)
                *conn_id = self->grants[i].conn_id;
            return 0;
        }
    }
    return -1;
}
