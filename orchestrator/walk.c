/* The walk over a pipeline file's YAML nodes (see loader.h). */
#include "orchestrator/loader.h"
#include "core/json.h"
#include "data/span.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- the walk ---------------------------------------------------------- */


void mp_diags_add(mp_diags *d, const char *fmt, ...)
{
	va_list ap;
	char line[MP_ERR_MAX];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (d->n == d->alloc) {
		size_t na = d->alloc ? d->alloc * 2 : 8;
		char **p = mp_realloc(d->items, na * sizeof(*p));

		if (!p)
			return;
		d->items = p;
		d->alloc = na;
	}
	if ((d->items[d->n] = mp_strdup(line)))
		d->n++;
}

void mp_diags_release(mp_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->items[i]);
	free(d->items);
	memset(d, 0, sizeof(*d));
}

yaml_node_t *mp__node_at(loader *L, int idx)
{
	return yaml_document_get_node(L->doc, idx);
}


void mp__problem(loader *L, yaml_node_t *n, const char *fmt, ...)
{
	char msg[MP_ERR_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		mp_diags_add(L->diags, "%s:%d:%d: %s", L->file, POS(n), msg);
	else
		mp_diags_add(L->diags, "%s: %s", L->file, msg);
}

const char *mp__kind_name(yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

const char *mp__scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int mp__expect(loader *L, yaml_node_t *n, yaml_node_type_t t, const char *what)
{
	static const char *const want[] = {"", "a scalar", "a list", "a mapping"};

	if (n->type == t)
		return 1;
	mp__problem(L, n, "%s must be %s, not %s", what, want[t], mp__kind_name(n));
	return 0;
}


void mp__each_key(loader *L, yaml_node_t *map, const char *const *allowed, const char *where,
		     key_fn fn, void *ud)
{
	yaml_node_pair_t *a, *b;

	for (a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
		yaml_node_t *k = mp__node_at(L, a->key), *v = mp__node_at(L, a->value);
		const char *key = mp__scalar(k);
		int dup = 0;

		if (!key) {
			mp__problem(L, k, "keys in %s must be scalars", where);
			continue;
		}
		for (b = map->data.mapping.pairs.start; b < a; b++)
			if (mp__scalar(mp__node_at(L, b->key)) && strcmp(mp__scalar(mp__node_at(L, b->key)), key) == 0)
				dup = 1;
		if (dup) {
			mp__problem(L, k, "duplicate key '%s' in %s", key, where);
			continue;
		}
		if (allowed) {
			size_t n = 0, i;
			int ok = 0;

			for (i = 0; allowed[i]; i++, n++)
				ok |= strcmp(allowed[i], key) == 0;
			if (!ok) {
				const char *near = mp_closest(key, (const char *const *)allowed, n);

				if (near)
					mp__problem(L, k, "unknown key '%s' in %s (did you mean '%s'?)", key, where, near);
				else
					mp__problem(L, k, "unknown key '%s' in %s", key, where);
				continue;
			}
		}
		fn(L, key, k, v, ud);
	}
}

char *mp__dup_or_oom(loader *L, const char *s)
{
	char *d = mp_strdup(s);

	if (!d)
		L->oom = 1;
	return d;
}

int mp__parse_int(loader *L, yaml_node_t *n, const char *what, int64_t lo, int64_t hi, int *out)
{
	int64_t v;
	mp_err err;

	if (!mp__expect(L, n, YAML_SCALAR_NODE, what))
		return -1;
	if (mp_parse_i64(mp__scalar(n), lo, hi, &v, what, &err) != 0) {
		mp__problem(L, n, "%s", err.msg);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int mp__valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}
