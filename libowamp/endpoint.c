/*
 * endpoint.c - the UDP side of a test session (RFC 4656 section 4).
 *
 * Sender: packet i is due at start + delta_0 + ... + delta_i. The loop
 * prepares the packet, sleeps on CLOCK_REALTIME (absolute) until a little
 * before the due instant, spins the last stretch, then takes the timestamp,
 * seals and sends. Timer wake-ups are late by the timer slack plus scheduling
 * latency; sleeping short of the target and spinning removes that lateness
 * without burning a core between packets.
 *
 * Receiver: kernel receive timestamps (SO_TIMESTAMPNS) and TTLs (IP_RECVTTL /
 * IPV6_RECVHOPLIMIT) from recvmsg's control data. One bit per seq records
 * arrivals; a cursor walks the schedule in seq order (which is also deadline
 * order, since offsets only grow) and reports each seq that has neither
 * arrived nor will count any more (scheduled time + timeout passed) as lost.
 * Each seq is passed by the cursor once, so loss detection is O(1) amortised.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* explicit_bzero, getrandom, SO_BINDTODEVICE */
#endif
#include "endpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "sendsched.h"
#include "timestamp.h"

/* How often the loops look at the stop flag while idle (waiting for the
 * start, or for a late packet). Every such wake-up costs a context switch:
 * with a thousand sessions at once, 20 ms made as many idle wake-ups as
 * there were packets; 50 ms still stops a session well within 0.1 s. */
#define STOP_POLL_MS 50
#define STOP_POLL_NS (STOP_POLL_MS * 1000000ull)
/* The sender sleeps until a margin before a packet is due, then spins. With
 * the timer slack at 1 ns, wake-ups are typically 5-40 us late, with a tail
 * that grows with the machine's load. The margin follows what it sees: it
 * jumps to cover a late wake-up (plus a guard) and decays back slowly, within
 * [MIN, MAX]. Spinning costs about margin / interval of one core; MAX bounds
 * that cost when the lateness is preemption no margin could hide.
 *
 * Spinning only pays while a core would otherwise idle. On a loaded machine
 * it takes the CPU from the very processes it waits with: a thousand
 * senders on two cores would need more CPU for spinning than there is. So
 * the sender sleeps right up to the due time, without spinning:
 *   - while more threads are runnable than this thread may use CPUs (the
 *     running count of /proc/loadavg, read at most every LOAD_CHECK_NS);
 *   - for SPIN_BACKOFF_NS once wake-ups later than SPIN_MAX_NS become
 *     the rule (over half of the recent ones): this process is not
 *     getting a CPU when it asks, which no margin can hide. A single one is
 *     no sign of that: a virtual machine's idle jitter alone has a tail
 *     reaching milliseconds;
 *   - when the wake-up is already at or past the due time.
 * Its lateness is then the wake-up latency (tens of microseconds to a few
 * milliseconds under such load) instead of a starved machine's. */
#define SPIN_MIN_NS 30000ull
#define SPIN_START_NS 60000ull
#define SPIN_MAX_NS 300000ull
#define SPIN_GUARD_NS 15000ull
#define SPIN_DECAY_SHIFT 5 /* lose 1/32 of the excess over MIN per wake-up */
#define SPIN_BACKOFF_NS 1000000000ull
/* Share of recent wake-ups later than SPIN_MAX_NS, in 1/256: each wake-up
 * moves it 1/8 of the way towards 256 (late) or 0 (not late). */
#define LATE_SHARE_ONE 256u
#define LATE_SHARE_SHIFT 3
#define LATE_SHARE_BACKOFF (LATE_SHARE_ONE / 2)
#define LOAD_CHECK_NS 250000000ull
/* Receive buffer asked for: a burst of a few thousand packets. The kernel
 * caps it at net.core.rmem_max. */
#define RECV_BUFFER_BYTES (4 * 1024 * 1024)
/* At most this many datagrams are read in a row before the loop looks at
 * the clock and the stop flag again (a flood must not starve either). */
#define RECV_BATCH 256
/* After a stop, at most this many batches still queued are read. */
#define STOP_DRAIN_BATCHES 16
/* Added to the error estimate of a receive time read from the clock after
 * recvmsg because the kernel gave no timestamp: the time the datagram may
 * have waited in the socket is unknown. */
#define USERSPACE_TIMESTAMP_ERR_SEC 1e-3
#define TTL_UNKNOWN 255
#define SEND_ENOBUFS_RETRIES 16

struct owp_endpoint {
    int fd;
    int family;
    uint16_t port;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    int have_peer;
};

/* ------------------------------------------------------------ helpers */

