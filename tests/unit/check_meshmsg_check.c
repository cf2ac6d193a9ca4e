/* check_meshmsg_check.c - the mesh message validation rules
 * (mesh/meshmsg_check.c): every rule, on decode and on encode, the validators
 * as entry points, and the token and text rules. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshmsg.h"
#include "meshmsg_internal.h"
#include "meshmsg_testutil.h"
#include "owamp.h"
#include "testutil.h"

/* ------------------------------------------------------------ validation rules
 *
 * Each rule breaks one field of a valid message; the broken message must be
 * refused on decode (OWP_ERR_PROTO, ERROR_MALFORMED) and on encode
 * (OWP_ERR_INVALID) with a message naming the field. */

static void expect_refused(owm_msg *env, const char *want)
{
    owp_err e;
    owm_error_code why = 0;
    ck_assert_int_eq(decode_raw(env, &why, &e), OWP_ERR_PROTO);
    ck_assert_int_eq(e.code, OWP_ERR_PROTO);
    ck_assert_msg(strstr(e.msg, want) != NULL, "wanted \"%s\" in \"%s\"", want, e.msg);
    ck_assert_int_eq(why, OWM_ERROR_MALFORMED);
    uint8_t *buf = (uint8_t *)1;
    size_t len = 1;
    ck_assert_int_eq(owm_msg_encode(env, &buf, &len, &e), OWP_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, want) != NULL, "encode: wanted \"%s\" in \"%s\"", want, e.msg);
    ck_assert_ptr_null(buf);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_null(owm_msg_encode_frame(env, &e));
    ck_assert_int_eq(e.code, OWP_ERR_INVALID);
}

static const char *const SCHEDULE_RULES[] = {
    "Schedule.generation: must be > 0",
    "Schedule.node: missing",
    "Schedule.node: must be 1-64 printable",              /* space */
    "Schedule.node: must be 1-64 printable",              /* ".." */
    "Schedule.node: must be 1-64 printable",              /* 65 bytes */
    "Schedule.streams[0].id: missing",
    "Schedule.streams[1].id: must be 1-128",              /* '/' */
    "Schedule.streams: stream id \"core-owd:nyc->chi\" appears more than once",
    "Schedule.streams[0].source: \"chi\" is the node itself",
    "stream \"core-owd:nyc->chi\": Schedule.streams[0].source: missing",
    "Schedule.streams[0].peer: missing",
    "Schedule.streams[0].peer: address \":8861\" has no host",
    "Schedule.streams[0].peer: address \"host:99999\": expected a port number",
    "Schedule.streams[0].params: missing",
    "Schedule.streams[0].params.interval: 0 seconds is out of range",
    "Schedule.streams[0].params.interval: -1 seconds",
    "Schedule.streams[0].params.interval: nan seconds",
    "Schedule.streams[0].params.interval: inf seconds",
    "Schedule.streams[0].params.interval: 2e+06 seconds",
    "Schedule.streams[0].params.count: must be > 0",
    "Schedule.streams[0].params.sub_session_count: 7 does not divide count 600",
    "Schedule.streams[0].params.padding: 65536 bytes exceed",
    "Schedule.streams[0].params.loss_timeout: 0 seconds",
    "Schedule.streams[0].params.bucket_width: -0.1 seconds",
    "Schedule.streams[0].params.dscp: 64 is out of range",
    "Schedule.streams[0].params.dscp: -2 is out of range",
    "Schedule.streams[0].params.modes: 0x8 has bits",
    "Schedule.streams[0].params.identity: missing: modes 0x2",
    "Schedule.streams[0].params.identity: must be 1-80",
    "Schedule.owamp_server.modes: no mode given",
    "Schedule.owamp_server.test_port_low/high: 9100-9000 is not a port range",
    "Schedule.owamp_server.test_port_low/high: 0-9000 is not a port range",
    "Schedule.owamp_server.test_port_low/high: 9000-70000: ports must be <= 65535",
    "Schedule.owamp_server.listen: address \"[::1\": missing ']'",
    "Schedule.streams[1].params.sub_session_count: 1000 does not divide count 300",
    "collector \"coll2\": Schedule.collectors[1].public_key: not a Z85 CURVE key",
    "Schedule.collectors[0].name: missing",
    "Schedule.collectors: collector name \"coll1\" appears more than once",
    "Schedule.collectors: collector public_key \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\" "
    "appears more than once",
    "Schedule.collectors[0].name: must be 1-64 printable",
    "Schedule.data_endpoint: not a ZeroMQ endpoint",
    "Schedule.data_endpoint: not a ZeroMQ endpoint", /* a space */
};

