/* check_meshmsg.c - the mesh message codec (mesh/meshmsg_codec.c,
 * mesh/meshmsg_types.c): round trips of every message, the wire vectors, the
 * version rules, and truncated, garbage and oversized input. The validation
 * rules are in check_meshmsg_check.c, the builders in check_meshmsg_builders.c. */
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

static const struct {
    owm_msg_kind kind;
    maker_fn make;
    const char *name;
} KINDS[] = {
    {OWM_MSG_HELLO, make_hello, "Hello"},
    {OWM_MSG_SCHEDULE, make_schedule, "Schedule"},
    {OWM_MSG_SCHEDULE_ACK, make_schedule_ack, "ScheduleAck"},
    {OWM_MSG_STATUS, make_status, "Status"},
    {OWM_MSG_ERROR, make_error, "Error"},
    {OWM_MSG_STATUS_REQUEST, make_status_request, "StatusRequest"},
    {OWM_MSG_STATUS_REPLY, make_status_reply, "StatusReply"},
    {OWM_MSG_DIRECTORY_REQUEST, make_directory_request, "DirectoryRequest"},
    {OWM_MSG_DIRECTORY, make_directory, "Directory"},
    {OWM_MSG_FILE_LIST_REQUEST, make_file_list_request, "FileListRequest"},
    {OWM_MSG_FILE_LIST, make_file_list, "FileList"},
    {OWM_MSG_FILE_FETCH, make_file_fetch, "FileFetch"},
    {OWM_MSG_FILE_CHUNK, make_file_chunk, "FileChunk"},
    {OWM_MSG_FILE_CREDIT, make_file_credit, "FileCredit"},
    {OWM_MSG_FILE_ACK, make_file_ack, "FileAck"},
    {OWM_MSG_PEER_HEALTH, make_peer_health, "PeerHealth"},
};

/* ------------------------------------------------------------ round trips */

/* Two messages are equal when they pack to the same bytes (protobuf-c packs
 * fields in number order, so equal contents give equal bytes). */
