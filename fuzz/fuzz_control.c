/* fuzz_control.c - every OWAMP-Control decoder against arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static void decode_fixed(const uint8_t *data, size_t size)
{
    uint8_t buf[OWP_SETUP_RESPONSE_LEN];
    memset(buf, 0, sizeof buf);
    memcpy(buf, data, size < sizeof buf ? size : sizeof buf);

    owp_greeting g;
    owp_setup_response sr;
    owp_server_start ss;
    owp_request req;
    owp_slot slot;
    owp_accept_session as;
    owp_fetch_session fs;
    owp_fetch_ack fa;
    uint8_t accept;
    uint32_t nsessions;

    owp_wire_decode_greeting(buf, &g, NULL);
    owp_wire_decode_setup_response(buf, &sr, NULL);
    owp_wire_decode_server_start(buf, &ss, NULL);
    memset(&req, 0, sizeof req);
    owp_wire_decode_request_preamble(buf, &req, NULL);
    owp_wire_decode_slot(buf, &slot, NULL);
    owp_wire_decode_accept_session(buf, &as, NULL);
    owp_wire_decode_start_sessions(buf, NULL);
    owp_wire_decode_start_ack(buf, &accept, NULL);
    owp_wire_decode_stop_header(buf, &accept, &nsessions, NULL);
    owp_wire_decode_fetch_session(buf, &fs, NULL);
    owp_wire_decode_fetch_ack(buf, &fa, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_fixed(data, size);

    /* Stop-Sessions is the one variable-length message: decode the exact buffer
     * and re-encode what was accepted (must not overflow). */
    owp_stop_sessions stop;
    memset(&stop, 0, sizeof stop);
    if (owp_wire_decode_stop_sessions(data, size, &stop, NULL) == OWP_OK) {
        size_t len = owp_wire_stop_sessions_len(&stop);
        uint8_t *out = len ? malloc(len) : NULL;
        if (out) {
            owp_wire_encode_stop_sessions(&stop, out);
            free(out);
        }
    }
    owp_stop_sessions_clear(&stop);
    return 0;
}
