/*
 * meshconf_internal.h - what the pieces of the mesh definition reader share
 * (not installed, not for callers of meshconf.h).
 *
 *   meshconf.c           public API: load, build, accessors, printing, and
 *                        the expansion of a task's group into streams
 *   meshconf_jsonpath.c  JSON paths, messages ("FILE: PATH: expected ...,
 *                        got ...") and typed members read with them
 *   meshconf_model.c     what both formats mean alike: the section passes,
 *                        nodes' addresses and keys, test parameters, group
 *                        members and types, tasks
 *   meshconf_native.c    the owmesh format (strict: unknown keys are errors)
 *   meshconf_psconfig.c  the pSConfig template mapping (lenient: what owmesh
 *                        does not use becomes a warning)
 *
 * Internal names carry the mc_ prefix: libowmesh is linked statically into
 * programs that have their own fail() and warn().
 */
#ifndef OWM_MESHCONF_INTERNAL_H
#define OWM_MESHCONF_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshconf.h"

#define MC_PATH_MAX 256     /* JSON paths in messages; longer ones are cut */
#define MC_NAME_MAX 64      /* node, group, test and task names */
#define MC_KNOWN_LIST_MAX 200 /* characters of "one of (...)" lists */
#define MC_MAX_SECONDS 3600.0 /* upper bound of interval and timeout */

struct owm_mesh {
    char *source;
    owm_mesh_format format;
    json_t *root;         /* owns every string the nodes and streams point at */
    owm_node *nodes;
    size_t n_nodes;
    json_t *node_by_name; /* name -> index */
    json_t *node_by_key;  /* public key -> index */
    owm_stream *streams;
    size_t n_streams, cap_streams;
    json_t *stream_by_id; /* id -> index; equal ids are duplicates, which collapse */
    char **warnings;
    size_t n_warnings;
};

typedef enum mc_group_type { MC_GROUP_MESH, MC_GROUP_DISJOINT, MC_GROUP_LIST } mc_group_type;

typedef struct mc_group {
    const char *name;
    mc_group_type type;
    bool usable;          /* pSConfig list groups pair no addresses */
    bool unidirectional;
    size_t *a, na;        /* mesh: members; disjoint: a side; list: sources */
    size_t *b, nb;        /* disjoint: b side; list: destinations (nb == na) */
    size_t *ex_src, *ex_dst, n_ex; /* pSConfig excludes: pairs left out */
} mc_group;

typedef struct mc_test {
    const char *name;
    const char *type;
    bool usable;          /* pSConfig tests of other types are skipped */
    owm_test_params params;
} mc_test;

typedef struct mc_format mc_format;

typedef struct mc_parser {
    owm_mesh *mesh;
    owp_err *err;
    const mc_format *format;
    json_t *disabled;     /* pSConfig addresses with "disabled": true */
    mc_group *groups;
    size_t n_groups;
    mc_test *tests;
    size_t n_tests;
    size_t candidates;    /* pairs expanded, duplicates included */
} mc_parser;

typedef owp_status (*mc_entry_fn)(mc_parser *ps, const char *name, json_t *obj,
                                  const char *path);

/* What one format reads differently: the name of its node section, and one
 * parser per kind of entry. The passes over the sections, their order and
 * the arrays they fill are the same for both (meshconf_model.c). */
struct mc_format {
    owm_mesh_format id;
    const char *nodes_section; /* "nodes" or "addresses" */
    const char *node_kind;     /* "node" or "address", in messages */
    const char *node_kinds;    /* "nodes" or "addresses" */
    owp_status (*top)(mc_parser *ps);  /* the keys of $ beside the sections */
    mc_entry_fn node, task;
    owp_status (*test)(mc_parser *ps, mc_test *t, json_t *obj, const char *path);
    owp_status (*group)(mc_parser *ps, mc_group *g, json_t *obj, const char *path);
    /* The node index of one group member written at path. *skip is set for
     * a member left out (a disabled pSConfig address). */
    owp_status (*member)(mc_parser *ps, json_t *v, const char *path, size_t *index, bool *skip);
};

extern const mc_format mc_native_format;   /* meshconf_native.c */
extern const mc_format mc_psconfig_format; /* meshconf_psconfig.c */

/* ------------------------------------------------------------ meshconf_jsonpath.c */

typedef struct mc_keys {
    const char *const *keys;
    size_t n;
} mc_keys;

#define MC_KEYS(arr) ((mc_keys){(arr), sizeof(arr) / sizeof((arr)[0])})

/* PARENT.KEY, or PARENT['KEY'] when KEY needs quoting; PARENT[INDEX]. */
void mc_path_key(char *out, size_t len, const char *parent, const char *key);
void mc_path_index(char *out, size_t len, const char *parent, size_t index);

/* Shortest text that reads back as the same double ("0.1", "10"). */
void mc_format_double(double v, char *buf, size_t len);

