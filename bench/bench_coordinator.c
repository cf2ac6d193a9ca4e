/*
 * bench_coordinator - how long owmesh-coordinator takes to compute and push
 * the schedules of a full mesh of N nodes, and how much memory it needs.
 *
 * For each N (default 200 and 1000): make N CURVE key pairs, write a mesh
 * whose nodes are 127.0.x.y addresses (data only: no packet is sent to
 * them) in one "mesh" group, so N(N-1) streams; then
 *  1. in this process: load the mesh, compute the plan, build and encode
 *     every node's schedule (the coordinator's computation, timed alone);
 *  2. start the coordinator from the build tree as a child process, simulate
 *     the N nodes as CURVE DEALER sockets of this process, have all of them
 *     say Hello at once and ack the schedule each receives; time from the
 *     first Hello to the last ack, then confirm with StatusRequests (as
 *     `owmesh status` does) that the coordinator recorded every ack;
 *  3. read the coordinator's resident memory (VmRSS, VmHWM) from /proc.
 *
 * usage: bench_coordinator [-x COORDINATOR] [N...]
 * COORDINATOR defaults to $OWMESH_COORDINATOR_BIN or
 * coordinator/owmesh-coordinator (run from the top of the build tree).
 */
#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "curve.h"
#include "meshconf.h"
#include "meshmsg.h"
#include "plan.h"

#define STATUS_BATCH 16

typedef struct sim_node {
    char name[24];
    zcert_t *cert;
    zsock_t *sock;
    int acked;
    size_t peer_health, peer_health_bytes; /* PeerHealth messages received */
    size_t last_down;                      /* nodes the last one listed down */
} sim_node;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_coordinator: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void raise_limits(size_t max_nodes)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < 3 * max_nodes + 100)
            fprintf(stderr, "bench_coordinator: descriptor limit %llu may be too low for %zu "
                    "nodes\n", (unsigned long long)rl.rlim_cur, max_nodes);
    }
    /* one DEALER per node plus the operator's, and czmq's internal sockets */
    zsys_set_max_sockets(max_nodes + 64);
}

static void write_mesh(const char *path, sim_node *nodes, size_t n)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        die("%s: %s", path, strerror(errno));
    fprintf(fp, "{\"nodes\": {\n");
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "  \"%s\": {\"address\": \"127.0.%zu.%zu\", \"owamp-port\": 8610, "
                "\"public-key\": \"%s\"}%s\n", nodes[i].name, 1 + i / 250, 1 + i % 250,
                zcert_public_txt(nodes[i].cert), i + 1 < n ? "," : "");
    fprintf(fp, "},\n\"groups\": {\"all\": {\"type\": \"mesh\", \"nodes\": [");
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "\"%s\"%s", nodes[i].name, i + 1 < n ? ", " : "");
    fprintf(fp, "]}},\n\"tests\": {\"owd\": {\"type\": \"latencybg\", \"packet-interval\": 0.1, "
            "\"packet-count\": 600, \"sub-session-count\": 60}},\n"
            "\"tasks\": {\"all-owd\": {\"group\": \"all\", \"test\": \"owd\"}}}\n");
    if (fclose(fp) != 0)
        die("%s: write failed", path);
}

/* Part 1: the computation alone, in this process. */
static void bench_compute(const char *mesh_path, size_t n)
{
    owp_err err = {0};
    double t0 = now_s();
    owm_mesh *mesh = owm_mesh_load(mesh_path, &err);
    if (!mesh)
        die("%s", err.msg);
    double t1 = now_s();
    owmc_plan *plan = owmc_plan_new(mesh, &err);
    if (!plan)
        die("%s", err.msg);
    double t2 = now_s();
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        owm_msg *env = owmc_plan_schedule(owmc_plan_node(plan, i), 1, &err);
        uint8_t *buf = NULL;
        size_t len = 0;
        if (!env || owm_msg_encode(env, &buf, &len, &err) != OWP_OK)
            die("schedule of node %zu: %s", i, err.msg);
        bytes += len;
        free(buf);
        owm_msg_free(&env);
    }
    double t3 = now_s();
    printf("  mesh load (parse, expand, stream ids)  %8.3f s\n", t1 - t0);
    printf("  plan (per-node schedules, digests)     %8.3f s\n", t2 - t1);
    printf("  build + encode all %5zu schedules     %8.3f s  (%.1f MB of messages)\n", n,
           t3 - t2, (double)bytes / 1e6);
    owmc_plan_destroy(&plan);
    owm_mesh_destroy(&mesh);
}

