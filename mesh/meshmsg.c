/* meshmsg.c - building mesh messages, and the names and comparisons their
 * users need (mesh/meshmsg.h). The rules are in meshmsg_check.c, the bytes
 * in meshmsg_codec.c. */
#include "meshmsg.h"
#include "meshmsg_internal.h"

#include <stdlib.h>
#include <string.h>

/* ================================================================ building */

void owm_msg_init(owm_msg *env)
{
    memset(env, 0, sizeof *env);
    env->version = OWM_MSG_VERSION;
    env->minor = OWM_MSG_VERSION_MINOR;
}

void owm_msg_wrap(owm_msg *env, owm_msg_kind kind, const void *body)
{
    owm_msg_init(env);
    env->kind = kind;
    env->body = (void *)(uintptr_t)body; /* encoding only reads it */
}

owm_msg *owm_msg_new(owm_msg_kind kind, owp_err *err)
{
    const owm_type_info *t = owm_msg_body_type(kind);
    if (!t) {
        owp_err_set(err, OWP_ERR_INVALID, "owm_msg_new: %d is not a message kind", (int)kind);
        return NULL;
    }
    owm_msg *env = malloc(sizeof *env);
    if (!env) {
        owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
        return NULL;
    }
    owm_msg_init(env);
    if (!(env->body = owm_msg_alloc(t, err))) {
        free(env);
        return NULL;
    }
    env->kind = kind;
    return env;
}

owp_status owm_msg_set_string(char **field, const char *value, owp_err *err)
{
    char *copy = strdup(value ? value : "");
    if (!copy)
        return owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
    free(*field);
    *field = copy;
    return OWP_OK;
}

owp_status owm_msg_set_bytes(owm_msg_bytes *field, const void *data, size_t len, owp_err *err)
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

/* Append a new message of type t to the repeated field (*items, *n). */
static void *add_message(void *items_p, size_t *n, const owm_type_info *t, owp_err *err)
{
    void **items;
    memcpy(&items, items_p, sizeof items);
    void **slots = owm_msg_grow(items, *n, sizeof *slots, err);
    if (!slots)
        return NULL;
    memcpy(items_p, &slots, sizeof slots);
    void *item = owm_msg_alloc(t, err);
    if (item)
        slots[(*n)++] = item;
    return item;
}

owm_msg_stream *owm_msg_schedule_add_stream(owm_msg_schedule *m, owp_err *err)
{
    owm_msg_stream_params *p = owm_msg_alloc(&owm_type_stream_params, err);
    if (!p)
        return NULL;
    p->interval = 0.1;
    p->count = 300;
    p->loss_timeout = 10;
    p->bucket_width = 0.0001;
    p->dscp = -1;
    owm_msg_stream *s = add_message(&m->streams, &m->n_streams, &owm_type_stream, err);
    if (!s) {
        owm_msg_dealloc(&owm_type_stream_params, p);
        return NULL;
    }
    s->params = p;
    return s;
}

owp_status owm_msg_schedule_add_collector(owm_msg_schedule *m, const char *name,
                                          const char *public_key, owp_err *err)
{
    owm_msg_collector *c = add_message(&m->collectors, &m->n_collectors, &owm_type_collector, err);
    if (!c)
        return err ? err->code : OWP_ERR_NOMEM;
    owp_status st = owm_msg_set_string(&c->name, name, err);
    return st ? st : owm_msg_set_string(&c->public_key, public_key, err);
}

owm_msg_stream_health *owm_msg_status_add_stream(owm_msg_status *m, owp_err *err)
{
    return add_message(&m->streams, &m->n_streams, &owm_type_stream_health, err);
}

/* Append a copy of s to a repeated string field. */
static owp_status add_string(char ***list, size_t *n, const char *s, owp_err *err)
{
    char **slots = owm_msg_grow(*list, *n, sizeof **list, err);
    if (!slots)
        return err ? err->code : OWP_ERR_NOMEM;
    *list = slots;
    char *copy = strdup(s ? s : "");
    if (!copy)
        return owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
    (*list)[(*n)++] = copy;
    return OWP_OK;
}

