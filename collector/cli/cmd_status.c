/*
 * cmd_status.c - `owmesh status`: what the mesh says should run against what
 * runs, from the coordinator; every missing, stalled, failing, unmeasured or
 * unexpected stream is named, and every verdict with the evidence the
 * coordinator gave for it (StreamStatus.evidence; from a coordinator of minor
 * version < 2, a note made here from the rest of the StreamStatus). The
 * exit status is a Nagios/Icinga plugin's (nagios.h): 0 OK, 1 WARNING, 2
 * CRITICAL by the counts of missing nodes and problem streams against
 * --warn-nodes/--crit-nodes and --warn-streams/--crit-streams, 3 UNKNOWN
 * when the coordinator could not be asked; --nagios prints the plugin line.
 *
 * Order: nodes by name; streams by source, destination, then id. Times for
 * people are ages at the coordinator's time ("12s ago") and generations
 * (seconds since 1970 when the coordinator made them) UTC ISO 8601; the
 * JSON keeps the machine values.
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

#include "analyst.h"
#include "cli.h"
#include "cmd_json.h"
#include "coordclient.h"
#include "health.h"
#include "nagios.h"
#include "render.h"

#define FIRST_BATCH 32

typedef struct options {
    const char *endpoint, *cert, *server_key;
    int timeout_ms;
    int json, nagios;
    owmesh_threshold warn_nodes, crit_nodes, warn_streams, crit_streams;
} options;

/* Default thresholds: any problem warns; a quarter of the mesh is critical
 * (one node of four down, or a quarter of the streams broken). */
#define DEFAULT_WARN "1"
#define DEFAULT_CRIT "25%"

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

static int cmp_nodes(const void *a, const void *b)
{
    const owm_msg_node_status *const *x = a, *const *y = b;
    return strcmp((*x)->node, (*y)->node);
}

