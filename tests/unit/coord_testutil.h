/* coord_testutil.h - the coordinator suites' shared fixtures
 * (check_plan.c, check_registry.c, check_health.c, check_curve.c): two CURVE
 * keys, a node clock reading, a three-node mesh, and parsing and planning
 * that fail the running Check test on error. Results are the caller's to
 * destroy. */
#ifndef OWMESH_TESTS_COORD_TESTUTIL_H
#define OWMESH_TESTS_COORD_TESTUTIL_H

#include <stdint.h>

#include "meshconf.h"
#include "plan.h"

#define KEY_A "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define KEY_B "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define T0 ((uint64_t)3900000000u << 32) /* a node clock reading, OWAMP time */

/* Nodes a, b (with keys) and c; BASE: a full mesh of them, 600 packets. */
#define NODES3 \
    "\"nodes\": {\"a\": {\"address\": \"127.0.0.2\", \"public-key\": \"" KEY_A "\"}," \
    " \"b\": {\"address\": \"127.0.0.3\", \"public-key\": \"" KEY_B "\"}," \
    " \"c\": {\"address\": \"127.0.0.4\"}}"
#define BASE                                                                                 \
    "{" NODES3 ", \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", \"b\", \"c\"]}}," \
    " \"tests\": {\"t\": {\"type\": \"latencybg\", \"packet-count\": 600}},"                   \
    " \"tasks\": {\"k\": {\"group\": \"g\", \"test\": \"t\"}}}"

owm_mesh *parse_ok(const char *text);
owmc_plan *plan_ok(const owm_mesh *m);

#endif
