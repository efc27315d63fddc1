/* The history report: a pipeline's runs over time (see report.h). */
#include "report/report.h"
#include "report/html.h"
#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the history report -------------------------------------------------- */

static double metric_of(const mp_execution *e, const char *name)
{
	size_t i;
	double v = NAN;

	for (i = 0; i < e->nmetrics; i++)
		if (!strcmp(e->metrics[i].name, name) && mp_execution_metric_is_summary(e, i))
			v = e->metrics[i].value;
	return v;
}

/* The number after '#' in a run's name, or fallback. */
static double run_number(const mp_run *r, double fallback)
{
	const char *h = strrchr(r->name, '#');
	double v = h ? mp__html_num(h + 1) : NAN;

	return isnan(v) ? fallback : v;
}

/* One value per run (x: the run numbers), titled by what it is; marks say
 * what became of each run's model; share: the y axis is 0 to 1. */
static void run_chart(mp_strbuf *sb, const char *title, const char *ylabel, const double *x, const double *y, size_t n,
		      const int *marks, int share)
{
	mp_series se = {title, x, y, n, marks};
	mp_chart c = {0};

	c.title = title;
	c.xlabel = "run";
	c.ylabel = ylabel;
	c.series = &se;
	c.nseries = 1;
	c.x_integer = 1;
	c.width = 520;
	c.height = marks ? 280 : 260;
	c.note = marks ? "filled: pushed   ring: blessed, not pushed   cross: not blessed" : NULL;
	c.y_fixed = share;
	c.ymax = 1;
	mp_svg_line_chart(sb, &c);
}

/* One chart per metric the Evaluators recorded, across the runs (vals is
 * scratch of n values). */
static void quality_charts(mp_strbuf *sb, const mp_execution_list *ex, size_t n, const char *const *names,
			   size_t nnames, const double *x, double *vals, const int *marks)
{
	size_t i, k;

	for (k = 0; k < nnames; k++) {
		for (i = 0; i < n; i++) {
			size_t j;

			vals[i] = NAN;
			for (j = 0; j < ex[i].n; j++) {
				double v = strcmp(ex[i].items[j].type, "Evaluator") ? NAN : metric_of(&ex[i].items[j], names[k]);

				if (!isnan(v))
					vals[i] = v;
			}
		}
		run_chart(sb, names[k], NULL, x, vals, n, marks, 0);
	}
}

/* The runs, newest first. */
static void runs_table(mp_strbuf *sb, const mp_run_list *runs, const double *dur, const int *blessed,
		       const int *pushed_v)
{
	char t1[32];
	size_t i;

	mp_strbuf_adds(sb, "<table><tr><th>run</th><th>state</th><th>started</th><th>took</th><th>ran</th>"
			   "<th>cached</th><th>blessed</th><th>pushed</th></tr>\n");
	for (i = runs->n; i-- > 0;) {
		const mp_run *r = &runs->items[i];

		mp_strbuf_adds(sb, "<tr>");
		mp__html_el(sb, "td", NULL, r->name);
		mp__html_el(sb, "td", !strcmp(r->state, "COMPLETE") ? NULL : "bad", r->state);
		mp__html_el(sb, "td", NULL, mp__html_show_ms(r->start_ms, t1, sizeof(t1)));
		mp__html_cell_num(sb, dur[i]);
		mp__html_cell_num(sb, r->executed);
		mp__html_cell_num(sb, r->cached);
		mp__html_el(sb, "td", blessed[i] == 1 ? "ok" : blessed[i] == 0 ? "bad" : "muted",
		   blessed[i] == 1 ? "yes \u2713" : blessed[i] == 0 ? "no \u2717" : "-");
		mp__html_el(sb, "td", pushed_v[i] ? "ok" : "muted", pushed_v[i] ? "pushed" : "-");
		mp_strbuf_adds(sb, "</tr>\n");
	}
	mp_strbuf_adds(sb, "</table>\n");
}