static owp_num64 add_saturated(owp_num64 a, owp_num64 b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int stop_requested(atomic_int *stop)
{
    return stop && atomic_load_explicit(stop, memory_order_relaxed);
}

static int set_int_option(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof value);
}

static owp_status check_mode(owp_mode mode, owp_err *err)
{
    if (mode != OWP_MODE_OPEN && mode != OWP_MODE_AUTH && mode != OWP_MODE_ENCRYPTED)
        return owp_err_set(err, OWP_ERR_INVALID, "test session: invalid mode %d", (int)mode);
    return OWP_OK;
}

/* The per-session test crypto (NULL in open mode). */
static owp_status make_testcrypt(const owp_request *req, const owp_session_keys *keys,
                                 owp_testcrypt **tc, owp_err *err)
{
    *tc = NULL;
    if (keys->mode == OWP_MODE_OPEN)
        return OWP_OK;
    uint8_t test_aes[16], test_hmac[32];
    owp_status st = owp_test_session_keys(req->sid, keys->aes_key, keys->hmac_key, test_aes,
                                          test_hmac, err);
    if (st == OWP_OK) {
        *tc = owp_testcrypt_new(keys->mode, test_aes, test_hmac, err);
        if (!*tc)
            st = err ? err->code : OWP_ERR_CRYPTO;
    }
    explicit_bzero(test_aes, sizeof test_aes);
    explicit_bzero(test_hmac, sizeof test_hmac);
    return st;
}

/* An address and port in one comparable form: IPv4 as ::ffff:a.b.c.d, so a
 * dual-stack socket's v4-mapped sources match an IPv4 peer. 0 if unknown family. */
static int address_key(const struct sockaddr *sa, socklen_t len, uint8_t addr[16],
                       uint16_t *port)
{
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memset(addr, 0, 10);
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, &s4->sin_addr, 4);
        *port = s4->sin_port;
        return 1;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(addr, &s6->sin6_addr, 16);
        *port = s6->sin6_port;
        return 1;
    }
    return 0;
}

static int same_address(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
                        socklen_t blen)
{
    uint8_t aa[16], ba[16];
    uint16_t ap, bp;
    if (!address_key(a, alen, aa, &ap) || !address_key(b, blen, ba, &bp))
        return 0;
    return ap == bp && memcmp(aa, ba, 16) == 0;
}

/* ------------------------------------------------------------ socket setup */

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static uint32_t random_u32(void)
{
    uint32_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)ts.tv_nsec ^ (uint32_t)getpid();
}

/* Bind to a port in the range: a random first choice, then upward with
 * wrap-around past every port already in use. */
static owp_status bind_in_range(int fd, struct sockaddr_storage *addr, socklen_t len,
                                owp_portrange range, owp_err *err)
{
    if (range.low == 0 && range.high == 0) {
        set_port(addr, 0);
        if (bind(fd, (struct sockaddr *)addr, len) != 0)
            return owp_err_sys(err, "bind UDP socket to an ephemeral port");
        return OWP_OK;
    }
    if (range.low == 0 || range.low > range.high)
        return owp_err_set(err, OWP_ERR_INVALID, "invalid UDP port range %u-%u",
                           (unsigned)range.low, (unsigned)range.high);
    uint32_t span = (uint32_t)range.high - range.low + 1;
    uint32_t first = random_u32() % span;
    for (uint32_t i = 0; i < span; i++) {
        uint16_t port = (uint16_t)(range.low + (first + i) % span);
        set_port(addr, port);
        if (bind(fd, (struct sockaddr *)addr, len) == 0)
            return OWP_OK;
        if (errno != EADDRINUSE)
            return owp_err_sys(err, "bind UDP socket to port %u", (unsigned)port);
    }
    return owp_err_set(err, OWP_ERR_SYS, "no free UDP port in %u-%u", (unsigned)range.low,
                       (unsigned)range.high);
}

