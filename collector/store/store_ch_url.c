/*
 * store_ch_url.c - the ClickHouse store's location: its URL, the password
 * file, and the stable hashes that key paths and sessions (store_ch.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_ch.h"

/* ---- URL ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode [s, s + n) into out (cap bytes): -1 when malformed, too
 * long, or holding a control byte (it would end an HTTP header). */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
            if (a < 0 || b < 0)
                return -1;
            c = a * 16 + b;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || k + 1 >= cap)
            return -1;
        out[k++] = (char)c;
    }
    out[k] = 0;
    return 0;
}

static owp_status parse_userinfo(const char *s, size_t n, ch_url *u, const char *scheme,
                                 owp_err *err)
{
    const char *colon = memchr(s, ':', n);
    size_t ulen = colon ? (size_t)(colon - s) : n;
    if (ulen == 0 || decode(s, ulen, u->user, sizeof u->user))
        return owp_err_set(err, OWP_ERR_PARSE,
                           "store %s://...: the user before '@' is empty, malformed or longer "
                           "than %d bytes", scheme, CH_USER_MAX);
    if (colon) {
        u->has_password = 1;
        if (decode(colon + 1, n - ulen - 1, u->password, sizeof u->password))
            return owp_err_set(err, OWP_ERR_PARSE,
                               "store %s://%s@...: the password is malformed (percent-encode "
                               "'@', '/', '?' and '%%') or longer than %d bytes",
                               scheme, u->user, CH_PASSWORD_MAX);
    }
    return OWP_OK;
}

static owp_status parse_port(const char *s, size_t n, ch_url *u, const char *where,
                             owp_err *err)
{
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]) || v > 65535)
            return owp_err_set(err, OWP_ERR_PARSE, "store %s: the port is not a number", where);
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (n == 0)
        return owp_err_set(err, OWP_ERR_PARSE, "store %s: no port (HOST:PORT, ClickHouse's HTTP "
                           "port, e.g. 8123)", where);
    if (v == 0 || v > 65535)
        return owp_err_set(err, OWP_ERR_PARSE, "store %s: port %lu is not in 1-65535", where, v);
    u->port = (unsigned)v;
    return OWP_OK;
}

/* HOST:PORT, HOST an [IPv6] literal or a name/IPv4 address. */
owp_status store_ch_parse_hostport(const char *s, size_t n, ch_url *u, const char *where,
                                   owp_err *err)
{
    const char *host = s, *rest;
    size_t hlen;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return owp_err_set(err, OWP_ERR_PARSE, "store %s: '[' of an IPv6 host without ']'",
                               where);
        host = s + 1;
        hlen = (size_t)(close - host);
        rest = close + 1;
        if (hlen == 0 || strspn(host, "0123456789abcdefABCDEF:.") < hlen)
            return owp_err_set(err, OWP_ERR_PARSE, "store %s: [%.*s] is not an IPv6 address",
                               where, (int)hlen, host);
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)))
            return owp_err_set(err, OWP_ERR_PARSE, "store %s: an IPv6 address goes in brackets "
                               "([::1]:8123)", where);
        hlen = colon ? (size_t)(colon - s) : n;
        rest = s + hlen;
        for (size_t i = 0; i < hlen; i++)
            if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
                return owp_err_set(err, OWP_ERR_PARSE, "store %s: the host has a '%c' (an IPv6 "
                                   "address goes in brackets: [::1]:8123)", where, s[i]);
    }
    if (hlen == 0)
        return owp_err_set(err, OWP_ERR_PARSE, "store %s: no host", where);
    if (hlen > CH_HOST_MAX)
        return owp_err_set(err, OWP_ERR_PARSE, "store %s: the host is longer than %d bytes",
                           where, CH_HOST_MAX);
    memcpy(u->host, host, hlen);
    u->host[hlen] = 0;
    size_t left = n - (size_t)(rest - s);
    if (left == 0 || rest[0] != ':')
        return owp_err_set(err, OWP_ERR_PARSE, "store %s: no port (HOST:PORT, ClickHouse's HTTP "
                           "port, e.g. 8123)", where);
    return parse_port(rest + 1, left - 1, u, where, err);
}

