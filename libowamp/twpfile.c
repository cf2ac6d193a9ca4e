/*
 * twpfile.c - two-way session files (twpfile.h): the records and the
 * writer; the header, the session description and the chunked reading of
 * the record region are owpfile.c's (owpfile_internal.h).
 */
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif
#include "twpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "owpfile_internal.h"
#include "wire.h"

void owp_tw_record_encode(const owp_tw_record *r, uint8_t out[OWP_TW_RECORD_LEN])
{
    owp_record_encode(&r->fwd, out);
    owp_record_encode(&r->bck, out + OWP_RECORD_LEN);
}

void owp_tw_record_decode(const uint8_t in[OWP_TW_RECORD_LEN], owp_tw_record *r)
{
    owp_record_decode(in, &r->fwd);
    owp_record_decode(in + OWP_RECORD_LEN, &r->bck);
}

/* ------------------------------------------------------------------ reading */

static int errests_ok(const owp_tw_record *r)
{
    return owp_errest_valid(r->fwd.send_err) && owp_errest_valid(r->fwd.recv_err) &&
           owp_errest_valid(r->bck.send_err) && owp_errest_valid(r->bck.recv_err);
}

typedef struct tw_consumer {
    owp_tw_record_fn fn;
    void *arg;
} tw_consumer;

static owp_status decode_chunk(owp_file *f, const owp_file_chunk *c, void *arg, int *stopped,
                               owp_err *err)
{
    const tw_consumer *tc = arg;
    const uint8_t *p = c->bytes;
    for (uint64_t i = 0; i < c->n; i++, p += OWP_TW_RECORD_LEN) {
        owp_tw_record r;
        owp_tw_record_decode(p, &r);
        if (!errests_ok(&r))
            return owp_err_set(err, OWP_ERR_FORMAT,
                               "%s: offset %llu: record %llu (seq %u): error estimate with "
                               "multiplier 0",
                               owp_file_name(f),
                               (unsigned long long)(c->offset + i * OWP_TW_RECORD_LEN),
                               (unsigned long long)(c->first + i), r.fwd.seq);
        if (tc->fn(&r, tc->arg) != 0) {
            *stopped = 1;
            return OWP_OK;
        }
    }
    return OWP_OK;
}

owp_status owp_twp_each_record(owp_file *f, uint32_t first, uint32_t count, owp_tw_record_fn fn,
                               void *arg, owp_err *err)
{
    if (!owp_file_is_twoway(f))
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "%s: offset 4: version %u is not a two-way file (0x%x)",
                           owp_file_name(f), owp_file_version(f), OWP_FILE_VERSION_TWOWAY);
    tw_consumer tc = {.fn = fn, .arg = arg};
    return owp_file_each_chunk(f, first, count, decode_chunk, &tc, err);
}

typedef struct tw_array {
    owp_tw_record *records;
    uint32_t n;
} tw_array;

static int append_record(const owp_tw_record *r, void *arg)
{
    tw_array *a = arg;
    a->records[a->n++] = *r;
    return 0;
}

owp_status owp_twp_read_records(owp_file *f, uint32_t max, owp_tw_record **records, uint32_t *n,
                                owp_err *err)
{
    *records = NULL;
    *n = 0;
    uint32_t want = owp_file_region_nrecords(f);
    if (max != 0 && max < want)
        want = max;
    tw_array a = {.records = malloc(((size_t)want + 1) * sizeof *a.records)};
    if (!a.records)
        return owp_err_set(err, OWP_ERR_NOMEM, "%s: %u records: out of memory", owp_file_name(f),
                           want);
    owp_status st = owp_twp_each_record(f, 0, want, append_record, &a, err);
    if (st != OWP_OK) {
        free(a.records);
        return st;
    }
    *records = a.records;
    *n = a.n;
    return OWP_OK;
}

/* ------------------------------------------------------------------ writing */

/* The .owp receiver-layout writer (owpfile.c) in its two-way version. */
struct owp_twp_writer {
    owp_file_writer *w;
};

owp_twp_writer *owp_twp_writer_new(FILE *fp, const owp_request *req, owp_err *err)
{
    if (!fp || !req) {
        owp_err_set(err, OWP_ERR_INVALID, "two-way file writer: no file or no session");
        return NULL;
    }
    owp_twp_writer *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "two-way file writer: out of memory");
        return NULL;
    }
    owp_request stored = *req; /* slots shared: the writer copies them */
    stored.conf_sender = stored.conf_receiver = 1;
    self->w = owp_file_writer_new_version(fp, &stored, OWP_FILE_VERSION_TWOWAY, err);
    if (!self->w)
        owp_twp_writer_destroy(&self);
    return self;
}

