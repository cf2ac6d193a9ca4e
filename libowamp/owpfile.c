/*
 * owpfile.c - the .owp session data file, byte-compatible with the reference
 * owamp 5.2.3 (layout facts: ../shared/spec/owp-file-format.md).
 *
 * Reading never trusts a count or an offset from the file: every region is
 * checked against the file size before anything is read or allocated.
 */
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif
#include "owpfile.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "bytes.h"
#include "owpfile_internal.h"
#include "wire.h"

#define OWP_FILE_MAGIC "OwA"         /* 4 bytes with the NUL */
#define V3_FIXED_LEN 40              /* magic .. oset_records */
#define V3_PREAMBLE_OFF 40
#define V2_PREAMBLE_OFF 20
#define LEGACY_RECORD_LEN 24         /* versions 0 and 2 */
#define SKIP_LEN 8
#define TWOWAY_VERSION_BIT 0x80
/* A two-way record: the forward half and the reflected half, each a v3 record. */
#define TWOWAY_RECORD_LEN (2 * OWP_RECORD_LEN)

struct owp_file {
    FILE *fp;
    char *name;
    uint32_t version;
    uint32_t finished;
    uint32_t next_seqno;
    uint32_t nskips;
    uint32_t nrecords;        /* as the reference counts them */
    uint32_t region_nrecords; /* what the region between the offsets holds */
    uint64_t oset_skips;
    uint64_t oset_records;
    uint64_t records_end;     /* end of the record region */
    uint64_t size;
    unsigned record_len;
    int has_request;
    owp_request req;
    owp_skip *skips;
};

/* ------------------------------------------------------------------ records */

void owp_record_encode(const owp_record *r, uint8_t out[OWP_RECORD_LEN])
{
    owp_put32(out, r->seq);
    owp_put16(out + 4, r->send_err);
    owp_put16(out + 6, r->recv_err);
    owp_put64(out + 8, r->send_time);
    owp_put64(out + 16, r->recv_time);
    out[24] = r->ttl;
}

void owp_record_decode(const uint8_t in[OWP_RECORD_LEN], owp_record *r)
{
    r->seq = owp_get32(in);
    r->send_err = owp_get16(in + 4);
    r->recv_err = owp_get16(in + 6);
    r->send_time = owp_get64(in + 8);
    r->recv_time = owp_get64(in + 16);
    r->ttl = in[24];
}

/* Versions 0 and 2: seq, send time, send error, recv time, recv error; no TTL. */
static void legacy_record_decode(const uint8_t in[LEGACY_RECORD_LEN], owp_record *r)
{
    r->seq = owp_get32(in);
    r->send_time = owp_get64(in + 4);
    r->send_err = owp_get16(in + 12);
    r->recv_time = owp_get64(in + 14);
    r->recv_err = owp_get16(in + 22);
    r->ttl = 255;
}

static int errest_multiplier_ok(uint16_t errest) { return (errest & 0xff) != 0; }

/* ------------------------------------------------------------------ helpers */

static owp_status read_at(owp_file *self, uint64_t off, void *buf, size_t len, const char *what,
                          owp_err *err)
{
    if (off > self->size || len > self->size - off)
        return owp_err_set(err, OWP_ERR_FORMAT, "%s: offset %llu: %s truncated (file is %llu bytes)",
                           self->name, (unsigned long long)off, what,
                           (unsigned long long)self->size);
    if (fseeko(self->fp, (off_t)off, SEEK_SET) != 0)
        return owp_err_sys(err, "%s: seek to offset %llu", self->name, (unsigned long long)off);
    if (len && fread(buf, 1, len, self->fp) != len) {
        if (ferror(self->fp))
            return owp_err_sys(err, "%s: read at offset %llu", self->name,
                               (unsigned long long)off);
        return owp_err_set(err, OWP_ERR_FORMAT, "%s: offset %llu: %s truncated", self->name,
                           (unsigned long long)off, what);
    }
    return OWP_OK;
}