static owp_status local_address(const owp_endpoint_opts *opts, struct sockaddr_storage *ss,
                                socklen_t *len, owp_err *err)
{
    memset(ss, 0, sizeof *ss);
    if (opts->local) {
        if (opts->local->sa_family != opts->family || opts->local_len > sizeof *ss ||
            opts->local_len < (opts->family == AF_INET ? sizeof(struct sockaddr_in)
                                                       : sizeof(struct sockaddr_in6)))
            return owp_err_set(err, OWP_ERR_INVALID,
                               "local test address does not match the address family");
        memcpy(ss, opts->local, opts->local_len);
        *len = opts->local_len;
        return OWP_OK;
    }
    ss->ss_family = (sa_family_t)opts->family;
    if (opts->family == AF_INET) {
        ((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_ANY);
        *len = sizeof(struct sockaddr_in);
    } else {
        ((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_any;
        *len = sizeof(struct sockaddr_in6);
    }
    return OWP_OK;
}

/* Options of the sending side: TOS/traffic class and a TTL of 255 (RFC 4656 4.1.2). */
static owp_status set_send_options(int fd, int family, int dscp, owp_err *err)
{
    if (dscp >= 0) {
        int tos = dscp << 2;
        if (family == AF_INET ? set_int_option(fd, IPPROTO_IP, IP_TOS, tos)
                              : set_int_option(fd, IPPROTO_IPV6, IPV6_TCLASS, tos))
            return owp_err_sys(err, "set DSCP %d on the test socket", dscp);
    }
    if (family == AF_INET) {
        if (set_int_option(fd, IPPROTO_IP, IP_TTL, 255))
            return owp_err_sys(err, "set IP_TTL 255 on the test socket");
    } else {
        if (set_int_option(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255))
            return owp_err_sys(err, "set IPV6_UNICAST_HOPS 255 on the test socket");
        /* v4-mapped peers on a dual-stack socket use the IPv4 options. */
        (void)set_int_option(fd, IPPROTO_IP, IP_TTL, 255);
        if (dscp >= 0)
            (void)set_int_option(fd, IPPROTO_IP, IP_TOS, dscp << 2);
    }
    return OWP_OK;
}

/* Options of the receiving side: kernel timestamps, TTL in control data, a
 * large buffer. Only the timestamps and TTL are required. */
static owp_status set_receive_options(int fd, int family, owp_err *err)
{
    if (set_int_option(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1))
        return owp_err_sys(err, "enable SO_TIMESTAMPNS on the test socket");
    if (family == AF_INET) {
        if (set_int_option(fd, IPPROTO_IP, IP_RECVTTL, 1))
            return owp_err_sys(err, "enable IP_RECVTTL on the test socket");
    } else {
        if (set_int_option(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1))
            return owp_err_sys(err, "enable IPV6_RECVHOPLIMIT on the test socket");
        (void)set_int_option(fd, IPPROTO_IP, IP_RECVTTL, 1);
    }
    int current = 0;
    socklen_t optlen = sizeof current;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &current, &optlen) != 0 ||
        current < RECV_BUFFER_BYTES)
        (void)set_int_option(fd, SOL_SOCKET, SO_RCVBUF, RECV_BUFFER_BYTES);
    return OWP_OK;
}

owp_endpoint *owp_endpoint_new(const owp_endpoint_opts *opts, owp_err *err)
{
    if (!opts || (opts->family != AF_INET && opts->family != AF_INET6)) {
        owp_err_set(err, OWP_ERR_INVALID, "test endpoint: address family must be IPv4 or IPv6");
        return NULL;
    }
    if (opts->dscp > 63) {
        owp_err_set(err, OWP_ERR_INVALID, "test endpoint: DSCP %d out of range 0-63", opts->dscp);
        return NULL;
    }
    struct sockaddr_storage local;
    socklen_t local_len = 0;
    if (local_address(opts, &local, &local_len, err) != OWP_OK)
        return NULL;

    owp_endpoint *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "test endpoint: out of memory");
        return NULL;
    }
    self->family = opts->family;
    self->fd = socket(opts->family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (self->fd < 0) {
        owp_err_sys(err, "create UDP test socket");
        goto fail;
    }
    if (opts->bind_device && opts->bind_device[0] &&
        setsockopt(self->fd, SOL_SOCKET, SO_BINDTODEVICE, opts->bind_device,
                   (socklen_t)strlen(opts->bind_device) + 1) != 0) {
        owp_err_sys(err, "bind test socket to device %s", opts->bind_device);
        goto fail;
    }
    if (set_send_options(self->fd, opts->family, opts->dscp, err) != OWP_OK ||
        set_receive_options(self->fd, opts->family, err) != OWP_OK ||
        bind_in_range(self->fd, &local, local_len, opts->ports, err) != OWP_OK)
        goto fail;

    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if (getsockname(self->fd, (struct sockaddr *)&bound, &bound_len) != 0) {
        owp_err_sys(err, "getsockname on the test socket");
        goto fail;
    }
    uint8_t ignored[16];
    if (!address_key((struct sockaddr *)&bound, bound_len, ignored, &self->port)) {
        owp_err_set(err, OWP_ERR_SYS, "test socket bound to an unknown address family");
        goto fail;
    }
    self->port = ntohs(self->port);
    return self;

fail:
    owp_endpoint_destroy(&self);
    return NULL;
}

