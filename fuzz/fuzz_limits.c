/* fuzz_limits.c - the owamp-server.limits parser against arbitrary text, and
 * every query a loaded file answers (class paths, resolution, the ledger). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <netinet/in.h>

#include "pfs.h"
#include "policy.h"

/* Identities "assign user" may name: a fixed small store, so both the
 * accepted and the refused branches are reachable. */
static owp_pfs *fuzz_pfs(void)
{
    static owp_pfs *pfs;
    if (!pfs) {
        pfs = owp_pfs_new();
        if (pfs) {
            owp_err err;
            static const uint8_t pass[] = "secret";
            owp_pfs_set(pfs, "alice", pass, sizeof pass - 1, &err);
            owp_pfs_set(pfs, "bob", pass, sizeof pass - 1, &err);
        }
    }
    return pfs;
}

static void exercise(const owp_limits *limits)
{
    char path[1024];
    for (size_t i = 0; i < owp_limits_class_count(limits); i++) {
        const owp_limits_class *cls = owp_limits_class_at(limits, i);
        if (owp_limits_class_path(cls, path, sizeof path) == 0 &&
            owp_limits_class_by_path(limits, path) != cls)
            __builtin_trap(); /* a class's own path must lead back to it */
    }
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof s4);
    s4.sin_family = AF_INET;
    s4.sin_addr.s_addr = htonl(0x7f000002);
    const owp_limits_class *cls =
        owp_limits_class_for_conn(limits, (struct sockaddr *)&s4, sizeof s4, 2, "alice");
    if (!cls)
        __builtin_trap();
    owp_limits_allow_open_mode(limits, (struct sockaddr *)&s4, sizeof s4);

    owp_err err;
    owp_limits_ledger *ledger = owp_limits_ledger_new(limits, 1.5, &err);
    if (!ledger)
        return;
    uint64_t grant = 0;
    if (owp_limits_ledger_conn_open(ledger, 1, cls, &err) == OWP_OK &&
        owp_limits_ledger_request(ledger, 1, 1000, 500, &grant, NULL, &err) == OWP_OK)
        owp_limits_ledger_end(ledger, grant, 1, 700, &err);
    owp_limits_ledger_conn_close(ledger, 1);
    owp_limits_ledger_destroy(&ledger);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    owp_err err;
    owp_limits *limits = owp_limits_parse((const char *)data, size, "fuzz", fuzz_pfs(), &err);
    if (limits)
        exercise(limits);
    owp_limits_destroy(&limits);
    return 0;
}