static owp_status file_size(owp_file *self, owp_err *err)
{
    if (fseeko(self->fp, 0, SEEK_END) != 0)
        return owp_err_sys(err, "%s: seek to end", self->name);
    off_t end = ftello(self->fp);
    if (end < 0)
        return owp_err_sys(err, "%s: ftello", self->name);
    self->size = (uint64_t)end;
    return OWP_OK;
}

static owp_status format_error(owp_file *self, uint64_t off, const char *what, owp_err *err)
{
    return owp_err_set(err, OWP_ERR_FORMAT, "%s: offset %llu: %s", self->name,
                       (unsigned long long)off, what);
}

/* Session description: preamble at preamble_off, slots right after it, then
 * a zero block that ends at header_end. */
static owp_status read_session_description(owp_file *self, uint64_t preamble_off,
                                           uint64_t header_end, owp_err *err)
{
    uint8_t buf[OWP_REQUEST_PREAMBLE_LEN];
    owp_status st = read_at(self, preamble_off, buf, sizeof buf, "session description", err);
    if (st != OWP_OK)
        return st;
    owp_err werr;
    self->req.slots = NULL;
    if (owp_wire_decode_request_preamble(buf, &self->req, &werr) != OWP_OK)
        return owp_err_set(err, OWP_ERR_FORMAT, "%s: offset %llu: %s", self->name,
                           (unsigned long long)preamble_off, werr.msg);
    self->has_request = 1;

    uint64_t slots_off = preamble_off + OWP_REQUEST_PREAMBLE_LEN;
    if (header_end < slots_off + OWP_SLOT_LEN ||
        (header_end - slots_off) % OWP_SLOT_LEN != 0 ||
        (header_end - slots_off) / OWP_SLOT_LEN - 1 != self->req.nslots)
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "%s: offset %llu: header end does not match %u schedule slots",
                           self->name, (unsigned long long)header_end, self->req.nslots);
    if (header_end > self->size)
        return format_error(self, header_end, "header runs past the end of the file", err);

    self->req.slots = calloc(self->req.nslots, sizeof *self->req.slots);
    if (!self->req.slots)
        return owp_err_set(err, OWP_ERR_NOMEM, "%s: %u slots", self->name, self->req.nslots);
    for (uint32_t i = 0; i < self->req.nslots; i++) {
        uint8_t sb[OWP_SLOT_LEN];
        uint64_t off = slots_off + (uint64_t)i * OWP_SLOT_LEN;
        if ((st = read_at(self, off, sb, sizeof sb, "slot", err)) != OWP_OK)
            return st;
        if (owp_wire_decode_slot(sb, &self->req.slots[i], &werr) != OWP_OK)
            return owp_err_set(err, OWP_ERR_FORMAT, "%s: offset %llu: %s", self->name,
                               (unsigned long long)off, werr.msg);
    }
    uint8_t zero[OWP_SLOT_LEN];
    if ((st = read_at(self, header_end - OWP_SLOT_LEN, zero, sizeof zero, "zero block", err)) !=
        OWP_OK)
        return st;
    if (!owp_all_zero(zero, sizeof zero))
        return format_error(self, header_end - OWP_SLOT_LEN, "non-zero block after the slots",
                            err);
    return OWP_OK;
}

static owp_status read_skips(owp_file *self, owp_err *err)
{
    if (self->nskips == 0)
        return OWP_OK;
    uint64_t bytes = (uint64_t)self->nskips * SKIP_LEN;
    if (self->oset_skips > self->size || bytes > self->size - self->oset_skips)
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "%s: offset %llu: %u skip ranges run past the end of the file",
                           self->name, (unsigned long long)self->oset_skips, self->nskips);
    self->skips = calloc(self->nskips, sizeof *self->skips);
    if (!self->skips)
        return owp_err_set(err, OWP_ERR_NOMEM, "%s: %u skip ranges", self->name, self->nskips);
    for (uint32_t i = 0; i < self->nskips; i++) {
        uint8_t b[SKIP_LEN];
        uint64_t off = self->oset_skips + (uint64_t)i * SKIP_LEN;
        owp_status st = read_at(self, off, b, sizeof b, "skip range", err);
        if (st != OWP_OK)
            return st;
        self->skips[i].first = owp_get32(b);
        self->skips[i].last = owp_get32(b + 4);
    }
    return OWP_OK;
}

