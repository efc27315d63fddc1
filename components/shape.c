/* Structured params: their declared shapes (component.h), checked against a
 * YAML value node by node, so the pipeline loader can name the line and
 * column of each mistake, and against a value's text for --set and
 * `mlpipe component --param`. */
#include "components/component.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct walk {
	yaml_document_t *doc;
	mp_shape_fn fn;
	void *ud;
	int problems;
} walk;

static void report(walk *w, const yaml_node_t *n, const char *path, const char *fmt, ...) MP_PRINTF(4, 5);
static void report(walk *w, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
	char msg[MP_ERR_MAX - 128], full[MP_ERR_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s%s%s", path, *path ? ": " : "", msg);
	w->problems++;
	w->fn(w->ud, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1, full);
}

static const char *text_of(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *kind_of(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? "a scalar" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a mapping";
}

/* Whether s is a number (all of it), into *v. */
static int number(const char *s, double *v)
{
	char *end;

	if (!*s || strspn(s, " \t") == strlen(s))
		return 0;
	*v = strtod(s, &end);
	return *end == '\0' && isfinite(*v);
}

int mp_choice_match(const char *choices, const char *value)
{
	const char *p = choices;

	while (*p) {
		size_t len = strcspn(p, "|");
		const char *colon = memchr(p, ':', len);

		if (colon && colon + 2 == p + len && (colon[1] == 'N' || colon[1] == 'X')) {
			/* "bucketize:N": the prefix, then a whole number (N) or any positive number (X) */
			size_t pre = (size_t)(colon - p) + 1;
			double v;

			if (!strncmp(value, p, pre) && number(value + pre, &v) && v > 0 &&
			    (colon[1] == 'X' || v == floor(v)))
				return 1;
		} else if (len == strlen(value) && !strncmp(p, value, len)) {
			return 1;
		}
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

const char *mp_choice_list(const char *choices, char *buf, size_t n)
{
	size_t o = 0;

	for (; *choices && o + 3 < n; choices++) {
		if (*choices == '|') {
			buf[o++] = ',';
			buf[o++] = ' ';
		} else {
			buf[o++] = *choices;
		}
	}
	buf[o] = '\0';
	return buf;
}

const char *mp_choice_closest(const char *choices, const char *value, char *buf, size_t n)
{
	const char *names[64];
	char *save = NULL, *tok;
	size_t k = 0;

	/* the choices are one string, "a|b|c": split into words first */
	snprintf(buf, n, "%s", choices);
	for (tok = strtok_r(buf, "|", &save); tok && k < MP_COUNTOF(names); tok = strtok_r(NULL, "|", &save))
		names[k++] = tok;
	return mp_closest(value, names, k);
}

/* "'x' is not one of a, b, c (did you mean 'b'?)" */
static void not_a_choice(walk *w, const yaml_node_t *n, const char *path, const char *what, const char *value,
			 const char *choices)
{
	char buf[512], list[512];
	const char *near = mp_choice_closest(choices, value, buf, sizeof(buf));

	mp_choice_list(choices, list, sizeof(list));
	if (near)
		report(w, n, path, "unknown %s '%s' (did you mean '%s'?)", *what ? what : "value", value, near);
	else
		report(w, n, path, "%s%s'%s' is not one of %s", what, *what ? " " : "", value, list);
}

static void check(walk *w, const mp_shape *sh, yaml_node_t *n, const char *path, int depth);

/* The keys marked MP_ONE_OF: exactly one of them is given. */
static void check_one_of(walk *w, const mp_shape *sh, yaml_node_t *n, const char *path)
{
	yaml_node_pair_t *a;
	const char *first = NULL;
	char list[256] = "";
	size_t i, o = 0;

	size_t count = 0, nth = 0;

	for (i = 0; sh->keys && sh->keys[i].name; i++)
		count += sh->keys[i].required == MP_ONE_OF;
	if (!count)
		return;
	/* "'a' or 'b'", "'a', 'b' or 'c'" */
	for (i = 0; sh->keys[i].name; i++)
		if (sh->keys[i].required == MP_ONE_OF && o < sizeof(list)) {
			nth++;
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s'%s'",
					      nth == 1 ? "" : nth == count ? " or " : ", ", sh->keys[i].name);
		}
	for (a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, a->key);
		const char *key = k ? text_of(k) : NULL;

		for (i = 0; key && sh->keys[i].name; i++) {
			if (sh->keys[i].required != MP_ONE_OF || strcmp(sh->keys[i].name, key))
				continue;
			if (first)
				report(w, k, path, "'%s' and '%s' exclude each other: give one of %s", first, key, list);
			else
				first = key;
		}
	}
	if (!first)
		report(w, n, path, "needs %s", list);
}

static void check_map(walk *w, const mp_shape *sh, yaml_node_t *n, const char *path, int depth)
{
	yaml_node_pair_t *a, *b;
	size_t i;

	if (n->type != YAML_MAPPING_NODE) {
		report(w, n, path, "expected a mapping, not %s", kind_of(n));
		return;
	}
	for (a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, a->key), *v = yaml_document_get_node(w->doc, a->value);
		const char *key = k ? text_of(k) : NULL;
		const mp_shape *vs = NULL;
		char sub[256];
		int dup = 0;

		if (!k || !v)
			continue;
		if (!key) {
			report(w, k, path, "keys must be names, not %s", kind_of(k));
			continue;
		}
		for (b = n->data.mapping.pairs.start; b < a; b++) {
			yaml_node_t *bk = yaml_document_get_node(w->doc, b->key);

			dup |= bk && text_of(bk) && !strcmp(text_of(bk), key);
		}
		if (dup) {
			report(w, k, path, "duplicate key '%s'", key);
			continue;
		}
		if (sh->keys) {
			size_t nn;

			for (nn = 0; sh->keys[nn].name; nn++)
				if (!strcmp(sh->keys[nn].name, key))
					vs = sh->keys[nn].shape;
			if (!vs) {
				const char *near = mp_closest_in(key, sh->keys, nn, sizeof(*sh->keys));
				char list[512] = "";

				for (i = 0; i < nn; i++)
					snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
						 sh->keys[i].name);
				if (near)
					report(w, k, path, "unknown key '%s' (did you mean '%s'?)", key, near);
				else
					report(w, k, path, "unknown key '%s' (%s)", key, list);
				continue;
			}
		} else {
			if (sh->key_choices && !mp_choice_match(sh->key_choices, key)) {
				not_a_choice(w, k, path, sh->key_what ? sh->key_what : "key", key, sh->key_choices);
				continue;
			}
			vs = sh->items;
		}
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
		check(w, vs, v, sub, depth + 1);
	}
	check_one_of(w, sh, n, path);
	for (i = 0; sh->keys && sh->keys[i].name; i++) {
		int have = 0;

		if (sh->keys[i].required != 1)
			continue;
		for (a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++) {
			yaml_node_t *k = yaml_document_get_node(w->doc, a->key);

			have |= k && text_of(k) && !strcmp(text_of(k), sh->keys[i].name);
		}
		if (!have)
			report(w, n, path, "needs '%s'", sh->keys[i].name);
	}
}

