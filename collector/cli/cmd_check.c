/* cmd_check.c - `owmesh check FILE`: validate a mesh, print its streams. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "meshconf.h"

int owmesh_cmd_check(int argc, char **argv)
{
    int c, summary = 0;
    optind = 1;
    while ((c = getopt(argc, argv, "sh")) != -1) {
        switch (c) {
        case 's': summary = 1; break;
        case 'h':
            printf("usage: owmesh check [-s] FILE\n"
                   "  prints one line per stream; warnings go to stderr;\n"
                   "  -s adds a summary line on stderr\n");
            return 0;
        default: return 1;
        }
    }
    if (optind + 1 != argc) {
        owmesh_error("check: exactly one mesh FILE expected");
        return 1;
    }
    const char *path = argv[optind];
    owp_err err = {0};
    owm_mesh *mesh = owm_mesh_load(path, &err);
    if (!mesh) {
        owmesh_error("%s", err.msg);
        return 1;
    }
    for (size_t i = 0; i < owm_mesh_warning_count(mesh); i++)
        fprintf(stderr, "owmesh: warning: %s\n", owm_mesh_warning(mesh, i));
    int rc = owm_mesh_print_streams(mesh, stdout, &err) == OWP_OK && fflush(stdout) == 0 ? 0 : 1;
    if (rc)
        owmesh_error("%s", err.msg[0] ? err.msg : "write error");
    else if (summary)
        fprintf(stderr, "%s: %zu nodes, %zu streams\n", path, owm_mesh_node_count(mesh),
                owm_mesh_stream_count(mesh));
    owm_mesh_destroy(&mesh);
    return rc;
}