#define COLL_KEY1 "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define COLL_KEY2 "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

/* Two valid collectors (minor version 3), for the rules that break them. */
static owm_msg_collector **two_collectors(owm_msg_schedule *s)
{
    owp_err e;
    ck_assert_int_eq(owm_msg_schedule_add_collector(s, "coll1", COLL_KEY1, &e), OWP_OK);
    ck_assert_int_eq(owm_msg_schedule_add_collector(s, "coll2", COLL_KEY2, &e), OWP_OK);
    return s->collectors;
}

static void break_schedule(owm_msg *env, int rule)
{
    owm_msg_schedule *s = env->schedule;
    owm_msg_stream *st = s->streams[0];
    owm_msg_stream_params *p = st->params;
    char longname[70];
    memset(longname, 'n', 65);
    longname[65] = '\0';
    switch (rule) {
    case 0: s->generation = 0; break;
    case 1: set(&s->node, ""); break;
    case 2: set(&s->node, "c hi"); break;
    case 3: set(&s->node, ".."); break;
    case 4: set(&s->node, longname); break;
    case 5: set(&st->id, ""); break;
    case 6: set(&s->streams[1]->id, "a/b"); break;
    case 7: set(&s->streams[1]->id, st->id); break;
    case 8: set(&st->source, "chi"); break;
    case 9: set(&st->source, ""); break;
    case 10: set(&st->peer, ""); break;
    case 11: set(&st->peer, ":8861"); break;
    case 12: set(&st->peer, "host:99999"); break;
    case 13:
        owm_msg_dealloc(&owm_type_stream_params, p);
        st->params = NULL;
        break;
    case 14: p->interval = 0; break;
    case 15: p->interval = -1; break;
    case 16: p->interval = NAN; break;
    case 17: p->interval = INFINITY; break;
    case 18: p->interval = 2e6; break;
    case 19: p->count = 0; break;
    case 20: p->sub_session_count = 7; break;
    case 21: p->padding = 65536; break;
    case 22: p->loss_timeout = 0; break;
    case 23: p->bucket_width = -0.1; break;
    case 24: p->dscp = 64; break;
    case 25: p->dscp = -2; break;
    case 26: p->modes = 8; break;
    case 27:
        p->modes = OWP_MODE_AUTH;
        set(&p->identity, "");
        break;
    case 28: {
        char longid[90];
        memset(longid, 'k', 81);
        longid[81] = '\0';
        set(&p->identity, longid);
        break;
    }
    case 29: s->owamp_server->modes = 0; break;
    case 30:
        s->owamp_server->test_port_low = 9100;
        s->owamp_server->test_port_high = 9000;
        break;
    case 31: s->owamp_server->test_port_low = 0; s->owamp_server->test_port_high = 9000; break;
    case 32: s->owamp_server->test_port_high = 70000; break;
    case 33: set(&s->owamp_server->listen, "[::1"); break;
    case 34: s->streams[1]->params->sub_session_count = 1000; break;
    case 35: set(&two_collectors(s)[1]->public_key, "not-a-key"); break;
    case 36: set(&two_collectors(s)[0]->name, ""); break;
    case 37: set(&two_collectors(s)[1]->name, "coll1"); break;
    case 38: set(&two_collectors(s)[1]->public_key, COLL_KEY1); break;
    case 39: set(&two_collectors(s)[0]->name, "c/1"); break;
    case 40: set(&s->data_endpoint, "127.0.0.3:9000"); break;
    case 41: set(&s->data_endpoint, "tcp://127.0.0.3 :9000"); break;
    default: ck_abort_msg("no rule %d", rule);
    }
}

