/* coord_health.c - what the coordinator knows about the nodes' health:
 * PeerHealth (the nodes down) pushed to every node, and the health log
 * (nodes missing or back, streams stalled or recovered). See coord.h. */
#include "coord_internal.h"

#include "daemon_log.h"
#include "health.h"

/* ------------------------------------------------------------ peer health */

/* The current down set as an encoded PeerHealth, built once per version so
 * that telling every node costs one encoding. NULL when it cannot be built. */
static zframe_t *peer_health_frame(owmc_coord *self)
{
    uint64_t version = owmc_reg_down_version(self->reg);
    if (self->peer_health && self->peer_health_version == version)
        return self->peer_health;
    zframe_destroy(&self->peer_health);
    owp_err err = {0};
    owm_msg *env = owmc_reg_peer_health(self->reg, owmc_wall_now(), &err);
    self->peer_health = env ? owm_msg_encode_frame(env, &err) : NULL;
    owm_msg_free(&env);
    if (!self->peer_health)
        log_err("cannot build PeerHealth: %s", err.msg);
    self->peer_health_version = version;
    return self->peer_health;
}

void owmc_send_peer_health(owmc_coord *self, owmc_peer *p, double now)
{
    if (!owmc_reg_peer_health_due(self->reg, p, now))
        return;
    zframe_t *frame = peer_health_frame(self);
    if (!frame)
        return;
    char to[100];
    snprintf(to, sizeof to, "node %s", p->plan->node->name);
    if (owmc_send_frame(self, p->route, zframe_dup(frame), OWM_MSG_PEER_HEALTH,
                         to) == 0)
        owmc_reg_peer_health_sent(self->reg, p);
}

/* Once a tick: when the down set changed, every connected node hears it
 * once (a storm of changes within the tick is one message per node). */
void owmc_peer_health_due(owmc_coord *self, double now)
{
    if (owmc_reg_update_down(self->reg, now))
        log_debug("peer health: %zu of %zu nodes down", owmc_reg_down_count(self->reg),
                  owmc_reg_count(self->reg));
    for (size_t i = 0; i < owmc_reg_count(self->reg); i++)
        owmc_send_peer_health(self, owmc_reg_peer(self->reg, i), now);
}

/* ------------------------------------------------------------ health logging */

static void log_stream(const owmc_peer *p, size_t i, owm_verdict v, owm_verdict was,
                       const char *why)
{
    const owm_stream *s = p->plan->streams[i];
    const owm_msg_stream_health *h = owmc_reg_health(p, s->id);
    /* the evidence of these already quotes the node's error */
    const char *said = v == OWM_V_UNMEASURED || v == OWM_V_FAILING || !h ? "" : h->last_error;
    if (owm_verdict_is_problem(v))
        log_warn("stream %s %s -> %s: %s%s%s%s%s", s->id, s->src->name, s->dst->name,
                      owm_verdict_name(v), why[0] ? ": " : "", why,
                      said[0] ? "; node says: " : "", said);
    else if (owm_verdict_is_problem(was))
        log_info("stream %s %s -> %s: %s again (was %s)", s->id, s->src->name,
                      s->dst->name, owm_verdict_name(v), owm_verdict_name(was));
}

void owmc_check_health(owmc_coord *self, double now)
{
    /* Nodes get one node timeout after start-up to connect before they are
     * reported missing. */
    int settled = now - self->started > self->node_timeout;
    for (size_t n = 0; n < owmc_reg_count(self->reg); n++) {
        owmc_peer *p = owmc_reg_peer(self->reg, n);
        const char *name = p->plan->node->name;
        int missing = owmc_reg_node_missing(self->reg, p, now);
        if (missing && !p->missing && (settled || p->last_seen >= 0)) {
            if (p->last_seen < 0)
                log_warn("node %s: missing: never connected; its %zu streams are not "
                              "measured", name, p->plan->n_streams);
            else
                log_warn("node %s: missing: nothing heard for %.0f s; its %zu streams "
                              "are not measured", name, now - p->last_seen, p->plan->n_streams);
            p->missing = 1;
        } else if (!missing && p->missing) {
            log_info("node %s: back", name);
            p->missing = 0;
        }
        if (missing || !p->status)
            continue;
        for (size_t i = 0; i < p->plan->n_streams; i++) {
            char why[OWM_EVIDENCE_MAX];
            owm_verdict v = owmc_reg_stream_verdict(self->reg, p, i, now, why, sizeof why);
            owm_verdict was = (owm_verdict)p->verdicts[i];
            if (v != was && (owm_verdict_is_problem(v) || owm_verdict_is_problem(was)))
                log_stream(p, i, v, was, why);
            p->verdicts[i] = (unsigned char)v;
        }
    }
}
