/*
 * twsave.c - -F for twping and stping (twsave.h).
 */
#include "twsave.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "client_opts.h"

/* The temporary file's name while one exists, for the signal handler: a
 * fixed buffer, since the handler may not touch the heap. */
static char g_temp[PATH_MAX];

owp_twp_save *tools_twsave_begin(const char *prog, const char *path)
{
    if (!path)
        return NULL;
    owp_err err;
    owp_twp_save *save = owp_twp_save_begin(path, &err);
    if (!save) {
        tools_errmsg(prog, "-F %s", err.msg);
        exit(1);
    }
    snprintf(g_temp, sizeof g_temp, "%s", owp_twp_save_temp_path(save));
    return save;
}

int tools_twsave_commit(const char *prog, owp_twp_save **save, const owp_request *req,
                        const owp_tw_record *records, uint32_t n)
{
    owp_err err;
    owp_status st = owp_twp_save_commit(save, req, records, n, &err);
    g_temp[0] = '\0';
    if (st != OWP_OK) {
        tools_errmsg(prog, "%s", err.msg);
        return 1;
    }
    return 0;
}

void tools_twsave_abort(owp_twp_save **save)
{
    g_temp[0] = '\0';
    owp_twp_save_abort(save);
}

void tools_twsave_on_exit_signal(void)
{
    if (g_temp[0])
        unlink(g_temp);
}
