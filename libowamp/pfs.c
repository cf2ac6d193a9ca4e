/*
 * pfs.c - pass-phrase store files (programs.md §4.1, §4.2).
 *
 * A file is "IDENTITY<blanks>HEX" lines, '#' comment lines and blank lines.
 * The store keeps every line in file order so that an edited file is
 * written back unchanged apart from the entry that was set or removed.
 *
 * Lookups compare identities exactly. The reference compares only the
 * shorter name's length, so "al" would find "alice"; that is a bug and is
 * not reproduced here.
 */
#include "pfs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* pfs files are a few lines; refuse anything absurd rather than load it. */
#define PFS_FILE_MAX (16u * 1024 * 1024)

typedef struct pfs_line {
    char *text;       /* verbatim line (no newline); NULL: write identity TAB hex */
    char *identity;   /* NULL for comments, blanks and lines kept only as text */
    uint8_t *key;
    size_t keylen;
} pfs_line;

struct owp_pfs {
    pfs_line *lines;
    size_t nlines, cap;
    size_t nentries;
};

/* ------------------------------------------------------------ line syntax */

typedef enum { LINE_SKIP, LINE_ENTRY, LINE_BAD } line_kind;

typedef struct line_fields {
    const char *id;   /* first token (after any leading blanks), or NULL */
    size_t idlen;
    const char *hex;
    size_t hexlen;
    const char *why;  /* LINE_BAD: what is wrong */
} line_fields;

static int is_blank(char c) { return isspace((unsigned char)c) != 0; }

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static line_kind bad(line_fields *f, const char *why)
{
    f->why = why;
    return LINE_BAD;
}

/* Classify one physical line (n bytes, newline excluded). */
static line_kind classify(const char *line, size_t n, line_fields *f)
{
    memset(f, 0, sizeof *f);
    size_t i = 0;
    while (i < n && is_blank(line[i]))
        i++;
    if (i == n || line[i] == '#')
        return LINE_SKIP;
    if (memchr(line, '\0', n))
        return bad(f, "NUL byte in line");
    f->id = line + i;
    while (i < n && !is_blank(line[i]))
        i++;
    f->idlen = (size_t)(line + i - f->id);
    if (f->id != line)
        return bad(f, "Leading spaces not allowed (an entry starts in column 1)");
    while (i < n && is_blank(line[i]))
        i++;
    f->hex = line + i;
    while (i < n && !is_blank(line[i]))
        i++;
    f->hexlen = (size_t)(line + i - f->hex);
    while (i < n && is_blank(line[i]))
        i++;
    if (f->hexlen == 0)
        return bad(f, "missing pass-phrase (expected IDENTITY, blanks, hex digits)");
    if (i != n)
        return bad(f, "unexpected text after the pass-phrase (only blanks may follow; "
                      "no trailing comments)");
    if (f->hexlen % 2)
        return bad(f, "odd number of hex digits in the pass-phrase");
    for (size_t k = 0; k < f->hexlen; k++)
        if (hex_value(f->hex[k]) < 0)
            return bad(f, "pass-phrase is not hex (expected digits 0-9, a-f)");
    return LINE_ENTRY;
}

static void hex_decode(const char *hex, size_t hexlen, uint8_t *out)
{
    for (size_t k = 0; k < hexlen / 2; k++)
        out[k] = (uint8_t)(hex_value(hex[2 * k]) << 4 | hex_value(hex[2 * k + 1]));
}

static int id_equals(const line_fields *f, const char *identity)
{
    return f->id && strlen(identity) == f->idlen && memcmp(f->id, identity, f->idlen) == 0;
}

/* ------------------------------------------------------------ file reading */

static owp_status read_whole_file(const char *path, char **buf, size_t *len, owp_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return owp_err_sys(err, "Unable to open %s", path);
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    owp_status st = b ? OWP_OK : owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", path);
    while (st == OWP_OK) {
        if (n == cap) {
            char *nb = cap < PFS_FILE_MAX ? realloc(b, cap * 2) : NULL;
            if (!nb) {
                st = cap < PFS_FILE_MAX
                         ? owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", path)
                         : owp_err_set(err, OWP_ERR_PARSE, "%s: larger than %u bytes", path,
                                       PFS_FILE_MAX);
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp))
                st = owp_err_sys(err, "Unable to read %s", path);
            break;
        }
    }
    fclose(fp);
    if (st != OWP_OK) {
        free(b);
        return st;
    }
    *buf = b;
    *len = n;
    return OWP_OK;
}

