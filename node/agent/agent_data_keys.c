/*
 * agent_data_keys.c - who may pull from the data endpoint: the collectors
 * the coordinator's schedule lists and the keys given with -A, checked by
 * ZAP on connection and again on every request (the mesh may drop a key).
 */
#include <stdio.h>
#include <string.h>

#include "agent_data_internal.h"
#include "clock.h"
#include "daemon_log.h"

int agent_data_collectors_from(const owm_msg_schedule *s, agent_data_collector *out, size_t max,
                               size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < s->n_collectors && *n < max; i++, (*n)++) {
        snprintf(out[*n].name, sizeof out[*n].name, "%s", s->collectors[i]->name);
        snprintf(out[*n].key, sizeof out[*n].key, "%s", s->collectors[i]->public_key);
    }
    return s->n_collectors > max;
}

static int same_collectors(const agent_data *self, const agent_data_collector *c, size_t n)
{
    if (n != self->n_collectors)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].name, self->collectors[i].name) || strcmp(c[i].key, self->collectors[i].key))
            return 0;
    return 1;
}

void agent_data_set_collectors(agent_data *self, const agent_data_collector *c, size_t n)
{
    if (n > AGENT_DATA_MAX_COLLECTORS)
        n = AGENT_DATA_MAX_COLLECTORS;
    if (same_collectors(self, c, n))
        return;
    if (n) /* c may be NULL for none */
        memcpy(self->collectors, c, n * sizeof *c);
    self->n_collectors = n;
    char names[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 c[i].name);
    log_info("node %s: data: serving %zu collector%s of the mesh%s%s%s and %zu -A key%s",
             self->cfg.node, n, n == 1 ? "" : "s", n ? " (" : "", names, n ? ")" : "",
             self->cfg.n_keys, self->cfg.n_keys == 1 ? "" : "s");
}

/* The listed collector's name, "-A" for an -A key, NULL for anybody else. */
static const char *collector_of(const agent_data *self, const char *key)
{
    for (size_t i = 0; i < self->n_collectors; i++)
        if (!strcmp(self->collectors[i].key, key))
            return self->collectors[i].name;
    for (size_t i = 0; i < self->cfg.n_keys; i++)
        if (!strcmp(self->keys[i], key))
            return "-A";
    return NULL;
}

int agent_data_admits(const agent_data *self, const char *key)
{
    return key && collector_of(self, key) != NULL;
}

/* A refused key, said at most once a minute (a refused collector retries). */
void agent_data_log_refused(agent_data *self, const char *key, const char *address,
                            const char *what)
{
    if (owm_ratelimit_allow(&self->refused, key, owp_clock_monotonic()))
        log_warn("node %s: data: refused %s from %s: CURVE key %s is not a collector of the "
                 "mesh (the coordinator lists %zu) nor one given with -A", self->cfg.node, what,
                 address, key, self->n_collectors);
}

/* The ZAP verdict (mesh/zap.h): a listed collector's key or an -A key. */
int agent_data_allow_collector(void *arg, const char *key, const char *address)
{
    agent_data *self = arg;
    if (agent_data_admits(self, key))
        return 1;
    agent_data_log_refused(self, key, address, "connection");
    return 0;
}

void agent_data_handle_zap(agent_data *self)
{
    owm_zap_handle(self->zap);
}
