/* collector_share.c - dividing a mesh with the collectors of the same
 * archive (see collector_share.h). */
#include "collector_share.h"

#include <stdio.h>
#include <string.h>

#include "store.h"

/* The value of parameter name in the query of a URL ("" when absent). */
static void url_param(const char *query, const char *name, char *out, size_t len)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *p = query; p && *p; p += strcspn(p, "&"), p += *p == '&') {
        if (!strncmp(p, name, n) && p[n] == '=') {
            snprintf(out, len, "%.*s", (int)strcspn(p + n + 1, "&#"), p + n + 1);
            return;
        }
    }
}

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
    const char *host = at ? at + 1 : rest, *path = rest + auth_len;
    size_t path_len = strcspn(path, "?#");
    const char *query = path[path_len] == '?' ? path + path_len + 1 : NULL;
    while (path_len > 0 && path[path_len - 1] == '/')
        path_len--;
    char cluster[128];
    url_param(query, "cluster", cluster, sizeof cluster);
    if (cluster[0]) /* the shards of one cluster: one archive, whichever server a collector asks */
        snprintf(buf, len, "%.*scluster %s%.*s", (int)(rest - location), location, cluster,
                 (int)path_len, path);
    else
        snprintf(buf, len, "%.*s%.*s%.*s", (int)(rest - location), location,
                 (int)(path - host), host, (int)path_len, path);
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
