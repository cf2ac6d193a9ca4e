/*
 * report.h - session reports in the reference's formats
 * (owp-file-format.md §8, programs.md §5.5): the default summary, -M machine
 * format, -R raw records, -v per-record lines, -N sub-session summaries;
 * and one -M block by itself, for the .sum files of powstream's stream
 * engine (stream.h). Statistics come from stats.h.
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

/* -n: the factor that turns seconds into units ('n', 'u', 's'; else
 * milliseconds) and its label ("ns", "us", "" for seconds as the reference,
 * "ms"). */
double owp_report_unit_scale(char units, const char **label);

/* "%.3g" of v * scale into buf, or "nan" when !defined; returns buf. */
const char *owp_report_value(char *buf, size_t len, int defined, double v, double scale);

/* Print the report(s) of one session file (-R: the raw records instead).
 * Summaries use the reference's arithmetic except the human-readable median,
 * jitter and -a percentiles, which are exact nearest-rank percentiles of the
 * first copies (owdstat.h; doc/statistics.md, doc/compat.md). -M, .sum and -R
 * are the reference's byte for byte. from_host/to_host are the names
 * to show; NULL means reverse-resolve the stored addresses (owstats).
 * A two-way file (owp_file_read_any) gets twping's formats (twstats.h). */
owp_status owp_report_file(FILE *out, owp_file *f, const char *from_host, const char *to_host,
                           const owp_report_opts *o, owp_err *err);

/* SESSION_FINISHED as the file says (its Finished field is normal: 1). */
#define OWP_REPORT_FINISHED_FILE (-1)

/* Print the -M summary of ONE block of a session file: what a .sum file
 * holds (powstream's whole-session and -N sub-session summaries). The blocks
 * are owp_report_file's with -M and o->sub_count (0: one block, the whole
 * session); block counts from 0. The bytes are those of that block in
 * owp_report_file's -M output, except SESSION_FINISHED, which is `finished`
 * (0 or 1: a summary taken from a file still being written says 0) or, with
 * OWP_REPORT_FINISHED_FILE, the file's own. Of o, only bucket_width,
 * sub_count and unix_times matter (-R, -v, -p do not apply). from_host and
 * to_host as for owp_report_file. A block past the last one is an error
 * (OWP_ERR_FORMAT); nothing is printed on error. */
owp_status owp_report_summary_block(FILE *out, owp_file *f, const char *from_host,
                                    const char *to_host, const owp_report_opts *o,
                                    uint32_t block, int finished, owp_err *err);

#endif
