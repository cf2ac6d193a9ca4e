/*
 * cmd_status.c - `owmesh status`: what the mesh says should run against what
 * runs, from the coordinator; every missing, stalled, failing, unmeasured or
 * unexpected stream is named, and every verdict with the evidence the
 * coordinator gave for it (StreamStatus.evidence; from a coordinator of minor
 * version < 2, a note made here from the rest of the StreamStatus). Exit
 * status 0 when nothing is wrong, 2 when something is flagged, 1 when the
 * coordinator could not be asked.
 *
 * The node list comes from the coordinator's Directory; StatusReply is
 * then asked for in batches of nodes (halved whenever the coordinator says a
 * reply would exceed the message size limit), so a mesh of any size fits.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "coordclient.h"
#include "health.h"

#define FIRST_BATCH 32

typedef struct options {
    const char *endpoint, *cert, *server_key;
    int timeout_ms;
    int json;
} options;

/* Every NodeStatus gathered, with the envelopes that own them. */
typedef struct gathered {
    owm_msg **replies;
    size_t n_replies;
    const owm_msg_node_status **nodes;
    size_t n_nodes;
    uint64_t generation, time;
} gathered;

typedef struct row {
    const owm_msg_node_status *node;
    const owm_msg_stream_status *stream;
    owm_verdict verdict;
    char note[OWM_MSG_MAX_TEXT + 128];
} row;

/* ------------------------------------------------------------ asking */

static int keep_reply(gathered *g, owm_msg *env)
{
    owm_msg_status_reply *r = env->status_reply;
    void *more = realloc(g->replies, (g->n_replies + 1) * sizeof *g->replies);
    void *nodes = more ? realloc(g->nodes, (g->n_nodes + r->n_nodes) * sizeof *g->nodes) : NULL;
    if (more)
        g->replies = more;
    if (!nodes)
        return -1;
    g->nodes = nodes;
    g->replies[g->n_replies++] = env;
    for (size_t i = 0; i < r->n_nodes; i++)
        g->nodes[g->n_nodes++] = r->nodes[i];
    g->generation = r->generation;
    g->time = r->time;
    return 0;
}

static void gathered_free(gathered *g)
{
    for (size_t i = 0; i < g->n_replies; i++)
        owm_msg_free(&g->replies[i]);
    free(g->replies);
    free((void *)g->nodes);
}

/* The node names to ask about: the arguments, or the coordinator's directory. */
static owm_msg *ask_directory(owm_coordclient *client, owp_err *err)
{
    owm_msg *req = owm_msg_new(OWM_MSG_DIRECTORY_REQUEST, err);
    owm_msg *dir = req ? owm_coordclient_call(client, req, NULL, err) : NULL;
    owm_msg_free(&req);
    if (dir && dir->kind != OWM_MSG_DIRECTORY) {
        owp_err_set(err, OWP_ERR_PROTO, "coordinator answered a DirectoryRequest with %s",
                    owm_msg_kind_name(dir->kind));
        owm_msg_free(&dir);
    }
    return dir;
}

static owm_msg *ask_batch(owm_coordclient *client, char **names, size_t n, uint64_t id,
                          owm_error_code *code, owp_err *err)
{
    owm_msg *req = owm_msg_new(OWM_MSG_STATUS_REQUEST, err);
    if (!req)
        return NULL;
    req->status_request->request_id = id;
    for (size_t i = 0; i < n; i++)
        if (owm_msg_status_request_add_node(req->status_request, names[i], err) != OWP_OK) {
            owm_msg_free(&req);
            return NULL;
        }
    owm_msg *reply = owm_coordclient_call(client, req, code, err);
    owm_msg_free(&req);
    if (reply && (reply->kind != OWM_MSG_STATUS_REPLY ||
                  reply->status_reply->request_id != id)) {
        owp_err_set(err, OWP_ERR_PROTO, "coordinator answered StatusRequest %llu with %s %llu",
                    (unsigned long long)id, owm_msg_kind_name(reply->kind),
                    reply->kind == OWM_MSG_STATUS_REPLY
                        ? (unsigned long long)reply->status_reply->request_id : 0ULL);
        owm_msg_free(&reply);
    }
    return reply;
}

