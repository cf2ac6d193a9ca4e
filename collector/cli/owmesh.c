/*
 * owmesh - the analyst's command line (owmesh(1)): a dispatcher over one
 * file per command (collector/cmd_NAME.c).
 */
#include <stdio.h>
#include <string.h>

#include "analyst.h"
#include "cli.h"

typedef struct command {
    const char *name;
    owmesh_cmd_fn *run;
    const char *synopsis;
} command;

static const command commands[] = {
    {"check", owmesh_cmd_check, "check [-s] FILE            validate a mesh, print its streams"},
    {"keygen", owmesh_cmd_keygen, "keygen [-f] [-m COMMENT] NAME  make a CURVE key pair"},
    {"status", owmesh_cmd_status,
     "status [-c ENDPOINT] [-k CERT] [-s KEY] [-t SECONDS] [--json | --nagios] [NODE...]\n"
     "                                   nodes and streams: expected vs running"},
    {"query", owmesh_cmd_query,
     "query [SELECTION] [PERIOD] [--every DUR] [-p LIST] [--json|--csv]\n"
     "                                   delay percentiles, loss, dups, reordering, jitter, hops"},
    {"grid", owmesh_cmd_grid,
     "grid [PERIOD] [--stat STAT] [--warn X --crit Y] [--html FILE] [--svg FILE]\n"
     "                                   the mesh as a source x destination matrix"},
    {"plot", owmesh_cmd_plot,
     "plot --src NAME --dst NAME [PERIOD] [-p LIST] -o FILE.svg\n"
     "                                   delay percentiles and loss over time, as SVG"},
    {"completeness", owmesh_cmd_completeness,
     "completeness [PERIOD] [--json | --nagios]\n"
     "                                   age and coverage of every expected path"},
    {"export", owmesh_cmd_export,
     "export --src NAME --dst NAME [PERIOD] (--csv | --owp DIR)\n"
     "                                   raw records as CSV or .owp files"},
    {"import", owmesh_cmd_import,
     "import [--node NAME] [--src NAME --dst NAME] FILE.owp...\n"
     "                                   ingest .owp files (e.g. a powstream archive)"},
    {"serve", owmesh_cmd_serve,
     "serve [--listen ADDR:PORT] [--auth FILE] [--tls-cert FILE --tls-key FILE]\n"
     "                                   the live dashboard and Prometheus /metrics (HTTP)"},
};

static void usage(FILE *fp)
{
    fprintf(fp, "usage: owmesh COMMAND [OPTIONS] [ARGS]\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(fp, "  %s\n", commands[i].synopsis);
    fprintf(fp, "query, grid, plot, completeness, export, import and serve also take --mesh FILE and\n"
                "--store DIR|URL (an LMDB directory or clickhouse://[USER@]HOST:PORT/DATABASE;\n"
                "default $OWMESH_STORE, else " OWMESH_DEFAULT_STORE ");\n"
                "SELECTION: --src/--dst NAME, --node NAME or --group NAME; PERIOD: --since DUR or\n"
                "--from TIME --to TIME (ISO-8601 or NTP), --now TIME.\n");
    fprintf(fp, "owmesh COMMAND --help shows a command's options; owmesh --version the version;\n"
                "see owmesh(1).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("owmesh %s\n", PACKAGE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    owmesh_error("unknown command \"%s\"", argv[1]);
    usage(stderr);
    return 1;
}