void owp_endpoint_destroy(owp_endpoint **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->fd >= 0)
        close((*self_p)->fd);
    free(*self_p);
    *self_p = NULL;
}

uint16_t owp_endpoint_port(const owp_endpoint *self) { return self ? self->port : 0; }

int owp_endpoint_fd(const owp_endpoint *self) { return self ? self->fd : -1; }

owp_status owp_endpoint_set_peer(owp_endpoint *self, const struct sockaddr *peer,
                                 socklen_t peer_len, owp_err *err)
{
    uint8_t addr[16];
    uint16_t port;
    if (!self || !peer || peer_len > sizeof self->peer || !address_key(peer, peer_len, addr, &port))
        return owp_err_set(err, OWP_ERR_INVALID, "test endpoint: invalid peer address");
    memcpy(&self->peer, peer, peer_len);
    self->peer_len = peer_len;
    self->have_peer = 1;
    return OWP_OK;
}

/* ------------------------------------------------------------ sending */

void owp_send_result_clear(owp_send_result *r)
{
    if (!r)
        return;
    free(r->skips);
    memset(r, 0, sizeof *r);
}

/* Record seq as skipped, extending the last range when it is contiguous. */
static owp_status add_skip(owp_send_result *r, uint32_t *capacity, uint32_t seq, owp_err *err)
{
    if (r->nskips > 0 && r->skips[r->nskips - 1].last + 1 == seq) {
        r->skips[r->nskips - 1].last = seq;
        return OWP_OK;
    }
    if (r->nskips == *capacity) {
        uint32_t grown = *capacity ? *capacity * 2 : 16;
        owp_skip *more = realloc(r->skips, (size_t)grown * sizeof *more);
        if (!more)
            return owp_err_set(err, OWP_ERR_NOMEM, "test sender: out of memory for skip ranges");
        r->skips = more;
        *capacity = grown;
    }
    r->skips[r->nskips].first = seq;
    r->skips[r->nskips].last = seq;
    r->nskips++;
    return OWP_OK;
}

/* OWAMP time minus CLOCK_REALTIME (the OWAMP_DEBUG_TIMEOFFSET offset and
 * the NTP epoch), so an OWAMP instant can be slept to with clock_nanosleep.
 * Measured as two back-to-back reads; the spin absorbs the few ns of error. */
static owp_num64 owp_time_minus_realtime(void)
{
    uint16_t errest;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    owp_num64 now = owp_clock_now(&errest);
    return now - owp_ntp_from_timespec(&rt);
}

/* When and how long the sender spins (see SPIN_* above). */
typedef struct spin_state {
    uint64_t margin_ns;        /* spin margin while spinning is allowed */
    owp_num64 backoff_until;   /* no spinning before this OWAMP time */
    unsigned late_share;       /* of recent wake-ups, in 1/LATE_SHARE_ONE */
    owp_num64 next_load_check; /* when to read /proc/loadavg again */
    int loaded;                /* last reading: more runnable threads than CPUs */
    int loadavg_fd;            /* /proc/loadavg, or -1 (then never "loaded") */
    int ncpus;                 /* CPUs this thread may run on */
} spin_state;

static void spin_state_init(spin_state *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->margin_ns = SPIN_START_NS;
    sp->loadavg_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
    cpu_set_t set;
    sp->ncpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (sp->ncpus <= 0)
        sp->ncpus = 1;
}

static void spin_state_close(spin_state *sp)
{
    if (sp->loadavg_fd >= 0)
        close(sp->loadavg_fd);
    sp->loadavg_fd = -1;
}

/* The "R/T" field of /proc/loadavg ("0.10 0.20 0.30 R/T LASTPID"): R is the
 * number of runnable threads right now, this one included. -1 if unreadable. */
static int runnable_threads(int fd)
{
    char buf[128];
    ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *p = buf;
    for (int field = 0; field < 3; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -1;
        p++;
    }
    char *end;
    long r = strtol(p, &end, 10);
    return end != p && *end == '/' && r >= 0 && r < INT32_MAX ? (int)r : -1;
}

/* May the sender spin before the packet due at `due`, now being `now`? */
static int spin_allowed(spin_state *sp, owp_num64 now)
{
    if (now < sp->backoff_until)
        return 0;
    if (now >= sp->next_load_check) {
        sp->next_load_check = add_saturated(now, owp_num64_from_nsec(LOAD_CHECK_NS));
        sp->loaded = runnable_threads(sp->loadavg_fd) > sp->ncpus;
    }
    return !sp->loaded;
}

/* A sleep ended `late_ns` after it was meant to: follow that with the
 * margin, or stop spinning for a while when such lateness, more than any
 * margin may cover, keeps coming. */
