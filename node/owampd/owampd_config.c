/*
 * owampd_config.c - owampd's configuration: options, owamp-server.conf,
 * the pass-phrase file and the limits file into daemon_state.
 *
 * Kept apart from the daemon's process code (owampd.c) because it is the one
 * place that knows the reference's option letters, file names and start-up
 * error messages; the rest of owampd only reads the daemon_state this fills.
 * Options are read in two passes around the config file, so that the command
 * line overrides the file but -c/-e/-Z take effect before it is read.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "owampd_config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_log.h"
#include "error.h"
#include "options.h"

#define OPTSTRING "a:c:d:e:fG:hP:R:S:U:vZ"
#define OPT_VERSION 256 /* --version: no short letter (the reference has none) */

/* Long options exist so that "--help" is not read as the letters -h -e lp
 * (getopt alone made that 'Invalid -e: Syslog facility "lp" unknown'). */
static const struct option long_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

void owampd_config_usage(FILE *out, const char *progname)
{
    fprintf(out, "Usage: %s [options]\n", progname);
    fprintf(out, "\nWhere \"options\" are:\n\n");
    fprintf(out,
            "   -a authmode       Default supported authmodes:[E]ncrypted,[A]uthenticated,[O]pen\n"
            "   -c confdir        Configuration directory\n"
            "   -d datadir        Data directory\n"
            "   -e facility       Syslog \"facility\" to log errors\n"
            "   -f                Allow %s to run as root\n"
            "   -G group          Run as group \"group\" :-gid also valid\n"
            "   -h, --help        Print this message and exit\n",
            progname);
    fprintf(out,
            "   -P portrange      port range for recivers to use\n"
            "   -R vardir         directory for %s.pid file\n"
            "   -S nodename:port  Srcaddr to bind to\n"
            "   -U user           Run as user \"user\" :-uid also valid\n"
            "   -v                verbose output\n"
            "   -Z                Stay in the foreground and log to stderr as well\n"
            "   --version         Print the version and exit\n"
            "\n",
            owampd_current_role->file_base);
    fprintf(out, "\nVersion: %s\n\n", OWAMP_COMPAT_VERSION);
}

void owampd_config_version(const char *progname)
{
    printf("%s (owmesh) %s, compatible with perfSONAR owamp %s\n", progname, PACKAGE_VERSION,
           OWAMP_COMPAT_VERSION);
}

/* ------------------------------------------------------------------ options */

static void copy_str(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src);
}

static void set_facility_option(daemon_state *d, const char *arg)
{
    owp_err err;
    int fac;
    if (owp_parse_facility(arg, &fac, &err) != OWP_OK) {
        log_err("Invalid -e: Syslog facility \"%s\" unknown", arg);
        exit(1);
    }
    d->conf.facility = fac;
    d->facility_from_cli = 1;
    daemon_log_set_facility(fac);
}

void owampd_config_prescan_options(daemon_state *d, int argc, char **argv)
{
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, OPTSTRING, long_options, NULL)) != -1) {
        switch (ch) {
        case 'c':
            copy_str(d->confdir, sizeof d->confdir, optarg);
            d->have_confdir = 1;
            break;
        case 'e':
            set_facility_option(d, optarg);
            break;
        case 'Z':
            d->foreground = 1;
            break;
        case 'h':
            d->help = OWAMPD_HELP_USAGE; /* before the config file: -h needs none */
            break;
        case OPT_VERSION:
            d->help = OWAMPD_HELP_VERSION;
            break;
        default:
            break;
        }
    }
    opterr = 1;
    optind = 0; /* GNU getopt: full re-initialisation for the second pass */
}

/* One option of the second pass. Returns 1 when parsing stops: -h/--help
 * and --version (d->help), or an unknown option (usage on stderr). */
