/*
 * client_opts.h - the options the client programs share, with the reference
 * owamp 5.2.3's wording: the output options of owping, owstats and owfetch
 * (programs.md section 5.3: -a -b -d -M -n -N -p -Q -R -U -v[N], parsed into
 * an owp_report_opts) and the connection options of owping, owfetch and owup
 * (section 5.2: -4 -6 -A -B -k -S -u; powstream's too), and the steps the
 * client programs share (clock, signals, fetching a session to a file).
 *
 * Usage in a program's getopt loop:
 *
 *     tools_output_opts out;
 *     tools_output_opts_init(&out);
 *     while ((ch = getopt(argc, argv, "h" TOOLS_OUTPUT_OPTSTRING ...)) != -1) {
 *         char log[256], msg[256];
 *         int r = tools_output_opts_parse(&out, ch, optarg, log, sizeof log, msg, sizeof msg);
 *         if (r < 0) { if (*log) fprintf(stderr, "%s: %s\n", prog, log);
 *                      usage(prog, msg); exit(1); }
 *         if (r > 0) continue;
 *         ... program-specific options ...
 *     }
 *     tools_output_opts_finish(&out, warn_fn, prog);  // the "Ignoring ..." lines
 *     ... owp_report_file(stdout, f, from, to, &out.report, &err) unless out.quiet ...
 *     tools_output_opts_clear(&out);
 */
#ifndef TOOLS_CLIENT_OPTS_H
#define TOOLS_CLIENT_OPTS_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"
#include "report.h"

/* getopt letters of the output options ("v::": -v takes an attached N). */
#define TOOLS_OUTPUT_OPTSTRING "a:b:d:Mn:N:pQRUv::"

typedef struct tools_output_opts {
    owp_report_opts report; /* what owp_report_file needs */
    int quiet;              /* -Q (or -R): no reports (owstats ignores it) */
    double *percentiles;    /* -a values, owned; report.percentiles points here */
    char *dir;              /* -d, owned; report.files_dir points here */
} tools_output_opts;

void tools_output_opts_init(tools_output_opts *o);
void tools_output_opts_clear(tools_output_opts *o);

/* Handle one option letter. Returns 1 when handled, 0 when opt is not an
 * output option, -1 when its argument is invalid: then log holds a line to
 * log first (may be empty) and msg the message the reference passes to its
 * usage() before exiting 1 (e.g. "Invalid '-b' value. Positive float expected"). */
int tools_output_opts_parse(tools_output_opts *o, int opt, const char *arg, char *log, size_t loglen,
                          char *msg, size_t msglen);

/* Apply the interplay of -R, -Q, -M and -v after parsing: -R implies -Q;
 * -v with -Q, -M with -Q and -v with -M are dropped, each with the reference's
 * line ("Ignoring '-v', '-Q' set") passed to warn. */
void tools_output_opts_finish(tools_output_opts *o,
                              void (*warn)(const char *line, const void *arg), const void *arg);

/* The "[Output Args]" block of the usage texts (without the leading blank line). */
void tools_output_usage(FILE *out);

/* ------------------------------------------------------------------------
 * Connection options shared by owping, owfetch and owup (programs.md 5.2):
 * -4 -6 -A -B -k -S -u, and opening the control connection with them.
 */

/* getopt letters of the connection options. */
#define TOOLS_CONN_OPTSTRING "46A:B:k:S:u:"
/* owping's direction letters: every client name accepts them (programs.md 0). */
#define TOOLS_DIRECTION_OPTSTRING "ftT:"

/* Pass-phrases longer than this are refused (the reference reads lines of any
 * length; nobody types a kilobyte). */
#define TOOLS_CONN_PASSPHRASE_MAX 1024

typedef struct tools_conn_opts {
    int v4only, v6only;     /* -4, -6 */
    uint32_t modes;         /* -A as owp_mode bits */
    int modes_set;
    const char *bind_device;/* -B (points into argv) */
    const char *pfs_file;   /* -k */
    const char *src_addr;   /* -S */
    const char *identity;   /* -u */
    int twamp;              /* set by twping before parsing: -A takes M, port 862 */
} tools_conn_opts;

void tools_conn_opts_init(tools_conn_opts *o);