START_TEST(schedule_rules)
{
    owm_msg *env = make_schedule();
    break_schedule(env, _i);
    expect_refused(env, SCHEDULE_RULES[_i]);
    owm_msg_free(&env);
}
END_TEST

START_TEST(schedule_accepts_edges)
{
    /* the limits themselves are valid */
    owm_msg *env = make_schedule();
    owm_msg_stream_params *p = env->schedule->streams[0]->params;
    p->dscp = 63;
    p->padding = OWM_MSG_MAX_PADDING;
    p->interval = OWM_MSG_MAX_SECONDS;
    p->sub_session_count = 600; /* = count: one sub-session */
    p->modes = 0;               /* open only, identity ignored */
    env->schedule->streams[1]->params->dscp = 0;
    env->schedule->owamp_server->test_port_low = 0;
    env->schedule->owamp_server->test_port_high = 0;
    set(&env->schedule->owamp_server->listen, "");
    owp_err e;
    ck_assert_msg(owm_msg_validate(env, &e) == OWP_OK, "%s", e.msg);
    /* no streams and no owamp server: a node with nothing to do */
    owm_msg_dealloc(&owm_type_owamp_server, env->schedule->owamp_server);
    env->schedule->owamp_server = NULL;
    for (size_t i = 0; i < env->schedule->n_streams; i++)
        owm_msg_stream_free(&env->schedule->streams[i]);
    env->schedule->n_streams = 0;
    ck_assert_msg(owm_msg_validate(env, &e) == OWP_OK, "%s", e.msg);
    owm_msg_free(&env);
}
END_TEST

typedef struct other_rule {
    maker_fn make;
    const char *want;
} other_rule;

