/* The HTML reports: see report.h. */
#include "report/report.h"
#include "report/html.h"
#include "eval/evaluation.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "core/tsv.h"
#include "data/examples.h"
#include "data/stats.h"
#include "export/export.h"
#include "report/svg.h"

#define MAX_FIELDS 64
#define MAX_HISTOGRAMS 12

/* ---- artifacts' files ---------------------------------------------------- */

/* The lines of dir/file, each split at tabs (unescaped) into fields; NULL
 * when the file cannot be read.  Free with free_lines. */
typedef struct tsv {
	char *text;
	char ***rows; /* rows[i][k], NULL-terminated per row */
	size_t n;
} tsv;

static void free_tsv(tsv *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->rows[i]);
	free(t->rows);
	free(t->text);
	memset(t, 0, sizeof(*t));
}

static int read_tsv(tsv *t, const char *dir, const char *file)
{
	char *path = mp_asprintf("%s/%s", dir, file), *cur, *line;
	size_t alloc = 0;

	memset(t, 0, sizeof(*t));
	if (!path || mp_read_file(path, &t->text, NULL, NULL) != 0) {
		free(path);
		return -1;
	}
	free(path);
	for (cur = t->text; (line = mp_text_line(&cur));) {
		char **f = mp_calloc(MAX_FIELDS + 1, sizeof(char *));

		if (!f || mp_grow((void **)&t->rows, &alloc, t->n, sizeof(*t->rows)) != 0) {
			free(f);
			break;
		}
		mp_tsv_fields(line, f, MAX_FIELDS, 0);
		t->rows[t->n++] = f;
	}
	return 0;
}

static size_t nfields(char **f)
{
	size_t k = 0;

	while (f[k])
		k++;
	return k;
}

static const mp_event_row *event(const mp_execution *e, int is_output, const char *name)
{
	size_t i;

	for (i = 0; i < e->nevents; i++)
		if (e->events[i].is_output == is_output && (!name || !strcmp(e->events[i].name, name)))
			return &e->events[i];
	return NULL;
}

/* A section's heading ("what: component"), then the output's file read
 * into t; 0, or -1 after saying the artifact is gone. */
static int section(mp_strbuf *sb, const char *tag, const char *what, const mp_execution *e, const char *output,
		   const char *file, tsv *t)
{
	const mp_event_row *ev = event(e, 1, output);

	mp_strbuf_addf(sb, "<%s>%s: ", tag, what);
	mp__html_esc(sb, e->component_id);
	mp_strbuf_addf(sb, "</%s>\n", tag);
	if (!file)
		return 0;
	if (!ev || read_tsv(t, ev->uri, file) != 0) {
		mp_strbuf_adds(sb, "<p class=\"muted\">the ");
		mp__html_esc(sb, output);
		mp_strbuf_adds(sb, " artifact is not there any more</p>\n");
		return -1;
	}
	return 0;
}

/* ---- the run report ------------------------------------------------------ */

/* The DAG from the input events: an edge from the component that made an
 * input to the one that read it. */
static void dag(mp_store *st, const mp_execution *const *ex, size_t n, mp_strbuf *sb)
{
	mp_dag_node *nodes = mp_calloc(n + 1, sizeof(*nodes));
	int *from = mp_calloc(n * n + 1, sizeof(int)), *to = mp_calloc(n * n + 1, sizeof(int));
	size_t i, k, ne = 0, pass;

	if (!nodes || !from || !to)
		goto out;
	for (i = 0; i < n; i++) {
		const mp_execution *e = ex[i];
		mp_execution src = {0};
		const mp_execution *withev = e;

		nodes[i].id = e->component_id;
		nodes[i].type = e->type;
		nodes[i].state = e->state;
		nodes[i].seconds = e->end_ms && e->start_ms ? (double)(e->end_ms - e->start_ms) / 1000.0 : -1;
		if (!event(e, 0, NULL) && e->cached_from && mp_store_get_execution(st, e->cached_from, &src, NULL) == 0)
			withev = &src; /* a cached execution: the inputs of the one it reused */
		for (k = 0; k < withev->nevents; k++) {
			mp_artifact a = {0};
			size_t j;

			if (withev->events[k].is_output || mp_store_get_artifact(st, withev->events[k].artifact_id, &a, NULL) != 0)
				continue;
			for (j = 0; j < n && a.producer; j++) {
				size_t d;

				if (j == i || strcmp(ex[j]->component_id, a.producer) != 0)
					continue;
				for (d = 0; d < ne && !(from[d] == (int)j && to[d] == (int)i); d++)
					;
				if (d == ne) {
					from[ne] = (int)j;
					to[ne++] = (int)i;
				}
			}
			mp_artifact_release(&a);
		}
		mp_execution_release(&src);
	}
	/* levels: the longest path from a source */
	for (pass = 0; pass < n; pass++)
		for (k = 0; k < ne; k++)
			if (nodes[to[k]].level < nodes[from[k]].level + 1 && nodes[from[k]].level + 1 < (int)n)
				nodes[to[k]].level = nodes[from[k]].level + 1;
	mp_svg_dag(sb, nodes, n, from, to, ne);
out:
	free(nodes);
	free(from);
	free(to);
}