static pid_t start_coordinator(const char *bin, const char *dir, const char *endpoint)
{
    char mesh[600], cert[600], log[600];
    snprintf(mesh, sizeof mesh, "%s/mesh.json", dir);
    snprintf(cert, sizeof cert, "%s/coord_secret", dir);
    snprintf(log, sizeof log, "%s/coordinator.log", dir);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        FILE *fp = freopen(log, "w", stderr);
        (void)fp;
        execl(bin, bin, "-Z", "-c", mesh, "-k", cert, "-B", endpoint, "-t", "600", (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    /* ready when it logs that it listens */
    for (int i = 0; i < 6000; i++) {
        char *text = NULL;
        size_t cap = 0;
        FILE *fp = fopen(log, "r");
        int ready = 0;
        while (fp && getline(&text, &cap, fp) > 0)
            ready |= strstr(text, "listening on") != NULL;
        free(text);
        if (fp)
            fclose(fp);
        if (ready)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            die("coordinator exited at start-up; see %s", log);
        usleep(10000);
    }
    die("coordinator not listening after 60 s; see %s", log);
}

static void proc_memory(pid_t pid, double *rss_mb, double *hwm_mb)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *fp = fopen(path, "r");
    *rss_mb = *hwm_mb = -1;
    while (fp && fgets(line, sizeof line, fp)) {
        long kb;
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            *rss_mb = (double)kb / 1024.0;
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            *hwm_mb = (double)kb / 1024.0;
    }
    if (fp)
        fclose(fp);
}

static void send_env(zsock_t *sock, owm_msg *env)
{
    owp_err err = {0};
    zmsg_t *m = owm_msg_encode_zmsg(env, &err);
    if (!m || zmsg_send(&m, sock) != 0)
        die("send: %s", m ? zmq_strerror(zmq_errno()) : err.msg);
}

/* Part 2: N simulated nodes say Hello and ack what they are pushed. */
/* Receive one message of a simulated node; 1 when it was a PeerHealth
 * (counted), 0 with *out set otherwise. */
static int receive(sim_node *node, owm_msg **out)
{
    zmsg_t *m = zmsg_recv(node->sock);
    owp_err err = {0};
    size_t bytes = m ? zmsg_content_size(m) : 0;
    if (!m || owm_msg_decode_zmsg(m, out, NULL, &err) != OWP_OK)
        die("node %s: %s", node->name, err.msg);
    zmsg_destroy(&m);
    if ((*out)->kind != OWM_MSG_PEER_HEALTH)
        return 0;
    node->peer_health++;
    node->peer_health_bytes += bytes;
    node->last_down = (*out)->peer_health->n_down;
    owm_msg_free(out);
    return 1;
}

/* Part 2c: the PeerHealth messages still coming (the coordinator tells every
 * node once a tick when the set of down nodes changed). */
static void drain_peer_health(sim_node *nodes, size_t n, double seconds)
{
    double end = now_s() + seconds;
    while (now_s() < end) {
        for (size_t i = 0; i < n; i++) {
            owm_msg *env = NULL;
            while (zsock_events(nodes[i].sock) & ZMQ_POLLIN)
                if (!receive(&nodes[i], &env))
                    die("node %s: got %s", nodes[i].name, owm_msg_kind_name(env->kind));
        }
        usleep(20000);
    }
    size_t count = 0, bytes = 0, down = 0;
    for (size_t i = 0; i < n; i++) {
        count += nodes[i].peer_health;
        bytes += nodes[i].peer_health_bytes;
        down = nodes[i].last_down > down ? nodes[i].last_down : down;
    }
    printf("  PeerHealth to the nodes, hello to now  %8zu msgs (%.1f MB; %.1f per node; the "
           "last listed <= %zu down)\n", count, (double)bytes / 1e6, (double)count / (double)n, down);
}

static double bench_push(sim_node *nodes, size_t n, const char *endpoint, const char *server_key)
{
    for (size_t i = 0; i < n; i++) {
        nodes[i].sock = zsock_new(ZMQ_DEALER);
        if (!nodes[i].sock)
            die("node %zu: cannot create a socket: %s", i, zmq_strerror(zmq_errno()));
        zcert_apply(nodes[i].cert, nodes[i].sock);
        zsock_set_curve_serverkey(nodes[i].sock, server_key);
        zsock_set_linger(nodes[i].sock, 0);
        zsock_set_maxmsgsize(nodes[i].sock, (int64_t)OWM_MSG_MAX_SIZE + 1024);
        if (zsock_connect(nodes[i].sock, "%s", endpoint) != 0)
            die("node %zu: connect: %s", i, zmq_strerror(zmq_errno()));
    }
    zmq_pollitem_t *items = calloc(n, sizeof *items);
    if (!items)
        die("out of memory");
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        char owamp[64];
        snprintf(owamp, sizeof owamp, "127.0.%zu.%zu:8610", 1 + i / 250, 1 + i % 250);
        owp_err err = {0};
        owm_msg *hello = owm_msg_new_hello(nodes[i].name, "bench", owamp, "", 0, &err);
        if (!hello)
            die("%s", err.msg);
        send_env(nodes[i].sock, hello);
        owm_msg_free(&hello);
        items[i].socket = zsock_resolve(nodes[i].sock);
        items[i].events = ZMQ_POLLIN;
    }
    size_t acked = 0;
    while (acked < n) {
        int rc = zmq_poll(items, (int)n, 60000);
        if (rc <= 0)
            die("no schedule within 60 s (%zu of %zu nodes acked)", acked, n);
        for (size_t i = 0; i < n; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            owm_msg *env = NULL;
            owp_err err = {0};
            if (receive(&nodes[i], &env))
                continue;
            if (env->kind != OWM_MSG_SCHEDULE)
                die("node %s: got %s", nodes[i].name, owm_msg_kind_name(env->kind));
            if (env->schedule->n_streams != n - 1 || strcmp(env->schedule->node, nodes[i].name))
                die("node %s: schedule for %s with %zu streams", nodes[i].name,
                    env->schedule->node, env->schedule->n_streams);
            owm_msg *ack = owm_msg_new_schedule_ack(env->schedule->generation, 1, "",
                                                    &err);
            send_env(nodes[i].sock, ack);
            owm_msg_free(&ack);
            owm_msg_free(&env);
            if (!nodes[i].acked++)
                acked++;
        }
    }
    free(items);
    return now_s() - t0;
}