static void assert_same(const owm_msg *a, const owm_msg *b)
{
    size_t la, lb;
    uint8_t *ba = raw_pack(a, &la), *bb = raw_pack(b, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert(memcmp(ba, bb, la) == 0);
    free(ba);
    free(bb);
}

START_TEST(round_trip_every_kind)
{
    owm_msg *env = KINDS[_i].make();
    ck_assert_str_eq(owm_msg_kind_name(env->kind), KINDS[_i].name);
    owp_err e;
    uint8_t *buf;
    size_t len;
    ck_assert_msg(owm_msg_encode(env, &buf, &len, &e) == OWP_OK, "%s: %s", KINDS[_i].name, e.msg);
    uint64_t version = 0, minor = 9;
    ck_assert(owm_msg_peek_version(buf, len, &version, &minor, &e) == OWP_OK);
    ck_assert_uint_eq(version, OWM_MSG_VERSION);
    ck_assert_uint_eq(minor, OWM_MSG_VERSION_MINOR);
    owm_msg *back = NULL;
    owm_error_code why = OWM_ERROR_UNSPECIFIED;
    ck_assert_msg(owm_msg_decode(buf, len, &back, &why, &e) == OWP_OK, "%s: %s", KINDS[_i].name,
                  e.msg);
    ck_assert_int_eq(back->kind, KINDS[_i].kind);
    ck_assert_uint_eq(back->version, OWM_MSG_VERSION);
    assert_same(env, back);
    owm_msg_free(&back);
    ck_assert_ptr_null(back);
    free(buf);

    /* the same through czmq frames and messages */
    zframe_t *frame = owm_msg_encode_frame(env, &e);
    ck_assert_msg(frame != NULL, "%s", e.msg);
    ck_assert(owm_msg_decode_frame(frame, &back, NULL, &e) == OWP_OK);
    assert_same(env, back);
    owm_msg_free(&back);
    zframe_destroy(&frame);
    zmsg_t *msg = owm_msg_encode_zmsg(env, &e);
    ck_assert_msg(msg != NULL, "%s", e.msg);
    ck_assert_uint_eq(zmsg_size(msg), 1);
    ck_assert(owm_msg_decode_zmsg(msg, &back, NULL, &e) == OWP_OK);
    assert_same(env, back);
    owm_msg_free(&back);
    zmsg_destroy(&msg);
    owm_msg_free(&env);
    owm_msg_free(&env); /* a second free is a no-op */
}
END_TEST

START_TEST(round_trip_keeps_schedule_fields)
{
    owm_msg *env = make_schedule();
    owp_err e;
    uint8_t *buf;
    size_t len;
    ck_assert(owm_msg_encode(env, &buf, &len, &e) == OWP_OK);
    owm_msg_free(&env);
    ck_assert(owm_msg_decode(buf, len, &env, NULL, &e) == OWP_OK);
    free(buf);
    const owm_msg_schedule *s = env->schedule;
    ck_assert_uint_eq(s->generation, 42);
    ck_assert_str_eq(s->node, "chi");
    ck_assert_uint_eq(s->n_streams, 2);
    const owm_msg_stream *st = s->streams[0];
    ck_assert_str_eq(st->id, "core-owd:nyc->chi");
    ck_assert_str_eq(st->source, "nyc");
    ck_assert_str_eq(st->peer, "127.0.0.2:8861");
    ck_assert(st->params->interval == 0.1);
    ck_assert_uint_eq(st->params->count, 600);
    ck_assert_uint_eq(st->params->sub_session_count, 60);
    ck_assert_uint_eq(st->params->padding, 20);
    ck_assert(st->params->loss_timeout == 10);
    ck_assert(st->params->bucket_width == 0.0001);
    ck_assert_int_eq(st->params->dscp, 46);
    ck_assert_uint_eq(st->params->modes, 6);
    ck_assert_str_eq(st->params->identity, "meshkey");
    ck_assert_int_eq(s->streams[1]->params->dscp, -1); /* default: unset */
    ck_assert_str_eq(s->streams[1]->params->identity, "");
    ck_assert_str_eq(s->owamp_server->listen, "127.0.0.3:8861");
    ck_assert_uint_eq(s->owamp_server->test_port_low, 9000);
    ck_assert_uint_eq(s->owamp_server->test_port_high, 9100);
    owm_msg_free(&env);
}
END_TEST

/* Minor version 3: the collectors a node serves travel with its schedule. */
/* env through the bytes and back: the decoded copy (the caller frees both). */
static owm_msg *encode_decode(const owm_msg *env)
{
    owp_err e = {0};
    uint8_t *buf;
    size_t len;
    ck_assert_msg(owm_msg_encode(env, &buf, &len, &e) == OWP_OK, "%s", e.msg);
    owm_msg *back = NULL;
    ck_assert_msg(owm_msg_decode(buf, len, &back, NULL, &e) == OWP_OK, "%s", e.msg);
    free(buf);
    return back;
}

START_TEST(round_trip_keeps_collectors)
{
    owm_msg *env = make_schedule();
    owp_err e;
    ck_assert_int_eq(owm_msg_schedule_add_collector(env->schedule, "coll1",
                                                    "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", &e),
                     OWP_OK);
    ck_assert_int_eq(owm_msg_schedule_add_collector(env->schedule, "coll2",
                                                    "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", &e),
                     OWP_OK);
    owm_msg *back = encode_decode(env);
    const owm_msg_schedule *s = back->schedule;
    ck_assert_uint_eq(s->n_collectors, 2);
    ck_assert_str_eq(s->collectors[0]->name, "coll1");
    ck_assert_str_eq(s->collectors[0]->public_key, "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID");
    ck_assert_str_eq(s->collectors[1]->name, "coll2");
    ck_assert_uint_eq(s->n_streams, 2); /* the rest is as before */
    assert_same(env, back);
    owm_msg_free(&back);
    owm_msg_free(&env);
}
END_TEST

/* A Schedule from a coordinator of minor version 2 (the wire vector of
 * that version) decodes, with no collectors: the node then serves its -A
 * keys only. */
START_TEST(schedule_of_minor_2_has_no_collectors)
{
    static const char hex[] =
        "080110025acd01082a12036368691a590a11636f72652d6f77643a6e79632d3e63686912036e79631a0e3132"
        "372e302e302e323a38383631222f099a9999999999b93f10d8041814210000000000002440292d431cebe236"
        "1a3f303c382e40064a076d6573686b65791a4f0a11636f72652d6f77643a7365612d3e63686912037365611a"
        "0a5b3a3a315d3a383836322229099a9999999999b93f10ac02210000000000002440292d431cebe2361a3f38"
        "ffffffffffffffffff0122180a0e3132372e302e302e333a38383631100318a846208c47";
    uint8_t buf[sizeof hex / 2];
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2hhx", &buf[i]), 1);
    owp_err e;
    owm_msg *env = NULL;
    ck_assert_msg(owm_msg_decode(buf, sizeof buf, &env, NULL, &e) == OWP_OK, "%s", e.msg);
    ck_assert_uint_eq(env->minor, 2);
    ck_assert_int_eq(env->kind, OWM_MSG_SCHEDULE);
    ck_assert_uint_eq(env->schedule->n_streams, 2);
    ck_assert_uint_eq(env->schedule->n_collectors, 0);
    ck_assert_ptr_null(env->schedule->collectors);
    ck_assert_str_eq(env->schedule->data_endpoint, ""); /* minor 3: the node's own default */
    owm_msg_free(&env);
}
END_TEST

/* Minor version 3: the mesh's data-endpoint for the node travels with its
 * schedule; without it, the field decodes as "". */
START_TEST(round_trip_keeps_data_endpoint)
{
    owp_err e;
    for (int with = 0; with <= 1; with++) {
        owm_msg *env = make_schedule();
        if (with)
            ck_assert_int_eq(owm_msg_set_string(&env->schedule->data_endpoint,
                                                "tcp://192.0.2.7:9000", &e), OWP_OK);
        owm_msg *back = encode_decode(env);
        ck_assert_str_eq(back->schedule->data_endpoint, with ? "tcp://192.0.2.7:9000" : "");
        ck_assert_uint_eq(back->schedule->n_streams, 2); /* the rest is as before */
        assert_same(env, back);
        owm_msg_free(&back);
        owm_msg_free(&env);
    }
}
END_TEST

START_TEST(round_trip_keeps_status_and_data)
{
    owp_err e;
    uint8_t *buf;
    size_t len;
    owm_msg *env = make_status(), *back;
    ck_assert(owm_msg_encode(env, &buf, &len, &e) == OWP_OK);
    ck_assert(owm_msg_decode(buf, len, &back, NULL, &e) == OWP_OK);
    free(buf);
    ck_assert_uint_eq(back->status->n_streams, 2);
    ck_assert_int_eq(back->status->streams[0]->state, OWM_STREAM_STATE_RUNNING);
    ck_assert_uint_eq(back->status->streams[0]->last_session_end, 0xeeae670c00000000ull);
    ck_assert_uint_eq(back->status->streams[0]->packets_lost, 3);
    ck_assert_str_eq(back->status->streams[1]->last_error, "[::1]:8862: connection refused");
    owm_msg_free(&env);
    owm_msg_free(&back);

    env = make_file_chunk();
    ck_assert(owm_msg_encode(env, &buf, &len, &e) == OWP_OK);
    ck_assert(owm_msg_decode(buf, len, &back, NULL, &e) == OWP_OK);
    free(buf);
    ck_assert_uint_eq(back->file_chunk->data.len, 300);
    ck_assert(memcmp(back->file_chunk->data.data, env->file_chunk->data.data, 300) == 0);
    ck_assert(back->file_chunk->last);
    owm_msg_free(&env);
    owm_msg_free(&back);

    env = make_status_reply();
    ck_assert(owm_msg_encode(env, &buf, &len, &e) == OWP_OK);
    ck_assert(owm_msg_decode(buf, len, &back, NULL, &e) == OWP_OK);
    free(buf);
    const owm_msg_node_status *n = back->status_reply->nodes[0];
    ck_assert(n->streams[0]->expected && n->streams[0]->health != NULL);
    ck_assert(!n->streams[1]->expected && n->streams[1]->health == NULL);
    ck_assert(!back->status_reply->nodes[1]->connected);
    owm_msg_free(&env);
    owm_msg_free(&back);

    /* verdicts travel; unset (a coordinator of minor version 0) is valid */
    env = make_status_reply();
    n = env->status_reply->nodes[0];
    n->streams[0]->verdict = OWM_MSG_VERDICT_STALLED;
    n->streams[1]->verdict = OWM_MSG_VERDICT_STOPPED;
    ck_assert_msg(owm_msg_encode(env, &buf, &len, &e) == OWP_OK, "%s", e.msg);
    ck_assert(owm_msg_decode(buf, len, &back, NULL, &e) == OWP_OK);
    free(buf);
    n = back->status_reply->nodes[0];
    ck_assert_int_eq(n->streams[0]->verdict, OWM_MSG_VERDICT_STALLED);
    ck_assert_int_eq(n->streams[1]->verdict, OWM_MSG_VERDICT_STOPPED);
    owm_msg_free(&env);
    owm_msg_free(&back);
}
END_TEST

/* ------------------------------------------------------------ wire vectors
 *
 * The bytes every message kind of KINDS encodes to, recorded from the
 * protobuf-typed implementation that preceded the mesh library's own types
 * (Hello with software_version "owmesh 0.1.0"): the wire must never change
 * by accident. Each must decode back to the message it came from. The
 * fourth byte is the sender's minor version (4 since issue 12). The
 * DirectoryRequest is an older collector's, without the fields of minor 4. */

static const struct {
    const char *name;
    const char *hex;
} VECTORS[] = {
    {"Hello",
     "08011004523b0a036e7963120c6f776d65736820302e312e301a0e3132372e302e302e323a3838363120292a"
     "147463703a2f2f3132372e302e302e323a39313030"},
    {"Schedule",
     "080110045acd01082a12036368691a590a11636f72652d6f77643a6e79632d3e63686912036e79631a0e3132"
     "372e302e302e323a38383631222f099a9999999999b93f10d8041814210000000000002440292d431cebe236"
     "1a3f303c382e40064a076d6573686b65791a4f0a11636f72652d6f77643a7365612d3e63686912037365611a"
     "0a5b3a3a315d3a383836322229099a9999999999b93f10ac02210000000000002440292d431cebe2361a3f38"
     "ffffffffffffffffff0122180a0e3132372e302e302e333a38383631100318a846208c47"},
    {"ScheduleAck",
     "08011004621e082a1a1a73747265616d20783a206e6f2073756368206964656e74697479"},
    {"Status",
     "080110046a7a0a03636869102a1887c7ae85c4e199d7ee0122290a11636f72652d6f77643a6e79632d3e6368"
     "691002180c2080808080c0e199d7ee0130d8043803401822350a11636f72652d6f77643a7365612d3e636869"
     "10032a1e5b3a3a315d3a383836323a20636f6e6e656374696f6e207265667573656428c0c4073007"},
    {"Error",
     "08011004721708061213537461747573206265666f72652048656c6c6f"},
    {"StatusRequest",
     "08011004a2010c080712036e79631203636869"},
    {"StatusReply",
     "08011004aa01b8010807102a1887c7ae85c4e199d7ee01228b010a0363686910011880808080c0e199d7ee01"
     "202a282a30293a0c6f776d65736820302e312e30420e3132372e302e302e333a383836314a390a11636f7265"
     "2d6f77643a6e79632d3e63686912036e79631a0363686920012a180a11636f72652d6f77643a6e79632d3e63"
     "6869100230d8044a180a0c6f6c643a7365612d3e63686912037365611a0363686922190a036e7963202a5210"
     "6e657665722072656769737465726564"},
    {"DirectoryRequest",
     "08011004f20100"},
    {"Directory",
     "08011004fa019501082a12550a036e7963120e3132372e302e302e323a383836311a147463703a2f2f313237"
     "2e302e302e323a39313030222872713a724d3e7d553f404c6e7334374531256b522e6f406e2546636d6d734c"
     "2f407b48385d796637123a0a0363686912093132372e302e302e332228596e654024772d766f3c665676695d"
     "613c4e5936543165643a4d246643472a5b49614c567b684944"},
    {"FileListRequest",
     "08011004c20205086410f403"},
    {"FileList",
     "08011004ca02d5020a6008651211636f72652d6f77643a6e79632d3e6368691a2d3136303435353136333834"
     "3433323233343439365f31363034353531363634323133303237323235362e6f7770200128c0bb013080c0ac"
     "deb884c8d6de013880c0acdef88bc8d6de010a6008661211636f72652d6f77643a6e79632d3e6368691a2d31"
     "363034353531363338343433323233343439365f31363034353531363634323133303237323235362e73756d"
     "200228c1bb013080c0acdeb884c8d6de013880c0acdef88bc8d6de010a820108671211636f72652d6f77643a"
     "6e79632d3e6368691a2d31363034353531363338343433323233343439365f31363034353531363634323133"
     "303237323235362e6f7770200128c2bb013080c0acdeb884c8d6de013880c0acdef88bc8d6de014220396638"
     "3664303831383834633764363539613266656161306335356164303135100118672206086310641801"},
    {"FileFetch",
     "08011004d2020c086510808004180820808004"},
    {"FileChunk",
     "08011004da02b7020865108080041aac0200070e151c232a31383f464d545b626970777e858c939aa1a8afb6"
     "bdc4cbd2d9e0e7eef5fc030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3ea"
     "f1f8ff060d141b222930373e454c535a61686f767d848b9299a0a7aeb5bcc3cad1d8dfe6edf4fb020910171e"
     "252c333a41484f565d646b727980878e959ca3aab1b8bfc6cdd4dbe2e9f0f7fe050c131a21282f363d444b52"
     "5960676e757c838a91989fa6adb4bbc2c9d0d7dee5ecf3fa01080f161d242b323940474e555c636a71787f86"
     "8d949ba2a9b0b7bec5ccd3dae1e8eff6fd040b121920272e353c434a51585f666d747b828990979ea5acb3ba"
     "c1c8cfd6dde4ebf2f900070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7ee"
     "f5fc030a11181f262d2001"},
    {"FileCredit",
     "08011004e2020408651004"},
    {"FileAck",
     "08011004ea02050a03656667"},
    {"PeerHealth",
     "080110047a150880c0acdeb884c8d6de01120363686912036e7963"},
};

static owm_msg *vector_maker(const char *name)
{
    if (strcmp(name, "Hello") == 0) {
        owp_err e;
        owm_msg *env = owm_msg_new_hello("nyc", "owmesh 0.1.0", "127.0.0.2:8861",
                                         "tcp://127.0.0.2:9100", 41, &e);
        ck_assert_msg(env != NULL, "%s", e.msg);
        return env;
    }
    for (size_t i = 0; i < N_ELEMS(KINDS); i++)
        if (strcmp(KINDS[i].name, name) == 0)
            return KINDS[i].make();
    ck_abort_msg("no maker for %s", name);
    return NULL;
}

static char *to_hex(const uint8_t *buf, size_t len)
{
    char *hex = malloc(2 * len + 1);
    ck_assert(hex != NULL);
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", buf[i]);
    hex[2 * len] = '\0';
    return hex;
}

START_TEST(wire_vectors)
{
    owm_msg *env = vector_maker(VECTORS[_i].name);
    owp_err e;
    uint8_t *buf;
    size_t len;
    ck_assert_msg(owm_msg_encode(env, &buf, &len, &e) == OWP_OK, "%s", e.msg);
    char *hex = to_hex(buf, len);
    ck_assert_str_eq(hex, VECTORS[_i].hex);
    owm_msg *back;
    ck_assert_msg(owm_msg_decode(buf, len, &back, NULL, &e) == OWP_OK, "%s", e.msg);
    ck_assert_int_eq(back->kind, env->kind);
    ck_assert_uint_eq(back->version, OWM_MSG_VERSION);
    ck_assert_uint_eq(back->minor, OWM_MSG_VERSION_MINOR);
    assert_same(back, env);
    owm_msg_free(&back);
    owm_msg_free(&env);
    free(hex);
    free(buf);
}
END_TEST

/* A few vectors field by field: decoding gives these values, not only bytes
 * that re-encode alike. */
static owm_msg *decode_vector(const char *name)
{
    for (size_t i = 0; i < N_ELEMS(VECTORS); i++) {
        if (strcmp(VECTORS[i].name, name) != 0)
            continue;
        size_t len = strlen(VECTORS[i].hex) / 2;
        uint8_t *buf = malloc(len);
        ck_assert(buf != NULL);
        for (size_t k = 0; k < len; k++) {
            unsigned byte;
            ck_assert(sscanf(VECTORS[i].hex + 2 * k, "%2x", &byte) == 1);
            buf[k] = (uint8_t)byte;
        }
        owp_err e;
        owm_msg *env;
        ck_assert_msg(owm_msg_decode(buf, len, &env, NULL, &e) == OWP_OK, "%s", e.msg);
        free(buf);
        return env;
    }
    ck_abort_msg("no vector %s", name);
    return NULL;
}

START_TEST(wire_vectors_decode_to_values)
{
    owm_msg *env = decode_vector("Hello");
    ck_assert_int_eq(env->kind, OWM_MSG_HELLO);
    ck_assert_str_eq(env->hello->node, "nyc");
    ck_assert_str_eq(env->hello->software_version, "owmesh 0.1.0");
    ck_assert_str_eq(env->hello->owamp_address, "127.0.0.2:8861");
    ck_assert_str_eq(env->hello->data_endpoint, "tcp://127.0.0.2:9100");
    ck_assert_uint_eq(env->hello->running_generation, 41);
    owm_msg_free(&env);

    env = decode_vector("Schedule");
    const owm_msg_schedule *s = env->schedule;
    ck_assert_uint_eq(s->generation, 42);
    ck_assert_str_eq(s->node, "chi");
    ck_assert_uint_eq(s->n_streams, 2);
    ck_assert_str_eq(s->streams[0]->id, "core-owd:nyc->chi");
    ck_assert_str_eq(s->streams[0]->peer, "127.0.0.2:8861");
    ck_assert_uint_eq(s->streams[0]->params->count, 600);
    ck_assert_uint_eq(s->streams[0]->params->sub_session_count, 60);
    ck_assert_int_eq(s->streams[0]->params->dscp, 46);
    ck_assert_str_eq(s->streams[0]->params->identity, "meshkey");
    ck_assert(s->streams[1]->params->interval == 0.1);
    ck_assert_int_eq(s->streams[1]->params->dscp, -1);
    ck_assert_str_eq(s->streams[1]->params->identity, "");
    ck_assert_str_eq(s->owamp_server->listen, "127.0.0.3:8861");
    ck_assert_uint_eq(s->owamp_server->test_port_high, 9100);
    owm_msg_free(&env);

    env = decode_vector("ScheduleAck");
    ck_assert(!env->schedule_ack->accepted);
    ck_assert_str_eq(env->schedule_ack->error, "stream x: no such identity");
    owm_msg_free(&env);

    env = decode_vector("Status");
    ck_assert_int_eq(env->status->streams[1]->state, OWM_STREAM_STATE_BACKOFF);
    ck_assert_uint_eq(env->status->streams[0]->packets_lost, 3);
    owm_msg_free(&env);

    env = decode_vector("Error");
    ck_assert_int_eq(env->error->code, OWM_ERROR_NOT_REGISTERED);
    owm_msg_free(&env);

    env = decode_vector("StatusReply");
    ck_assert(env->status_reply->nodes[0]->connected);
    ck_assert(env->status_reply->nodes[0]->streams[0]->health != NULL);
    ck_assert(env->status_reply->nodes[1]->streams == NULL ||
              env->status_reply->nodes[1]->n_streams == 0);
    owm_msg_free(&env);

    env = decode_vector("FileList");
    const owm_msg_file_list *fl = env->file_list;
    ck_assert_uint_eq(fl->n_files, 3);
    ck_assert_int_eq(fl->files[1]->kind, OWM_FILE_KIND_SUM);
    ck_assert_uint_eq(fl->n_gaps, 1);
    ck_assert_int_eq(fl->gaps[0]->reason, OWM_GAP_REASON_UNUSED);
    ck_assert(fl->more);
    owm_msg_free(&env);

    env = decode_vector("FileChunk");
    ck_assert_uint_eq(env->file_chunk->data.len, 300);
    ck_assert_uint_eq(env->file_chunk->data.data[1], 7);
    ck_assert(env->file_chunk->last);
    owm_msg_free(&env);

    env = decode_vector("FileAck");
    ck_assert_uint_eq(env->file_ack->n_seqs, 3);
    ck_assert_uint_eq(env->file_ack->seqs[2], 103);
    owm_msg_free(&env);

    env = decode_vector("PeerHealth");
    ck_assert_uint_eq(env->peer_health->n_down, 2);
    ck_assert_str_eq(env->peer_health->down[1], "nyc");
    owm_msg_free(&env);
}
END_TEST

START_TEST(stack_envelope_encodes)
{
    owm_msg env;
    owm_msg_file_credit credit;
    owm_msg_init(&env);
    memset(&credit, 0, sizeof credit);
    credit.seq = 5;
    credit.credit = 1;
    env.kind = OWM_MSG_FILE_CREDIT;
    env.file_credit = &credit;
    owp_err e;
    uint8_t *buf;
    size_t len;
    ck_assert_msg(owm_msg_encode(&env, &buf, &len, &e) == OWP_OK, "%s", e.msg);
    owm_msg *back;
    ck_assert(owm_msg_decode(buf, len, &back, NULL, &e) == OWP_OK);
    ck_assert_uint_eq(back->file_credit->seq, 5);
    owm_msg_free(&back);
    free(buf);
    /* a body named but absent is refused, not dereferenced */
    env.file_credit = NULL;
    ck_assert_int_eq(owm_msg_encode(&env, &buf, &len, &e), OWP_ERR_INVALID);
    ck_assert_int_eq(e.code, OWP_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "FileCredit: missing"), "%s", e.msg);
    ck_assert_ptr_null(buf);
}
END_TEST

