/* assign.c - collectors sharing an archive divide the nodes (see assign.h). */
#include "assign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the coordinator knows of one collector of the mesh. Node flags are
 * indexed like the mesh's nodes. */
typedef struct coll {
    const owm_client *client; /* NULL: the client is an analyst */
    int heard;                /* a DirectoryRequest since the coordinator started */
    double last_heard;        /* monotonic */
    double period;            /* seconds (its heartbeat) */
    char *archive;            /* "" = of its own; never NULL once heard */
    unsigned char *owns;      /* per node: its owner in its archive (last update) */
    unsigned char *granted;   /* per node: marked assigned in its last Directory */
    unsigned char *pulling;   /* per node: it said it pulls it (last request) */
} coll;

struct owmc_assign {
    const owm_mesh *mesh;
    size_t n_nodes, n_colls; /* n_colls: every client of the mesh (analysts unused) */
    coll *colls;
    unsigned char *lists;    /* n_nodes x n_colls: may pull (last update) */
    double started;
};

/* ------------------------------------------------------------ weights */

uint64_t owmc_assign_weight(const char *node, const char *collector)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
    const char *parts[2] = {node, collector};
    for (int k = 0; k < 2; k++) {
        for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++)
            h = (h ^ *p) * 0x100000001b3ULL;
        h = (h ^ 0) * 0x100000001b3ULL; /* the separator: ("ab","c") != ("a","bc") */
    }
    /* FNV's high bits mix poorly for names differing in their last byte
     * (n1, n2, ...): splitmix64's finaliser spreads every bit. */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/* ------------------------------------------------------------ life cycle */

static void coll_clear(coll *c)
{
    free(c->archive);
    free(c->owns);
    free(c->granted);
    free(c->pulling);
    memset(c, 0, sizeof *c);
}

static void free_state(coll *colls, size_t n, unsigned char *lists)
{
    for (size_t i = 0; colls && i < n; i++)
        coll_clear(&colls[i]);
    free(colls);
    free(lists);
}

/* Fresh state for mesh: nobody heard, every collector on every list (as a
 * coordinator before issue 12 did). NULL on failure. */
static owp_status build(const owm_mesh *mesh, coll **colls_out, unsigned char **lists_out,
                        owp_err *err)
{
    size_t n_nodes = owm_mesh_node_count(mesh), n_colls = owm_mesh_client_count(mesh);
    coll *colls = calloc(n_colls ? n_colls : 1, sizeof *colls);
    size_t cells = n_nodes * n_colls;
    unsigned char *lists = calloc(cells > 0 ? cells : 1, 1);
    int ok = colls && lists;
    for (size_t i = 0; ok && i < n_colls; i++) {
        const owm_client *cl = owm_mesh_client(mesh, i);
        if (cl->role != OWM_ROLE_COLLECTOR)
            continue;
        coll *c = &colls[i];
        c->client = cl;
        size_t n = n_nodes ? n_nodes : 1;
        c->owns = calloc(n, 1);
        c->granted = calloc(n, 1);
        c->pulling = calloc(n, 1);
        ok = c->owns && c->granted && c->pulling;
        for (size_t k = 0; k < n_nodes; k++)
            lists[k * n_colls + i] = 1;
    }
    if (!ok) {
        free_state(colls, n_colls, lists);
        return owp_err_set(err, OWP_ERR_NOMEM, "collector assignment: out of memory");
    }
    *colls_out = colls;
    *lists_out = lists;
    return OWP_OK;
}

owmc_assign *owmc_assign_new(const owm_mesh *mesh, double now, owp_err *err)
{
    owmc_assign *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "collector assignment: out of memory");
        return NULL;
    }
    if (build(mesh, &self->colls, &self->lists, err) != OWP_OK) {
        free(self);
        return NULL;
    }
    self->mesh = mesh;
    self->n_nodes = owm_mesh_node_count(mesh);
    self->n_colls = owm_mesh_client_count(mesh);
    self->started = now;
    return self;
}

void owmc_assign_destroy(owmc_assign **self_p)
{
    if (!self_p || !*self_p)
        return;
    owmc_assign *self = *self_p;
    free_state(self->colls, self->n_colls, self->lists);
    free(self);
    *self_p = NULL;
}

static coll *find_coll(const owmc_assign *self, const char *name)
{
    for (size_t i = 0; name && i < self->n_colls; i++)
        if (self->colls[i].client && strcmp(self->colls[i].client->name, name) == 0)
            return &self->colls[i];
    return NULL;
}

/* Carry what old knew of a collector into its new slot (nodes by name). */
static void carry_over(const owmc_assign *old, const coll *from, const owm_mesh *mesh,
                       coll *to, size_t to_index, unsigned char *lists, size_t n_colls)
{
    to->heard = from->heard;
    to->last_heard = from->last_heard;
    to->period = from->period;
    to->archive = from->archive; /* moved */
    for (size_t k = 0; k < old->n_nodes; k++) {
        const owm_node *node = owm_mesh_node_find(mesh, owm_mesh_node(old->mesh, k)->name);
        if (!node)
            continue;
        to->owns[node->index] = from->owns[k];
        to->granted[node->index] = from->granted[k];
        to->pulling[node->index] = from->pulling[k];
        lists[node->index * n_colls + to_index] =
            old->lists[k * old->n_colls + (size_t)(from - old->colls)];
    }
}