static int gather(owm_coordclient *client, char **names, size_t n, gathered *g, owp_err *err)
{
    size_t batch = FIRST_BATCH;
    uint64_t id = 1;
    for (size_t i = 0; i < n;) {
        size_t take = n - i < batch ? n - i : batch;
        owm_error_code code;
        owm_msg *reply = ask_batch(client, names + i, take, id++, &code, err);
        if (!reply && code == OWM_ERROR_REFUSED && take > 1) {
            batch = take / 2; /* too large a reply: ask for fewer nodes */
            continue;
        }
        if (!reply)
            return -1;
        if (keep_reply(g, reply) != 0) {
            owm_msg_free(&reply);
            owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
            return -1;
        }
        i += take;
    }
    return 0;
}

/* ------------------------------------------------------------ verdicts */

/* What an older coordinator's reply says, in words. */
static void describe(row *r)
{
    const owm_msg_node_status *n = r->node;
    const owm_msg_stream_health *h = r->stream->health;
    const char *err = h && h->last_error ? h->last_error : "";
    switch (r->verdict) {
    case OWM_V_MISSING:
        if (!n->connected)
            snprintf(r->note, sizeof r->note, "node %s %s", n->node,
                     n->last_seen ? "missing" : "never connected");
        else
            snprintf(r->note, sizeof r->note, "%s by %s", h ? "reported stopped" : "not reported",
                     n->node);
        break;
    case OWM_V_PENDING:
        snprintf(r->note, sizeof r->note, "schedule generation %llu not acked by %s",
                 (unsigned long long)n->expected_generation, n->node);
        break;
    case OWM_V_STALLED:
        snprintf(r->note, sizeof r->note, "%s", owm_health_stall_note(r->stream));
        break;
    case OWM_V_FAILING:
        /* the coordinator's verdict: it need not come with health */
        snprintf(r->note, sizeof r->note, "%s%s%s", h ? owm_msg_state_name(h->state) : "failing",
                 err[0] ? ": " : "", err);
        break;
    case OWM_V_UNEXPECTED:
        snprintf(r->note, sizeof r->note, "not in %s's schedule", n->node);
        break;
    default:
        snprintf(r->note, sizeof r->note, "%s", err);
        break;
    }
}

/* A session end shown to people: none after the reply's own time (a session
 * that never ran, or an older coordinator passing on a node's future). */
static uint64_t last_end(const gathered *g, const owm_msg_stream_health *h)
{
    if (!h || !h->last_session_end || (g->time && h->last_session_end > g->time))
        return 0;
    return h->last_session_end;
}

static int cmp_rows(const void *a, const void *b)
{
    const row *x = a, *y = b;
    int c = strcmp(x->stream->source, y->stream->source);
    if (!c)
        c = strcmp(x->stream->destination, y->stream->destination);
    return c ? c : strcmp(x->stream->id, y->stream->id);
}

static row *make_rows(const gathered *g, size_t *count)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        n += g->nodes[i]->n_streams;
    row *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        for (size_t j = 0; j < g->nodes[i]->n_streams; j++, k++) {
            rows[k].node = g->nodes[i];
            rows[k].stream = g->nodes[i]->streams[j];
            rows[k].verdict = owm_health_from_status(rows[k].node, rows[k].stream);
            if (rows[k].stream->evidence && rows[k].stream->evidence[0])
                snprintf(rows[k].note, sizeof rows[k].note, "%s", rows[k].stream->evidence);
            else
                describe(&rows[k]);
        }
    }
    qsort(rows, n, sizeof *rows, cmp_rows);
    *count = n;
    return rows;
}

