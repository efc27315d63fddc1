/* The SVG writer: see svg.h. */
#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Series styles: dark, mid and light colours with a dash pattern and a
 * marker each, so that a grey print still tells them apart. */
static const struct {
	const char *colour, *dash;
	int marker; /* 0 circle, 1 square, 2 triangle, 3 diamond */
} styles[] = {
	{"#1b3a6b", "", 0},	     /* dark blue, solid */
	{"#d9822b", "7 4", 1},	     /* orange, dashed */
	{"#3a9e8f", "2 3", 2},	     /* teal, dotted */
	{"#7a3b8f", "9 3 2 3", 3},   /* purple, dash-dot */
	{"#8a8a8a", "12 4", 0},	     /* grey, long dashes */
};
#define NSTYLES MP_COUNTOF(styles)

#define FONT "font-family=\"sans-serif\" font-size=\"12\""

void mp_xml_escape(mp_strbuf *sb, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep = NULL;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			/* control characters other than tab and newline are not XML */
			if ((unsigned char)*s < 32 && *s != '\t' && *s != '\n')
				rep = "?";
		}
		if (rep) {
			mp_strbuf_add(sb, run, (size_t)(s - run));
			mp_strbuf_adds(sb, rep);
			run = s + 1;
		}
	}
	mp_strbuf_add(sb, run, (size_t)(s - run));
}

int mp_nice_ticks(double lo, double hi, int want, double *first, double *step)
{
	double span, raw, mag, f;
	int n;

	if (!(hi > lo)) {
		/* one value: a unit around it */
		double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;

		lo -= pad;
		hi += pad;
	}
	if (want < 2)
		want = 2;
	span = hi - lo;
	raw = span / (want - 1);
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	*step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag; /* the nearest nice step */
	*first = floor(lo / *step) * *step;
	n = (int)ceil((hi - *first) / *step - 1e-9) + 1;
	return n;
}

const char *mp_tick_label(double v, double step, char *buf, size_t n)
{
	int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);

	if (fabs(v) < step * 1e-9)
		v = 0; /* no "-0" */
	if (fabs(v) >= 1e6 || (v != 0 && fabs(v) < 1e-4))
		snprintf(buf, n, "%.3g", v);
	else
		snprintf(buf, n, "%.*f", dec > 8 ? 8 : dec, v);
	return buf;
}

static void text(mp_strbuf *sb, double x, double y, const char *anchor, const char *extra, const char *s)
{
	/* extra may set its own font-size */
	mp_strbuf_addf(sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-family=\"sans-serif\"%s%s%s>", x, y,
		       anchor, extra && strstr(extra, "font-size") ? "" : " font-size=\"12\"", extra ? " " : "",
		       extra ? extra : "");
	mp_xml_escape(sb, s);
	mp_strbuf_adds(sb, "</text>\n");
}

static void svg_open(mp_strbuf *sb, int w, int h, const char *title)
{
	mp_strbuf_addf(sb,
		       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		       "role=\"img\"><title>",
		       w, h, w, h);
	mp_xml_escape(sb, title ? title : "");
	mp_strbuf_adds(sb, "</title>\n");
	if (title && *title)
		text(sb, w / 2.0, 16, "middle", "font-weight=\"bold\"", title);
}

static void marker(mp_strbuf *sb, int shape, double x, double y, const char *colour, int filled)
{
	const char *fill = filled ? colour : "#ffffff";

	switch (shape) {
	case 1:
		mp_strbuf_addf(sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\" fill=\"%s\" stroke=\"%s\"/>\n",
			       x - 3.5, y - 3.5, fill, colour);
		break;
	case 2:
		mp_strbuf_addf(sb, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\" stroke=\"%s\"/>\n", x, y - 4.5,
			       x + 4.5, y + 3.5, x - 4.5, y + 3.5, fill, colour);
		break;
	case 3:
		mp_strbuf_addf(sb, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\" stroke=\"%s\"/>\n",
			       x, y - 5, x + 5, y, x, y + 5, x - 5, y, fill, colour);
		break;
	default:
		mp_strbuf_addf(sb, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\" stroke=\"%s\"/>\n", x, y, fill,
			       colour);
	}
}

