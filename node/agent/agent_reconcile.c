/* agent_reconcile.c - reconcile: keep, stop and start lists (see agent_reconcile.h). */
#include "agent_reconcile.h"

#include <stdlib.h>
#include <string.h>

#include "meshmsg.h"

void agent_changes_clear(agent_changes *plan)
{
    if (!plan)
        return;
    free(plan->keep);
    free(plan->keep_wanted);
    free(plan->stop);
    free(plan->start);
    memset(plan, 0, sizeof *plan);
}

static const char *stream_id(const owm_msg_stream *s)
{
    return s && s->id ? s->id : "";
}

/* Index of the first entry of v[0..n) with this id, or n. */
static size_t find_id(const owm_msg_stream *const *v, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(stream_id(v[i]), id) == 0)
            return i;
    return n;
}

owp_status agent_reconcile(const owm_msg_stream *const *running, size_t nrunning,
                           const owm_msg_stream *const *wanted, size_t nwanted, agent_changes *plan,
                           owp_err *err)
{
    memset(plan, 0, sizeof *plan);
    size_t nr = nrunning ? nrunning : 1, nw = nwanted ? nwanted : 1;
    plan->keep = calloc(nr, sizeof *plan->keep);
    plan->keep_wanted = calloc(nr, sizeof *plan->keep_wanted);
    plan->stop = calloc(nr, sizeof *plan->stop);
    plan->start = calloc(nw, sizeof *plan->start);
    /* kept[j]: wanted[j] is served by a running stream that stays. */
    unsigned char *kept = calloc(nw, 1);
    if (!plan->keep || !plan->keep_wanted || !plan->stop || !plan->start || !kept) {
        free(kept);
        agent_changes_clear(plan);
        return owp_err_set(err, OWP_ERR_NOMEM, "reconcile: out of memory");
    }
    for (size_t i = 0; i < nrunning; i++) {
        size_t j = find_id(wanted, nwanted, stream_id(running[i]));
        if (j < nwanted && !kept[j] && owm_msg_stream_equal(running[i], wanted[j])) {
            kept[j] = 1;
            plan->keep[plan->nkeep] = i;
            plan->keep_wanted[plan->nkeep++] = j;
            continue;
        }
        if (j < nwanted)
            plan->nchanged++;
        plan->stop[plan->nstop++] = i;
    }
    for (size_t j = 0; j < nwanted; j++) {
        if (kept[j] || find_id(wanted, j, stream_id(wanted[j])) < j)
            continue; /* running on, or a repeated id */
        plan->start[plan->nstart++] = j;
    }
    free(kept);
    return OWP_OK;
}
