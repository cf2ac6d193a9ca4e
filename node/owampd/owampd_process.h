/*
 * owampd_process.h - owampd becoming a daemon: pid file, pid/info files,
 * detaching, the open-file limit and dropping privileges (owampd_process.c).
 * Each step logs its error and ends start-up (exit 1), as the reference.
 */
#ifndef OWAMPD_PROCESS_H
#define OWAMPD_PROCESS_H

#include <stdint.h>

#include "owampd.h"

/* VARDIR/owamp-server.pid, opened and write-locked (d->pid_path, d->pid_fd). */
void owampd_process_lock_pid_file(daemon_state *d);
/* Room for two descriptors per control session (0: leave the limit alone). */
void owampd_process_raise_fd_limit(uint32_t maxsessions);
/* Unless -Z: fork; the starting process exits with the daemon's start-up
 * status. Writes the pid and info files (d->start_time). Returns the
 * daemon's end of the start-up pipe for owampd_process_report_started, -1 with -Z. */
int owampd_process_daemonise(daemon_state *d);
/* Become d->run_uid/d->run_gid for good (only when started as root). */
void owampd_process_drop_privileges(daemon_state *d);
/* Tell the starting process that start-up succeeded (ready_fd < 0: none). */
void owampd_process_report_started(int ready_fd);

#endif
