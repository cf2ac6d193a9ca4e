/*
 * stping_report.h - stping's -T list and its report: twping's (twstats.h),
 * headed "stping statistics", then in the human summary what the
 * reflector's TLVs said.
 */
#ifndef STPING_REPORT_H
#define STPING_REPORT_H

#include <stdio.h>

#include "error.h"
#include "report.h"
#include "stamp_client.h"
#include "stamp_tlv.h"

/* "pad=N,location,timestamp,cos[=DSCP],direct,access=ID[:CODE],follow-up,hmac"
 * (each may be abbreviated to its first letters: loc, ts, follow) into r. */
owp_status stping_parse_tlvs(const char *list, owp_stamp_tlv_request *r, owp_err *err);

/* The report of c's records in ro's format to out (operand: the host as
 * typed, for the header). 0, or 1 after a message on stderr. */
int stping_report(FILE *out, const owp_stamp_client *c, const owp_report_opts *ro,
                  const char *operand, const char *prog);

#endif