/* ------------------------------------------------------------ versions */

START_TEST(other_major_version_refused)
{
    owm_msg *env = make_hello();
    env->version = 2;
    owp_err e;
    owm_error_code why = 0;
    ck_assert_int_eq(decode_raw(env, &why, &e), OWP_ERR_PROTO);
    ck_assert_str_eq(e.msg, "peer speaks mesh protocol version 2, we speak 1");
    ck_assert_int_eq(why, OWM_ERROR_VERSION);
    env->version = 0;
    ck_assert_int_eq(decode_raw(env, &why, &e), OWP_ERR_PROTO);
    ck_assert_msg(strstr(e.msg, "without a protocol version"), "%s", e.msg);
    ck_assert_int_eq(why, OWM_ERROR_VERSION);
    /* we never send another version either */
    uint8_t *buf;
    size_t len;
    env->version = 3;
    ck_assert_int_eq(owm_msg_encode(env, &buf, &len, &e), OWP_ERR_INVALID);
    ck_assert_str_eq(e.msg, "peer speaks mesh protocol version 3, we speak 1");
    owm_msg_free(&env);
}
END_TEST

START_TEST(future_layout_still_gets_version_error)
{
    /* version 9 (field 1), then a body field 11 whose contents do not unpack
     * as our Schedule (a length that runs past its field). */
    static const uint8_t future[] = {0x08, 0x09, 0x10, 0x03, 0x5a, 0x03, 0x0a, 0x7f, 0x41};
    owp_err e;
    owm_msg *env = NULL;
    owm_error_code why = 0;
    ck_assert_int_eq(owm_msg_decode(future, sizeof future, &env, &why, &e), OWP_ERR_PROTO);
    ck_assert_str_eq(e.msg, "peer speaks mesh protocol version 9, we speak 1");
    ck_assert_int_eq(why, OWM_ERROR_VERSION);
    /* the last occurrence of the version wins, as in protobuf */
    static const uint8_t twice[] = {0x08, 0x01, 0x08, 0x05};
    ck_assert_int_eq(owm_msg_decode(twice, sizeof twice, &env, &why, &e), OWP_ERR_PROTO);
    ck_assert_str_eq(e.msg, "peer speaks mesh protocol version 5, we speak 1");
    /* a huge version is reported as is */
    static const uint8_t huge[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq(owm_msg_decode(huge, sizeof huge, &env, &why, &e), OWP_ERR_PROTO);
    ck_assert_str_eq(e.msg, "peer speaks mesh protocol version 18446744073709551615, we speak 1");
    ck_assert_ptr_null(env);
}
END_TEST

START_TEST(newer_minor_and_unknown_fields_accepted)
{
    owm_msg *env = make_file_credit();
    env->minor = 7;
    size_t len;
    uint8_t *buf = raw_pack(env, &len);
    /* append a field this version does not know inside the envelope (field 3, varint) */
    uint8_t *more = realloc(buf, len + 2);
    ck_assert(more != NULL);
    more[len] = 0x18;
    more[len + 1] = 0x01;
    owp_err e;
    owm_msg *back;
    ck_assert_msg(owm_msg_decode(more, len + 2, &back, NULL, &e) == OWP_OK, "%s", e.msg);
    ck_assert_uint_eq(back->minor, 7);
    /* the unknown field is dropped (owm_msg has no place for it): never relayed */
    uint8_t *plain = raw_pack(env, &len);
    size_t back_len;
    uint8_t *back_bytes = raw_pack(back, &back_len);
    ck_assert_uint_eq(back_len, len);
    ck_assert(memcmp(back_bytes, plain, len) == 0);
    free(plain);
    free(back_bytes);
    owm_msg_free(&back);
    free(more);
    /* unknown fields inside a body too, including one protobuf-c would not
     * take back once packed (an over-long key of field 0) */
    static const uint8_t odd[] = {0x08, 0x01, 0xc2, 0x02, 0x07, 0x08, 0x61,
                                  0x10, 0x02, 0x80, 0x00, 0x63};
    ck_assert_msg(owm_msg_decode(odd, sizeof odd, &back, NULL, &e) == OWP_OK, "%s", e.msg);
    ck_assert_uint_eq(back->file_list_request->after_seq, 0x61);
    uint8_t *again;
    size_t again_len;
    ck_assert(owm_msg_encode(back, &again, &again_len, &e) == OWP_OK);
    owm_msg_free(&back);
    ck_assert_msg(owm_msg_decode(again, again_len, &back, NULL, &e) == OWP_OK, "%s", e.msg);
    free(again);
    owm_msg_free(&back);
    owm_msg_free(&env);
}
END_TEST

START_TEST(unknown_and_missing_body)
{
    /* version 1, minor 3, body field 99 (a message from a newer minor version) */
    static const uint8_t unknown[] = {0x08, 0x01, 0x10, 0x03, 0x9a, 0x06, 0x02, 0x08, 0x01};
    owp_err e;
    owm_msg *env = NULL;
    owm_error_code why = 0;
    ck_assert_int_eq(owm_msg_decode(unknown, sizeof unknown, &env, &why, &e), OWP_ERR_PROTO);
    ck_assert_msg(strstr(e.msg, "does not know (peer minor version 3"), "%s", e.msg);
    ck_assert_int_eq(why, OWM_ERROR_UNKNOWN_MESSAGE);
    static const uint8_t bare[] = {0x08, 0x01};
    ck_assert_int_eq(owm_msg_decode(bare, sizeof bare, &env, &why, &e), OWP_ERR_PROTO);
    ck_assert_str_eq(e.msg, "mesh message without a body");
    ck_assert_int_eq(why, OWM_ERROR_MALFORMED);
    ck_assert_ptr_null(env);
    ck_assert_ptr_null(owm_msg_new(OWM_MSG_NONE, &e));
    ck_assert_int_eq(e.code, OWP_ERR_INVALID);
    ck_assert_ptr_null(owm_msg_new((owm_msg_kind)1, &e)); /* "version" */
    ck_assert_ptr_null(owm_msg_new((owm_msg_kind)99, &e));
    ck_assert_str_eq(owm_msg_kind_name((owm_msg_kind)99), "unknown");
}
END_TEST

/* ------------------------------------------------------------ hostile bytes */

START_TEST(every_truncation_refused)
{
    for (size_t k = 0; k < N_ELEMS(KINDS); k++) {
        owm_msg *env = KINDS[k].make();
        owp_err e;
        uint8_t *buf;
        size_t len;
        ck_assert(owm_msg_encode(env, &buf, &len, &e) == OWP_OK);
        for (size_t cut = 0; cut < len; cut++) {
            /* an exact copy, so ASan sees any read past the cut */
            uint8_t *part = malloc(cut ? cut : 1);
            memcpy(part, buf, cut);
            owm_msg *back = NULL;
            owp_status st = owm_msg_decode(part, cut, &back, NULL, &e);
            ck_assert_msg(st != OWP_OK, "%s cut at %zu of %zu decoded", KINDS[k].name, cut, len);
            ck_assert(st == OWP_ERR_FORMAT || st == OWP_ERR_PROTO);
            ck_assert_ptr_null(back);
            free(part);
        }
        free(buf);
        owm_msg_free(&env);
    }
}
END_TEST

START_TEST(garbage_never_crashes)
{
    /* deterministic xorshift garbage, and mutations of a valid schedule */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    owm_msg *env = make_schedule();
    owp_err e;
    uint8_t *good;
    size_t good_len;
    ck_assert(owm_msg_encode(env, &good, &good_len, &e) == OWP_OK);
    owm_msg_free(&env);
    uint8_t buf[512];
    unsigned accepted = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len;
        if (round % 2) {
            len = good_len < sizeof buf ? good_len : sizeof buf;
            memcpy(buf, good, len);
            for (int flips = 0; flips < 3; flips++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[x % len] ^= (uint8_t)(x >> 32);
            }
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            len = x % sizeof buf;
            for (size_t i = 0; i < len; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[i] = (uint8_t)x;
            }
        }
        owm_msg *back = NULL;
        owp_status st = owm_msg_decode(buf, len, &back, NULL, &e);
        if (st == OWP_OK) {
            accepted++;
            /* whatever is accepted re-encodes (it passed the same rules) */
            uint8_t *again;
            size_t again_len;
            ck_assert_msg(owm_msg_encode(back, &again, &again_len, &e) == OWP_OK, "%s", e.msg);
            free(again);
        } else {
            ck_assert_ptr_null(back);
            ck_assert(e.code == st && e.msg[0]);
        }
        owm_msg_free(&back);
    }
    ck_assert_uint_lt(accepted, 20000);
    free(good);
}
END_TEST