/* ------------------------------------------------------------ output */

#define N_VERDICTS OWM_N_VERDICTS

static void loss_text(const owm_msg_stream_health *h, char *buf, size_t len)
{
    if (!h || !h->packets_sent)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f%%", 100.0 * h->packets_lost / h->packets_sent);
}

static void print_table(const options *o, const gathered *g, const row *rows, size_t n,
                        const size_t *tally)
{
    char when[40], seen[40];
    owmesh_format_time(g->time, when, sizeof when);
    printf("coordinator %s  generation %llu  at %s\n\n", o->endpoint,
           (unsigned long long)g->generation, when);
    int wn = 4;
    for (size_t i = 0; i < g->n_nodes; i++) {
        int l = (int)strlen(g->nodes[i]->node);
        wn = l > wn ? l : wn;
    }
    size_t connected = 0;
    printf("%-*s  %-9s  %-20s  %-34s  %s\n", wn, "NODE", "STATE", "LAST SEEN",
           "GENERATION RUNS/ACKED/WANTED", "SOFTWARE");
    for (size_t i = 0; i < g->n_nodes; i++) {
        const owm_msg_node_status *ns = g->nodes[i];
        char gens[80];
        snprintf(gens, sizeof gens, "%llu/%llu/%llu", (unsigned long long)ns->running_generation,
                 (unsigned long long)ns->acked_generation,
                 (unsigned long long)ns->expected_generation);
        owmesh_format_time(ns->last_seen, seen, sizeof seen);
        connected += ns->connected;
        printf("%-*s  %-9s  %-20s  %-34s  %s%s%s\n", wn, ns->node,
               ns->connected ? "connected" : "missing", ns->last_seen ? seen : "never", gens,
               ns->software_version[0] ? ns->software_version : "-",
               ns->last_error[0] ? "  last error: " : "", ns->last_error);
    }
    int wp = 6, wv = 5;
    for (size_t i = 0; i < n; i++) {
        int l = (int)(strlen(rows[i].stream->source) + strlen(rows[i].stream->destination) + 4);
        wp = l > wp ? l : wp;
        l = (int)strlen(owm_verdict_name(rows[i].verdict));
        wv = l > wv ? l : wv;
    }
    printf("\n%-*s  %-32s  %-*s  %8s  %-20s  %6s  %s\n", wp, "STREAM", "ID", wv, "STATE",
           "SESSIONS", "LAST SESSION", "LOSS", "EVIDENCE");
    for (size_t i = 0; i < n; i++) {
        const owm_msg_stream_health *h = rows[i].stream->health;
        char pair[2 * OWM_MSG_MAX_NAME + 8], sessions[24] = "-", last[40], loss[16];
        snprintf(pair, sizeof pair, "%s -> %s", rows[i].stream->source,
                 rows[i].stream->destination);
        if (h)
            snprintf(sessions, sizeof sessions, "%llu", (unsigned long long)h->sessions_completed);
        owmesh_format_time(last_end(g, h), last, sizeof last);
        loss_text(h, loss, sizeof loss);
        printf("%-*s  %-32s  %-*s  %8s  %-20s  %6s  %s\n", wp, pair, rows[i].stream->id, wv,
               owm_verdict_name(rows[i].verdict), sessions, last, loss, rows[i].note);
    }
    printf("\n%zu nodes: %zu connected, %zu missing; %zu streams:", g->n_nodes, connected,
           g->n_nodes - connected, n);
    const char *sep = " ";
    for (int v = 0; v < N_VERDICTS; v++) {
        if (tally[v] || v == OWM_V_OK) {
            printf("%s%zu %s", sep, tally[v], owm_verdict_name((owm_verdict)v));
            sep = ", ";
        }
    }
    printf("\n");
}

static json_t *time_json(uint64_t t)
{
    char buf[40];
    owmesh_format_time(t, buf, sizeof buf);
    return t ? json_string(buf) : json_null();
}

