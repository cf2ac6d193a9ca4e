/* meshmsg_types.c - the messages of meshtypes.h described field by field
 * (meshmsg_internal.h), and the allocation, freeing and copying that walk
 * those descriptions. The codec converts to and from protobuf with the same
 * descriptions, so a field added to meshtypes.h and mesh.proto is added here
 * once. */
#include "meshmsg.h"
#include "meshmsg_internal.h"

#include <stdlib.h>
#include <string.h>

/* ================================================================ the descriptions */

#define FIELD(T, f, type) {#f, type, offsetof(T, f), 0, NULL}
#define MESSAGE(T, f, sub) {#f, OWM_F_MESSAGE, offsetof(T, f), 0, &sub}
#define REPEATED(T, f, type, sub) {#f, type, offsetof(T, f), offsetof(T, n_##f), sub}
#define TYPE(var, T, proto_name, ...)                                                   \
    static const owm_field_info var##_fields[] = {__VA_ARGS__};                                 \
    const owm_type_info var = {proto_name, sizeof(T),                                   \
                                       sizeof var##_fields / sizeof var##_fields[0],            \
                                       var##_fields}
#define S OWM_F_STRING

TYPE(owm_type_hello, owm_msg_hello, "Hello",
     FIELD(owm_msg_hello, node, S), FIELD(owm_msg_hello, software_version, S),
     FIELD(owm_msg_hello, owamp_address, S),
     FIELD(owm_msg_hello, running_generation, OWM_F_U64),
     FIELD(owm_msg_hello, data_endpoint, S));

TYPE(owm_type_owamp_server, owm_msg_owamp_server, "OwampServer",
     FIELD(owm_msg_owamp_server, listen, S), FIELD(owm_msg_owamp_server, modes, OWM_F_U32),
     FIELD(owm_msg_owamp_server, test_port_low, OWM_F_U32),
     FIELD(owm_msg_owamp_server, test_port_high, OWM_F_U32));

TYPE(owm_type_stream_params, owm_msg_stream_params, "StreamParams",
     FIELD(owm_msg_stream_params, interval, OWM_F_DOUBLE),
     FIELD(owm_msg_stream_params, count, OWM_F_U32),
     FIELD(owm_msg_stream_params, padding, OWM_F_U32),
     FIELD(owm_msg_stream_params, loss_timeout, OWM_F_DOUBLE),
     FIELD(owm_msg_stream_params, bucket_width, OWM_F_DOUBLE),
     FIELD(owm_msg_stream_params, sub_session_count, OWM_F_U32),
     FIELD(owm_msg_stream_params, dscp, OWM_F_I32),
     FIELD(owm_msg_stream_params, modes, OWM_F_U32),
     FIELD(owm_msg_stream_params, identity, S));

TYPE(owm_type_stream, owm_msg_stream, "Stream",
     FIELD(owm_msg_stream, id, S), FIELD(owm_msg_stream, source, S),
     FIELD(owm_msg_stream, peer, S), MESSAGE(owm_msg_stream, params, owm_type_stream_params));

TYPE(owm_type_collector, owm_msg_collector, "Collector",
     FIELD(owm_msg_collector, name, S), FIELD(owm_msg_collector, public_key, S));

TYPE(owm_type_schedule, owm_msg_schedule, "Schedule",
     FIELD(owm_msg_schedule, generation, OWM_F_U64), FIELD(owm_msg_schedule, node, S),
     REPEATED(owm_msg_schedule, streams, OWM_F_MESSAGES, &owm_type_stream),
     MESSAGE(owm_msg_schedule, owamp_server, owm_type_owamp_server),
     REPEATED(owm_msg_schedule, collectors, OWM_F_MESSAGES, &owm_type_collector),
     FIELD(owm_msg_schedule, data_endpoint, S));

TYPE(owm_type_schedule_ack, owm_msg_schedule_ack, "ScheduleAck",
     FIELD(owm_msg_schedule_ack, generation, OWM_F_U64),
     FIELD(owm_msg_schedule_ack, accepted, OWM_F_BOOL), FIELD(owm_msg_schedule_ack, error, S));

TYPE(owm_type_stream_health, owm_msg_stream_health, "StreamHealth",
     FIELD(owm_msg_stream_health, id, S), FIELD(owm_msg_stream_health, state, OWM_F_ENUM),
     FIELD(owm_msg_stream_health, sessions_completed, OWM_F_U64),
     FIELD(owm_msg_stream_health, last_session_end, OWM_F_U64),
     FIELD(owm_msg_stream_health, last_error, S),
     FIELD(owm_msg_stream_health, packets_sent, OWM_F_U32),
     FIELD(owm_msg_stream_health, packets_lost, OWM_F_U32),
     FIELD(owm_msg_stream_health, files_spooled, OWM_F_U64),
     FIELD(owm_msg_stream_health, started, OWM_F_U64),
     FIELD(owm_msg_stream_health, unmeasured_since, OWM_F_U64),
     FIELD(owm_msg_stream_health, unmeasured_reason, S),
     FIELD(owm_msg_stream_health, last_attempt, OWM_F_U64));

TYPE(owm_type_status, owm_msg_status, "Status",
     FIELD(owm_msg_status, node, S), FIELD(owm_msg_status, generation, OWM_F_U64),
     FIELD(owm_msg_status, time, OWM_F_U64),
     REPEATED(owm_msg_status, streams, OWM_F_MESSAGES, &owm_type_stream_health),
     FIELD(owm_msg_status, spool_bytes, OWM_F_U64),
     FIELD(owm_msg_status, spool_files, OWM_F_U64));

TYPE(owm_type_error, owm_msg_error, "Error",
     FIELD(owm_msg_error, code, OWM_F_ENUM), FIELD(owm_msg_error, text, S));

TYPE(owm_type_peer_health, owm_msg_peer_health, "PeerHealth",
     FIELD(owm_msg_peer_health, time, OWM_F_U64),
     REPEATED(owm_msg_peer_health, down, OWM_F_STRINGS, NULL));

TYPE(owm_type_status_request, owm_msg_status_request, "StatusRequest",
     FIELD(owm_msg_status_request, request_id, OWM_F_U64),
     REPEATED(owm_msg_status_request, nodes, OWM_F_STRINGS, NULL));

TYPE(owm_type_stream_status, owm_msg_stream_status, "StreamStatus",
     FIELD(owm_msg_stream_status, id, S), FIELD(owm_msg_stream_status, source, S),
     FIELD(owm_msg_stream_status, destination, S),
     FIELD(owm_msg_stream_status, expected, OWM_F_BOOL),
     MESSAGE(owm_msg_stream_status, health, owm_type_stream_health),
     FIELD(owm_msg_stream_status, verdict, OWM_F_ENUM),
     FIELD(owm_msg_stream_status, evidence, S));

TYPE(owm_type_node_status, owm_msg_node_status, "NodeStatus",
     FIELD(owm_msg_node_status, node, S), FIELD(owm_msg_node_status, connected, OWM_F_BOOL),
     FIELD(owm_msg_node_status, last_seen, OWM_F_U64),
     FIELD(owm_msg_node_status, expected_generation, OWM_F_U64),
     FIELD(owm_msg_node_status, acked_generation, OWM_F_U64),
     FIELD(owm_msg_node_status, running_generation, OWM_F_U64),
     FIELD(owm_msg_node_status, software_version, S),
     FIELD(owm_msg_node_status, owamp_address, S),
     REPEATED(owm_msg_node_status, streams, OWM_F_MESSAGES, &owm_type_stream_status),
     FIELD(owm_msg_node_status, last_error, S));

TYPE(owm_type_status_reply, owm_msg_status_reply, "StatusReply",
     FIELD(owm_msg_status_reply, request_id, OWM_F_U64),
     FIELD(owm_msg_status_reply, generation, OWM_F_U64),
     FIELD(owm_msg_status_reply, time, OWM_F_U64),
     REPEATED(owm_msg_status_reply, nodes, OWM_F_MESSAGES, &owm_type_node_status));

TYPE(owm_type_directory_request, owm_msg_directory_request, "DirectoryRequest",
     FIELD(owm_msg_directory_request, archive, S),
     FIELD(owm_msg_directory_request, heartbeat, OWM_F_DOUBLE),
     REPEATED(owm_msg_directory_request, pulling, OWM_F_STRINGS, NULL));

TYPE(owm_type_directory_entry, owm_msg_directory_entry, "DirectoryEntry",
     FIELD(owm_msg_directory_entry, node, S), FIELD(owm_msg_directory_entry, address, S),
     FIELD(owm_msg_directory_entry, data_endpoint, S),
     FIELD(owm_msg_directory_entry, public_key, S),
     FIELD(owm_msg_directory_entry, assigned, OWM_F_BOOL));

TYPE(owm_type_directory, owm_msg_directory, "Directory",
     FIELD(owm_msg_directory, generation, OWM_F_U64),
     REPEATED(owm_msg_directory, nodes, OWM_F_MESSAGES, &owm_type_directory_entry),
     FIELD(owm_msg_directory, divided, OWM_F_BOOL),
     FIELD(owm_msg_directory, next_request, OWM_F_DOUBLE),
     FIELD(owm_msg_directory, collector, S));

TYPE(owm_type_file_list_request, owm_msg_file_list_request, "FileListRequest",
     FIELD(owm_msg_file_list_request, after_seq, OWM_F_U64),
     FIELD(owm_msg_file_list_request, max_files, OWM_F_U32));

TYPE(owm_type_file_entry, owm_msg_file_entry, "FileEntry",
     FIELD(owm_msg_file_entry, seq, OWM_F_U64), FIELD(owm_msg_file_entry, stream_id, S),
     FIELD(owm_msg_file_entry, name, S), FIELD(owm_msg_file_entry, kind, OWM_F_ENUM),
     FIELD(owm_msg_file_entry, size, OWM_F_U64), FIELD(owm_msg_file_entry, start, OWM_F_U64),
     FIELD(owm_msg_file_entry, end, OWM_F_U64), FIELD(owm_msg_file_entry, digest, S));

TYPE(owm_type_seq_gap, owm_msg_seq_gap, "SeqGap",
     FIELD(owm_msg_seq_gap, first, OWM_F_U64), FIELD(owm_msg_seq_gap, last, OWM_F_U64),
     FIELD(owm_msg_seq_gap, reason, OWM_F_ENUM), FIELD(owm_msg_seq_gap, stream_id, S),
     FIELD(owm_msg_seq_gap, kind, OWM_F_ENUM), FIELD(owm_msg_seq_gap, start, OWM_F_U64),
     FIELD(owm_msg_seq_gap, end, OWM_F_U64));

TYPE(owm_type_file_list, owm_msg_file_list, "FileList",
     REPEATED(owm_msg_file_list, files, OWM_F_MESSAGES, &owm_type_file_entry),
     FIELD(owm_msg_file_list, more, OWM_F_BOOL), FIELD(owm_msg_file_list, through, OWM_F_U64),
     REPEATED(owm_msg_file_list, gaps, OWM_F_MESSAGES, &owm_type_seq_gap));

TYPE(owm_type_file_fetch, owm_msg_file_fetch, "FileFetch",
     FIELD(owm_msg_file_fetch, seq, OWM_F_U64), FIELD(owm_msg_file_fetch, offset, OWM_F_U64),
     FIELD(owm_msg_file_fetch, credit, OWM_F_U32),
     FIELD(owm_msg_file_fetch, chunk_size, OWM_F_U32));

TYPE(owm_type_file_chunk, owm_msg_file_chunk, "FileChunk",
     FIELD(owm_msg_file_chunk, seq, OWM_F_U64), FIELD(owm_msg_file_chunk, offset, OWM_F_U64),
     FIELD(owm_msg_file_chunk, data, OWM_F_BYTES), FIELD(owm_msg_file_chunk, last, OWM_F_BOOL));

TYPE(owm_type_file_credit, owm_msg_file_credit, "FileCredit",
     FIELD(owm_msg_file_credit, seq, OWM_F_U64), FIELD(owm_msg_file_credit, credit, OWM_F_U32));

TYPE(owm_type_file_ack, owm_msg_file_ack, "FileAck",
     REPEATED(owm_msg_file_ack, seqs, OWM_F_U64S, NULL));

const owm_type_info *owm_msg_body_type(owm_msg_kind kind)
{
    switch (kind) {
    case OWM_MSG_HELLO: return &owm_type_hello;
    case OWM_MSG_SCHEDULE: return &owm_type_schedule;
    case OWM_MSG_SCHEDULE_ACK: return &owm_type_schedule_ack;
    case OWM_MSG_STATUS: return &owm_type_status;
    case OWM_MSG_ERROR: return &owm_type_error;
    case OWM_MSG_PEER_HEALTH: return &owm_type_peer_health;
    case OWM_MSG_STATUS_REQUEST: return &owm_type_status_request;
    case OWM_MSG_STATUS_REPLY: return &owm_type_status_reply;
    case OWM_MSG_DIRECTORY_REQUEST: return &owm_type_directory_request;
    case OWM_MSG_DIRECTORY: return &owm_type_directory;
    case OWM_MSG_FILE_LIST_REQUEST: return &owm_type_file_list_request;
    case OWM_MSG_FILE_LIST: return &owm_type_file_list;
    case OWM_MSG_FILE_FETCH: return &owm_type_file_fetch;
    case OWM_MSG_FILE_CHUNK: return &owm_type_file_chunk;
    case OWM_MSG_FILE_CREDIT: return &owm_type_file_credit;
    case OWM_MSG_FILE_ACK: return &owm_type_file_ack;
    case OWM_MSG_NONE: break;
    }
    return NULL;
}

/* ================================================================ walking them */

static void *nomem(owp_err *err)
{
    owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
    return NULL;
}

static void *at(const void *m, size_t offset)
{
    return (char *)(uintptr_t)m + offset;
}

void *owm_msg_grow(void *array, size_t count, size_t slot, owp_err *err)
{
    if (count >= OWM_MSG_MAX_ITEMS) {
        owp_err_set(err, OWP_ERR_INVALID, "mesh message: more than %u elements",
                    OWM_MSG_MAX_ITEMS);
        return NULL;
    }
    void *grown = realloc(array, (count + 1) * slot);
    return grown ? grown : nomem(err);
}

void *owm_msg_alloc(const owm_type_info *t, owp_err *err)
{
    void *m = calloc(1, t->size);
    if (!m)
        return nomem(err);
    for (size_t i = 0; i < t->n_fields; i++) {
        if (t->fields[i].type != OWM_F_STRING)
            continue;
        char **s = at(m, t->fields[i].offset);
        if (!(*s = strdup(""))) {
            owm_msg_dealloc(t, m);
            return nomem(err);
        }
    }
    return m;
}

static void free_field(const owm_field_info *f, void *m)
{
    void **value = at(m, f->offset);
    bool repeated = f->type == OWM_F_MESSAGES || f->type == OWM_F_STRINGS || f->type == OWM_F_U64S;
    size_t n = repeated ? *(size_t *)at(m, f->count_offset) : 0;
    switch (f->type) {
    case OWM_F_STRING: free(*value); break;
    case OWM_F_BYTES: free(((owm_msg_bytes *)value)->data); break;
    case OWM_F_MESSAGE: owm_msg_dealloc(f->sub, *value); break;
    case OWM_F_MESSAGES:
    case OWM_F_STRINGS:
        for (size_t i = 0; *value && i < n; i++) {
            void *item = ((void **)*value)[i];
            if (f->type == OWM_F_MESSAGES)
                owm_msg_dealloc(f->sub, item);
            else
                free(item);
        }
        free(*value);
        break;
    case OWM_F_U64S: free(*value); break;
    default: break;
    }
}

void owm_msg_dealloc(const owm_type_info *t, void *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < t->n_fields; i++)
        free_field(&t->fields[i], m);
    free(m);
}