static owp_status parse_database(const char *s, size_t n, ch_url *u, const char *where,
                                 owp_err *err)
{
    if (n == 0)
        return owp_err_set(err, OWP_ERR_PARSE, "store %s: no database (.../DATABASE)", where);
    if (n > CH_DB_MAX)
        return owp_err_set(err, OWP_ERR_PARSE, "store %s: the database name is longer than %d "
                           "bytes", where, CH_DB_MAX);
    for (size_t i = 0; i < n; i++)
        if (!(isalpha((unsigned char)s[i]) || s[i] == '_' ||
              (i > 0 && isdigit((unsigned char)s[i]))))
            return owp_err_set(err, OWP_ERR_PARSE, "store %s: database \"%.*s\" is not a name "
                               "of letters, digits and '_' (not starting with a digit)",
                               where, (int)n, s);
    memcpy(u->database, s, n);
    u->database[n] = 0;
    return OWP_OK;
}

/* One NAME=VALUE parameter of the URL's query. */
static owp_status parse_param(const char *s, size_t n, ch_url *u, const char *where, owp_err *err)
{
    static const char pwfile[] = "password_file=", cluster[] = "cluster=", shards[] = "shards=";
    if (n > sizeof shards - 1 && !strncmp(s, shards, sizeof shards - 1)) {
        s += sizeof shards - 1;
        n -= sizeof shards - 1;
        if (n >= sizeof u->shards)
            return owp_err_set(err, OWP_ERR_PARSE, "store %s: shards: too long", where);
        for (size_t a = 0; a < n;) { /* each HOST:PORT as the URL's own */
            size_t k = strcspn(s + a, ",");
            k = k < n - a ? k : n - a;
            ch_url one;
            owp_status st = store_ch_parse_hostport(s + a, k, &one, where, err);
            if (st)
                return st;
            a += k + 1;
        }
        memcpy(u->shards, s, n);
        u->shards[n] = 0;
        return OWP_OK;
    }
    if (n > sizeof pwfile - 1 && !strncmp(s, pwfile, sizeof pwfile - 1)) {
        s += sizeof pwfile - 1;
        n -= sizeof pwfile - 1;
        if (decode(s, n, u->password_file, sizeof u->password_file))
            return owp_err_set(err, OWP_ERR_PARSE, "store %s: password_file: malformed path",
                               where);
        if (u->has_password)
            return owp_err_set(err, OWP_ERR_PARSE, "store %s: a password in the URL and a "
                               "password_file: give one", where);
        return OWP_OK;
    }
    if (n > sizeof cluster - 1 && !strncmp(s, cluster, sizeof cluster - 1)) {
        s += sizeof cluster - 1;
        n -= sizeof cluster - 1;
        int ok = n < sizeof u->cluster && (isalpha((unsigned char)s[0]) || s[0] == '_');
        for (size_t i = 0; ok && i < n; i++)
            ok = isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-';
        if (!ok)
            return owp_err_set(err, OWP_ERR_PARSE, "store %s: cluster \"%.*s\" is not a "
                               "name of letters, digits, '_' and '-'", where, (int)n, s);
        memcpy(u->cluster, s, n);
        u->cluster[n] = 0;
        return OWP_OK;
    }
    size_t k = strcspn(s, "=");
    return owp_err_set(err, OWP_ERR_PARSE, "store %s: unknown or empty parameter \"%.*s\" "
                       "(password_file=PATH, cluster=NAME, shards=HOST:PORT,...)", where, (int)(k < n ? k : n), s);
}

static owp_status parse_query(const char *s, ch_url *u, const char *where, owp_err *err)
{
    owp_status st = OWP_OK;
    while (!st && *s) {
        size_t n = strcspn(s, "&");
        st = parse_param(s, n, u, where, err);
        s += n + (s[n] == '&');
    }
    return st;
}