/* A node-clock time, never later than the reply's (the node's clock may run
 * ahead of the coordinator's). */
static json_t *node_time_json(const gathered *g, uint64_t t)
{
    return time_json(g->time && t > g->time ? g->time : t);
}

static json_t *stream_json(const gathered *g, const row *r)
{
    const owm_msg_stream_status *s = r->stream;
    const owm_msg_stream_health *h = s->health;
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "id", s->id, "source", s->source,
                          "destination", s->destination, "expected", s->expected, "state",
                          owm_verdict_name(r->verdict), "note", r->note);
    json_object_set_new(o, "evidence", json_string(r->note));
    if (h) {
        json_object_set_new(o, "node_state", json_string(owm_msg_state_name(h->state)));
        json_object_set_new(o, "sessions_completed", json_integer((json_int_t)h->sessions_completed));
        json_object_set_new(o, "last_session_end", time_json(last_end(g, h)));
        json_object_set_new(o, "started", node_time_json(g, h->started));
        json_object_set_new(o, "last_attempt", node_time_json(g, h->last_attempt));
        json_object_set_new(o, "unmeasured_since", node_time_json(g, h->unmeasured_since));
        json_object_set_new(o, "unmeasured_reason", h->unmeasured_reason[0]
                                                        ? json_string(h->unmeasured_reason)
                                                        : json_null());
        json_object_set_new(o, "packets_sent", json_integer(h->packets_sent));
        json_object_set_new(o, "packets_lost", json_integer(h->packets_lost));
        json_object_set_new(o, "files_spooled", json_integer((json_int_t)h->files_spooled));
        json_object_set_new(o, "last_error", json_string(h->last_error));
    } else {
        json_object_set_new(o, "node_state", json_null());
    }
    return o;
}

static int print_json(const options *o, const gathered *g, const row *rows, size_t n,
                      const size_t *tally)
{
    json_t *nodes = json_array();
    for (size_t i = 0; i < g->n_nodes; i++) {
        const owm_msg_node_status *ns = g->nodes[i];
        json_t *streams = json_array();
        for (size_t k = 0; k < n; k++)
            if (rows[k].node == ns)
                json_array_append_new(streams, stream_json(g, &rows[k]));
        json_t *node = json_pack(
            "{s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:s, s:s, s:o}", "node", ns->node, "state",
            ns->connected ? "connected" : "missing", "last_seen", time_json(ns->last_seen),
            "expected_generation", (json_int_t)ns->expected_generation, "acked_generation",
            (json_int_t)ns->acked_generation, "running_generation",
            (json_int_t)ns->running_generation, "software_version", ns->software_version,
            "owamp_address", ns->owamp_address, "last_error", ns->last_error, "streams", streams);
        json_array_append_new(nodes, node);
    }
    json_t *summary = json_object();
    for (int v = 0; v < N_VERDICTS; v++)
        json_object_set_new(summary, owm_verdict_name((owm_verdict)v),
                            json_integer((json_int_t)tally[v]));
    json_t *doc = json_pack("{s:s, s:I, s:o, s:o, s:o}", "coordinator", o->endpoint,
                            "generation", (json_int_t)g->generation, "time", time_json(g->time),
                            "nodes", nodes, "streams", summary);
    int rc = doc ? json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;
    printf("\n");
    json_decref(doc);
    return rc;
}

/* ------------------------------------------------------------ command */

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: owmesh status [-c ENDPOINT] [-k CERT] [-s KEY] [-t SECONDS] [--json] "
            "[NODE...]\n"
            "  -c ENDPOINT  the coordinator (default $OWMESH_COORDINATOR or "
            OWMESH_DEFAULT_COORDINATOR ")\n"
            "  -k CERT      our secret certificate: the coordinator's own or a node's\n"
            "               (default $OWMESH_CERT)\n"
            "  -s KEY       the coordinator's public key or certificate file\n"
            "               (default: the public key of CERT)\n"
            "  -t SECONDS   wait this long for each answer (default 5)\n"
            "  -j, --json   JSON instead of tables\n"
            "exit status: 0 all well, 2 something is missing, stalled, failing, unmeasured or\n"
            "unexpected,\n"
            "1 the coordinator could not be asked\n");
}