static row *make_rows(gathered *g, size_t *count)
{
    if (g->n_nodes)
        qsort((void *)g->nodes, g->n_nodes, sizeof *g->nodes, cmp_nodes);
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

/* A time for people: its age at the reply's time ("12s ago"), "never". */
static void age_text(const gathered *g, uint64_t t, char *buf, size_t len)
{
    if (!t) {
        snprintf(buf, len, "never");
        return;
    }
    uint64_t now = g->time;
    if (!now) { /* an old coordinator's reply carries no time: ours */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        now = owp_ntp_from_timespec(&ts);
    }
    char age[32];
    owmesh_format_age(now > t ? (now - t) >> 32 : 0, age, sizeof age);
    snprintf(buf, len, "%s ago", age);
}

/* A schedule generation: the coordinator makes them from its clock
 * (seconds since 1970), so one is shown as that UTC time; a smaller number
 * (another coordinator's counter) as "#N"; 0 as "none". */
static void generation_text(uint64_t gen, char *buf, size_t len)
{
    if (!gen)
        snprintf(buf, len, "none");
    else if (gen < 946684800 || gen > UINT32_MAX) /* not a time since 2000 */
        snprintf(buf, len, "#%llu", (unsigned long long)gen);
    else
        owmesh_format_iso((gen + OWP_NTP_UNIX_OFFSET) << 32, buf, len);
}

static void schedule_text(const owm_msg_node_status *ns, char *buf, size_t len)
{
    char runs[40];
    generation_text(ns->running_generation, runs, sizeof runs);
    if (ns->running_generation == ns->expected_generation)
        snprintf(buf, len, "current");
    else if (ns->acked_generation == ns->expected_generation)
        snprintf(buf, len, "acked, runs %s", runs);
    else
        snprintf(buf, len, "not acked, runs %s", runs);
}

static int print_nodes(const gathered *g)
{
    static const char *const hdr[] = {"NODE", "STATE", "LAST SEEN", "SCHEDULE", "SOFTWARE",
                                      "LAST ERROR"};
    owmesh_table *t = owmesh_table_new(6, hdr);
    if (!t)
        return -1;
    for (size_t c = 0; c < 6; c++)
        owmesh_table_left(t, c);
    int rc = 0;
    for (size_t i = 0; i < g->n_nodes && !rc; i++) {
        const owm_msg_node_status *ns = g->nodes[i];
        char seen[48], sched[96];
        age_text(g, ns->last_seen, seen, sizeof seen);
        schedule_text(ns, sched, sizeof sched);
        const char *cells[] = {ns->node, ns->connected ? "connected" : "missing", seen, sched,
                               ns->software_version[0] ? ns->software_version : "-",
                               ns->last_error[0] ? ns->last_error : "-"};
        rc = owmesh_table_add(t, cells);
    }
    if (!rc)
        owmesh_table_print(t, stdout);
    owmesh_table_destroy(&t);
    return rc;
}

static int print_streams(const gathered *g, const row *rows, size_t n)
{
    static const char *const hdr[] = {"STREAM", "ID",   "STATE",   "SESSIONS",
                                      "LAST SESSION", "LOSS", "EVIDENCE"};
    owmesh_table *t = owmesh_table_new(7, hdr);
    if (!t)
        return -1;
    for (size_t c = 0; c < 7; c++)
        if (c != 3 && c != 5) /* numbers right, words left */
            owmesh_table_left(t, c);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const owm_msg_stream_health *h = rows[i].stream->health;
        char pair[2 * OWM_MSG_MAX_NAME + 8], sessions[24] = "-", last[48] = "-", loss[16];
        snprintf(pair, sizeof pair, "%s -> %s", rows[i].stream->source,
                 rows[i].stream->destination);
        if (h)
            snprintf(sessions, sizeof sessions, "%llu", (unsigned long long)h->sessions_completed);
        if (last_end(g, h))
            age_text(g, last_end(g, h), last, sizeof last);
        loss_text(h, loss, sizeof loss);
        const char *cells[] = {pair, rows[i].stream->id, owm_verdict_name(rows[i].verdict),
                               sessions, last, loss, rows[i].note[0] ? rows[i].note : "-"};
        rc = owmesh_table_add(t, cells);
    }
    if (!rc)
        owmesh_table_print(t, stdout);
    owmesh_table_destroy(&t);
    return rc;
}

static int print_table(const options *o, const gathered *g, const row *rows, size_t n,
                       const size_t *tally)
{
    char when[48], gen[48];
    owmesh_format_iso(g->time, when, sizeof when);
    generation_text(g->generation, gen, sizeof gen);
    printf("coordinator %s  generation %s  at %s\n\n", o->endpoint, gen,
           g->time ? when : "-");
    if (print_nodes(g) != 0)
        return -1;
    printf("\n");
    if (print_streams(g, rows, n) != 0)
        return -1;
    size_t connected = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        connected += g->nodes[i]->connected;
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
    return 0;
}

/* ------------------------------------------------------------ Nagios */

typedef struct verdict_counts {
    size_t nodes, nodes_up, streams, problems;
    const size_t *tally;
} verdict_counts;

static owmesh_nagios_state judge(const options *o, const verdict_counts *v)
{
    owmesh_nagios_state nodes = owmesh_nagios_judge(v->nodes - v->nodes_up, v->nodes,
                                                    &o->warn_nodes, &o->crit_nodes);
    owmesh_nagios_state streams = owmesh_nagios_judge(v->problems, v->streams, &o->warn_streams,
                                                      &o->crit_streams);
    return owmesh_nagios_worse(nodes, streams);
}

/* "OWMESH STATUS WARNING - 3 of 4 nodes up, 9 of 12 streams without problems
 * (3 missing) | nodes_up=3;;;0;4 nodes_missing=1;0;0;0;4 ..." */
