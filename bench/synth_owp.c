/* synth_owp.c - synthetic .owp sessions for the benchmarks (see synth_owp.h). */
#include "synth_owp.h"

#include <math.h>
#include <stdlib.h>

#include "owpfile.h"

uint32_t synth_rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static owp_record synth_record(uint32_t seq, owp_num64 start, double interval, uint32_t x,
                               int faults)
{
    owp_record r = {.seq = seq, .send_err = OWP_ERREST_UNSYNC, .recv_err = OWP_ERREST_UNSYNC,
                    .ttl = 252};
    r.send_time = start + (owp_num64)((seq + 1) * interval * 4294967296.0);
    if (faults && x % 1000 < 20) {
        r.ttl = 255; /* lost: no receive time, no TTL */
        return r;
    }
    double u = ((x >> 10) % 100000 + 1) / 100000.0;
    double delay = 0.002 + 0.001 * exp(1.2 * sqrt(-2 * log(u)));
    r.recv_time = r.send_time + owp_num64_from_double(delay);
    return r;
}

static owp_status write_records(owp_file_writer *w, uint32_t n, owp_num64 start, double interval,
                                uint32_t *s, int faults, owp_err *err)
{
    owp_record held = {0};
    int holding = 0;
    owp_status st = OWP_OK;
    for (uint32_t i = 0; i < n && st == OWP_OK; i++) {
        uint32_t x = synth_rnd(s);
        owp_record r = synth_record(i, start, interval, x, faults);
        if (faults && !holding && r.recv_time && (x >> 20) % 1000 < 5) {
            held = r; /* reordered: written after the next one */
            holding = 1;
            continue;
        }
        st = owp_file_writer_add(w, &r, err);
        if (st == OWP_OK && holding)
            st = owp_file_writer_add(w, &held, err);
        holding = 0;
        if (st == OWP_OK && faults && r.recv_time && (x >> 5) % 1000 < 5)
            st = owp_file_writer_add(w, &r, err); /* duplicated */
    }
    if (st == OWP_OK && holding)
        st = owp_file_writer_add(w, &held, err);
    return st;
}

FILE *synth_owp_file(uint32_t n, owp_num64 start, double interval, uint32_t seed, int faults,
                     owp_err *err)
{
    owp_slot slot = {.type = OWP_SLOT_FIXED, .value = owp_num64_from_double(interval)};
    owp_request req = {.ipvn = 4, .nslots = 1, .slots = &slot, .npackets = n,
                       .start_time = start, .timeout = owp_num64_from_double(10)};
    uint32_t s = seed * 2654435761u | 1;
    for (int i = 0; i < 16; i++)
        req.sid[i] = (uint8_t)synth_rnd(&s);
    FILE *fp = tmpfile();
    if (!fp) {
        owp_err_sys(err, "tmpfile");
        return NULL;
    }
    owp_file_writer *w = owp_file_writer_new(fp, &req, err);
    owp_status st = w ? write_records(w, n, start, interval, &s, faults, err) : OWP_ERR_FORMAT;
    if (st == OWP_OK)
        st = owp_file_writer_finish(w, OWP_FINISHED_NORMAL, n, NULL, 0, err);
    owp_file_writer_destroy(&w);
    if (st != OWP_OK || fflush(fp) != 0) {
        fclose(fp);
        return NULL;
    }
    return fp;
}

uint8_t *synth_slurp(FILE *fp, size_t *len)
{
    if (fseek(fp, 0, SEEK_END) != 0)
        return NULL;
    long end = ftell(fp);
    rewind(fp);
    uint8_t *buf = end > 0 ? malloc((size_t)end) : NULL;
    if (!buf || fread(buf, 1, (size_t)end, fp) != (size_t)end) {
        free(buf);
        return NULL;
    }
    *len = (size_t)end;
    return buf;
}
