/* A small SVG writer for the reports: line charts, bar charts, a heat map
 * and a DAG, written as text into a buffer, to be inlined in HTML.
 *
 * Charts have axes with "nice" ticks (1, 2 or 5 times a power of ten), a
 * legend, and series told apart by colour, lightness, dash pattern and
 * marker shape together, so they read in grey too.  Every piece of text
 * passes through mp_xml_escape.  The output is well-formed XML (the tests
 * check it with xmllint).
 */
#ifndef MP_ORCHESTRATOR_SVG_H
#define MP_ORCHESTRATOR_SVG_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Appends s with & < > " ' escaped, for text and attribute values. */
void mp_xml_escape(mp_strbuf *sb, const char *s);

/* Ticks covering [lo, hi]: about want of them at multiples of 1, 2 or 5
 * times a power of ten.  *first and *step describe them; returns how many. */
int mp_nice_ticks(double lo, double hi, int want, double *first, double *step);
/* A tick's label, with as many decimals as step needs. */
const char *mp_tick_label(double v, double step, char *buf, size_t n);

enum { MP_MARK_NONE = 0, MP_MARK_FILLED = 1, MP_MARK_RING = 2, MP_MARK_CROSS = 3 };

typedef struct mp_series {
	const char *name;
	const double *x, *y; /* NaN y: a gap */
	size_t n;
	const int *marks; /* per point MP_MARK_*, or NULL: the series' own marker */
} mp_series;

typedef struct mp_chart {
	const char *title, *xlabel, *ylabel;
	int width, height;
	const mp_series *series;
	size_t nseries;
	int x_integer; /* ticks on whole numbers only (epochs, runs) */
	int y_fixed;   /* the y axis spans [ymin, ymax] whatever the data */
	double ymin, ymax;
	const char *note; /* a line under the chart (a legend for marks), or NULL */
	int points;	  /* markers only, no lines between them (a scatter plot) */
} mp_chart;

void mp_svg_line_chart(mp_strbuf *sb, const mp_chart *c);

/* Vertical bars: one per value, labelled below (histogram bins, top
 * values). */
void mp_svg_bars(mp_strbuf *sb, const char *title, const char *const *labels, const double *values, size_t n,
		 int width, int height);

/* An n x n matrix of counts (rows: true class, columns: predicted), each
 * cell shaded by its share of its row, with the count written in it. */
void mp_svg_heatmap(mp_strbuf *sb, const char *title, const char *const *labels, const int64_t *counts, int n);

typedef struct mp_dag_node {
	const char *id, *type, *state; /* state: COMPLETE, CACHED, FAILED, CANCELED, RUNNING, ... */
	double seconds;		       /* < 0: unknown */
	int level;		       /* column, from 0 */
} mp_dag_node;

/* Boxes in columns by level, edges as arrows from[i] -> to[i]; each box
 * says its id, type, state and duration, and is filled by state. */
void mp_svg_dag(mp_strbuf *sb, const mp_dag_node *nodes, size_t n, const int *from, const int *to, size_t nedges);

#endif
