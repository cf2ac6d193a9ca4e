/* meshmsg_check.c - the rules every mesh message obeys, checked after decoding
 * and before encoding (mesh/meshmsg.h, "validation"). */
#include "meshmsg.h"
#include "meshmsg_internal.h"

#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curve.h"
#include "hostport.h"
#include "testpkt.h"

#define ALL_MODES ((uint32_t)(OWP_MODE_OPEN | OWP_MODE_AUTH | OWP_MODE_ENCRYPTED))

/* ================================================================ field checks
 *
 * Every check names the field as "Message.field" (with indexes for repeated
 * fields) and never quotes a value that failed, since a hostile value could
 * carry anything; values already found valid are quoted for context. */

static owp_status bad(owp_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static owp_status bad(owp_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = OWP_ERR_PROTO;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return OWP_ERR_PROTO;
}

int owm_msg_token_ok(const char *s, size_t max)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return 0;
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '/' || c == '\\' || c == '"' || c == '\'')
            return 0;
    }
    return 1;
}

int owm_msg_text_ok(const char *s, size_t max)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < ' ' || c == 0x7f)
            return 0;
    }
    return 1;
}

static owp_status check_token(const char *where, const char *field, const char *s, size_t max,
                              owp_err *err)
{
    if (!s || !s[0])
        return bad(err, "%s.%s: missing (must not be empty)", where, field);
    if (!owm_msg_token_ok(s, max))
        return bad(err,
                   "%s.%s: must be 1-%zu printable ASCII characters without space, '/', '\\' "
                   "or quotes, and not \".\" or \"..\"",
                   where, field, max);
    return OWP_OK;
}

static owp_status check_text(const char *where, const char *field, const char *s, size_t max,
                             int required, owp_err *err)
{
    if (required && (!s || !s[0]))
        return bad(err, "%s.%s: missing (must not be empty)", where, field);
    if (s && !owm_msg_text_ok(s, max))
        return bad(err, "%s.%s: longer than %zu bytes or holds control characters", where, field,
                   max);
    return OWP_OK;
}

/* host:port, [v6]:port or host; required: the host must be given. */
static owp_status check_address(const char *where, const char *field, const char *s, int required,
                                owp_err *err)
{
    if (!s || !s[0])
        return required ? bad(err, "%s.%s: missing (must be host:port)", where, field) : OWP_OK;
    if (!owm_msg_token_ok(s, OWM_MSG_MAX_ADDRESS))
        return bad(err, "%s.%s: not an address (at most %u printable characters, no spaces)",
                   where, field, OWM_MSG_MAX_ADDRESS);
    owp_hostport hp;
    owp_err perr;
    if (owp_hostport_parse(s, &hp, &perr) != OWP_OK)
        return bad(err, "%s.%s: %s", where, field, perr.msg);
    if (required && !hp.host[0])
        return bad(err, "%s.%s: address \"%s\" has no host", where, field, s);
    return OWP_OK;
}

/* A ZeroMQ endpoint, "" allowed: transport://address. */
int owm_msg_endpoint_ok(const char *s)
{
    /* the token rule without its '/' ban: endpoints are URLs */
    int printable = s && strnlen(s, OWM_MSG_MAX_ADDRESS + 1) <= OWM_MSG_MAX_ADDRESS;
    for (const char *c = s; printable && *c; c++)
        printable = *c > ' ' && *c < 0x7f && *c != '"' && *c != '\\' && *c != '\'';
    const char *sep = printable ? strstr(s, "://") : NULL;
    return sep && sep != s && sep[3];
}

static owp_status check_endpoint(const char *where, const char *field, const char *s, owp_err *err)
{
    if (!s || !s[0] || owm_msg_endpoint_ok(s))
        return OWP_OK;
    return bad(err, "%s.%s: not a ZeroMQ endpoint (transport://address, at most %u printable "
               "characters)", where, field, OWM_MSG_MAX_ADDRESS);
}

static owp_status check_seconds(const char *where, const char *field, double v, owp_err *err)
{
    if (!(v > 0) || !(v <= OWM_MSG_MAX_SECONDS))
        return bad(err, "%s.%s: %g seconds is out of range (must be > 0 and <= %g)", where, field,
                   v, OWM_MSG_MAX_SECONDS);
    return OWP_OK;
}