/* Part 2b: the coordinator recorded every ack (as `owmesh status` sees it). */
static double confirm_status(sim_node *nodes, size_t n, const char *endpoint, zcert_t *coord,
                             const char *server_key)
{
    zsock_t *op = zsock_new(ZMQ_DEALER);
    zcert_apply(coord, op);
    zsock_set_curve_serverkey(op, server_key);
    zsock_set_maxmsgsize(op, (int64_t)OWM_MSG_MAX_SIZE + 1024);
    if (zsock_connect(op, "%s", endpoint) != 0)
        die("operator connect failed");
    double t0 = now_s();
    size_t settled = 0;
    for (int round = 0; round < 100 && settled < n; round++) {
        settled = 0;
        for (size_t i = 0; i < n; i += STATUS_BATCH) {
            owp_err err = {0};
            owm_msg *req = owm_msg_new(OWM_MSG_STATUS_REQUEST, &err);
            for (size_t j = i; j < n && j < i + STATUS_BATCH; j++)
                owm_msg_status_request_add_node(req->status_request, nodes[j].name, &err);
            send_env(op, req);
            owm_msg_free(&req);
            zpoller_t *p = zpoller_new(op, NULL);
            if (!zpoller_wait(p, 30000))
                die("no StatusReply within 30 s");
            zpoller_destroy(&p);
            zmsg_t *m = zmsg_recv(op);
            owm_msg *env = NULL;
            if (owm_msg_decode_zmsg(m, &env, NULL, &err) != OWP_OK ||
                env->kind != OWM_MSG_STATUS_REPLY)
                die("bad StatusReply: %s", err.msg[0] ? err.msg : owm_msg_kind_name(env->kind));
            zmsg_destroy(&m);
            for (size_t k = 0; k < env->status_reply->n_nodes; k++) {
                const owm_msg_node_status *ns = env->status_reply->nodes[k];
                settled += ns->acked_generation == ns->expected_generation && ns->connected;
            }
            owm_msg_free(&env);
        }
        if (settled < n)
            usleep(100000);
    }
    zsock_destroy(&op);
    if (settled < n)
        die("coordinator records %zu of %zu nodes as acked", settled, n);
    return now_s() - t0;
}