/* One chart of the metrics still left (left[i] set) whose name contains
 * part, or is name when exact; their rows are marked drawn either way. */
static void plot_group(const mp_execution *e, int *left, const char *part, int exact, mp_strbuf *sb)
{
	const char *names[8];
	mp_series se[8];
	double *xy;
	size_t i, s, nn = 0, cnt;

	for (i = 0; i < e->nmetrics; i++) {
		const char *m = e->metrics[i].name;

		if (!left[i] || (exact ? strcmp(m, part) != 0 : !strstr(m, part)))
			continue;
		for (s = 0; s < nn && strcmp(names[s], m); s++)
			;
		if (s == nn && nn < 8)
			names[nn++] = m;
	}
	if (!nn)
		return;
	xy = mp_calloc(2 * nn * e->nmetrics, sizeof(double));
	for (s = 0; s < nn; s++) {
		double *x = xy ? xy + 2 * s * e->nmetrics : NULL, *y = x ? x + e->nmetrics : NULL;

		for (i = 0, cnt = 0; i < e->nmetrics; i++)
			if (!strcmp(e->metrics[i].name, names[s])) {
				if (x && e->metrics[i].step > 0) { /* step 0 is the summary, not an epoch */
					x[cnt] = (double)e->metrics[i].step;
					y[cnt++] = e->metrics[i].value;
				}
				left[i] = 0;
			}
		se[s] = (mp_series){names[s], x, y, cnt, NULL};
	}
	if (xy) {
		mp_chart c = {0};

		c.title = part;
		c.xlabel = "epoch";
		c.ylabel = part;
		c.series = se;
		c.nseries = nn;
		c.x_integer = 1;
		mp_svg_line_chart(sb, &c);
	}
	free(xy);
}

/* Per-epoch curves: every metric with more than one step; the losses on
 * one chart, the accuracies on another, anything else on its own. */
static void curves(const mp_execution *e, mp_strbuf *sb)
{
	int *left = mp_calloc(e->nmetrics + 1, sizeof(int)), any = 0;
	size_t i, k;

	if (!left)
		return;
	for (i = 0; i < e->nmetrics; i++)
		for (k = 0; k < e->nmetrics && !left[i]; k++)
			if (k != i && !strcmp(e->metrics[k].name, e->metrics[i].name) && e->metrics[k].step > 0 &&
			    e->metrics[i].step > 0 && e->metrics[k].step != e->metrics[i].step)
				any = left[i] = 1; /* recorded at more than one epoch */
	if (any) {
		mp_strbuf_adds(sb, "<h3>");
		mp__html_esc(sb, e->component_id);
		mp_strbuf_adds(sb, ": per epoch</h3>\n<div class=\"charts\">\n");
		plot_group(e, left, "loss", 0, sb);
		plot_group(e, left, "accuracy", 0, sb);
		for (i = 0; i < e->nmetrics; i++)
			if (left[i])
				plot_group(e, left, e->metrics[i].name, 1, sb);
		mp_strbuf_adds(sb, "</div>\n");
	}
	free(left);
}

/* The blessing: the verdict and each threshold. */
static void blessing(const mp_execution *e, mp_strbuf *sb)
{
	static const char *const cls[] = {"ok", "bad", "muted"}, *const text[] = {"held \u2713", "failed \u2717",
										  "no baseline"};
	const mp_event_row *bl = event(e, 1, "blessing");
	mp_blessing b;
	size_t i;

	if (!bl || mp_blessing_read(&b, bl->uri, NULL) != 0)
		return;
	mp_strbuf_adds(sb, "<h3>Blessing: ");
	mp__html_el(sb, "span", b.blessed ? "ok" : "bad", b.blessed ? "blessed \u2713" : "not blessed \u2717");
	mp_strbuf_adds(sb, "</h3>\n<table><tr><th>metric</th><th>threshold</th><th>limit</th><th>value</th>"
			   "<th>baseline</th><th>result</th></tr>\n");
	for (i = 0; i < b.nthresholds; i++) {
		const mp_threshold_row *t = &b.thresholds[i];

		mp_strbuf_adds(sb, "<tr>");
		mp__html_el(sb, "td", NULL, t->metric);
		mp__html_el(sb, "td", NULL, t->kind);
		mp__html_cell_num(sb, t->limit);
		mp__html_cell_num(sb, t->value);
		if (t->has_baseline)
			mp__html_cell_num(sb, t->baseline);
		else
			mp__html_el(sb, "td", "muted", "-");
		mp__html_el(sb, "td", cls[t->result], text[t->result]);
		mp_strbuf_adds(sb, "</tr>\n");
	}
	mp_strbuf_adds(sb, "</table>\n");
	mp_blessing_release(&b);
}

