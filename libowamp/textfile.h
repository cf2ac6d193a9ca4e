/*
 * textfile.h - the text syntax owamp's configuration files share
 * (owamp-server.conf and owamp-server.limits, programs.md §2/§3):
 * statements are logical lines; a line whose first non-blank character is
 * '#' is a comment; blank lines are skipped; a backslash immediately before
 * the newline continues the statement on the next line. Line numbers are
 * the true physical line a statement starts on.
 */
#ifndef OWP_TEXTFILE_H
#define OWP_TEXTFILE_H

#include <stddef.h>

#include "error.h"

#define OWP_TEXTFILE_MAX (1u << 20)   /* config files are a few hundred bytes */
#define OWP_TEXTLINE_MAX (64u << 10)  /* longest logical line */

typedef struct owp_textfile {
    const char *name;  /* for messages */
    const char *buf;
    size_t len, pos;
    size_t line;       /* physical line of buf[pos], 1-based */
    char *text;        /* current statement, OWP_TEXTLINE_MAX bytes */
} owp_textfile;

/* Read a whole file (at most OWP_TEXTFILE_MAX bytes) into a malloc'd buffer. */
owp_status owp_textfile_slurp(const char *path, char **buf, size_t *len, owp_err *err);

/* Start reading buf (not copied: it must outlive the reader). */
owp_status owp_textfile_open(owp_textfile *r, const char *name, const char *buf, size_t len,
                             owp_err *err);
void owp_textfile_close(owp_textfile *r);

/* The next statement into r->text, leading blanks dropped. Returns 1 with
 * *start = its first physical line, 0 at the end, -1 with err set
 * ("NAME:LINE: why"). */
int owp_textfile_next(owp_textfile *r, size_t *start, owp_err *err);

/* Next whitespace-delimited token of *cursor, NUL-terminated in place; NULL at the end. */
char *owp_text_token(char **cursor);

#endif