owp_status owmc_assign_set_mesh(owmc_assign *self, const owm_mesh *mesh, owp_err *err)
{
    coll *colls;
    unsigned char *lists;
    owp_status st = build(mesh, &colls, &lists, err);
    if (st != OWP_OK)
        return st;
    size_t n_colls = owm_mesh_client_count(mesh);
    for (size_t i = 0; i < n_colls; i++) {
        coll *from = colls[i].client ? find_coll(self, colls[i].client->name) : NULL;
        if (from) {
            carry_over(self, from, mesh, &colls[i], i, lists, n_colls);
            from->archive = NULL;
        }
    }
    free_state(self->colls, self->n_colls, self->lists);
    self->colls = colls;
    self->lists = lists;
    self->mesh = mesh;
    self->n_nodes = owm_mesh_node_count(mesh);
    self->n_colls = n_colls;
    return OWP_OK;
}

/* ------------------------------------------------------------ liveness */

static int sharing(const coll *c)
{
    return c->client && c->heard && c->archive && c->archive[0];
}

static double dead_at(const coll *c)
{
    return c->last_heard + OWMC_ASSIGN_DEAD_PERIODS * c->period;
}

static int live(const coll *c, double now)
{
    return sharing(c) && now < dead_at(c);
}

int owmc_assign_live(const owmc_assign *self, const char *collector, double now)
{
    const coll *c = find_coll(self, collector);
    return c && live(c, now);
}

static int same_archive(const coll *a, const coll *b)
{
    return sharing(a) && sharing(b) && strcmp(a->archive, b->archive) == 0;
}

void owmc_assign_heard(owmc_assign *self, const char *collector,
                       const owm_msg_directory_request *req, double now)
{
    coll *c = find_coll(self, collector);
    if (!c)
        return;
    char *archive = strdup(req->archive ? req->archive : "");
    if (!archive)
        return; /* out of memory: as if not heard */
    /* Back from the dead (or a restart): its lease ran out, so it holds
     * only what it says it pulls. */
    if (!live(c, now))
        memset(c->granted, 0, self->n_nodes ? self->n_nodes : 1);
    /* Another archive (restarted with another store): nothing of the old one is its own. */
    if (c->archive && strcmp(c->archive, archive) != 0) {
        memset(c->owns, 0, self->n_nodes ? self->n_nodes : 1);
        memset(c->granted, 0, self->n_nodes ? self->n_nodes : 1);
    }
    free(c->archive);
    c->archive = archive;
    c->heard = 1;
    c->last_heard = now;
    c->period = req->heartbeat > 0 ? req->heartbeat : OWMC_ASSIGN_DEFAULT_PERIOD;
    memset(c->pulling, 0, self->n_nodes ? self->n_nodes : 1);
    for (size_t i = 0; i < req->n_pulling; i++) {
        const owm_node *node = owm_mesh_node_find(self->mesh, req->pulling[i]);
        if (node)
            c->pulling[node->index] = 1;
    }
}

/* ------------------------------------------------------------ owners */

/* The live collector of c's archive that wins node k, or NULL. */
static coll *winner(const owmc_assign *self, const coll *c, size_t k, double now)
{
    const char *node = owm_mesh_node(self->mesh, k)->name;
    coll *best = NULL;
    uint64_t best_w = 0;
    for (size_t i = 0; i < self->n_colls; i++) {
        coll *o = &self->colls[i];
        if (!live(o, now) || !same_archive(o, c))
            continue;
        uint64_t w = owmc_assign_weight(node, o->client->name);
        /* ties (never seen in practice) go to the smaller name */
        if (!best || w > best_w ||
            (w == best_w && strcmp(o->client->name, best->client->name) < 0)) {
            best = o;
            best_w = w;
        }
    }
    return best;
}

/* The collector of c's archive that owned node k at the last update. */
static coll *previous_owner(const owmc_assign *self, const coll *c, size_t k)
{
    for (size_t i = 0; i < self->n_colls; i++) {
        coll *o = &self->colls[i];
        if (o->client && o->owns[k] && same_archive(o, c))
            return o;
    }
    return NULL;
}

static void explain(const coll *was, double now, char *why, size_t len)
{
    if (!was)
        snprintf(why, len, "first assignment");
    else if (!live(was, now))
        snprintf(why, len, "not heard from for %.1f s", now - was->last_heard);
    else
        snprintf(why, len, "still live: rebalanced to a collector that joined or came back");
}

/* The first sharing collector of each archive stands for it: 1 if c is it. */
static int first_of_archive(const owmc_assign *self, const coll *c)
{
    for (const coll *o = self->colls; o < c; o++)
        if (same_archive(o, c))
            return 0;
    return sharing(c);
}

