/*
 * server_fetch.c - Fetch-Session, server side (RFC 4656 section 3.9; wire
 * facts: ../shared/spec/owamp-wire.md section 10): find the session in
 * DATADIR/catalog/, answer with a Fetch-Ack, then stream the stored
 * Request-Session, skip ranges and the records in the asked range.
 *
 * The records are read twice: once to count those in range (the Fetch-Ack
 * announces the number), once to send them. A file still being written may
 * grow in between; only the counted records are sent.
 */
#include "server_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "datadir.h"
#include "owpfile.h"

#define FETCH_CHUNK_RECORDS 160 /* 160 x 25 bytes = 250 blocks per write */

typedef struct fetch_state {
    conn *c;
    uint32_t begin, end;
    uint32_t count;   /* records in range (pass 1) / sent (pass 2) */
    uint32_t limit;   /* pass 2: stop after this many */
    uint8_t buf[FETCH_CHUNK_RECORDS * OWP_RECORD_LEN];
    size_t used;
    owp_status st;
    owp_err *err;
} fetch_state;

static int count_in_range(const owp_record *r, void *arg)
{
    fetch_state *fs = arg;
    if (r->seq >= fs->begin && r->seq <= fs->end)
        fs->count++;
    return 0;
}

static int send_in_range(const owp_record *r, void *arg)
{
    fetch_state *fs = arg;
    if (r->seq < fs->begin || r->seq > fs->end)
        return 0;
    if (fs->count >= fs->limit)
        return 1;
    owp_record_encode(r, fs->buf + fs->used);
    fs->used += OWP_RECORD_LEN;
    fs->count++;
    if (fs->used == sizeof fs->buf) { /* 4000 bytes: a multiple of 16 */
        fs->st = owp_chan_send(fs->c->chan, fs->buf, fs->used, fs->err);
        if (fs->st == OWP_OK)
            fs->st = owp_chan_flush(fs->c->chan, fs->err);
        fs->used = 0;
        if (fs->st != OWP_OK)
            return 1;
    }
    return 0;
}

static owp_status send_fetch_ack(conn *c, const owp_fetch_ack *ack, owp_err *err)
{
    uint8_t buf[OWP_FETCH_ACK_LEN];
    owp_wire_encode_fetch_ack(ack, buf);
    return owp_srv_send_msg(c, buf, 16, err);
}

/* Stream the stored session: Request-Session, skips, records (wire §10). */
static owp_status send_fetch_data(conn *c, owp_file *f, fetch_state *fs, int finished,
                                  owp_err *err)
{
    const owp_request *req = owp_file_request(f);
    uint8_t pre[OWP_REQUEST_PREAMBLE_LEN];
    owp_wire_encode_request_preamble(req, pre);
    owp_status st = owp_srv_send_msg(c, pre, 96, err);
    for (uint32_t i = 0; i < req->nslots && st == OWP_OK; i++) {
        uint8_t blk[OWP_SLOT_LEN];
        owp_wire_encode_slot(&req->slots[i], blk);
        st = owp_chan_send(c->chan, blk, sizeof blk, err);
    }
    if (st == OWP_OK)
        st = owp_chan_send_hmac(c->chan, err);
    if (st != OWP_OK)
        return st;

    uint32_t nskips = finished ? owp_file_nskips(f) : 0;
    const owp_skip *skips = owp_file_skips(f);
    for (uint32_t i = 0; i < nskips && st == OWP_OK; i += 2) {
        uint8_t blk[16] = {0};
        owp_put32(blk, skips[i].first);
        owp_put32(blk + 4, skips[i].last);
        if (i + 1 < nskips) {
            owp_put32(blk + 8, skips[i + 1].first);
            owp_put32(blk + 12, skips[i + 1].last);
        }
        st = owp_chan_send(c->chan, blk, sizeof blk, err);
    }
    if (st == OWP_OK)
        st = owp_chan_send_hmac(c->chan, err);
    if (st != OWP_OK)
        return st;

    fs->limit = fs->count;
    fs->count = 0;
    fs->used = 0;
    fs->st = OWP_OK;
    fs->err = err;
    owp_err rerr;
    owp_err_clear(&rerr);
    owp_status rst = owp_file_each_record(f, 0, send_in_range, fs, &rerr);
    if (fs->st != OWP_OK)
        return fs->st;
    if (rst != OWP_OK && rst != OWP_ERR_INTERRUPTED)
        return owp_err_set(err, rst, "fetch: %s", rerr.msg);
    if (fs->count != fs->limit)
        return owp_err_set(err, OWP_ERR_FORMAT, "fetch: %s shrank while being sent (%u of %u)",
                           owp_file_name(f), fs->count, fs->limit);
    size_t padded = owp_wire_pad16(fs->used);
    memset(fs->buf + fs->used, 0, padded - fs->used);
    if (padded)
        st = owp_chan_send(c->chan, fs->buf, padded, err);
    if (st == OWP_OK)
        st = owp_chan_send_hmac(c->chan, err);
    return st;
}