/* The record count of a file whose header does not give it: the size decides,
 * as in the reference (spec section 6.2). */
static uint32_t count_by_size(const owp_file *self)
{
    uint64_t n = (self->size - self->oset_records) / self->record_len;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* Version 3 and the two-way version 0x83 (spec sections 6 and 7): the same
 * layout, records of record_len bytes. */
static owp_status read_v3(owp_file *self, const uint8_t fixed[V3_FIXED_LEN], unsigned record_len,
                          owp_err *err)
{
    self->record_len = record_len;
    self->finished = owp_get32(fixed + 8);
    if (self->finished > OWP_FINISHED_INCOMPLETE)
        self->finished = OWP_FINISHED_ERROR;
    self->next_seqno = owp_get32(fixed + 12);
    self->nskips = owp_get32(fixed + 16);
    uint32_t hdr_nrecords = owp_get32(fixed + 20);
    self->oset_skips = owp_get64(fixed + 24);
    self->oset_records = owp_get64(fixed + 32);

    if (self->oset_records < V3_FIXED_LEN || self->oset_records > self->size)
        return format_error(self, 32, "record offset outside the file", err);

    uint64_t header_end = self->oset_records;
    if (self->oset_skips != 0 && self->oset_skips < header_end)
        header_end = self->oset_skips;
    owp_status st = read_session_description(self, V3_PREAMBLE_OFF, header_end, err);
    if (st != OWP_OK)
        return st;
    if ((st = read_skips(self, err)) != OWP_OK)
        return st;

    /* Records run to the skip ranges when those follow them, else to EOF. */
    self->records_end = self->size;
    if (self->oset_skips > self->oset_records)
        self->records_end = self->oset_skips;
    if (self->records_end > self->size)
        return format_error(self, 24, "skip offset beyond the end of the file", err);
    uint64_t region = (self->records_end - self->oset_records) / record_len;
    self->region_nrecords = region > UINT32_MAX ? UINT32_MAX : (uint32_t)region;

    /* The header's count is trusted only in a finished one-way file; a
     * two-way writer leaves it 0, an unfinished file may still grow: there
     * the size decides, as in the reference. */
    int count_from_header = self->finished == OWP_FINISHED_NORMAL && !owp_file_is_twoway(self);
    if (count_from_header &&
        (uint64_t)hdr_nrecords * OWP_RECORD_LEN > self->size - self->oset_records)
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "%s: offset 20: %u records do not fit in the file (%llu bytes)",
                           self->name, hdr_nrecords, (unsigned long long)self->size);
    /* A finished file holds whole records only; a partial one means it was cut. */
    if (self->finished == OWP_FINISHED_NORMAL &&
        (self->records_end - self->oset_records) % record_len != 0)
        return format_error(self, self->oset_records + region * record_len, "truncated record",
                            err);
    if (count_from_header)
        self->nrecords = hdr_nrecords;
    else
        self->nrecords = count_by_size(self);
    return OWP_OK;
}

/* Versions 0 and 2 (spec section 7): 8-byte header length at offset 8. */
static owp_status read_legacy(owp_file *self, const uint8_t fixed[16], owp_err *err)
{
    self->record_len = LEGACY_RECORD_LEN;
    uint64_t hdr_len = owp_get64(fixed + 8);
    if (hdr_len < 16 || hdr_len > self->size)
        return format_error(self, 8, "header length outside the file", err);
    self->oset_records = hdr_len;
    self->records_end = self->size;
    uint64_t n = (self->size - hdr_len) / LEGACY_RECORD_LEN;
    self->nrecords = self->region_nrecords = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    if (self->version == 0)
        return OWP_OK;

    uint8_t fin[4];
    owp_status st = read_at(self, 16, fin, sizeof fin, "finished field", err);
    if (st != OWP_OK)
        return st;
    self->finished = owp_get32(fin);
    if (self->finished > OWP_FINISHED_INCOMPLETE)
        self->finished = OWP_FINISHED_ERROR;
    return read_session_description(self, V2_PREAMBLE_OFF, hdr_len, err);
}