static void spin_observe(spin_state *sp, owp_num64 woke, uint64_t late_ns)
{
    int very_late = late_ns > SPIN_MAX_NS;
    sp->late_share -= sp->late_share >> LATE_SHARE_SHIFT;
    if (very_late)
        sp->late_share += LATE_SHARE_ONE >> LATE_SHARE_SHIFT;
    if (very_late && sp->late_share > LATE_SHARE_BACKOFF) {
        sp->backoff_until = add_saturated(woke, owp_num64_from_nsec(SPIN_BACKOFF_NS));
        sp->margin_ns = SPIN_START_NS;
        return;
    }
    uint64_t want = late_ns + SPIN_GUARD_NS;
    if (want > sp->margin_ns)
        sp->margin_ns = want < SPIN_MAX_NS ? want : SPIN_MAX_NS;
    else
        sp->margin_ns -= (sp->margin_ns - SPIN_MIN_NS) >> SPIN_DECAY_SHIFT;
}

/* Sleep (then maybe spin) until OWAMP time `due`. Returns 1 if *stop was set first. */
static int wait_until(owp_num64 due, owp_num64 offset, spin_state *sp, atomic_int *stop)
{
    uint16_t errest;
    for (;;) {
        if (stop_requested(stop))
            return 1;
        owp_num64 now = owp_clock_now(&errest);
        if (now >= due)
            return 0;
        uint64_t margin_ns = spin_allowed(sp, now) ? sp->margin_ns : 0;
        uint64_t left_ns = owp_num64_to_nsec(due - now);
        if (margin_ns > 0 && left_ns <= margin_ns)
            break;
        uint64_t nap_ns = left_ns - margin_ns;
        owp_num64 wake = nap_ns > STOP_POLL_NS ? now + owp_num64_from_nsec(STOP_POLL_NS)
                                               : due - owp_num64_from_nsec(margin_ns);
        struct timespec target;
        owp_ntp_to_timespec(wake - offset, &target);
        /* EINTR or an early return just go round again. */
        if (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &target, NULL) == 0) {
            owp_num64 woke = owp_clock_now(&errest);
            if (woke > wake)
                spin_observe(sp, woke, owp_num64_to_nsec(woke - wake));
        }
    }
    while (owp_clock_now(&errest) < due)
        cpu_relax();
    return 0;
}

/* The reference's policy: a few errors mean the socket is unusable; any
 * other failure (ICMP-reported ECONNREFUSED, a route gone) loses just this
 * packet, which the receiver will report as lost. */
static owp_status send_packet(int fd, const uint8_t *buf, size_t len, uint32_t seq, owp_err *err)
{
    for (int tries = 0;; tries++) {
        if (send(fd, buf, len, 0) >= 0)
            return OWP_OK;
        switch (errno) {
        case EINTR:
            continue;
        case ENOBUFS:
            if (tries < SEND_ENOBUFS_RETRIES)
                continue;
            return OWP_OK;
        case EBADF:
        case EACCES:
        case ENOTSOCK:
        case EFAULT:
        case EAGAIN:
            return owp_err_sys(err, "send test packet %u", seq);
        default:
            return OWP_OK;
        }
    }
}

typedef struct send_ctx {
    owp_endpoint *ep;
    const owp_request *req;
    owp_mode mode;
    owp_testcrypt *tc;
    owp_sched *sched;
    uint8_t *buf;
    size_t len;
} send_ctx;

static owp_status send_loop(send_ctx *c, spin_state *spin, atomic_int *stop,
                            owp_send_result *result, owp_err *err)
{
    const owp_request *req = c->req;
    uint32_t skip_capacity = 0;
    owp_num64 offset = owp_time_minus_realtime();
    owp_num64 due = req->start_time;
    uint32_t seq;
    for (seq = 0; seq < req->npackets; seq++) {
        if (stop_requested(stop))
            break;
        due = add_saturated(due, owp_sched_next_delta(c->sched));
        uint16_t errest;
        owp_num64 now = owp_clock_now(&errest);
        if (now > add_saturated(due, req->timeout)) {
            owp_status st = add_skip(result, &skip_capacity, seq, err);
            if (st != OWP_OK)
                return st;
            continue;
        }
        owp_status st = owp_testpkt_prepare(c->mode, seq, c->buf, c->len, err);
        if (st != OWP_OK)
            return st;
        if (wait_until(due, offset, spin, stop))
            break;
        owp_num64 stamp = owp_clock_now(&errest);
        /* Preempted past the timeout while waiting or preparing (an
         * overloaded machine): the receiver would count it lost on arrival,
         * so it is a skip, like one found late above. */
        if (stamp > add_saturated(due, req->timeout)) {
            if ((st = add_skip(result, &skip_capacity, seq, err)) != OWP_OK)
                return st;
            continue;
        }
        if ((st = owp_testpkt_seal(c->tc, c->mode, stamp, errest, c->buf, c->len, err)) != OWP_OK ||
            (st = send_packet(c->ep->fd, c->buf, c->len, seq, err)) != OWP_OK) {
            result->next_seqno = seq;
            return st;
        }
    }
    result->next_seqno = seq;
    return OWP_OK;
}