static void bench_one(const char *bin, size_t n)
{
    char dir[] = "/tmp/bench_coordinator.XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp: %s", strerror(errno));
    printf("N = %zu nodes, full mesh: %zu streams\n", n, n * (n - 1));
    fflush(stdout);
    sim_node *nodes = calloc(n, sizeof *nodes);
    for (size_t i = 0; i < n; i++) {
        snprintf(nodes[i].name, sizeof nodes[i].name, "n%04zu", i);
        nodes[i].cert = zcert_new();
        if (!nodes[i].cert)
            die("zcert_new failed");
    }
    char path[600], key[OWM_CURVE_KEY_LEN + 1];
    owp_err err = {0};
    snprintf(path, sizeof path, "%s/coord", dir);
    if (owm_curve_generate(path, 0, "bench coordinator", key, &err) != OWP_OK)
        die("%s", err.msg);
    snprintf(path, sizeof path, "%s/coord_secret", dir);
    zcert_t *coord = owm_curve_load(path, 1, &err);
    snprintf(path, sizeof path, "%s/mesh.json", dir);
    write_mesh(path, nodes, n);
    bench_compute(path, n);

    zsock_t *probe = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(probe, "tcp://127.0.0.1:*");
    zsock_destroy(&probe);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    double t0 = now_s();
    pid_t pid = start_coordinator(bin, dir, endpoint);
    printf("  coordinator start (load, plan, bind)   %8.3f s\n", now_s() - t0);
    double rss0, hwm0;
    proc_memory(pid, &rss0, &hwm0);
    double push = bench_push(nodes, n, endpoint, key);
    printf("  hello -> every node pushed and acked   %8.3f s\n", push);
    double confirm = confirm_status(nodes, n, endpoint, coord, key);
    printf("  status of all nodes (batches of %d)    %8.3f s  (every ack recorded)\n",
           STATUS_BATCH, confirm);
    drain_peer_health(nodes, n, 2.5);
    double rss, hwm;
    proc_memory(pid, &rss, &hwm);
    printf("  coordinator memory: %.1f MB after loading, %.1f MB with %zu nodes connected "
           "(peak %.1f MB)\n", rss0, rss, n, hwm);
    fflush(stdout);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        zsock_destroy(&nodes[i].sock);
        zcert_destroy(&nodes[i].cert);
    }
    zcert_destroy(&coord);
    free(nodes);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_coordinator: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    const char *bin = getenv("OWMESH_COORDINATOR_BIN");
    if (!bin)
        bin = "coordinator/owmesh-coordinator";
    int c;
    while ((c = getopt(argc, argv, "x:h")) != -1) {
        switch (c) {
        case 'x': bin = optarg; break;
        default:
            fprintf(stderr, "usage: bench_coordinator [-x COORDINATOR] [N...]\n");
            return c == 'h' ? 0 : 1;
        }
    }
    size_t sizes[16], n_sizes = 0;
    for (int i = optind; i < argc && n_sizes < 16; i++) {
        long v = strtol(argv[i], NULL, 10);
        if (v < 2 || v > 1024)
            die("N must be 2-1024 (got %s)", argv[i]);
        sizes[n_sizes++] = (size_t)v;
    }
    if (!n_sizes) {
        sizes[n_sizes++] = 200;
        sizes[n_sizes++] = 1000;
    }
    size_t max_n = 0;
    for (size_t i = 0; i < n_sizes; i++)
        max_n = sizes[i] > max_n ? sizes[i] : max_n;
    raise_limits(max_n);
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < n_sizes; i++)
        bench_one(bin, sizes[i]);
    return 0;
}