/* Iterate physical lines: returns 1 with [*line, *n) and advances *pos. */
static int next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
    if (*pos >= len)
        return 0;
    const char *start = buf + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    *line = start;
    *n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += *n + (nl ? 1 : 0);
    return 1;
}

/* ------------------------------------------------------------ the store */

owp_pfs *owp_pfs_new(void)
{
    return calloc(1, sizeof(owp_pfs));
}

static void line_free(pfs_line *l)
{
    free(l->text);
    free(l->identity);
    if (l->key)
        memset(l->key, 0, l->keylen); /* pass-phrases do not linger in freed memory */
    free(l->key);
}

void owp_pfs_destroy(owp_pfs **self_p)
{
    if (!self_p || !*self_p)
        return;
    owp_pfs *self = *self_p;
    for (size_t i = 0; i < self->nlines; i++)
        line_free(&self->lines[i]);
    free(self->lines);
    free(self);
    *self_p = NULL;
}

static pfs_line *append_line(owp_pfs *self)
{
    if (self->nlines == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        pfs_line *nl = realloc(self->lines, cap * sizeof *nl);
        if (!nl)
            return NULL;
        self->lines = nl;
        self->cap = cap;
    }
    pfs_line *l = &self->lines[self->nlines++];
    memset(l, 0, sizeof *l);
    return l;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static owp_status add_text_line(owp_pfs *self, const char *line, size_t n, owp_err *err)
{
    pfs_line *l = append_line(self);
    if (!l || !(l->text = dup_n(line, n))) {
        if (l)
            self->nlines--;
        return owp_err_set(err, OWP_ERR_NOMEM, "pass-phrase store: out of memory");
    }
    return OWP_OK;
}

static owp_status add_entry_line(owp_pfs *self, const char *line, size_t n,
                                 const line_fields *f, owp_err *err)
{
    pfs_line *l = append_line(self);
    if (!l)
        return owp_err_set(err, OWP_ERR_NOMEM, "pass-phrase store: out of memory");
    l->text = dup_n(line, n);
    l->identity = dup_n(f->id, f->idlen);
    l->keylen = f->hexlen / 2;
    l->key = malloc(l->keylen);
    if (!l->text || !l->identity || !l->key) {
        line_free(l);
        self->nlines--;
        return owp_err_set(err, OWP_ERR_NOMEM, "pass-phrase store: out of memory");
    }
    hex_decode(f->hex, f->hexlen, l->key);
    self->nentries++;
    return OWP_OK;
}

/* The entry for identity (idlen bytes, not necessarily NUL-terminated). */
static pfs_line *find_entry_n(const owp_pfs *self, const char *identity, size_t idlen)
{
    for (size_t i = 0; i < self->nlines; i++) {
        const char *id = self->lines[i].identity;
        if (id && strlen(id) == idlen && memcmp(id, identity, idlen) == 0)
            return &self->lines[i];
    }
    return NULL;
}

static pfs_line *find_entry(const owp_pfs *self, const char *identity)
{
    return find_entry_n(self, identity, strlen(identity));
}

/* Shared body of the two loaders. edit_identity NULL: strict (owampd);
 * otherwise only that identity's lines are validated (pfstore). */
static owp_pfs *load(const char *path, const char *edit_identity, owp_err *err)
{
    if (!path)
        return owp_err_set(err, OWP_ERR_INVALID, "pass-phrase file: NULL path"), NULL;
    char *buf = NULL;
    size_t len = 0;
    if (read_whole_file(path, &buf, &len, err) != OWP_OK)
        return NULL;
    owp_pfs *self = owp_pfs_new();
    owp_status st = self ? OWP_OK : owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", path);
    const char *line;
    size_t n, pos = 0, line_no = 0;
    while (st == OWP_OK && next_line(buf, len, &pos, &line, &n)) {
        line_no++;
        line_fields f;
        line_kind kind = classify(line, n, &f);
        int checked = !edit_identity || id_equals(&f, edit_identity);
        if (kind == LINE_BAD && checked) {
            st = owp_err_set(err, OWP_ERR_PARSE, "%s:%zu: %s", path, line_no, f.why);
        } else if (kind == LINE_ENTRY) {
            /* Every physical line became one stored line, so an entry's
             * index + 1 is its line number. */
            const pfs_line *first = find_entry_n(self, f.id, f.idlen);
            if (first && edit_identity) {
                /* pfstore copies every line after the one it replaces. */
                st = add_text_line(self, line, n, err);
            } else if (first) {
                st = owp_err_set(err, OWP_ERR_PARSE,
                                 "%s:%zu: username \"%.*s\" duplicated (first defined on "
                                 "line %zu)", path, line_no, (int)f.idlen, f.id,
                                 (size_t)(first - self->lines) + 1);
            } else {
                st = add_entry_line(self, line, n, &f, err);
            }
        } else {
            st = add_text_line(self, line, n, err);
        }
    }
    memset(buf, 0, len);
    free(buf);
    if (st != OWP_OK)
        owp_pfs_destroy(&self);
    return self;
}

owp_pfs *owp_pfs_load(const char *path, owp_err *err)
{
    return load(path, NULL, err);
}

owp_pfs *owp_pfs_load_for_edit(const char *path, const char *identity, owp_err *err)
{
    if (!identity)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_pfs_load_for_edit: NULL identity"), NULL;
    return load(path, identity, err);
}

const uint8_t *owp_pfs_lookup(const owp_pfs *self, const char *identity, size_t *len)
{
    if (!self || !identity)
        return NULL;
    const pfs_line *l = find_entry(self, identity);
    if (!l)
        return NULL;
    if (len)
        *len = l->keylen;
    return l->key;
}

size_t owp_pfs_count(const owp_pfs *self)
{
    return self ? self->nentries : 0;
}

/* ------------------------------------------------------------ client lookup */

owp_status owp_pfs_find_in_file(const char *path, const char *identity, uint8_t *out_buf,
                                size_t out_cap, size_t *out_len, owp_err *err)
{
    if (!path || !identity || !out_len || (!out_buf && out_cap))
        return owp_err_set(err, OWP_ERR_INVALID, "owp_pfs_find_in_file: NULL argument");
    char *buf = NULL;
    size_t len = 0;
    owp_status st = read_whole_file(path, &buf, &len, err);
    if (st != OWP_OK)
        return st;
    const char *line;
    size_t n, pos = 0, line_no = 0;
    int found = 0;
    while (!found && next_line(buf, len, &pos, &line, &n)) {
        line_no++;
        line_fields f;
        line_kind kind = classify(line, n, &f);
        if (kind == LINE_SKIP || !id_equals(&f, identity))
            continue;
        found = 1;
        if (kind == LINE_BAD) {
            st = owp_err_set(err, OWP_ERR_PARSE, "%s:%zu: %s", path, line_no, f.why);
        } else if (f.hexlen / 2 > out_cap) {
            st = owp_err_set(err, OWP_ERR_PARSE,
                             "%s:%zu: pass-phrase of %zu bytes is longer than the %zu accepted",
                             path, line_no, f.hexlen / 2, out_cap);
        } else {
            hex_decode(f.hex, f.hexlen, out_buf);
            *out_len = f.hexlen / 2;
        }
    }
    memset(buf, 0, len);
    free(buf);
    if (!found)
        st = owp_err_set(err, OWP_ERR_INVALID,
                         "Unable to find pass-phrase for id=\"%s\" from pffile=\"%s\"", identity,
                         path);
    return st;
}

/* ------------------------------------------------------------ editing */

static owp_status check_identity(const char *identity, owp_err *err)
{
    if (!identity || identity[0] == '\0')
        return owp_err_set(err, OWP_ERR_INVALID, "empty identity");
    size_t n = strlen(identity);
    if (n > OWP_PFS_IDENTITY_MAX)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "identity \"%.20s...\" is %zu characters (at most %d fit the wire "
                           "KeyID)", identity, n, OWP_PFS_IDENTITY_MAX);
    if (identity[0] == '#')
        return owp_err_set(err, OWP_ERR_INVALID,
                           "identity \"%s\" starts with '#' (would read as a comment)", identity);
    for (const char *s = identity; *s; s++)
        if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
            return owp_err_set(err, OWP_ERR_INVALID,
                               "identity \"%s\" contains a blank or control character", identity);
    return OWP_OK;
}

