/*
 * hostport.c - host operands, name resolution, address formatting and the
 * Request-Session address form (programs.md §0, owamp-wire.md).
 */
#include "hostport.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* A port is a decimal number 0-65535 or a service name for getaddrinfo. */
static int valid_port(const char *p)
{
    if (*p == '\0')
        return 0;
    int digits = 1;
    for (const char *s = p; *s; s++) {
        if (!isdigit((unsigned char)*s))
            digits = 0;
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return 0;
    }
    if (digits) {
        unsigned long v = 0;
        for (const char *s = p; *s; s++) {
            v = v * 10 + (unsigned long)(*s - '0');
            if (v > 65535)
                return 0;
        }
    }
    return 1;
}

/* Host names and address literals never hold blanks, brackets or '/'. */
static int valid_host_chars(const char *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (isspace(c) || !isprint(c) || c == '[' || c == ']' || c == '/')
            return 0;
    }
    return 1;
}

static owp_status store_part(char *dst, size_t cap, const char *src, size_t n, const char *text,
                             const char *what, owp_err *err)
{
    if (n >= cap)
        return owp_err_set(err, OWP_ERR_PARSE, "address \"%s\": %s longer than %zu characters",
                           text, what, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return OWP_OK;
}

owp_status owp_hostport_parse(const char *text, owp_hostport *hp, owp_err *err)
{
    if (!text || !hp)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_hostport_parse: NULL argument");
    owp_hostport r;
    memset(&r, 0, sizeof r);
    const char *host = text, *port = NULL;
    size_t hostlen;

    if (text[0] == '[') {
        /* [v6addr] or [v6addr]:port */
        const char *close = strchr(text, ']');
        if (!close)
            return owp_err_set(err, OWP_ERR_PARSE,
                               "address \"%s\": missing ']' after the IPv6 address", text);
        host = text + 1;
        hostlen = (size_t)(close - host);
        if (hostlen == 0)
            return owp_err_set(err, OWP_ERR_PARSE, "address \"%s\": empty brackets", text);
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0')
            return owp_err_set(err, OWP_ERR_PARSE,
                               "address \"%s\": expected ':port' or nothing after ']'", text);
    } else {
        const char *colon = strchr(text, ':');
        if (colon && strchr(colon + 1, ':')) {
            /* Two or more colons without brackets: a bare IPv6 literal
             * (possibly fe80::1%eth0); a port would be ambiguous. */
            hostlen = strlen(text);
        } else if (colon) {
            hostlen = (size_t)(colon - text);
            port = colon + 1;
        } else {
            hostlen = strlen(text);
        }
    }
    if (!valid_host_chars(host, hostlen))
        return owp_err_set(err, OWP_ERR_PARSE,
                           "address \"%s\": invalid character in host name", text);
    if (port && !valid_port(port))
        return owp_err_set(err, OWP_ERR_PARSE,
                           "address \"%s\": expected a port number 0-65535 or service name "
                           "after ':'", text);
    owp_status st = store_part(r.host, sizeof r.host, host, hostlen, text, "host", err);
    if (st == OWP_OK && port)
        st = store_part(r.port, sizeof r.port, port, strlen(port), text, "port", err);
    if (st != OWP_OK)
        return st;
    *hp = r;
    return OWP_OK;
}

/* Of getaddrinfo's answers take the first of the wanted family; with
 * AF_UNSPEC the first IPv6 answer, else the first IPv4 one. */
static const struct addrinfo *pick_address(const struct addrinfo *list, int family)
{
    static const int unspec_order[] = {AF_INET6, AF_INET};
    if (family != AF_UNSPEC) {
        for (const struct addrinfo *ai = list; ai; ai = ai->ai_next)
            if (ai->ai_family == family)
                return ai;
        return NULL;
    }
    for (size_t i = 0; i < 2; i++)
        for (const struct addrinfo *ai = list; ai; ai = ai->ai_next)
            if (ai->ai_family == unspec_order[i])
                return ai;
    return NULL;
}

owp_status owp_hostport_resolve(const owp_hostport *hp, const char *default_port, int family,
                                int socktype, int passive, struct sockaddr_storage *out,
                                socklen_t *outlen, owp_err *err)
{
    if (!hp || !out || !outlen)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_hostport_resolve: NULL argument");
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_hostport_resolve: bad family %d", family);
    const char *node = hp->host[0] ? hp->host : NULL;
    const char *service = hp->port[0] ? hp->port : default_port;
    /* getaddrinfo refuses a call with neither node nor service; a wildcard
     * without a port means "any port". */
    if (!node && !service)
        service = "0";
    struct addrinfo hints, *list = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_flags = passive ? AI_PASSIVE : 0;

    int rc = getaddrinfo(node, service, &hints, &list);
    if (rc != 0) {
        const char *why = rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc);
        return owp_err_set(err, rc == EAI_SYSTEM ? OWP_ERR_SYS : OWP_ERR_INVALID,
                           "unable to resolve \"%s%s%s\": %s", node ? node : "*",
                           service ? ":" : "", service ? service : "", why);
    }
    const struct addrinfo *ai = pick_address(list, family);
    owp_status st = OWP_OK;
    if (!ai || ai->ai_addrlen > sizeof *out) {
        st = owp_err_set(err, OWP_ERR_INVALID, "unable to resolve \"%s\": no %s address",
                         node ? node : "*",
                         family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "IP");
    } else {
        memset(out, 0, sizeof *out);
        memcpy(out, ai->ai_addr, ai->ai_addrlen);
        *outlen = ai->ai_addrlen;
    }
    freeaddrinfo(list);
    return st;
}