static void check(walk *w, const mp_shape *sh, yaml_node_t *n, const char *path, int depth)
{
	const char *s = text_of(n);
	double v;

	if (sh && sh->custom) {
		w->problems += sh->custom(w->doc, n, path, w->fn, w->ud);
		return;
	}
	if (!sh || sh->kind == MP_SHAPE_ANY)
		return;
	if (depth > 64) {
		report(w, n, path, "nested too deeply");
		return;
	}
	switch (sh->kind) {
	case MP_SHAPE_NUMBER:
	case MP_SHAPE_INT:
		if (!s) {
			report(w, n, path, "expected a number, not %s", kind_of(n));
			return;
		}
		if (sh->choices && mp_choice_match(sh->choices, s))
			return;
		if (!number(s, &v) || (sh->kind == MP_SHAPE_INT && v != floor(v))) {
			report(w, n, path, "'%s' is not a %s%s%s", s, sh->kind == MP_SHAPE_INT ? "whole number" : "number",
			       sh->choices ? " or " : "", sh->choices ? sh->choices : "");
			return;
		}
		if (sh->min < sh->max && (v < sh->min || v > sh->max))
			report(w, n, path, "%s is out of range (%g to %g)", s, sh->min, sh->max);
		return;
	case MP_SHAPE_STRING:
		if (!s) {
			report(w, n, path, "expected a name, not %s", kind_of(n));
			return;
		}
		if (sh->choices && !mp_choice_match(sh->choices, s))
			not_a_choice(w, n, path, "", s, sh->choices);
		return;
	case MP_SHAPE_BOOL:
		if (!s || (strcmp(s, "true") && strcmp(s, "false") && strcmp(s, "yes") && strcmp(s, "no")))
			report(w, n, path, "expected true or false");
		return;
	case MP_SHAPE_LIST: {
		yaml_node_item_t *it;
		int i = 0;

		if (n->type != YAML_SEQUENCE_NODE) {
			report(w, n, path, "expected a list, not %s", kind_of(n));
			return;
		}
		if (n->data.sequence.items.top - n->data.sequence.items.start < sh->min_items) {
			report(w, n, path, "needs at least %d item%s", sh->min_items, sh->min_items == 1 ? "" : "s");
			return;
		}
		for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			yaml_node_t *item = yaml_document_get_node(w->doc, *it);
			char sub[256];

			snprintf(sub, sizeof(sub), "%s[%d]", path, ++i);
			if (item)
				check(w, sh->items, item, sub, depth + 1);
		}
		return;
	}
	case MP_SHAPE_MAP:
		check_map(w, sh, n, path, depth);
		return;
	case MP_SHAPE_ANY:
		return;
	}
}

