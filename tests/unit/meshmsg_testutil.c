/* meshmsg_testutil.c - the mesh message suites' shared fixtures
 * (meshmsg_testutil.h). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshmsg_internal.h"
#include "meshmsg_testutil.h"
#include "owamp.h"

const char KEY_A[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"; /* Z85, 40 chars */
const char KEY_B[] = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

void set(char **field, const char *value)
{
    owp_err e;
    ck_assert_msg(owm_msg_set_string(field, value, &e) == OWP_OK, "%s", e.msg);
}

/* ------------------------------------------------------------ one valid message of each kind */

owm_msg *new_kind(owm_msg_kind kind)
{
    owp_err e;
    owm_msg *env = owm_msg_new(kind, &e);
    ck_assert_msg(env != NULL, "%s", e.msg);
    return env;
}

owm_msg *make_hello(void)
{
    owp_err e;
    owm_msg *env = owm_msg_new_hello("nyc", "owmesh " PACKAGE_VERSION, "127.0.0.2:8861",
                                     "tcp://127.0.0.2:9100", 41, &e);
    ck_assert_msg(env != NULL, "%s", e.msg);
    return env;
}

owm_msg *make_schedule(void)
{
    owp_err e;
    owm_msg *env = new_kind(OWM_MSG_SCHEDULE);
    owm_msg_schedule *s = env->schedule;
    s->generation = 42;
    set(&s->node, "chi");
    owm_msg_stream *st = owm_msg_schedule_add_stream(s, &e);
    ck_assert_msg(st != NULL, "%s", e.msg);
    set(&st->id, "core-owd:nyc->chi");
    set(&st->source, "nyc");
    set(&st->peer, "127.0.0.2:8861");
    st->params->count = 600;
    st->params->sub_session_count = 60;
    st->params->padding = 20;
    st->params->dscp = 46;
    st->params->modes = OWP_MODE_AUTH | OWP_MODE_ENCRYPTED;
    set(&st->params->identity, "meshkey");
    st = owm_msg_schedule_add_stream(s, &e);
    ck_assert_msg(st != NULL, "%s", e.msg);
    set(&st->id, "core-owd:sea->chi");
    set(&st->source, "sea");
    set(&st->peer, "[::1]:8862");
    owm_msg_owamp_server *srv = owm_msg_schedule_set_owamp_server(s, &e);
    ck_assert_msg(srv != NULL, "%s", e.msg);
    set(&srv->listen, "127.0.0.3:8861");
    srv->modes = OWP_MODE_OPEN | OWP_MODE_AUTH;
    srv->test_port_low = 9000;
    srv->test_port_high = 9100;
    return env;
}

owm_msg *make_schedule_ack(void)
{
    owp_err e;
    owm_msg *env = owm_msg_new_schedule_ack(42, 0, "stream x: no such identity", &e);
    ck_assert_msg(env != NULL, "%s", e.msg);
    return env;
}

owm_msg *make_status(void)
{
    owp_err e;
    owm_msg *env = new_kind(OWM_MSG_STATUS);
    owm_msg_status *s = env->status;
    set(&s->node, "chi");
    s->generation = 42;
    s->time = 0xeeae670c40aba387ull;
    s->spool_bytes = 123456;
    s->spool_files = 7;
    owm_msg_stream_health *h = owm_msg_status_add_stream(s, &e);
    ck_assert_msg(h != NULL, "%s", e.msg);
    set(&h->id, "core-owd:nyc->chi");
    h->state = OWM_STREAM_STATE_RUNNING;
    h->sessions_completed = 12;
    h->last_session_end = 0xeeae670c00000000ull;
    h->packets_sent = 600;
    h->packets_lost = 3;
    h->files_spooled = 24;
    h = owm_msg_status_add_stream(s, &e);
    ck_assert_msg(h != NULL, "%s", e.msg);
    set(&h->id, "core-owd:sea->chi");
    h->state = OWM_STREAM_STATE_BACKOFF;
    set(&h->last_error, "[::1]:8862: connection refused");
    return env;
}

