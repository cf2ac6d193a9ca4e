/*
 * collector_directory.c - following the coordinator's node directory: asked
 * on the collector's loop without ever waiting for the answer (back-off
 * while the coordinator is away), one puller per node that announced a
 * data endpoint, moved endpoints and dropped nodes followed, and, for a
 * collector sharing its archive, only the nodes the coordinator assigns
 * it, for as long as its lease runs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "collector_internal.h"
#include "collector_share.h"

/* Stop pulling the i-th node: its puller goes, the file in flight is
 * abandoned unacked (the node lists it again to whoever pulls it next). */
static void drop_puller(collector *c, size_t i, const char *why)
{
    const puller_stats *st = puller_get_stats(c->pullers[i]);
    log_info("node %s: stopped pulling (%s) after %" PRIu64 " files, %" PRIu64 " records",
             puller_node(c->pullers[i]), why, st->files, st->records);
    if (c->watch[i].sock)
        daemon_loop_reader_end(c->loop, c->watch[i].sock);
    puller_destroy(&c->pullers[i]);
    size_t last = --c->n_pullers;
    if (i != last) {
        /* The last one moves into the hole: its reader's argument was its
         * old slot, so it is registered anew. */
        if (c->watch[last].sock)
            daemon_loop_reader_end(c->loop, c->watch[last].sock);
        c->pullers[i] = c->pullers[last];
        c->watch[i] = (watched){.c = c, .p = c->pullers[i]};
        collector_watch_socket(&c->watch[i]);
    }
    c->pullers[last] = NULL;
    c->watch[last] = (watched){0};
}

static void drop_every_puller(collector *c, const char *why)
{
    while (c->n_pullers)
        drop_puller(c, c->n_pullers - 1, why);
}

static puller *find_puller(collector *c, const char *node)
{
    for (size_t i = 0; i < c->n_pullers; i++)
        if (!strcmp(puller_node(c->pullers[i]), node))
            return c->pullers[i];
    return NULL;
}

static void follow_entry(collector *c, const owm_msg_directory_entry *e)
{
    owp_err err;
    owp_err_clear(&err);
    puller *p = find_puller(c, e->node);
    if (!e->data_endpoint[0] || !e->public_key[0]) {
        if (!p)
            log_debug("node %s: no data endpoint%s announced yet", e->node,
                      e->public_key[0] ? "" : " or key");
        return;
    }
    if (p) {
        if (strcmp(puller_endpoint(p), e->data_endpoint) != 0) {
            log_info("node %s: data endpoint moved to %s", e->node, e->data_endpoint);
            if (puller_retarget(p, e->data_endpoint, e->public_key, &err) != OWP_OK)
                log_err("node %s: %s", e->node, err.msg);
        }
        return;
    }
    if (c->n_pullers == MAX_NODES) {
        log_err("node %s: more than %d nodes: not collected", e->node, MAX_NODES);
        return;
    }
    puller_config pc = {
        .node = e->node, .endpoint = e->data_endpoint, .cert = c->cert,
        .server_key = e->public_key, .store = c->store, .store_nometasync = !c->opt.sync_each,
        .path = store_paths_resolve, .path_arg = c->paths, .on_file = collector_on_file,
        .on_file_arg = c, .quarantine_dir = c->quarantine, .window = c->opt.window, .credit = c->opt.credit,
    };
    p = puller_new(&pc, &err);
    if (!p) {
        log_err("node %s: %s", e->node, err.msg);
        return;
    }
    c->watch[c->n_pullers] = (watched){.c = c, .p = p};
    c->pullers[c->n_pullers++] = p;
    log_info("node %s: collecting from %s", e->node, e->data_endpoint);
}

static int on_client(zloop_t *loop, zsock_t *sock, void *arg);

/* A client on the loop, made from the keys in memory (the files may be
 * unreadable since the drop). 0, or -1 logged. */