owp_status owp_endpoint_send(owp_endpoint *self, const owp_request *req,
                             const owp_session_keys *keys, atomic_int *stop,
                             owp_send_result *result, owp_err *err)
{
    if (!self || !req || !keys || !result)
        return owp_err_set(err, OWP_ERR_INVALID, "test sender: missing argument");
    memset(result, 0, sizeof *result);
    if (!self->have_peer)
        return owp_err_set(err, OWP_ERR_INVALID, "test sender: no peer address set");
    owp_status st = check_mode(keys->mode, err);
    if (st != OWP_OK)
        return st;
    if (req->npackets == 0)
        return OWP_OK;

    send_ctx c = {.ep = self, .req = req, .mode = keys->mode};
    c.len = owp_testpkt_size(keys->mode, req->padding);
    if (c.len == 0 || c.len > OWP_TESTPKT_MAX)
        return owp_err_set(err, OWP_ERR_INVALID, "test sender: padding %u too large",
                           req->padding);
    if (connect(self->fd, (struct sockaddr *)&self->peer, self->peer_len) != 0)
        return owp_err_sys(err, "connect test socket to its peer");
    if (!(c.buf = calloc(1, c.len)))
        return owp_err_set(err, OWP_ERR_NOMEM, "test sender: out of memory");
    if ((st = make_testcrypt(req, keys, &c.tc, err)) == OWP_OK &&
        (c.sched = owp_sched_new(req->sid, req->slots, req->nslots, err)) == NULL)
        st = err ? err->code : OWP_ERR_INVALID;
    if (st == OWP_OK) {
        /* The default 50 us timer slack would make every wake-up that late. */
        int old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
        (void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
        spin_state spin;
        spin_state_init(&spin);
        st = send_loop(&c, &spin, stop, result, err);
        spin_state_close(&spin);
        if (old_slack > 0)
            (void)prctl(PR_SET_TIMERSLACK, (unsigned long)old_slack, 0, 0, 0);
    }
    owp_sched_destroy(&c.sched);
    owp_testcrypt_destroy(&c.tc);
    free(c.buf);
    return st;
}

/* ------------------------------------------------------------ receiving */

typedef struct recv_ctx {
    owp_endpoint *ep;
    const owp_request *req;
    owp_mode mode;
    owp_testcrypt *tc;
    owp_sched *sched;       /* walks the expiry cursor's schedule */
    uint32_t cursor;        /* lowest seq not yet accounted for by expiry */
    owp_num64 cursor_due;   /* scheduled send time of cursor */
    uint8_t *seen;          /* one bit per seq: arrived at least once */
    uint8_t *buf;
    size_t buflen;
    owp_record_fn fn;
    void *arg;
    owp_recv_stats *stats;
    owp_num64 last_arrival; /* receive time of the last datagram read, any source */
} recv_ctx;

static int seen_get(const recv_ctx *c, uint32_t seq)
{
    return (c->seen[seq >> 3] >> (seq & 7)) & 1;
}

static void seen_set(recv_ctx *c, uint32_t seq) { c->seen[seq >> 3] |= (uint8_t)(1u << (seq & 7)); }

static owp_status deliver(recv_ctx *c, const owp_record *r, owp_err *err)
{
    if (c->fn && c->fn(r, c->arg) != 0)
        return owp_err_set(err, OWP_ERR_INTERRUPTED,
                           "test receiver: record consumer stopped the session at seq %u",
                           r->seq);
    return OWP_OK;
}

static void cursor_step(recv_ctx *c)
{
    c->cursor++;
    if (c->cursor < c->req->npackets)
        c->cursor_due = add_saturated(c->cursor_due, owp_sched_next_delta(c->sched));
}

/* Move the cursor over every seq below limit that has arrived or whose
 * deadline (scheduled time + timeout) is before now (force: regardless of
 * the deadline), reporting those that never arrived as lost. */
static owp_status expire(recv_ctx *c, owp_num64 now, uint32_t limit, int force, owp_err *err)
{
    while (c->cursor < limit) {
        if (!seen_get(c, c->cursor)) {
            if (!force && now <= add_saturated(c->cursor_due, c->req->timeout))
                break;
            owp_record lost = {
                .seq = c->cursor,
                .send_err = OWP_ERREST_UNSYNC,
                .recv_err = owp_clock_errest(),
                .send_time = c->cursor_due,
                .recv_time = 0,
                .ttl = TTL_UNKNOWN,
            };
            c->stats->lost++;
            owp_status st = deliver(c, &lost, err);
            if (st != OWP_OK)
                return st;
        }
        cursor_step(c);
    }
    return OWP_OK;
}

typedef struct arrival {
    struct timespec kernel_time;
    int have_kernel_time;
    int ttl;
    owp_num64 time; /* receive time, OWAMP clock */
    uint16_t errest;
} arrival;

static void parse_control(struct msghdr *msg, arrival *a)
{
    a->have_kernel_time = 0;
    a->ttl = -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS &&
            cm->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            memcpy(&a->kernel_time, CMSG_DATA(cm), sizeof a->kernel_time);
            a->have_kernel_time = 1;
        } else if (((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TTL) ||
                    (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT)) &&
                   cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
            memcpy(&a->ttl, CMSG_DATA(cm), sizeof a->ttl);
        }
    }
}