static const other_rule OTHER_RULES[] = {
    {make_hello, "Hello.node: missing"},
    {make_hello, "Hello.software_version: missing"},
    {make_hello, "Hello.software_version: longer than 128 bytes or holds control characters"},
    {make_hello, "Hello.owamp_address: not an address"},
    {make_hello, "Hello.data_endpoint: not a ZeroMQ endpoint"},
    {make_schedule_ack, "ScheduleAck.generation: must be > 0"},
    {make_schedule_ack, "ScheduleAck.error: missing"},
    {make_schedule_ack, "ScheduleAck.error: longer than 1024 bytes or holds control"},
    {make_status, "Status.node: missing"},
    {make_status, "stream \"core-owd:nyc->chi\": Status.streams[0].state: 0 is not a stream state"},
    {make_status, "Status.streams[0].state: 9 is not a stream state"},
    {make_status, "Status.streams[0].packets_lost: 601 lost of 600 sent"},
    {make_status, "Status.streams: stream id \"core-owd:nyc->chi\" appears more than once"},
    {make_status, "Status.streams[1].last_error: longer than 1024 bytes"},
    {make_error, "Error.code: 0 is not an error code"},
    {make_error, "Error.code: 42 is not an error code"},
    {make_error, "Error.text: missing"},
    {make_status_request, "StatusRequest.nodes[1]: must be 1-64"},
    {make_status_reply, "StatusReply.nodes: node \"chi\" appears more than once"},
    {make_status_reply, "StatusReply.nodes[0].streams[0].health.id: \"other\" reported for stream"},
    {make_status_reply, "node \"chi\": stream \"core-owd:nyc->chi\": "
                        "StatusReply.nodes[0].streams[0].source: missing"},
    {make_status_reply, "StatusReply.nodes[0].streams: stream id \"core-owd:nyc->chi\" appears"},
    {make_status_reply, "StatusReply.nodes[1].last_error: longer than"},
    {make_directory, "Directory.nodes[0].public_key: not a Z85 CURVE key"},
    {make_directory, "Directory.nodes[1].public_key: not a Z85 CURVE key"},
    {make_directory, "node \"nyc\": Directory.nodes[0].address: missing"},
    {make_directory, "Directory.nodes: node \"nyc\" appears more than once"},
    {make_file_list_request, "FileListRequest.max_files: 0 is out of range"},
    {make_file_list_request, "FileListRequest.max_files: 65537 is out of range"},
    {make_file_list, "FileList.files[0].seq: must be > 0"},
    {make_file_list, "FileList.files[2].seq: 102 does not follow 102"},
    {make_file_list, "FileList.files[1].kind: 0 is not a file kind"},
    {make_file_list, "FileList.files[0].start: after end"},
    {make_file_list, "FileList.files[0].name: must be 1-128"},
    {make_file_fetch, "FileFetch.seq: must be > 0"},
    {make_file_fetch, "FileFetch.credit: 0 is out of range"},
    {make_file_fetch, "FileFetch.credit: 4097 is out of range"},
    {make_file_fetch, "FileFetch.chunk_size: 1048577 bytes exceed"},
    {make_file_chunk, "FileChunk.seq: must be > 0"},
    {make_file_chunk, "FileChunk.data: empty chunk that is not the last"},
    {make_file_chunk, "FileChunk.data: 1048577 bytes exceed"},
    {make_file_chunk, "FileChunk.offset: 18446744073709551615 + 300 bytes overflows"},
    {make_file_credit, "FileCredit.seq: must be > 0"},
    {make_file_credit, "FileCredit.credit: 0 is out of range"},
    {make_file_ack, "FileAck.seqs: empty"},
    {make_file_ack, "FileAck.seqs[2]: must be > 0"},
    {make_status_reply, "stream \"core-owd:nyc->chi\": StatusReply.nodes[0].streams[0].verdict: "
                        "10 is not a stream verdict"},
    {make_status_reply, "StatusReply.nodes[0].streams[0].verdict: unexpected for a stream the "
                        "mesh expects"},
    {make_status_reply, "StatusReply.nodes[0].streams[1].verdict: ok for a stream the mesh does "
                        "not expect"},
    {make_file_list, "FileList.files[2].digest: not 32 lowercase hex digits"},
    {make_file_list, "FileList.files[2].digest: not 32 lowercase hex digits"},
    {make_file_list, "FileList.through: 102 is below the last file listed (103)"},
    {make_file_list, "FileList.gaps[0]: file 101 is listed inside it"},
    {make_file_list, "FileList.gaps[0].reason: 0 is not a gap reason"},
    {make_file_list, "FileList.gaps[0]: 100-99 is not a range inside 1-103"},
    {make_file_list, "FileList.gaps: listed without FileList.through"},
    {make_peer_health, "PeerHealth.down[1]: \"chi\" does not follow \"nyc\""},
    {make_peer_health, "PeerHealth.down[0]: must be 1-64"},
    {make_status_reply, "StatusReply.nodes[0].streams[0].evidence: longer than"},
    {make_status, "Status.streams[0].unmeasured_reason: longer than"},
};

