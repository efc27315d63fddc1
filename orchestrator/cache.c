/* Cache keys: see run.h for what goes into one. */
#include "orchestrator/runner.h"
#include "data/span.h"

#include <stdlib.h>
#include <string.h>

static void add_field(mp_strbuf *sb, const char *tag, const char *s)
{
	mp_strbuf_addf(sb, "%s %zu:", tag, strlen(s ? s : ""));
	mp_strbuf_adds(sb, s ? s : "");
	mp_strbuf_adds(sb, "\n");
}

/* Adds the content hash of every path a path param names (for a map, the
 * values); a {SPAN} pattern is resolved first, so new data changes the key. */
static int add_path_contents(mp_strbuf *sb, const mp_pipeline *p, const char *value, int is_map,
			     mp_err *err)
{
	char *buf, **items;
	size_t n, i;
	int rc;

	if ((rc = mp_param_lines(value, &buf, &items, &n, err)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		char hex[MP_HASH_HEX], *path = NULL, *item = items[i], *eq;
		int64_t span, version;

		if (is_map && (eq = strchr(item, '=')))
			item = eq + 1;
		if ((rc = mp_resolve_span(item, p->dir, &path, &span, &version, err)) == MP_ENOTFOUND) {
			add_field(sb, "absent", item);
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		if (!mp_path_exists(path)) {
			add_field(sb, "absent", path);
		} else if ((rc = mp_hash_path(path, hex, err)) != 0) {
			rc = mp_error_wrap(err, "cache key");
		} else {
			if (span >= 0 || version >= 0)
				mp_strbuf_addf(sb, "span %lld version %lld\n", (long long)span, (long long)version);
			add_field(sb, "content", hex);
		}
		free(path);
	}
	free(items);
	free(buf);
	return rc;
}

static int cmp_input(const void *a, const void *b)
{
	const mp_pl_input *x = *(const mp_pl_input *const *)a, *y = *(const mp_pl_input *const *)b;

	return strcmp(x->name, y->name);
}

/* Whether a param of type t cannot change its outputs (a thread count). */
static int unkeyed(const mp_component_type *t, const char *name)
{
	const char *const *u;

	for (u = t->unkeyed; u && *u; u++)
		if (!strcmp(*u, name))
			return 1;
	return 0;
}

int mp_cache_key(const mp_pipeline *p, const mp_pl_component *c,
		 const char *const *input_fps, char key[MP_HASH_HEX], mp_err *err)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	const mp_pl_input **ins = NULL;
	size_t i;
	int rc = 0;

	add_field(&sb, "mlpipe-cache", "1");
	add_field(&sb, "pipeline", p->name);
	add_field(&sb, "component", c->id);
	add_field(&sb, "type", c->type->name);
	add_field(&sb, "version", c->type->version);
	if (c->ranks > 1) {
		/* another summation order: another model (ranks: 1 keeps the key) */
		char r[32];

		snprintf(r, sizeof(r), "%d", c->ranks);
		add_field(&sb, "ranks", r);
	}
	for (i = 0; i < c->nparams && rc == 0; i++) {
		const mp_param_spec *spec = mp_component_param(c->type, c->params[i].name);

		if (unkeyed(c->type, c->params[i].name))
			continue;
		add_field(&sb, "param", c->params[i].name);
		add_field(&sb, "value", c->params[i].value);
		if (spec && (spec->type == MP_PARAM_PATH || spec->type == MP_PARAM_PATHS ||
			     spec->type == MP_PARAM_PATH_MAP))
			rc = add_path_contents(&sb, p, c->params[i].value, spec->type == MP_PARAM_PATH_MAP, err);
	}
	/* inputs by name, so their order in the file does not matter */
	if (rc == 0 && c->ninputs && !(ins = mp_calloc(c->ninputs, sizeof(*ins))))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0) {
		for (i = 0; i < c->ninputs; i++)
			ins[i] = &c->inputs[i];
		if (c->ninputs)
			qsort(ins, c->ninputs, sizeof(*ins), cmp_input);
		for (i = 0; i < c->ninputs; i++) {
			size_t k = (size_t)(ins[i] - c->inputs);

			add_field(&sb, "input", ins[i]->name);
			add_field(&sb, "fingerprint", input_fps[k] ? input_fps[k] : "unknown");
		}
		for (i = 0; i < c->noutputs; i++) {
			add_field(&sb, "output", c->outputs[i].name);
			add_field(&sb, "artifact", c->outputs[i].type);
		}
		if (sb.failed)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		else
			mp_hash_buf(sb.buf, sb.len, key);
	}
	free(ins);
	mp_strbuf_release(&sb);
	return rc;
}

/* The fingerprints of n's inputs, in n->c->inputs order. */
static int input_fps(mp__runner *R, const mp__node *n, const char ***fps, mp_err *err)
{
	size_t i;

	*fps = NULL;
	if (!n->c->ninputs)
		return 0;
	if (!(*fps = mp_calloc(n->c->ninputs, sizeof(**fps))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < n->c->ninputs; i++) {
		int k;
		mp__node *src = mp__input_source(R, &n->c->inputs[i], &k);

		if (k >= 0 && src->out_fps)
			(*fps)[i] = src->out_fps[k];
	}
	return 0;
}

/* Whether the input found in the store under name belongs in the cache
 * key (see mp_resolve_spec's outside_key). */
static int keyed(const mp__node *n, const char *name)
{
	const mp_component_type *t = n->c->type;
	size_t r;

	for (r = 0; r < t->nresolves; r++)
		if (!strcmp(t->resolves[r].input, name))
			return !t->resolves[r].outside_key;
	return 1;
}

int mp__compute_key(mp__runner *R, mp__node *n, mp_err *err)
{
	const char **fps;
	size_t i;
	int rc;

	if ((rc = mp__resolve_inputs(R, n, err)) != 0 || (rc = input_fps(R, n, &fps, err)) != 0)
		return rc;
	rc = mp_cache_key(R->p, n->c, fps, n->key, err);
	free(fps);
	if (rc == 0 && n->nextra) {
		/* inputs found in the store are part of the key too */
		mp_strbuf sb = MP_STRBUF_INIT;

		add_field(&sb, "key", n->key);
		for (i = 0; i < n->nextra; i++) {
			if (!keyed(n, n->extra_names[i]))
				continue;
			add_field(&sb, "resolved", n->extra_names[i]);
			add_field(&sb, "fingerprint", n->extra_fps[i] ? n->extra_fps[i] : "unknown");
		}
		if (sb.failed)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		else
			mp_hash_buf(sb.buf, sb.len, n->key);
		mp_strbuf_release(&sb);
	}
	return rc;
}
