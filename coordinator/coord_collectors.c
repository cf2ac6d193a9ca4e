/* coord_collectors.c - collectors that share an archive divide the mesh
 * (assign.h): what the coordinator answers them, and the node schedules
 * whose list of collectors changed (see coord_internal.h). */
#include "coord_internal.h"

#include <stdlib.h>
#include <string.h>

#include "daemon_log.h"

static void log_assignment(void *arg, const char *node, const char *archive, const char *owner,
                           const char *was, const char *why)
{
    (void)arg;
    if (owner && was)
        log_info("node %s: collector %s (was %s: %s)", node, owner, was, why);
    else if (owner)
        log_info("node %s: collector %s (archive %s)", node, owner, archive);
    else
        log_warn("node %s: no live collector of archive %s (was %s: %s): not collected until "
                 "one asks the coordinator", node, archive, was, why);
}

/* "c1, c2" (or "none"): the collectors flagged for a node, for the log. */
static void list_names(const owm_mesh *mesh, const unsigned char *flags, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; flags && i < owm_mesh_client_count(mesh); i++) {
        if (!flags[i])
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                         owm_mesh_client(mesh, i)->name);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    if (!buf[0])
        snprintf(buf, len, "none");
}

void owmc_collectors_update(owmc_coord *self, double now)
{
    if (!self->assign)
        return;
    size_t n = owmc_reg_count(self->reg);
    unsigned char *changed = calloc(n ? n : 1, 1);
    if (!changed) {
        log_err("collector assignment: out of memory");
        return;
    }
    if (owmc_assign_update(self->assign, now, log_assignment, self, changed) > 0) {
        /* One generation for every node of this change: the nodes keep
         * their streams (same ids and parameters), only the keys they
         * admit change. */
        self->generation = owmc_next_generation(self->generation);
        for (size_t i = 0; i < n; i++) {
            if (!changed[i])
                continue;
            owmc_peer *p = owmc_reg_peer(self->reg, i);
            char names[512];
            list_names(self->mesh, owmc_collectors_of(self, i), names, sizeof names);
            owmc_reg_reschedule(p, self->generation);
            log_info("node %s: may be pulled by %s: schedule generation %llu",
                     p->plan->node->name, names, (unsigned long long)self->generation);
        }
        owmc_push_due(self, now);
    }
    free(changed);
}

void owmc_collectors_heard(owmc_coord *self, const char *name,
                           const owm_msg_directory_request *req, double now)
{
    if (!self->assign)
        return;
    int was_live = owmc_assign_live(self->assign, name, now);
    owmc_assign_heard(self->assign, name, req, now);
    if (!was_live && owmc_assign_live(self->assign, name, now))
        log_info("collector %s: live, sharing archive %s (heartbeat %.1f s, pulling %zu "
                 "node%s)", name, req->archive, req->heartbeat > 0 ? req->heartbeat
                                                               : OWMC_ASSIGN_DEFAULT_PERIOD,
                 req->n_pulling, req->n_pulling == 1 ? "" : "s");
    owmc_collectors_update(self, now);
}

void owmc_collectors_divide(owmc_coord *self, const char *name, owm_msg_directory *d,
                            double now)
{
    owp_err err = {0};
    if (name && owm_msg_set_string(&d->collector, name, &err) != OWP_OK)
        log_err("collector %s: %s", name, err.msg);
    if (!name || !self->assign)
        return;
    unsigned char *assigned = calloc(d->n_nodes ? d->n_nodes : 1, 1);
    if (!assigned) {
        log_err("collector %s: out of memory: directory not divided", name);
        return;
    }
    double next = 0;
    if (owmc_assign_grant(self->assign, name, now, assigned, &next)) {
        d->divided = true;
        d->next_request = next;
        for (size_t i = 0; i < d->n_nodes; i++)
            d->nodes[i]->assigned = assigned[i] != 0;
    }
    free(assigned);
}

const unsigned char *owmc_collectors_of(const owmc_coord *self, size_t node)
{
    return self->assign ? owmc_assign_node_collectors(self->assign, node) : NULL;
}

void owmc_collectors_reload(owmc_coord *self, const owm_mesh *mesh, double now)
{
    owp_err err = {0};
    if (self->assign && owmc_assign_set_mesh(self->assign, mesh, &err) == OWP_OK)
        return;
    /* Start afresh: every collector pulls every node until they ask again. */
    owmc_assign_destroy(&self->assign);
    self->assign = owmc_assign_new(mesh, now, &err);
    if (!self->assign)
        log_err("collector assignment: %s: every collector may pull every node", err.msg);
}
