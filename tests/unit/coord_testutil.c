/* coord_testutil.c - the coordinator suites' shared fixtures
 * (coord_testutil.h). */
#include <check.h>
#include <string.h>

#include "coord_testutil.h"

owm_mesh *parse_ok(const char *text)
{
    owp_err e = {0};
    owm_mesh *m = owm_mesh_parse(text, strlen(text), "inline.json", &e);
    ck_assert_msg(m != NULL, "parse failed: %s", e.msg);
    return m;
}

owmc_plan *plan_ok(const owm_mesh *m)
{
    owp_err e = {0};
    owmc_plan *p = owmc_plan_new(m, &e);
    ck_assert_msg(p != NULL, "plan failed: %s", e.msg);
    return p;
}