/* Per class (named by the model, when it loads), and the confusion matrix. */
static void classes(const mp_evaluation *ev, const mp_execution *e, mp_strbuf *sb)
{
	const mp_event_row *mo = event(e, 0, "model");
	size_t i, ncls = ev->nclasses;
	mp_served model = {0};
	int have_model = 0;
	char **labels;

	if (!ncls)
		return;
	if (mo) {
		char *path = mp_asprintf("%s/model.mlpm", mo->uri);

		have_model = path && mp_served_load(&model, path, 1, NULL) == 0;
		free(path);
	}
	labels = mp_calloc(ncls, sizeof(char *));
	for (i = 0; labels && i < ncls; i++)
		labels[i] = have_model && model.nclass == (int)ncls ? mp_strdup(model.class_names[i]) : mp_asprintf("%zu", i);
	mp_strbuf_adds(sb, "<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n");
	for (i = 0; i < ncls; i++) {
		char idx[32];

		snprintf(idx, sizeof(idx), "%zu", i);
		mp_strbuf_adds(sb, "<tr>");
		mp__html_el(sb, "td", NULL, labels && labels[i] ? labels[i] : idx);
		mp__html_cell_num(sb, ev->classes[i].precision);
		mp__html_cell_num(sb, ev->classes[i].recall);
		mp__html_cell_num(sb, ev->classes[i].f1);
		mp__html_cell_num(sb, (double)ev->classes[i].support);
		mp_strbuf_adds(sb, "</tr>\n");
	}
	mp_strbuf_adds(sb, "</table>\n");
	if (labels && ev->confusion) {
		for (i = 0; i < ncls && labels[i]; i++)
			;
		if (i == ncls)
			mp_svg_heatmap(sb, "confusion matrix (shade: share of the true class)", (const char *const *)labels,
				       ev->confusion, (int)ncls);
	}
	for (i = 0; labels && i < ncls; i++)
		free(labels[i]);
	free(labels);
	if (have_model)
		mp_served_release(&model);
}

static void slices(const mp_evaluation *ev, mp_strbuf *sb)
{
	size_t i, k;

	if (!ev->nslices)
		return;
	mp_strbuf_adds(sb, "<h3>Slices</h3>\n<table><tr><th>feature</th><th>value</th><th>examples</th>");
	for (k = 0; k < ev->slices[0].nmetrics; k++)
		mp__html_el(sb, "th", NULL, ev->slices[0].metrics[k].name);
	mp_strbuf_adds(sb, "</tr>\n");
	for (i = 0; i < ev->nslices; i++) {
		const mp_slice_row *s = &ev->slices[i];

		mp_strbuf_adds(sb, "<tr>");
		mp__html_el(sb, "td", NULL, s->feature);
		mp__html_el(sb, "td", NULL, s->value);
		mp__html_cell_num(sb, (double)s->examples);
		for (k = 0; k < s->nmetrics; k++)
			mp__html_cell_num(sb, s->metrics[k].value);
		mp_strbuf_adds(sb, "</tr>\n");
	}
	mp_strbuf_adds(sb, "</table>\n");
}

static void evaluation(mp_store *st, const mp_execution *e, mp_strbuf *sb)
{
	const mp_event_row *out = event(e, 1, "evaluation");
	mp_evaluation ev;
	size_t i;

	(void)st;
	section(sb, "h2", "Evaluation", e, "evaluation", NULL, NULL);
	if (!out || mp_evaluation_read(&ev, out->uri, NULL) != 0) {
		mp_strbuf_adds(sb, "<p class=\"muted\">the evaluation artifact is not there any more</p>\n");
		blessing(e, sb);
		return;
	}
	mp_strbuf_adds(sb, "<table><tr><th>metric</th><th>value</th></tr>\n");
	for (i = 0; i < ev.nmetrics; i++) {
		mp_strbuf_adds(sb, "<tr>");
		mp__html_el(sb, "td", NULL, ev.metrics[i].name);
		mp__html_cell_num(sb, ev.metrics[i].value);
		mp_strbuf_adds(sb, "</tr>\n");
	}
	mp_strbuf_adds(sb, "</table>\n");
	classes(&ev, e, sb);
	slices(&ev, sb);
	mp_evaluation_release(&ev);
	blessing(e, sb);
}

