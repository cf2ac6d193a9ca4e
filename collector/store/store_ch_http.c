/*
 * store_ch_http.c - the ClickHouse backend's HTTP client and byte codecs
 * (store_ch_http.h).
 */
#include "store_ch_http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT 5L
#define DEFAULT_TIMEOUT 60L
#define TIMEOUT_ENV "OWMESH_CLICKHOUSE_TIMEOUT"
/* A query naming thousands of paths is longer than ClickHouse's default
 * max_query_size (256 KiB). */
/* insert_distributed_sync: an insert into a Distributed table (a cluster
 * store) returns once every shard has its rows, so the cursor that follows
 * never runs ahead of them; a no-op elsewhere. */
#define URL_SETTINGS "wait_end_of_query=1&max_query_size=67108864&insert_distributed_sync=1"

/* ---- buffers ---- */

void ch_buf_free(ch_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void ch_buf_reset(ch_buf *b)
{
    b->len = 0;
    b->oom = 0;
}

static int grow(ch_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t want = b->cap ? b->cap : 4096;
    while (want < b->len + extra + 1) {
        if (want > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        want *= 2;
    }
    uint8_t *p = realloc(b->data, want);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = want;
    return 0;
}

void ch_buf_put(ch_buf *b, const void *p, size_t n)
{
    if (n == 0 || grow(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void ch_buf_printf(ch_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        ch_buf_put(b, small, (size_t)n);
        return;
    }
    if (grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *ch_buf_str(ch_buf *b)
{
    if (grow(b, 0))
        return "";
    b->data[b->len] = 0;
    return (const char *)b->data;
}

void ch_buf_sql_string(ch_buf *b, const char *s)
{
    ch_buf_put(b, "'", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == '\'') {
            char esc[2] = {'\\', (char)*p};
            ch_buf_put(b, esc, 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            ch_buf_printf(b, "\\x%02X", *p);
        } else {
            ch_buf_put(b, p, 1);
        }
    }
    ch_buf_put(b, "'", 1);
}

void ch_buf_u8(ch_buf *b, uint8_t v) { ch_buf_put(b, &v, 1); }

void ch_buf_u16(ch_buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    ch_buf_put(b, p, 2);
}

void ch_buf_u32(ch_buf *b, uint32_t v)
{
    uint8_t p[4];
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    ch_buf_put(b, p, 4);
}

void ch_buf_u64(ch_buf *b, uint64_t v)
{
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    ch_buf_put(b, p, 8);
}

void ch_buf_bytes(ch_buf *b, const void *p, size_t n)
{
    uint8_t len[10];
    size_t k = 0;
    uint64_t v = n;
    do {
        len[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    ch_buf_put(b, len, k);
    ch_buf_put(b, p, n);
}

/* ---- reading ---- */

static const uint8_t *take(ch_reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static uint64_t take_le(ch_reader *r, size_t n)
{
    const uint8_t *p = take(r, n);
    uint64_t v = 0;
    for (size_t i = 0; p && i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t ch_rd_u8(ch_reader *r) { return (uint8_t)take_le(r, 1); }
uint16_t ch_rd_u16(ch_reader *r) { return (uint16_t)take_le(r, 2); }
uint32_t ch_rd_u32(ch_reader *r) { return (uint32_t)take_le(r, 4); }
uint64_t ch_rd_u64(ch_reader *r) { return take_le(r, 8); }

void ch_rd_bytes(ch_reader *r, const uint8_t **s, size_t *n)
{
    uint64_t len = 0;
    for (int shift = 0;; shift += 7) {
        const uint8_t *p = take(r, 1);
        if (!p || shift > 56) {
            r->bad = 1;
            *s = NULL;
            *n = 0;
            return;
        }
        len |= (uint64_t)(*p & 0x7f) << shift;
        if (!(*p & 0x80))
            break;
    }
    *s = take(r, (size_t)len);
    *n = *s ? (size_t)len : 0;
}

void ch_rd_str(ch_reader *r, char *buf, size_t cap)
{
    const uint8_t *s;
    size_t n;
    ch_rd_bytes(r, &s, &n);
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(buf, s, n);
    buf[n] = 0;
}

void ch_rd_fixed(ch_reader *r, uint8_t *out, size_t n)
{
    const uint8_t *p = take(r, n);
    if (p)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
}

/* ---- errors ---- */

static const char *skip_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) ? s : s + n;
}

int ch_error_parse(const char *body, size_t len, int *code, char *text, size_t text_len)
{
    char head[1024];
    size_t n = len < sizeof head - 1 ? len : sizeof head - 1;
    memcpy(head, body, n);
    head[n] = 0;
    if (strncmp(head, "Code: ", 6) || !isdigit((unsigned char)head[6]))
        return 0;
    char *end;
    long c = strtol(head + 6, &end, 10);
    *code = (int)c;
    const char *p = end;
    while (*p == ',' || *p == '.' || *p == ' ')
        p++;
    p = skip_prefix(p, "e.displayText() = ");
    p = skip_prefix(p, "DB::Exception: ");
    size_t keep = strcspn(p, "\r\n");
    const char *what = strstr(p, ", e.what() = ");
    if (what && (size_t)(what - p) < keep)
        keep = (size_t)(what - p);
    const char *version = strstr(p, " (version ");
    if (version && (size_t)(version - p) < keep)
        keep = (size_t)(version - p);
    while (keep && (p[keep - 1] == ' ' || p[keep - 1] == '.'))
        keep--;
    if (keep >= text_len)
        keep = text_len - 1;
    memcpy(text, p, keep);
    text[keep] = 0;
    return 1;
}

int ch_error_is_no_space(int code, const char *text)
{
    return code == 243 /* NOT_ENOUGH_SPACE */ || strstr(text, "No space left on device") ||
           strstr(text, "Not enough space") || strstr(text, "not enough space");
}

/* ---- the client ---- */

struct ch_http {
    CURL *curl;
    struct curl_slist *headers;
    char *base_url; /* "http://HOST:PORT/?settings" */
    char *label;
    long timeout;
    ch_buf url;
    char curl_error[CURL_ERROR_SIZE];
};

static long timeout_from_env(long conf)
{
    const char *text = getenv(TIMEOUT_ENV);
    if (text && *text) {
        char *end;
        long v = strtol(text, &end, 10);
        if (!*end && v > 0)
            return v;
    }
    return conf > 0 ? conf : DEFAULT_TIMEOUT;
}

/* Header values end at the line: a user or password with CR/LF is refused
 * when the URL is parsed, so this only joins. */
static struct curl_slist *auth_headers(const ch_http_conf *conf)
{
    ch_buf h = {0};
    struct curl_slist *list = NULL, *next;
    ch_buf_printf(&h, "X-ClickHouse-User: %s", conf->user && *conf->user ? conf->user : "default");
    list = curl_slist_append(NULL, ch_buf_str(&h));
    if (list && conf->password && *conf->password) {
        ch_buf_reset(&h);
        ch_buf_printf(&h, "X-ClickHouse-Key: %s", conf->password);
        next = curl_slist_append(list, ch_buf_str(&h));
        if (!next) {
            curl_slist_free_all(list);
            list = NULL;
        } else {
            list = next;
        }
        if (h.data)
            memset(h.data, 0, h.cap); /* the password leaves no copy behind */
    }
    if (list && (next = curl_slist_append(list, "Content-Type: application/octet-stream")))
        list = next;
    int oom = h.oom;
    ch_buf_free(&h);
    if (oom) {
        curl_slist_free_all(list);
        return NULL;
    }
    return list;
}

ch_http *ch_http_new(const ch_http_conf *conf, owp_err *err)
{
    ch_http *self = calloc(1, sizeof *self);
    if (!self || !(self->label = strdup(conf->label))) {
        free(self);
        owp_err_set(err, OWP_ERR_NOMEM, "store %s: out of memory", conf->label);
        return NULL;
    }
    ch_buf url = {0};
    int v6 = strchr(conf->host, ':') != NULL;
    ch_buf_printf(&url, "%s://%s%s%s:%u/?" URL_SETTINGS, conf->https ? "https" : "http",
                  v6 ? "[" : "", conf->host, v6 ? "]" : "", conf->port);
    self->base_url = url.oom ? NULL : strdup(ch_buf_str(&url));
    ch_buf_free(&url);
    self->timeout = timeout_from_env(conf->timeout);
    self->curl = curl_easy_init();
    self->headers = auth_headers(conf);
    if (!self->base_url || !self->curl || !self->headers) {
        owp_err_set(err, OWP_ERR_NOMEM, "store %s: cannot set up the HTTP client", conf->label);
        ch_http_destroy(&self);
        return NULL;
    }
    return self;
}

void ch_http_destroy(ch_http **self_p)
{
    ch_http *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    if (self->curl)
        curl_easy_cleanup(self->curl);
    curl_slist_free_all(self->headers);
    ch_buf_free(&self->url);
    free(self->base_url);
    free(self->label);
    free(self);
    *self_p = NULL;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
    ch_buf *b = arg;
    ch_buf_put(b, data, size * nmemb);
    return b->oom ? 0 : size * nmemb;
}

/* Fill err from a failed answer: ClickHouse's own message when the body has one. */
static owp_status answer_error(ch_http *self, const char *what, long status, ch_buf *body,
                               int *no_space, owp_err *err)
{
    int code;
    char text[400];
    if (ch_error_parse((const char *)body->data, body->len, &code, text, sizeof text)) {
        if (no_space && ch_error_is_no_space(code, text)) {
            *no_space = 1;
            return owp_err_set(err, OWP_ERR_SYS, "store %s: %s: ClickHouse is out of disk space "
                               "(nothing of it was stored; free space on the server): "
                               "ClickHouse error %d: %s", self->label, what, code, text);
        }
        return owp_err_set(err, status == 401 || status == 403 ? OWP_ERR_REFUSED : OWP_ERR_PROTO,
                           "store %s: %s: ClickHouse error %d: %s", self->label, what, code,
                           text);
    }
    size_t n = strcspn((const char *)body->data, "\r\n");
    return owp_err_set(err, status == 401 || status == 403 ? OWP_ERR_REFUSED : OWP_ERR_PROTO,
                       "store %s: %s: HTTP %ld: %.*s", self->label, what, status,
                       (int)(n > 200 ? 200 : n), (const char *)body->data);
}

static owp_status post(ch_http *self, const char *what, const char *url, const void *body,
                       size_t len, ch_buf *out, int *no_space, owp_err *err)
{
    ch_buf scratch = {0};
    ch_buf *answer = out ? out : &scratch;
    ch_buf_reset(answer);
    CURL *c = self->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, self->headers);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, self->timeout);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, self->curl_error);
    self->curl_error[0] = 0;
    CURLcode rc = curl_easy_perform(c);
    owp_status st = OWP_OK;
    long status = 0;
    if (rc != CURLE_OK) {
        const char *why = self->curl_error[0] ? self->curl_error : curl_easy_strerror(rc);
        if (answer->oom)
            st = owp_err_set(err, OWP_ERR_NOMEM, "store %s: %s: out of memory for the answer",
                             self->label, what);
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            st = owp_err_set(err, OWP_ERR_TIMEOUT, "store %s: %s: no answer within %ld s: %s",
                             self->label, what, self->timeout, why);
        else
            st = owp_err_set(err, OWP_ERR_SYS, "store %s: %s: cannot connect: %s", self->label,
                             what, why);
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        ch_buf_str(answer);
        if (status != 200)
            st = answer_error(self, what, status, answer, no_space, err);
    }
    ch_buf_free(&scratch);
    return st;
}

owp_status ch_http_exec(ch_http *self, const char *what, const char *sql, ch_buf *out,
                        int *no_space, owp_err *err)
{
    return post(self, what, self->base_url, sql, strlen(sql), out, no_space, err);
}

owp_status ch_http_insert(ch_http *self, const char *what, const char *statement,
                          const ch_buf *rows, int *no_space, owp_err *err)
{
    if (rows->oom)
        return owp_err_set(err, OWP_ERR_NOMEM, "store %s: %s: out of memory", self->label, what);
    char *q = curl_easy_escape(self->curl, statement, 0);
    if (!q)
        return owp_err_set(err, OWP_ERR_NOMEM, "store %s: %s: out of memory", self->label, what);
    ch_buf_reset(&self->url);
    ch_buf_printf(&self->url, "%s&query=%s", self->base_url, q);
    curl_free(q);
    if (self->url.oom)
        return owp_err_set(err, OWP_ERR_NOMEM, "store %s: %s: out of memory", self->label, what);
    return post(self, what, ch_buf_str(&self->url), rows->data ? rows->data : (const uint8_t *)"",
                rows->len, NULL, no_space, err);
}