static owp_status check_items(const char *where, const char *field, size_t n, owp_err *err)
{
    if (n > OWM_MSG_MAX_ITEMS)
        return bad(err, "%s.%s: %zu elements exceed the limit of %u", where, field, n,
                   OWM_MSG_MAX_ITEMS);
    return OWP_OK;
}

static owp_status check_modes(const char *where, const char *field, uint32_t modes, int zero_ok,
                              owp_err *err)
{
    if (modes & ~ALL_MODES)
        return bad(err, "%s.%s: 0x%x has bits other than open (1), authenticated (2) and "
                   "encrypted (4)", where, field, modes);
    if (!zero_ok && modes == 0)
        return bad(err, "%s.%s: no mode given", where, field);
    return OWP_OK;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* names[0..n) (all valid tokens) must be distinct; sorts names. */
static owp_status check_unique(const char **names, size_t n, const char *where, const char *what,
                               owp_err *err)
{
    if (n < 2)
        return OWP_OK;
    qsort(names, n, sizeof *names, cmp_str_ptr);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return bad(err, "%s: %s \"%s\" appears more than once", where, what, names[i]);
    return OWP_OK;
}

static const char **name_list(size_t n, owp_err *err)
{
    const char **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        owp_err_set(err, OWP_ERR_NOMEM, "mesh message validation: out of memory");
    return v;
}

/* Checks one element of a repeated message field, where = "Message.field[i]"
 * (elements are never NULL here); ctx is the list's context (e.g. the node). */
typedef owp_status (*item_check)(const char *where, const void *item, const void *ctx,
                                 owp_err *err);

/* The rules of a repeated message field: at most OWM_MSG_MAX_ITEMS elements,
 * each present and passing check, and, when what is set, the string field at
 * key (a token once check passed) distinct across the elements. */
typedef struct list_rule {
    const char *field; /* proto name of the repeated field: "streams" */
    item_check check;
    size_t key;        /* offset of the element's unique string field: its id */
    const char *what;  /* the key in the error: "stream id"; NULL = no key */
} list_rule;

static const char *key_of(const void *item, size_t key)
{
    const char *s;
    memcpy(&s, (const char *)item + key, sizeof s);
    return s;
}

/* items: the field's array of n element pointers. */
static owp_status check_list(const char *where, const void *items, size_t n,
                             const list_rule *rule, const void *ctx, owp_err *err)
{
    owp_status st = check_items(where, rule->field, n, err);
    if (st != OWP_OK)
        return st;
    const char **keys = name_list(n, err);
    if (!keys)
        return OWP_ERR_NOMEM;
    for (size_t i = 0; i < n && st == OWP_OK; i++) {
        const void *item;
        memcpy(&item, (const char *)items + i * sizeof item, sizeof item);
        char w[128];
        snprintf(w, sizeof w, "%s.%s[%zu]", where, rule->field, i);
        st = item ? rule->check(w, item, ctx, err) : bad(err, "%s: missing", w);
        if (st == OWP_OK && rule->what)
            keys[i] = key_of(item, rule->key);
    }
    if (st == OWP_OK && rule->what) {
        char w[128];
        snprintf(w, sizeof w, "%s.%s", where, rule->field);
        st = check_unique(keys, n, w, rule->what, err);
    }
    free(keys);
    return st;
}

/* ================================================================ message rules */

owp_status owm_msg_validate_hello(const owm_msg_hello *m, owp_err *err)
{
    static const char *const W = "Hello";
    owp_status st;
    if ((st = check_token(W, "node", m->node, OWM_MSG_MAX_NAME, err)) ||
        (st = check_text(W, "software_version", m->software_version, OWM_MSG_MAX_VERSION_TEXT, 1,
                         err)) ||
        (st = check_address(W, "owamp_address", m->owamp_address, 0, err)) ||
        (st = check_endpoint(W, "data_endpoint", m->data_endpoint, err)))
        return st;
    return OWP_OK;
}

static owp_status check_owamp_server(const owm_msg_owamp_server *m, owp_err *err)
{
    static const char *const W = "Schedule.owamp_server";
    owp_status st;
    if ((st = check_address(W, "listen", m->listen, 0, err)) ||
        (st = check_modes(W, "modes", m->modes, 0, err)))
        return st;
    if (m->test_port_low > 65535 || m->test_port_high > 65535)
        return bad(err, "%s.test_port_low/high: %u-%u: ports must be <= 65535", W,
                   m->test_port_low, m->test_port_high);
    if (m->test_port_low > m->test_port_high || (m->test_port_low == 0) != (m->test_port_high == 0))
        return bad(err, "%s.test_port_low/high: %u-%u is not a port range (low <= high, or 0-0 "
                   "for ephemeral ports)", W, m->test_port_low, m->test_port_high);
    return OWP_OK;
}

static owp_status check_params(const char *where, const owm_msg_stream_params *p, owp_err *err)
{
    char w[160];
    snprintf(w, sizeof w, "%s.params", where);
    if (!p)
        return bad(err, "%s: missing", w);
    owp_status st;
    if ((st = check_seconds(w, "interval", p->interval, err)) ||
        (st = check_seconds(w, "loss_timeout", p->loss_timeout, err)) ||
        (st = check_seconds(w, "bucket_width", p->bucket_width, err)))
        return st;
    if (p->count == 0)
        return bad(err, "%s.count: must be > 0", w);
    if (p->sub_session_count && p->count % p->sub_session_count != 0)
        return bad(err, "%s.sub_session_count: %u does not divide count %u", w,
                   p->sub_session_count, p->count);
    if (p->padding > OWM_MSG_MAX_PADDING)
        return bad(err, "%s.padding: %u bytes exceed the limit of %u", w, p->padding,
                   OWM_MSG_MAX_PADDING);
    if (p->dscp < -1 || p->dscp > 63)
        return bad(err, "%s.dscp: %d is out of range (0-63, or -1 for unset)", w, p->dscp);
    if ((st = check_modes(w, "modes", p->modes, 1, err)))
        return st;
    if (p->identity && p->identity[0] && !owm_msg_token_ok(p->identity, OWM_MSG_MAX_IDENTITY))
        return bad(err, "%s.identity: must be 1-%u printable ASCII characters without space", w,
                   OWM_MSG_MAX_IDENTITY);
    if (p->modes && !(p->modes & OWP_MODE_OPEN) && !(p->identity && p->identity[0]))
        return bad(err, "%s.identity: missing: modes 0x%x (authenticated or encrypted only) need "
                   "an identity", w, p->modes);
    return OWP_OK;
}

static owp_status check_stream(const char *w, const void *item, const void *node, owp_err *err)
{
    const owm_msg_stream *s = item;
    owp_status st;
    if ((st = check_token(w, "id", s->id, OWM_MSG_MAX_ID, err)))
        return st;
    if ((st = check_token(w, "source", s->source, OWM_MSG_MAX_NAME, err)) ||
        (st = check_address(w, "peer", s->peer, 1, err)) ||
        (st = check_params(w, s->params, err))) {
        owp_err_prefix(err, "stream \"%s\"", s->id);
        return st;
    }
    if (strcmp(s->source, node) == 0)
        return bad(err, "stream \"%s\": %s.source: \"%s\" is the node itself", s->id, w,
                   (const char *)node);
    return OWP_OK;
}

static owp_status check_collector(const char *w, const void *item, const void *ctx, owp_err *err)
{
    (void)ctx;
    const owm_msg_collector *c = item;
    owp_status st = check_token(w, "name", c->name, OWM_MSG_MAX_NAME, err);
    if (st == OWP_OK && !owm_curve_key_valid(c->public_key))
        return bad(err, "collector \"%s\": %s.public_key: not a Z85 CURVE key (%d characters)",
                   c->name, w, OWM_CURVE_KEY_LEN);
    return st;
}

/* The elements were checked already: only their keys' uniqueness is left. */
static owp_status check_nothing(const char *w, const void *item, const void *ctx, owp_err *err)
{
    (void)w, (void)item, (void)ctx, (void)err;
    return OWP_OK;
}

owp_status owm_msg_validate_schedule(const owm_msg_schedule *m, owp_err *err)
{
    static const char *const W = "Schedule";
    static const list_rule streams = {"streams", check_stream, offsetof(owm_msg_stream, id), "stream id"};
    static const list_rule collectors = {"collectors", check_collector,
                                         offsetof(owm_msg_collector, name), "collector name"};
    static const list_rule collector_keys = {"collectors", check_nothing,
                                             offsetof(owm_msg_collector, public_key),
                                             "collector public_key"};
    owp_status st;
    if (m->generation == 0)
        return bad(err, "%s.generation: must be > 0", W);
    if ((st = check_token(W, "node", m->node, OWM_MSG_MAX_NAME, err)))
        return st;
    if (m->owamp_server && (st = check_owamp_server(m->owamp_server, err)))
        return st;
    if ((st = check_endpoint(W, "data_endpoint", m->data_endpoint, err)))
        return st;
    if ((st = check_list(W, m->collectors, m->n_collectors, &collectors, NULL, err)) ||
        (st = check_list(W, m->collectors, m->n_collectors, &collector_keys, NULL, err)))
        return st;
    return check_list(W, m->streams, m->n_streams, &streams, m->node, err);
}

owp_status owm_msg_validate_schedule_ack(const owm_msg_schedule_ack *m, owp_err *err)
{
    static const char *const W = "ScheduleAck";
    if (m->generation == 0)
        return bad(err, "%s.generation: must be > 0", W);
    return check_text(W, "error", m->error, OWM_MSG_MAX_TEXT, !m->accepted, err);
}

static owp_status check_health(const char *where, const void *item, const void *ctx, owp_err *err)
{
    (void)ctx;
    const owm_msg_stream_health *h = item;
    owp_status st;
    if ((st = check_token(where, "id", h->id, OWM_MSG_MAX_ID, err)))
        return st;
    if (h->state < OWM_STREAM_STATE_STARTING ||
        h->state > OWM_STREAM_STATE_STOPPED)
        st = bad(err, "%s.state: %d is not a stream state", where, (int)h->state);
    else if (h->packets_lost > h->packets_sent)
        st = bad(err, "%s.packets_lost: %u lost of %u sent", where, h->packets_lost,
                 h->packets_sent);
    else if ((st = check_text(where, "last_error", h->last_error, OWM_MSG_MAX_TEXT, 0, err)) ==
             OWP_OK)
        st = check_text(where, "unmeasured_reason", h->unmeasured_reason, OWM_MSG_MAX_TEXT, 0,
                        err);
    if (st != OWP_OK)
        owp_err_prefix(err, "stream \"%s\"", h->id);
    return st;
}

owp_status owm_msg_validate_status(const owm_msg_status *m, owp_err *err)
{
    static const char *const W = "Status";
    static const list_rule streams = {"streams", check_health, offsetof(owm_msg_stream_health, id), "stream id"};
    owp_status st = check_token(W, "node", m->node, OWM_MSG_MAX_NAME, err);
    return st ? st : check_list(W, m->streams, m->n_streams, &streams, NULL, err);
}

owp_status owm_msg_validate_error(const owm_msg_error *m, owp_err *err)
{
    if (m->code <= OWM_ERROR_UNSPECIFIED ||
        m->code > OWM_ERROR_INTERNAL)
        return bad(err, "Error.code: %d is not an error code", (int)m->code);
    return check_text("Error", "text", m->text, OWM_MSG_MAX_TEXT, 1, err);
}

owp_status owm_msg_validate_status_request(const owm_msg_status_request *m, owp_err *err)
{
    static const char *const W = "StatusRequest";
    owp_status st = check_items(W, "nodes", m->n_nodes, err);
    for (size_t i = 0; i < m->n_nodes && st == OWP_OK; i++) {
        char f[32];
        snprintf(f, sizeof f, "nodes[%zu]", i);
        st = check_token(W, f, m->nodes[i], OWM_MSG_MAX_NAME, err);
    }
    return st;
}

/* StreamStatus.verdict: a known value (UNSPECIFIED from a coordinator of
 * minor version 0), the "not in the schedule" verdicts exactly for streams
 * the mesh does not expect. */
static owp_status check_verdict(const char *where, const owm_msg_stream_status *s, owp_err *err)
{
    owm_msg_verdict v = s->verdict;
    if (v < OWM_MSG_VERDICT_UNSPECIFIED ||
        v > OWM_MSG_VERDICT_UNMEASURED)
        return bad(err, "stream \"%s\": %s.verdict: %d is not a stream verdict", s->id, where,
                   (int)v);
    int unlisted = v == OWM_MSG_VERDICT_UNEXPECTED ||
                   v == OWM_MSG_VERDICT_STOPPED;
    if (v != OWM_MSG_VERDICT_UNSPECIFIED && unlisted == s->expected)
        return bad(err, "stream \"%s\": %s.verdict: %s for a stream the mesh %s", s->id, where,
                   owm_msg_verdict_name(v), s->expected ? "expects" : "does not expect");
    return OWP_OK;
}

static owp_status check_stream_status(const char *where, const void *item, const void *ctx,
                                      owp_err *err)
{
    (void)ctx;
    const owm_msg_stream_status *s = item;
    owp_status st;
    if ((st = check_token(where, "id", s->id, OWM_MSG_MAX_ID, err)))
        return st;
    if ((st = check_token(where, "source", s->source, OWM_MSG_MAX_NAME, err)) ||
        (st = check_token(where, "destination", s->destination, OWM_MSG_MAX_NAME, err))) {
        owp_err_prefix(err, "stream \"%s\"", s->id);
        return st;
    }
    if ((st = check_verdict(where, s, err)))
        return st;
    if ((st = check_text(where, "evidence", s->evidence, OWM_MSG_MAX_TEXT, 0, err))) {
        owp_err_prefix(err, "stream \"%s\"", s->id);
        return st;
    }
    if (!s->health)
        return OWP_OK;
    char w[200];
    snprintf(w, sizeof w, "%s.health", where);
    if ((st = check_health(w, s->health, NULL, err)))
        return st;
    if (strcmp(s->health->id, s->id) != 0)
        return bad(err, "%s.id: \"%s\" reported for stream \"%s\"", w, s->health->id, s->id);
    return OWP_OK;
}

static owp_status check_node_status(const char *w, const void *item, const void *ctx,
                                    owp_err *err)
{
    (void)ctx;
    static const list_rule streams = {"streams", check_stream_status, offsetof(owm_msg_stream_status, id),
                                       "stream id"};
    const owm_msg_node_status *n = item;
    owp_status st;
    if ((st = check_token(w, "node", n->node, OWM_MSG_MAX_NAME, err)))
        return st;
    if ((st = check_text(w, "software_version", n->software_version, OWM_MSG_MAX_VERSION_TEXT, 0,
                         err)) ||
        (st = check_address(w, "owamp_address", n->owamp_address, 0, err)) ||
        (st = check_text(w, "last_error", n->last_error, OWM_MSG_MAX_TEXT, 0, err)) ||
        (st = check_list(w, n->streams, n->n_streams, &streams, NULL, err))) {
        if (st != OWP_ERR_NOMEM)
            owp_err_prefix(err, "node \"%s\"", n->node);
        return st;
    }
    return OWP_OK;
}

owp_status owm_msg_validate_status_reply(const owm_msg_status_reply *m, owp_err *err)
{
    static const list_rule nodes = {"nodes", check_node_status, offsetof(owm_msg_node_status, node),
                                     "node"};
    return check_list("StatusReply", m->nodes, m->n_nodes, &nodes, NULL, err);
}

/* names[0..n): node names (tokens), distinct. */
static owp_status check_names(const char *where, const char *field, char *const *names, size_t n,
                              owp_err *err)
{
    owp_status st = check_items(where, field, n, err);
    for (size_t i = 0; i < n && st == OWP_OK; i++) {
        char f[64];
        snprintf(f, sizeof f, "%s[%zu]", field, i);
        st = check_token(where, f, names[i], OWM_MSG_MAX_NAME, err);
    }
    const char **sorted = st == OWP_OK ? name_list(n, err) : NULL;
    if (st == OWP_OK && !sorted)
        return OWP_ERR_NOMEM;
    if (st == OWP_OK) {
        char w[128];
        snprintf(w, sizeof w, "%s.%s", where, field);
        if (n)
            memcpy((void *)sorted, names, n * sizeof *sorted);
        st = check_unique(sorted, n, w, "node", err);
    }
    free((void *)sorted);
    return st;
}

owp_status owm_msg_validate_directory_request(const owm_msg_directory_request *m, owp_err *err)
{
    static const char *const W = "DirectoryRequest";
    owp_status st = check_text(W, "archive", m->archive, OWM_MSG_MAX_ADDRESS, 0, err);
    if (st != OWP_OK)
        return st;
    if (m->heartbeat != 0 &&
        !(m->heartbeat >= OWM_MSG_MIN_HEARTBEAT && m->heartbeat <= OWM_MSG_MAX_HEARTBEAT))
        return bad(err, "%s.heartbeat: %g seconds is out of range (0 = not said, else %g-%g)", W,
                   m->heartbeat, OWM_MSG_MIN_HEARTBEAT, OWM_MSG_MAX_HEARTBEAT);
    return check_names(W, "pulling", m->pulling, m->n_pulling, err);
}

static owp_status check_directory_entry(const char *w, const void *item, const void *ctx,
                                        owp_err *err)
{
    (void)ctx;
    const owm_msg_directory_entry *e = item;
    owp_status st;
    if ((st = check_token(w, "node", e->node, OWM_MSG_MAX_NAME, err)))
        return st;
    if ((st = check_address(w, "address", e->address, 1, err)) ||
        (st = check_endpoint(w, "data_endpoint", e->data_endpoint, err))) {
        owp_err_prefix(err, "node \"%s\"", e->node);
        return st;
    }
    if (e->public_key && e->public_key[0] && !owm_curve_key_valid(e->public_key))
        return bad(err, "node \"%s\": %s.public_key: not a Z85 CURVE key (%d characters)", e->node,
                   w, OWM_CURVE_KEY_LEN);
    return OWP_OK;
}

owp_status owm_msg_validate_directory(const owm_msg_directory *m, owp_err *err)
{
    static const char *const W = "Directory";
    static const list_rule nodes = {"nodes", check_directory_entry,
                                     offsetof(owm_msg_directory_entry, node), "node"};
    owp_status st = check_list(W, m->nodes, m->n_nodes, &nodes, NULL, err);
    if (st != OWP_OK)
        return st;
    if (m->next_request != 0 && (st = check_seconds(W, "next_request", m->next_request, err)))
        return st;
    if (m->collector && m->collector[0] &&
        (st = check_token(W, "collector", m->collector, OWM_MSG_MAX_NAME, err)))
        return st;
    /* An entry assigned in an undivided directory would be read two ways. */
    for (size_t i = 0; !m->divided && i < m->n_nodes; i++)
        if (m->nodes[i]->assigned)
            return bad(err, "%s.nodes[%zu].assigned: set, but the directory is not divided", W,
                       i);
    return OWP_OK;
}

owp_status owm_msg_validate_file_list_request(const owm_msg_file_list_request *m, owp_err *err)
{
    if (m->max_files == 0 || m->max_files > OWM_MSG_MAX_ITEMS)
        return bad(err, "FileListRequest.max_files: %u is out of range (1-%u)", m->max_files,
                   OWM_MSG_MAX_ITEMS);
    return OWP_OK;
}

static owp_status check_file_entry(size_t i, const owm_msg_file_entry *f, uint64_t prev_seq,
                                   owp_err *err)
{
    char w[64];
    snprintf(w, sizeof w, "FileList.files[%zu]", i);
    if (!f)
        return bad(err, "%s: missing", w);
    owp_status st;
    if (f->seq == 0)
        return bad(err, "%s.seq: must be > 0", w);
    if (f->seq <= prev_seq)
        return bad(err, "%s.seq: %llu does not follow %llu (seq must ascend)", w,
                   (unsigned long long)f->seq, (unsigned long long)prev_seq);
    if ((st = check_token(w, "stream_id", f->stream_id, OWM_MSG_MAX_ID, err)) ||
        (st = check_token(w, "name", f->name, OWM_MSG_MAX_ID, err)))
        return st;
    if (f->kind < OWM_FILE_KIND_OWP ||
        f->kind > OWM_FILE_KIND_UNMEASURED)
        return bad(err, "%s.kind: %d is not a file kind", w, (int)f->kind);
    if (f->start > f->end)
        return bad(err, "%s.start: after end", w);
    if (f->digest && f->digest[0] && !owm_msg_digest_ok(f->digest))
        return bad(err, "%s.digest: not %u lowercase hex digits", w, OWM_MSG_DIGEST_HEX);
    return OWP_OK;
}

int owm_msg_digest_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= OWM_MSG_DIGEST_HEX || !strchr("0123456789abcdef", s[n]))
            return 0;
    return n == OWM_MSG_DIGEST_HEX;
}

