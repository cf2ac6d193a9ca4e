/*
 * pcap.c - a small reader of classic pcap files for replaying captured OWAMP
 * traffic in the tests: both byte orders, µs and ns timestamps; Ethernet,
 * Linux cooked (SLL), BSD loopback/null and raw IP link types; IPv4 and IPv6
 * (extension headers skipped); TCP and UDP. Anything else in the capture
 * (ARP, ICMP, fragments) is skipped; a malformed capture aborts the test.
 */
#include "pcap.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MAGIC_USEC 0xa1b2c3d4u
#define MAGIC_NSEC 0xa1b23c4du

#define LINK_NULL 0
#define LINK_ETHERNET 1
#define LINK_RAW 101
#define LINK_LOOP 108 /* OpenBSD loopback: like null, family in network order */
#define LINK_SLL 113
#define LINK_IPV4 228
#define LINK_IPV6 229

#define TCP_FLAG_SYN 0x02

/* A packet plus what only the stream reassembly needs. */
typedef struct pcap_rec {
    tu_packet pkt;
    uint32_t tcp_seq;
    uint8_t tcp_flags;
} pcap_rec;

struct tu_pcap {
    uint8_t *data; /* the whole file; payload pointers point into it */
    size_t size;
    pcap_rec *recs;
    size_t count, cap;
};

/* Where we are in the file, for messages. */
typedef struct cursor {
    const char *path;
    size_t recno;
} cursor;

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static pcap_rec *new_rec(tu_pcap *self)
{
    if (self->count == self->cap) {
        self->cap = self->cap ? 2 * self->cap : 64;
        self->recs = realloc(self->recs, self->cap * sizeof *self->recs);
        ck_assert_ptr_nonnull(self->recs);
    }
    pcap_rec *r = &self->recs[self->count];
    memset(r, 0, sizeof *r);
    return r;
}

/* Transport header at p (len bytes up to the end of the IP payload). The
 * record is committed only when it is TCP or UDP. */
static void parse_transport(tu_pcap *self, const cursor *cur, pcap_rec *r, int proto,
                            const uint8_t *p, size_t len)
{
    if (proto == 17) {
        if (len < 8)
            ck_abort_msg("%s: record %zu: UDP header truncated (%zu bytes)", cur->path,
                         cur->recno, len);
        size_t ulen = be16(p + 4);
        if (ulen < 8 || ulen > len)
            ck_abort_msg("%s: record %zu: UDP length %zu, %zu bytes available", cur->path,
                         cur->recno, ulen, len);
        r->pkt.sport = be16(p);
        r->pkt.dport = be16(p + 2);
        r->pkt.payload = p + 8;
        r->pkt.len = ulen - 8;
    } else if (proto == 6) {
        if (len < 20)
            ck_abort_msg("%s: record %zu: TCP header truncated (%zu bytes)", cur->path,
                         cur->recno, len);
        size_t hlen = (size_t)(p[12] >> 4) * 4;
        if (hlen < 20 || hlen > len)
            ck_abort_msg("%s: record %zu: TCP header length %zu, %zu bytes available",
                         cur->path, cur->recno, hlen, len);
        r->pkt.sport = be16(p);
        r->pkt.dport = be16(p + 2);
        r->tcp_seq = be32(p + 4);
        r->tcp_flags = p[13];
        r->pkt.payload = p + hlen;
        r->pkt.len = len - hlen;
    } else {
        return; /* ICMP and friends: not ours */
    }
    r->pkt.proto = proto;
    self->count++;
}

static void parse_ipv4(tu_pcap *self, const cursor *cur, pcap_rec *r, const uint8_t *p,
                       size_t len)
{
    if (len < 20)
        ck_abort_msg("%s: record %zu: IPv4 header truncated", cur->path, cur->recno);
    size_t hlen = (size_t)(p[0] & 0x0f) * 4;
    size_t total = be16(p + 2);
    /* total bounds the packet: link layers may pad short frames. */
    if (hlen < 20 || total < hlen || total > len)
        ck_abort_msg("%s: record %zu: IPv4 header length %zu, total %zu, %zu captured",
                     cur->path, cur->recno, hlen, total, len);
    uint16_t frag = be16(p + 6);
    if (frag & 0x3fff)
        return; /* fragments (MF set or offset != 0) are never OWAMP traffic we replay */
    r->pkt.family = 4;
    r->pkt.tos = p[1];
    r->pkt.ttl = p[8];
    memcpy(r->pkt.src, p + 12, 4);
    memcpy(r->pkt.dst, p + 16, 4);
    parse_transport(self, cur, r, p[9], p + hlen, total - hlen);
}

