/* Hyperparameters at load time: a base of another component's params and a
 * search space over them, checked node by node against that component's
 * declared params and shapes, so each mistake has its line and column. */
#include "components/hparams.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct checker {
	const mp_component_type *t;
	yaml_document_t *doc;
	mp_shape_fn fn;
	void *ud;
	int problems;
} checker;

static void report(checker *c, const yaml_node_t *n, const char *fmt, ...) MP_PRINTF(3, 4);
static void report(checker *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[MP_ERR_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->problems++;
	c->fn(c->ud, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1, msg);
}

static const char *text_of(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(checker *c, int i)
{
	return yaml_document_get_node(c->doc, i);
}

/* A scalar value of a param that is not JSON, checked against its spec. */
static void check_scalar(checker *c, const mp_param_spec *spec, yaml_node_t *v, const char *path)
{
	char *canon = NULL;
	mp_err err;

	if (!text_of(v)) {
		report(c, v, "%s: takes a single value, not a list or a mapping", path);
		return;
	}
	if (mp_param_check(spec, text_of(v), &canon, &err) != 0) {
		size_t n = strlen(spec->name);
		const char *msg = err.msg;

		/* "epochs: 0 is out of range": the path names the param already */
		if (!strncmp(msg, spec->name, n) && !strncmp(msg + n, ": ", 2))
			msg += n + 2;
		report(c, v, "%s: %s", path, msg);
	}
	free(canon);
}

/* The param spec of name, or a problem at n. */
static const mp_param_spec *param_of(checker *c, const char *name, yaml_node_t *n, const char *path)
{
	const mp_param_spec *spec = mp_component_param(c->t, name);
	char near[128];

	if (!spec)
		report(c, n, "%s%sunknown %s param '%s'%s", path, *path ? ": " : "", c->t->name, name,
		       mp_did_you_mean(mp_closest_in(name, c->t->params, c->t->nparams, sizeof(*c->t->params)), near,
				       sizeof(near)));
	return spec;
}

int mp_hp_check_base(const mp_component_type *t, struct yaml_document_s *doc, struct yaml_node_s *n,
		     const char *path, mp_shape_fn fn, void *ud)
{
	checker c = {t, doc, fn, ud, 0};
	yaml_node_pair_t *pr;

	if (n->type != YAML_MAPPING_NODE) {
		if (!text_of(n) || *text_of(n))
			report(&c, n, "%s: expected a mapping of %s params", path, t->name);
		return c.problems;
	}
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(&c, pr->key), *v = node(&c, pr->value);
		const mp_param_spec *spec;
		char sub[256];

		if (!k || !v || !text_of(k))
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", path, text_of(k));
		if (!(spec = param_of(&c, text_of(k), k, path)))
			continue;
		if (spec->type == MP_PARAM_JSON)
			c.problems += mp_shape_check_node(spec->shape, doc, v, sub, fn, ud);
		else
			check_scalar(&c, spec, v, sub);
	}
	return c.problems;
}

/* Where a path leads: a param that is not JSON (spec, no shape), a place
 * in a JSON param's shape, or anywhere (neither). */
typedef struct leaf {
	const mp_param_spec *spec;
	const mp_shape *shape;
} leaf;

static int resolve(checker *c, const char *path, yaml_node_t *at, leaf *lf)
{
	char buf[512], *seg, *save = NULL, near[128];
	const mp_shape *sh;
	int first = 1;

	memset(lf, 0, sizeof(*lf));
	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, ".", &save); seg; seg = strtok_r(NULL, ".", &save), first = 0) {
		size_t i;

		if (first) {
			if (!(lf->spec = param_of(c, seg, at, "search")))
				return -1;
			lf->shape = lf->spec->type == MP_PARAM_JSON ? lf->spec->shape : NULL;
			continue;
		}
		sh = lf->shape;
		if (lf->spec->type != MP_PARAM_JSON) {
			report(c, at, "search: %s: '%s' is a single value: nothing lies inside it", path, lf->spec->name);
			return -1;
		}
		if (!sh || sh->custom || sh->kind == MP_SHAPE_ANY) {
			lf->shape = NULL; /* any value: the Tuner's check sees the rest */
			return 0;
		}
		if (sh->kind == MP_SHAPE_LIST) {
			if (strspn(seg, "0123456789") != strlen(seg)) {
				report(c, at, "search: %s: '%s' is not a list position (0, 1, ...)", path, seg);
				return -1;
			}
			lf->shape = sh->items;
		} else if (sh->kind == MP_SHAPE_MAP && sh->keys) {
			for (i = 0; sh->keys[i].name && strcmp(sh->keys[i].name, seg); i++)
				;
			if (!sh->keys[i].name) {
				for (i = 0; sh->keys[i].name; i++)
					;
				report(c, at, "search: %s: unknown key '%s'%s", path, seg,
				       mp_did_you_mean(mp_closest_in(seg, sh->keys, i, sizeof(*sh->keys)), near,
						       sizeof(near)));
				return -1;
			}
			lf->shape = sh->keys[i].shape;
		} else if (sh->kind == MP_SHAPE_MAP) {
			lf->shape = sh->items;
		} else {
			report(c, at, "search: %s: '%s' lies inside a single value", path, seg);
			return -1;
		}
	}
	return 0;
}

