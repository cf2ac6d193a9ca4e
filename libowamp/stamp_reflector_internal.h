/*
 * stamp_reflector_internal.h - what the two files of the STAMP reflector
 * share (stamp_reflector.c the engine, stamp_reflector_io.c its socket
 * side): the engine's state. Not installed.
 */
#ifndef OWP_STAMP_REFLECTOR_INTERNAL_H
#define OWP_STAMP_REFLECTOR_INTERNAL_H

#include "stamp_policy.h"
#include "stamp_reflector.h"
#include "stamp_table.h"

/* Datagram buffers: the largest UDP payload, and room for the growth a
 * policy may allow an answer. */
#define OWP_STAMP_IO_BUF 65536
#define OWP_STAMP_GROWTH_ROOM 64

/* One sender's session (address, port, SSID). */
typedef struct owp_stamp_session {
    uint32_t next_seq;  /* stateful: the next answer's sequence number */
    uint32_t rx, tx;    /* packets received, answers sealed */
    int have_last;      /* the last answer: Follow-Up Telemetry */
    uint32_t last_seq;
    owp_num64 last_time;
} owp_stamp_session;

struct owp_stamp_reflector {
    owp_stamp_reflector_config cfg;
    owp_stamp_policy *policy;
    owp_stamp_limiter *limiter;
    owp_stamp_table *sessions;
    double last_sweep;
    owp_stamp_counters counters;
    owp_stamp_session scratch;   /* stateless mode when the table is full */
    owp_stamp_session *pending;  /* the answer between answer and seal */
    uint32_t pending_seq;
    uint8_t *rx, *tx;            /* the socket side's buffers */
};

#endif