void mp_svg_line_chart(mp_strbuf *sb, const mp_chart *c)
{
	double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY, xf, xs, yf, ys;
	int w = c->width ? c->width : 560, h = c->height ? c->height : 300;
	int left = 60, right = 20, top = 28, bottom = 54 + 16 * (int)((c->nseries + 2) / 3) + (c->note ? 16 : 0);
	int nx, ny, i;
	size_t s, k;
	char buf[64];

	for (s = 0; s < c->nseries; s++)
		for (k = 0; k < c->series[s].n; k++) {
			double x = c->series[s].x[k], y = c->series[s].y[k];

			if (isnan(y) || isnan(x))
				continue;
			xlo = fmin(xlo, x);
			xhi = fmax(xhi, x);
			ylo = fmin(ylo, y);
			yhi = fmax(yhi, y);
		}
	svg_open(sb, w, h, c->title);
	if (xlo > xhi) {
		text(sb, w / 2.0, h / 2.0, "middle", NULL, "no data");
		mp_strbuf_adds(sb, "</svg>\n");
		return;
	}
	nx = mp_nice_ticks(xlo, xhi, 6, &xf, &xs);
	if (c->x_integer && xs < 1) {
		xs = 1;
		xf = floor(xlo);
		nx = (int)(ceil(xhi) - xf) + 1;
		if (nx < 2) {
			xf -= 1;
			nx = 3;
		}
	}
	if (c->y_fixed) {
		ylo = c->ymin;
		yhi = c->ymax;
	}
	ny = mp_nice_ticks(ylo, yhi, 5, &yf, &ys);
	{
		double x0 = xf, x1 = xf + xs * (nx - 1), y0 = yf, y1 = yf + ys * (ny - 1);
		double pw = w - left - right, ph = h - top - bottom;
#define PX(v) (left + ((v) - x0) / (x1 - x0) * pw)
#define PY(v) (top + ph - ((v) - y0) / (y1 - y0) * ph)
		/* grid, ticks and labels */
		for (i = 0; i < ny; i++) {
			double v = y0 + ys * i;

			mp_strbuf_addf(sb, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>\n", left,
				       PY(v), left + pw, PY(v));
			text(sb, left - 6, PY(v) + 4, "end", NULL, mp_tick_label(v, ys, buf, sizeof(buf)));
		}
		for (i = 0; i < nx; i++) {
			double v = x0 + xs * i;

			mp_strbuf_addf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>\n",
				       PX(v), top + ph, PX(v), top + ph + 4);
			text(sb, PX(v), top + ph + 16, "middle", NULL, mp_tick_label(v, xs, buf, sizeof(buf)));
		}
		mp_strbuf_addf(sb, "<path d=\"M%d %dV%.1fH%.1f\" fill=\"none\" stroke=\"#555555\"/>\n", left, top,
			       top + ph, left + pw);
		if (c->xlabel)
			text(sb, left + pw / 2, top + ph + 32, "middle", NULL, c->xlabel);
		if (c->ylabel) {
			mp_strbuf_addf(sb, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" " FONT ">",
				       top + ph / 2);
			mp_xml_escape(sb, c->ylabel);
			mp_strbuf_adds(sb, "</text>\n");
		}
		/* the series */
		for (s = 0; s < c->nseries; s++) {
			const mp_series *se = &c->series[s];
			const char *col = styles[s % NSTYLES].colour;
			int pen = 0;

			mp_strbuf_addf(sb, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s%s%s d=\"", col,
				       *styles[s % NSTYLES].dash ? " stroke-dasharray=\"" : "", styles[s % NSTYLES].dash,
				       *styles[s % NSTYLES].dash ? "\"" : "");
			for (k = 0; k < se->n && !c->points; k++) {
				if (isnan(se->y[k]) || isnan(se->x[k])) {
					pen = 0;
					continue;
				}
				mp_strbuf_addf(sb, "%s%.1f %.1f", pen ? "L" : "M", PX(se->x[k]), PY(se->y[k]));
				pen = 1;
			}
			mp_strbuf_adds(sb, "\"/>\n");
			for (k = 0; k < se->n; k++) {
				int m = se->marks ? se->marks[k] : MP_MARK_FILLED;

				if (isnan(se->y[k]) || isnan(se->x[k]) || m == MP_MARK_NONE)
					continue;
				if (m == MP_MARK_CROSS)
					mp_strbuf_addf(sb,
						       "<path d=\"M%.1f %.1fl8 8m0 -8l-8 8\" stroke=\"%s\" stroke-width=\"2\"/>\n",
						       PX(se->x[k]) - 4, PY(se->y[k]) - 4, col);
				else
					marker(sb, styles[s % NSTYLES].marker, PX(se->x[k]), PY(se->y[k]), col,
					       m == MP_MARK_FILLED);
			}
		}
		/* the legend: three to a row */
		for (s = 0; s < c->nseries; s++) {
			double lx = left + (double)(s % 3) * (pw / 3), ly = top + ph + 52 + 16 * (double)(s / 3);
			const char *col = styles[s % NSTYLES].colour;

			mp_strbuf_addf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s%s%s/>\n",
				       lx, ly - 4, lx + 26, ly - 4, col, *styles[s % NSTYLES].dash ? " stroke-dasharray=\"" : "",
				       styles[s % NSTYLES].dash, *styles[s % NSTYLES].dash ? "\"" : "");
			marker(sb, styles[s % NSTYLES].marker, lx + 13, ly - 4, col, 1);
			text(sb, lx + 32, ly, "start", NULL, c->series[s].name ? c->series[s].name : "");
		}
		if (c->note)
			text(sb, left, h - 6, "start", "fill=\"#444444\"", c->note);