static int cmp_index(const void *a, const void *b)
{
	return *(const size_t *)a < *(const size_t *)b ? -1 : *(const size_t *)a > *(const size_t *)b;
}

/* Orders features by how much they vary: strings first, then numbers by
 * falling standard deviation (qsort has no context: a file-level one). */
static const mp_split_stats *by_variety;

static int cmp_variety(const void *a, const void *b)
{
	const mp_feat_stats *x = &by_variety->feats[*(const size_t *)a], *y = &by_variety->feats[*(const size_t *)b];
	double vx = x->type == MP_FEAT_STRING ? INFINITY : x->std, vy = y->type == MP_FEAT_STRING ? INFINITY : y->std;

	if (vx != vy)
		return vx > vy ? -1 : 1;
	return cmp_index(a, b);
}

static void statistics(const mp_execution *e, mp_strbuf *sb)
{
	const mp_event_row *ev = event(e, 1, "statistics");
	const mp_split_stats *sp;
	mp_stats s = {0};
	size_t f, shown = 0, *order = NULL;

	section(sb, "h2", "Data", e, "statistics", NULL, NULL);
	if (!ev || mp_stats_read(&s, ev->uri, NULL) != 0 || !s.nsplits) {
		mp__html_el(sb, "p", "muted", "the statistics artifact is not there any more");
		mp_stats_release(&s);
		return;
	}
	sp = mp_stats_split(&s, "train") ? mp_stats_split(&s, "train") : &s.splits[0];
	mp_strbuf_adds(sb, "<table><tr><th>split</th><th>examples</th></tr>\n");
	for (f = 0; f < s.nsplits; f++) {
		mp_strbuf_adds(sb, "<tr>");
		mp__html_el(sb, "td", NULL, s.splits[f].name);
		mp__html_cell_num(sb, (double)s.splits[f].rows);
		mp_strbuf_adds(sb, "</tr>\n");
	}
	mp_strbuf_adds(sb, "</table>\n<p>The split <code>");
	mp__html_esc(sb, sp->name);
	if (sp->nfeats > MAX_HISTOGRAMS)
		mp_strbuf_addf(sb, "</code>: the %d features that vary most (strings first, then numbers by standard "
				   "deviation):</p>\n",
			       MAX_HISTOGRAMS);
	else
		mp_strbuf_adds(sb, "</code>, feature by feature:</p>\n");
	mp_strbuf_adds(sb, "<div class=\"charts\">\n");
	if (!(order = mp_calloc(sp->nfeats + 1, sizeof(size_t)))) {
		mp_stats_release(&s);
		return;
	}
	for (f = 0; f < sp->nfeats; f++)
		order[f] = f;
	if (sp->nfeats > MAX_HISTOGRAMS) {
		by_variety = sp;
		qsort(order, sp->nfeats, sizeof(size_t), cmp_variety);
		qsort(order, MAX_HISTOGRAMS, sizeof(size_t), cmp_index); /* shown in file order */
	}
	for (f = 0; f < sp->nfeats && shown < MAX_HISTOGRAMS; f++, shown++) {
		const mp_feat_stats *fs = &sp->feats[order[f]];
		char title[160], lab[MP_HIST_BINS][32];
		const char *labels[MP_STATS_TOP];
		double vals[MP_STATS_TOP];
		size_t k, n = 0;

		if (fs->type == MP_FEAT_FLOAT) {
			double w = (fs->max - fs->min) / MP_HIST_BINS;

			snprintf(title, sizeof(title), "%.60s: mean %.4g, missing %lld", fs->name, fs->mean, (long long)fs->missing);
			for (k = 0; k < MP_HIST_BINS; k++) {
				snprintf(lab[k], sizeof(lab[k]), "%.4g-%.4g", fs->min + w * (double)k, fs->min + w * (double)(k + 1));
				labels[k] = lab[k];
				vals[k] = (double)fs->hist[k];
			}
			n = MP_HIST_BINS;
		} else {
			snprintf(title, sizeof(title), "%.60s: %lld distinct, missing %lld", fs->name, (long long)fs->unique,
				 (long long)fs->missing);
			for (k = 0; k < fs->nvalues && k < MP_STATS_TOP; k++) {
				labels[k] = fs->values[k].value;
				vals[k] = (double)fs->values[k].count;
			}
			n = k;
		}
		mp_svg_bars(sb, title, labels, vals, n, 260, 170);
	}
	free(order);
	mp_strbuf_adds(sb, "</div>\n");
	if (sp->nfeats > shown)
		mp_strbuf_addf(sb, "<p class=\"muted\">and %zu more features (<code>mlpipe meta stats</code> lists them all)</p>\n",
			       sp->nfeats - shown);
	mp_stats_release(&s);
}