/* Handle one option letter, same contract as tools_output_opts_parse: 1 handled,
 * 0 not a connection option, -1 invalid (log: line to log first, may be
 * empty; msg: the usage() message, may be empty for a bare usage). */
int tools_conn_opts_parse(tools_conn_opts *o, int opt, const char *arg, char *log, size_t loglen,
                        char *msg, size_t msglen);

/* After parsing: -4 together with -6 is an error (-1, log holds the line;
 * the reference exits 1 without the usage text). Returns 0 otherwise. */
int tools_conn_opts_finish(const tools_conn_opts *o, char *log, size_t loglen);

/* Address family the options ask for: AF_INET, AF_INET6 or AF_UNSPEC. */
int tools_conn_opts_family(const tools_conn_opts *o);

/* Open the control connection to server as the reference's clients do: the
 * pass-phrase for -u comes from -k (an unreadable file drops the identity,
 * leaving open mode) or from a prompt on the terminal; modes default to A, E
 * and O with an identity, O alone without. Diagnostics go to stderr as
 * "prog: message", ending with "Unable to open control connection to SERVER."
 * on failure (then NULL is returned). A missing identity in the -k file is
 * fatal here (the reference goes on with an uninitialised pass-phrase). */
owp_client *tools_conn_open(tools_conn_opts *o, const char *prog, const char *server);

/* The "[Connection Args]" block of the usage texts. */
void tools_conn_usage(FILE *out);

/* ------------------------------------------------------------------------
 * The conventions every program of node/tools follows on top of the
 * reference's options: -h and --help print the usage on stdout and exit 0,
 * before anything else (no clock warning); --version prints the version and
 * exits 0. An unknown option still prints the usage on stderr and exits 0,
 * as the reference does.
 */

/* A program's usage text, on out (stdout for -h, stderr otherwise); msg as
 * the reference passes it to its usage(): NULL for none, "" for "prog: ". */
typedef void (*tools_usage_fn)(FILE *out, const char *msg);

/* getopt_long's value for --version (--help gives 'h'). */
#define TOOLS_OPT_VERSION 0x100
/* The long options: {"help", 'h'}, {"version", TOOLS_OPT_VERSION}, end. */
extern const struct option tools_long_options[];

/* "PROG (owmesh) PACKAGE_VERSION" and the owamp release it replaces. */
void tools_print_version(FILE *out, const char *prog);

/* For getopt_long's result ch: -h/--help (usage on stdout) and --version
 * are answered here. Returns 0 when ch was one of them (exit 0), -1 else. */
int tools_convention_opt(int ch, const char *prog, tools_usage_fn usage);

/* ------------------------------------------------------------------------
 * Steps every client program takes, with the reference's messages on stderr
 * as "prog: message".
 */

/* The clock (owp_clock_init) and its warning, if any. 0, or 1 after
 * "Unable to initialize OWP library." (the exit status). Called once the
 * options are parsed, so that -h and --version print nothing else. */
int tools_prog_init(const char *prog);

/* SIGINT, SIGTERM and SIGHUP to handler (left alone when NULL); SIGPIPE ignored. */
void tools_prog_signals(void (*handler)(int));

/* One getopt letter offered to the connection options, then (out not NULL)
 * to the output options. 1 handled, 0 neither's (-h, an unknown option or
 * the program's own); -1 invalid: "prog: LOG" was printed when there is a
 * line to log, then usage(msg) with the reference's message or NULL, and the
 * caller exits 1. */
int tools_prog_parse_opt(tools_conn_opts *conn, tools_output_opts *out, int opt, const char *arg,
                       const char *prog, tools_usage_fn usage);

/* After the getopt loop: tools_conn_opts_finish (-1 after printing its line:
 * exit 1) and, out not NULL, tools_output_opts_finish with its "Ignoring ..."
 * lines printed. 0 to go on. */
int tools_prog_finish_opts(const tools_conn_opts *conn, tools_output_opts *out, const char *prog);

/* The whole getopt loop of a program with no options of its own (owfetch,
 * owup): the connection options, the output options when out is not NULL,
 * owping's direction letters (ignored), the conventions, then
 * tools_prog_finish_opts. -1 to go on with the operands at optind; else the
 * exit status: 0 after the usage for -h/--help (stdout) or an unknown option
 * (stderr) or after --version, 1 after an invalid option. */
