/* mlpipe meta diff: two runs' params, metrics and artifacts side by side. */
#include "cli/meta.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/examples.h"
#include "data/stats.h"

/* ---- diff -------------------------------------------------------------- */

/* One compared value: a param or a metric of one run. */
typedef struct diff_val {
	int is_metric;
	char *key;   /* "pipeline.seed", "train.epochs", "train.accuracy" */
	int numeric; /* num is meaningful */
	double num;
	char *text;
} diff_val;

typedef struct diff_side {
	diff_val *v;
	size_t n, alloc;
} diff_side;

static void diff_side_release(diff_side *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].text);
	}
	free(s->v);
}

static int diff_add(diff_side *s, int is_metric, const char *scope, const char *name,
		    int numeric, double num, const char *text)
{
	diff_val *d;

	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 32;
		diff_val *nv = mp_realloc(s->v, na * sizeof(*nv));

		if (!nv)
			return MP_ENOMEM;
		s->v = nv;
		s->alloc = na;
	}
	d = &s->v[s->n];
	d->is_metric = is_metric;
	d->numeric = numeric;
	d->num = num;
	d->key = scope ? mp_asprintf("%s.%s", scope, name) : mp_strdup(name);
	d->text = mp_strdup(text);
	if (!d->key || !d->text) {
		free(d->key);
		free(d->text);
		return MP_ENOMEM;
	}
	s->n++;
	return 0;
}

static int diff_add_prop(diff_side *s, const char *scope, const mp_prop *p)
{
	char buf[1024], *end;
	double v;

	mp_prop_format(p, buf, sizeof(buf));
	if (p->kind == MP_PROP_STRING) {
		/* params are text: a number is compared as one, a list is shown
		 * on one line ("[a, b]") */
		if (strchr(buf, '\n')) {
			char list[1024];
			size_t i, o = 0;

			list[o++] = '[';
			for (i = 0; buf[i] && o + 4 < sizeof(list); i++) {
				if (buf[i] == '\n') {
					list[o++] = ',';
					list[o++] = ' ';
				} else {
					list[o++] = buf[i];
				}
			}
			list[o++] = ']';
			list[o] = '\0';
			return diff_add(s, 0, scope, p->name, 0, 0, list);
		}
		v = strtod(buf, &end);
		if (*buf && !*end && isfinite(v))
			return diff_add(s, 0, scope, p->name, 1, v, buf);
		return diff_add(s, 0, scope, p->name, 0, 0, buf);
	}
	return diff_add(s, 0, scope, p->name, 1, p->kind == MP_PROP_INT ? (double)p->i : p->d, buf);
}

static int load_side(mp_store *st, const char *arg, diff_side *s, int64_t *id_out, mp_err *err)
{
	mp_execution_list el = {0};
	mp_run r = {0};
	int64_t id;
	size_t i, k;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = mp__meta_parse_run_arg(st, arg, &id, err)) != 0 ||
	    (rc = mp_store_get_run(st, id, NULL, &r, err)) != 0 ||
	    (rc = mp_store_run_executions(st, r.id, &el, err)) != 0)
		goto out;
	*id_out = r.id;
	for (k = 0; !rc && k < r.nparams; k++)
		rc = diff_add_prop(s, "pipeline", &r.params[k]);
	for (i = 0; !rc && i < el.n; i++) {
		const mp_execution *e = &el.items[i];
		char buf[64];

		for (k = 0; !rc && k < e->nparams; k++)
			rc = diff_add_prop(s, e->component_id, &e->params[k]);
		for (k = 0; !rc && k < e->nmetrics; k++)
			if (mp_execution_metric_is_summary(e, k))
				rc = diff_add(s, 1, e->component_id, e->metrics[k].name, 1,
					      e->metrics[k].value, mp__meta_fmt_value(buf, sizeof(buf), e->metrics[k].value));
	}
	if (rc == MP_ENOMEM)
		rc = mp_error(err, rc, "out of memory comparing runs");
out:
	mp_execution_list_release(&el);
	mp_run_release(&r);
	if (rc)
		diff_side_release(s);
	return rc;
}

static const diff_val *diff_find(const diff_side *s, int is_metric, const char *key)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].is_metric == is_metric && strcmp(s->v[i].key, key) == 0)
			return &s->v[i];
	return NULL;
}

static int cmp_val(const void *a, const void *b)
{
	const diff_val *x = a, *y = b;

	if (x->is_metric != y->is_metric)
		return x->is_metric - y->is_metric;
	return strcmp(x->key, y->key);
}

