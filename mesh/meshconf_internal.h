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
 *   meshconf_clients.c   the collectors and analysts the mesh trusts
 *
 * Internal names carry the owm_conf_ prefix: libowmesh is linked statically into
 * programs that have their own fail() and warn().
 */
#ifndef OWM_MESHCONF_INTERNAL_H
#define OWM_MESHCONF_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshconf.h"

#define OWM_CONF_PATH_MAX 256     /* JSON paths in messages; longer ones are cut */
#define OWM_CONF_NAME_MAX 64      /* node, group, test and task names */
#define OWM_CONF_KNOWN_LIST_MAX 200 /* characters of "one of (...)" lists */
#define OWM_CONF_MAX_SECONDS 3600.0 /* upper bound of interval and timeout */

struct owm_mesh {
    char *source;
    owm_mesh_format format;
    json_t *root;         /* owns every string the nodes and streams point at */
    owm_node *nodes;
    size_t n_nodes;
    json_t *node_by_name; /* name -> index */
    json_t *node_by_key;  /* public key -> index */
    owm_client *clients;  /* collectors, then analysts */
    size_t n_clients;
    json_t *client_by_name; /* name -> index in clients */
    json_t *client_by_key;  /* public key -> index in clients */
    owm_stream *streams;
    size_t n_streams, cap_streams;
    json_t *stream_by_id; /* id -> index; equal ids are duplicates, which collapse */
    char **warnings;
    size_t n_warnings;
};

typedef enum owm_conf_group_type {
    OWM_CONF_GROUP_MESH,
    OWM_CONF_GROUP_DISJOINT,
    OWM_CONF_GROUP_LIST
} owm_conf_group_type;

typedef struct owm_conf_group {
    const char *name;
    owm_conf_group_type type;
    bool usable;          /* pSConfig list groups pair no addresses */
    bool unidirectional;
    size_t *a, na;        /* mesh: members; disjoint: a side; list: sources */
    size_t *b, nb;        /* disjoint: b side; list: destinations (nb == na) */
    size_t *ex_src, *ex_dst, n_ex; /* pSConfig excludes: pairs left out */
} owm_conf_group;

typedef struct owm_conf_test {
    const char *name;
    const char *type;
    bool usable;          /* pSConfig tests of other types are skipped */
    owm_test_params params;
} owm_conf_test;

typedef struct owm_conf_format owm_conf_format;

typedef struct owm_conf_parser {
    owm_mesh *mesh;
    owp_err *err;
    const owm_conf_format *format;
    json_t *disabled;     /* pSConfig addresses with "disabled": true */
    owm_conf_group *groups;
    size_t n_groups;
    owm_conf_test *tests;
    size_t n_tests;
    size_t candidates;    /* pairs expanded, duplicates included */
} owm_conf_parser;

typedef owp_status (*owm_conf_entry_fn)(owm_conf_parser *ps, const char *name, json_t *obj,
                                        const char *path);

/* What one format reads differently: the name of its node section, and one
 * parser per kind of entry. The passes over the sections, their order and
 * the arrays they fill are the same for both (meshconf_model.c). */
struct owm_conf_format {
    owm_mesh_format id;
    const char *nodes_section; /* "nodes" or "addresses" */
    const char *node_kind;     /* "node" or "address", in messages */
    const char *node_kinds;    /* "nodes" or "addresses" */
    const char *clients_at;    /* where "collectors" and "analysts" are: "" (the top
                                * level) or the key of an object in it ("_meta") */
    owp_status (*top)(owm_conf_parser *ps);  /* the keys of $ beside the sections */
    owm_conf_entry_fn node, task;
    owp_status (*test)(owm_conf_parser *ps, owm_conf_test *t, json_t *obj, const char *path);
    owp_status (*group)(owm_conf_parser *ps, owm_conf_group *g, json_t *obj, const char *path);
    /* The node index of one group member written at path. *skip is set for
     * a member left out (a disabled pSConfig address). */
    owp_status (*member)(owm_conf_parser *ps, json_t *v, const char *path, size_t *index,
                         bool *skip);
};

