/*
 * owfetch - fetch buffered OWAMP sessions from a server by SID, save them and
 * report them (programs.md section 7.1), as the reference owamp 5.2.3's
 * owfetch does.
 *
 *   owfetch [connection options] [output options] servhost SID savefile [SID savefile ...]
 *
 * One control connection serves every pair. Each fetch asks for the whole
 * session (records 0 .. 0xFFFFFFFF), so the server's delete_on_fetch applies;
 * the savefile is created (truncated) first, receives the fetched layout
 * (skip ranges, then records) and is removed when the fetch fails. Unless -Q
 * (or with -R) each session is reported as owstats would, host names
 * reverse-resolved from the stored addresses.
 *
 * Exit status: 1 when the control connection cannot be opened or the
 * operands are wrong; otherwise 0, even when fetches failed (a failed pair is
 * reported and the next one tried); 2 when a signal arrived, checked after
 * each pair. -h/--help: usage on stdout, exit 0; an unknown option: usage on
 * stderr, exit 0; --version: exit 0.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "client_opts.h"
#include "owpfile.h"
#include "report.h"

#define PROG "owfetch"

static volatile sig_atomic_t g_signalled;

static void on_signal(int sig)
{
    (void)sig;
    g_signalled = 1;
}

static void usage(FILE *out, const char *msg)
{
    tools_usage_head(out, PROG, msg, "[arguments] servaddr [SID savefile]+");
    fprintf(out, "\n");
    tools_conn_usage(out);
    fprintf(out, "\n");
    tools_output_usage(out);
    tools_usage_tail(out);
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return 0;
}

/* The SID operand: 32 hex digits. Like the reference, the text is not
 * validated: a non-hex digit counts as 0 and a short operand is padded with
 * zeros (the fetch of such a SID then simply fails). */
static void decode_sid(const char *text, uint8_t sid[OWP_SID_LEN])
{
    size_t n = strlen(text);
    for (size_t i = 0; i < OWP_SID_LEN; i++) {
        int hi = 2 * i < n ? hex_value((unsigned char)text[2 * i]) : 0;
        int lo = 2 * i + 1 < n ? hex_value((unsigned char)text[2 * i + 1]) : 0;
        sid[i] = (uint8_t)(hi << 4 | lo);
    }
}

/* Fetch one session into savefile; the open FILE (positioned anywhere) or
 * NULL after the reference's messages (the file is then removed). */
static FILE *fetch_sid(owp_client *client, const char *savefile, const uint8_t sid[OWP_SID_LEN])
{
    FILE *fp = tools_conn_fetch_open(PROG, savefile);
    if (fp && tools_conn_fetch(client, PROG, sid, fp, savefile) != 0)
        return NULL;
    return fp;
}

/* The report of one fetched file, as owstats prints it. */
static void report(FILE *fp, const char *savefile, const tools_output_opts *out)
{
    owp_err err;
    owp_err_clear(&err);
    rewind(fp);
    owp_file *f = owp_file_read(fp, savefile, &err);
    owp_status st = f ? owp_report_file(stdout, f, NULL, NULL, &out->report, &err) : err.code;
    fflush(stdout);
    owp_file_destroy(&f);
    if (st != OWP_OK) {
        fprintf(stderr, "%s: %s\n", PROG, err.msg);
        fprintf(stderr, "%s: do_stats() failed.\n", PROG);
    }
}

/* Parse the options; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, tools_conn_opts *conn, tools_output_opts *out)
{
    int status = tools_prog_getopt(argc, argv, conn, out, PROG, usage);
    if (status >= 0)
        return status;
    int nops = argc - optind;
    if (nops < 3 || nops % 2 == 0) {
        usage(stderr, NULL);
        return 1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    tools_prog_signals(on_signal);

    tools_conn_opts conn;
    tools_output_opts out;
    tools_conn_opts_init(&conn);
    tools_output_opts_init(&out);
    int status = parse_args(argc, argv, &conn, &out);
    if (status < 0 && tools_prog_init(PROG) != 0)
        status = 1;
    if (status >= 0) {
        tools_output_opts_clear(&out);
        return status;
    }

    const char *server = argv[optind];
    owp_client *client = tools_conn_open(&conn, PROG, server);
    if (!client) {
        tools_output_opts_clear(&out);
        return 1;
    }
    int want_report = !out.quiet || out.report.raw;
    status = 0;
    for (int i = optind + 1; i + 1 < argc; i += 2) {
        const char *sidtext = argv[i], *savefile = argv[i + 1];
        uint8_t sid[OWP_SID_LEN];
        decode_sid(sidtext, sid);
        FILE *fp = fetch_sid(client, savefile, sid);
        if (!fp) {
            fprintf(stderr, "%s: Unable to fetch sid(%s)\n", PROG, sidtext);
        } else {
            if (want_report)
                report(fp, savefile, &out);
            if (fclose(fp) != 0)
                fprintf(stderr, "%s: fclose(%s): %s\n", PROG, savefile, strerror(errno));
        }
        if (g_signalled) {
            status = 2;
            break;
        }
    }
    owp_client_close(&client);
    tools_output_opts_clear(&out);
    return status;
}