static void parse_ipv6(tu_pcap *self, const cursor *cur, pcap_rec *r, const uint8_t *p,
                       size_t len)
{
    if (len < 40)
        ck_abort_msg("%s: record %zu: IPv6 header truncated", cur->path, cur->recno);
    size_t plen = be16(p + 4);
    if (plen > len - 40)
        ck_abort_msg("%s: record %zu: IPv6 payload length %zu, %zu captured", cur->path,
                     cur->recno, plen, len - 40);
    r->pkt.family = 6;
    r->pkt.tos = (uint8_t)((p[0] & 0x0f) << 4 | p[1] >> 4);
    r->pkt.ttl = p[7];
    memcpy(r->pkt.src, p + 8, 16);
    memcpy(r->pkt.dst, p + 24, 16);
    int next = p[6];
    const uint8_t *q = p + 40;
    size_t left = plen;
    for (;;) {
        size_t ext;
        if (next == 0 || next == 43 || next == 60) { /* hop-by-hop, routing, dest. options */
            if (left < 8)
                break;
            ext = ((size_t)q[1] + 1) * 8;
        } else if (next == 44) { /* fragment */
            if (left < 8)
                break;
            if (be16(q + 2) & 0xfff9)
                return; /* a fragment of a larger packet */
            ext = 8;
        } else if (next == 51) { /* authentication header */
            if (left < 8)
                break;
            ext = ((size_t)q[1] + 2) * 4;
        } else {
            parse_transport(self, cur, r, next, q, left);
            return;
        }
        if (ext > left)
            break;
        next = q[0];
        q += ext;
        left -= ext;
    }
    ck_abort_msg("%s: record %zu: IPv6 extension header truncated", cur->path, cur->recno);
}

static void parse_ip(tu_pcap *self, const cursor *cur, pcap_rec *r, const uint8_t *p,
                     size_t len)
{
    if (len < 1)
        return;
    if (p[0] >> 4 == 4)
        parse_ipv4(self, cur, r, p, len);
    else if (p[0] >> 4 == 6)
        parse_ipv6(self, cur, r, p, len);
}

/* Ethertype-style dispatch shared by Ethernet and Linux cooked captures. */
static void parse_ethertype(tu_pcap *self, const cursor *cur, pcap_rec *r, uint16_t type,
                            const uint8_t *p, size_t len)
{
    if (type == 0x0800 || type == 0x86dd)
        parse_ip(self, cur, r, p, len);
}

/* Loopback address families: AF_INET is 2 everywhere, AF_INET6 differs by OS. */
static int null_family_is_ip(uint32_t af)
{
    return af == 2 || af == 10 || af == 24 || af == 28 || af == 30;
}

static void parse_frame(tu_pcap *self, const cursor *cur, uint32_t linktype, pcap_rec *r,
                        const uint8_t *p, size_t len)
{
    switch (linktype) {
    case LINK_ETHERNET: {
        if (len < 14)
            ck_abort_msg("%s: record %zu: Ethernet header truncated", cur->path, cur->recno);
        size_t off = 12;
        uint16_t type = be16(p + off);
        while ((type == 0x8100 || type == 0x88a8) && off + 6 <= len) { /* VLAN tags */
            off += 4;
            type = be16(p + off);
        }
        parse_ethertype(self, cur, r, type, p + off + 2, len - off - 2);
        break;
    }
    case LINK_SLL:
        if (len < 16)
            ck_abort_msg("%s: record %zu: Linux cooked header truncated", cur->path,
                         cur->recno);
        parse_ethertype(self, cur, r, be16(p + 14), p + 16, len - 16);
        break;
    case LINK_NULL:
    case LINK_LOOP:
        if (len < 4)
            ck_abort_msg("%s: record %zu: loopback header truncated", cur->path, cur->recno);
        /* The family is in the capturing host's byte order (network order
         * for LOOP); accept either reading. */
        if (null_family_is_ip(le32(p)) || null_family_is_ip(be32(p)))
            parse_ip(self, cur, r, p + 4, len - 4);
        break;
    case LINK_RAW:
    case LINK_IPV4:
    case LINK_IPV6:
        parse_ip(self, cur, r, p, len);
        break;
    default:
        ck_abort_msg("%s: unsupported link type %u", cur->path, linktype);
    }
}