START_TEST(oversized_refused_before_unpack)
{
    owp_err e;
    size_t len = OWM_MSG_MAX_SIZE + 1;
    uint8_t *buf = calloc(1, len);
    ck_assert(buf != NULL);
    buf[0] = 0x08; /* a plausible start: version... */
    buf[1] = 0x01;
    owm_msg *env = NULL;
    owm_error_code why = 0;
    ck_assert_int_eq(owm_msg_decode(buf, len, &env, &why, &e), OWP_ERR_FORMAT);
    ck_assert_str_eq(e.msg, "mesh message of 4194305 bytes exceeds the limit of 4194304 bytes");
    ck_assert_int_eq(why, OWM_ERROR_MALFORMED);
    free(buf);
    ck_assert_int_eq(owm_msg_decode("", 0, &env, NULL, &e), OWP_ERR_FORMAT);
    ck_assert_str_eq(e.msg, "empty mesh message");

    /* we do not build what a peer would refuse: a reply over the limit */
    env = new_kind(OWM_MSG_STATUS_REPLY);
    char text[1001];
    memset(text, 'e', 1000);
    text[1000] = '\0';
    for (unsigned i = 0; i < 4300; i++) {
        owm_msg_node_status *n = owm_msg_status_reply_add_node(env->status_reply, &e);
        ck_assert(n != NULL);
        char name[16];
        snprintf(name, sizeof name, "n%u", i);
        set(&n->node, name);
        set(&n->last_error, text);
    }
    uint8_t *out;
    size_t out_len;
    ck_assert_int_eq(owm_msg_encode(env, &out, &out_len, &e), OWP_ERR_INVALID);
    ck_assert_msg(strstr(e.msg, "StatusReply: ") && strstr(e.msg, "exceed the limit of 4194304"),
                  "%s", e.msg);
    ck_assert_ptr_null(owm_msg_encode_zmsg(env, &e));
    owm_msg_free(&env);
}
END_TEST