int mp_report_history(mp_store *st, const char *pipeline, mp_strbuf *sb, mp_err *err)
{
	mp_run_list runs = {0};
	mp_execution_list *ex = NULL;
	double *x = NULL, *dur = NULL, *hit = NULL, *vals = NULL;
	int *marks = NULL, *blessed = NULL, *pushed_v = NULL;
	char **names = NULL, title[256];
	size_t i, k, n, nnames = 0;
	int rc;

	if ((rc = mp_store_list_runs(st, pipeline, 0, &runs, err)) != 0)
		return rc;
	n = runs.n;
	if (!n) {
		rc = mp_error(err, MP_ENOTFOUND, "the store has no runs of pipeline '%s'", pipeline);
		goto out;
	}
	if (!(ex = mp_calloc(n, sizeof(*ex))) || !(x = mp_calloc(n, sizeof(double))) || !(dur = mp_calloc(n, sizeof(double))) ||
	    !(hit = mp_calloc(n, sizeof(double))) || !(vals = mp_calloc(n, sizeof(double))) ||
	    !(marks = mp_calloc(n, sizeof(int))) || !(blessed = mp_calloc(n, sizeof(int))) ||
	    !(pushed_v = mp_calloc(n, sizeof(int))) || !(names = mp_calloc(64, sizeof(char *)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	/* oldest first */
	for (i = 0; i < n / 2; i++) {
		mp_run tmp = runs.items[i];

		runs.items[i] = runs.items[n - 1 - i];
		runs.items[n - 1 - i] = tmp;
	}
	for (i = 0; i < n; i++) {
		const mp_run *r = &runs.items[i];
		int total = r->executed + r->cached;

		if ((rc = mp_store_run_executions(st, r->id, &ex[i], err)) != 0)
			goto out;
		x[i] = run_number(r, (double)(i + 1));
		dur[i] = r->end_ms ? (double)(r->end_ms - r->start_ms) / 1000.0 : NAN;
		hit[i] = total ? (double)r->cached / total : NAN;
		blessed[i] = -1;
		for (k = 0; k < ex[i].n; k++) {
			const mp_execution *e = &ex[i].items[k];
			size_t m;

			if (!strcmp(e->type, "Evaluator")) {
				double b = metric_of(e, "blessed");

				if (!isnan(b))
					blessed[i] = b > 0.5;
				for (m = 0; m < e->nmetrics; m++) {
					size_t j;

					if (!strcmp(e->metrics[m].name, "blessed"))
						continue;
					for (j = 0; j < nnames && strcmp(names[j], e->metrics[m].name); j++)
						;
					if (j == nnames && nnames < 64)
						names[nnames++] = e->metrics[m].name;
				}
			} else if (!strcmp(e->type, "Pusher") && strcmp(e->state, "CACHED") != 0 &&
				   metric_of(e, "pushed") > 0.5) {
				pushed_v[i] = 1; /* a new push (a cached Pusher pushed nothing new) */
			}
		}
		marks[i] = pushed_v[i] ? MP_MARK_FILLED : blessed[i] == 1 ? MP_MARK_RING : blessed[i] == 0 ? MP_MARK_CROSS
											   : MP_MARK_FILLED;
	}
	snprintf(title, sizeof(title), "%s: history of %zu runs", pipeline, n);
	mp__html_page_open(sb, title);
	mp_strbuf_adds(sb, "<h2>Model quality across runs</h2>\n<div class=\"charts\">\n");
	quality_charts(sb, ex, n, (const char *const *)names, nnames, x, vals, marks);
	if (!nnames)
		mp__html_el(sb, "p", "muted", "no Evaluator has measured a model in these runs");
	mp_strbuf_adds(sb, "</div>\n<h2>Runs</h2>\n<div class=\"charts\">\n");
	run_chart(sb, "run duration", "seconds", x, dur, n, NULL, 0);
	run_chart(sb, "cache hits", "share of components cached", x, hit, n, NULL, 1);
	mp_strbuf_adds(sb, "</div>\n");
	runs_table(sb, &runs, dur, blessed, pushed_v);
	mp__html_page_close(sb);
	if (sb->failed)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
out:
	for (i = 0; ex && i < n; i++)
		mp_execution_list_release(&ex[i]);
	free(ex);
	free(x);
	free(dur);
	free(hit);
	free(vals);
	free(marks);
	free(blessed);
	free(pushed_v);
	free(names);
	mp_run_list_release(&runs);
	return rc;
}