static int apply_option(daemon_state *d, const char *progname, int ch, const char *arg)
{
    owp_err err;
    switch (ch) {
    case 'a':
        if ((d->role->twamp ? owp_parse_authmode_twamp(arg, &d->conf.authmodes, &err)
                            : owp_parse_authmode(arg, &d->conf.authmodes, &err)) != OWP_OK) {
            log_err("%s", err.msg);
            owampd_config_usage(stderr, progname);
            exit(1);
        }
        return 0;
    case 'c': case 'e': case 'Z':
        return 0; /* taken by the pre-scan */
    case 'd':
        copy_str(d->conf.datadir, sizeof d->conf.datadir, arg);
        return 0;
    case 'f':
        d->conf.rootfolly = 1;
        return 0;
    case 'G':
        copy_str(d->conf.group, sizeof d->conf.group, arg);
        return 0;
    case 'P':
        if (owp_parse_portrange(arg, 0, &d->conf.testports, &err) != OWP_OK) {
            log_err("%s", err.msg);
            log_err("Invalid test port range specified.");
            exit(1);
        }
        return 0;
    case 'R':
        copy_str(d->conf.vardir, sizeof d->conf.vardir, arg);
        return 0;
    case 'S':
        copy_str(d->conf.srcnode, sizeof d->conf.srcnode, arg);
        return 0;
    case 'U':
        copy_str(d->conf.user, sizeof d->conf.user, arg);
        return 0;
    case 'v':
        d->conf.verbose = 1; /* parsed, no effect (as the reference) */
        return 0;
    case 'h':
        d->help = OWAMPD_HELP_USAGE;
        return 1;
    case OPT_VERSION:
        d->help = OWAMPD_HELP_VERSION;
        return 1;
    default:
        d->help = OWAMPD_HELP_BAD_OPTION;
        return 1;
    }
}

void owampd_config_parse_options(daemon_state *d, const char *progname, int argc, char **argv)
{
    int ch;
    while ((ch = getopt_long(argc, argv, OPTSTRING, long_options, NULL)) != -1)
        if (apply_option(d, progname, ch, optarg))
            return;
    if (optind < argc) {
        owampd_config_usage(stderr, progname);
        exit(1);
    }
}

/* Relative directories are taken from where owampd was started (the daemon
 * later runs in "/"); empty means that directory itself. */
static void absolute_dir(const char *in, char *out, size_t len, const char *what)
{
    char cwd[OWAMPD_PATH_MAX];
    if (in[0] == '/') {
        copy_str(out, len, in);
        return;
    }
    if (!getcwd(cwd, sizeof cwd)) {
        log_err("getcwd: %s", strerror(errno));
        exit(1);
    }
    int n = in[0] ? snprintf(out, len, "%s/%s", cwd, in) : snprintf(out, len, "%s", cwd);
    if (n < 0 || (size_t)n >= len) {
        log_err("%s path too long: %s", what, in);
        exit(1);
    }
}

void owampd_config_absolute_dirs(daemon_state *d)
{
    absolute_dir(d->conf.datadir, d->datadir, sizeof d->datadir, "datadir");
    absolute_dir(d->conf.vardir, d->vardir, sizeof d->vardir, "vardir");
}

/* ------------------------------------------------------------------ files */

static const char *config_dir(const daemon_state *d)
{
    return d->have_confdir ? d->confdir : ".";
}

/* CONFDIR/owamp-server.BASE or CONFDIR/owampd.BASE (the manual's name).
 * Returns 1 when one exists (path names it), 0 when neither does. */
static int find_config(const daemon_state *d, const char *base, char *path, unsigned len)
{
    const char *dir = config_dir(d);
    int found = owp_server_conf_find_named(dir, d->role->manual_base, d->role->file_base, base,
                                           path, len);
    if (found < 0) {
        log_err("%s: configuration directory path too long", dir);
        exit(1);
    }
    if (found == 2)
        log_warn("Both %s/%s.%s and %s exist: using %s, ignoring %s.%s", dir,
                 d->role->manual_base, base, path, path, d->role->manual_base, base);
    return found != 0;
}

/* The reference's closing line, "PATH:N Problem parsing conffile", with the
 * line our message names (the true one; see doc/compat.md). */
static void log_conf_problem(const char *path, const char *msg)
{
    size_t n = strlen(path);
    unsigned long line = 0;
    if (strncmp(msg, path, n) == 0 && msg[n] == ':')
        line = strtoul(msg + n + 1, NULL, 10);
    if (line)
        log_err("%s:%lu Problem parsing conffile", path, line);
    else
        log_err("%s Problem parsing conffile", path);
}