/* The gaps of a listing: ascending, disjoint, with a known reason, at or
 * below `through`, and no listed file inside one. */
static owp_status check_gaps(const owm_msg_file_list *m, owp_err *err)
{
    owp_status st = check_items("FileList", "gaps", m->n_gaps, err);
    if (st != OWP_OK)
        return st;
    if (m->n_gaps && !m->through)
        return bad(err, "FileList.gaps: listed without FileList.through");
    uint64_t prev = 0;
    size_t f = 0;
    for (size_t i = 0; i < m->n_gaps; i++) {
        const owm_msg_seq_gap *g = m->gaps[i];
        if (!g)
            return bad(err, "FileList.gaps[%zu]: missing", i);
        if (g->first == 0 || g->first > g->last || g->last > m->through)
            return bad(err, "FileList.gaps[%zu]: %llu-%llu is not a range inside 1-%llu", i,
                       (unsigned long long)g->first, (unsigned long long)g->last,
                       (unsigned long long)m->through);
        if (g->first <= prev)
            return bad(err, "FileList.gaps[%zu]: %llu does not follow %llu (gaps must ascend)", i,
                       (unsigned long long)g->first, (unsigned long long)prev);
        if (g->reason <= OWM_GAP_REASON_UNSPECIFIED ||
            g->reason > OWM_GAP_REASON_BUDGET)
            return bad(err, "FileList.gaps[%zu].reason: %d is not a gap reason", i, (int)g->reason);
        if (g->stream_id && g->stream_id[0] &&
            !owm_msg_token_ok(g->stream_id, OWM_MSG_MAX_ID))
            return bad(err, "FileList.gaps[%zu].stream_id: not a stream id", i);
        if (g->kind > OWM_FILE_KIND_UNMEASURED || g->start > g->end)
            return bad(err, "FileList.gaps[%zu]: kind %d, start %llu, end %llu: not a file", i,
                       (int)g->kind, (unsigned long long)g->start, (unsigned long long)g->end);
        while (f < m->n_files && m->files[f]->seq < g->first)
            f++;
        if (f < m->n_files && m->files[f]->seq <= g->last)
            return bad(err, "FileList.gaps[%zu]: file %llu is listed inside it", i,
                       (unsigned long long)m->files[f]->seq);
        prev = g->last;
    }
    return OWP_OK;
}