#undef PX
#undef PY
	}
	mp_strbuf_adds(sb, "</svg>\n");
}

void mp_svg_bars(mp_strbuf *sb, const char *title, const char *const *labels, const double *values, size_t n,
		 int width, int height)
{
	int w = width ? width : 260, h = height ? height : 170, left = 44, right = 8, top = 26, bottom = 34, ny, i;
	double hi = 0, yf, ys, pw = w - left - right, ph = h - top - bottom, bw;
	size_t k;
	char buf[64];

	for (k = 0; k < n; k++)
		if (values[k] > hi)
			hi = values[k];
	svg_open(sb, w, h, title);
	ny = mp_nice_ticks(0, hi > 0 ? hi : 1, 4, &yf, &ys);
	yf = 0;
	{
		double top_v = ys * (ny - 1) > 0 ? ys * (ny - 1) : 1;

		for (i = 0; i < ny; i++) {
			double y = top + ph - (ys * i) / top_v * ph;

			mp_strbuf_addf(sb, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>\n", left, y,
				       left + pw, y);
			text(sb, left - 4, y + 4, "end", NULL, mp_tick_label(ys * i, ys, buf, sizeof(buf)));
		}
		bw = n ? pw / (double)n : pw;
		for (k = 0; k < n; k++) {
			double bh = values[k] / top_v * ph;

			mp_strbuf_addf(sb,
				       "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#1b3a6b\"><title>",
				       left + bw * (double)k + 1, top + ph - bh, bw > 3 ? bw - 2 : bw, bh);
			mp_xml_escape(sb, labels && labels[k] ? labels[k] : "");
			mp_strbuf_addf(sb, ": %g</title></rect>\n", values[k]);
		}
		/* labels under the first and last bar, or under each when few */
		for (k = 0; labels && k < n; k++)
			if (n <= 6 || k == 0 || k == n - 1) {
				char short_label[24];

				snprintf(short_label, sizeof(short_label), "%s", labels[k] ? labels[k] : "");
				/* the first and last labels start and end at the plot's edges,
				 * so neither runs out of the picture */
				if (n > 1 && k == 0)
					text(sb, left, top + ph + 14, "start", "font-size=\"10\"", short_label);
				else if (n > 1 && k == n - 1)
					text(sb, left + pw, top + ph + 14, "end", "font-size=\"10\"", short_label);
				else
					text(sb, left + bw * ((double)k + 0.5), top + ph + 14, "middle", "font-size=\"10\"",
					     short_label);
			}
		mp_strbuf_addf(sb, "<path d=\"M%d %dV%.1fH%.1f\" fill=\"none\" stroke=\"#555555\"/>\n", left, top, top + ph,
			       left + pw);
	}
	mp_strbuf_adds(sb, "</svg>\n");
}