void owampd_config_load_conf_file(daemon_state *d)
{
    int facility = d->conf.facility;
    char path[OWAMPD_PATH_MAX + 64];
    if (!find_config(d, "conf", path, sizeof path)) {
        if (d->have_confdir) {
            const char *dir = config_dir(d);
            log_err("Unable to open %s/%s.conf (or %s/%s.conf): %s", dir, d->role->file_base,
                    dir, d->role->manual_base,
                    strerror(ENOENT));
            exit(1);
        }
        return;
    }
    owp_err err;
    if (owp_server_conf_load(&d->conf, path, &err) != OWP_OK) {
        log_err("%s", err.msg);
        log_conf_problem(path, err.msg);
        exit(1);
    }
    if (d->facility_from_cli)
        d->conf.facility = facility;
    daemon_log_set_facility(d->conf.facility);
    daemon_log_set_level(d->conf.loglevel);
    daemon_log_location(d->conf.loglocation);
}

/* The reference's words for a pfs or limits file it cannot use. */
static _Noreturn void policy_init_failed(const owp_err *err)
{
    log_err("%s", err->msg);
    log_err("PolicyInit failed. Exiting...");
    exit(1);
}

void owampd_config_load_pfs(daemon_state *d)
{
    char path[OWAMPD_PATH_MAX + 64];
    owp_err err;
    if (!find_config(d, "pfs", path, sizeof path)) {
        d->pfs = owp_pfs_new();
    } else {
        d->pfs = owp_pfs_load(path, &err);
        if (!d->pfs)
            policy_init_failed(&err);
    }
    if (!d->pfs) {
        log_err("out of memory");
        exit(1);
    }
}

/* A user without a pass-phrase stops start-up, naming PATH:LINE. The
 * ledger lives in the master only (the resource broker, owampd_broker.c). */
void owampd_config_load_limits(daemon_state *d)
{
    char path[OWAMPD_PATH_MAX + 64];
    owp_err err;
    find_config(d, "limits", path, sizeof path);
    d->limits = owp_limits_load(path, d->pfs, &err);
    if (!d->limits)
        policy_init_failed(&err);
    const char *warning = owp_limits_warning(d->limits);
    if (warning)
        log_warn("%s", warning);
    d->ledger = owp_limits_ledger_new(d->limits, d->conf.diskfudge, &err);
    if (!d->ledger)
        policy_init_failed(&err);
}

/* ------------------------------------------------------------------ run-as user */

/* "name" or "-ID". */
static int resolve_id(const char *text, int is_group, unsigned long *id)
{
    if (is_group) {
        struct group *gr = getgrnam(text);
        if (gr) {
            *id = gr->gr_gid;
            return 1;
        }
    } else {
        struct passwd *pw = getpwnam(text);
        if (pw) {
            *id = pw->pw_uid;
            return 1;
        }
    }
    if (text[0] == '-' && text[1]) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(text + 1, &end, 10);
        if (!errno && *end == '\0') {
            *id = v;
            return 1;
        }
    }
    return 0;
}

/* -U: the user and, by default, its primary group. */
static void resolve_run_user(daemon_state *d)
{
    unsigned long id;
    if (!resolve_id(d->conf.user, 0, &id)) {
        log_err("Invalid user/-U option: %s", d->conf.user);
        exit(1);
    }
    d->run_uid = (uid_t)id;
    d->drop_uid = id != 0;
    struct passwd *pw = getpwuid(d->run_uid);
    if (pw) {
        d->run_gid = pw->pw_gid;
        d->drop_gid = 1;
    }
}

/* -G: a group other than root, overriding the user's. */
static void resolve_run_group(daemon_state *d)
{
    unsigned long id;
    if (!resolve_id(d->conf.group, 1, &id) || id == 0) {
        log_err("Invalid user/-G option: %s", d->conf.group);
        exit(1);
    }
    d->run_gid = (gid_t)id;
    d->drop_gid = 1;
}

void owampd_config_resolve_run_as(daemon_state *d, const char *progname)
{
    if (geteuid() != 0)
        return; /* -U/-G only matter when started as root */
    if (d->conf.user[0])
        resolve_run_user(d);
    if (!d->drop_uid && !d->conf.rootfolly) {
        log_err("Running %s as root is folly!", progname);
        log_err("Use the -U option! (or allow root with the -f option)");
        exit(1);
    }
    if (d->conf.group[0])
        resolve_run_group(d);
}