owp_status owm_msg_validate_file_list(const owm_msg_file_list *m, owp_err *err)
{
    owp_status st = check_items("FileList", "files", m->n_files, err);
    uint64_t prev = 0;
    for (size_t i = 0; i < m->n_files && st == OWP_OK; i++) {
        st = check_file_entry(i, m->files[i], prev, err);
        if (st == OWP_OK)
            prev = m->files[i]->seq;
    }
    if (st == OWP_OK && m->through && prev > m->through)
        st = bad(err, "FileList.through: %llu is below the last file listed (%llu)",
                 (unsigned long long)m->through, (unsigned long long)prev);
    return st == OWP_OK ? check_gaps(m, err) : st;
}

static owp_status check_credit(const char *where, uint32_t credit, owp_err *err)
{
    if (credit == 0 || credit > OWM_MSG_MAX_CREDIT)
        return bad(err, "%s.credit: %u is out of range (1-%u)", where, credit, OWM_MSG_MAX_CREDIT);
    return OWP_OK;
}

owp_status owm_msg_validate_file_fetch(const owm_msg_file_fetch *m, owp_err *err)
{
    if (m->seq == 0)
        return bad(err, "FileFetch.seq: must be > 0");
    if (m->chunk_size > OWM_MSG_MAX_CHUNK)
        return bad(err, "FileFetch.chunk_size: %u bytes exceed the limit of %u", m->chunk_size,
                   OWM_MSG_MAX_CHUNK);
    return check_credit("FileFetch", m->credit, err);
}

