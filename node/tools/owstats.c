/*
 * owstats - print the statistics of saved OWAMP session files in the
 * reference owamp 5.2.3's formats (programs.md section 6).
 *
 *   owstats [output options] file.owp [file.owp ...]
 *
 * Exit status: 0 on success (also with no operands, -h or an unknown option),
 * 1 for a bad option value or the first file that cannot be opened or read.
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

static void usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "%s: %s\n", progname, msg);
    fprintf(stderr, "usage: %s %s\n%s\n", progname, "[arguments] sessionfile [sessionfile]*",
            "[arguments] are as follows: ");
    fprintf(stderr, "\n%s\n", "   -h             print this message and exit");
    fprintf(stderr, "\n");
    tools_output_usage(stderr);
    fprintf(stderr, "\nVersion: %s\n\n", OWAMP_COMPAT_VERSION);
}

static void log_line(const char *line, const void *arg)
{
    (void)arg;
    fprintf(stderr, "%s: %s\n", progname, line);
}

/* One file: the report, or the reference's failure lines. */
static int report_one(const char *path, const char *first_operand, const tools_output_opts *out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        /* The reference names the first operand here, whichever file failed. */
        fprintf(stderr, "%s: fopen(%s): %s\n", progname, first_operand, strerror(errno));
        return -1;
    }
    owp_err err;
    owp_err_clear(&err);
    owp_file *f = owp_file_read(fp, path, &err);
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

    if (tools_prog_init(progname) != 0)
        return 1;

    tools_output_opts out;
    tools_output_opts_init(&out);
    int ch;
    /* -f, -t and -T FILE are owping's, accepted and ignored by every name. */
    while ((ch = getopt(argc, argv, "h" TOOLS_OUTPUT_OPTSTRING "ftT:")) != -1) {
        char log[512], msg[256];
        int r = tools_output_opts_parse(&out, ch, optarg, log, sizeof log, msg, sizeof msg);
        if (r < 0) {
            if (log[0])
                log_line(log, NULL);
            usage(msg);
            tools_output_opts_clear(&out);
            return 1;
        }
        if (r > 0 || ch == 'f' || ch == 't' || ch == 'T')
            continue;
        usage(""); /* -h or an unknown option */
        tools_output_opts_clear(&out);
        return 0;
    }
    tools_output_opts_finish(&out, log_line, NULL);
    /* owstats does not honour -Q: the summary is printed anyway. */

    int status = 0;
    for (int i = optind; i < argc; i++) {
        if (report_one(argv[i], argv[optind], &out) != 0) {
            status = 1;
            break;
        }
    }
    tools_output_opts_clear(&out);
    return status;
}