static void break_other(owm_msg *env, int rule)
{
    char big[1100];
    memset(big, 'x', 1025);
    big[1025] = '\0';
    owp_err e;
    switch (rule) {
    case 0: set(&env->hello->node, ""); break;
    case 1: set(&env->hello->software_version, ""); break;
    case 2: set(&env->hello->software_version, "owmesh\n0.1"); break;
    case 3: set(&env->hello->owamp_address, "a b"); break;
    case 4: set(&env->hello->data_endpoint, "127.0.0.2:9100"); break;
    case 5: env->schedule_ack->generation = 0; break;
    case 6: set(&env->schedule_ack->error, ""); break;
    case 7: set(&env->schedule_ack->error, "bad\x1b[31m"); break;
    case 8: set(&env->status->node, ""); break;
    case 9: env->status->streams[0]->state = 0; break;
    case 10: env->status->streams[0]->state = 9; break;
    case 11: env->status->streams[0]->packets_lost = 601; break;
    case 12: set(&env->status->streams[1]->id, env->status->streams[0]->id); break;
    case 13: set(&env->status->streams[1]->last_error, big); break;
    case 14: env->error->code = 0; break;
    case 15: env->error->code = 42; break;
    case 16: set(&env->error->text, ""); break;
    case 17: set(&env->status_request->nodes[1], "c\"hi"); break;
    case 18: set(&env->status_reply->nodes[1]->node, "chi"); break;
    case 19: set(&env->status_reply->nodes[0]->streams[0]->health->id, "other"); break;
    case 20: set(&env->status_reply->nodes[0]->streams[0]->source, ""); break;
    case 21: set(&env->status_reply->nodes[0]->streams[1]->id, "core-owd:nyc->chi"); break;
    case 22: set(&env->status_reply->nodes[1]->last_error, big); break;
    case 23: set(&env->directory->nodes[0]->public_key, "short"); break;
    case 24: {
        char key[41];
        memcpy(key, KEY_B, sizeof key);
        key[10] = ',';  /* not in the Z85 alphabet */
        set(&env->directory->nodes[1]->public_key, key);
        break;
    }
    case 25: set(&env->directory->nodes[0]->address, ""); break;
    case 26: set(&env->directory->nodes[1]->node, "nyc"); break;
    case 27: env->file_list_request->max_files = 0; break;
    case 28: env->file_list_request->max_files = OWM_MSG_MAX_ITEMS + 1; break;
    case 29: env->file_list->files[0]->seq = 0; break;
    case 30: env->file_list->files[2]->seq = 102; break;
    case 31: env->file_list->files[1]->kind = 0; break;
    case 32: env->file_list->files[0]->start = env->file_list->files[0]->end + 1; break;
    case 33: set(&env->file_list->files[0]->name, "../etc/passwd"); break;
    case 34: env->file_fetch->seq = 0; break;
    case 35: env->file_fetch->credit = 0; break;
    case 36: env->file_fetch->credit = OWM_MSG_MAX_CREDIT + 1; break;
    case 37: env->file_fetch->chunk_size = OWM_MSG_MAX_CHUNK + 1; break;
    case 38: env->file_chunk->seq = 0; break;
    case 39:
        ck_assert(owm_msg_set_bytes(&env->file_chunk->data, NULL, 0, &e) == OWP_OK);
        env->file_chunk->last = 0;
        break;
    case 40: {
        uint8_t *chunk = calloc(1, OWM_MSG_MAX_CHUNK + 1);
        ck_assert(chunk != NULL);
        ck_assert(owm_msg_set_bytes(&env->file_chunk->data, chunk, OWM_MSG_MAX_CHUNK + 1, &e) ==
                  OWP_OK);
        free(chunk);
        break;
    }
    case 41: env->file_chunk->offset = UINT64_MAX; break;
    case 42: env->file_credit->seq = 0; break;
    case 43: env->file_credit->credit = 0; break;
    case 44: env->file_ack->n_seqs = 0; break;
    case 45: env->file_ack->seqs[2] = 0; break;
    case 46: env->status_reply->nodes[0]->streams[0]->verdict = 10; break;
    case 47:
        env->status_reply->nodes[0]->streams[0]->verdict =
            OWM_MSG_VERDICT_UNEXPECTED;
        break;
    case 48:
        env->status_reply->nodes[0]->streams[1]->verdict = OWM_MSG_VERDICT_OK;
        break;
    case 49: set(&env->file_list->files[2]->digest, "9F86"); break;
    case 50:
        set(&env->file_list->files[2]->digest,
            "9F86D081884C7D659A2FEAA0C55AD015");
        break;
    case 51: env->file_list->through = 102; break;
    case 52: env->file_list->gaps[0]->last = 101; break;
    case 53: env->file_list->gaps[0]->reason = 0; break;
    case 54: env->file_list->gaps[0]->first = 100, env->file_list->gaps[0]->last = 99; break;
    case 55: env->file_list->through = 0; break;
    case 56:
        set(&env->peer_health->down[0], "nyc");
        set(&env->peer_health->down[1], "chi");
        break;
    case 57: set(&env->peer_health->down[0], "a b"); break;
    case 58: set(&env->status_reply->nodes[0]->streams[0]->evidence, big); break;
    case 59: set(&env->status->streams[0]->unmeasured_reason, big); break;
    default: ck_abort_msg("no rule %d", rule);
    }
}