owp_status owm_msg_validate_file_chunk(const owm_msg_file_chunk *m, owp_err *err)
{
    if (m->seq == 0)
        return bad(err, "FileChunk.seq: must be > 0");
    if (m->data.len > OWM_MSG_MAX_CHUNK)
        return bad(err, "FileChunk.data: %zu bytes exceed the limit of %u", m->data.len,
                   OWM_MSG_MAX_CHUNK);
    if (m->data.len > 0 && !m->data.data)
        return bad(err, "FileChunk.data: missing");
    if (m->data.len == 0 && !m->last)
        return bad(err, "FileChunk.data: empty chunk that is not the last");
    if (m->offset > UINT64_MAX - m->data.len)
        return bad(err, "FileChunk.offset: %llu + %zu bytes overflows", (unsigned long long)m->offset,
                   m->data.len);
    return OWP_OK;
}

owp_status owm_msg_validate_file_credit(const owm_msg_file_credit *m, owp_err *err)
{
    if (m->seq == 0)
        return bad(err, "FileCredit.seq: must be > 0");
    return check_credit("FileCredit", m->credit, err);
}

owp_status owm_msg_validate_peer_health(const owm_msg_peer_health *m, owp_err *err)
{
    static const char *const W = "PeerHealth";
    owp_status st = check_items(W, "down", m->n_down, err);
    for (size_t i = 0; i < m->n_down && st == OWP_OK; i++) {
        char f[32];
        snprintf(f, sizeof f, "down[%zu]", i);
        st = check_token(W, f, m->down[i], OWM_MSG_MAX_NAME, err);
        if (st == OWP_OK && i > 0 && strcmp(m->down[i - 1], m->down[i]) >= 0)
            st = bad(err, "%s.%s: \"%s\" does not follow \"%s\" (names must ascend)", W, f,
                     m->down[i], m->down[i - 1]);
    }
    return st;
}

