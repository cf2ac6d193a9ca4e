/* unmeasured.c - the unmeasured-interval file (see unmeasured.h). */
#include "unmeasured.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *token, *text;
} REASONS[OWM_UNMEASURED_NREASONS] = {
    [OWM_UNMEASURED_UNKNOWN] = {"unknown", "unknown"},
    [OWM_UNMEASURED_PEER_DOWN] = {"peer-down", "peer down"},
    [OWM_UNMEASURED_OWAMPD_REFUSED] = {"owampd-refused", "owampd refused"},
    [OWM_UNMEASURED_CONTROL_TIMEOUT] = {"control-timeout", "control timeout"},
    [OWM_UNMEASURED_UNREACHABLE] = {"unreachable", "unreachable"},
    [OWM_UNMEASURED_NODE_DOWN] = {"node-down", "node down"},
    [OWM_UNMEASURED_LOCAL_ERROR] = {"local-error", "local error"},
    [OWM_UNMEASURED_SPOOL_BUDGET] = {"spool-budget", "spool over budget"},
};

static int reason_ok(owm_unmeasured_reason r)
{
    return r >= OWM_UNMEASURED_UNKNOWN && r < OWM_UNMEASURED_NREASONS;
}

const char *owm_unmeasured_reason_token(owm_unmeasured_reason r)
{
    return REASONS[reason_ok(r) ? r : OWM_UNMEASURED_UNKNOWN].token;
}

const char *owm_unmeasured_reason_text(owm_unmeasured_reason r)
{
    return REASONS[reason_ok(r) ? r : OWM_UNMEASURED_UNKNOWN].text;
}

owm_unmeasured_reason owm_unmeasured_reason_parse(const char *s)
{
    for (int r = 0; r < OWM_UNMEASURED_NREASONS; r++)
        if (!strcmp(s, REASONS[r].token) || !strcmp(s, REASONS[r].text))
            return (owm_unmeasured_reason)r;
    return OWM_UNMEASURED_UNKNOWN;
}

/* Copy at most max bytes of src, control characters made '?'. */
static void clean_copy(char *dst, size_t max, const char *src)
{
    size_t n = 0;
    for (; src && src[n] && n < max; n++)
        dst[n] = (unsigned char)src[n] < 0x20 || src[n] == 0x7f ? '?' : src[n];
    dst[n] = '\0';
}

int owm_unmeasured_format(const owm_unmeasured *u, char *buf, size_t len)
{
    if (!owm_msg_token_ok(u->stream_id, OWM_MSG_MAX_ID) || u->end <= u->start ||
        !reason_ok(u->reason))
        return -1;
    char sender[OWM_MSG_MAX_ADDRESS + 1], detail[OWM_UNMEASURED_MAX_DETAIL + 1];
    clean_copy(sender, OWM_MSG_MAX_ADDRESS, u->sender);
    clean_copy(detail, OWM_UNMEASURED_MAX_DETAIL, u->detail);
    int n = snprintf(buf, len,
                     "owmesh-unmeasured %d\nstream %s\nstart %" PRIu64 "\nend %" PRIu64
                     "\nreason %s\nsender %s\ndetail %s\n",
                     OWM_UNMEASURED_VERSION, u->stream_id, (uint64_t)u->start, (uint64_t)u->end,
                     owm_unmeasured_reason_token(u->reason), sender, detail);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

/* ------------------------------------------------------------------ parsing */

typedef struct cursor {
    const char *p, *end;
    unsigned line;
} cursor;

/* The next line's value for key (copied into val, at most max bytes); 0 and
 * err set when the line is missing, has another key or is too long. */
static int take(cursor *c, const char *key, char *val, size_t max, owp_err *err)
{
    c->line++;
    const char *nl = c->p < c->end ? memchr(c->p, '\n', (size_t)(c->end - c->p)) : NULL;
    size_t klen = strlen(key);
    if (!nl) {
        owp_err_set(err, OWP_ERR_FORMAT, "unmeasured file: line %u: missing \"%s\" (file ends)",
                    c->line, key);
        return 0;
    }
    size_t n = (size_t)(nl - c->p);
    if (n < klen + 1 || memcmp(c->p, key, klen) != 0 || c->p[klen] != ' ') {
        owp_err_set(err, OWP_ERR_FORMAT, "unmeasured file: line %u: expected \"%s VALUE\"",
                    c->line, key);
        return 0;
    }
    size_t vlen = n - klen - 1;
    if (vlen > max) {
        owp_err_set(err, OWP_ERR_FORMAT, "unmeasured file: line %u: %s longer than %zu bytes",
                    c->line, key, max);
        return 0;
    }
    memcpy(val, c->p + klen + 1, vlen);
    val[vlen] = '\0';
    if (memchr(val, '\0', vlen)) {
        owp_err_set(err, OWP_ERR_FORMAT, "unmeasured file: line %u: %s holds a NUL byte", c->line,
                    key);
        return 0;
    }
    c->p = nl + 1;
    return 1;
}

static int take_u64(cursor *c, const char *key, uint64_t *out, owp_err *err)
{
    char v[24], *e;
    if (!take(c, key, v, 20, err))
        return 0;
    if (v[0] < '0' || v[0] > '9') {
        owp_err_set(err, OWP_ERR_FORMAT, "unmeasured file: line %u: %s: expected a number",
                    c->line, key);
        return 0;
    }
    *out = strtoull(v, &e, 10);
    if (*e) {
        owp_err_set(err, OWP_ERR_FORMAT, "unmeasured file: line %u: %s: expected a number",
                    c->line, key);
        return 0;
    }
    return 1;
}

owp_status owm_unmeasured_parse(const void *data, size_t len, owm_unmeasured *u, owp_err *err)
{
    memset(u, 0, sizeof *u);
    if (len > OWM_UNMEASURED_MAX_FILE)
        return owp_err_set(err, OWP_ERR_FORMAT, "unmeasured file: %zu bytes (at most %u)", len,
                           OWM_UNMEASURED_MAX_FILE);
    cursor c = {data, (const char *)data + len, 0};
    char version[8], reason[64];
    uint64_t start = 0, end = 0;
    if (!take(&c, "owmesh-unmeasured", version, sizeof version - 1, err))
        return err ? err->code : OWP_ERR_FORMAT;
    if (strcmp(version, "1") != 0)
        return owp_err_set(err, OWP_ERR_FORMAT, "unmeasured file: version %s (we read %d)",
                           version, OWM_UNMEASURED_VERSION);
    if (!take(&c, "stream", u->stream_id, OWM_MSG_MAX_ID, err) ||
        !take_u64(&c, "start", &start, err) || !take_u64(&c, "end", &end, err) ||
        !take(&c, "reason", reason, sizeof reason - 1, err) ||
        !take(&c, "sender", u->sender, OWM_MSG_MAX_ADDRESS, err) ||
        !take(&c, "detail", u->detail, OWM_UNMEASURED_MAX_DETAIL, err))
        return err ? err->code : OWP_ERR_FORMAT;
    if (!owm_msg_token_ok(u->stream_id, OWM_MSG_MAX_ID))
        return owp_err_set(err, OWP_ERR_FORMAT, "unmeasured file: line 2: stream: not a stream id");
    if (end <= start)
        return owp_err_set(err, OWP_ERR_FORMAT, "unmeasured file: line 4: end is not after start");
    u->start = start;
    u->end = end;
    u->reason = owm_unmeasured_reason_parse(reason);
    return OWP_OK;
}