START_TEST(other_rules)
{
    owm_msg *env = OTHER_RULES[_i].make();
    break_other(env, _i);
    expect_refused(env, OTHER_RULES[_i].want);
    owm_msg_free(&env);
}
END_TEST

/* ------------------------------------------------------------ collectors sharing an archive
 * (minor version 4): DirectoryRequest.archive/heartbeat/pulling and
 * Directory.divided/next_request/collector and DirectoryEntry.assigned. */

static owm_msg *shared_request(void)
{
    owp_err e;
    owm_msg *env = make_directory_request();
    set(&env->directory_request->archive, "clickhouse://db1:8123/owmesh");
    env->directory_request->heartbeat = 5;
    ck_assert(owm_msg_directory_request_add_pulling(env->directory_request, "nyc", &e) == OWP_OK);
    ck_assert(owm_msg_directory_request_add_pulling(env->directory_request, "chi", &e) == OWP_OK);
    return env;
}

static owm_msg *divided_directory(void)
{
    owm_msg *env = make_directory();
    env->directory->divided = true;
    env->directory->next_request = 1.25;
    set(&env->directory->collector, "coll-a");
    env->directory->nodes[1]->assigned = true;
    return env;
}

/* Encode, decode: the same fields come back. */
static owm_msg *round_trip(const owm_msg *env)
{
    owp_err e;
    uint8_t *buf;
    size_t len;
    owm_msg *back = NULL;
    ck_assert_msg(owm_msg_encode(env, &buf, &len, &e) == OWP_OK, "%s", e.msg);
    ck_assert_msg(owm_msg_decode(buf, len, &back, NULL, &e) == OWP_OK, "%s", e.msg);
    free(buf);
    return back;
}

START_TEST(sharing_fields_round_trip)
{
    owm_msg *env = shared_request();
    owm_msg *back = round_trip(env);
    ck_assert_str_eq(back->directory_request->archive, "clickhouse://db1:8123/owmesh");
    ck_assert_double_eq(back->directory_request->heartbeat, 5);
    ck_assert_uint_eq(back->directory_request->n_pulling, 2);
    ck_assert_str_eq(back->directory_request->pulling[1], "chi");
    owm_msg_free(&back);
    owm_msg_free(&env);
    env = divided_directory();
    back = round_trip(env);
    ck_assert(back->directory->divided);
    ck_assert_double_eq(back->directory->next_request, 1.25);
    ck_assert_str_eq(back->directory->collector, "coll-a");
    ck_assert(!back->directory->nodes[0]->assigned);
    ck_assert(back->directory->nodes[1]->assigned);
    owm_msg_free(&back);
    owm_msg_free(&env);
    /* an older collector's request: no fields, still valid (an unshared collector) */
    env = make_directory_request();
    back = round_trip(env);
    ck_assert_str_eq(back->directory_request->archive, "");
    ck_assert_double_eq(back->directory_request->heartbeat, 0);
    ck_assert_uint_eq(back->directory_request->n_pulling, 0);
    owm_msg_free(&back);
    owm_msg_free(&env);
}
END_TEST

START_TEST(sharing_fields_rules)
{
    owm_msg *env = shared_request();
    env->directory_request->heartbeat = 0.01;
    expect_refused(env, "DirectoryRequest.heartbeat: 0.01 seconds is out of range");
    env->directory_request->heartbeat = NAN;
    expect_refused(env, "DirectoryRequest.heartbeat:");
    env->directory_request->heartbeat = 5;
    set(&env->directory_request->pulling[1], "nyc");
    expect_refused(env, "DirectoryRequest.pulling: node \"nyc\" appears more than once");
    set(&env->directory_request->pulling[1], "c hi");
    expect_refused(env, "DirectoryRequest.pulling[1]: must be 1-64");
    set(&env->directory_request->pulling[1], "chi");
    set(&env->directory_request->archive, "a\nb");
    expect_refused(env, "DirectoryRequest.archive: longer than 300 bytes or holds control");
    owm_msg_free(&env);
    env = divided_directory();
    env->directory->next_request = -1;
    expect_refused(env, "Directory.next_request: -1 seconds is out of range");
    env->directory->next_request = 0; /* = at the heartbeat */
    set(&env->directory->collector, "a/b");
    expect_refused(env, "Directory.collector: must be 1-64");
    set(&env->directory->collector, "");
    env->directory->divided = false;
    expect_refused(env, "Directory.nodes[1].assigned: set, but the directory is not divided");
    owm_msg_free(&env);
}
END_TEST