static void anomalies(const mp_execution *e, mp_strbuf *sb)
{
	size_t i, n = 0;
	tsv t;

	if (section(sb, "h3", "Anomalies", e, "anomalies", "anomalies.tsv", &t) != 0)
		return;
	for (i = 1; i < t.n; i++) {
		char **f = t.rows[i];

		if (nfields(f) < 4)
			continue;
		if (!n++)
			mp_strbuf_adds(sb, "<table><tr><th>split</th><th>feature</th><th>anomaly</th><th>detail</th></tr>\n");
		mp_strbuf_adds(sb, "<tr class=\"bad\">");
		mp__html_el(sb, "td", NULL, f[0]);
		mp__html_el(sb, "td", NULL, f[1]);
		mp__html_el(sb, "td", NULL, f[2]);
		mp__html_el(sb, "td", NULL, f[3]);
		mp_strbuf_adds(sb, "</tr>\n");
	}
	if (n)
		mp_strbuf_adds(sb, "</table>\n");
	else
		mp__html_el(sb, "p", "ok", "none \u2713");
	free_tsv(&t);
}

/* An importance.tsv of output (a model's: boosted trees' gain shares; an
 * evaluation's: permutation importance) as bars, the largest 20, value in
 * column col; nothing when there is none. */
static void importance(const mp_execution *e, const char *output, size_t col, const char *what, mp_strbuf *sb)
{
	const mp_event_row *ev = event(e, 1, output);
	const char *labels[20];
	double values[20];
	size_t i, n = 0;
	tsv t;

	if (!ev || read_tsv(&t, ev->uri, "importance.tsv") != 0)
		return;
	for (i = 1; i < t.n && n < MP_COUNTOF(values); i++) {
		char **f = t.rows[i], *end;

		if (nfields(f) <= col)
			continue;
		values[n] = strtod(f[col], &end);
		if (*end || !isfinite(values[n]))
			continue;
		labels[n++] = f[0];
	}
	if (n) {
		mp_strbuf_adds(sb, "<h3>Feature importance: ");
		mp__html_esc(sb, e->component_id);
		mp_strbuf_adds(sb, "</h3>\n");
		mp_svg_bars(sb, what, labels, values, n, 640, 260);
	}
	free_tsv(&t);
}

/* ---- the Tuner ------------------------------------------------------------ */

#define TRIAL_COLS 7 /* trials.tsv: trial rung budget status objective start end, then the paths */
#define MAX_RUNGS 16  /* the most a search has (the Tuner's MP_TUNE_MAX_RUNGS) */

/* A searched value as a position on the x axis: the number, its log10
 * when the numbers span two decades or more, or the category's index. */
typedef struct axis {
	int numeric, log;
	const char *cats[16];
	size_t ncats;
} axis;

static void fit_axis(axis *a, const tsv *t, size_t col)
{
	double lo = INFINITY, hi = -INFINITY, v;
	size_t i, k;
	char *end;

	memset(a, 0, sizeof(*a));
	a->numeric = 1;
	for (i = 1; i < t->n && nfields(t->rows[i]) > col; i++) {
		v = strtod(t->rows[i][col], &end);
		if (*end || !*t->rows[i][col]) {
			a->numeric = 0;
			for (k = 0; k < a->ncats && strcmp(a->cats[k], t->rows[i][col]); k++)
				;
			if (k == a->ncats && k < MP_COUNTOF(a->cats))
				a->cats[a->ncats++] = t->rows[i][col];
		}
		lo = fmin(lo, v);
		hi = fmax(hi, v);
	}
	a->log = a->numeric && lo > 0 && hi / lo >= 100;
}

static double place(const axis *a, const char *s)
{
	size_t k;

	if (a->numeric)
		return a->log ? log10(strtod(s, NULL)) : strtod(s, NULL);
	for (k = 0; k < a->ncats && strcmp(a->cats[k], s); k++)
		;
	return k < a->ncats ? (double)k : NAN;
}