static void change_text(char *buf, size_t n, const diff_val *a, const diff_val *b)
{
	if (!a)
		snprintf(buf, n, "added");
	else if (!b)
		snprintf(buf, n, "removed");
	else if (strcmp(a->text, b->text) == 0)
		snprintf(buf, n, "0");
	else if (a->numeric && b->numeric && !isnan(a->num) && !isnan(b->num))
		snprintf(buf, n, "%+.6g", b->num - a->num);
	else
		snprintf(buf, n, "changed");
}

static int same(const diff_val *a, const diff_val *b)
{
	return a && b && strcmp(a->text, b->text) == 0;
}

static void json_diff_value(mp_json *j, const diff_val *v)
{
	if (!v)
		mp_json_null(j);
	else if (v->numeric)
		mp_json_double(j, v->num);
	else
		mp_json_string(j, v->text);
}

int mp__meta_diff(meta_ctx *c, mp_err *err)
{
	diff_side a = {0}, b = {0}, keys = {0};
	int64_t ida = 0, idb = 0;
	mp_table *t = NULL;
	size_t i;
	int rc, shown = 0;
	mp_json j;

	if (c->npos != 2)
		return mp_error(err, MP_EINVAL, "'meta diff' needs two run ids");
	if ((rc = load_side(c->st, c->pos[0], &a, &ida, err)) != 0 ||
	    (rc = load_side(c->st, c->pos[1], &b, &idb, err)) != 0)
		goto out;
	/* The union of keys, in a stable order: params, then metrics, by name. */
	for (i = 0; i < a.n + b.n; i++) {
		const diff_val *v = i < a.n ? &a.v[i] : &b.v[i - a.n];

		if (!diff_find(&keys, v->is_metric, v->key) &&
		    diff_add(&keys, v->is_metric, NULL, v->key, 0, 0, "") != 0) {
			rc = mp_error(err, MP_ENOMEM, "out of memory comparing runs");
			goto out;
		}
	}
	if (keys.n)
		qsort(keys.v, keys.n, sizeof(*keys.v), cmp_val);
	if (c->json) {
		mp_json_init(&j, stdout, 1);
		mp_json_begin_object(&j);
		mp_json_key(&j, "a");
		mp_json_int(&j, ida);
		mp_json_key(&j, "b");
		mp_json_int(&j, idb);
		mp_json_key(&j, "changes");
		mp_json_begin_array(&j);
	} else {
		char ha[160], hb[160];
		const char *heads[5] = {"KIND", "NAME", ha, hb, ">CHANGE"};

		/* the runs as they were asked for: "demo#3", "last", "run 12" */
		snprintf(ha, sizeof(ha), ">%s%s", strspn(c->pos[0], "0123456789") == strlen(c->pos[0]) ? "RUN " : "", c->pos[0]);
		snprintf(hb, sizeof(hb), ">%s%s", strspn(c->pos[1], "0123456789") == strlen(c->pos[1]) ? "RUN " : "", c->pos[1]);
		t = mp_table_new(5, heads);
	}
	for (i = 0; i < keys.n; i++) {
		const char *key = keys.v[i].key;
		const diff_val *va = diff_find(&a, keys.v[i].is_metric, key);
		const diff_val *vb = diff_find(&b, keys.v[i].is_metric, key);
		const char *kind = keys.v[i].is_metric ? "metric" : "param";
		char ch[64];

		if (same(va, vb) && !c->all)
			continue;
		shown++;
		change_text(ch, sizeof(ch), va, vb);
		if (c->json) {
			mp_json_begin_object(&j);
			mp_json_key(&j, "kind");
			mp_json_string(&j, kind);
			mp_json_key(&j, "name");
			mp_json_string(&j, key);
			mp_json_key(&j, "a");
			json_diff_value(&j, va);
			mp_json_key(&j, "b");
			json_diff_value(&j, vb);
			mp_json_key(&j, "change");
			if (va && vb && va->numeric && vb->numeric)
				mp_json_double(&j, vb->num - va->num);
			else
				mp_json_string(&j, ch);
			mp_json_end_object(&j);
		} else if (t) {
			const char *row[5] = {kind, key, va ? va->text : NULL, vb ? vb->text : NULL, ch};

			mp_table_add(t, row);
		}
	}
	if (c->json) {
		mp_json_end_array(&j);
		mp_json_end_object(&j);
		mp_json_finish(&j);
	} else if (shown) {
		mp__meta_print_table(t);
	} else {
		printf("runs %lld and %lld have the same params and metrics\n", (long long)ida, (long long)idb);
	}
out:
	mp_table_free(t);
	diff_side_release(&a);
	diff_side_release(&b);
	diff_side_release(&keys);
	return rc;
}
