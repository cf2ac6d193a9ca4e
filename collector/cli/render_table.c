/* render_table.c - aligned text tables and CSV (see render.h). */
#include "render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct owmesh_table {
    size_t ncols, nrows, cap;
    char **cells;  /* (nrows + 1) * ncols: the header row first */
    int *left;     /* per column: 1 = left-aligned */
};

owmesh_table *owmesh_table_new(size_t ncols, const char *const *headers)
{
    owmesh_table *t = calloc(1, sizeof *t);
    if (!t || !ncols)
        goto fail;
    t->ncols = ncols;
    t->cap = 16;
    t->cells = calloc(t->cap * ncols, sizeof *t->cells);
    t->left = calloc(ncols, sizeof *t->left);
    if (!t->cells || !t->left)
        goto fail;
    for (size_t i = 0; i < ncols; i++)
        if (!(t->cells[i] = strdup(headers[i] ? headers[i] : "")))
            goto fail;
    return t;
fail:
    owmesh_table_destroy(&t);
    return NULL;
}

void owmesh_table_destroy(owmesh_table **self_p)
{
    if (!self_p || !*self_p)
        return;
    owmesh_table *t = *self_p;
    if (t->cells)
        for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
            free(t->cells[i]);
    free(t->cells);
    free(t->left);
    free(t);
    *self_p = NULL;
}

void owmesh_table_left(owmesh_table *self, size_t col)
{
    if (col < self->ncols)
        self->left[col] = 1;
}

int owmesh_table_add(owmesh_table *self, const char *const *cells)
{
    if (self->nrows + 2 > self->cap) {
        size_t cap = self->cap * 2;
        char **nc = realloc(self->cells, cap * self->ncols * sizeof *nc);
        if (!nc)
            return -1;
        self->cells = nc;
        self->cap = cap;
    }
    char **row = self->cells + (self->nrows + 1) * self->ncols;
    for (size_t i = 0; i < self->ncols; i++) {
        if (!(row[i] = strdup(cells[i] ? cells[i] : ""))) {
            while (i--)
                free(row[i]);
            return -1;
        }
    }
    self->nrows++;
    return 0;
}

size_t owmesh_table_rows(const owmesh_table *self) { return self->nrows; }

/* The rows from first (0: the header) on, aligned over those rows. */
static void print_from(const owmesh_table *self, size_t first, FILE *fp)
{
    size_t *width = calloc(self->ncols, sizeof *width);
    if (!width)
        return;
    for (size_t r = first; r <= self->nrows; r++)
        for (size_t c = 0; c < self->ncols; c++) {
            size_t w = strlen(self->cells[r * self->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = first; r <= self->nrows; r++) {
        /* Build the line first so trailing blanks can be trimmed. */
        char line[4096];
        size_t used = 0;
        for (size_t c = 0; c < self->ncols && used < sizeof line; c++) {
            const char *cell = self->cells[r * self->ncols + c];
            int w = (int)width[c];
            int n = snprintf(line + used, sizeof line - used, self->left[c] ? "%s%-*s" : "%s%*s",
                             c ? "  " : "", w, cell);
            if (n < 0)
                break;
            used += (size_t)n < sizeof line - used ? (size_t)n : sizeof line - used - 1;
        }
        while (used && line[used - 1] == ' ')
            used--;
        fprintf(fp, "%.*s\n", (int)used, line);
    }
    free(width);
}

void owmesh_table_print(const owmesh_table *self, FILE *fp) { print_from(self, 0, fp); }

void owmesh_table_print_body(const owmesh_table *self, FILE *fp) { print_from(self, 1, fp); }

void owmesh_csv_field(FILE *fp, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, fp);
        return;
    }
    fputc('"', fp);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc('"', fp);
        fputc(*p, fp);
    }
    fputc('"', fp);
}

void owmesh_table_print_csv(const owmesh_table *self, FILE *fp)
{
    for (size_t r = 0; r <= self->nrows; r++) {
        for (size_t c = 0; c < self->ncols; c++) {
            if (c)
                fputc(',', fp);
            owmesh_csv_field(fp, self->cells[r * self->ncols + c]);
        }
        fputc('\n', fp);
    }
}

void owmesh_format_ms(double seconds, char *buf, size_t len)
{
    snprintf(buf, len, "%.3f", seconds * 1e3);
}

double owmesh_ms_ns(double seconds) { return round(seconds * 1e9) / 1e6; }

void owmesh_format_real(double v, char *buf, size_t len)
{
    /* jansson writes a real with "%.*g" at JSON_REAL_PRECISION */
    snprintf(buf, len, "%.*g", OWMESH_JSON_PRECISION, v);
}