START_TEST(bad_frames_and_peek)
{
    owp_err e;
    owm_msg *env = NULL;
    owm_msg *hello = make_hello();
    zmsg_t *msg = owm_msg_encode_zmsg(hello, &e);
    zmsg_pushstr(msg, "identity");
    ck_assert_int_eq(owm_msg_decode_zmsg(msg, &env, NULL, &e), OWP_ERR_FORMAT);
    ck_assert_str_eq(e.msg, "mesh message of 2 frames (expected one)");
    zframe_t *id = zmsg_pop(msg); /* as a ROUTER does */
    zframe_destroy(&id);
    ck_assert(owm_msg_decode_zmsg(msg, &env, NULL, &e) == OWP_OK);
    ck_assert_str_eq(env->hello->node, "nyc");
    ck_assert_uint_eq(env->hello->running_generation, 41);
    owm_msg_free(&env);
    zmsg_destroy(&msg);
    owm_msg_free(&hello);
    ck_assert_int_eq(owm_msg_decode_frame(NULL, &env, NULL, &e), OWP_ERR_INVALID);

    static const struct {
        uint8_t bytes[12];
        size_t len;
        const char *want;
    } bad[] = {
        {{0x08}, 1, "truncated varint at byte 0"},
        {{0x0a, 0x05, 0x01}, 3, "truncated field at byte 0"},
        {{0x08, 0x01, 0x0b}, 3, "wire type 3 at byte 2"},
        {{0x00, 0x01}, 2, "field 0 at byte 0"},
        {{0x09, 1, 2, 3}, 4, "truncated field at byte 0"},
        {{0x0d, 1, 2}, 3, "truncated field at byte 0"},
        {{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 11,
         "bad field key at byte 0"},
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        uint64_t v;
        ck_assert_int_eq(owm_msg_peek_version(bad[i].bytes, bad[i].len, &v, NULL, &e),
                         OWP_ERR_FORMAT);
        ck_assert_msg(strstr(e.msg, bad[i].want), "%zu: %s", i, e.msg);
        ck_assert_int_eq(owm_msg_decode(bad[i].bytes, bad[i].len, &env, NULL, &e),
                         OWP_ERR_FORMAT);
        ck_assert_ptr_null(env);
    }
    /* fixed-size fields are skipped */
    static const uint8_t fixed[] = {0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2, 3, 4, 0x08, 0x04};
    uint64_t v = 0, minor = 5;
    ck_assert(owm_msg_peek_version(fixed, sizeof fixed, &v, &minor, &e) == OWP_OK);
    ck_assert_uint_eq(v, 4);
    ck_assert_uint_eq(minor, 0);
}
END_TEST

static Suite *meshmsg_suite(void)
{
    Suite *s = suite_create("meshmsg");
    TCase *tc = tcase_create("round_trip");
    tcase_add_loop_test(tc, round_trip_every_kind, 0, (int)N_ELEMS(KINDS));
    tcase_add_test(tc, round_trip_keeps_schedule_fields);
    tcase_add_test(tc, round_trip_keeps_collectors);
    tcase_add_test(tc, schedule_of_minor_2_has_no_collectors);
    tcase_add_test(tc, round_trip_keeps_data_endpoint);
    tcase_add_test(tc, round_trip_keeps_status_and_data);
    tcase_add_test(tc, stack_envelope_encodes);
    tcase_add_loop_test(tc, wire_vectors, 0, (int)N_ELEMS(VECTORS));
    tcase_add_test(tc, wire_vectors_decode_to_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("version");
    tcase_add_test(tc, other_major_version_refused);
    tcase_add_test(tc, future_layout_still_gets_version_error);
    tcase_add_test(tc, newer_minor_and_unknown_fields_accepted);
    tcase_add_test(tc, unknown_and_missing_body);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, every_truncation_refused);
    tcase_add_test(tc, garbage_never_crashes);
    tcase_add_test(tc, oversized_refused_before_unpack);
    tcase_add_test(tc, bad_frames_and_peek);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(meshmsg_suite());
}
