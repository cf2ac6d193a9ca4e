/* fuzz_meshconf.c - the mesh definition parser (native and pSConfig) against
 * arbitrary bytes; whatever loads is also printed, as `owmesh check` would. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "meshconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    owp_err err;
    owm_mesh *mesh = owm_mesh_parse((const char *)data, size, "fuzz.json", &err);
    if (!mesh)
        return 0;
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    if (sink)
        owm_mesh_print_streams(mesh, sink, NULL);
    for (size_t i = 0; i < owm_mesh_stream_count(mesh); i++)
        owm_mesh_stream_find(mesh, owm_mesh_streams(mesh)[i].id);
    for (size_t i = 0; i < owm_mesh_node_count(mesh); i++) {
        const owm_node *node = owm_mesh_node(mesh, i);
        char server[300];
        owm_node_format_server(node, server, sizeof server);
        owm_mesh_node_find(mesh, node->name);
        owm_mesh_node_by_key(mesh, node->public_key);
    }
    owm_mesh_destroy(&mesh);
    return 0;
}