owp_status owp_pfs_set(owp_pfs *self, const char *identity, const uint8_t *passphrase,
                       size_t len, owp_err *err)
{
    if (!self || (!passphrase && len))
        return owp_err_set(err, OWP_ERR_INVALID, "owp_pfs_set: NULL argument");
    owp_status st = check_identity(identity, err);
    if (st != OWP_OK)
        return st;
    if (len == 0)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "empty pass-phrase for identity \"%s\" (owampd refuses such lines)",
                           identity);
    uint8_t *key = malloc(len);
    if (!key)
        return owp_err_set(err, OWP_ERR_NOMEM, "pass-phrase store: out of memory");
    memcpy(key, passphrase, len);

    pfs_line *l = find_entry(self, identity);
    if (l) {
        /* Replaced in place; the line is regenerated on save. */
        memset(l->key, 0, l->keylen);
        free(l->key);
        free(l->text);
        l->text = NULL;
    } else {
        char *id = strdup(identity);
        l = id ? append_line(self) : NULL;
        if (!l) {
            free(id);
            free(key);
            return owp_err_set(err, OWP_ERR_NOMEM, "pass-phrase store: out of memory");
        }
        l->identity = id;
        self->nentries++;
    }
    l->key = key;
    l->keylen = len;
    return OWP_OK;
}