/* Whether the place takes numbers: 2 whole ones, 1 any, 0 none. */
static int numeric(const leaf *lf)
{
	if (!lf->shape)
		return lf->spec->type == MP_PARAM_INT ? 2 : lf->spec->type == MP_PARAM_FLOAT ? 1
		       : lf->spec->type == MP_PARAM_JSON ? 1 : 0;
	return lf->shape->kind == MP_SHAPE_INT ? 2 : lf->shape->kind == MP_SHAPE_NUMBER ? 1 : 0;
}

static void check_value(checker *c, const leaf *lf, yaml_node_t *v, const char *path)
{
	if (lf->shape)
		c->problems += mp_shape_check_node(lf->shape, c->doc, v, path, c->fn, c->ud);
	else if (lf->spec->type != MP_PARAM_JSON)
		check_scalar(c, lf->spec, v, path);
}

static void check_bounds(checker *c, const leaf *lf, const char *kind, yaml_node_t *list, const char *path)
{
	yaml_node_t *lo, *hi;
	double a, b;
	char *end;
	int num = numeric(lf);

	if (list->type != YAML_SEQUENCE_NODE || list->data.sequence.items.top - list->data.sequence.items.start != 2) {
		report(c, list, "search.%s: %s takes [lo, hi]", path, kind);
		return;
	}
	lo = node(c, list->data.sequence.items.start[0]);
	hi = node(c, list->data.sequence.items.start[1]);
	if (!num || (num == 2 && strcmp(kind, "int"))) {
		report(c, list, "search.%s: takes %s: use %s", path, num == 2 ? "whole numbers" : "no numbers",
		       num == 2 ? "int or choice" : "choice");
		return;
	}
	if (!text_of(lo) || !text_of(hi) || (a = strtod(text_of(lo), &end), *end) ||
	    (b = strtod(text_of(hi), &end), *end) || !isfinite(a) || !isfinite(b)) {
		report(c, list, "search.%s: %s takes two numbers", path, kind);
		return;
	}
	if (!strcmp(kind, "int") && (a != floor(a) || b != floor(b)))
		report(c, list, "search.%s: int takes whole numbers", path);
	else if (!strcmp(kind, "int") ? a > b : a >= b)
		report(c, hi, "search.%s: hi %s is not above lo %s", path, text_of(hi), text_of(lo));
	else if (!strcmp(kind, "log_uniform") && a <= 0)
		report(c, lo, "search.%s: log_uniform needs lo above 0", path);
	else {
		char sub[300];

		snprintf(sub, sizeof(sub), "search.%s", path);
		check_value(c, lf, lo, sub);
		check_value(c, lf, hi, sub);
	}
}

static void check_domain(checker *c, const leaf *lf, yaml_node_t *d, const char *path)
{
	static const char *const kinds[] = {"choice", "int", "uniform", "log_uniform"};
	yaml_node_t *k, *v;
	const char *kind;
	char sub[300], near[64];
	yaml_node_item_t *it;

	if (d->type != YAML_MAPPING_NODE || d->data.mapping.pairs.top - d->data.mapping.pairs.start != 1) {
		report(c, d, "search.%s: a domain is one of {choice: [...]}, {int: [lo, hi]}, {uniform: [lo, hi]}, "
			     "{log_uniform: [lo, hi]}", path);
		return;
	}
	k = node(c, d->data.mapping.pairs.start[0].key);
	v = node(c, d->data.mapping.pairs.start[0].value);
	if (!(kind = text_of(k)) || !v)
		return;
	if (strcmp(kind, "choice") && strcmp(kind, "int") && strcmp(kind, "uniform") && strcmp(kind, "log_uniform")) {
		report(c, k, "search.%s: unknown domain '%s'%s", path, kind,
		       mp_did_you_mean(mp_closest(kind, kinds, MP_COUNTOF(kinds)), near, sizeof(near)));
		return;
	}
	if (strcmp(kind, "choice")) {
		check_bounds(c, lf, kind, v, path);
		return;
	}
	if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start) {
		report(c, v, "search.%s: choice takes a list of at least one value", path);
		return;
	}
	snprintf(sub, sizeof(sub), "search.%s", path);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
		if (node(c, *it))
			check_value(c, lf, node(c, *it), sub);
}

int mp_hp_check_search(const mp_component_type *t, struct yaml_document_s *doc, struct yaml_node_s *n,
		       const char *path, mp_shape_fn fn, void *ud)
{
	checker c = {t, doc, fn, ud, 0};
	yaml_node_pair_t *pr;

	(void)path;
	if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.top == n->data.mapping.pairs.start) {
		report(&c, n, "search: expected a mapping of %s params to domains ({optimizer.lr: {log_uniform: "
			      "[0.0001, 0.1]}})", t->name);
		return c.problems;
	}
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(&c, pr->key), *v = node(&c, pr->value);
		leaf lf;

		if (!k || !v)
			continue;
		if (!text_of(k)) {
			report(&c, k, "search: a key is a path (optimizer.lr), not a list or a mapping");
			continue;
		}
		if (resolve(&c, text_of(k), k, &lf) == 0)
			check_domain(&c, &lf, v, text_of(k));
	}
	return c.problems;
}