static int open_client(collector *c)
{
    owp_err err;
    owp_err_clear(&err);
    c->client = owm_coordclient_new_cert(c->opt.endpoint, c->cert, c->server_key,
                                         DIRECTORY_TIMEOUT_MS, &err);
    if (!c->client) {
        log_err("coordinator %s: %s", c->opt.endpoint, err.msg);
        return -1;
    }
    if (c->loop &&
        daemon_loop_reader(c->loop, owm_coordclient_socket(c->client), on_client, c) != 0) {
        log_err("coordinator %s: event loop: out of memory", c->opt.endpoint);
        owm_coordclient_destroy(&c->client);
        return -1;
    }
    return 0;
}

void collector_close_client(collector *c)
{
    if (c->client && c->loop)
        daemon_loop_reader_end(c->loop, owm_coordclient_socket(c->client));
    owm_coordclient_destroy(&c->client);
    c->asking = 0;
}

/* The directory could not be had: ask again later, longer each time (up
 * to DIRECTORY_RETRY_MAX_S); said once when the coordinator goes away. */
static void directory_failed(collector *c, const char *why, double now)
{
    if (!c->coordinator_down)
        log_warn("coordinator %s: directory: %s: retrying in %.0f s, backing off up to "
                 "%.0f s (collecting from the nodes already known)", c->opt.endpoint, why,
                 c->retry_s, DIRECTORY_RETRY_MAX_S);
    else
        log_debug("coordinator %s: directory: %s: retrying in %.0f s", c->opt.endpoint, why,
                  c->retry_s);
    c->coordinator_down = 1;
    c->next_directory = now + c->retry_s;
    /* A sharing collector's lease needs an answer soon after the
     * coordinator is back: it never waits more than a period. */
    double max = collector_sharing(c) ? c->opt.heartbeat_s : DIRECTORY_RETRY_MAX_S;
    c->retry_s = c->retry_s * 2 > max ? max : c->retry_s * 2;
    /* The DEALER may still deliver a late answer: start a fresh one. */
    collector_close_client(c);
}

/* 1 when d marks node as ours. */
static int assigned_to_us(const owm_msg_directory *d, const char *node)
{
    for (size_t i = 0; i < d->n_nodes; i++)
        if (!strcmp(d->nodes[i]->node, node))
            return collector_pulls(d, i);
    return 0;
}

/* A sharing collector pulls what a divided directory marks as its own and
 * stops pulling the rest at once; its lease runs from its request. */
static void follow_division(collector *c, const owm_msg_directory *d, double now)
{
    if (!d->divided) {
        if (!c->warned_undivided)
            log_warn("coordinator %s does not divide the mesh between the collectors of "
                     "archive %s (older than minor version 4?): pulling every node",
                     c->opt.endpoint, c->archive);
        c->warned_undivided = 1;
        c->divided = 0;
        return;
    }
    c->divided = 1;
    c->lease_end = collector_lease_end(c->asked_at, c->opt.heartbeat_s);
    if (c->lease_lapsed)
        log_info("coordinator %s: answering again: lease renewed", c->opt.endpoint);
    c->lease_lapsed = 0;
    for (size_t i = c->n_pullers; i-- > 0;)
        if (!assigned_to_us(d, puller_node(c->pullers[i])))
            drop_puller(c, i, "the coordinator no longer assigns it to this collector");
    c->next_directory = now + collector_next_request(c->opt.heartbeat_s, d->next_request);
}

static void directory_arrived(collector *c, const owm_msg_directory *d, double now)
{
    owp_err err;
    owp_err_clear(&err);
    if (c->coordinator_down)
        log_info("coordinator %s: answering again", c->opt.endpoint);
    c->coordinator_down = 0;
    c->retry_s = DIRECTORY_RETRY_S;
    if (store_paths_set_directory(c->paths, d, &err) != OWP_OK)
        log_err("directory: %s", err.msg);
    c->next_directory = now + c->opt.refresh_s;
    if (collector_sharing(c))
        follow_division(c, d, now);
    for (size_t i = 0; i < d->n_nodes; i++)
        if (collector_pulls(d, i))
            follow_entry(c, d->nodes[i]);
    log_debug("directory generation %" PRIu64 ": %zu nodes, %zu collected%s%s", d->generation,
              d->n_nodes, c->n_pullers, d->divided ? " (divided; we are collector " : "",
              d->divided ? d->collector : "");
}