static void copy_out(char *buf, unsigned len, const char *s)
{
    if (buf && len)
        snprintf(buf, len, "%s", s);
}

static socklen_t sockaddr_len(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return sizeof(struct sockaddr_in);
    if (sa->sa_family == AF_INET6)
        return sizeof(struct sockaddr_in6);
    return 0;
}

/* getnameinfo into host; flags add NI_NUMERICHOST or NI_NAMEREQD. */
static int name_of(const struct sockaddr *sa, char *host, size_t hostlen, int flags)
{
    socklen_t salen = sockaddr_len(sa);
    if (!salen)
        return -1;
    return getnameinfo(sa, salen, host, (socklen_t)hostlen, NULL, 0, flags) == 0 ? 0 : -1;
}

void owp_sockaddr_format_addr(const struct sockaddr *sa, char *buf, unsigned len)
{
    char host[NI_MAXHOST];
    if (!sa || name_of(sa, host, sizeof host, NI_NUMERICHOST) != 0)
        copy_out(buf, len, "(unknown address)");
    else
        copy_out(buf, len, host);
}

void owp_sockaddr_format(const struct sockaddr *sa, char *buf, unsigned len)
{
    char host[NI_MAXHOST];
    if (!sa || name_of(sa, host, sizeof host, NI_NUMERICHOST) != 0) {
        copy_out(buf, len, "(unknown address)");
        return;
    }
    if (buf && len) {
        if (sa->sa_family == AF_INET6)
            snprintf(buf, len, "[%s]:%u", host, (unsigned)owp_sockaddr_port(sa));
        else
            snprintf(buf, len, "%s:%u", host, (unsigned)owp_sockaddr_port(sa));
    }
}

void owp_sockaddr_name(const struct sockaddr *sa, char *buf, unsigned len)
{
    char host[NI_MAXHOST];
    if (sa && name_of(sa, host, sizeof host, NI_NAMEREQD) == 0)
        copy_out(buf, len, host);
    else
        owp_sockaddr_format_addr(sa, buf, len);
}

uint16_t owp_sockaddr_port(const struct sockaddr *sa)
{
    if (!sa)
        return 0;
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
    return 0;
}

void owp_sockaddr_set_port(struct sockaddr *sa, uint16_t port)
{
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        ((struct sockaddr_in *)(void *)sa)->sin_port = htons(port);
    else if (sa->sa_family == AF_INET6)
        ((struct sockaddr_in6 *)(void *)sa)->sin6_port = htons(port);
}

/* The IPv4 address of sa, also when it is an IPv4-mapped IPv6 address.
 * Returns 1 and fills v4 (network order bytes) or 0. */
static int ipv4_of(const struct sockaddr *sa, uint8_t v4[4])
{
    if (sa->sa_family == AF_INET) {
        memcpy(v4, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return 1;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(v4, a->s6_addr + 12, 4);
            return 1;
        }
    }
    return 0;
}

int owp_sockaddr_same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    if (!a || !b)
        return 0;
    uint8_t va[4], vb[4];
    int a4 = ipv4_of(a, va), b4 = ipv4_of(b, vb);
    if (a4 || b4)
        return a4 && b4 && memcmp(va, vb, 4) == 0;
    if (a->sa_family != AF_INET6 || b->sa_family != AF_INET6)
        return 0;
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)(const void *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)(const void *)b;
    if (memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) != 0)
        return 0;
    /* A link-local address names a different host on another interface;
     * an unset scope (0) matches any. */
    return x->sin6_scope_id == 0 || y->sin6_scope_id == 0 ||
           x->sin6_scope_id == y->sin6_scope_id;
}

void owp_sockaddr_to_wire(const struct sockaddr *sa, uint8_t *ipvn, uint8_t addr[16])
{
    uint8_t v4[4];
    memset(addr, 0, 16);
    *ipvn = 0;
    if (!sa)
        return;
    if (ipv4_of(sa, v4)) {
        *ipvn = 4;
        memcpy(addr, v4, 4);
    } else if (sa->sa_family == AF_INET6) {
        *ipvn = 6;
        memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    }
}

owp_status owp_sockaddr_from_wire(uint8_t ipvn, const uint8_t addr[16], uint16_t port,
                                  struct sockaddr_storage *out, socklen_t *outlen, owp_err *err)
{
    if (!addr || !out || !outlen)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_sockaddr_from_wire: NULL argument");
    memset(out, 0, sizeof *out);
    if (ipvn == 4) {
        /* Only the first 4 bytes count; the reference ignores the rest. */
        struct sockaddr_in *sin = (struct sockaddr_in *)(void *)out;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, addr, 4);
        *outlen = sizeof *sin;
        return OWP_OK;
    }
    if (ipvn == 6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)out;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        memcpy(&sin6->sin6_addr, addr, 16);
        *outlen = sizeof *sin6;
        return OWP_OK;
    }
    return owp_err_set(err, OWP_ERR_PROTO, "address field has IPVN %u (expected 4 or 6)",
                       (unsigned)ipvn);
}