START_TEST(validators_as_entry_points)
{
    owm_msg *env = make_schedule();
    owp_err e;
    ck_assert(owm_msg_validate_schedule(env->schedule, &e) == OWP_OK);
    env->schedule->streams[0]->params->count = 0;
    ck_assert_int_eq(owm_msg_validate_schedule(env->schedule, &e), OWP_ERR_PROTO);
    ck_assert_int_eq(owm_msg_validate_schedule(env->schedule, NULL), OWP_ERR_PROTO);
    owm_msg_free(&env);
    ck_assert_int_eq(owm_msg_validate(NULL, &e), OWP_ERR_INVALID);
}
END_TEST

START_TEST(tokens_texts_and_names)
{
    ck_assert(owm_msg_token_ok("core-owd:nyc->chi", 128));
    ck_assert(owm_msg_token_ok("a", 1));
    ck_assert(!owm_msg_token_ok("ab", 1));
    ck_assert(!owm_msg_token_ok("", 10));
    ck_assert(!owm_msg_token_ok(NULL, 10));
    ck_assert(!owm_msg_token_ok(".", 10));
    ck_assert(!owm_msg_token_ok("..", 10));
    ck_assert(owm_msg_token_ok("...", 10));
    ck_assert(!owm_msg_token_ok("a\\b", 10));
    ck_assert(!owm_msg_token_ok("a\tb", 10));
    ck_assert(!owm_msg_token_ok("caf\xc3\xa9", 10));
    ck_assert(owm_msg_text_ok("", 10));
    ck_assert(owm_msg_text_ok("caf\xc3\xa9 ok", 10));
    ck_assert(!owm_msg_text_ok("a\nb", 10));
    ck_assert(!owm_msg_text_ok("abcdefghijk", 10));
    ck_assert_str_eq(owm_msg_state_name(OWM_STREAM_STATE_BACKOFF), "backoff");
    ck_assert_str_eq(owm_msg_state_name((owm_stream_state)77), "unknown");
    ck_assert_str_eq(owm_msg_verdict_name(OWM_MSG_VERDICT_STALLED),
                     "stalled");
    ck_assert_str_eq(owm_msg_verdict_name(OWM_MSG_VERDICT_UNSPECIFIED),
                     "unknown");
    ck_assert_str_eq(owm_msg_error_code_name(OWM_ERROR_VERSION), "ERROR_VERSION");
    ck_assert_str_eq(owm_msg_error_code_name((owm_error_code)77), "unknown");
    ck_assert_str_eq(owm_msg_kind_name(OWM_MSG_FILE_ACK), "FileAck");
}
END_TEST

static Suite *meshmsg_check_suite(void)
{
    Suite *s = suite_create("meshmsg_check");
    TCase *tc = tcase_create("validation");
    tcase_add_loop_test(tc, schedule_rules, 0, (int)N_ELEMS(SCHEDULE_RULES));
    tcase_add_test(tc, schedule_accepts_edges);
    tcase_add_loop_test(tc, other_rules, 0, (int)N_ELEMS(OTHER_RULES));
    tcase_add_test(tc, validators_as_entry_points);
    tcase_add_test(tc, sharing_fields_round_trip);
    tcase_add_test(tc, sharing_fields_rules);
    suite_add_tcase(s, tc);
    tc = tcase_create("helpers");
    tcase_add_test(tc, tokens_texts_and_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(meshmsg_check_suite());
}
