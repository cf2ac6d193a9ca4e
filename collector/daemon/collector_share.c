/* collector_share.c - dividing a mesh with the collectors of the same
 * archive (see collector_share.h). */
#include "collector_share.h"

#include <stdio.h>
#include <string.h>

#include "store.h"

const char *collector_archive_of(const char *location, char *buf, size_t len)
{
    if (!len)
        return buf;
    buf[0] = '\0';
    if (!location || !store_location_is_url(location))
        return buf;
    const char *rest = strstr(location, "://") + 3;
    size_t auth_len = strcspn(rest, "/?#");
    const char *at = memchr(rest, '@', auth_len);
    snprintf(buf, len, "%.*s%s", (int)(rest - location), location, at ? at + 1 : rest);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '/' && n > (size_t)(rest - location))
        buf[--n] = '\0';
    return buf;
}

double collector_lease_end(double asked_at, double period)
{
    return asked_at + COLLECTOR_LEASE_PERIODS * period;
}

double collector_next_request(double period, double hint)
{
    return hint > 0 && hint < period ? hint : period;
}

int collector_pulls(const owm_msg_directory *d, size_t i)
{
    return i < d->n_nodes && (!d->divided || d->nodes[i]->assigned);
}