owp_status owp_twp_writer_add(owp_twp_writer *self, const owp_tw_record *r, owp_err *err)
{
    uint8_t b[OWP_TW_RECORD_LEN];
    owp_tw_record_encode(r, b);
    return owp_file_writer_add_raw(self->w, b, err);
}

owp_status owp_twp_writer_finish(owp_twp_writer *self, uint32_t finished, owp_err *err)
{
    return owp_file_writer_finish(self->w, finished, 0, NULL, 0, err);
}

uint32_t owp_twp_writer_nrecords(const owp_twp_writer *self)
{
    return owp_file_writer_nrecords(self->w);
}

void owp_twp_writer_destroy(owp_twp_writer **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_file_writer_destroy(&(*self_p)->w);
    free(*self_p);
    *self_p = NULL;
}

/* ------------------------------------------------------------------ saving */

#define TEMP_TRIES 16

struct owp_twp_save {
    char *path, *temp;
    int fd;
};

/* PATH.tmp-XXXXXXXX, created exclusively with the mode a plain fopen would
 * give (0666 less the umask). */
static owp_status create_temp(owp_twp_save *self, owp_err *err)
{
    size_t len = strlen(self->path) + 32;
    if (!(self->temp = malloc(len)))
        return owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", self->path);
    for (int tries = 0; tries < TEMP_TRIES; tries++) {
        uint8_t r[4];
        if (owp_random_bytes(r, sizeof r, err) != OWP_OK)
            return err ? err->code : OWP_ERR_SYS;
        snprintf(self->temp, len, "%s.tmp-%02x%02x%02x%02x", self->path, r[0], r[1], r[2], r[3]);
        self->fd = open(self->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (self->fd >= 0)
            return OWP_OK;
        if (errno != EEXIST)
            break;
    }
    return owp_err_sys(err, "%s: cannot create %s", self->path, self->temp);
}

owp_twp_save *owp_twp_save_begin(const char *path, owp_err *err)
{
    owp_twp_save *self = calloc(1, sizeof *self);
    if (!self || !path || !(self->path = strdup(path))) {
        owp_err_set(err, path ? OWP_ERR_NOMEM : OWP_ERR_INVALID, "two-way file %s: %s",
                    path ? path : "(none)", path ? "out of memory" : "no path");
        free(self);
        return NULL;
    }
    self->fd = -1;
    if (create_temp(self, err) != OWP_OK) {
        free(self->temp);
        free(self->path);
        free(self);
        return NULL;
    }
    return self;
}

const char *owp_twp_save_temp_path(const owp_twp_save *self) { return self->temp; }

static owp_status write_all(FILE *fp, const owp_request *req, const owp_tw_record *records,
                            uint32_t n, owp_err *err)
{
    owp_twp_writer *w = owp_twp_writer_new(fp, req, err);
    if (!w)
        return err ? err->code : OWP_ERR_INVALID;
    owp_status st = OWP_OK;
    for (uint32_t i = 0; i < n && st == OWP_OK; i++)
        st = owp_twp_writer_add(w, &records[i], err);
    if (st == OWP_OK)
        st = owp_twp_writer_finish(w, OWP_FINISHED_NORMAL, err);
    owp_twp_writer_destroy(&w);
    return st;
}

owp_status owp_twp_save_commit(owp_twp_save **self_p, const owp_request *req,
                               const owp_tw_record *records, uint32_t n, owp_err *err)
{
    owp_twp_save *self = *self_p;
    FILE *fp = fdopen(self->fd, "wb");
    owp_status st = fp ? OWP_OK : owp_err_sys(err, "%s: fdopen", self->temp);
    if (fp)
        self->fd = -1; /* the stream owns it now */
    if (st == OWP_OK)
        st = write_all(fp, req, records, n, err);
    if (st == OWP_OK && fsync(fileno(fp)) != 0)
        st = owp_err_sys(err, "%s: fsync", self->temp);
    if (fp && fclose(fp) != 0 && st == OWP_OK)
        st = owp_err_sys(err, "%s: close", self->temp);
    if (st == OWP_OK && rename(self->temp, self->path) != 0)
        st = owp_err_sys(err, "%s: rename from %s", self->path, self->temp);
    if (st != OWP_OK)
        owp_err_prefix(err, "saving %s", self->path);
    owp_twp_save_abort(self_p); /* after a rename, the temporary name is gone */
    return st;
}

void owp_twp_save_abort(owp_twp_save **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_twp_save *self = *self_p;
    if (self->fd >= 0)
        close(self->fd);
    unlink(self->temp);
    free(self->temp);
    free(self->path);
    free(self);
    *self_p = NULL;
}
