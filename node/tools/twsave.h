/*
 * twsave.h - -F for the two-way programs (twping, stping): the session's
 * records saved as the reference twping's two-way file (libowamp
 * twpfile.h), which owstats reads. The file is begun before the test (a path
 * that cannot be written fails first), committed after it (written under a
 * temporary name and renamed into place when whole), and a signal that ends
 * the run unlinks the temporary file: no file at the path ever claims a
 * session it does not hold.
 */
#ifndef TOOLS_TWSAVE_H
#define TOOLS_TWSAVE_H

#include <stdint.h>

#include "owamp.h"
#include "twpfile.h"

/* NULL without a path; on failure prints "PROG: -F ..." and exits 1. */
owp_twp_save *tools_twsave_begin(const char *prog, const char *path);
/* Saves the records; 0, or 1 after printing why. */
int tools_twsave_commit(const char *prog, owp_twp_save **save, const owp_request *req,
                        const owp_tw_record *records, uint32_t n);
/* Nothing to save (set-up or the test failed): the temporary file goes. */
void tools_twsave_abort(owp_twp_save **save);
/* For a signal handler about to _exit: unlinks the temporary file
 * (async-signal-safe). */
void tools_twsave_on_exit_signal(void);

#endif