int mp_shape_check_node(const mp_shape *sh, struct yaml_document_s *doc, struct yaml_node_s *node,
			const char *path, mp_shape_fn fn, void *ud)
{
	walk w = {doc, fn, ud, 0};

	check(&w, sh, node, path ? path : "", 0);
	return w.problems;
}

typedef struct first {
	mp_err *err;
	int positions; /* say where in the value the mistake is */
	int got;
} first;

static void keep_first(void *ud, int line, int col, const char *msg)
{
	first *f = ud;

	if (f->got++)
		return;
	if (!f->positions)
		mp_error(f->err, MP_EINVAL, "%s", msg);
	else if (line > 1)
		mp_error(f->err, MP_EINVAL, "%s (line %d, column %d of the value)", msg, line, col);
	else
		mp_error(f->err, MP_EINVAL, "%s (column %d of the value)", msg, col);
}

static int check_text(const mp_shape *sh, const char *text, const char *name, int positions, mp_err *err)
{
	yaml_document_t doc;
	yaml_node_t *root;
	first f = {err, positions, 0};
	int rc;

	if (!sh)
		return 0;
	if ((rc = mp_yaml_load(&doc, text, strlen(text), name, 1, err)) != 0)
		return rc;
	if ((root = yaml_document_get_root_node(&doc)))
		mp_shape_check_node(sh, &doc, root, name, keep_first, &f);
	yaml_document_delete(&doc);
	return f.got ? MP_EINVAL : 0;
}

int mp_shape_check_text(const mp_shape *sh, const char *text, const char *name, mp_err *err)
{
	return check_text(sh, text, name, 1, err);
}

int mp_shape_check_made(const mp_shape *sh, const char *text, const char *name, mp_err *err)
{
	return check_text(sh, text, name, 0, err);
}