owp_status owm_msg_validate_file_ack(const owm_msg_file_ack *m, owp_err *err)
{
    if (m->n_seqs == 0)
        return bad(err, "FileAck.seqs: empty");
    owp_status st = check_items("FileAck", "seqs", m->n_seqs, err);
    for (size_t i = 0; i < m->n_seqs && st == OWP_OK; i++)
        if (m->seqs[i] == 0)
            st = bad(err, "FileAck.seqs[%zu]: must be > 0", i);
    return st;
}

/* ================================================================ envelope */

static owp_status validate_body(const owm_msg *env, owp_err *err)
{
    switch (env->kind) {
    case OWM_MSG_HELLO: return owm_msg_validate_hello(env->hello, err);
    case OWM_MSG_SCHEDULE: return owm_msg_validate_schedule(env->schedule, err);
    case OWM_MSG_SCHEDULE_ACK:
        return owm_msg_validate_schedule_ack(env->schedule_ack, err);
    case OWM_MSG_STATUS: return owm_msg_validate_status(env->status, err);
    case OWM_MSG_ERROR: return owm_msg_validate_error(env->error, err);
    case OWM_MSG_STATUS_REQUEST:
        return owm_msg_validate_status_request(env->status_request, err);
    case OWM_MSG_STATUS_REPLY:
        return owm_msg_validate_status_reply(env->status_reply, err);
    case OWM_MSG_DIRECTORY_REQUEST:
        return owm_msg_validate_directory_request(env->directory_request, err);
    case OWM_MSG_DIRECTORY: return owm_msg_validate_directory(env->directory, err);
    case OWM_MSG_FILE_LIST_REQUEST:
        return owm_msg_validate_file_list_request(env->file_list_request, err);
    case OWM_MSG_FILE_LIST: return owm_msg_validate_file_list(env->file_list, err);
    case OWM_MSG_FILE_FETCH:
        return owm_msg_validate_file_fetch(env->file_fetch, err);
    case OWM_MSG_FILE_CHUNK:
        return owm_msg_validate_file_chunk(env->file_chunk, err);
    case OWM_MSG_FILE_CREDIT:
        return owm_msg_validate_file_credit(env->file_credit, err);
    case OWM_MSG_FILE_ACK: return owm_msg_validate_file_ack(env->file_ack, err);
    case OWM_MSG_PEER_HEALTH:
        return owm_msg_validate_peer_health(env->peer_health, err);
    default: break;
    }
    return bad(err, "mesh message: no message this peer knows (body field %d)",
               (int)env->kind);
}

owp_status owm_msg_version_error(uint64_t version, owp_err *err)
{
    if (version == 0)
        return bad(err, "mesh message without a protocol version (not an owmesh peer?); we speak "
                   "mesh protocol version %d", OWM_MSG_VERSION);
    return bad(err, "peer speaks mesh protocol version %llu, we speak %d",
               (unsigned long long)version, OWM_MSG_VERSION);
}

owp_status owm_msg_validate(const owm_msg *env, owp_err *err)
{
    if (!env)
        return owp_err_set(err, OWP_ERR_INVALID, "mesh message: NULL envelope");
    if (env->version != OWM_MSG_VERSION)
        return owm_msg_version_error(env->version, err);
    if (owm_msg_body_type(env->kind) && !env->body)
        return bad(err, "%s: missing (envelope names it but carries none)",
                   owm_msg_kind_name(env->kind));
    return validate_body(env, err);
}