static owp_status copy_string(char **dst, const char *src, owp_err *err)
{
    *dst = strdup(src ? src : "");
    return *dst ? OWP_OK : (nomem(err), OWP_ERR_NOMEM);
}

owp_status owm_msg_list_start(owm_field_type type, const void *items, size_t n, void *array_at,
                              size_t *count_at, owp_err *err)
{
    if (n == 0)
        return OWP_OK;
    size_t slot = type == OWM_F_U64S ? sizeof(uint64_t) : sizeof(void *);
    void *copy = calloc(n, slot);
    if (!copy)
        return owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
    if (type == OWM_F_U64S)
        memcpy(copy, items, n * slot);
    memcpy(array_at, &copy, sizeof copy);
    *count_at = n;
    return OWP_OK;
}

/* Copy a repeated field's elements into the zeroed field of dst. */
static owp_status copy_list(const owm_field_info *f, void *dst, const void *src, owp_err *err)
{
    size_t n = *(const size_t *)at(src, f->count_offset);
    void *const *items = *(void *const *)at(src, f->offset);
    void **out = at(dst, f->offset);
    owp_status st = owm_msg_list_start(f->type, items, n, out, at(dst, f->count_offset), err);
    for (size_t i = 0; st == OWP_OK && f->type != OWM_F_U64S && i < n; i++) {
        void **slot = &((void **)*out)[i];
        if (f->type == OWM_F_STRINGS)
            st = copy_string((char **)slot, items[i], err);
        else if (items[i] && !(*slot = owm_msg_clone(f->sub, items[i], err)))
            st = OWP_ERR_NOMEM;
    }
    return st;
}

