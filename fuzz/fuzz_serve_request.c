/*
 * fuzz_serve_request.c - owmesh serve's request handling under ASan: the
 * input is the raw bytes a client sends (request line, path, query string,
 * headers, an Authorization header, a body), written to a socket that the
 * server (libmicrohttpd with serve_http.c, serve_route.c and serve_app.c,
 * basic auth on) serves as a real connection; the reply is read to its end.
 * The mesh, store and auth file are made once in a temporary directory.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve.h"

static serve_app *app;
static serve_http *http;

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0 || chmod(path, mode) != 0)
        abort();
}

static char dir[] = "/tmp/fuzz_serve.XXXXXX";

/* At exit: the server stopped, the temporary directory gone. */
static void cleanup(void)
{
    serve_http_stop(&http);
    serve_app_destroy(&app);
    const char *files[] = {"mesh.json", "auth", "store/data.mdb", "store/lock.mdb", "store"};
    char path[300];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
}

static void setup(void)
{
    if (!mkdtemp(dir))
        abort();
    atexit(cleanup);
    static char mesh[256], store[256], auth[256]; /* the server keeps them */
    snprintf(mesh, sizeof mesh, "%s/mesh.json", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(auth, sizeof auth, "%s/auth", dir);
    write_file(mesh,
               "{\"nodes\": {\"a\": {\"address\": \"127.0.0.2\"}, \"b\": {\"address\": "
               "\"127.0.0.3\"}}, \"groups\": {\"g\": {\"type\": \"mesh\", \"nodes\": [\"a\", "
               "\"b\"]}}, \"tests\": {\"owd\": {\"type\": \"latencybg\"}}, \"tasks\": {\"t\": "
               "{\"group\": \"g\", \"test\": \"owd\"}}}\n",
               0600);
    write_file(auth, "noc:secret\n", 0600);
    if (mkdir(store, 0700) != 0)
        abort();
    owp_err err = {0};
    store_db *db = store_open(store, NULL, &err);
    if (!db)
        abort();
    store_close(&db);
    serve_app_opts ao = {.mesh_path = mesh, .store = store,
                         .now = "2025-12-06T02:00:00Z", .metrics_window_s = 300};
    app = serve_app_new(&ao, &err);
    serve_http_opts ho;
    serve_http_opts_default(&ho);
    ho.listen = "127.0.0.1:0";
    ho.no_listen = 1;
    ho.timeout_s = 1;
    ho.auth_file = auth;
    http = app ? serve_http_start(app, &ho, &err) : NULL;
    if (!http) {
        fprintf(stderr, "fuzz_serve_request: %s\n", err.msg);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!http)
        setup();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    owp_err err = {0};
    if (serve_http_add(http, sv[1], &err) != OWP_OK) {
        close(sv[0]);
        return 0;
    }
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(sv[0], data + off, size - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(sv[0], SHUT_WR);
    char buf[65536];
    struct pollfd pfd = {.fd = sv[0], .events = POLLIN};
    /* A complete request is answered within milliseconds; an incomplete one
     * waits for the server's timeout, which this does not wait for. */
    while (poll(&pfd, 1, 200) > 0 && read(sv[0], buf, sizeof buf) > 0)
        ;
    close(sv[0]);
    return 0;
}