/* The width in pixels of s in a sans-serif font of size px, estimated
 * generously (SVG cannot measure text before it is drawn). */
static double text_width(const char *s, double px)
{
	return (double)strlen(s) * px * 0.62;
}

void mp_svg_heatmap(mp_strbuf *sb, const char *title, const char *const *labels, const int64_t *counts, int n)
{
	double longest = 0, slant;
	int cell = n > 12 ? 28 : 40, left, top, w, h, r, c;

	/* room for the longest class name: the row labels on the left, the
	 * column labels slanted at 45 degrees above, the title across */
	for (r = 0; r < n; r++)
		if (text_width(labels[r], 12) > longest)
			longest = text_width(labels[r], 12);
	slant = longest * 0.75;
	left = 30 + (int)longest + 8 > 90 ? 30 + (int)longest + 8 : 90;
	top = 44 + (int)slant;
	w = left + cell * n + (int)slant + 10;
	if (w < (int)text_width(title ? title : "", 12) + 20)
		w = (int)text_width(title ? title : "", 12) + 20;
	h = top + cell * n + 20;
	svg_open(sb, w, h, title);
	text(sb, left + cell * n / 2.0, 34, "middle", NULL, "predicted");
	mp_strbuf_addf(sb, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" " FONT ">true</text>\n",
		       top + cell * n / 2.0);
	for (r = 0; r < n; r++) {
		int64_t row = 0;

		for (c = 0; c < n; c++)
			row += counts[(size_t)r * (size_t)n + (size_t)c];
		text(sb, left - 6, top + cell * (r + 0.5) + 4, "end", NULL, labels[r]);
		for (c = 0; c < n; c++) {
			int64_t v = counts[(size_t)r * (size_t)n + (size_t)c];
			double share = row ? (double)v / (double)row : 0;
			/* white to dark blue; text flips to white on dark cells */
			int red = (int)(255 - share * (255 - 27)), green = (int)(255 - share * (255 - 58)),
			    blue = (int)(255 - share * (255 - 107));
			char num[32];

			mp_strbuf_addf(sb,
				       "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#%02x%02x%02x\" "
				       "stroke=\"#ffffff\"><title>",
				       left + cell * c, top + cell * r, cell, cell, red, green, blue);
			mp_xml_escape(sb, labels[r]);
			mp_strbuf_adds(sb, " as ");
			mp_xml_escape(sb, labels[c]);
			mp_strbuf_addf(sb, ": %lld (%.1f%% of the row)</title></rect>\n", (long long)v, share * 100);
			snprintf(num, sizeof(num), "%lld", (long long)v);
			text(sb, left + cell * (c + 0.5), top + cell * (r + 0.5) + 4, "middle",
			     share > 0.5 ? "fill=\"#ffffff\" font-size=\"11\"" : "font-size=\"11\"", num);
		}
		/* the column label, slanted up and to the right from the column */
		mp_strbuf_addf(sb,
			       "<text transform=\"translate(%.1f %d) rotate(-45)\" text-anchor=\"start\" "
			       "font-family=\"sans-serif\" font-size=\"11\">",
			       left + cell * (r + 0.5) - 3, top - 6);
		mp_xml_escape(sb, labels[r]);
		mp_strbuf_adds(sb, "</text>\n");
	}
	mp_strbuf_adds(sb, "</svg>\n");
}

/* A state's fill and text colours: ran dark, cached light, failed and
 * canceled hatched apart by their label (the label is always written). */
