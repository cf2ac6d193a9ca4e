/*
 * agent_reconcile.h - the node agent's reconcile rule, as a pure function.
 *
 * Given the streams a node runs and the streams a new schedule wants, decide
 * which to keep (same id and every parameter: the running measurement goes on
 * untouched), which to stop (id no longer scheduled, or scheduled with other
 * parameters) and which to start (new ids, and the new version of a changed
 * stream). Streams are matched by id; owm_msg_stream_equal() says whether a
 * matched pair is the same measurement. Nothing here touches a socket or a
 * thread, so the rule is tested on its own (tests/unit/check_agent_reconcile.c).
 */
#ifndef OWM_AGENT_RECONCILE_H
#define OWM_AGENT_RECONCILE_H

#include <stddef.h>

#include "error.h"
#include "meshtypes.h"

typedef struct agent_changes {
    size_t *keep;        /* running indexes kept ... */
    size_t *keep_wanted; /* ... and the wanted index each one matches */
    size_t nkeep;
    size_t *stop;        /* running indexes to stop (removed or changed) */
    size_t nstop;
    size_t *start;       /* wanted indexes to start (new or changed) */
    size_t nstart;
    size_t nchanged;     /* how many stop+start pairs are parameter changes */
} agent_changes;

/* Fill plan (which must be zeroed or cleared) from running[0..nrunning) and
 * wanted[0..nwanted). A later wanted entry repeating an earlier id is ignored
 * (decoded schedules never have one: meshmsg validates uniqueness). Every
 * running index appears exactly once in keep or stop; every wanted index
 * (but ignored repeats) exactly once in keep_wanted or start. OWP_ERR_NOMEM. */
owp_status agent_reconcile(const owm_msg_stream *const *running, size_t nrunning,
                           const owm_msg_stream *const *wanted, size_t nwanted, agent_changes *plan,
                           owp_err *err);

/* Free the arrays and zero the plan. */
void agent_changes_clear(agent_changes *plan);

#endif
