/*
 * report.h - session reports in the reference's formats
 * (owp-file-format.md §8, programs.md §5.5): the default summary, -M machine
 * format, -R raw records, -v per-record lines, -N sub-session summaries.
 * Statistics come from stats.h.
 */
#ifndef OWP_REPORT_H
#define OWP_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "owpfile.h"

typedef struct owp_report_opts {
    double bucket_width;      /* -b, seconds (default 0.0001) */
    char units;               /* -n: 'n', 'u', 'm' (default) or 's' */
    uint32_t sub_count;       /* -N: packets per summary; 0 = whole session */
    int machine;              /* -M */
    int raw;                  /* -R */
    int verbose;              /* -v */
    uint32_t verbose_max;     /* -vN: read only the first N records (0 = all) */
    int unix_times;           /* -U */
    const double *percentiles;/* -a, in percent (50 = median) */
    unsigned npercentiles;
    int print_files;          /* -p: each block to DIR/START_END.txt|.sum, names on out */
    const char *files_dir;    /* -d: directory for -p files (NULL = current directory) */
} owp_report_opts;

void owp_report_opts_default(owp_report_opts *o);

/* Print the report(s) of one session file (-R: the raw records instead).
 * Summaries use the reference's arithmetic except the human-readable median,
 * jitter and -a percentiles, which are exact nearest-rank percentiles of the
 * first copies (owdstat.h; doc/statistics.md, doc/compat.md). -M, .sum and -R
 * are the reference's byte for byte. from_host/to_host are the names
 * to show; NULL means reverse-resolve the stored addresses (owstats). */
owp_status owp_report_file(FILE *out, owp_file *f, const char *from_host, const char *to_host,
                           const owp_report_opts *o, owp_err *err);

#endif
