/* ratelimit.c - at most one log line per subject and period (see ratelimit.h). */
#include "ratelimit.h"

#include <stdio.h>
#include <string.h>

void owm_ratelimit_init(owm_ratelimit *self, double period)
{
    memset(self, 0, sizeof *self);
    self->period = period;
}

int owm_ratelimit_allow(owm_ratelimit *self, const char *subject, double now)
{
    char cut[OWM_RATELIMIT_SUBJECT];
    snprintf(cut, sizeof cut, "%s", subject);
    /* The subject's slot; else an empty one; else the one logged longest ago. */
    size_t victim = 0;
    for (size_t i = 0; i < OWM_RATELIMIT_SLOTS; i++) {
        const char *held = self->slots[i].subject;
        if (held[0] && strcmp(held, cut) == 0) {
            if (now - self->slots[i].at < self->period)
                return 0;
            victim = i;
            break;
        }
        int victim_empty = !self->slots[victim].subject[0];
        if (!victim_empty && (!held[0] || self->slots[i].at < self->slots[victim].at))
            victim = i;
    }
    memcpy(self->slots[victim].subject, cut, sizeof cut);
    self->slots[victim].at = now;
    return 1;
}