/* owp_file_read, and with twoway_ok also the two-way version. */
static owp_file *file_read(FILE *fp, const char *name, int twoway_ok, owp_err *err)
{
    owp_file *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    self->fp = fp;
    self->name = strdup(name ? name : "(file)");
    if (!self->name) {
        owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", name);
        owp_file_destroy(&self);
        return NULL;
    }

    uint8_t fixed[V3_FIXED_LEN];
    owp_status st = file_size(self, err);
    if (st == OWP_OK && self->size < 16)
        st = owp_err_set(err, OWP_ERR_FORMAT, "%s: offset 0: file too short (%llu bytes)",
                         self->name, (unsigned long long)self->size);
    if (st == OWP_OK)
        st = read_at(self, 0, fixed, 16, "file header", err);
    if (st == OWP_OK && memcmp(fixed, OWP_FILE_MAGIC, 4) != 0)
        st = format_error(self, 0, "bad magic (not an owamp session file)", err);
    if (st == OWP_OK) {
        self->version = owp_get32(fixed + 4);
        switch (self->version) {
        case 0:
        case 2:
            st = read_legacy(self, fixed, err);
            break;
        case OWP_FILE_VERSION:
        case OWP_FILE_VERSION_TWOWAY:
            if (self->version == OWP_FILE_VERSION_TWOWAY && !twoway_ok) {
                st = owp_err_set(err, OWP_ERR_FORMAT,
                                 "%s: offset 4: version 0x%x is a two-way (TWAMP) file",
                                 self->name, self->version);
                break;
            }
            st = read_at(self, 0, fixed, V3_FIXED_LEN, "file header", err);
            if (st == OWP_OK)
                st = read_v3(self, fixed,
                             owp_file_is_twoway(self) ? TWOWAY_RECORD_LEN : OWP_RECORD_LEN, err);
            break;
        default:
            if (self->version & TWOWAY_VERSION_BIT)
                st = owp_err_set(err, OWP_ERR_FORMAT,
                                 "%s: offset 4: unknown two-way file version 0x%x", self->name,
                                 self->version);
            else
                st = owp_err_set(err, OWP_ERR_FORMAT, "%s: offset 4: unknown file version %u",
                                 self->name, self->version);
        }
    }
    if (st != OWP_OK) {
        owp_file_destroy(&self);
        return NULL;
    }
    return self;
}

owp_file *owp_file_read(FILE *fp, const char *name, owp_err *err)
{
    return file_read(fp, name, 0, err);
}

owp_file *owp_file_read_any(FILE *fp, const char *name, owp_err *err)
{
    return file_read(fp, name, 1, err);
}

void owp_file_destroy(owp_file **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_file *self = *self_p;
    free(self->req.slots);
    free(self->skips);
    free(self->name);
    free(self);
    *self_p = NULL;
}

uint32_t owp_file_version(const owp_file *self) { return self->version; }
int owp_file_is_twoway(const owp_file *self) { return self->version == OWP_FILE_VERSION_TWOWAY; }
unsigned owp_file_record_len(const owp_file *self) { return self->record_len; }
uint32_t owp_file_finished(const owp_file *self) { return self->finished; }
uint32_t owp_file_next_seqno(const owp_file *self) { return self->next_seqno; }
const owp_request *owp_file_request(const owp_file *self)
{
    return self->has_request ? &self->req : NULL;
}
uint32_t owp_file_nskips(const owp_file *self) { return self->nskips; }
const owp_skip *owp_file_skips(const owp_file *self) { return self->skips; }
uint32_t owp_file_nrecords(const owp_file *self) { return self->nrecords; }
uint32_t owp_file_region_nrecords(const owp_file *self) { return self->region_nrecords; }
const char *owp_file_name(const owp_file *self) { return self->name; }

/* Records are read in chunks: a whole 100k-record file is 2.5 MB, and
 * reading record by record through stdio would cost a seek each. 50 KB
 * chunks keep the system calls (a seek and a read each) a small part of
 * the copy, and stay in the heap's reused memory. */
#define CHUNK_RECORDS 2048

/* One-way records for owp_file_each_record_from: the consumer and its argument. */
typedef struct record_consumer {
    owp_record_fn fn;
    void *arg;
} record_consumer;

