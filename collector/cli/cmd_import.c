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
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyst.h"
#include "cli.h"
#include "store_paths.h"
#include "grow.h"
#include "unmeasured.h"

typedef struct import_opts {
    owmesh_common common;
    const char *archive_node; /* --node */
    int quiet;
} import_opts;

static void usage(FILE *fp)
{
    fprintf(fp, "usage: owmesh import --mesh FILE [--store DIR|URL] [--node NAME] [--src NAME --dst NAME]"
                " [-q] (FILE | DIR)...\n"
                "  ingest .owp files and .unm unmeasured intervals (a directory: every .owp and\n"
                "  .unm file under it, e.g. an `owmesh export --owp` directory); each file's\n"
                "  sender/receiver addresses (an interval's stream) name its path\n"
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
    collector_path_params(ctx->mesh, src, dst, req, params, sizeof params);
    snprintf(label, label_len, "%s -> %s (%s)", src, dst, params);
    st = store_path_id(ctx->store, src, dst, params, path_id, err);
done:
    owp_file_destroy(&f);
    return st;
}

/* ---- unmeasured intervals (.unm files, mesh/unmeasured.h) ---- */

static int is_unmeasured(const char *data, size_t len)
{
    static const char magic[] = "owmesh-unmeasured ";
    return len >= sizeof magic - 1 && !memcmp(data, magic, sizeof magic - 1);
}

/* "path:SRC>DST", the stream id `owmesh export` gives an interval of a path
 * that is no mesh stream: the names into src and dst; 0 when it is not one. */
static int exported_path_id(const char *id, char *src, char *dst, size_t len)
{
    static const char prefix[] = "path:";
    if (strncmp(id, prefix, sizeof prefix - 1))
        return 0;
    const char *names = id + sizeof prefix - 1, *gt = strchr(names, '>');
    if (!gt || gt == names || !gt[1] || strchr(gt + 1, '>') || (size_t)(gt - names) >= len ||
        strlen(gt + 1) >= len)
        return 0;
    snprintf(src, len, "%.*s", (int)(gt - names), names);
    snprintf(dst, len, "%s", gt + 1);
    return 1;
}

/* The path of an interval: --src/--dst, else its stream in the mesh (with
 * that stream's test), else the names of an exported "path:SRC>DST", else
 * its sender's address (the destination then from --dst or --node). */
static owp_status unmeasured_path(owmesh_ctx *ctx, const import_opts *o, const char *file,
                                  const owm_unmeasured *u, uint32_t *path_id, char *label,
                                  size_t label_len, owp_err *err)
{
    const char *src = o->common.src, *dst = o->common.dst;
    const owm_stream *s = owm_mesh_stream_find(ctx->mesh, u->stream_id);
    char params[128], src_name[OWM_MSG_MAX_ID + 1], dst_name[OWM_MSG_MAX_ID + 1];
    if (!src && s) {
        snprintf(label, label_len, "%s -> %s (%s)", s->src->name, s->dst->name, s->test);
        return store_path_id(ctx->store, s->src->name, s->dst->name, s->test, path_id, err);
    }
    if (!src && exported_path_id(u->stream_id, src_name, dst_name, sizeof src_name))
        src = src_name, dst = dst_name;
    if (!src) {
        uint8_t ipvn = 0, addr[16];
        if (!collector_addr_parse(u->sender, &ipvn, addr))
            return owp_err_set(err, OWP_ERR_INVALID, "%s: stream %s is not in the mesh and "
                               "sender \"%s\" is no address: give --src and --dst", file,
                               u->stream_id, u->sender);
        const owm_node *n = map_address(ctx, o, file, "sender", ipvn, addr, err);
        if (!n)
            return err->code;
        src = n->name;
        dst = o->archive_node;
        if (!dst)
            return owp_err_set(err, OWP_ERR_INVALID, "%s: stream %s is not in the mesh: name "
                               "the receiving node with --node or --dst", file, u->stream_id);
    }
    collector_path_params(ctx->mesh, src, dst, NULL, params, sizeof params);
    snprintf(label, label_len, "%s -> %s (%s)", src, dst, params);
    return store_path_id(ctx->store, src, dst, params, path_id, err);
}

static owp_status import_unmeasured(owmesh_ctx *ctx, const import_opts *o,
                                    const char *cursor_node, uint64_t seq, const char *file,
                                    const char *data, size_t len, store_ingest_result *res,
                                    char *label, size_t label_len, owp_err *err)
{
    owm_unmeasured u;
    uint32_t path_id;
    if (owm_unmeasured_parse(data, len, &u, err) != OWP_OK)
        return owp_err_prefix(err, "%s", file);
    owp_status st = unmeasured_path(ctx, o, file, &u, &path_id, label, label_len, err);
    if (st)
        return st;
    size_t used = strlen(label);
    snprintf(label + used, label_len - used, ": unmeasured %.0f s, %s",
             owp_num64_to_double(u.end - u.start), owm_unmeasured_reason_text(u.reason));
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    return store_ingest_unmeasured(ctx->store, cursor_node, seq, base, path_id, u.start,
                                       u.end, owm_unmeasured_reason_token(u.reason), u.detail,
                                       res, err);
}

/* Peek at a file's first bytes: an unmeasured interval is small text. */
static size_t read_head(FILE *fp, char *buf, size_t cap)
{
    size_t n = fread(buf, 1, cap, fp);
    rewind(fp);
    return n;
}

static int import_one(owmesh_ctx *ctx, const import_opts *o, const char *cursor_node,
                      uint64_t *seq, const char *file, int *already)
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
    store_ingest_result res;
    char head[OWM_UNMEASURED_MAX_FILE + 1];
    size_t hlen = read_head(fp, head, sizeof head);
    owp_status st;
    if (is_unmeasured(head, hlen))
        st = import_unmeasured(ctx, o, cursor_node, *seq + 1, file, head, hlen, &res, label,
                               sizeof label, &err);
    else
        st = resolve_path(ctx, o, file, fp, &path_id, label, sizeof label, &err);
    if (st == OWP_OK && !is_unmeasured(head, hlen)) {
        rewind(fp);
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        st = store_ingest_file(ctx->store, cursor_node, *seq + 1, base, path_id, fp, &res,
                                   &err);
    }
    fclose(fp);
    if (st != OWP_OK) {
        owmesh_error("%s", err.msg);
        return 1;
    }
    *seq += 1;
    *already = res.status == STORE_INGEST_DUPLICATE;
    if (o->quiet)
        return 0;
    if (res.status == STORE_INGEST_DUPLICATE)
        printf("%s: %s: already stored, skipped\n", file, label);
    else if (is_unmeasured(head, hlen))
        printf("%s: %s\n", file, label);
    else
        printf("%s: %s: %llu records (sent %llu, lost %llu, dups %llu, reordered %llu)\n", file,
               label, (unsigned long long)res.records, (unsigned long long)res.sent,
               (unsigned long long)res.lost, (unsigned long long)res.dups,
               (unsigned long long)res.reordered);
    return 0;
}