/* Each trial's objective against one searched value (the trial's last
 * rung), the best trial marked apart. */
static void trial_chart(const tsv *t, size_t col, const char *objective, int best, mp_strbuf *sb)
{
	double *x = mp_calloc(t->n, sizeof(double)), *y = mp_calloc(t->n, sizeof(double)), bx = NAN, by = NAN;
	char xlabel[300], note[600] = "";
	size_t i, j, m = 0, o = 0, k;
	mp_series se[2];
	mp_chart c;
	axis a;

	if (!x || !y)
		goto out;
	fit_axis(&a, t, col);
	for (i = 1; i < t->n; i++) {
		char **f = t->rows[i];
		int later = 0;

		if (nfields(f) <= col || !strcmp(f[3], "failed"))
			continue;
		for (j = i + 1; j < t->n; j++) /* only the trial's last rung */
			later |= nfields(t->rows[j]) > col && !strcmp(t->rows[j][0], f[0]) && strcmp(t->rows[j][3], "failed");
		if (later)
			continue;
		x[m] = place(&a, f[col]);
		y[m] = strtod(f[4], NULL);
		if (atoi(f[0]) == best)
			bx = x[m], by = y[m];
		m++;
	}
	snprintf(xlabel, sizeof(xlabel), "%s%s%s", a.log ? "log10 " : "", t->rows[0][col],
		 a.numeric ? "" : " (categories)");
	for (k = 0; !a.numeric && k < a.ncats && o < sizeof(note) - 60; k++)
		o += (size_t)snprintf(note + o, sizeof(note) - o, "%s%zu: %.40s", k ? ", " : "", k, a.cats[k]);
	se[0] = (mp_series){"trials", x, y, m, NULL};
	se[1] = (mp_series){"best", &bx, &by, 1, NULL};
	memset(&c, 0, sizeof(c));
	c.title = t->rows[0][col];
	c.xlabel = xlabel;
	c.ylabel = objective;
	c.width = 320;
	c.height = 240;
	c.series = se;
	c.nseries = 2;
	c.points = 1;
	c.x_integer = !a.numeric;
	c.note = *note ? note : NULL;
	mp_svg_line_chart(sb, &c);
out:
	free(x);
	free(y);
}

/* Successive halving's rungs: the objective of each trial that went on,
 * against the budget. */
static void rung_chart(const tsv *t, const char *objective, mp_strbuf *sb)
{
	double x[12][MAX_RUNGS], y[12][MAX_RUNGS];
	char names[12][32];
	mp_series se[12];
	size_t ns = 0, i, j;
	mp_chart c;

	for (i = 1; i < t->n && ns < 12; i++) {
		char **f = t->rows[i];
		size_t n = 0;

		if (nfields(f) < TRIAL_COLS || strcmp(f[1], "1") || strcmp(f[3], "promoted"))
			continue;
		for (j = i; j < t->n && n < MAX_RUNGS; j++)
			if (nfields(t->rows[j]) >= TRIAL_COLS && !strcmp(t->rows[j][0], f[0])) {
				x[ns][n] = strtod(t->rows[j][2], NULL);
				y[ns][n++] = strtod(t->rows[j][4], NULL);
			}
		snprintf(names[ns], sizeof(names[ns]), "trial %s", f[0]);
		se[ns] = (mp_series){names[ns], x[ns], y[ns], n, NULL};
		ns++;
	}
	if (!ns)
		return;
	memset(&c, 0, sizeof(c));
	c.title = "the rungs: the trials each rung kept";
	c.xlabel = "budget";
	c.ylabel = objective;
	c.width = 640;
	c.height = 300;
	c.series = se;
	c.nseries = ns;
	mp_svg_line_chart(sb, &c);
}