owm_msg *make_error(void)
{
    owp_err e;
    owm_msg *env =
        owm_msg_new_error(OWM_ERROR_NOT_REGISTERED, "Status before Hello", &e);
    ck_assert_msg(env != NULL, "%s", e.msg);
    return env;
}

owm_msg *make_status_request(void)
{
    owp_err e;
    owm_msg *env = new_kind(OWM_MSG_STATUS_REQUEST);
    env->status_request->request_id = 7;
    ck_assert(owm_msg_status_request_add_node(env->status_request, "nyc", &e) == OWP_OK);
    ck_assert(owm_msg_status_request_add_node(env->status_request, "chi", &e) == OWP_OK);
    return env;
}

owm_msg *make_status_reply(void)
{
    owp_err e;
    owm_msg *env = new_kind(OWM_MSG_STATUS_REPLY);
    owm_msg_status_reply *r = env->status_reply;
    r->request_id = 7;
    r->generation = 42;
    r->time = 0xeeae670c40aba387ull;
    owm_msg_node_status *n = owm_msg_status_reply_add_node(r, &e);
    ck_assert_msg(n != NULL, "%s", e.msg);
    set(&n->node, "chi");
    n->connected = 1;
    n->last_seen = 0xeeae670c00000000ull;
    n->expected_generation = 42;
    n->acked_generation = 42;
    n->running_generation = 41;
    set(&n->software_version, "owmesh " PACKAGE_VERSION);
    set(&n->owamp_address, "127.0.0.3:8861");
    owm_msg_stream_status *ss = owm_msg_node_status_add_stream(n, &e);
    ck_assert_msg(ss != NULL, "%s", e.msg);
    set(&ss->id, "core-owd:nyc->chi");
    set(&ss->source, "nyc");
    set(&ss->destination, "chi");
    ss->expected = 1;
    owm_msg_stream_health *h = owm_msg_stream_status_set_health(ss, &e);
    ck_assert_msg(h != NULL, "%s", e.msg);
    set(&h->id, "core-owd:nyc->chi");
    h->state = OWM_STREAM_STATE_RUNNING;
    h->packets_sent = 600;
    ss = owm_msg_node_status_add_stream(n, &e);
    ck_assert_msg(ss != NULL, "%s", e.msg);
    set(&ss->id, "old:sea->chi"); /* runs but no longer expected */
    set(&ss->source, "sea");
    set(&ss->destination, "chi");
    n = owm_msg_status_reply_add_node(r, &e);
    ck_assert_msg(n != NULL, "%s", e.msg);
    set(&n->node, "nyc"); /* never connected */
    n->expected_generation = 42;
    set(&n->last_error, "never registered");
    return env;
}

owm_msg *make_directory(void)
{
    owp_err e;
    owm_msg *env = new_kind(OWM_MSG_DIRECTORY);
    env->directory->generation = 42;
    owm_msg_directory_entry *d = owm_msg_directory_add_node(env->directory, &e);
    ck_assert_msg(d != NULL, "%s", e.msg);
    set(&d->node, "nyc");
    set(&d->address, "127.0.0.2:8861");
    set(&d->data_endpoint, "tcp://127.0.0.2:9100");
    set(&d->public_key, KEY_A);
    d = owm_msg_directory_add_node(env->directory, &e);
    ck_assert_msg(d != NULL, "%s", e.msg);
    set(&d->node, "chi");
    set(&d->address, "127.0.0.3");
    set(&d->public_key, KEY_B);
    return env;
}

owm_msg *make_file_list_request(void)
{
    owm_msg *env = new_kind(OWM_MSG_FILE_LIST_REQUEST);
    env->file_list_request->after_seq = 100;
    env->file_list_request->max_files = 500;
    return env;
}