static int parse(int argc, char **argv, options *o)
{
    static const struct option longs[] = {{"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *env_endpoint = getenv("OWMESH_COORDINATOR");
    o->endpoint = env_endpoint && env_endpoint[0] ? env_endpoint : OWMESH_DEFAULT_COORDINATOR;
    o->cert = getenv("OWMESH_CERT") && getenv("OWMESH_CERT")[0] ? getenv("OWMESH_CERT") : NULL;
    o->timeout_ms = OWMESH_DEFAULT_TIMEOUT_MS;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:k:s:t:jh", longs, NULL)) != -1) {
        switch (c) {
        case 'c': o->endpoint = optarg; break;
        case 'k': o->cert = optarg; break;
        case 's': o->server_key = optarg; break;
        case 't': {
            char *end;
            double t = strtod(optarg, &end);
            if (*end || !(t > 0) || t > 3600) {
                owmesh_error("status: -t %s: expected seconds (0-3600)", optarg);
                return -1;
            }
            o->timeout_ms = (int)(t * 1000);
            break;
        }
        case 'j': o->json = 1; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (!o->cert) {
        owmesh_error("status: no certificate: give -k CERT or set OWMESH_CERT");
        return -1;
    }
    return 0;
}

int owmesh_cmd_status(int argc, char **argv)
{
    options o = {0};
    int p = parse(argc, argv, &o);
    if (p)
        return p > 0 ? 0 : 1;
    owp_err err = {0};
    owm_coordclient *client = owm_coordclient_new(o.endpoint, o.cert, o.server_key, o.timeout_ms,
                                                  &err);
    if (!client) {
        owmesh_error("status: %s", err.msg);
        return 1;
    }
    owm_msg *dir = NULL;
    char **names = argv + optind;
    size_t n_names = (size_t)(argc - optind);
    if (!n_names) {
        dir = ask_directory(client, &err);
        if (!dir) {
            owmesh_error("status: %s", err.msg);
            owm_coordclient_destroy(&client);
            return 1;
        }
        n_names = dir->directory->n_nodes;
        names = calloc(n_names ? n_names : 1, sizeof *names);
        for (size_t i = 0; names && i < n_names; i++)
            names[i] = dir->directory->nodes[i]->node;
    }
    gathered g = {0};
    int rc = names && gather(client, names, n_names, &g, &err) == 0 ? 0 : 1;
    if (rc)
        owmesh_error("status: %s", names ? err.msg : "out of memory");
    size_t n_rows = 0;
    row *rows = rc ? NULL : make_rows(&g, &n_rows);
    if (!rc && !rows) {
        owmesh_error("status: out of memory");
        rc = 1;
    }
    if (!rc) {
        size_t tally[N_VERDICTS] = {0};
        int problems = 0;
        for (size_t i = 0; i < n_rows; i++) {
            tally[rows[i].verdict]++;
            problems |= owm_verdict_is_problem(rows[i].verdict);
        }
        for (size_t i = 0; i < g.n_nodes; i++)
            problems |= !g.nodes[i]->connected;
        if (o.json)
            rc = print_json(&o, &g, rows, n_rows, tally) == 0 ? 0 : 1;
        else
            print_table(&o, &g, rows, n_rows, tally);
        if (!rc && problems)
            rc = 2;
    }
    free(rows);
    gathered_free(&g);
    if (dir)
        free(names);
    owm_msg_free(&dir);
    owm_coordclient_destroy(&client);
    return rc;
}