static void tuner(const mp_execution *e, mp_strbuf *sb)
{
	const mp_event_row *ev = event(e, 1, "best_hyperparameters");
	char objective[64] = "objective", *path, *text = NULL;
	int best = 0, halving = 0;
	double best_v = NAN;
	size_t i, k, cols;
	mp_jdoc *d;
	mp_err err;
	tsv t;

	if (section(sb, "h2", "Tuner", e, "best_hyperparameters", "trials.tsv", &t) != 0)
		return;
	/* the objective's name, from the hyperparameters file beside */
	if ((path = mp_asprintf("%s/hyperparameters.json", ev->uri)) && mp_read_file(path, &text, NULL, NULL) == 0 &&
	    mp_jdoc_parse(&d, text, path, &err) == 0) {
		const char *o = mp_jnode_str(mp_jnode_get(d, mp_jdoc_root(d), "objective"));

		if (o)
			snprintf(objective, sizeof(objective), "%s", o);
		mp_jdoc_free(d);
	}
	free(text);
	free(path);
	for (k = 0; k < e->nmetrics; k++) {
		if (!strcmp(e->metrics[k].name, "best_trial"))
			best = (int)e->metrics[k].value;
		if (!strcmp(e->metrics[k].name, "best_objective"))
			best_v = e->metrics[k].value;
	}
	cols = t.n ? nfields(t.rows[0]) : 0;
	for (i = 1; i < t.n; i++)
		halving |= nfields(t.rows[i]) > 3 && (!strcmp(t.rows[i][3], "promoted") || !strcmp(t.rows[i][3], "stopped"));
	mp_strbuf_addf(sb, "<p>%zu evaluations; the best is trial %d, %s %.6g", t.n ? t.n - 1 : 0, best, objective,
		       best_v);
	for (i = t.n; i-- > 1;)
		if (nfields(t.rows[i]) == cols && atoi(t.rows[i][0]) == best) {
			for (k = TRIAL_COLS; k < cols; k++) {
				mp_strbuf_adds(sb, k == TRIAL_COLS ? ", with " : ", ");
				mp__html_esc(sb, t.rows[0][k]);
				mp_strbuf_adds(sb, " = ");
				mp__html_esc(sb, t.rows[i][k]);
			}
			break;
		}
	mp_strbuf_adds(sb, "</p>\n");
	for (k = TRIAL_COLS; k < cols; k++)
		trial_chart(&t, k, objective, best, sb);
	if (halving)
		rung_chart(&t, objective, sb);
	free_tsv(&t);
}

static void pushed(const mp_execution *e, mp_strbuf *sb)
{
	size_t i;
	tsv t;

	if (section(sb, "h2", "Push", e, "pushed_model", "pushed.tsv", &t) != 0)
		return;
	if (!strcmp(e->state, "CACHED"))
		mp__html_el(sb, "p", "muted", "cached: this is the push of an earlier run; nothing new was pushed");
	mp_strbuf_adds(sb, "<table>\n");
	for (i = 1; i < t.n; i++) {
		char **f = t.rows[i];
		size_t k;

		mp_strbuf_adds(sb, "<tr>");
		mp__html_el(sb, "th", NULL, f[0]);
		mp_strbuf_adds(sb, "<td>");
		for (k = 1; f[k]; k++) {
			if (k > 1)
				mp_strbuf_adds(sb, ", ");
			if (!strcmp(f[0], "pushed"))
				mp__html_el(sb, "span", !strcmp(f[k], "yes") ? "ok" : "bad", f[k]);
			else
				mp__html_esc(sb, f[k]);
		}
		mp_strbuf_adds(sb, "</td></tr>\n");
	}
	mp_strbuf_adds(sb, "</table>\n");
	free_tsv(&t);
}

