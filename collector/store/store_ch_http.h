/*
 * store_ch_http.h - the ClickHouse backend's small HTTP client (libcurl) and
 * the bytes it speaks: SQL text with literals escaped by us (ClickHouse 18.16
 * has no query parameters), RowBinary rows (little-endian integers, strings
 * as a LEB128 length and bytes), and ClickHouse's error bodies ("Code: N,
 * ..." in 18.16, "Code: N. DB::Exception: ..." in current releases).
 *
 * Every request is a POST (a GET is read-only in ClickHouse): a statement as
 * the body, or an INSERT ... FORMAT RowBinary in the URL with the rows as the
 * body. Reads ask wait_end_of_query=1, so an error in the middle of a result
 * is an HTTP error rather than text after rows. Connecting is bounded (5 s),
 * and so is every request (60 s by default, OWMESH_CLICKHOUSE_TIMEOUT
 * seconds when set): a stalled server never hangs a collector. The password
 * goes in the X-ClickHouse-Key header and is never part of a message.
 *
 * Not thread-safe: one client per store handle.
 */
#ifndef STORE_CH_HTTP_H
#define STORE_CH_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* ---- a growable byte buffer (SQL text, RowBinary rows, responses) ---- */
typedef struct ch_buf {
    uint8_t *data;
    size_t len, cap;
    int oom; /* an append failed: the buffer is incomplete */
} ch_buf;

void ch_buf_free(ch_buf *b);
void ch_buf_reset(ch_buf *b); /* empty, keeping the memory */
void ch_buf_put(ch_buf *b, const void *p, size_t n);
void ch_buf_printf(ch_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A NUL after the contents (not counted in len), so data is a C string. */
const char *ch_buf_str(ch_buf *b);
/* s as a single-quoted SQL string literal: backslash and quote escaped,
 * control bytes as \xNN (ClickHouse's string literal escapes). */
void ch_buf_sql_string(ch_buf *b, const char *s);
/* RowBinary values. */
void ch_buf_u8(ch_buf *b, uint8_t v);
void ch_buf_u16(ch_buf *b, uint16_t v);
void ch_buf_u32(ch_buf *b, uint32_t v);
void ch_buf_u64(ch_buf *b, uint64_t v);
void ch_buf_bytes(ch_buf *b, const void *p, size_t n); /* String: LEB128 length + bytes */

/* ---- reading RowBinary ---- */
typedef struct ch_reader {
    const uint8_t *p, *end;
    int bad; /* a read went past the end: the values read are 0 */
} ch_reader;

static inline ch_reader ch_reader_of(const ch_buf *b)
{
    return (ch_reader){b->data, b->data + b->len, 0};
}
static inline int ch_reader_done(const ch_reader *r) { return r->bad || r->p >= r->end; }
uint8_t ch_rd_u8(ch_reader *r);
uint16_t ch_rd_u16(ch_reader *r);
uint32_t ch_rd_u32(ch_reader *r);
uint64_t ch_rd_u64(ch_reader *r);
/* A String: *s points into the buffer (not NUL-terminated), *n its length. */
void ch_rd_bytes(ch_reader *r, const uint8_t **s, size_t *n);
/* A String copied NUL-terminated into buf (cut to cap - 1 bytes). */
void ch_rd_str(ch_reader *r, char *buf, size_t cap);
/* n raw bytes (a FixedString(n)). */
void ch_rd_fixed(ch_reader *r, uint8_t *out, size_t n);

/* ---- errors ---- */
/* Parse a ClickHouse error body: 1 with *code and a one-line text (no
 * "e.displayText() = ", "DB::Exception: ", stack or version) when it starts
 * with "Code: N"; 0 otherwise. */
int ch_error_parse(const char *body, size_t len, int *code, char *text, size_t text_len);
/* Does the error say the server is out of disk space? */
int ch_error_is_no_space(int code, const char *text);

/* ---- the client ---- */
typedef struct ch_http ch_http;

typedef struct ch_http_conf {
    int https;
    const char *host; /* a name, an IPv4 address or an IPv6 address without brackets */
    unsigned port;
    const char *user, *password;
    const char *label; /* "clickhouse://HOST:PORT/DB", the prefix of every message */
    long timeout;      /* seconds per request; 0 = the default (60) */
} ch_http_conf;

ch_http *ch_http_new(const ch_http_conf *conf, owp_err *err);
void ch_http_destroy(ch_http **self_p);

/* Run one statement (sql, NUL-terminated); its answer replaces out's contents
 * (out may be NULL). Errors: "store LABEL: WHAT: ClickHouse error N: TEXT",
 * "store LABEL: WHAT: cannot connect: CURL ERROR", "... HTTP 401: ..." for a
 * refused user; *no_space set when ClickHouse says its disk is full. */
owp_status ch_http_exec(ch_http *self, const char *what, const char *sql, ch_buf *out,
                        int *no_space, owp_err *err);
/* Insert rows: statement is "INSERT INTO db.t (cols) FORMAT RowBinary". */
owp_status ch_http_insert(ch_http *self, const char *what, const char *statement,
                          const ch_buf *rows, int *no_space, owp_err *err);

#endif