/* ---- the files to import: arguments, and the .owp/.unm files of directories ---- */

typedef struct file_list {
    char **v;
    size_t n, cap;
} file_list;

#define IMPORT_MAX_DEPTH 8 /* an owampd data directory nests a few levels */

static owp_status list_add(file_list *l, const char *name, owp_err *err)
{
    if (owp_grow(&l->v, l->n, &l->cap, sizeof *l->v, 64) != 0 || !(l->v[l->n] = strdup(name)))
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    l->n++;
    return OWP_OK;
}

static void list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    *l = (file_list){0};
}

static int has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && !strcmp(name + n - k, suffix);
}

/* Every .owp and .unm file under dir, in name order (an export directory,
 * a powstream archive, an owampd data directory); other files are not
 * measurements and are passed over. */
static owp_status list_dir(file_list *l, const char *dir, int depth, owp_err *err)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return owp_err_sys(err, "%s", dir);
    owp_status st = OWP_OK;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat sb;
        const char *base = names[i]->d_name;
        if (st == OWP_OK && base[0] != '.' &&
            (size_t)snprintf(path, sizeof path, "%s/%s", dir, base) < sizeof path &&
            stat(path, &sb) == 0) {
            if (S_ISDIR(sb.st_mode) && depth < IMPORT_MAX_DEPTH)
                st = list_dir(l, path, depth + 1, err);
            else if (S_ISREG(sb.st_mode) && (has_suffix(base, ".owp") || has_suffix(base, ".unm")))
                st = list_add(l, path, err);
        }
        free(names[i]);
    }
    free(names);
    return st;
}

static owp_status list_args(file_list *l, char **args, int nargs, owp_err *err)
{
    for (int i = 0; i < nargs; i++) {
        struct stat sb;
        owp_status st = stat(args[i], &sb) == 0 && S_ISDIR(sb.st_mode)
                            ? list_dir(l, args[i], 0, err)
                            : list_add(l, args[i], err); /* import_one names a missing file */
        if (st != OWP_OK)
            return st;
    }
    return OWP_OK;
}

/* Import is how a store starts: create its directory (not its parents'
 * parents: a typo should not build a tree). A URL store makes its own tables. */
static owp_status make_store_dir(const owmesh_common *c, owp_err *err)
{
    if (store_location_is_url(c->store_dir))
        return OWP_OK;
    if (mkdir(c->store_dir, 0755) != 0 && errno != EEXIST)
        return owp_err_sys(err, "store %s", c->store_dir);
    return OWP_OK;
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
        owmesh_error("import: no file or directory given");
        usage(stderr);
        return 1;
    }
    if (!o.common.src != !o.common.dst) {
        owmesh_error("import: --src and --dst go together");
        return 1;
    }
    owmesh_ctx ctx = {0};
    owp_err err = {0};
    if (make_store_dir(&o.common, &err) != OWP_OK ||
        owmesh_ctx_open(&ctx, &o.common, 1, &err) != OWP_OK ||
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
    int failed = 0, done = 0, stored_before = 0;
    if (store_cursor(ctx.store, cursor_node, &seq, NULL, 0, &err) != OWP_OK) {
        owmesh_error("%s", err.msg);
        owmesh_ctx_close(&ctx);
        return 1;
    }
    file_list files = {0};
    if (list_args(&files, argv + optind, argc - optind, &err) != OWP_OK) {
        owmesh_error("import: %s", err.msg);
        list_free(&files);
        owmesh_ctx_close(&ctx);
        return 1;
    }
    for (size_t i = 0; i < files.n; i++) {
        int already = 0, bad = import_one(&ctx, &o, cursor_node, &seq, files.v[i], &already);
        failed += bad;
        done += !bad && !already;
        stored_before += !bad && already;
    }
    list_free(&files);
    if (!o.quiet)
        printf("%d file%s imported, %d already stored, %d failed\n", done,
               done == 1 ? "" : "s", stored_before, failed);
    owmesh_ctx_close(&ctx);
    return failed ? 1 : 0;
}