/* Decode a chunk of one-way records and hand each to the consumer;
 * *stopped when it asked to stop. */
static owp_status decode_run(owp_file *self, const owp_file_chunk *c, void *arg, int *stopped,
                             owp_err *err)
{
    const record_consumer *rc = arg;
    const uint8_t *p = c->bytes;
    for (uint64_t i = 0; i < c->n; i++, p += self->record_len) {
        owp_record r;
        if (self->record_len == OWP_RECORD_LEN)
            owp_record_decode(p, &r);
        else
            legacy_record_decode(p, &r);
        if (!errest_multiplier_ok(r.send_err) || !errest_multiplier_ok(r.recv_err))
            return owp_err_set(err, OWP_ERR_FORMAT,
                               "%s: offset %llu: record %llu (seq %u): error estimate with "
                               "multiplier 0",
                               self->name, (unsigned long long)(c->offset + i * self->record_len),
                               (unsigned long long)(c->first + i), r.seq);
        if (rc->fn(&r, rc->arg) != 0) {
            *stopped = 1;
            return OWP_OK;
        }
    }
    return OWP_OK;
}

/* owp_file_each_chunk's walk over n records from offset start, in chunks of
 * buf_records through buf. */
static owp_status each_chunk_in(owp_file *self, uint32_t first, uint64_t start, uint64_t n,
                                uint8_t *buf, size_t buf_records, owp_file_chunk_fn fn,
                                void *arg, owp_err *err)
{
    int stopped = 0;
    for (uint64_t done = 0; done < n && !stopped;) {
        owp_file_chunk c = {.bytes = buf, .first = first + done};
        c.n = n - done < buf_records ? n - done : buf_records;
        c.offset = start + done * self->record_len;
        owp_status st =
            read_at(self, c.offset, buf, (size_t)c.n * self->record_len, "record", err);
        if (st == OWP_OK)
            st = fn(self, &c, arg, &stopped, err);
        if (st != OWP_OK)
            return st;
        done += c.n;
    }
    return OWP_OK;
}

owp_status owp_file_each_chunk(owp_file *self, uint32_t first, uint32_t count,
                               owp_file_chunk_fn fn, void *arg, owp_err *err)
{
    uint64_t start = self->oset_records + (uint64_t)first * self->record_len;
    if (start > self->size)
        return OWP_OK;
    uint64_t avail = (self->size - start) / self->record_len;
    uint64_t n = count < avail ? count : avail;
    if (n == 0)
        return OWP_OK;
    size_t buf_records = n < CHUNK_RECORDS ? (size_t)n : CHUNK_RECORDS;
    uint8_t *buf = malloc(buf_records * self->record_len);
    if (!buf)
        return owp_err_set(err, OWP_ERR_NOMEM, "%s: record buffer: out of memory", self->name);
    owp_status st = each_chunk_in(self, first, start, n, buf, buf_records, fn, arg, err);
    free(buf);
    return st;
}

owp_status owp_file_each_record_from(owp_file *self, uint32_t first, uint32_t count,
                                     owp_record_fn fn, void *arg, owp_err *err)
{
    if (owp_file_is_twoway(self))
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "%s: a two-way (TWAMP) file: its records are pairs (twpfile.h)",
                           self->name);
    record_consumer rc = {.fn = fn, .arg = arg};
    return owp_file_each_chunk(self, first, count, decode_run, &rc, err);
}

owp_status owp_file_each_record(owp_file *self, uint32_t max, owp_record_fn fn, void *arg,
                                owp_err *err)
{
    uint32_t n = self->region_nrecords;
    if (max != 0 && max < n)
        n = max;
    return owp_file_each_record_from(self, 0, n, fn, arg, err);
}

/* ------------------------------------------------------------------ writing */

uint64_t owp_file_header_len(uint32_t nslots)
{
    return V3_PREAMBLE_OFF + OWP_REQUEST_PREAMBLE_LEN + (uint64_t)nslots * OWP_SLOT_LEN +
           OWP_SLOT_LEN;
}

