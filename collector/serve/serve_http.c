/*
 * serve_http.c - the HTTP side of `owmesh serve`, on libmicrohttpd: the
 * listening socket (loopback unless asked), the limits that keep a slow or
 * hostile client from stalling the server (connections in all and per
 * address, a per-connection timeout, a memory bound on the request line
 * and headers, URL and query-string bounds), optional TLS and basic auth,
 * and the replies of serve_app.c with headers that keep a browser from
 * running anything but our own files.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

struct serve_http {
    struct MHD_Daemon *daemon;
    serve_app *app;
    serve_auth *auth;
    char *cert, *key; /* PEM, kept for the daemon's lifetime */
    int verbose;
};

void serve_http_opts_default(serve_http_opts *o)
{
    memset(o, 0, sizeof *o);
    o->listen = SERVE_DEFAULT_LISTEN;
    o->max_connections = 64;
    o->per_ip = 16;
    o->timeout_s = 30;
    o->memory_limit = 32 * 1024;
}

/* ---- the listening address ---- */

static owp_status parse_port(const char *text, uint16_t *port, owp_err *err)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (!*text || *end || errno || v > 65535)
        return owp_err_set(err, OWP_ERR_PARSE, "--listen: bad port \"%s\" (0 to 65535)", text);
    *port = (uint16_t)v;
    return OWP_OK;
}

owp_status serve_listen_parse(const char *text, struct sockaddr_storage *sa, socklen_t *len,
                              int *loopback, owp_err *err)
{
    char host[128];
    const char *port;
    memset(sa, 0, sizeof *sa);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof host)
            return owp_err_set(err, OWP_ERR_PARSE, "--listen: expected [ADDR]:PORT, got \"%s\"",
                               text);
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port = close + 2;
    } else if (strchr(text, ':')) {
        const char *colon = strrchr(text, ':');
        if ((size_t)(colon - text) >= sizeof host || strchr(text, ':') != colon)
            return owp_err_set(err, OWP_ERR_PARSE,
                               "--listen: expected ADDR:PORT or [ADDR]:PORT, got \"%s\"", text);
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
        port = colon + 1;
    } else {
        snprintf(host, sizeof host, "127.0.0.1");
        port = text;
    }
    uint16_t p;
    if (parse_port(port, &p, err) != OWP_OK)
        return err->code;
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(p);
        *len = sizeof *v4;
        *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(p);
        *len = sizeof *v6;
        *loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
    } else {
        return owp_err_set(err, OWP_ERR_PARSE,
                           "--listen: \"%s\" is not a numeric IPv4 or IPv6 address", host);
    }
    return OWP_OK;
}

/* ---- one request ---- */

typedef struct collect {
    serve_params params;
    owp_err err;
    int failed;
} collect;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    collect *c = cls;
    (void)kind;
    if (!c->failed && serve_params_add(&c->params, key, value, &c->err) != OWP_OK)
        c->failed = 1;
    return c->failed ? MHD_NO : MHD_YES;
}

static void add_headers(struct MHD_Response *r, const char *type)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                            "frame-ancestors 'none'");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result queue(struct MHD_Connection *conn, const serve_http *self,
                             serve_reply *reply, const char *method, const char *url)
{
    struct MHD_Response *r;
    if (reply->body_static)
        r = MHD_create_response_from_buffer(reply->len, reply->body, MHD_RESPMEM_PERSISTENT);
    else
        r = MHD_create_response_from_buffer(reply->len, reply->body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        serve_reply_free(reply);
        return MHD_NO;
    }
    reply->body = NULL; /* the response owns it now */
    add_headers(r, reply->content_type);
    if (reply->status == 405)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(conn, reply->status, r);
    MHD_destroy_response(r);
    if (self->verbose)
        fprintf(stderr, "owmesh serve: %s %s %u %zu\n", method, url, reply->status, reply->len);
    return ok;
}

static enum MHD_Result refuse(struct MHD_Connection *conn, const serve_http *self,
                              unsigned status, const char *why, const char *method,
                              const char *url)
{
    serve_reply reply = {0};
    char *body = NULL;
    if (asprintf(&body, "{\n  \"error\": \"%s\",\n  \"status\": %u\n}\n", why, status) < 0)
        return MHD_NO;
    reply.status = status;
    reply.content_type = "application/json";
    reply.body = body;
    reply.len = strlen(body);
    return queue(conn, self, &reply, method, url);
}

static int authorized(const serve_http *self, struct MHD_Connection *conn)
{
    if (!self->auth)
        return 1;
    char *password = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &password);
    int ok = serve_auth_check(self->auth, user, password);
    if (password)
        explicit_bzero(password, strlen(password));
    MHD_free(user);
    MHD_free(password);
    return ok;
}