/* Receive time and its error estimate: the kernel's stamp when there is one;
 * otherwise the clock now, with the estimate widened by the unknown queueing. */
static owp_num64 receive_time(const arrival *a, uint16_t *errest)
{
    if (a->have_kernel_time)
        return owp_clock_from_kernel(&a->kernel_time, errest);
    owp_num64 now = owp_clock_now(errest);
    if (owp_errest_synchronized(*errest))
        *errest = owp_errest_encode(1, owp_errest_seconds(*errest) + USERSPACE_TIMESTAMP_ERR_SEC);
    return now;
}

static owp_status handle_datagram(recv_ctx *c, size_t len, const struct sockaddr *src,
                                  socklen_t srclen, const arrival *a, owp_err *err)
{
    if (c->ep->have_peer &&
        !same_address(src, srclen, (struct sockaddr *)&c->ep->peer, c->ep->peer_len)) {
        c->stats->dropped_bad_source++;
        return OWP_OK;
    }
    owp_record r = {.ttl = TTL_UNKNOWN, .recv_time = a->time, .recv_err = a->errest};
    if (a->ttl >= 0 && a->ttl <= 255)
        r.ttl = (uint8_t)a->ttl;
    if (owp_testpkt_open(c->tc, c->mode, c->buf, len, &r.seq, &r.send_time, &r.send_err, NULL) !=
        OWP_OK) {
        c->stats->dropped_bad_hmac++;
        return OWP_OK;
    }
    if (r.seq >= c->req->npackets) {
        c->stats->dropped_bad_seq++;
        return OWP_OK;
    }
    /* Losses whose deadline passed before this arrival come first. */
    owp_status st = expire(c, r.recv_time, c->req->npackets, 0, err);
    if (st != OWP_OK)
        return st;
    if (seen_get(c, r.seq)) {
        c->stats->duplicates++;
    } else if (r.seq < c->cursor) {
        c->stats->dropped_late++; /* already reported lost */
        return OWP_OK;
    } else {
        seen_set(c, r.seq);
        c->stats->received++;
    }
    return deliver(c, &r, err);
}

/* Read what is queued, at most RECV_BATCH datagrams. *empty is set when the
 * socket was drained; otherwise c->last_arrival is the receive time of the
 * last one read, and everything that arrived before it has been read. */
static owp_status read_batch(recv_ctx *c, int *empty, owp_err *err)
{
    *empty = 0;
    for (int i = 0; i < RECV_BATCH; i++) {
        struct sockaddr_storage src;
        union {
            char buf[CMSG_SPACE(sizeof(struct timespec)) + 2 * CMSG_SPACE(sizeof(int)) + 64];
            struct cmsghdr align;
        } control;
        struct iovec iov = {.iov_base = c->buf, .iov_len = c->buflen};
        struct msghdr msg = {
            .msg_name = &src,
            .msg_namelen = sizeof src,
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = control.buf,
            .msg_controllen = sizeof control.buf,
        };
        ssize_t n = recvmsg(c->ep->fd, &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                *empty = 1;
                return OWP_OK;
            }
            if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
                errno == ENETUNREACH)
                continue; /* ICMP errors queued on the socket: not ours to act on */
            return owp_err_sys(err, "receive test packet");
        }
        arrival a;
        parse_control(&msg, &a);
        a.time = receive_time(&a, &a.errest);
        c->last_arrival = a.time;
        owp_status st = handle_datagram(c, (size_t)n, (struct sockaddr *)&src, msg.msg_namelen,
                                        &a, err);
        if (st != OWP_OK)
            return st;
    }
    return OWP_OK;
}

