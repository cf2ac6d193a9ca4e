/*
 * cmd_import.c - `owmesh import`: ingest .owp files (a powstream archive,
 * owping -F/-T files, an owampd data directory) into the store, mapping each
 * file's sender and receiver addresses to mesh nodes by their OWAMP address.
 *
 * Imported files advance the cursor "import:NODE" (NODE from --node, else
 * "archive"), never a node's own collection cursor, so an import cannot make
 * the collector skip files a node still has to deliver. Importing the same
 * file twice stores it once: the store recognises the session.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "analyst.h"
#include "cli.h"

typedef struct import_opts {
    owmesh_common common;
    const char *archive_node; /* --node */
    int quiet;
} import_opts;

static void usage(FILE *fp)
{
    fprintf(fp, "usage: owmesh import --mesh FILE [--store DIR] [--node NAME] [--src NAME --dst NAME]"
                " [-q] FILE.owp...\n"
                "  ingest .owp files; each file's sender/receiver addresses name its path\n"
                "  --node NAME  the node the archive comes from (breaks address ties)\n"
                "  --src/--dst  force the path's nodes (addresses behind NAT, renumbered hosts)\n");
}

/* A node's host as address bytes, or 0 when it is a name, not an address. */
static int node_addr(const owm_node *node, int *family, uint8_t out[16])
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, node->host, out) == 1) {
        *family = 4;
        return 1;
    }
    if (inet_pton(AF_INET6, node->host, out) == 1) {
        *family = 6;
        return 1;
    }
    return 0;
}

static void format_addr(uint8_t ipvn, const uint8_t addr[16], char *buf, size_t len)
{
    if (!inet_ntop(ipvn == 6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len))
        snprintf(buf, len, "?");
}

/* The mesh node whose OWAMP address is addr; NULL with err listing the
 * nodes and their addresses when none or several (unless one is --node). */
static const owm_node *map_address(const owmesh_ctx *ctx, const import_opts *o, const char *file,
                                   const char *role, uint8_t ipvn, const uint8_t addr[16],
                                   owp_err *err)
{
    const owm_node *found = NULL;
    size_t matches = 0;
    char names[256] = "";
    for (size_t i = 0; i < owm_mesh_node_count(ctx->mesh); i++) {
        const owm_node *n = owm_mesh_node(ctx->mesh, i);
        int family;
        uint8_t bytes[16];
        if (!node_addr(n, &family, bytes) || family != ipvn || memcmp(bytes, addr, 16))
            continue;
        if (!found || (o->archive_node && !strcmp(n->name, o->archive_node)))
            found = n;
        matches++;
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", n->name);
    }
    char text[INET6_ADDRSTRLEN];
    format_addr(ipvn, addr, text, sizeof text);
    if (matches == 1 || (matches > 1 && o->archive_node && !strcmp(found->name, o->archive_node)))
        return found;
    if (matches > 1) {
        owp_err_set(err, OWP_ERR_INVALID,
                    "%s: %s address %s belongs to several nodes (%s): name one with --node, or "
                    "give --src and --dst", file, role, text, names);
        return NULL;
    }
    char known[400] = "";
    for (size_t i = 0; i < owm_mesh_node_count(ctx->mesh); i++) {
        const owm_node *n = owm_mesh_node(ctx->mesh, i);
        size_t used = strlen(known);
        if (used + 8 < sizeof known)
            snprintf(known + used, sizeof known - used, "%s%s %s", used ? ", " : "", n->name,
                     n->host);
    }
    owp_err_set(err, OWP_ERR_INVALID,
                "%s: %s address %s is no mesh node's OWAMP address (known nodes: %s); give "
                "--src and --dst to map it", file, role, text, known);
    return NULL;
}

/* The params string of a path: the mesh's test name when the mesh has the
 * stream, else what the file says about the packets. */
static void path_params(const owmesh_ctx *ctx, const char *src, const char *dst,
                        const owp_request *req, char *buf, size_t len)
{
    const owm_stream *s;
    if (owmesh_ctx_expected(ctx, src, dst, &s))
        snprintf(buf, len, "%s", s->test);
    else if (req)
        snprintf(buf, len, "padding=%u dscp=%d", (unsigned)req->padding, owp_request_dscp(req));
    else
        snprintf(buf, len, "imported");
}