owp_status store_ch_url_parse(const char *url, ch_url *u, owp_err *err)
{
    memset(u, 0, sizeof *u);
    const char *scheme = "clickhouse", *p;
    if (!url)
        url = "";
    if (!strncmp(url, "clickhouse://", 13)) {
        p = url + 13;
    } else if (!strncmp(url, "clickhouses://", 14)) {
        p = url + 14;
        u->https = 1;
        scheme = "clickhouses";
    } else {
        return owp_err_set(err, OWP_ERR_PARSE, "store %.40s: not a clickhouse:// or "
                           "clickhouses:// URL", url);
    }
    size_t alen = strcspn(p, "/?");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (p[i] == '@')
            at = p + i;
    if (at) {
        owp_status st = parse_userinfo(p, (size_t)(at - p), u, scheme, err);
        if (st)
            return st;
    } else {
        snprintf(u->user, sizeof u->user, "default");
    }
    const char *hp = at ? at + 1 : p;
    size_t hlen = (size_t)(p + alen - hp);
    /* What errors show: the URL without user and password. */
    char where[CH_HOST_MAX + 64];
    snprintf(where, sizeof where, "%s://%.*s", scheme, (int)(hlen > CH_HOST_MAX ? CH_HOST_MAX : hlen),
             hp);
    owp_status st = store_ch_parse_hostport(hp, hlen, u, where, err);
    if (st)
        return st;
    const char *path = p + alen;
    if (*path != '/')
        return owp_err_set(err, OWP_ERR_PARSE, "store %s: no database (.../DATABASE)", where);
    path++;
    size_t dlen = strcspn(path, "?");
    st = parse_database(path, dlen, u, where, err);
    if (!st && path[dlen] == '?')
        st = parse_query(path + dlen + 1, u, where, err);
    if (st)
        return st;
    snprintf(u->label, sizeof u->label, "%s/%s", where, u->database);
    return OWP_OK;
}

/* ---- the password file ---- */

owp_status store_ch_password_file(const char *path, char *password, size_t len, owp_err *err)
{
    struct stat sb;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return owp_err_sys(err, "%s: password file", path);
    if (fstat(fileno(fp), &sb) != 0) {
        fclose(fp);
        return owp_err_sys(err, "%s: password file", path);
    }
    if (sb.st_uid != geteuid() && sb.st_uid != 0) {
        fclose(fp);
        return owp_err_set(err, OWP_ERR_REFUSED, "%s: password file owned by uid %u, not by this "
                           "user (uid %u) or root: refused (chown it to the user that runs this "
                           "program)", path, (unsigned)sb.st_uid, (unsigned)geteuid());
    }
    if (sb.st_mode & 077) {
        fclose(fp);
        return owp_err_set(err, OWP_ERR_REFUSED, "%s: password file has mode %04o, open to group "
                           "or others: refused (run: chmod 600 %s)", path,
                           (unsigned)(sb.st_mode & 07777), path);
    }
    char line[CH_PASSWORD_MAX + 3];
    if (!fgets(line, sizeof line, fp))
        line[0] = 0;
    fclose(fp);
    size_t n = strcspn(line, "\r\n");
    int cut = line[n] == 0 && n == sizeof line - 1;
    line[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            cut = 1;
    if (cut || n >= len)
        return owp_err_set(err, OWP_ERR_PARSE, "%s: the password is longer than %d bytes or "
                           "holds a control character", path, CH_PASSWORD_MAX);
    memcpy(password, line, n + 1);
    memset(line, 0, sizeof line);
    return OWP_OK;
}

/* ---- hashes: FNV-1a 64, over bytes that do not depend on the host ---- */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t store_ch_path_hash(const char *src, const char *dst, const char *params)
{
    uint64_t h = fnv(FNV_OFFSET, src, strlen(src) + 1);
    h = fnv(h, dst, strlen(dst) + 1);
    return fnv(h, params, strlen(params));
}

uint64_t store_ch_session_hash(owp_num64 start, const uint8_t sid[OWP_SID_LEN])
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(start >> (56 - 8 * i));
    return fnv(fnv(FNV_OFFSET, be, 8), sid, OWP_SID_LEN);
}
