/* meshmsg.c - building mesh messages, and the names and comparisons their
 * users need (mesh/meshmsg.h). The rules are in meshmsg_check.c, the bytes
 * in meshmsg_codec.c. */
#include "meshmsg.h"
#include "meshmsg_internal.h"

#include <stdlib.h>
#include <string.h>

/* ================================================================ building */

void owm_msg_envelope_init(Owmesh__Envelope *env)
{
    owmesh__envelope__init(env);
    env->version = OWM_MSG_VERSION;
    env->minor = OWM_MSG_VERSION_MINOR;
}

static void *new_message(const ProtobufCMessageDescriptor *desc, owp_err *err)
{
    void *m = calloc(1, desc->sizeof_message);
    if (!m) {
        owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
        return NULL;
    }
    protobuf_c_message_init(desc, m);
    return m;
}

Owmesh__Envelope *owm_msg_new(Owmesh__Envelope__BodyCase kind, owp_err *err)
{
    const ProtobufCFieldDescriptor *f = owm_msg_body_field(kind);
    if (!f) {
        owp_err_set(err, OWP_ERR_INVALID, "owm_msg_new: %d is not a message kind", (int)kind);
        return NULL;
    }
    Owmesh__Envelope *env = new_message(&owmesh__envelope__descriptor, err);
    if (!env)
        return NULL;
    void *body = new_message(f->descriptor, err);
    if (!body) {
        free(env);
        return NULL;
    }
    env->version = OWM_MSG_VERSION;
    env->minor = OWM_MSG_VERSION_MINOR;
    env->body_case = kind;
    memcpy((char *)env + f->offset, &body, sizeof body);
    return env;
}

owp_status owm_msg_set_string(char **field, const char *value, owp_err *err)
{
    char *copy = (char *)protobuf_c_empty_string;
    if (value && value[0]) {
        copy = strdup(value);
        if (!copy)
            return owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
    }
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return OWP_OK;
}

owp_status owm_msg_set_bytes(ProtobufCBinaryData *field, const void *data, size_t len,
                             owp_err *err)
{
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
        memcpy(copy, data, len);
    }
    free(field->data);
    field->data = copy;
    field->len = len;
    return OWP_OK;
}

/* Room for one more pointer in a repeated field: the grown array, or NULL. */
static void *grow_slots(void *array, size_t count, size_t slot, owp_err *err)
{
    if (count >= OWM_MSG_MAX_ITEMS) {
        owp_err_set(err, OWP_ERR_INVALID, "mesh message: more than %u elements",
                    OWM_MSG_MAX_ITEMS);
        return NULL;
    }
    void *grown = realloc(array, (count + 1) * slot);
    if (!grown)
        owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
    return grown;
}

/* Append a new element to the repeated message field named field of m. */
static void *add_message(ProtobufCMessage *m, const char *field, owp_err *err)
{
    const ProtobufCFieldDescriptor *f = owm_msg_field_of(m, field);
    size_t *n = (size_t *)((char *)m + f->quantifier_offset);
    void **slots = grow_slots(owm_msg_pointer_at(m, f), *n, sizeof *slots, err);
    if (!slots)
        return NULL;
    memcpy((char *)m + f->offset, &slots, sizeof slots);
    void *item = new_message(f->descriptor, err);
    if (item)
        slots[(*n)++] = item;
    return item;
}

Owmesh__Stream *owm_msg_schedule_add_stream(Owmesh__Schedule *m, owp_err *err)
{
    Owmesh__StreamParams *p = new_message(&owmesh__stream_params__descriptor, err);
    if (!p)
        return NULL;
    p->interval = 0.1;
    p->count = 300;
    p->loss_timeout = 10;
    p->bucket_width = 0.0001;
    p->dscp = -1;
    Owmesh__Stream *s = add_message(&m->base, "streams", err);
    if (!s) {
        free(p);
        return NULL;
    }
    s->params = p;
    return s;
}

Owmesh__StreamHealth *owm_msg_status_add_stream(Owmesh__Status *m, owp_err *err)
{
    return add_message(&m->base, "streams", err);
}

