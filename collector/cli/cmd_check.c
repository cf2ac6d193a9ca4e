/* cmd_check.c - `owmesh check FILE`: validate a mesh, print its streams. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "meshconf.h"
#include "render.h"

static void usage(FILE *fp)
{
    fprintf(fp, "usage: owmesh check [-s] FILE\n"
                "  prints one line per stream, in the mesh's expansion order (tasks in file\n"
                "  order, then each group's pairs), its columns aligned; warnings go to stderr;\n"
                "  -s adds a summary line on stderr\n");
}

/* One stream's check line (owm_stream_format: "src -> dst  key=value ...")
 * as the cells of a table row: the pair, then each parameter. The line has
 * no quoting: node names, task names and parameters hold no blanks. */
static size_t stream_cells(const owm_stream *s, char *line, size_t len, const char **cells,
                           size_t max)
{
    owm_stream_format(s, line, len);
    size_t pair = strlen(s->src->name) + strlen(" -> ") + strlen(s->dst->name);
    if (pair >= len - 1 || !max)
        return 0;
    line[pair] = '\0';
    cells[0] = line;
    size_t n = 1;
    char *save = NULL;
    for (char *word = strtok_r(line + pair + 1, " ", &save); word && n < max;
         word = strtok_r(NULL, " ", &save))
        cells[n++] = word;
    return n;
}

/* Every stream as aligned, left-justified columns. Every line has the same
 * keys in the same order, so each column holds one parameter. */
static int print_streams(const owm_mesh *mesh, FILE *fp)
{
    enum { MAX_WORDS = 16 };
    char line[512];
    const char *cells[MAX_WORDS] = {0};
    size_t ncols = 0;
    for (size_t i = 0; i < owm_mesh_stream_count(mesh); i++) {
        size_t n = stream_cells(&owm_mesh_streams(mesh)[i], line, sizeof line, cells, MAX_WORDS);
        ncols = n > ncols ? n : ncols;
    }
    if (!ncols)
        return 0;
    static const char *const no_headers[MAX_WORDS];
    owmesh_table *t = owmesh_table_new(ncols, (const char *const *)no_headers);
    if (!t)
        return -1;
    for (size_t c = 0; c < ncols; c++)
        owmesh_table_left(t, c);
    int rc = 0;
    for (size_t i = 0; i < owm_mesh_stream_count(mesh) && !rc; i++) {
        for (size_t c = 0; c < MAX_WORDS; c++)
            cells[c] = NULL;
        stream_cells(&owm_mesh_streams(mesh)[i], line, sizeof line, cells, MAX_WORDS);
        rc = owmesh_table_add(t, cells);
    }
    if (!rc)
        owmesh_table_print_body(t, fp);
    owmesh_table_destroy(&t);
    return rc;
}

int owmesh_cmd_check(int argc, char **argv)
{
    static const struct option longs[] = {{"summary", no_argument, NULL, 's'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int c, summary = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "sh", longs, NULL)) != -1) {
        switch (c) {
        case 's': summary = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
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
    int rc = 0;
    if (print_streams(mesh, stdout) != 0) {
        owmesh_error("check: out of memory");
        rc = 1;
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        owmesh_error("check: writing the stream list of %s failed", path);
        rc = 1;
    } else if (summary) {
        fprintf(stderr, "%s: %zu nodes, %zu streams\n", path, owm_mesh_node_count(mesh),
                owm_mesh_stream_count(mesh));
    }
    owm_mesh_destroy(&mesh);
    return rc;
}
