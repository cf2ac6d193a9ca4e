/*
 * ratelimit.h - "log this at most once a period": the daemons log every
 * refused connection (an unlisted key, a plaintext client, a wrong server
 * key), and a refused client that reconnects every second must not flood the
 * log. A limiter remembers the last OWM_RATELIMIT_SLOTS subjects (a key, a
 * peer host) and when each was last logged; a subject it forgot is logged
 * again at once.
 *
 * The struct is open so that a daemon can embed it; one thread uses it.
 */
#ifndef OWM_RATELIMIT_H
#define OWM_RATELIMIT_H

#define OWM_RATELIMIT_SLOTS 64
#define OWM_RATELIMIT_SUBJECT 160 /* longer subjects are cut (and compared cut) */
#define OWM_RATELIMIT_PERIOD 60.0 /* seconds: the daemons' default */

typedef struct owm_ratelimit {
    double period;
    struct {
        char subject[OWM_RATELIMIT_SUBJECT];
        double at; /* monotonic seconds of the last time it was logged */
    } slots[OWM_RATELIMIT_SLOTS];
} owm_ratelimit;

/* Empty, with period seconds between two logs of one subject. */
void owm_ratelimit_init(owm_ratelimit *self, double period);

/* 1 when subject was not logged within the period before now (monotonic
 * seconds): the caller logs, and the limiter records it; else 0. */
int owm_ratelimit_allow(owm_ratelimit *self, const char *subject, double now);

#endif