/* A sharing collector whose lease ran out (no directory from the coordinator
 * for LEASE_PERIODS periods) stops pulling: the coordinator gives its nodes
 * to another collector after 2 periods. */
static void check_lease(collector *c, double now)
{
    if (!collector_sharing(c) || !c->divided || !c->n_pullers || now < c->lease_end)
        return;
    if (!c->lease_lapsed)
        log_warn("no directory from coordinator %s for %.1f s (lease %.1f s): stopped pulling "
                 "every node until it answers (it may have given them to another collector)",
                 c->opt.endpoint, now - c->lease_end + COLLECTOR_LEASE_PERIODS * c->opt.heartbeat_s,
                 COLLECTOR_LEASE_PERIODS * c->opt.heartbeat_s);
    c->lease_lapsed = 1;
    drop_every_puller(c, "lease ran out");
}

/* The DirectoryRequest: a sharing collector says its archive, its
 * heartbeat and the nodes it pulls now. */
static owm_msg *directory_request(collector *c, owp_err *err)
{
    owm_msg *req = owm_msg_new(OWM_MSG_DIRECTORY_REQUEST, err);
    if (!req || !collector_sharing(c))
        return req;
    owm_msg_directory_request *q = req->directory_request;
    q->heartbeat = c->opt.heartbeat_s;
    owp_status st = owm_msg_set_string(&q->archive, c->archive, err);
    for (size_t i = 0; st == OWP_OK && i < c->n_pullers; i++)
        st = owm_msg_directory_request_add_pulling(q, puller_node(c->pullers[i]), err);
    if (st != OWP_OK)
        owm_msg_free(&req);
    return req;
}

/* The coordinator client's socket is readable: the directory (or not). */
static int on_client(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    collector *c = arg;
    if (!c->client)
        return 0;
    owp_err err;
    owp_err_clear(&err);
    double now = owp_clock_monotonic();
    owm_msg *rep = owm_coordclient_receive(c->client, NULL, &err);
    if (!rep && err.code == OWP_ERR_TIMEOUT)
        return 0; /* nothing after all */
    if (!c->asking) {
        owm_msg_free(&rep); /* an answer nobody waits for any more */
        return 0;
    }
    c->asking = 0;
    if (rep && rep->kind == OWM_MSG_DIRECTORY)
        directory_arrived(c, rep->directory, now);
    else {
        if (rep)
            owp_err_set(&err, OWP_ERR_PROTO, "answered %s", owm_msg_kind_name(rep->kind));
        directory_failed(c, err.msg, now);
    }
    owm_msg_free(&rep);
    return 0;
}

/* Seconds to wait for an answer: never longer than a sharing collector's
 * heartbeat, whose next request is due by then. */
static double directory_timeout(const collector *c)
{
    double t = DIRECTORY_TIMEOUT_MS / 1000.0;
    return collector_sharing(c) && c->opt.heartbeat_s < t ? c->opt.heartbeat_s : t;
}

/* Ask for the directory when due; give up on an answer that is late. */
void collector_refresh_directory(collector *c, double now)
{
    check_lease(c, now); /* even while a request is out */
    if (c->asking) {
        if (now - c->asked_at >= directory_timeout(c)) {
            char why[200];
            snprintf(why, sizeof why, "no answer within %.1f s (is the coordinator running "
                     "there, and does its mesh trust this key?)", directory_timeout(c));
            directory_failed(c, why, now);
        }
        return;
    }
    if (now < c->next_directory)
        return;
    owp_err err;
    owp_err_clear(&err);
    if (!c->client && open_client(c) != 0) {
        c->next_directory = now + c->retry_s;
        return;
    }
    owm_msg *req = directory_request(c, &err);
    owp_status st = req ? owm_coordclient_send(c->client, req, &err) : err.code;
    owm_msg_free(&req);
    if (st != OWP_OK) {
        directory_failed(c, err.msg, now);
        return;
    }
    c->asking = 1;
    c->asked_at = now;
}
