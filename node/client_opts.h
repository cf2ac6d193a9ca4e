/*
 * client_opts.h - the output options shared by owping, owstats and owfetch
 * (programs.md section 5.3): -a -b -d -M -n -N -p -Q -R -U -v[N], parsed with
 * the reference owamp 5.2.3's wording into an owp_report_opts.
 *
 * Usage in a program's getopt loop:
 *
 *     owp_output_opts out;
 *     owp_output_opts_init(&out);
 *     while ((ch = getopt(argc, argv, "h" OWP_OUTPUT_OPTSTRING ...)) != -1) {
 *         char log[256], msg[256];
 *         int r = owp_output_opts_parse(&out, ch, optarg, log, sizeof log, msg, sizeof msg);
 *         if (r < 0) { if (*log) fprintf(stderr, "%s: %s\n", prog, log);
 *                      usage(prog, msg); exit(1); }
 *         if (r > 0) continue;
 *         ... program-specific options ...
 *     }
 *     owp_output_opts_finish(&out, warn_fn, prog);  // the "Ignoring ..." lines
 *     ... owp_report_file(stdout, f, from, to, &out.report, &err) unless out.quiet ...
 *     owp_output_opts_clear(&out);
 */
#ifndef OWP_CLIENT_OPTS_H
#define OWP_CLIENT_OPTS_H

#include <stdio.h>

#include "report.h"

/* Version printed at the end of the usage texts (the reference's). */
#define OWP_CLIENT_VERSION "5.2.3"

/* getopt letters of the output options ("v::": -v takes an attached N). */
#define OWP_OUTPUT_OPTSTRING "a:b:d:Mn:N:pQRUv::"

typedef struct owp_output_opts {
    owp_report_opts report; /* what owp_report_file needs */
    int quiet;              /* -Q (or -R): no reports (owstats ignores it) */
    double *percentiles;    /* -a values, owned; report.percentiles points here */
    char *dir;              /* -d, owned; report.files_dir points here */
} owp_output_opts;

void owp_output_opts_init(owp_output_opts *o);
void owp_output_opts_clear(owp_output_opts *o);

/* Handle one option letter. Returns 1 when handled, 0 when opt is not an
 * output option, -1 when its argument is invalid: then log holds a line to
 * log first (may be empty) and msg the message the reference passes to its
 * usage() before exiting 1 (e.g. "Invalid '-b' value. Positive float expected"). */
int owp_output_opts_parse(owp_output_opts *o, int opt, const char *arg, char *log, size_t loglen,
                          char *msg, size_t msglen);

/* Apply the interplay of -R, -Q, -M and -v after parsing: -R implies -Q;
 * -v with -Q, -M with -Q and -v with -M are dropped, each with the reference's
 * line ("Ignoring '-v', '-Q' set") passed to warn. */
void owp_output_opts_finish(owp_output_opts *o, void (*warn)(const char *line, void *arg),
                            void *arg);

/* The "[Output Args]" block of the usage texts (without the leading blank line). */
void owp_output_usage(FILE *out);

#endif
