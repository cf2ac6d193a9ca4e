/*
 * fmt.h - fast text for the outputs that print a line per record (owstats
 * -R): decimal integers digit pair by digit pair, printf's own "%g" of an
 * error estimate remembered per distinct estimate, all into one output
 * buffer written with fwrite. Each function produces exactly the bytes of
 * the printf conversion named beside it (tests/unit/check_fmt.c compares
 * them with printf over many values); none writes a NUL.
 */
#ifndef OWP_FMT_H
#define OWP_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "owamp.h"

/* Longest text of each conversion. */
#define OWP_FMT_U32_MAX 10   /* "%u" of a uint32_t */
#define OWP_FMT_U64_MAX 20   /* "%020" PRIu64: always 20 */
#define OWP_FMT_ERREST_MAX 12 /* "%g" of an error estimate ("4.29497e+09") */

char *owp_fmt_u32(char *p, uint32_t v);     /* "%u" */
char *owp_fmt_u64_020(char *p, uint64_t v); /* "%020" PRIu64 */

/* "%g" of owp_errest_seconds(errest). An estimate's value depends on its 14
 * scale and multiplier bits only, and a file holds few distinct ones, so
 * each is formatted by snprintf once and copied after that. Needs
 * OWP_FMT_ERREST_ROOM bytes at p (it copies a whole memo slot). */
#define OWP_FMT_ERREST_ROOM (OWP_FMT_ERREST_MAX + 1)
#define OWP_FMT_MEMO_SLOTS 256
typedef struct owp_fmt_errest_memo {
    struct {
        uint16_t key; /* scale and multiplier bits + 1; 0: empty */
        uint8_t len;
        char text[OWP_FMT_ERREST_MAX + 1];
    } slot[OWP_FMT_MEMO_SLOTS];
} owp_fmt_errest_memo;

void owp_fmt_errest_memo_init(owp_fmt_errest_memo *m);
char *owp_fmt_errest_g(owp_fmt_errest_memo *m, char *p, uint16_t errest);

/* A record as owstats -R prints it, "%lu %020" PRIu64 " %u %g %020" PRIu64
 * " %u %g %u" of seq, send time, S, send error, receive time, S, receive
 * error, TTL, then the character end ('\n'; ' ' joins the halves of a
 * two-way record). Needs OWP_FMT_RAW_ROOM bytes at p. */
#define OWP_FMT_RAW_ROOM                                                                     \
    (OWP_FMT_U32_MAX + 2 * (OWP_FMT_U64_MAX + 1 /* S */ + OWP_FMT_ERREST_ROOM) + 3 /* TTL */ + \
     8 /* spaces, end */)
char *owp_fmt_raw_record(owp_fmt_errest_memo *m, char *p, const owp_record *r, char end);

/* One output buffer in front of a FILE: reserve room for a line, write it at
 * the returned pointer, commit the new end; full buffers go out with one
 * fwrite each. */
typedef struct owp_fmt_out {
    FILE *fp;
    char *buf, *end, *at; /* at: where the next byte goes */
    int failed;           /* errno of a failed fwrite: nothing more is written */
} owp_fmt_out;

owp_status owp_fmt_out_init(owp_fmt_out *o, FILE *fp, owp_err *err);
/* Room for n more bytes at the returned pointer (n <= the buffer: 64 KiB). */
char *owp_fmt_reserve(owp_fmt_out *o, size_t n);
static inline void owp_fmt_commit(owp_fmt_out *o, char *new_at) { o->at = new_at; }
/* Write what is buffered, flush the FILE (so a full disk shows here) and
 * free the buffer; what names the output in the error when a write failed. */
owp_status owp_fmt_out_finish(owp_fmt_out *o, const char *what, owp_err *err);

#endif