owp_status owm_msg_status_request_add_node(owm_msg_status_request *m, const char *node,
                                           owp_err *err)
{
    return add_string(&m->nodes, &m->n_nodes, node, err);
}

owp_status owm_msg_peer_health_add_down(owm_msg_peer_health *m, const char *node, owp_err *err)
{
    return add_string(&m->down, &m->n_down, node, err);
}

owm_msg_node_status *owm_msg_status_reply_add_node(owm_msg_status_reply *m, owp_err *err)
{
    return add_message(&m->nodes, &m->n_nodes, &owm_type_node_status, err);
}

owm_msg_stream_status *owm_msg_node_status_add_stream(owm_msg_node_status *m, owp_err *err)
{
    return add_message(&m->streams, &m->n_streams, &owm_type_stream_status, err);
}

owm_msg_directory_entry *owm_msg_directory_add_node(owm_msg_directory *m, owp_err *err)
{
    return add_message(&m->nodes, &m->n_nodes, &owm_type_directory_entry, err);
}

owp_status owm_msg_directory_request_add_pulling(owm_msg_directory_request *m, const char *node,
                                                 owp_err *err)
{
    return add_string(&m->pulling, &m->n_pulling, node, err);
}

owm_msg_file_entry *owm_msg_file_list_add(owm_msg_file_list *m, owp_err *err)
{
    return add_message(&m->files, &m->n_files, &owm_type_file_entry, err);
}

owm_msg_seq_gap *owm_msg_file_list_add_gap(owm_msg_file_list *m, owp_err *err)
{
    return add_message(&m->gaps, &m->n_gaps, &owm_type_seq_gap, err);
}

owp_status owm_msg_file_ack_add(owm_msg_file_ack *m, uint64_t seq, owp_err *err)
{
    uint64_t *slots = owm_msg_grow(m->seqs, m->n_seqs, sizeof *m->seqs, err);
    if (!slots)
        return err ? err->code : OWP_ERR_NOMEM;
    m->seqs = slots;
    m->seqs[m->n_seqs++] = seq;
    return OWP_OK;
}

owm_msg_owamp_server *owm_msg_schedule_set_owamp_server(owm_msg_schedule *m, owp_err *err)
{
    if (!m->owamp_server)
        m->owamp_server = owm_msg_alloc(&owm_type_owamp_server, err);
    return m->owamp_server;
}

owm_msg_stream_health *owm_msg_stream_status_set_health(owm_msg_stream_status *m, owp_err *err)
{
    if (!m->health)
        m->health = owm_msg_alloc(&owm_type_stream_health, err);
    return m->health;
}

owm_msg *owm_msg_new_hello(const char *node, const char *software_version,
                                    const char *owamp_address, const char *data_endpoint,
                                    uint64_t running_generation, owp_err *err)
{
    owm_msg *env = owm_msg_new(OWM_MSG_HELLO, err);
    if (!env)
        return NULL;
    owm_msg_hello *h = env->hello;
    h->running_generation = running_generation;
    if (owm_msg_set_string(&h->node, node, err) ||
        owm_msg_set_string(&h->software_version, software_version, err) ||
        owm_msg_set_string(&h->owamp_address, owamp_address, err) ||
        owm_msg_set_string(&h->data_endpoint, data_endpoint, err))
        owm_msg_free(&env);
    return env;
}

owm_msg *owm_msg_new_schedule_ack(uint64_t generation, int accepted, const char *error,
                                           owp_err *err)
{
    owm_msg *env = owm_msg_new(OWM_MSG_SCHEDULE_ACK, err);
    if (!env)
        return NULL;
    env->schedule_ack->generation = generation;
    env->schedule_ack->accepted = accepted != 0;
    if (owm_msg_set_string(&env->schedule_ack->error, error, err))
        owm_msg_free(&env);
    return env;
}

owm_msg *owm_msg_new_error(owm_error_code code, const char *text, owp_err *err)
{
    owm_msg *env = owm_msg_new(OWM_MSG_ERROR, err);
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
    free(env->error->text);
    env->error->text = copy;
    return env;
}

