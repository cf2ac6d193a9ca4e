/*
 * owampd_config.h - owampd's configuration: command-line options,
 * owamp-server.conf (or owampd.conf), the pass-phrase file and the limits
 * file, read into daemon_state at start-up (programs.md section 1).
 *
 * Every function here runs before the daemon serves anything; an error is
 * logged and ends start-up (exit 1), as the reference does. main() calls them
 * in the order start-up needs (owampd.c).
 */
#ifndef OWAMPD_CONFIG_H
#define OWAMPD_CONFIG_H

#include "owampd.h"

#include <stdio.h>

/* The -h text: on stdout for -h/--help, on stderr after a bad option. */
void owampd_config_usage(FILE *out, const char *progname);
/* The --version line on stdout: our version and the reference's we replace. */
void owampd_config_version(const char *progname);

/* -c, -e and -Z first: -c says where the config file is, -e and -Z decide
 * where the errors of everything else go. -h/--help and --version set
 * d->help here, so that they need no config file. */
void owampd_config_prescan_options(daemon_state *d, int argc, char **argv);
/* CONFDIR/owamp-server.conf (or owampd.conf); none is fine without -c. */
void owampd_config_load_conf_file(daemon_state *d);
/* The other options, overriding the file; -h, --version and a bad option
 * set d->help (OWAMPD_HELP_*) and stop the parse. */
void owampd_config_parse_options(daemon_state *d, const char *progname, int argc, char **argv);
/* d->datadir and d->vardir: conf.datadir and conf.vardir made absolute. */
void owampd_config_absolute_dirs(daemon_state *d);
/* The pass-phrase file (none: no identities). */
void owampd_config_load_pfs(daemon_state *d);
/* The limits file (read after the pfs file: it names its identities) and
 * the ledger that grants resources against it. */
void owampd_config_load_limits(daemon_state *d);
/* -U/-G when started as root: the ids to run as (d->run_uid...). */
void owampd_config_resolve_run_as(daemon_state *d, const char *progname);

#endif
