/* textfile.c - statements, comments and continuation lines of owamp's config files. */
#include "textfile.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

owp_status owp_textfile_slurp(const char *path, char **buf, size_t *len, owp_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return owp_err_sys(err, "Unable to open %s", path);
    char *b = malloc(OWP_TEXTFILE_MAX + 1);
    if (!b) {
        fclose(fp);
        return owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t n = fread(b, 1, OWP_TEXTFILE_MAX + 1, fp);
    owp_status st = OWP_OK;
    if (ferror(fp))
        st = owp_err_sys(err, "Unable to read %s", path);
    else if (n > OWP_TEXTFILE_MAX)
        st = owp_err_set(err, OWP_ERR_PARSE, "%s: larger than %u bytes", path, OWP_TEXTFILE_MAX);
    fclose(fp);
    if (st != OWP_OK) {
        free(b);
        return st;
    }
    *buf = b;
    *len = n;
    return OWP_OK;
}

owp_status owp_textfile_open(owp_textfile *r, const char *name, const char *buf, size_t len,
                             owp_err *err)
{
    *r = (owp_textfile){.name = name, .buf = buf, .len = len, .line = 1};
    r->text = malloc(OWP_TEXTLINE_MAX);
    return r->text ? OWP_OK : owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", name);
}

void owp_textfile_close(owp_textfile *r)
{
    free(r->text);
    r->text = NULL;
}

static void skip_rest_of_line(owp_textfile *r)
{
    const char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
    r->pos = nl ? (size_t)(nl - r->buf) : r->len;
}

/* Bytes of the newline right after a backslash at r->pos (1 or 2 for CRLF), else 0. */
static size_t continuation_len(const owp_textfile *r)
{
    const char *rest = r->buf + r->pos;
    size_t left = r->len - r->pos;
    if (left >= 1 && rest[0] == '\n')
        return 1;
    if (left >= 2 && rest[0] == '\r' && rest[1] == '\n')
        return 2;
    return 0;
}

int owp_textfile_next(owp_textfile *r, size_t *start, owp_err *err)
{
    size_t n = 0;
    while (r->pos < r->len) {
        char c = r->buf[r->pos++];
        if (c == '\n') {
            r->line++;
            if (n)
                break;
            continue;
        }
        if (c == '\0') {
            owp_err_set(err, OWP_ERR_PARSE, "%s:%zu: NUL byte in a text file", r->name, r->line);
            return -1;
        }
        if (n == 0 && c == '#') {
            skip_rest_of_line(r);
            continue;
        }
        if (n == 0 && isspace((unsigned char)c))
            continue;
        if (c == '\\') {
            size_t skip = continuation_len(r);
            if (!skip) {
                owp_err_set(err, OWP_ERR_PARSE,
                            "%s:%zu: '\\' is allowed only at the end of a line (continuation)",
                            r->name, r->line);
                return -1;
            }
            r->pos += skip;
            r->line++;
            continue;
        }
        if (n == 0)
            *start = r->line;
        if (n + 1 >= OWP_TEXTLINE_MAX) {
            owp_err_set(err, OWP_ERR_PARSE, "%s:%zu: line longer than %u characters", r->name,
                        *start, OWP_TEXTLINE_MAX - 1);
            return -1;
        }
        r->text[n++] = c;
    }
    r->text[n] = '\0';
    return n ? 1 : 0;
}

char *owp_text_token(char **cursor)
{
    char *s = *cursor;
    while (*s && isspace((unsigned char)*s))
        s++;
    if (!*s) {
        *cursor = s;
        return NULL;
    }
    char *tok = s;
    while (*s && !isspace((unsigned char)*s))
        s++;
    if (*s)
        *s++ = '\0';
    *cursor = s;
    return tok;
}