int mp_report_run(mp_store *st, int64_t run_id, const char *pipeline, mp_strbuf *sb, mp_err *err)
{
	mp_run run = {0};
	mp_execution_list el_ = {0};
	const mp_execution **last = NULL;
	size_t i, k, n = 0;
	char title[256], t1[32];
	int rc;

	if ((rc = mp_store_get_run(st, run_id, pipeline, &run, err)) != 0)
		return rc;
	if ((rc = mp_store_run_executions(st, run.id, &el_, err)) != 0)
		goto out;
	if (!(last = mp_calloc(el_.n + 1, sizeof(*last)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	/* each component's last execution (retries and resumes make more) */
	for (i = 0; i < el_.n; i++) {
		for (k = 0; k < n && strcmp(last[k]->component_id, el_.items[i].component_id); k++)
			;
		last[k] = &el_.items[i];
		if (k == n)
			n++;
	}
	snprintf(title, sizeof(title), "%s: run report", run.name);
	mp__html_page_open(sb, title);
	mp_strbuf_adds(sb, "<table>\n<tr><th>pipeline</th><td>");
	mp__html_esc(sb, run.pipeline);
	mp_strbuf_adds(sb, "</td></tr>\n<tr><th>state</th>");
	mp__html_el(sb, "td", !strcmp(run.state, "COMPLETE") ? "ok" : !strcmp(run.state, "RUNNING") ? NULL : "bad", run.state);
	mp_strbuf_adds(sb, "</tr>\n<tr><th>started</th><td>");
	mp__html_esc(sb, mp__html_show_ms(run.start_ms, t1, sizeof(t1)));
	mp_strbuf_adds(sb, "</td></tr>\n<tr><th>took</th>");
	if (run.end_ms)
		mp_strbuf_addf(sb, "<td>%.1f s</td>", (double)(run.end_ms - run.start_ms) / 1000.0);
	else
		mp_strbuf_adds(sb, "<td>-</td>");
	mp_strbuf_addf(sb, "</tr>\n<tr><th>components</th><td>%d ran, %d cached, %d failed, %d canceled</td></tr>\n",
		       run.executed, run.cached, run.failed, run.canceled);
	for (i = 0; i < run.nparams; i++) {
		mp_strbuf_adds(sb, "<tr><th>param ");
		mp__html_esc(sb, run.params[i].name);
		mp_strbuf_adds(sb, "</th><td>");
		if (run.params[i].kind == MP_PROP_STRING)
			mp__html_esc(sb, run.params[i].s);
		else if (run.params[i].kind == MP_PROP_INT)
			mp_strbuf_addf(sb, "%lld", (long long)run.params[i].i);
		else
			mp_strbuf_addf(sb, "%.9g", run.params[i].d);
		mp_strbuf_adds(sb, "</td></tr>\n");
	}
	mp_strbuf_adds(sb, "</table>\n<h2>The pipeline</h2>\n");
	dag(st, last, n, sb);
	mp_strbuf_adds(sb, "<table><tr><th>execution</th><th>component</th><th>type</th><th>state</th><th>took</th>"
			   "<th>metrics</th><th>why it stopped</th></tr>\n");
	for (i = 0; i < el_.n; i++) {
		const mp_execution *e = &el_.items[i];
		int bad = !strcmp(e->state, "FAILED") || !strcmp(e->state, "CANCELED");

		mp_strbuf_addf(sb, "<tr%s><td class=\"n\">%lld</td>", bad ? " class=\"bad\"" : "", (long long)e->id);
		mp__html_el(sb, "td", NULL, e->component_id);
		mp__html_el(sb, "td", NULL, e->type);
		mp__html_el(sb, "td", NULL, !strcmp(e->state, "CACHED") ? "cached" : !strcmp(e->state, "COMPLETE") ? "ran" : e->state);
		if (e->end_ms && e->start_ms)
			mp_strbuf_addf(sb, "<td class=\"n\">%.1f s</td>", (double)(e->end_ms - e->start_ms) / 1000.0);
		else
			mp_strbuf_adds(sb, "<td>-</td>");
		mp_strbuf_adds(sb, "<td>");
		for (k = 0; k < e->nmetrics; k++) {
			if (!mp_execution_metric_is_summary(e, k))
				continue;
			mp__html_esc(sb, e->metrics[k].name);
			mp_strbuf_addf(sb, "=%.6g ", e->metrics[k].value);
		}
		mp_strbuf_adds(sb, "</td>");
		mp__html_el(sb, "td", NULL, e->exit_reason ? e->exit_reason : "");
		mp_strbuf_adds(sb, "</tr>\n");
	}
	mp_strbuf_adds(sb, "</table>\n");
	for (i = 0; i < n; i++)
		if (last[i]->nmetrics && !strcmp(last[i]->type, "Trainer")) {
			mp_strbuf_adds(sb, "<h2>Training</h2>\n");
			break;
		}
	for (i = 0; i < n; i++) {
		if (strcmp(last[i]->type, "Tuner")) /* its steps are trials: its own section draws them */
			curves(last[i], sb);
		if (!strcmp(last[i]->type, "Trainer"))
			importance(last[i], "model", 2, "each input's share of the trees' gain (total_gain)", sb);
	}
	for (i = 0; i < n; i++)
		if (!strcmp(last[i]->type, "Tuner"))
			tuner(last[i], sb);
	for (i = 0; i < n; i++)
		if (!strcmp(last[i]->type, "Evaluator")) {
			evaluation(st, last[i], sb);
			importance(last[i], "evaluation", 1,
				   "how far the score falls when the input is shuffled (permutation importance)", sb);
		}
	for (i = 0; i < n; i++)
		if (!strcmp(last[i]->type, "StatisticsGen"))
			statistics(last[i], sb);
	for (i = 0; i < n; i++)
		if (!strcmp(last[i]->type, "ExampleValidator"))
			anomalies(last[i], sb);
	for (i = 0; i < n; i++)
		if (!strcmp(last[i]->type, "Pusher"))
			pushed(last[i], sb);
	mp__html_page_close(sb);
	if (sb->failed)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
out:
	free(last);
	mp_execution_list_release(&el_);
	mp_run_release(&run);
	return rc;
}

