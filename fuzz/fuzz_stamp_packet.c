/* fuzz_stamp_packet.c - what a STAMP reflector and sender read from the
 * network (stamp_reflector.h, stamp_wire.h, stamp_tlv.h): the reflector's
 * whole answer path (length checks, the sender packet, sessions, every TLV
 * answered) in unauthenticated stateless, stateful and authenticated mode,
 * the first input octet choosing the sender's port and the TOS; then the
 * sender's decoding of a reflected packet and of its TLVs. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stamp_reflector.h"
#include "stamp_tlv.h"
#include "stamp_wire.h"

#define NMODES 3

static owp_stamp_reflector *reflectors[NMODES];
static owp_stamp_key *key;

static void set_up(void)
{
    static const uint8_t k[32] = {7, 7, 7};
    static const char policy[] = "rate-per-source 0\nrate-global 0\nmax-sessions 64\n"
                                 "max-reply-growth 20\ncos-dscp 0-31\n";
    key = owp_stamp_key_new(k, sizeof k, NULL);
    const owp_stamp_reflector_config cfgs[NMODES] = {
        {.mode = OWP_MODE_OPEN}, {.mode = OWP_MODE_OPEN, .stateful = 1, .key = key},
        {.mode = OWP_MODE_AUTH, .stateful = 1, .key = key},
    };
    for (int i = 0; i < NMODES; i++)
        reflectors[i] = owp_stamp_reflector_new(
            &cfgs[i], owp_stamp_policy_parse(policy, sizeof policy - 1, "fuzz", NULL), NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t reply[65536 + 64];
    static double now;
    if (!key)
        set_up();
    uint8_t pick = size ? data[0] : 0;
    struct sockaddr_in6 src = {.sin6_family = AF_INET6, .sin6_port = htons(pick)};
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(862)};
    src.sin6_addr.s6_addr[15] = 1;
    owp_stamp_datagram d = {
        .buf = data, .len = size, .src = (struct sockaddr *)&src, .src_len = sizeof src,
        .dst = (struct sockaddr *)&dst, .dst_len = sizeof dst, .t2 = 1, .ttl = 64,
        .tos = pick & 1 ? -1 : pick, .now = now += 0.5,
    };
    for (int i = 0; i < NMODES; i++) {
        owp_stamp_reply out = {.buf = reply, .cap = sizeof reply};
        if (reflectors[i] &&
            owp_stamp_reflector_answer(reflectors[i], &d, &out, NULL) == OWP_STAMP_REFLECTED)
            owp_stamp_reflector_seal(reflectors[i], &out, 2, 1, NULL);
    }
    owp_stamp_reflected m;
    owp_stamp_tlv_answers a;
    for (int auth = 0; auth < 2; auth++) {
        owp_mode mode = auth ? OWP_MODE_AUTH : OWP_MODE_OPEN;
        size_t base = owp_stamp_base_len(mode);
        if (owp_stamp_reflected_decode(mode, key, data, size, &m, NULL) == OWP_OK)
            owp_stamp_tlv_read_answers(data + base, size - base, key, m.seq, &a, NULL);
    }
    return 0;
}