/* ================================================================ using */

static int same_string(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int same_params(const owm_msg_stream_params *a, const owm_msg_stream_params *b)
{
    if (!a || !b)
        return a == b;
    return a->interval == b->interval && a->count == b->count && a->padding == b->padding &&
           a->loss_timeout == b->loss_timeout && a->bucket_width == b->bucket_width &&
           a->sub_session_count == b->sub_session_count && a->dscp == b->dscp &&
           a->modes == b->modes && same_string(a->identity, b->identity);
}

int owm_msg_stream_equal(const owm_msg_stream *a, const owm_msg_stream *b)
{
    if (!a || !b)
        return a == b;
    return same_string(a->id, b->id) && same_string(a->source, b->source) &&
           same_string(a->peer, b->peer) && same_params(a->params, b->params);
}

owm_msg_stream *owm_msg_stream_copy(const owm_msg_stream *s, owp_err *err)
{
    return owm_msg_clone(&owm_type_stream, s, err);
}

void owm_msg_stream_free(owm_msg_stream **s_p)
{
    if (s_p) {
        owm_msg_dealloc(&owm_type_stream, *s_p);
        *s_p = NULL;
    }
}

const char *owm_msg_kind_name(owm_msg_kind kind)
{
    const owm_type_info *t = owm_msg_body_type(kind);
    if (!t)
        return kind == OWM_MSG_NONE ? "(no message)" : "unknown";
    return t->name;
}

const char *owm_msg_state_name(owm_stream_state state)
{
    switch (state) {
    case OWM_STREAM_STATE_STARTING: return "starting";
    case OWM_STREAM_STATE_RUNNING: return "running";
    case OWM_STREAM_STATE_BACKOFF: return "backoff";
    case OWM_STREAM_STATE_FAILED: return "failed";
    case OWM_STREAM_STATE_STOPPED: return "stopped";
    default: return "unknown";
    }
}

const char *owm_msg_verdict_name(owm_msg_verdict verdict)
{
    switch (verdict) {
    case OWM_MSG_VERDICT_OK: return "ok";
    case OWM_MSG_VERDICT_STARTING: return "starting";
    case OWM_MSG_VERDICT_PENDING: return "pending";
    case OWM_MSG_VERDICT_MISSING: return "missing";
    case OWM_MSG_VERDICT_STALLED: return "stalled";
    case OWM_MSG_VERDICT_FAILING: return "failing";
    case OWM_MSG_VERDICT_UNEXPECTED: return "unexpected";
    case OWM_MSG_VERDICT_STOPPED: return "stopped";
    case OWM_MSG_VERDICT_UNMEASURED: return "unmeasured";
    default: return "unknown";
    }
}

const char *owm_msg_error_code_name(owm_error_code code)
{
    switch (code) {
    case OWM_ERROR_UNSPECIFIED: return "ERROR_UNSPECIFIED";
    case OWM_ERROR_VERSION: return "ERROR_VERSION";
    case OWM_ERROR_MALFORMED: return "ERROR_MALFORMED";
    case OWM_ERROR_UNKNOWN_MESSAGE: return "ERROR_UNKNOWN_MESSAGE";
    case OWM_ERROR_UNEXPECTED: return "ERROR_UNEXPECTED";
    case OWM_ERROR_UNKNOWN_NODE: return "ERROR_UNKNOWN_NODE";
    case OWM_ERROR_NOT_REGISTERED: return "ERROR_NOT_REGISTERED";
    case OWM_ERROR_REFUSED: return "ERROR_REFUSED";
    case OWM_ERROR_NOT_FOUND: return "ERROR_NOT_FOUND";
    case OWM_ERROR_INTERNAL: return "ERROR_INTERNAL";
    }
    return "unknown";
}

void owm_msg_free(owm_msg **env_p)
{
    if (env_p && *env_p) {
        const owm_type_info *t = owm_msg_body_type((*env_p)->kind);
        if (t)
            owm_msg_dealloc(t, (*env_p)->body);
        free(*env_p);
        *env_p = NULL;
    }
}
