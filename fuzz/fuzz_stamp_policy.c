/* fuzz_stamp_policy.c - stampd's policy file parser (stamp_policy.h)
 * against arbitrary text, and the decisions of what it accepted. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "stamp_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    owp_stamp_policy *p = owp_stamp_policy_parse((const char *)data, size, "fuzz", NULL);
    if (!p)
        return 0;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    a.sin6_addr.s6_addr[10] = a.sin6_addr.s6_addr[11] = 0xff;
    a.sin6_addr.s6_addr[12] = 192;
    owp_stamp_policy_allows(p, (struct sockaddr *)&a, sizeof a);
    char text[256];
    owp_stamp_policy_describe(p, text, sizeof text);
    owp_stamp_policy_destroy(&p);
    return 0;
}
