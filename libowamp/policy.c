/*
 * policy.c - reading a loaded owamp-server.limits: its lifetime, the class
 * tree's accessors and paths, and class resolution for a connection by
 * address or identity (programs.md sections 3 and 1.5). The parser that
 * builds an owp_limits is policy_parse.c; the resource ledger is
 * policy_ledger.c.
 */
#include "policy_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* ================================================================ storage */

int owp_limits_grow(void **array, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*array, ncap * elem);
    if (!p)
        return -1;
    *array = p;
    *cap = ncap;
    return 0;
}

void owp_limits_destroy(owp_limits **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_limits *self = *self_p;
    for (size_t i = 0; i < self->nclasses; i++)
        free(self->classes[i]);
    free(self->classes);
    free(self->nets);
    free(self->users);
    free(self);
    *self_p = NULL;
}

const char *owp_limits_warning(const owp_limits *self)
{
    return self ? self->warning : NULL;
}

/* ================================================================ classes */

size_t owp_limits_class_count(const owp_limits *self)
{
    return self ? self->nclasses : 0;
}

const owp_limits_class *owp_limits_class_at(const owp_limits *self, size_t index)
{
    return self && index < self->nclasses ? self->classes[index] : NULL;
}

const owp_limits_class *owp_limits_root(const owp_limits *self)
{
    return owp_limits_class_at(self, 0);
}

const owp_limits_class *owp_limits_class_find(const owp_limits *self, const char *name)
{
    if (!self || !name)
        return NULL;
    for (size_t i = 0; i < self->nclasses; i++)
        if (strcmp(self->classes[i]->name, name) == 0)
            return self->classes[i];
    return NULL;
}

const char *owp_limits_class_name(const owp_limits_class *cls)
{
    return cls ? cls->name : NULL;
}

const owp_limits_class *owp_limits_class_parent(const owp_limits_class *cls)
{
    return cls ? cls->parent : NULL;
}

const owp_limit_values *owp_limits_class_values(const owp_limits_class *cls)
{
    return cls ? &cls->values : NULL;
}

int owp_limits_class_path(const owp_limits_class *cls, char *buf, size_t len)
{
    if (!buf || len == 0)
        return -1;
    buf[0] = '\0';
    if (!cls)
        return -1;
    /* Length first, then fill from the end: the chain is walked child to root. */
    size_t need = 0;
    for (const owp_limits_class *c = cls; c; c = c->parent)
        need += strlen(c->name) + (c->parent ? 1 : 0);
    if (need + 1 > len)
        return -1;
    size_t end = need;
    buf[end] = '\0';
    for (const owp_limits_class *c = cls; c; c = c->parent) {
        size_t n = strlen(c->name);
        end -= n;
        memcpy(buf + end, c->name, n);
        if (c->parent)
            buf[--end] = '/';
    }
    return 0;
}

const owp_limits_class *owp_limits_class_by_path(const owp_limits *self,
                                                 const char *class_path)
{
    if (!self || !class_path)
        return NULL;
    const char *last = strrchr(class_path, '/');
    const owp_limits_class *cls = owp_limits_class_find(self, last ? last + 1 : class_path);
    /* Walk the chain from the class up, matching the path from its end. */
    size_t n = strlen(class_path);
    for (const owp_limits_class *c = cls; c; c = c->parent) {
        size_t k = strlen(c->name);
        if (k > n || memcmp(class_path + n - k, c->name, k) != 0)
            return NULL;
        n -= k;
        if (c->parent) {
            if (n == 0 || class_path[n - 1] != '/')
                return NULL;
            n--;
        }
    }
    return cls && n == 0 ? cls : NULL;
}

/* ================================================================ resolution */

/* The address as 4 (IPv4, also for IPv4-mapped IPv6) or 16 bytes. */
static int addr_bytes(const struct sockaddr *sa, socklen_t len, uint8_t out[16], int *v6)
{
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memcpy(out, &s4->sin_addr, 4);
        *v6 = 0;
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            memcpy(out, &s6->sin6_addr.s6_addr[12], 4);
            *v6 = 0;
        } else {
            memcpy(out, s6->sin6_addr.s6_addr, 16);
            *v6 = 1;
        }
        return 0;
    }
    return -1;
}

static int prefix_matches(const uint8_t *addr, const uint8_t *net, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(addr, net, whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
    return (addr[whole] & mask) == (net[whole] & mask);
}

static const owp_limits_class *default_or_root(const owp_limits *self)
{
    return self->default_class ? self->default_class : owp_limits_root(self);
}

const owp_limits_class *owp_limits_class_for_addr(const owp_limits *self,
                                                  const struct sockaddr *addr,
                                                  socklen_t addr_len)
{
    if (!self)
        return NULL;
    uint8_t bytes[16];
    int v6 = 0;
    if (addr_bytes(addr, addr_len, bytes, &v6) != 0)
        return default_or_root(self);
    const net_rule *best = NULL;
    for (size_t i = 0; i < self->nnets; i++) {
        const net_rule *r = &self->nets[i];
        if (r->v6 == v6 && (!best || r->bits > best->bits) &&
            prefix_matches(bytes, r->addr, r->bits))
            best = r;
    }
    return best ? best->cls : default_or_root(self);
}

const owp_limits_class *owp_limits_class_for_conn(const owp_limits *self,
                                                  const struct sockaddr *addr,
                                                  socklen_t addr_len, uint32_t mode,
                                                  const char *identity)
{
    if (!self)
        return NULL;
    /* TWAMP's mixed mode authenticates its control connection like E. */
    int authenticated = (mode & (OWP_MODE_AUTH | OWP_MODE_ENCRYPTED | OWP_MODE_MIXED)) != 0;
    if (authenticated && identity && identity[0]) {
        const owp_limits_class *named = owp_limits_class_find(self, identity);
        if (named)
            return named;
        for (size_t i = 0; i < self->nusers; i++)
            if (strcmp(self->users[i].identity, identity) == 0)
                return self->users[i].cls;
    }
    return owp_limits_class_for_addr(self, addr, addr_len);
}

int owp_limits_allow_open_mode(const owp_limits *self, const struct sockaddr *addr,
                               socklen_t addr_len)
{
    const owp_limits_class *cls = owp_limits_class_for_addr(self, addr, addr_len);
    return cls ? cls->values.allow_open_mode : 1;
}