/* OWP_ERR_PARSE "SOURCE: PATH: WHAT". */
owp_status mc_fail(mc_parser *ps, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "SOURCE: PATH: expected WHAT, got VALUE" */
owp_status mc_expected(mc_parser *ps, const char *path, const char *what, const json_t *got);
/* Adds the warning "SOURCE: PATH: WHAT"; fails only for memory. */
owp_status mc_warn(mc_parser *ps, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
owp_status mc_nomem(mc_parser *ps);

/* "a, b, c" from the names at base, base + stride, ...; cut with ", ..."
 * when long; "none defined" when n is 0. */
void mc_join_names(const void *base, size_t n, size_t stride, char *buf, size_t len);

/* Keys starting with '_' are comments and metadata in both formats. */
bool mc_is_comment_key(const char *key);
bool mc_keys_has(mc_keys keys, const char *key);
/* An error for the first key of obj that is neither allowed nor a comment. */
owp_status mc_check_keys(mc_parser *ps, json_t *obj, const char *path, mc_keys allowed);

/* The member key of parent in *v (NULL when absent) and its path in p.
 * Absent is an error "PATH: expected the key "KEY" (MISSING)" unless
 * missing is NULL. */
owp_status mc_member(mc_parser *ps, json_t *parent, const char *key, const char *path,
                     const char *missing, json_t **v, char p[MC_PATH_MAX]);
/* Typed members: *out is left NULL (object, string) or unchanged (bool)
 * when an optional one is absent. */
owp_status mc_get_object(mc_parser *ps, json_t *parent, const char *key, const char *path,
                         bool required, json_t **out);
owp_status mc_get_string(mc_parser *ps, json_t *parent, const char *key, const char *path,
                         bool required, const char **out);
owp_status mc_get_bool(mc_parser *ps, json_t *parent, const char *key, const char *path,
                       bool *out);
/* An array member of at least min items (else "expected WHAT"); absent as
 * for mc_member. */
owp_status mc_get_array(mc_parser *ps, json_t *parent, const char *key, const char *path,
                        const char *missing, size_t min, const char *what, json_t **out,
                        char p[MC_PATH_MAX]);
/* fn on every item of the array at path, with the item's path, until one fails. */
typedef owp_status (*mc_item_fn)(mc_parser *ps, void *ctx, json_t *item, const char *path);
owp_status mc_each_item(mc_parser *ps, json_t *arr, const char *path, mc_item_fn fn, void *ctx);
/* An integer in [min, max]: reals such as 600.0 are refused. */
owp_status mc_get_uint(mc_parser *ps, json_t *v, const char *path, json_int_t min,
                       json_int_t max, const char *what, uint32_t *out);
/* A number of seconds in (0, max]. */
owp_status mc_get_seconds(mc_parser *ps, json_t *v, const char *path, double max,
                          const char *what, double *out);

/* index[key] = value, for the name/key/id lookups. */
owp_status mc_index_set(mc_parser *ps, json_t *index, const char *key, size_t value);

/* ------------------------------------------------------------ meshconf_model.c */

/* The four passes: nodes, tests, groups, then tasks (expanded at once). */
owp_status mc_parse_sections(mc_parser *ps);
void mc_parser_free(mc_parser *ps);

/* An entry's name is valid and its value an object (what: "a test object"). */
owp_status mc_check_entry(mc_parser *ps, const char *name, json_t *obj, const char *path,
                          const char *kind, const char *what);

/* A node's "address" into node (address, host, port); *has_port tells
 * whether the address named a port. */
owp_status mc_node_address(mc_parser *ps, owm_node *node, json_t *obj, const char *path,
                           bool *has_port);
/* The optional "public-key", "owamp-port" and "data-endpoint" of obj. */
owp_status mc_node_extras(mc_parser *ps, owm_node *node, json_t *obj, const char *path,
                          bool address_has_port);
/* Appends a validated node (warning when another has the same server). */
owp_status mc_add_node(mc_parser *ps, const owm_node *node, const char *path);

/* The parameter keys, named as in each format; NULL: not in the format. */
typedef struct mc_param_names {
    const char *interval, *count, *padding, *loss_timeout, *loss_timeout_alt, *bucket_width;
    const char *sub_sessions, *dscp, *tos, *auth;
    bool zero_timeout_is_default; /* pScheduler: 0 means the tool's default */
} mc_param_names;

owp_status mc_parse_params(mc_parser *ps, json_t *obj, const char *path,
                           const mc_param_names *names, owm_test_params *params);
/* The powstream defaults with no sub-sessions, for a test with no parameters. */
void mc_default_params(owm_test_params *params);
/* "type" of a test: its value in t->type, its path in p. */
owp_status mc_test_type(mc_parser *ps, mc_test *t, json_t *obj, const char *path,
                        char p[MC_PATH_MAX]);

/* A node named by the string v (disabled pSConfig addresses: *skip). */
owp_status mc_resolve_name(mc_parser *ps, json_t *v, const char *path, size_t *index,
                           bool *skip);
/* An array of at least min distinct members, indexes in a malloc'd *out,
 * which is set (for the caller to free) even when this fails. */
owp_status mc_resolve_members(mc_parser *ps, json_t *parent, const char *key,
                              const char *path, size_t min, size_t **out, size_t *n);
/* The "type" of a group: "mesh", "disjoint" or "list". */
owp_status mc_group_type_of(mc_parser *ps, json_t *obj, const char *path, mc_group_type *type);
/* A disjoint group's "unidirectional", a side and b side. */
owp_status mc_disjoint_sides(mc_parser *ps, mc_group *g, json_t *obj, const char *path,
                             const char *a_key, const char *b_key, size_t min);

/* A task's group and test, then its streams (after any format checks). */
owp_status mc_run_task(mc_parser *ps, const char *name, json_t *obj, const char *path);

/* ------------------------------------------------------------ meshconf.c */

/* Every stream of group g with test t, for the task at path. */
owp_status mc_expand(mc_parser *ps, const mc_group *g, const mc_test *t, const char *task,
                     const char *path);

#endif