/* Append a copy of s to a repeated string field. */
static owp_status add_string(char ***list, size_t *n, const char *s, owp_err *err)
{
    char **slots = grow_slots(*list, *n, sizeof **list, err);
    if (!slots)
        return err ? err->code : OWP_ERR_NOMEM;
    *list = slots;
    char *copy = (char *)protobuf_c_empty_string;
    owp_status st = owm_msg_set_string(&copy, s, err);
    if (st != OWP_OK)
        return st;
    (*list)[(*n)++] = copy;
    return OWP_OK;
}

owp_status owm_msg_status_request_add_node(Owmesh__StatusRequest *m, const char *node,
                                           owp_err *err)
{
    return add_string(&m->nodes, &m->n_nodes, node, err);
}

owp_status owm_msg_peer_health_add_down(Owmesh__PeerHealth *m, const char *node, owp_err *err)
{
    return add_string(&m->down, &m->n_down, node, err);
}

Owmesh__NodeStatus *owm_msg_status_reply_add_node(Owmesh__StatusReply *m, owp_err *err)
{
    return add_message(&m->base, "nodes", err);
}

Owmesh__StreamStatus *owm_msg_node_status_add_stream(Owmesh__NodeStatus *m, owp_err *err)
{
    return add_message(&m->base, "streams", err);
}

Owmesh__DirectoryEntry *owm_msg_directory_add_node(Owmesh__Directory *m, owp_err *err)
{
    return add_message(&m->base, "nodes", err);
}

Owmesh__FileEntry *owm_msg_file_list_add(Owmesh__FileList *m, owp_err *err)
{
    return add_message(&m->base, "files", err);
}

Owmesh__SeqGap *owm_msg_file_list_add_gap(Owmesh__FileList *m, owp_err *err)
{
    return add_message(&m->base, "gaps", err);
}

owp_status owm_msg_file_ack_add(Owmesh__FileAck *m, uint64_t seq, owp_err *err)
{
    uint64_t *slots = grow_slots(m->seqs, m->n_seqs, sizeof *m->seqs, err);
    if (!slots)
        return err ? err->code : OWP_ERR_NOMEM;
    m->seqs = slots;
    m->seqs[m->n_seqs++] = seq;
    return OWP_OK;
}

Owmesh__OwampServer *owm_msg_schedule_set_owamp_server(Owmesh__Schedule *m, owp_err *err)
{
    if (!m->owamp_server)
        m->owamp_server = new_message(&owmesh__owamp_server__descriptor, err);
    return m->owamp_server;
}

Owmesh__StreamHealth *owm_msg_stream_status_set_health(Owmesh__StreamStatus *m, owp_err *err)
{
    if (!m->health)
        m->health = new_message(&owmesh__stream_health__descriptor, err);
    return m->health;
}

Owmesh__Envelope *owm_msg_new_hello(const char *node, const char *software_version,
                                    const char *owamp_address, const char *data_endpoint,
                                    uint64_t running_generation, owp_err *err)
{
    Owmesh__Envelope *env = owm_msg_new(OWMESH__ENVELOPE__BODY_HELLO, err);
    if (!env)
        return NULL;
    Owmesh__Hello *h = env->hello;
    h->running_generation = running_generation;
    if (owm_msg_set_string(&h->node, node, err) ||
        owm_msg_set_string(&h->software_version, software_version, err) ||
        owm_msg_set_string(&h->owamp_address, owamp_address, err) ||
        owm_msg_set_string(&h->data_endpoint, data_endpoint, err))
        owm_msg_free(&env);
    return env;
}

Owmesh__Envelope *owm_msg_new_schedule_ack(uint64_t generation, int accepted, const char *error,
                                           owp_err *err)
{
    Owmesh__Envelope *env = owm_msg_new(OWMESH__ENVELOPE__BODY_SCHEDULE_ACK, err);
    if (!env)
        return NULL;
    env->schedule_ack->generation = generation;
    env->schedule_ack->accepted = accepted != 0;
    if (owm_msg_set_string(&env->schedule_ack->error, error, err))
        owm_msg_free(&env);
    return env;
}