static owp_status resolve_path(owmesh_ctx *ctx, const import_opts *o, const char *file, FILE *fp,
                               uint32_t *path_id, char *label, size_t label_len, owp_err *err)
{
    owp_file *f = owp_file_read(fp, file, err);
    if (!f)
        return err->code;
    const owp_request *req = owp_file_request(f);
    const char *src = o->common.src, *dst = o->common.dst;
    owp_status st = OWP_OK;
    if (!src || !dst) {
        if (!req) {
            st = owp_err_set(err, OWP_ERR_INVALID, "%s: a version 0 file names no addresses: "
                             "give --src and --dst", file);
            goto done;
        }
        const owm_node *s = map_address(ctx, o, file, "sender", req->ipvn, req->sender_addr, err);
        const owm_node *d = s ? map_address(ctx, o, file, "receiver", req->ipvn,
                                            req->receiver_addr, err) : NULL;
        if (!s || !d) {
            st = err->code;
            goto done;
        }
        src = src ? src : s->name;
        dst = dst ? dst : d->name;
    }
    char params[128];
    path_params(ctx, src, dst, req, params, sizeof params);
    snprintf(label, label_len, "%s -> %s (%s)", src, dst, params);
    st = owm_store_path_id(ctx->store, src, dst, params, path_id, err);
done:
    owp_file_destroy(&f);
    return st;
}

static int import_one(owmesh_ctx *ctx, const import_opts *o, const char *cursor_node,
                      uint64_t *seq, const char *file)
{
    owp_err err = {0};
    FILE *fp = fopen(file, "rb");
    if (!fp) {
        owp_err_sys(&err, "%s", file);
        owmesh_error("%s", err.msg);
        return 1;
    }
    uint32_t path_id;
    char label[400];
    owm_ingest_result res;
    owp_status st = resolve_path(ctx, o, file, fp, &path_id, label, sizeof label, &err);
    if (st == OWP_OK) {
        rewind(fp);
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        st = owm_store_ingest_file(ctx->store, cursor_node, *seq + 1, base, path_id, fp, &res,
                                   &err);
    }
    fclose(fp);
    if (st != OWP_OK) {
        owmesh_error("%s", err.msg);
        return 1;
    }
    *seq += 1;
    if (o->quiet)
        return 0;
    if (res.status == OWM_INGEST_DUPLICATE)
        printf("%s: %s: already stored (same session), skipped\n", file, label);
    else
        printf("%s: %s: %llu records (sent %llu, lost %llu, dups %llu, reordered %llu)\n", file,
               label, (unsigned long long)res.records, (unsigned long long)res.sent,
               (unsigned long long)res.lost, (unsigned long long)res.dups,
               (unsigned long long)res.reordered);
    return 0;
}

int owmesh_cmd_import(int argc, char **argv)
{
    static const struct option longopts[] = {OWMESH_COMMON_LONGOPTS,
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    import_opts o = {0};
    owmesh_common_init(&o.common);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        if (c == OWMESH_OPT_NODE) {
            o.archive_node = optarg;
        } else if (owmesh_common_opt(&o.common, c, optarg)) {
            continue;
        } else if (c == 'q') {
            o.quiet = 1;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 1;
        }
    }
    if (optind >= argc) {
        owmesh_error("import: no .owp file given");
        usage(stderr);
        return 1;
    }
    if (!o.common.src != !o.common.dst) {
        owmesh_error("import: --src and --dst go together");
        return 1;
    }
    owmesh_ctx ctx = {0};
    owp_err err = {0};
    if (owmesh_ctx_open(&ctx, &o.common, 1, &err) != OWP_OK ||
        (o.archive_node && owmesh_ctx_check_node(&ctx, "--node", o.archive_node, &err)) ||
        (o.common.src && owmesh_ctx_check_node(&ctx, "--src", o.common.src, &err)) ||
        (o.common.dst && owmesh_ctx_check_node(&ctx, "--dst", o.common.dst, &err))) {
        owmesh_error("%s", err.msg);
        owmesh_ctx_close(&ctx);
        return 1;
    }
    char cursor_node[300];
    snprintf(cursor_node, sizeof cursor_node, "import:%s",
             o.archive_node ? o.archive_node : "archive");
    uint64_t seq = 0;
    int failed = 0, done = 0;
    if (owm_store_cursor(ctx.store, cursor_node, &seq, NULL, 0, &err) != OWP_OK) {
        owmesh_error("%s", err.msg);
        owmesh_ctx_close(&ctx);
        return 1;
    }
    for (int i = optind; i < argc; i++) {
        int bad = import_one(&ctx, &o, cursor_node, &seq, argv[i]);
        failed += bad;
        done += !bad;
    }
    if (!o.quiet)
        printf("%d file%s imported, %d failed\n", done, done == 1 ? "" : "s", failed);
    owmesh_ctx_close(&ctx);
    return failed ? 1 : 0;
}