extern const owm_conf_format owm_conf_native_format;   /* meshconf_native.c */
extern const owm_conf_format owm_conf_psconfig_format; /* meshconf_psconfig.c */

/* ------------------------------------------------------------ meshconf_jsonpath.c */

typedef struct owm_conf_keys {
    const char *const *keys;
    size_t n;
} owm_conf_keys;

#define OWM_CONF_KEYS(arr) ((owm_conf_keys){(arr), sizeof(arr) / sizeof((arr)[0])})

/* PARENT.KEY, or PARENT['KEY'] when KEY needs quoting; PARENT[INDEX]. */
void owm_conf_path_key(char *out, size_t len, const char *parent, const char *key);
void owm_conf_path_index(char *out, size_t len, const char *parent, size_t index);

/* Shortest text that reads back as the same double ("0.1", "10"). */
void owm_conf_format_double(double v, char *buf, size_t len);

/* OWP_ERR_PARSE "SOURCE: PATH: WHAT". */
owp_status owm_conf_fail(owm_conf_parser *ps, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "SOURCE: PATH: expected WHAT, got VALUE" */
owp_status owm_conf_expected(owm_conf_parser *ps, const char *path, const char *what,
                             const json_t *got);
/* Adds the warning "SOURCE: PATH: WHAT"; fails only for memory. */
owp_status owm_conf_warn(owm_conf_parser *ps, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
owp_status owm_conf_nomem(owm_conf_parser *ps);

/* "a, b, c" from the names at base, base + stride, ...; cut with ", ..."
 * when long; "none defined" when n is 0. */
void owm_conf_join_names(const void *base, size_t n, size_t stride, char *buf, size_t len);

/* Keys starting with '_' are comments and metadata in both formats. */
bool owm_conf_is_comment_key(const char *key);
bool owm_conf_keys_has(owm_conf_keys keys, const char *key);
/* An error for the first key of obj that is neither allowed nor a comment. */
owp_status owm_conf_check_keys(owm_conf_parser *ps, json_t *obj, const char *path,
                               owm_conf_keys allowed);

/* The member key of parent in *v (NULL when absent) and its path in p.
 * Absent is an error "PATH: expected the key "KEY" (MISSING)" unless
 * missing is NULL. */
owp_status owm_conf_member(owm_conf_parser *ps, json_t *parent, const char *key, const char *path,
                           const char *missing, json_t **v, char p[OWM_CONF_PATH_MAX]);
/* Typed members: *out is left NULL (object, string) or unchanged (bool)
 * when an optional one is absent. */
owp_status owm_conf_get_object(owm_conf_parser *ps, json_t *parent, const char *key,
                               const char *path, bool required, json_t **out);
owp_status owm_conf_get_string(owm_conf_parser *ps, json_t *parent, const char *key,
                               const char *path, bool required, const char **out);
owp_status owm_conf_get_bool(owm_conf_parser *ps, json_t *parent, const char *key, const char *path,
                             bool *out);
/* An array member of at least min items (else "expected WHAT"); absent as
 * for owm_conf_member. */
owp_status owm_conf_get_array(owm_conf_parser *ps, json_t *parent, const char *key,
                              const char *path, const char *missing, size_t min, const char *what,
                              json_t **out, char p[OWM_CONF_PATH_MAX]);
/* fn on every item of the array at path, with the item's path, until one fails. */
typedef owp_status (*owm_conf_item_fn)(owm_conf_parser *ps, void *ctx, json_t *item,
                                       const char *path);
owp_status owm_conf_each_item(owm_conf_parser *ps, json_t *arr, const char *path,
                              owm_conf_item_fn fn, void *ctx);
/* An integer in [min, max]: reals such as 600.0 are refused. */
owp_status owm_conf_get_uint(owm_conf_parser *ps, json_t *v, const char *path, json_int_t min,
                             json_int_t max, const char *what, uint32_t *out);
/* A number of seconds in (0, max]. */
owp_status owm_conf_get_seconds(owm_conf_parser *ps, json_t *v, const char *path, double max,
                                const char *what, double *out);

/* index[key] = value, for the name/key/id lookups. */
owp_status owm_conf_index_set(owm_conf_parser *ps, json_t *index, const char *key, size_t value);

/* ------------------------------------------------------------ meshconf_model.c */

/* The four passes: nodes, tests, groups, then tasks (expanded at once). */
owp_status owm_conf_parse_sections(owm_conf_parser *ps);
void owm_conf_parser_free(owm_conf_parser *ps);

/* An entry's name is valid and its value an object (what: "a test object"). */
owp_status owm_conf_check_entry(owm_conf_parser *ps, const char *name, json_t *obj,
                                const char *path, const char *kind, const char *what);

/* A node's "address" into node (address, host, port); *has_port tells
 * whether the address named a port. */
owp_status owm_conf_node_address(owm_conf_parser *ps, owm_node *node, json_t *obj, const char *path,
                                 bool *has_port);
/* The optional "public-key", "owamp-port" and "data-endpoint" of obj. */
owp_status owm_conf_node_extras(owm_conf_parser *ps, owm_node *node, json_t *obj, const char *path,
                                bool address_has_port);
/* Appends a validated node (warning when another has the same server). */
owp_status owm_conf_add_node(owm_conf_parser *ps, const owm_node *node, const char *path);

/* The parameter keys, named as in each format; NULL: not in the format. */
typedef struct owm_conf_param_names {
    const char *interval, *count, *padding, *loss_timeout, *loss_timeout_alt, *bucket_width;
    const char *sub_sessions, *dscp, *tos, *auth;
    bool zero_timeout_is_default; /* pScheduler: 0 means the tool's default */
} owm_conf_param_names;

owp_status owm_conf_parse_params(owm_conf_parser *ps, json_t *obj, const char *path,
                                 const owm_conf_param_names *names, owm_test_params *params);
/* The powstream defaults with no sub-sessions, for a test with no parameters. */
void owm_conf_default_params(owm_test_params *params);
/* "type" of a test: its value in t->type, its path in p. */
owp_status owm_conf_test_type(owm_conf_parser *ps, owm_conf_test *t, json_t *obj, const char *path,
                              char p[OWM_CONF_PATH_MAX]);

/* A node named by the string v (disabled pSConfig addresses: *skip). */
owp_status owm_conf_resolve_name(owm_conf_parser *ps, json_t *v, const char *path, size_t *index,
                                 bool *skip);
/* An array of at least min distinct members, indexes in a malloc'd *out,
 * which is set (for the caller to free) even when this fails. */
owp_status owm_conf_resolve_members(owm_conf_parser *ps, json_t *parent, const char *key,
                                    const char *path, size_t min, size_t **out, size_t *n);
/* The "type" of a group: "mesh", "disjoint" or "list". */
owp_status owm_conf_group_type_of(owm_conf_parser *ps, json_t *obj, const char *path,
                                  owm_conf_group_type *type);
/* A disjoint group's "unidirectional", a side and b side. */
owp_status owm_conf_disjoint_sides(owm_conf_parser *ps, owm_conf_group *g, json_t *obj,
                                   const char *path, const char *a_key, const char *b_key,
                                   size_t min);

/* A task's group and test, then its streams (after any format checks). */
owp_status owm_conf_run_task(owm_conf_parser *ps, const char *name, json_t *obj, const char *path);

/* ------------------------------------------------------------ meshconf_clients.c */

/* The "collectors" and "analysts" sections (after the nodes: names and
 * keys are unique across the three). */
owp_status owm_conf_parse_clients(owm_conf_parser *ps);

/* ------------------------------------------------------------ meshconf.c */

/* Every stream of group g with test t, for the task at path. */
owp_status owm_conf_expand(owm_conf_parser *ps, const owm_conf_group *g, const owm_conf_test *t,
                           const char *task, const char *path);

#endif
