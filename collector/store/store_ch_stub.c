/* temporary until the ClickHouse backend lands (this session) */
#include "store_backend.h"
store_db *store_ch_open(const char *url, const store_opts *opts, owp_err *err)
{
    (void)opts;
    owp_err_set(err, OWP_ERR_INVALID, "store %s: ClickHouse support is not built", url);
    return NULL;
}