static void update_owners(owmc_assign *self, double now, owmc_assign_log_fn *log, void *arg)
{
    for (size_t i = 0; i < self->n_colls; i++) {
        const coll *rep = &self->colls[i];
        if (!first_of_archive(self, rep))
            continue;
        for (size_t k = 0; k < self->n_nodes; k++) {
            coll *now_owner = winner(self, rep, k, now);
            coll *was = previous_owner(self, rep, k);
            if (now_owner == was)
                continue;
            if (was)
                was->owns[k] = 0;
            if (now_owner)
                now_owner->owns[k] = 1;
            char why[100];
            explain(was, now, why, sizeof why);
            if (log && (now_owner || was))
                log(arg, owm_mesh_node(self->mesh, k)->name, rep->archive,
                    now_owner ? now_owner->client->name : NULL,
                    was ? was->client->name : NULL, why);
        }
    }
    /* A collector that stopped sharing (or left) owns nothing. */
    for (size_t i = 0; i < self->n_colls; i++)
        if (self->colls[i].client && !live(&self->colls[i], now))
            memset(self->colls[i].owns, 0, self->n_nodes ? self->n_nodes : 1);
}

/* May c pull node k? Everyone not sharing; of a shared archive, the owner
 * and the live collectors holding it. */
static int may_pull(const coll *c, size_t k, double now)
{
    if (!c->client)
        return 0;
    if (!sharing(c))
        return 1;
    return live(c, now) && (c->owns[k] || c->granted[k] || c->pulling[k]);
}

size_t owmc_assign_update(owmc_assign *self, double now, owmc_assign_log_fn *log, void *arg,
                          unsigned char *changed)
{
    update_owners(self, now, log, arg);
    size_t n_changed = 0;
    for (size_t k = 0; k < self->n_nodes; k++) {
        int differs = 0;
        for (size_t i = 0; i < self->n_colls; i++) {
            unsigned char *slot = &self->lists[k * self->n_colls + i];
            unsigned char want = (unsigned char)may_pull(&self->colls[i], k, now);
            differs |= *slot != want;
            *slot = want;
        }
        n_changed += differs != 0;
        if (changed)
            changed[k] = (unsigned char)differs;
    }
    return n_changed;
}

const unsigned char *owmc_assign_node_collectors(const owmc_assign *self, size_t node)
{
    return node < self->n_nodes ? &self->lists[node * self->n_colls] : NULL;
}

const char *owmc_assign_owner(const owmc_assign *self, size_t node, const char *archive)
{
    for (size_t i = 0; archive && node < self->n_nodes && i < self->n_colls; i++) {
        const coll *c = &self->colls[i];
        if (sharing(c) && c->owns[node] && strcmp(c->archive, archive) == 0)
            return c->client->name;
    }
    return NULL;
}

/* ------------------------------------------------------------ grants */

/* Another live collector of c's archive holding node k, or NULL. */
static const coll *holder(const owmc_assign *self, const coll *c, size_t k, double now)
{
    for (size_t i = 0; i < self->n_colls; i++) {
        const coll *o = &self->colls[i];
        if (o != c && live(o, now) && same_archive(o, c) && (o->granted[k] || o->pulling[k]))
            return o;
    }
    return NULL;
}

static int every_collector_heard(const owmc_assign *self)
{
    for (size_t i = 0; i < self->n_colls; i++)
        if (self->colls[i].client && !self->colls[i].heard)
            return 0;
    return 1;
}

static void sooner(double *next, double at, double now)
{
    double in = at - now + OWMC_ASSIGN_MARGIN;
    if (in < *next)
        *next = in;
}

int owmc_assign_grant(owmc_assign *self, const char *collector, double now,
                      unsigned char *assigned, double *next_request)
{
    coll *c = find_coll(self, collector);
    *next_request = 0;
    if (!c || !live(c, now))
        return 0;
    double next = c->period;
    int settled = every_collector_heard(self) ||
                  now - self->started >= OWMC_ASSIGN_DEAD_PERIODS * c->period;
    for (size_t k = 0; k < self->n_nodes; k++) {
        const coll *other = c->owns[k] ? holder(self, c, k, now) : NULL;
        assigned[k] = c->owns[k] && !other && (settled || c->pulling[k]);
        if (other) /* it lets go at its next request, or dies */
            sooner(&next, other->last_heard + other->period, now);
        else if (c->owns[k] && !assigned[k])
            sooner(&next, self->started + OWMC_ASSIGN_DEAD_PERIODS * c->period, now);
    }
    /* A collector of the archive that is late may die: its nodes are ours
     * to take right after. */
    for (size_t i = 0; i < self->n_colls; i++)
        if (&self->colls[i] != c && live(&self->colls[i], now) && same_archive(&self->colls[i], c))
            sooner(&next, dead_at(&self->colls[i]), now);
    double floor = c->period / 10 > OWMC_ASSIGN_MARGIN ? c->period / 10 : OWMC_ASSIGN_MARGIN;
    *next_request = next < floor ? floor : next;
    memcpy(c->granted, assigned, self->n_nodes);
    return 1;
}