tu_pcap *tu_pcap_load(const char *path)
{
    tu_pcap *self = calloc(1, sizeof *self);
    ck_assert_ptr_nonnull(self);
    self->data = (uint8_t *)tu_read_file(path, &self->size);
    const uint8_t *d = self->data;
    if (self->size < 24)
        ck_abort_msg("%s: %zu bytes, too short for a pcap header", path, self->size);

    uint32_t (*rd32)(const uint8_t *) = le32;
    uint32_t magic = le32(d);
    if (magic != MAGIC_USEC && magic != MAGIC_NSEC) {
        rd32 = be32;
        magic = be32(d);
    }
    if (magic != MAGIC_USEC && magic != MAGIC_NSEC)
        ck_abort_msg("%s: not a classic pcap file (magic %08x; pcapng is not supported)", path,
                     be32(d));
    double frac_unit = magic == MAGIC_NSEC ? 1e-9 : 1e-6;
    uint32_t linktype = rd32(d + 20) & 0x03ffffff; /* upper bits: FCS information */

    cursor cur = {path, 0};
    size_t off = 24;
    while (off < self->size) {
        if (self->size - off < 16)
            ck_abort_msg("%s: record %zu: header truncated at offset %zu", path, cur.recno,
                         off);
        uint32_t sec = rd32(d + off), frac = rd32(d + off + 4), incl = rd32(d + off + 8);
        off += 16;
        if (incl > self->size - off)
            ck_abort_msg("%s: record %zu: %u bytes claimed, %zu left in the file", path,
                         cur.recno, incl, self->size - off);
        pcap_rec *r = new_rec(self);
        r->pkt.time = sec + frac * frac_unit;
        parse_frame(self, &cur, linktype, r, d + off, incl);
        off += incl;
        cur.recno++;
    }
    return self;
}

void tu_pcap_free(tu_pcap **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->recs);
    free((*self_p)->data);
    free(*self_p);
    *self_p = NULL;
}

size_t tu_pcap_count(const tu_pcap *self)
{
    return self->count;
}

const tu_packet *tu_pcap_get(const tu_pcap *self, size_t i)
{
    ck_assert_msg(i < self->count, "packet %zu of a %zu-packet capture", i, self->count);
    return &self->recs[i].pkt;
}

static int in_stream(const pcap_rec *r, uint16_t sport, uint16_t dport)
{
    return r->pkt.proto == 6 && r->pkt.sport == sport && r->pkt.dport == dport;
}

/* Sequence numbers are relative to the SYN (its ISN + 1) when the capture
 * has it, else to the first segment; data before that is ignored. Segments
 * are then laid out by offset, so retransmissions and overlaps contribute
 * only bytes not yet delivered, and out-of-order segments fall in place. */
uint8_t *tu_pcap_tcp_stream(const tu_pcap *self, uint16_t sport, uint16_t dport, size_t *len)
{
    int have_base = 0;
    uint32_t base = 0;
    size_t total_guess = 0;
    for (size_t i = 0; i < self->count; i++) {
        const pcap_rec *r = &self->recs[i];
        if (!in_stream(r, sport, dport))
            continue;
        if (r->tcp_flags & TCP_FLAG_SYN) {
            base = r->tcp_seq + 1;
            have_base = 1;
            break;
        }
        if (!have_base && r->pkt.len > 0) {
            base = r->tcp_seq;
            have_base = 1;
        }
    }
    for (size_t i = 0; i < self->count; i++)
        if (in_stream(&self->recs[i], sport, dport))
            total_guess += self->recs[i].pkt.len;

    uint8_t *out = malloc(total_guess + 1);
    ck_assert_ptr_nonnull(out);
    size_t next = 0; /* bytes delivered so far */
    int progress = 1;
    while (progress) {
        progress = 0;
        for (size_t i = 0; i < self->count; i++) {
            const pcap_rec *r = &self->recs[i];
            if (!in_stream(r, sport, dport) || r->pkt.len == 0)
                continue;
            int64_t start = (int32_t)(r->tcp_seq - base);
            int64_t end = start + (int64_t)r->pkt.len;
            if (end <= (int64_t)next || start > (int64_t)next)
                continue; /* already delivered, or beyond a hole for now */
            size_t skip = (size_t)((int64_t)next - start);
            size_t add = r->pkt.len - skip;
            ck_assert_msg(next + add <= total_guess, "TCP stream %u->%u overflows", sport,
                          dport);
            memcpy(out + next, r->pkt.payload + skip, add);
            next += add;
            progress = 1;
        }
    }
    for (size_t i = 0; i < self->count; i++) {
        const pcap_rec *r = &self->recs[i];
        if (in_stream(r, sport, dport) && r->pkt.len > 0
            && (int64_t)(int32_t)(r->tcp_seq - base) > (int64_t)next)
            ck_abort_msg("TCP stream %u->%u: bytes missing from the capture after offset %zu",
                         sport, dport, next);
    }
    *len = next;
    return out;
}
