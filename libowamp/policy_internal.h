/*
 * policy_internal.h - what the three files of the limits engine share, and
 * nothing else includes: the layout of owp_limits (classes and assign rules)
 * and the array-growing helper.
 *
 *   policy_parse.c   builds an owp_limits from owampd.limits text
 *   policy.c         reads it: lifetime, class accessors, class resolution
 *   policy_ledger.c  what a session costs, and the ledger that charges it
 */
#ifndef OWP_POLICY_INTERNAL_H
#define OWP_POLICY_INTERNAL_H

#include "policy.h"

struct owp_limits_class {
    char name[OWP_LIMITS_CLASS_NAME_MAX + 1];
    const owp_limits_class *parent;
    owp_limit_values values;
    size_t index; /* position in owp_limits.classes: the ledger's counter index */
};

typedef struct net_rule {
    int v6;          /* 0: IPv4 (4 bytes used), 1: IPv6 */
    uint8_t addr[16];
    unsigned bits;
    const owp_limits_class *cls;
    size_t line;
} net_rule;

typedef struct user_rule {
    char identity[OWP_PFS_IDENTITY_MAX + 1];
    const owp_limits_class *cls;
    size_t line;
} user_rule;

struct owp_limits {
    owp_limits_class **classes; /* pointers, so classes never move */
    size_t nclasses, cap_classes;
    net_rule *nets;
    size_t nnets, cap_nets;
    user_rule *users;
    size_t nusers, cap_users;
    const owp_limits_class *default_class; /* "assign default", or NULL */
    const char *warning;
};

/* Room for one more element in *array (n used, *cap allocated, elem bytes
 * each): 0, or -1 when out of memory (the array is left as it was). */
int owp_limits_grow(void **array, size_t *cap, size_t n, size_t elem);

#endif