Owmesh__Envelope *owm_msg_new_error(Owmesh__ErrorCode code, const char *text, owp_err *err)
{
    Owmesh__Envelope *env = owm_msg_new(OWMESH__ENVELOPE__BODY_ERROR, err);
    if (!env)
        return NULL;
    env->error->code = code;
    if (!text || !text[0])
        text = owm_msg_error_code_name(code);
    size_t n = strnlen(text, OWM_MSG_MAX_TEXT);
    char *copy = malloc(n + 1);
    if (!copy) {
        owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
        owm_msg_free(&env);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        copy[i] = (c < ' ' || c == 0x7f) ? '?' : (char)c;
    }
    copy[n] = '\0';
    env->error->text = copy;
    return env;
}

/* ================================================================ using */

static int same_string(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int same_params(const Owmesh__StreamParams *a, const Owmesh__StreamParams *b)
{
    if (!a || !b)
        return a == b;
    return a->interval == b->interval && a->count == b->count && a->padding == b->padding &&
           a->loss_timeout == b->loss_timeout && a->bucket_width == b->bucket_width &&
           a->sub_session_count == b->sub_session_count && a->dscp == b->dscp &&
           a->modes == b->modes && same_string(a->identity, b->identity);
}

int owm_msg_stream_equal(const Owmesh__Stream *a, const Owmesh__Stream *b)
{
    if (!a || !b)
        return a == b;
    return same_string(a->id, b->id) && same_string(a->source, b->source) &&
           same_string(a->peer, b->peer) && same_params(a->params, b->params);
}

const char *owm_msg_kind_name(Owmesh__Envelope__BodyCase kind)
{
    const ProtobufCFieldDescriptor *f = owm_msg_body_field(kind);
    if (!f)
        return kind == OWMESH__ENVELOPE__BODY__NOT_SET ? "(no message)" : "unknown";
    return ((const ProtobufCMessageDescriptor *)f->descriptor)->short_name;
}

const char *owm_msg_state_name(Owmesh__StreamState state)
{
    switch (state) {
    case OWMESH__STREAM_STATE__STREAM_STATE_STARTING: return "starting";
    case OWMESH__STREAM_STATE__STREAM_STATE_RUNNING: return "running";
    case OWMESH__STREAM_STATE__STREAM_STATE_BACKOFF: return "backoff";
    case OWMESH__STREAM_STATE__STREAM_STATE_FAILED: return "failed";
    case OWMESH__STREAM_STATE__STREAM_STATE_STOPPED: return "stopped";
    default: return "unknown";
    }
}

const char *owm_msg_verdict_name(Owmesh__StreamVerdict verdict)
{
    switch (verdict) {
    case OWMESH__STREAM_VERDICT__STREAM_VERDICT_OK: return "ok";
    case OWMESH__STREAM_VERDICT__STREAM_VERDICT_STARTING: return "starting";
    case OWMESH__STREAM_VERDICT__STREAM_VERDICT_PENDING: return "pending";
    case OWMESH__STREAM_VERDICT__STREAM_VERDICT_MISSING: return "missing";
    case OWMESH__STREAM_VERDICT__STREAM_VERDICT_STALLED: return "stalled";
    case OWMESH__STREAM_VERDICT__STREAM_VERDICT_FAILING: return "failing";
    case OWMESH__STREAM_VERDICT__STREAM_VERDICT_UNEXPECTED: return "unexpected";
    case OWMESH__STREAM_VERDICT__STREAM_VERDICT_STOPPED: return "stopped";
    case OWMESH__STREAM_VERDICT__STREAM_VERDICT_UNMEASURED: return "unmeasured";
    default: return "unknown";
    }
}

const char *owm_msg_error_code_name(Owmesh__ErrorCode code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&owmesh__error_code__descriptor, (int)code);
    return v ? v->name : "unknown";
}