static void state_colours(const char *state, const char **fill, const char **ink)
{
	*ink = "#111111";
	if (!strcmp(state, "COMPLETE")) {
		*fill = "#2f6b3a";
		*ink = "#ffffff";
	} else if (!strcmp(state, "CACHED")) {
		*fill = "#cfe3f5";
	} else if (!strcmp(state, "FAILED")) {
		*fill = "#b3261e";
		*ink = "#ffffff";
	} else if (!strcmp(state, "CANCELED")) {
		*fill = "#e6e6e6";
	} else {
		*fill = "#f3d9a4"; /* running, new */
	}
}

void mp_svg_dag(mp_strbuf *sb, const mp_dag_node *nodes, size_t n, const int *from, const int *to, size_t nedges)
{
	int bw = 150, bh = 58, gapx = 50, gapy = 18, levels = 0, rows = 0, *row = NULL, *count = NULL, w, h;
	size_t i;

	for (i = 0; i < n; i++)
		if (nodes[i].level + 1 > levels)
			levels = nodes[i].level + 1;
	if (!(row = mp_calloc(n + 1, sizeof(int))) || !(count = mp_calloc((size_t)levels + 1, sizeof(int)))) {
		free(row);
		free(count);
		return;
	}
	for (i = 0; i < n; i++) {
		row[i] = count[nodes[i].level]++;
		if (count[nodes[i].level] > rows)
			rows = count[nodes[i].level];
	}
	w = 20 + levels * (bw + gapx);
	h = 40 + rows * (bh + gapy);
	svg_open(sb, w, h, "the pipeline");
	mp_strbuf_adds(sb, "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" "
			   "markerHeight=\"7\" orient=\"auto\"><path d=\"M0 0L10 5L0 10Z\" fill=\"#555555\"/></marker></defs>\n");
#define BX(k) (10 + nodes[k].level * (bw + gapx))
#define BY(k) (30 + row[k] * (bh + gapy))
	for (i = 0; i < nedges; i++) {
		int a = from[i], b = to[i];

		mp_strbuf_addf(sb,
			       "<path d=\"M%d %dC%d %d %d %d %d %d\" fill=\"none\" stroke=\"#555555\" "
			       "marker-end=\"url(#arrow)\"/>\n",
			       BX(a) + bw, BY(a) + bh / 2, BX(a) + bw + gapx / 2, BY(a) + bh / 2, BX(b) - gapx / 2,
			       BY(b) + bh / 2, BX(b), BY(b) + bh / 2);
	}
	for (i = 0; i < n; i++) {
		const char *fill, *ink;
		char line[96], ink_attr[64];

		state_colours(nodes[i].state, &fill, &ink);
		snprintf(ink_attr, sizeof(ink_attr), "fill=\"%s\"", ink);
		mp_strbuf_addf(sb,
			       "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\" fill=\"%s\" stroke=\"#333333\"%s/>\n",
			       BX(i), BY(i), bw, bh, fill,
			       !strcmp(nodes[i].state, "CANCELED") || !strcmp(nodes[i].state, "FAILED")
				       ? " stroke-dasharray=\"5 3\" stroke-width=\"2\""
				       : "");
		snprintf(ink_attr, sizeof(ink_attr), "fill=\"%s\" font-weight=\"bold\"", ink);
		text(sb, BX(i) + bw / 2.0, BY(i) + 17, "middle", ink_attr, nodes[i].id);
		snprintf(ink_attr, sizeof(ink_attr), "fill=\"%s\" font-size=\"11\"", ink);
		text(sb, BX(i) + bw / 2.0, BY(i) + 32, "middle", ink_attr, nodes[i].type);
		if (nodes[i].seconds >= 0)
			snprintf(line, sizeof(line), "%s %.1fs", !strcmp(nodes[i].state, "COMPLETE") ? "ran" : nodes[i].state,
				 nodes[i].seconds);
		else
			snprintf(line, sizeof(line), "%s", nodes[i].state);
		/* lower case reads better: ran, cached, failed, canceled */
		for (char *p = line; *p && *p != ' '; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		text(sb, BX(i) + bw / 2.0, BY(i) + 48, "middle", ink_attr, line);
	}
#undef BX
#undef BY
	mp_strbuf_adds(sb, "</svg>\n");
	free(row);
	free(count);
}
