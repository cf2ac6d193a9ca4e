/*
 * agent_store.h - what the node agent keeps on disk across restarts: its
 * last accepted schedule, and small files written so that a crash at any
 * moment leaves either the old or the new content, never a mix.
 *
 * The schedule is stored as the encoded protobuf Envelope (mesh/meshmsg.h,
 * with its protocol version), so loading it goes through the same validating
 * decoder as a schedule off the wire: a damaged or foreign file is refused
 * with a message naming the file, never half-used.
 *
 * The heartbeat ("alive" file) says until when the agent ran: rewritten
 * every few seconds and at a clean stop, read once at start-up, so the time
 * the node was down is known (and recorded as unmeasured, "node down").
 */
#ifndef OWM_AGENT_STORE_H
#define OWM_AGENT_STORE_H

#include <stddef.h>

#include "error.h"
#include "meshtypes.h"
#include "timestamp.h"

/* Write data to path atomically and durably: PATH.tmp, fsync, rename over
 * path, fsync of the directory. OWP_ERR_SYS naming the file. */
owp_status agent_store_write_file(const char *path, const void *data, size_t len, owp_err *err);

/* The same through the temporary file tmp; durable 0 skips both fsyncs
 * (still atomic: a reader sees the old or the new content). */
owp_status agent_store_write_via(const char *path, const char *tmp, const void *data, size_t len,
                                 int durable, owp_err *err);

/* Encode schedule (inside an Envelope of our version) and write it to path. */
owp_status agent_store_save_schedule(const char *path, const owm_msg_schedule *schedule,
                                     owp_err *err);

/* Read a schedule saved by agent_store_save_schedule. *out is the decoded
 * envelope (owm_msg_free; its body is a Schedule) or NULL when path does not
 * exist (OWP_OK: a node that never had a schedule). Errors: OWP_ERR_SYS
 * (unreadable), OWP_ERR_FORMAT / OWP_ERR_PROTO (damaged, another protocol
 * version, not a Schedule), each naming path. */
owp_status agent_store_load_schedule(const char *path, owm_msg **out, owp_err *err);

/* The heartbeat: "owmesh-node-alive T\n", T an OWAMP timestamp in decimal,
 * replaced atomically (PATH.tmp and rename; not synced to disk: after a
 * power loss an older time only makes the recorded outage longer). */
owp_status agent_store_save_alive(const char *path, owp_num64 t, owp_err *err);

/* *t from a heartbeat file, or 0 when path does not exist (OWP_OK: a node
 * that never ran). OWP_ERR_FORMAT naming path when it holds anything else. */
owp_status agent_store_load_alive(const char *path, owp_num64 *t, owp_err *err);

/* Move a damaged file aside to PATH.corrupt (replacing an older one), so the
 * next start does not trip on it again and an operator can look at it. */
owp_status agent_store_set_aside(const char *path, owp_err *err);

#endif
