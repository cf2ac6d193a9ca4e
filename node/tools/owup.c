/*
 * owup - ask an OWAMP server how long it has been up (programs.md section 7.2),
 * as the reference owamp 5.2.3's owup does.
 *
 *   owup [connection options] servhost
 *
 * Opens a control connection (authenticating with -u), closes it at once and
 * prints on stderr the Start-Time of the server's Server-Start message:
 *   Server Up Since: 2026-11-23T07:44:18.312UTC
 * in local time (TZ) with the %Z zone abbreviation. Nothing goes to stdout.
 * Exit status: 0; 1 on connection failure or a wrong operand count; 0 after
 * -h/--help (usage on stdout), --version or an unknown option (usage on
 * stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "client_opts.h"
#include "timestamp.h"

#define PROG "owup"

static void usage(FILE *out, const char *msg)
{
    tools_usage_head(out, PROG, msg, "[arguments] servaddr");
    fprintf(out, "\n");
    tools_conn_usage(out);
    tools_usage_tail(out);
}

/* "Server Up Since: YYYY-MM-DDTHH:MM:SS.mmmZONE": milliseconds truncated from
 * the microseconds, as the reference converts the timestamp to a timeval. */
static int print_up_since(owp_num64 start)
{
    struct timeval tv;
    owp_ntp_to_timeval(start, &tv);
    time_t secs = tv.tv_sec;
    struct tm tm;
    if (!localtime_r(&secs, &tm)) {
        fprintf(stderr, "%s: Unable to convert time_t to struct tm.\n", PROG);
        return 1;
    }
    char date[64], zone[64];
    if (strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        fprintf(stderr, "%s: Unable to convert time_t to struct tm.\n", PROG);
        return 1;
    }
    if (strftime(zone, sizeof zone, "%Z", &tm) == 0)
        zone[0] = '\0'; /* a zone without an abbreviation */
    fprintf(stderr, "Server Up Since: %s.%03ld%s\n", date, (long)(tv.tv_usec / 1000), zone);
    return 0;
}

int main(int argc, char **argv)
{
    tools_prog_signals(NULL);

    tools_conn_opts conn;
    tools_conn_opts_init(&conn);
    int status = tools_prog_getopt(argc, argv, &conn, NULL, PROG, usage);
    if (status >= 0)
        return status;
    if (argc - optind != 1) {
        usage(stderr, NULL);
        return 1;
    }
    if (tools_prog_init(PROG) != 0)
        return 1;

    owp_client *client = tools_conn_open(&conn, PROG, argv[optind]);
    if (!client)
        return 1;
    owp_num64 start = owp_client_server_start(client);
    owp_client_close(&client);
    return print_up_since(start);
}