/* Tell the policy a whole session was fetched; delete the file and its
 * catalog entry when it asks to. */
static void report_fetched(conn *c, const char *catalog)
{
    const owp_server *s = c->srv;
    char cls[OWP_SERVER_CLASS_MAX], target[OWP_SERVER_PATH_MAX];
    owp_datadir_file_class(s->datadir, catalog, cls, sizeof cls);
    ssize_t n = readlink(catalog, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    struct stat sb;
    uint64_t size = (target[0] && stat(target, &sb) == 0) ? (uint64_t)sb.st_size : 0;
    if (!s->cfg.policy.fetched(s->cfg.policy.arg, &c->info, cls, target, size))
        return;
    /* The policy may have removed the file itself. */
    if (target[0] && unlink(target) != 0 && errno != ENOENT)
        owp_srv_log(s, OWP_LOG_WARNING, "unlink %s: %s", target, strerror(errno));
    if (unlink(catalog) != 0 && errno != ENOENT)
        owp_srv_log(s, OWP_LOG_WARNING, "unlink %s: %s", catalog, strerror(errno));
}

owp_status owp_srv_fetch(conn *c, const uint8_t first[16], owp_err *err)
{
    owp_server *s = c->srv;
    uint8_t msg[OWP_FETCH_SESSION_LEN];
    memcpy(msg, first, 16);
    owp_status st = owp_chan_recv(c->chan, msg + 16, 16, err);
    if (st == OWP_OK)
        st = owp_chan_recv_hmac(c->chan, err);
    if (st != OWP_OK)
        return st;
    memset(msg + 32, 0, 16);
    owp_fetch_session fr;
    st = owp_wire_decode_fetch_session(msg, &fr, err);
    if (st != OWP_OK)
        return st;

    char hex[2 * OWP_SID_LEN + 1], catalog[OWP_SERVER_PATH_MAX];
    owp_sid_hex(fr.sid, hex);
    owp_fetch_ack ack;
    memset(&ack, 0, sizeof ack);
    FILE *fp = NULL;
    if (owp_server_catalog_path(s->datadir, fr.sid, catalog, sizeof catalog) == 0)
        fp = fopen(catalog, "rb");
    if (!fp) {
        owp_srv_log(s, OWP_LOG_INFO, "%s: Fetch-Session: no stored session %s", c->peer_name,
                    hex);
        ack.accept = OWP_ACCEPT_FAILURE;
        return send_fetch_ack(c, &ack, err);
    }
    owp_err ferr;
    owp_file *f = owp_file_read(fp, catalog, &ferr);
    fetch_state *fs = calloc(1, sizeof *fs);
    if (!f || !owp_file_request(f) || !fs) {
        owp_srv_log(s, OWP_LOG_ERR, "%s: Fetch-Session %s: %s", c->peer_name, hex,
                    f ? "unusable file" : ferr.msg);
        owp_file_destroy(&f);
        free(fs);
        fclose(fp);
        ack.accept = OWP_ACCEPT_INTERNAL;
        return send_fetch_ack(c, &ack, err);
    }
    fs->c = c;
    fs->begin = fr.begin_seq;
    fs->end = fr.end_seq;
    owp_status cst = owp_file_each_record(f, 0, count_in_range, fs, &ferr);
    if (cst != OWP_OK) {
        owp_srv_log(s, OWP_LOG_ERR, "%s: Fetch-Session %s: %s", c->peer_name, hex, ferr.msg);
        ack.accept = OWP_ACCEPT_INTERNAL;
        st = send_fetch_ack(c, &ack, err);
    } else {
        int finished = owp_file_finished(f) == OWP_FINISHED_NORMAL;
        ack.accept = OWP_ACCEPT_OK;
        ack.finished = (uint8_t)finished;
        ack.next_seqno = finished ? owp_file_next_seqno(f) : 0;
        ack.nskips = finished ? owp_file_nskips(f) : 0;
        ack.nrecords = fs->count;
        st = send_fetch_ack(c, &ack, err);
        if (st == OWP_OK)
            st = send_fetch_data(c, f, fs, finished, err);
        if (st == OWP_OK)
            owp_srv_log(s, OWP_LOG_DEBUG, "%s: Fetch-Session %s: %u records sent",
                        c->peer_name, hex, ack.nrecords);
    }
    owp_file_destroy(&f);
    fclose(fp);
    free(fs);
    /* Only a fetch of the whole session may delete it (delete_on_fetch). */
    if (st == OWP_OK && ack.accept == OWP_ACCEPT_OK && fr.begin_seq == 0 &&
        fr.end_seq == UINT32_MAX && s->cfg.policy.fetched)
        report_fetched(c, catalog);
    return st;
}