static owp_status write_bytes(FILE *fp, const void *buf, size_t len, const char *what,
                              owp_err *err)
{
    if (len && fwrite(buf, 1, len, fp) != len)
        return owp_err_sys(err, "writing session file %s", what);
    return OWP_OK;
}

static owp_status check_request(const owp_request *req, owp_err *err)
{
    if (!req || req->nslots == 0 || req->nslots > OWP_MAX_SLOTS || !req->slots)
        return owp_err_set(err, OWP_ERR_INVALID, "session file: request without schedule slots");
    return OWP_OK;
}

/* Fixed header + session description, written at offset 0. */
static owp_status write_header(FILE *fp, uint32_t version, const owp_request *req,
                               uint32_t finished, uint32_t next_seqno, uint32_t nskips,
                               uint32_t nrecords, uint64_t oset_skips, uint64_t oset_records,
                               owp_err *err)
{
    uint8_t fixed[V3_FIXED_LEN];
    memcpy(fixed, OWP_FILE_MAGIC, 4);
    owp_put32(fixed + 4, version);
    owp_put32(fixed + 8, finished);
    owp_put32(fixed + 12, next_seqno);
    owp_put32(fixed + 16, nskips);
    owp_put32(fixed + 20, nrecords);
    owp_put64(fixed + 24, oset_skips);
    owp_put64(fixed + 32, oset_records);
    if (fseeko(fp, 0, SEEK_SET) != 0)
        return owp_err_sys(err, "session file: seek to header");
    owp_status st = write_bytes(fp, fixed, sizeof fixed, "header", err);
    if (st != OWP_OK)
        return st;

    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN];
    owp_wire_encode_request_preamble(req, pre);
    pre[0] = OWP_MSG_REQUEST_SESSION;
    memset(pre + 96, 0, 16); /* the HMAC is not stored */
    if ((st = write_bytes(fp, pre, sizeof pre, "session description", err)) != OWP_OK)
        return st;
    for (uint32_t i = 0; i < req->nslots; i++) {
        uint8_t sb[OWP_SLOT_LEN];
        owp_wire_encode_slot(&req->slots[i], sb);
        if ((st = write_bytes(fp, sb, sizeof sb, "slot", err)) != OWP_OK)
            return st;
    }
    uint8_t zero[OWP_SLOT_LEN] = {0};
    return write_bytes(fp, zero, sizeof zero, "zero block", err);
}

static owp_status write_skips(FILE *fp, const owp_skip *skips, uint32_t nskips, owp_err *err)
{
    for (uint32_t i = 0; i < nskips; i++) {
        uint8_t b[SKIP_LEN];
        owp_put32(b, skips[i].first);
        owp_put32(b + 4, skips[i].last);
        owp_status st = write_bytes(fp, b, sizeof b, "skip range", err);
        if (st != OWP_OK)
            return st;
    }
    return OWP_OK;
}

struct owp_file_writer {
    FILE *fp;
    owp_request req; /* deep copy: the header is rewritten at the end */
    uint32_t version;
    unsigned record_len;
    uint64_t header_len;
    uint32_t nrecords;
    int at_end; /* the stream sits right after the last record: no seek needed */
};

owp_file_writer *owp_file_writer_new_version(FILE *fp, const owp_request *req, uint32_t version,
                                             owp_err *err)
{
    if (check_request(req, err) != OWP_OK)
        return NULL;
    owp_file_writer *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "session file writer: out of memory");
        return NULL;
    }
    self->fp = fp;
    self->version = version;
    self->record_len = version == OWP_FILE_VERSION_TWOWAY ? TWOWAY_RECORD_LEN : OWP_RECORD_LEN;
    self->header_len = owp_file_header_len(req->nslots);
    if (owp_request_copy(&self->req, req, err) != OWP_OK) {
        free(self);
        return NULL;
    }
    /* Until Stop-Sessions: incomplete, no skip offset, record count from the size. */
    owp_status st = write_header(fp, version, &self->req, OWP_FINISHED_INCOMPLETE, 0, 0, 0, 0,
                                 self->header_len, err);
    if (st == OWP_OK && fflush(fp) != 0)
        st = owp_err_sys(err, "session file: flush");
    if (st != OWP_OK) {
        owp_file_writer_destroy(&self);
        return NULL;
    }
    self->at_end = 1;
    return self;
}