static void print_nagios(const options *o, const verdict_counts *v, owmesh_nagios_state state)
{
    char summary[512], perf[1024] = "";
    int used = snprintf(summary, sizeof summary, "%zu of %zu nodes up, %zu of %zu streams "
                        "without problems", v->nodes_up, v->nodes, v->streams - v->problems,
                        v->streams);
    const char *sep = " (";
    for (int k = 0; k < N_VERDICTS && used > 0 && (size_t)used < sizeof summary; k++) {
        if (!v->tally[k] || !owm_verdict_is_problem((owm_verdict)k))
            continue;
        used += snprintf(summary + used, sizeof summary - (size_t)used, "%s%zu %s", sep,
                         v->tally[k], owm_verdict_name((owm_verdict)k));
        sep = ", ";
    }
    if (*sep == ',' && used > 0 && (size_t)used < sizeof summary)
        snprintf(summary + used, sizeof summary - (size_t)used, ")");
    owmesh_perf_append(perf, sizeof perf, "nodes_up", (double)v->nodes_up, NULL, 0, 0,
                       (double)v->nodes);
    owmesh_perf_append(perf, sizeof perf, "nodes_missing", (double)(v->nodes - v->nodes_up),
                       NULL, owmesh_threshold_count(&o->warn_nodes, v->nodes),
                       owmesh_threshold_count(&o->crit_nodes, v->nodes), (double)v->nodes);
    owmesh_perf_append(perf, sizeof perf, "streams_problem", (double)v->problems, NULL,
                       owmesh_threshold_count(&o->warn_streams, v->streams),
                       owmesh_threshold_count(&o->crit_streams, v->streams), (double)v->streams);
    for (int k = 0; k < N_VERDICTS; k++) { /* every verdict, so a graph's series never vanish */
        char label[48];
        snprintf(label, sizeof label, "streams_%s", owm_verdict_name((owm_verdict)k));
        owmesh_perf_append(perf, sizeof perf, label, (double)v->tally[k], NULL, 0, 0,
                           (double)v->streams);
    }
    owmesh_nagios_print(stdout, "STATUS", state, summary, perf);
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
                      const size_t *tally, FILE *fp)
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
    int rc = doc ? json_dumpf(doc, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;
    fputc('\n', fp);
    json_decref(doc);
    return rc;
}

/* ------------------------------------------------------------ command */

static void usage(FILE *fp)
{
    fputs("usage: owmesh status [-c ENDPOINT] [-k CERT] [-s KEY] [-t SECONDS] [--json | --nagios]\n"
            "                     [--warn-nodes N] [--crit-nodes N] [--warn-streams N]\n"
            "                     [--crit-streams N] [NODE...]\n"
            "  -c ENDPOINT  the coordinator (default $OWMESH_COORDINATOR or "
            OWMESH_DEFAULT_COORDINATOR ")\n"
            "  -k CERT      our secret certificate: an analyst's or collector's listed in the\n"
            "               mesh, or the coordinator's own on its machine\n"
            "               (default $OWMESH_CERT)\n"
            "  -s KEY       the coordinator's public key or certificate file\n"
            "               (default: the public key of CERT)\n"
            "  -t SECONDS   wait this long for each answer (default 5)\n"
            "  -j, --json   JSON instead of tables\n"
            "  --nagios     one Nagios/Icinga plugin line with performance data\n"
            "  --warn-nodes N, --crit-nodes N      missing nodes that make the state WARNING,\n"
            "                                      CRITICAL: a count or a share (default "
            DEFAULT_WARN ", " DEFAULT_CRIT ")\n"
            "  --warn-streams N, --crit-streams N  the same for streams missing, stalled,\n"
            "                                      failing, unmeasured or unexpected\n"
            "exit status (Nagios plugin codes): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the\n"
            "coordinator could not be asked, or a bad option)\n",
          fp);
}

enum { OPT_NAGIOS = 1000, OPT_WARN_NODES, OPT_CRIT_NODES, OPT_WARN_STREAMS, OPT_CRIT_STREAMS };