/* Milliseconds to wait for the next datagram: until the cursor's deadline,
 * at most STOP_POLL_MS. */
static int poll_timeout_ms(const recv_ctx *c, owp_num64 now)
{
    owp_num64 deadline = add_saturated(c->cursor_due, c->req->timeout);
    if (deadline <= now)
        return 0;
    uint64_t ns = owp_num64_to_nsec(deadline - now);
    if (ns >= STOP_POLL_NS)
        return STOP_POLL_MS;
    return (int)((ns + 999999) / 1000000);
}

/* After a stop: read what is still queued (a bounded amount), then report
 * every missing seq below the sender's Next Seqno as lost. */
static owp_status finish_after_stop(recv_ctx *c, const atomic_uint *stop_next_seqno, owp_err *err)
{
    int empty = 0;
    for (int i = 0; i < STOP_DRAIN_BATCHES && !empty; i++) {
        owp_status st = read_batch(c, &empty, err);
        if (st != OWP_OK)
            return st;
    }
    uint32_t limit = c->req->npackets;
    if (stop_next_seqno) {
        unsigned v = atomic_load(stop_next_seqno);
        if (v < limit)
            limit = v;
    }
    return expire(c, 0, limit, 1, err);
}

static owp_status receive_loop(recv_ctx *c, atomic_int *stop, const atomic_uint *stop_next_seqno,
                               owp_err *err)
{
    uint32_t n = c->req->npackets;
    for (;;) {
        /* The clock is read before draining so that a datagram which
         * arrived before `now` is always handled before losses at `now`. */
        uint16_t errest;
        owp_num64 now = owp_clock_now(&errest);
        int empty;
        owp_status st = read_batch(c, &empty, err);
        if (st != OWP_OK)
            return st;
        if (stop_requested(stop))
            return finish_after_stop(c, stop_next_seqno, err);
        /* A full batch: more may be queued, so losses are only certain up
         * to the last arrival read (a flood must not hold them back either). */
        if ((st = expire(c, empty ? now : c->last_arrival, n, 0, err)) != OWP_OK)
            return st;
        if (c->cursor >= n)
            return OWP_OK;
        if (!empty)
            continue;
        struct pollfd pfd = {.fd = c->ep->fd, .events = POLLIN};
        if (poll(&pfd, 1, poll_timeout_ms(c, now)) < 0 && errno != EINTR)
            return owp_err_sys(err, "poll on the test socket");
    }
}

owp_status owp_endpoint_receive(owp_endpoint *self, const owp_request *req,
                                const owp_session_keys *keys, atomic_int *stop,
                                const atomic_uint *stop_next_seqno, owp_record_fn fn, void *arg,
                                owp_recv_stats *stats, owp_err *err)
{
    owp_recv_stats local_stats;
    if (!stats)
        stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    if (!self || !req || !keys)
        return owp_err_set(err, OWP_ERR_INVALID, "test receiver: missing argument");
    owp_status st = check_mode(keys->mode, err);
    if (st != OWP_OK)
        return st;
    if (req->npackets > OWP_ENDPOINT_MAX_RECV_PACKETS)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "test receiver: %u packets requested, at most %u supported",
                           req->npackets, OWP_ENDPOINT_MAX_RECV_PACKETS);
    if (req->npackets == 0)
        return OWP_OK;

    recv_ctx c = {
        .ep = self, .req = req, .mode = keys->mode, .fn = fn, .arg = arg, .stats = stats,
        .buflen = OWP_TESTPKT_MAX,
    };
    c.seen = calloc(((size_t)req->npackets + 7) / 8, 1);
    c.buf = malloc(c.buflen);
    if (!c.seen || !c.buf) {
        st = owp_err_set(err, OWP_ERR_NOMEM, "test receiver: out of memory for %u packets",
                         req->npackets);
        goto done;
    }
    if ((st = make_testcrypt(req, keys, &c.tc, err)) != OWP_OK)
        goto done;
    if (!(c.sched = owp_sched_new(req->sid, req->slots, req->nslots, err))) {
        st = err ? err->code : OWP_ERR_INVALID;
        goto done;
    }
    c.cursor_due = add_saturated(req->start_time, owp_sched_next_delta(c.sched));
    st = receive_loop(&c, stop, stop_next_seqno, err);
done:
    owp_sched_destroy(&c.sched);
    owp_testcrypt_destroy(&c.tc);
    free(c.buf);
    free(c.seen);
    return st;
}
