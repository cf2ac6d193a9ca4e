/*
 * owstats - print the statistics of saved OWAMP session files in the
 * reference owamp 5.2.3's formats (programs.md section 6), and of two-way
 * (TWAMP, STAMP) files in twping's (twpfile.h, twstats.h).
 *
 *   owstats [output options] file.owp [file.owp ...]
 *
 * Exit status: 0 on success (also with no operands, -h, --version or an
 * unknown option), 1 for a bad option value or the first file that cannot be
 * opened or read (its error names that file; the reference named the first
 * operand whichever file failed).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_opts.h"
#include "clock.h"
#include "error.h"
#include "owpfile.h"
#include "report.h"

static const char *progname = "owstats";

static void usage(FILE *out, const char *msg)
{
    tools_usage_head(out, progname, msg, "[arguments] sessionfile [sessionfile]*");
    fprintf(out, "\n");
    tools_output_usage(out);
    tools_usage_tail(out);
}

static void log_line(const char *line, const void *arg)
{
    (void)arg;
    fprintf(stderr, "%s: %s\n", progname, line);
}

/* One file: the report, or the reference's failure lines (naming the file
 * that failed, where the reference named the first operand). */
static int report_one(const char *path, const tools_output_opts *out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "%s: fopen(%s): %s\n", progname, path, strerror(errno));
        return -1;
    }
    owp_err err;
    owp_err_clear(&err);
    owp_file *f = owp_file_read_any(fp, path, &err);
    if (!f) {
        fprintf(stderr, "%s: %s\n", progname, err.msg);
        fprintf(stderr, "%s: OWPReadDataHeader: Invalid file?\n", progname);
        fprintf(stderr, "%s: do_stats() failed.\n", progname);
        fclose(fp);
        return -1;
    }
    owp_status st = owp_report_file(stdout, f, NULL, NULL, &out->report, &err);
    fflush(stdout);
    owp_file_destroy(&f);
    fclose(fp);
    if (st != OWP_OK) {
        fprintf(stderr, "%s: %s\n", progname, err.msg);
        fprintf(stderr, "%s: do_stats() failed.\n", progname);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 0 && argv[0] && *argv[0]) {
        char *copy = strdup(argv[0]);
        if (copy) {
            static char name[256];
            snprintf(name, sizeof name, "%s", basename(copy));
            progname = name;
            free(copy);
        }
    }

    tools_output_opts out;
    tools_output_opts_init(&out);
    int ch;
    /* -f, -t and -T FILE are owping's, accepted and ignored by every name. */
    while ((ch = getopt_long(argc, argv, "h" TOOLS_OUTPUT_OPTSTRING "ftT:", tools_long_options,
                             NULL)) != -1) {
        if (tools_convention_opt(ch, progname, usage) == 0) {
            tools_output_opts_clear(&out);
            return 0;
        }
        char log[512], msg[256];
        int r = tools_output_opts_parse(&out, ch, optarg, log, sizeof log, msg, sizeof msg);
        if (r < 0) {
            if (log[0])
                log_line(log, NULL);
            usage(stderr, msg);
            tools_output_opts_clear(&out);
            return 1;
        }
        if (r > 0 || ch == 'f' || ch == 't' || ch == 'T')
            continue;
        usage(stderr, ""); /* an unknown option */
        tools_output_opts_clear(&out);
        return 0;
    }
    if (tools_prog_init(progname) != 0) {
        tools_output_opts_clear(&out);
        return 1;
    }
    tools_output_opts_finish(&out, log_line, NULL);
    /* owstats does not honour -Q: the summary is printed anyway. */

    int status = 0;
    for (int i = optind; i < argc; i++) {
        if (report_one(argv[i], &out) != 0) {
            status = 1;
            break;
        }
    }
    tools_output_opts_clear(&out);
    return status;
}