int tools_prog_getopt(int argc, char **argv, tools_conn_opts *conn, tools_output_opts *out,
                    const char *prog, tools_usage_fn usage);

/* An anonymous (already unlinked) "w+b" file in $TMPDIR (/tmp), or NULL
 * after a message. */
FILE *tools_prog_tmpfile(const char *prog);

/* The file a fetched session goes to: savefile, created or truncated, or an
 * anonymous temporary file when savefile is NULL; NULL after a message
 * ("owp_fetch_sid:fopen(FILE): ERROR"). */
FILE *tools_conn_fetch_open(const char *prog, const char *savefile);

/* Fetch the whole session sid into fp (from tools_conn_fetch_open). 0 on
 * success; -1 after the reference's message (a refusal is "owp_fetch_sid:
 * Server denied request for to session data - ..."), fp closed and savefile
 * (when not NULL) removed. */
int tools_conn_fetch(owp_client *client, const char *prog, const uint8_t sid[OWP_SID_LEN], FILE *fp,
                   const char *savefile);

/* ------------------------------------------------------------------------
 * Test options shared by owping and twping (programs.md 5.1): -c -D -i -L
 * -P -s -z, and the getopt loop of a program that runs a test.
 */

/* getopt letters of the shared test options. */
#define TOOLS_TEST_OPTSTRING "c:D:i:L:P:s:z:"
/* -s above this is cut down to it, as the reference does. */
#define TOOLS_TEST_MAX_PADDING 65000

typedef struct tools_test_opts {
    uint32_t count;        /* -c: 100 */
    int dscp;              /* -D: -1 unset */
    int dscp_once;         /* set by owping before parsing: a -D after a non-zero one is refused */
    int dscp_set_nonzero;
    owp_slot *slots;       /* -i, owned: "0.1e" unless given */
    uint32_t nslots;
    double loss_timeout;   /* -L: 0 for RTT + 2 s */
    owp_portrange ports;   /* -P: 8760-9960 */
    uint32_t padding;      /* -s */
    int padding_set;
    double delay_start;    /* -z */
} tools_test_opts;

/* The defaults. -1 after usage(stderr, message) when they do not parse. */
int tools_test_opts_init(tools_test_opts *o, tools_usage_fn usage);
void tools_test_opts_clear(tools_test_opts *o);

/* Handle one option letter: 1 handled, 0 not a test option, -1 invalid after
 * the reference's diagnostics ("prog: line" and/or usage(stderr, message));
 * the caller exits 1. */
int tools_test_opts_parse(tools_test_opts *o, int opt, const char *arg, const char *prog,
                          tools_usage_fn usage);

/* A non-negative float option (-E, -L, -z): 0, or -1 after usage(stderr,
 * "Invalid '-L' value. Positive float expected"). */
int tools_parse_nonneg(const char *text, char letter, double *value, tools_usage_fn usage);

/* A program's own option letter: 1 handled, 0 not its own, -1 invalid
 * (already reported; the program exits 1). */
typedef int (*tools_own_opt_fn)(void *ctx, int opt, const char *arg);

/* The whole getopt loop of a program that runs a test (owping, twping), on
 * options already initialised: the conventions, the program's own letters
 * (own), the test, connection and output options, then
 * tools_prog_finish_opts and the default schedule. optstring lists them all.
 * -1 to go on with the operands at optind; else the exit status, as
 * tools_prog_getopt. */
int tools_test_prog_getopt(int argc, char **argv, const char *optstring, tools_own_opt_fn own,
                           void *ctx, tools_test_opts *test, tools_conn_opts *conn,
                           tools_output_opts *out, const char *prog, tools_usage_fn usage);

/* "prog: " and the formatted line on stderr. */
void tools_errmsg(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first lines of every client usage text: "prog: msg" when msg is not
 * NULL (the reference prints "prog: " for -h), "usage: prog operands",
 * "[arguments] are as follows: ", and the -h line. */
void tools_usage_head(FILE *out, const char *prog, const char *msg, const char *operands);
/* The closing "Version: ..." lines. */
void tools_usage_tail(FILE *out);

#endif
