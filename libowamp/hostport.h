/*
 * hostport.h - host operands and addresses: "node", "node:port",
 * "[v6addr]:port", "[v6addr]", link-local "fe80::1%eth0", and the 16-byte
 * address form of Request-Session.
 */
#ifndef OWP_HOSTPORT_H
#define OWP_HOSTPORT_H

#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

typedef struct owp_hostport {
    char host[256]; /* without brackets; may be empty (wildcard) */
    char port[16];  /* empty when not given */
} owp_hostport;

/* Split an operand; does not resolve. */
owp_status owp_hostport_parse(const char *text, owp_hostport *hp, owp_err *err);

/* Resolve with getaddrinfo. family AF_UNSPEC tries IPv6 first (as the
 * reference does), then IPv4. default_port used when hp has none.
 * passive: wildcard when host is empty. */
owp_status owp_hostport_resolve(const owp_hostport *hp, const char *default_port, int family,
                                int socktype, int passive, struct sockaddr_storage *out,
                                socklen_t *outlen, owp_err *err);

/* Numeric "addr:port" / "[v6]:port" for messages and logs. */
void owp_sockaddr_format(const struct sockaddr *sa, char *buf, unsigned len);
/* Numeric address only. */
void owp_sockaddr_format_addr(const struct sockaddr *sa, char *buf, unsigned len);
/* Reverse lookup, falling back to numeric (as owstats prints hosts). */
void owp_sockaddr_name(const struct sockaddr *sa, char *buf, unsigned len);

uint16_t owp_sockaddr_port(const struct sockaddr *sa);
void owp_sockaddr_set_port(struct sockaddr *sa, uint16_t port);
/* Same address (port ignored); IPv4-mapped IPv6 equals the IPv4 address. */
int owp_sockaddr_same_addr(const struct sockaddr *a, const struct sockaddr *b);

/* Request-Session address fields: IPv4 in the first 4 bytes, rest zero. */
void owp_sockaddr_to_wire(const struct sockaddr *sa, uint8_t *ipvn, uint8_t addr[16]);
owp_status owp_sockaddr_from_wire(uint8_t ipvn, const uint8_t addr[16], uint16_t port,
                                  struct sockaddr_storage *out, socklen_t *outlen, owp_err *err);

#endif