owp_file_writer *owp_file_writer_new(FILE *fp, const owp_request *req, owp_err *err)
{
    return owp_file_writer_new_version(fp, req, OWP_FILE_VERSION, err);
}

owp_status owp_file_writer_add_raw(owp_file_writer *self, const uint8_t *record, owp_err *err)
{
    if (self->nrecords == UINT32_MAX)
        return owp_err_set(err, OWP_ERR_INVALID, "session file: too many records");
    uint64_t off = self->header_len + (uint64_t)self->nrecords * self->record_len;
    if (!self->at_end && fseeko(self->fp, (off_t)off, SEEK_SET) != 0)
        return owp_err_sys(err, "session file: seek to record %u", self->nrecords);
    owp_status st = write_bytes(self->fp, record, self->record_len, "record", err);
    /* Flushed at once: readers of the growing file (powstream's sub-session
     * summaries, a Fetch-Session during the test) must see every record. */
    if (st == OWP_OK && fflush(self->fp) != 0)
        st = owp_err_sys(err, "session file: flush record %u", self->nrecords);
    if (st == OWP_OK)
        self->nrecords++;
    self->at_end = st == OWP_OK;
    return st;
}

owp_status owp_file_writer_add(owp_file_writer *self, const owp_record *r, owp_err *err)
{
    if (self->record_len != OWP_RECORD_LEN)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "session file: a two-way file's records are pairs (twpfile.h)");
    uint8_t b[OWP_RECORD_LEN];
    owp_record_encode(r, b);
    return owp_file_writer_add_raw(self, b, err);
}

owp_status owp_file_writer_finish(owp_file_writer *self, uint32_t finished, uint32_t next_seqno,
                                  const owp_skip *skips, uint32_t nskips, owp_err *err)
{
    int twoway = self->version == OWP_FILE_VERSION_TWOWAY;
    if ((nskips && !skips) || (nskips && twoway))
        return owp_err_set(err, OWP_ERR_INVALID, "session file: %u skips %s", nskips,
                           twoway ? "in a two-way file" : "without data");
    uint64_t oset_skips = self->header_len + (uint64_t)self->nrecords * self->record_len;
    self->at_end = 0; /* the header is rewritten below */
    if (fseeko(self->fp, (off_t)oset_skips, SEEK_SET) != 0)
        return owp_err_sys(err, "session file: seek to skip ranges");
    owp_status st = write_skips(self->fp, skips, nskips, err);
    /* The reference's two-way header keeps next_seqno, the count and the
     * skip offset 0 (its readers count records from the file's size). */
    if (st == OWP_OK)
        st = write_header(self->fp, self->version, &self->req, finished,
                          twoway ? 0 : next_seqno, nskips, twoway ? 0 : self->nrecords,
                          twoway ? 0 : oset_skips, self->header_len, err);
    if (st == OWP_OK && fflush(self->fp) != 0)
        st = owp_err_sys(err, "session file: flush");
    return st;
}

uint32_t owp_file_writer_nrecords(const owp_file_writer *self) { return self->nrecords; }

void owp_file_writer_destroy(owp_file_writer **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_request_clear(&(*self_p)->req);
    free(*self_p);
    *self_p = NULL;
}

owp_status owp_file_write_fetched_header(FILE *fp, const owp_request *req, uint32_t finished,
                                         uint32_t next_seqno, const owp_skip *skips,
                                         uint32_t nskips, uint32_t nrecords, owp_err *err)
{
    owp_status st = check_request(req, err);
    if (st != OWP_OK)
        return st;
    if (nskips && !skips)
        return owp_err_set(err, OWP_ERR_INVALID, "session file: %u skips without data", nskips);
    uint64_t header_len = owp_file_header_len(req->nslots);
    /* The fetcher's quirk: oset_skips = header end even without skips. */
    st = write_header(fp, OWP_FILE_VERSION, req, finished, next_seqno, nskips, nrecords,
                      header_len, header_len + (uint64_t)nskips * SKIP_LEN, err);
    if (st == OWP_OK)
        st = write_skips(fp, skips, nskips, err);
    return st;
}