static int parse_threshold(const char *text, const char *what, owmesh_threshold *t)
{
    owp_err err = {0};
    if (owmesh_threshold_parse(text, what, t, &err) == OWP_OK)
        return 0;
    owmesh_error("status: %s", err.msg);
    return -1;
}

/* 0 to go on, 1 when --help was answered, -1 on a bad command line. */
static int parse(int argc, char **argv, options *o)
{
    static const struct option longs[] = {{"json", no_argument, NULL, 'j'},
                                          {"nagios", no_argument, NULL, OPT_NAGIOS},
                                          {"warn-nodes", required_argument, NULL, OPT_WARN_NODES},
                                          {"crit-nodes", required_argument, NULL, OPT_CRIT_NODES},
                                          {"warn-streams", required_argument, NULL,
                                           OPT_WARN_STREAMS},
                                          {"crit-streams", required_argument, NULL,
                                           OPT_CRIT_STREAMS},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *env_endpoint = getenv("OWMESH_COORDINATOR");
    o->endpoint = env_endpoint && env_endpoint[0] ? env_endpoint : OWMESH_DEFAULT_COORDINATOR;
    o->cert = getenv("OWMESH_CERT") && getenv("OWMESH_CERT")[0] ? getenv("OWMESH_CERT") : NULL;
    o->timeout_ms = OWMESH_DEFAULT_TIMEOUT_MS;
    parse_threshold(DEFAULT_WARN, "--warn-nodes", &o->warn_nodes);
    parse_threshold(DEFAULT_CRIT, "--crit-nodes", &o->crit_nodes);
    o->warn_streams = o->warn_nodes;
    o->crit_streams = o->crit_nodes;
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
        case OPT_NAGIOS: o->nagios = 1; break;
        case OPT_WARN_NODES:
            if (parse_threshold(optarg, "--warn-nodes", &o->warn_nodes))
                return -1;
            break;
        case OPT_CRIT_NODES:
            if (parse_threshold(optarg, "--crit-nodes", &o->crit_nodes))
                return -1;
            break;
        case OPT_WARN_STREAMS:
            if (parse_threshold(optarg, "--warn-streams", &o->warn_streams))
                return -1;
            break;
        case OPT_CRIT_STREAMS:
            if (parse_threshold(optarg, "--crit-streams", &o->crit_streams))
                return -1;
            break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (o->json && o->nagios) {
        owmesh_error("status: --json and --nagios exclude each other");
        return -1;
    }
    return 0;
}

/* The coordinator could not be asked: UNKNOWN, said on stderr, and on
 * stdout too as the plugin line with --nagios (Nagios shows stdout only). */
static int unknown(const options *o, const char *why)
{
    owmesh_error("status: %s", why);
    if (o->nagios) {
        char summary[OWP_ERR_MSG_MAX + 64];
        snprintf(summary, sizeof summary, "coordinator %s: %s", o->endpoint, why);
        owmesh_nagios_print(stdout, "STATUS", OWMESH_NAGIOS_UNKNOWN, summary, NULL);
    }
    return OWMESH_NAGIOS_UNKNOWN;
}

/* The names to ask about: the n_given given, else the coordinator's
 * directory (*dir keeps it; *names is then malloc'ed). */
static int node_names(owm_coordclient *client, char **given, size_t n_given, owm_msg **dir,
                      char ***names, size_t *n, owp_err *err)
{
    *names = given;
    *n = n_given;
    if (*n)
        return 0;
    if (!(*dir = ask_directory(client, err)))
        return -1;
    *n = (*dir)->directory->n_nodes;
    *names = calloc(*n ? *n : 1, sizeof **names);
    if (!*names) {
        owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < *n; i++)
        (*names)[i] = (*dir)->directory->nodes[i]->node;
    return 0;
}

/* Print what was gathered in the chosen format; the Nagios state. */
static int report(const options *o, const gathered *g, const row *rows, size_t n_rows)
{
    size_t tally[N_VERDICTS] = {0};
    verdict_counts v = {.nodes = g->n_nodes, .streams = n_rows, .tally = tally};
    for (size_t i = 0; i < n_rows; i++) {
        tally[rows[i].verdict]++;
        v.problems += owm_verdict_is_problem(rows[i].verdict) != 0;
    }
    for (size_t i = 0; i < g->n_nodes; i++)
        v.nodes_up += g->nodes[i]->connected != 0;
    owmesh_nagios_state state = judge(o, &v);
    int written;
    if (o->nagios) {
        print_nagios(o, &v, state);
        written = 0;
    } else if (o->json) {
        written = print_json(o, g, rows, n_rows, tally, stdout);
    } else {
        written = print_table(o, g, rows, n_rows, tally);
    }
    if (written != 0 || fflush(stdout) != 0) {
        owmesh_error("status: writing the report failed");
        return OWMESH_NAGIOS_UNKNOWN;
    }
    return (int)state;
}

int owmesh_cmd_status(int argc, char **argv)
{
    options o = {0};
    int p = parse(argc, argv, &o);
    if (p)
        return p > 0 ? 0 : OWMESH_NAGIOS_UNKNOWN;
    if (!o.cert)
        return unknown(&o, "no certificate: give -k CERT or set OWMESH_CERT");
    owp_err err = {0};
    owm_coordclient *client = owm_coordclient_new(o.endpoint, o.cert, o.server_key, o.timeout_ms,
                                                  &err);
    if (!client)
        return unknown(&o, err.msg);
    owm_msg *dir = NULL;
    char **names = NULL;
    size_t n_names = 0;
    gathered g = {0};
    row *rows = NULL;
    size_t n_rows = 0;
    int rc;
    if (node_names(client, argv + optind, (size_t)(argc - optind), &dir, &names, &n_names,
                   &err) != 0 ||
        gather(client, names, n_names, &g, &err) != 0)
        rc = unknown(&o, err.msg);
    else if (!(rows = make_rows(&g, &n_rows)))
        rc = unknown(&o, "out of memory");
    else
        rc = report(&o, &g, rows, n_rows);
    free(rows);
    gathered_free(&g);
    if (dir)
        free(names);
    owm_msg_free(&dir);
    owm_coordclient_destroy(&client);
    return rc;
}

/* ------------------------------------------------------------ the JSON as a function */

/* `owmesh status --json` of every node (owmesh serve's /api/status). */
owp_status owmesh_status_json(const owmesh_status_opts *so, FILE *out, owp_err *err)
{
    options o = {.endpoint = so->endpoint, .cert = so->cert, .server_key = so->server_key,
                 .timeout_ms = so->timeout_ms, .json = 1};
    owm_coordclient *client = owm_coordclient_new(o.endpoint, o.cert, o.server_key,
                                                  o.timeout_ms, err);
    if (!client)
        return owp_err_prefix(err, "coordinator %s", o.endpoint);
    owm_msg *dir = NULL;
    char **names = NULL;
    size_t n_names = 0, n_rows = 0, tally[N_VERDICTS] = {0};
    gathered g = {0};
    row *rows = NULL;
    owp_status st = OWP_OK;
    if (node_names(client, NULL, 0, &dir, &names, &n_names, err) != 0 ||
        gather(client, names, n_names, &g, err) != 0)
        st = owp_err_prefix(err, "coordinator %s", o.endpoint);
    else if (!(rows = make_rows(&g, &n_rows)))
        st = owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == OWP_OK && i < n_rows; i++)
        tally[rows[i].verdict]++;
    if (st == OWP_OK && print_json(&o, &g, rows, n_rows, tally, out) != 0)
        st = owp_err_set(err, OWP_ERR_NOMEM, "writing the status failed");
    free(rows);
    gathered_free(&g);
    if (dir)
        free(names);
    owm_msg_free(&dir);
    owm_coordclient_destroy(&client);
    return st;
}