owm_msg *make_file_list(void)
{
    owp_err e;
    owm_msg *env = new_kind(OWM_MSG_FILE_LIST);
    env->file_list->more = 1;
    for (unsigned i = 0; i < 3; i++) {
        owm_msg_file_entry *f = owm_msg_file_list_add(env->file_list, &e);
        ck_assert_msg(f != NULL, "%s", e.msg);
        f->seq = 101 + i;
        set(&f->stream_id, "core-owd:nyc->chi");
        set(&f->name, i == 1 ? "16045516384432234496_16045516642130272256.sum"
                             : "16045516384432234496_16045516642130272256.owp");
        f->kind = i == 1 ? OWM_FILE_KIND_SUM : OWM_FILE_KIND_OWP;
        f->size = 24000 + i;
        f->start = 16045516384432234496ull;
        f->end = 16045516642130272256ull;
        if (i == 2)
            set(&f->digest, "9f86d081884c7d659a2feaa0c55ad015");
    }
    /* seqs 99-100 were never used; the listing is complete through 103 */
    env->file_list->through = 103;
    owm_msg_seq_gap *g = owm_msg_file_list_add_gap(env->file_list, &e);
    ck_assert_msg(g != NULL, "%s", e.msg);
    g->first = 99;
    g->last = 100;
    g->reason = OWM_GAP_REASON_UNUSED;
    return env;
}

owm_msg *make_peer_health(void)
{
    owp_err e;
    owm_msg *env = new_kind(OWM_MSG_PEER_HEALTH);
    env->peer_health->time = 16045516384432234496ull;
    ck_assert(owm_msg_peer_health_add_down(env->peer_health, "chi", &e) == OWP_OK);
    ck_assert(owm_msg_peer_health_add_down(env->peer_health, "nyc", &e) == OWP_OK);
    return env;
}

owm_msg *make_file_fetch(void)
{
    owm_msg *env = new_kind(OWM_MSG_FILE_FETCH);
    env->file_fetch->seq = 101;
    env->file_fetch->offset = 65536;
    env->file_fetch->credit = 8;
    env->file_fetch->chunk_size = 65536;
    return env;
}

owm_msg *make_file_chunk(void)
{
    owp_err e;
    owm_msg *env = new_kind(OWM_MSG_FILE_CHUNK);
    env->file_chunk->seq = 101;
    env->file_chunk->offset = 65536;
    uint8_t data[300];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    ck_assert(owm_msg_set_bytes(&env->file_chunk->data, data, sizeof data, &e) == OWP_OK);
    env->file_chunk->last = 1;
    return env;
}

owm_msg *make_file_credit(void)
{
    owm_msg *env = new_kind(OWM_MSG_FILE_CREDIT);
    env->file_credit->seq = 101;
    env->file_credit->credit = 4;
    return env;
}

owm_msg *make_file_ack(void)
{
    owp_err e;
    owm_msg *env = new_kind(OWM_MSG_FILE_ACK);
    for (uint64_t s = 101; s <= 103; s++)
        ck_assert(owm_msg_file_ack_add(env->file_ack, s, &e) == OWP_OK);
    return env;
}

owm_msg *make_directory_request(void)
{
    return new_kind(OWM_MSG_DIRECTORY_REQUEST);
}

/* Pack without validation, as a hostile or buggy peer would. */
uint8_t *raw_pack(const owm_msg *env, size_t *len)
{
    uint8_t *buf;
    owp_err e;
    ck_assert_msg(owm_msg_encode_raw(env, &buf, len, &e) == OWP_OK, "%s", e.msg);
    return buf;
}

owp_status decode_raw(const owm_msg *env, owm_error_code *why, owp_err *e)
{
    size_t len;
    uint8_t *buf = raw_pack(env, &len);
    owm_msg *back = (owm_msg *)1;
    owp_status st = owm_msg_decode(buf, len, &back, why, e);
    free(buf);
    if (st != OWP_OK)
        ck_assert_ptr_null(back);
    owm_msg_free(&back);
    return st;
}
