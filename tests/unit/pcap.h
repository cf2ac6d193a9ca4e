/* pcap.h - just enough of a pcap reader for the tests to replay captured OWAMP traffic. */
#ifndef OWP_TEST_PCAP_H
#define OWP_TEST_PCAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct tu_packet {
    int proto;          /* 6 = TCP, 17 = UDP */
    int family;         /* 4 or 6 */
    uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes */
    uint16_t sport, dport;
    uint8_t ttl;        /* IPv4 TTL / IPv6 hop limit */
    uint8_t tos;        /* IPv4 TOS / IPv6 traffic class */
    double time;        /* capture time, seconds */
    const uint8_t *payload;
    size_t len;
} tu_packet;

typedef struct tu_pcap tu_pcap;

/* Load a whole capture (classic pcap, Ethernet / Linux cooked / loopback / raw
 * link types). Aborts the running Check test on any failure. */
tu_pcap *tu_pcap_load(const char *path);
void tu_pcap_free(tu_pcap **self_p);
size_t tu_pcap_count(const tu_pcap *self);
const tu_packet *tu_pcap_get(const tu_pcap *self, size_t i);

/* Concatenated TCP payload sent from port sport to port dport, in capture
 * order, skipping retransmitted bytes (by sequence number). malloc'd. */
uint8_t *tu_pcap_tcp_stream(const tu_pcap *self, uint16_t sport, uint16_t dport, size_t *len);

#endif
