/*
 * stamp_table.h - a bounded table of per-peer state for the STAMP
 * Session-Reflector: the sessions of a stateful reflector (sender address,
 * port and SSID) and the rate buckets of the sources (address alone).
 *
 * Its size is fixed when it is made, so a flood of spoofed sources can fill
 * it but never grow the process; entries nobody touched for a while are
 * swept out. Keys hash with a per-table random seed, so a sender cannot
 * choose addresses that pile into one chain.
 *
 * Not thread-safe: one reflector thread owns it.
 */
#ifndef OWP_STAMP_TABLE_H
#define OWP_STAMP_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

#define OWP_STAMP_TABLE_KEY 20

typedef struct owp_stamp_table owp_stamp_table;

/* A table of at most capacity entries of value_size octets each. */
owp_stamp_table *owp_stamp_table_new(size_t capacity, size_t value_size, owp_err *err);
void owp_stamp_table_destroy(owp_stamp_table **self_p);

/* The key of an address (IPv4 as its v4-mapped IPv6 form, so both
 * spellings of one sender are one key), with its port and an SSID when
 * with_port; 0 when the address is of another family. */
int owp_stamp_table_key(const struct sockaddr *sa, socklen_t len, int with_port, uint16_t ssid,
                        uint8_t key[OWP_STAMP_TABLE_KEY]);

/* The value of key, touched at now (seconds, any clock that only goes
 * forward); made (zeroed, *created = 1) when absent. NULL when the table is
 * full. The pointer is valid until the next call that may remove entries. */
void *owp_stamp_table_get(owp_stamp_table *self, const uint8_t key[OWP_STAMP_TABLE_KEY],
                          double now, int *created);
/* The value of key, touched at now, or NULL when absent. */
void *owp_stamp_table_find(owp_stamp_table *self, const uint8_t key[OWP_STAMP_TABLE_KEY],
                           double now);
/* Remove every entry last touched before older_than; how many went. */
size_t owp_stamp_table_expire(owp_stamp_table *self, double older_than);
size_t owp_stamp_table_count(const owp_stamp_table *self);
size_t owp_stamp_table_capacity(const owp_stamp_table *self);

#endif