static owp_status copy_field(const owm_field_info *f, void *dst, const void *src, owp_err *err)
{
    void *to = at(dst, f->offset);
    const void *from = at(src, f->offset);
    switch (f->type) {
    case OWM_F_STRING: return copy_string(to, *(char *const *)from, err);
    case OWM_F_BYTES: {
        const owm_msg_bytes *b = from;
        owm_msg_bytes *out = to;
        if (b->len == 0)
            return OWP_OK;
        if (!(out->data = malloc(b->len)))
            return nomem(err), OWP_ERR_NOMEM;
        memcpy(out->data, b->data, b->len);
        out->len = b->len;
        return OWP_OK;
    }
    case OWM_F_MESSAGE: {
        const void *sub = *(void *const *)from;
        if (sub && !(*(void **)to = owm_msg_clone(f->sub, sub, err)))
            return OWP_ERR_NOMEM;
        return OWP_OK;
    }
    case OWM_F_MESSAGES:
    case OWM_F_STRINGS:
    case OWM_F_U64S: return copy_list(f, dst, src, err);
    case OWM_F_U64: memcpy(to, from, sizeof(uint64_t)); return OWP_OK;
    case OWM_F_U32: memcpy(to, from, sizeof(uint32_t)); return OWP_OK;
    case OWM_F_I32: memcpy(to, from, sizeof(int32_t)); return OWP_OK;
    case OWM_F_ENUM: memcpy(to, from, sizeof(owm_file_kind)); return OWP_OK;
    case OWM_F_BOOL: memcpy(to, from, sizeof(bool)); return OWP_OK;
    case OWM_F_DOUBLE: memcpy(to, from, sizeof(double)); return OWP_OK;
    }
    return OWP_OK;
}

void *owm_msg_clone(const owm_type_info *t, const void *src, owp_err *err)
{
    void *m = calloc(1, t->size);
    if (!m)
        return nomem(err);
    for (size_t i = 0; i < t->n_fields; i++) {
        if (copy_field(&t->fields[i], m, src, err) != OWP_OK) {
            owm_msg_dealloc(t, m);
            return NULL;
        }
    }
    return m;
}
