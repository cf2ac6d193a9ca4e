/*
 * owampd_broker.h - owampd's resource broker (programs.md section 1): the
 * master owns the one owp_limits_ledger; every connection child asks it,
 * over its own SOCK_SEQPACKET socketpair, for each session's bandwidth/disk
 * grant and gives the grant back when the session ends.
 *
 * Master side: owampd_broker_serve answers one message without ever blocking;
 * owampd_broker_drop releases everything a child held. Child side: the policy hooks
 * of owp_server (owampd_broker_policy_hooks), which ask one blocking question at a
 * time on d->owampd_broker_fd.
 */
#ifndef OWAMPD_BROKER_H
#define OWAMPD_BROKER_H

#include <stdint.h>

#include "owampd.h"

/* ---- master side */

/* An owp_server_stored_fn (arg: the owp_limits_ledger): a session file kept
 * by an earlier run is charged to its class; 1 leaves a file of no class
 * unserved. */
int owampd_broker_charge_stored_file(void *ledger, const char *class_path, const char *path,
                              uint64_t size);
/* After the stored files are charged: warn of classes over their disk limit. */
void owampd_broker_warn_over_disk_limit(const owp_limits *limits, const owp_limits_ledger *ledger);

/* One message from ch, whose channel poll found readable; a malformed
 * message, a closed channel or a failed reply drops the child. A
 * BROKER_OPEN (the set-up is done) clears ch->in_setup. */
void owampd_broker_serve(const owp_limits *limits, owp_limits_ledger *ledger, child *ch);
/* Stop listening to ch: every grant it holds is released, its channel closed. */
void owampd_broker_drop(owp_limits_ledger *ledger, child *ch);

/* ---- child side */

/* Fill policy's hooks; they read d->limits and ask on d->owampd_broker_fd (set in
 * the child after fork). d must outlive the server. */
void owampd_broker_policy_hooks(owp_server_policy *policy, daemon_state *d);

#endif