owp_status owp_pfs_remove(owp_pfs *self, const char *identity, owp_err *err)
{
    if (!self || !identity)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_pfs_remove: NULL argument");
    pfs_line *l = find_entry(self, identity);
    if (!l)
        return owp_err_set(err, OWP_ERR_INVALID, "Identity '%s' not found", identity);
    size_t i = (size_t)(l - self->lines);
    line_free(l);
    memmove(&self->lines[i], &self->lines[i + 1], (self->nlines - i - 1) * sizeof *l);
    self->nlines--;
    self->nentries--;
    return OWP_OK;
}

static int write_line(FILE *fp, const pfs_line *l)
{
    static const char digits[] = "0123456789abcdef";
    if (l->text)
        return fprintf(fp, "%s\n", l->text) < 0;
    if (fprintf(fp, "%s\t", l->identity) < 0)
        return 1;
    for (size_t k = 0; k < l->keylen; k++)
        if (fputc(digits[l->key[k] >> 4], fp) == EOF || fputc(digits[l->key[k] & 15], fp) == EOF)
            return 1;
    return fputc('\n', fp) == EOF;
}

owp_status owp_pfs_save(const char *path, const owp_pfs *self, owp_err *err)
{
    if (!path || !self)
        return owp_err_set(err, OWP_ERR_INVALID, "owp_pfs_save: NULL argument");
    size_t n = strlen(path) + sizeof ".tmpXXXXXX";
    char *tmp = malloc(n);
    if (!tmp)
        return owp_err_set(err, OWP_ERR_NOMEM, "pass-phrase store: out of memory");
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp); /* mode 0600: the file holds pass-phrases */
    if (fd < 0) {
        owp_status st = owp_err_sys(err, "Unable to create %s", tmp);
        free(tmp);
        return st;
    }
    FILE *fp = fdopen(fd, "w");
    owp_status st = OWP_OK;
    if (!fp) {
        st = owp_err_sys(err, "Unable to write %s", tmp);
        close(fd);
    } else {
        int bad_write = 0;
        for (size_t i = 0; i < self->nlines && !bad_write; i++)
            bad_write = write_line(fp, &self->lines[i]);
        if (bad_write || fflush(fp) != 0 || fsync(fileno(fp)) != 0)
            st = owp_err_sys(err, "Unable to write %s", tmp);
        if (fclose(fp) != 0 && st == OWP_OK)
            st = owp_err_sys(err, "Unable to write %s", tmp);
    }
    if (st == OWP_OK && rename(tmp, path) != 0)
        st = owp_err_sys(err, "Unable to rename %s to %s", tmp, path);
    if (st != OWP_OK)
        unlink(tmp);
    free(tmp);
    return st;
}
