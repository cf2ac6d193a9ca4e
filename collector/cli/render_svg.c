/*
 * render_svg.c - small pieces of hand-written SVG (see render.h). Output is
 * self-contained: no external fonts, images, scripts or style sheets.
 */
#include "render.h"

#include <math.h>
#include <stdlib.h>

void owmesh_xml_escape(FILE *fp, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&apos;", fp); break;
        default:
            if (*p >= 0x20 || *p == '\t' || *p == '\n')
                fputc(*p, fp); /* other control characters are not XML */
        }
    }
}

void owmesh_svg_begin(FILE *fp, int width, int height, const char *title)
{
    fprintf(fp,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
            width, height, width, height);
    fputs("<title>", fp);
    owmesh_xml_escape(fp, title);
    fputs("</title>\n", fp);
    fprintf(fp, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width,
            height);
}

void owmesh_svg_end(FILE *fp) { fputs("</svg>\n", fp); }

void owmesh_svg_rect(FILE *fp, double x, double y, double w, double h, const char *fill,
                     const char *stroke, const char *tooltip)
{
    fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"", x, y, w,
            h, fill);
    if (stroke)
        fprintf(fp, " stroke=\"%s\"", stroke);
    if (!tooltip) {
        fputs("/>\n", fp);
        return;
    }
    fputs("><title>", fp);
    owmesh_xml_escape(fp, tooltip);
    fputs("</title></rect>\n", fp);
}

void owmesh_svg_line(FILE *fp, double x1, double y1, double x2, double y2, const char *stroke,
                     double width, const char *dash)
{
    fprintf(fp,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"%.2g\"",
            x1, y1, x2, y2, stroke, width);
    if (dash)
        fprintf(fp, " stroke-dasharray=\"%s\"", dash);
    fputs("/>\n", fp);
}

void owmesh_svg_text(FILE *fp, double x, double y, const char *anchor, int size,
                     const char *fill, const char *text)
{
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" fill=\"%s\">", x,
            y, anchor, size, fill);
    owmesh_xml_escape(fp, text);
    fputs("</text>\n", fp);
}

void owmesh_svg_polyline(FILE *fp, const double *xs, const double *ys, size_t n,
                         const char *stroke, double width)
{
    if (!n)
        return;
    if (n == 1) { /* a lone point between gaps: a dot, or it would vanish */
        fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>\n", xs[0], ys[0],
                width + 0.5, stroke);
        return;
    }
    fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.2g\" "
                "stroke-linejoin=\"round\" points=\"", stroke, width);
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%s%.1f,%.1f", i ? " " : "", xs[i], ys[i]);
    fputs("\"/>\n", fp);
}

void owmesh_svg_unmeasured_defs(FILE *fp)
{
    /* Grey diagonal hatching: unmeasured time is neither good nor bad data. */
    fputs("<defs><pattern id=\"owmesh-unmeasured\" width=\"8\" height=\"8\" "
          "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
          "<rect width=\"8\" height=\"8\" fill=\"#e0e0e0\"/>"
          "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#9e9e9e\" "
          "stroke-width=\"3\"/></pattern></defs>\n", fp);
}

double owmesh_nice_step(double range, int ticks)
{
    if (!(range > 0) || ticks < 1)
        return 1;
    double raw = range / ticks;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double nice = f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10;
    return nice * mag;
}

void owmesh_svg_clip_marker(FILE *fp, double x, double y, const char *fill, const char *tooltip)
{
    fprintf(fp, "<polygon class=\"owmesh-clipped\" points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" "
                "fill=\"%s\" stroke=\"#212121\" stroke-width=\"0.5\"><title>",
            x - 5, y + 8, x + 5, y + 8, x, y, fill);
    owmesh_xml_escape(fp, tooltip);
    fputs("</title></polygon>\n", fp);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double owmesh_scale_bulk(double *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, by_value);
    size_t rank = (size_t)ceil(OWMESH_SCALE_PERCENTILE / 100.0 * (double)n); /* 1-based */
    return v[rank ? rank - 1 : 0];
}

double owmesh_scale_top(double bulk, double max, double min, int *clipped)
{
    double bottom = fmin(0, min), top = bottom + (bulk - bottom) * OWMESH_SCALE_HEADROOM;
    *clipped = max > top && bulk > bottom;
    if (*clipped)
        return top;
    double range = max - bottom;
    return range > 0 ? max + range * OWMESH_SCALE_PAD : bottom + 1;
}

size_t owmesh_loss_ticks(double max_pct, double ticks[8])
{
    static const double ladder[] = {1, 2, 5, 10, 20, 50, 100};
    size_t n_ladder = sizeof ladder / sizeof ladder[0], top = n_ladder - 1, n = 0;
    for (size_t i = 0; i < n_ladder; i++)
        if (ladder[i] >= max_pct) {
            top = i;
            break;
        }
    ticks[n++] = 0;
    for (size_t i = 0; i <= top; i++)
        if (ladder[i] >= ladder[top] / 5)
            ticks[n++] = ladder[i];
    return n;
}

size_t owmesh_log_ticks(double lo, double hi, double *ticks, size_t max)
{
    static const double mantissas[] = {1, 2, 5};
    if (!(lo > 0) || !(hi >= lo) || !max)
        return 0;
    for (int only_decades = 0; only_decades < 2; only_decades++) {
        size_t n = 0;
        int fits = 1;
        for (double d = pow(10, floor(log10(lo))); d <= hi && fits; d *= 10)
            for (size_t m = 0; m < (only_decades ? 1u : 3u); m++) {
                double v = d * mantissas[m];
                if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9))
                    continue;
                if (n == max) {
                    fits = 0;
                    break;
                }
                ticks[n++] = v;
            }
        if (fits || only_decades)
            return n;
    }
    return 0;
}