static enum MHD_Result ask_auth(struct MHD_Connection *conn, const serve_http *self)
{
    static const char body[] = "{\n  \"error\": \"authentication required\",\n"
                               "  \"status\": 401\n}\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)(uintptr_t)body,
                                        MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    add_headers(r, "application/json");
    enum MHD_Result ok = MHD_queue_basic_auth_fail_response(conn, "owmesh", r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    serve_http *self = cls;
    (void)version;
    (void)upload_data;
    if (!*con_cls) { /* first call: headers only; answer on the next */
        *con_cls = self;
        return MHD_YES;
    }
    if (*upload_data_size) /* a body: nothing here takes one */
        return refuse(conn, self, 413, "no request body is taken", method, url);
    if (!authorized(self, conn))
        return ask_auth(conn, self);
    if (strlen(url) > SERVE_MAX_URL)
        return refuse(conn, self, 414, "URL too long", method, url);
    collect c = {0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c);
    if (c.failed)
        return refuse(conn, self, 400, "bad query string", method, url);
    serve_reply reply;
    serve_app_handle(self->app, method, url, &c.params, &reply);
    /* HEAD: libmicrohttpd sends the headers of the GET reply, no body. */
    return queue(conn, self, &reply, method, url);
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("owmesh serve: ", stderr);
    vfprintf(stderr, fmt, ap);
}

static char *read_pem(const char *file, owp_err *err)
{
    FILE *fp = fopen(file, "r");
    if (!fp) {
        owp_err_sys(err, "%s", file);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while (out && (n = fread(chunk, 1, sizeof chunk, fp)) > 0 && len < 1024 * 1024)
        fwrite(chunk, 1, n, out);
    int bad = ferror(fp);
    fclose(fp);
    if (!out || fclose(out) != 0 || bad || len == 0) {
        free(buf);
        owp_err_set(err, OWP_ERR_INVALID, "%s: empty or unreadable", file);
        return NULL;
    }
    return buf;
}

static owp_status load_tls(serve_http *self, const serve_http_opts *o, owp_err *err)
{
    if (!o->tls_cert && !o->tls_key)
        return OWP_OK;
    if (!o->tls_cert || !o->tls_key)
        return owp_err_set(err, OWP_ERR_INVALID, "--tls-cert and --tls-key go together");
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return owp_err_set(err, OWP_ERR_INVALID, "this libmicrohttpd was built without TLS");
    if (!(self->cert = read_pem(o->tls_cert, err)) || !(self->key = read_pem(o->tls_key, err)))
        return err->code;
    return OWP_OK;
}

serve_http *serve_http_start(serve_app *app, const serve_http_opts *o, owp_err *err)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    int loopback;
    if (serve_listen_parse(o->listen, &sa, &salen, &loopback, err) != OWP_OK)
        return NULL;
    if (!loopback && !o->allow_remote) {
        owp_err_set(err, OWP_ERR_INVALID,
                    "--listen %s: not a loopback address; serving other hosts needs "
                    "--allow-remote (and should use --auth and --tls-cert/--tls-key)",
                    o->listen);
        return NULL;
    }
    serve_http *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->app = app;
    self->verbose = o->verbose;
    if ((o->auth_file && !(self->auth = serve_auth_load(o->auth_file, err))) ||
        load_tls(self, o, err) != OWP_OK) {
        serve_http_stop(&self);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (o->no_listen)
        flags |= MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    if (self->cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls[] = {
        {self->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, self->cert},
        {self->cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, self->key},
        {MHD_OPTION_END, 0, NULL}};
    self->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, self, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, o->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        o->per_ip, MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->memory_limit, MHD_OPTION_ARRAY, tls,
        MHD_OPTION_END);
    if (!self->daemon) {
        owp_err_sys(err, "--listen %s: cannot serve", o->listen);
        serve_http_stop(&self);
        return NULL;
    }
    return self;
}

owp_status serve_http_add(serve_http *self, int fd, owp_err *err)
{
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    if (MHD_add_connection(self->daemon, fd, (struct sockaddr *)&peer, sizeof peer) != MHD_YES)
        return owp_err_set(err, OWP_ERR_REFUSED, "connection not taken (limits)");
    return OWP_OK;
}

unsigned serve_http_port(const serve_http *self)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

void serve_http_stop(serve_http **self_p)
{
    if (!self_p || !*self_p)
        return;
    serve_http *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    serve_auth_destroy(&self->auth);
    if (self->key)
        explicit_bzero(self->key, strlen(self->key));
    free(self->cert);
    free(self->key);
    free(self);
    *self_p = NULL;
}
