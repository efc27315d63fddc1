/* Loading and validating a pipeline file with libyaml's document API. */
#include "orchestrator/pipeline.h"
#include "core/json.h"
#include "data/span.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

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

/* ---- the walk ---------------------------------------------------------- */

typedef struct loader {
	const char *file;
	yaml_document_t *doc;
	mp_diags *diags;
	mp_pipeline *p;
	int oom;
} loader;

static yaml_node_t *node_at(loader *L, int idx)
{
	return yaml_document_get_node(L->doc, idx);
}

#define POS(n) (int)(n)->start_mark.line + 1, (int)(n)->start_mark.column + 1

static void problem(loader *L, yaml_node_t *n, const char *fmt, ...) MP_PRINTF(3, 4);
static void problem(loader *L, yaml_node_t *n, const char *fmt, ...)
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

static const char *kind_name(yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int expect(loader *L, yaml_node_t *n, yaml_node_type_t t, const char *what)
{
	static const char *const want[] = {"", "a scalar", "a list", "a mapping"};

	if (n->type == t)
		return 1;
	problem(L, n, "%s must be %s, not %s", what, want[t], kind_name(n));
	return 0;
}

/* Calls fn for each key of a mapping after checking it against allowed
 * (NULL-terminated; NULL allows any) and for duplicates. */
typedef void (*key_fn)(loader *L, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud);

static void each_key(loader *L, yaml_node_t *map, const char *const *allowed, const char *where,
		     key_fn fn, void *ud)
{
	yaml_node_pair_t *a, *b;

	for (a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
		yaml_node_t *k = node_at(L, a->key), *v = node_at(L, a->value);
		const char *key = scalar(k);
		int dup = 0;

		if (!key) {
			problem(L, k, "keys in %s must be scalars", where);
			continue;
		}
		for (b = map->data.mapping.pairs.start; b < a; b++)
			if (scalar(node_at(L, b->key)) && strcmp(scalar(node_at(L, b->key)), key) == 0)
				dup = 1;
		if (dup) {
			problem(L, k, "duplicate key '%s' in %s", key, where);
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
					problem(L, k, "unknown key '%s' in %s (did you mean '%s'?)", key, where, near);
				else
					problem(L, k, "unknown key '%s' in %s", key, where);
				continue;
			}
		}
		fn(L, key, k, v, ud);
	}
}

static char *dup_or_oom(loader *L, const char *s)
{
	char *d = mp_strdup(s);

	if (!d)
		L->oom = 1;
	return d;
}

static int parse_int(loader *L, yaml_node_t *n, const char *what, int64_t lo, int64_t hi, int *out)
{
	int64_t v;
	mp_err err;

	if (!expect(L, n, YAML_SCALAR_NODE, what))
		return -1;
	if (mp_parse_i64(scalar(n), lo, hi, &v, what, &err) != 0) {
		problem(L, n, "%s", err.msg);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* ---- the pipeline block ------------------------------------------------ */

typedef struct raw_pipeline {
	yaml_node_t *name, *root, *metadata, *params, *schedule, *catchup, *report;
} raw_pipeline;

static void pipeline_key(loader *L, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	raw_pipeline *r = ud;

	(void)k;
	if (!strcmp(key, "name"))
		r->name = v;
	else if (!strcmp(key, "root"))
		r->root = v;
	else if (!strcmp(key, "metadata"))
		r->metadata = v;
	else if (!strcmp(key, "params"))
		r->params = v;
	else if (!strcmp(key, "schedule"))
		r->schedule = v;
	else if (!strcmp(key, "catchup"))
		r->catchup = v;
	else if (!strcmp(key, "report"))
		r->report = v;
	else if (!strcmp(key, "description"))
		expect(L, v, YAML_SCALAR_NODE, "'description'");
}

static char *absolute(loader *L, const char *path)
{
	char *s = path[0] == '/' ? mp_strdup(path) : mp_asprintf("%s/%s", L->p->dir, path);

	if (!s)
		L->oom = 1;
	return s;
}

static void pipeline_param(loader *L, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	mp_pipeline *p = L->p;
	mp_pl_value *pv;

	(void)ud;
	if (!valid_name(key)) {
		problem(L, k, "pipeline param '%s': names are letters, digits, '_' and '-'", key);
		return;
	}
	if (!expect(L, v, YAML_SCALAR_NODE, "a pipeline param"))
		return;
	pv = &p->params[p->nparams++];
	pv->name = dup_or_oom(L, key);
	pv->value = dup_or_oom(L, scalar(v));
	pv->line = (int)v->start_mark.line + 1;
	pv->col = (int)v->start_mark.column + 1;
}

static void load_pipeline_block(loader *L, yaml_node_t *block)
{
	static const char *const keys[] = {"name",    "root",	"metadata", "params", "schedule",
					   "catchup", "report", "description", NULL};
	raw_pipeline r = {0};
	mp_pipeline *p = L->p;
	const char *root = "runs";

	if (!expect(L, block, YAML_MAPPING_NODE, "'pipeline'"))
		return;
	each_key(L, block, keys, "'pipeline'", pipeline_key, &r);
	if (!r.name)
		problem(L, block, "'pipeline' needs a 'name'");
	else if (expect(L, r.name, YAML_SCALAR_NODE, "'name'")) {
		if (!valid_name(scalar(r.name)))
			problem(L, r.name, "pipeline name '%s': use letters, digits, '_' and '-'", scalar(r.name));
		else
			p->name = dup_or_oom(L, scalar(r.name));
	}
	if (r.root && expect(L, r.root, YAML_SCALAR_NODE, "'root'")) {
		root = scalar(r.root);
		if (!*root)
			problem(L, r.root, "'root' is empty");
	}
	p->root = absolute(L, root);
	if (r.metadata && expect(L, r.metadata, YAML_SCALAR_NODE, "'metadata'"))
		p->metadata = absolute(L, scalar(r.metadata));
	else if (p->root)
		p->metadata = mp_asprintf("%s/metadata.db", p->root);
	if (r.schedule && expect(L, r.schedule, YAML_SCALAR_NODE, "'schedule'")) {
		mp_err err;
		int col;

		if (mp_cron_parse(&p->cron, scalar(r.schedule), &col, &err) != 0) {
			/* the column of the problem inside the expression */
			int quoted = r.schedule->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
				     r.schedule->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;

			mp_diags_add(L->diags, "%s:%d:%d: schedule: %s", L->file, (int)r.schedule->start_mark.line + 1,
				     (int)r.schedule->start_mark.column + 1 + quoted + col - 1, err.msg);
		} else if (mp_cron_next(&p->cron, 0) == -1) { /* within 8 years of 1970: leap days too */
			problem(L, r.schedule, "schedule: '%s' never fires", scalar(r.schedule));
		} else {
			p->schedule = dup_or_oom(L, scalar(r.schedule));
		}
	}
	if (r.catchup && expect(L, r.catchup, YAML_SCALAR_NODE, "'catchup'")) {
		const char *v = scalar(r.catchup);

		if (!strcmp(v, "true") || !strcmp(v, "yes"))
			p->catchup = 1;
		else if (strcmp(v, "false") && strcmp(v, "no"))
			problem(L, r.catchup, "catchup: '%s' is not true or false", v);
		if (!r.schedule)
			problem(L, r.catchup, "catchup needs a 'schedule'");
	}
	if (r.report && expect(L, r.report, YAML_SCALAR_NODE, "'report'")) {
		const char *v = scalar(r.report);

		if (!strcmp(v, "true") || !strcmp(v, "yes"))
			p->report = 1;
		else if (strcmp(v, "false") && strcmp(v, "no"))
			problem(L, r.report, "report: '%s' is not true or false", v);
	}
	if (r.params && expect(L, r.params, YAML_MAPPING_NODE, "'params'")) {
		size_t n = (size_t)(r.params->data.mapping.pairs.top - r.params->data.mapping.pairs.start);

		if (!(p->params = mp_calloc(n, sizeof(*p->params)))) {
			L->oom = 1;
			return;
		}
		each_key(L, r.params, NULL, "'params'", pipeline_param, NULL);
	}
}

/* ---- components -------------------------------------------------------- */

/* What a component entry said, before references are resolved. */
typedef struct raw_comp {
	yaml_node_t *node, *id, *type, *inputs, *outputs, *params, *after;
	yaml_node_t *retries, *timeout, *cache;
	/* it has a key that is not a component's: what seems missing is
	 * probably under that key, and is not reported again */
	int bad_keys;
	int problems; /* found while loading it */
} raw_comp;

static void comp_key(loader *L, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	raw_comp *r = ud;

	(void)k;
	if (!strcmp(key, "id")) r->id = v;
	else if (!strcmp(key, "type")) r->type = v;
	else if (!strcmp(key, "inputs")) r->inputs = v;
	else if (!strcmp(key, "outputs")) r->outputs = v;
	else if (!strcmp(key, "params")) r->params = v;
	else if (!strcmp(key, "after")) r->after = v;
	else if (!strcmp(key, "retries")) r->retries = v;
	else if (!strcmp(key, "timeout")) r->timeout = v;
	else if (!strcmp(key, "cache")) r->cache = v;
	else if (!strcmp(key, "description")) expect(L, v, YAML_SCALAR_NODE, "'description'");
}

/* Replaces ${pipeline.NAME} with the pipeline param's value. */
static char *substitute(loader *L, yaml_node_t *n, const char *s)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	const char *p = s;

	while (*p) {
		const char *start = strstr(p, "${"), *end;

		if (!start) {
			mp_strbuf_adds(&sb, p);
			break;
		}
		mp_strbuf_add(&sb, p, (size_t)(start - p));
		end = strchr(start, '}');
		if (!end) {
			problem(L, n, "unterminated '${' in '%s'", s);
			mp_strbuf_release(&sb);
			return NULL;
		}
		if (strncmp(start + 2, "pipeline.", 9) == 0) {
			const char *name = start + 11;
			size_t len = (size_t)(end - name), i;
			const char *val = NULL;

			if (len == 4 && strncmp(name, "name", 4) == 0)
				val = L->p->name;
			for (i = 0; !val && i < L->p->nparams; i++)
				if (strlen(L->p->params[i].name) == len && strncmp(L->p->params[i].name, name, len) == 0)
					val = L->p->params[i].value;
			if (!val) {
				problem(L, n, "'${pipeline.%.*s}' names no pipeline param", (int)len, name);
				mp_strbuf_release(&sb);
				return NULL;
			}
			mp_strbuf_adds(&sb, val);
		} else {
			problem(L, n, "'%.*s' is not a reference: use ${pipeline.NAME}", (int)(end - start + 1), start);
			mp_strbuf_release(&sb);
			return NULL;
		}
		p = end + 1;
	}
	if (sb.failed)
		L->oom = 1;
	return mp_strbuf_detach(&sb);
}

/* A YAML node as JSON text, ${pipeline.X} replaced in its scalars; the
 * param check then makes it canonical. */
static void json_of(loader *L, yaml_node_t *n, mp_strbuf *sb)
{
	yaml_node_item_t *it;
	yaml_node_pair_t *pr;
	char *v;

	switch (n->type) {
	case YAML_SCALAR_NODE:
		if (!(v = substitute(L, n, scalar(n))))
			return;
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && v[0] &&
		    (!strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "null") ||
		     strspn(v, "0123456789+-.eE") == strlen(v))) {
			mp_strbuf_adds(sb, v);
		} else {
			const char *c;

			mp_strbuf_adds(sb, "\"");
			for (c = v; *c; c++) {
				if (*c == '"' || *c == '\\')
					mp_strbuf_addf(sb, "\\%c", *c);
				else if ((unsigned char)*c < 0x20)
					mp_strbuf_addf(sb, "\\u%04x", (unsigned char)*c);
				else
					mp_strbuf_add(sb, c, 1);
			}
			mp_strbuf_adds(sb, "\"");
		}
		free(v);
		break;
	case YAML_SEQUENCE_NODE:
		mp_strbuf_adds(sb, "[");
		for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			if (it != n->data.sequence.items.start)
				mp_strbuf_adds(sb, ",");
			json_of(L, node_at(L, *it), sb);
		}
		mp_strbuf_adds(sb, "]");
		break;
	case YAML_MAPPING_NODE:
		mp_strbuf_adds(sb, "{");
		for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = node_at(L, pr->key);

			if (pr != n->data.mapping.pairs.start)
				mp_strbuf_adds(sb, ",");
			mp_strbuf_addf(sb, "\"%s\":", scalar(k) ? scalar(k) : "?");
			json_of(L, node_at(L, pr->value), sb);
		}
		mp_strbuf_adds(sb, "}");
		break;
	default:
		mp_strbuf_adds(sb, "null");
	}
}

typedef struct param_ctx {
	mp_pl_component *c;
	size_t alloc;
} param_ctx;

static int add_value(loader *L, mp_pl_value **arr, size_t *n, size_t *alloc, const char *name,
		     char *value, yaml_node_t *at)
{
	mp_pl_value *v;

	if (*n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 8;
		mp_pl_value *p = mp_realloc(*arr, na * sizeof(*p));

		if (!p) {
			free(value);
			L->oom = 1;
			return -1;
		}
		*arr = p;
		*alloc = na;
	}
	v = &(*arr)[(*n)++];
	v->name = dup_or_oom(L, name);
	v->value = value;
	v->line = at ? (int)at->start_mark.line + 1 : 0;
	v->col = at ? (int)at->start_mark.column + 1 : 0;
	return 0;
}

/* Whether a path param names something that is not there (a file, or a
 * {SPAN} pattern that matches nothing), relative to the pipeline file;
 * the reason in err.  Found before anything runs, not mid-run. */
static int missing_path(loader *L, const mp_param_spec *spec, const char *value, mp_err *err)
{
	char *buf = NULL, **items = NULL;
	size_t n = 0, i;
	int bad = 0;

	if (spec->type != MP_PARAM_PATH && spec->type != MP_PARAM_PATHS && spec->type != MP_PARAM_PATH_MAP)
		return 0;
	if (!*value || mp_param_lines(value, &buf, &items, &n, err) != 0)
		return 0;
	for (i = 0; i < n && !bad; i++) {
		const char *item = items[i], *eq = spec->type == MP_PARAM_PATH_MAP ? strchr(item, '=') : NULL;
		char *path = NULL;
		int64_t span, version;

		if (eq)
			item = eq + 1;
		if (!*item)
			continue;
		if (mp_resolve_span(item, L->p->dir, &path, &span, &version, err) != 0) {
			if (err->code == MP_ENOMEM)
				L->oom = 1;
			else
				bad = mp_error_wrap(err, "%s", spec->name) != 0; /* "no file matches ..." */
		} else if (!mp_path_exists(path)) {
			if (*item == '/')
				mp_error(err, MP_ENOTFOUND, "%s: '%s' does not exist", spec->name, item);
			else
				mp_error(err, MP_ENOTFOUND, "%s: '%s' does not exist (relative paths start at '%s')",
					 spec->name, item, L->p->dir);
			bad = 1;
		}
		free(path);
	}
	free(items);
	free(buf);
	return bad;
}

static void shape_problem(void *ud, int line, int col, const char *msg)
{
	loader *L = ud;

	mp_diags_add(L->diags, "%s:%d:%d: param %s", L->file, line, col, msg);
}

static void comp_param(loader *L, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	param_ctx *pc = ud;
	mp_pl_component *c = pc->c;
	const mp_param_spec *spec = mp_component_param(c->type, key);
	char *text = NULL, *canon = NULL;
	mp_err err;

	if (!spec && !c->type->any_params) {
		const char *names[64];
		size_t i, n = 0;
		const char *near;

		for (i = 0; i < c->type->nparams && n < 64; i++)
			names[n++] = c->type->params[i].name;
		near = mp_closest(key, names, n);
		if (near)
			problem(L, k, "unknown param '%s' for %s (did you mean '%s'?)", key, c->type->name, near);
		else
			problem(L, k, "unknown param '%s' for %s", key, c->type->name);
		return;
	}
	if (spec && spec->type == MP_PARAM_JSON) {
		mp_strbuf sb = MP_STRBUF_INIT;

		if (spec->shape && mp_shape_check_node(spec->shape, L->doc, v, key, shape_problem, L) > 0)
			return;
		json_of(L, v, &sb);
		text = mp_strbuf_detach(&sb);
	} else if (v->type == YAML_MAPPING_NODE && spec && spec->type == MP_PARAM_PATH_MAP) {
		mp_strbuf sb = MP_STRBUF_INIT;
		yaml_node_pair_t *pr;

		for (pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
			yaml_node_t *mk = node_at(L, pr->key), *mv = node_at(L, pr->value);
			char *sv;

			if (!expect(L, mk, YAML_SCALAR_NODE, "a name") || !expect(L, mv, YAML_SCALAR_NODE, "a path"))
				continue;
			if (!(sv = substitute(L, mv, scalar(mv))))
				continue;
			if (sb.len)
				mp_strbuf_adds(&sb, "\n");
			mp_strbuf_addf(&sb, "%s=%s", scalar(mk), sv);
			free(sv);
		}
		text = mp_strbuf_detach(&sb);
	} else if (v->type == YAML_SEQUENCE_NODE && spec &&
		   (spec->type == MP_PARAM_PATHS || spec->type == MP_PARAM_LIST)) {
		mp_strbuf sb = MP_STRBUF_INIT;
		yaml_node_item_t *it;

		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *item = node_at(L, *it);
			char *s;

			if (!expect(L, item, YAML_SCALAR_NODE, "a path in the list"))
				continue;
			if (spec->type == MP_PARAM_LIST && spec->choices &&
			    mp_param_check_choice(spec, scalar(item), &err) != 0) {
				problem(L, item, "param %s", err.msg); /* at the item, not the list */
				mp_strbuf_release(&sb);
				return;
			}
			if (!(s = substitute(L, item, scalar(item))))
				continue;
			if (sb.len)
				mp_strbuf_adds(&sb, "\n");
			mp_strbuf_adds(&sb, s);
			free(s);
		}
		text = mp_strbuf_detach(&sb);
	} else {
		char what[128];

		snprintf(what, sizeof(what), "param '%s'", key);
		if (!expect(L, v, YAML_SCALAR_NODE, what))
			return;
		if (!(text = substitute(L, v, scalar(v)))) {
			/* reported; keep the raw text so the param does not
			 * also look missing */
			if ((text = dup_or_oom(L, scalar(v))))
				add_value(L, &c->params, &c->nparams, &pc->alloc, key, text, v);
			return;
		}
	}
	if (!text) {
		L->oom = 1;
		return;
	}
	if (spec) {
		if (mp_param_check(spec, text, &canon, &err) != 0) {
			problem(L, v, "param %s", err.msg);
			free(text);
			return;
		}
		free(text);
		text = canon;
		if (missing_path(L, spec, text, &err)) {
			problem(L, v, "param %s", err.msg);
			free(text);
			return;
		}
	}
	add_value(L, &c->params, &c->nparams, &pc->alloc, key, text, v);
}

static void comp_output_seq(loader *L, mp_pl_component *c, yaml_node_t *outs)
{
	size_t n = 0, i;

	if (outs->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it;

		n = (size_t)(outs->data.sequence.items.top - outs->data.sequence.items.start);
		if (!(c->outputs = mp_calloc(n, sizeof(*c->outputs)))) {
			L->oom = 1;
			return;
		}
		for (it = outs->data.sequence.items.start; it < outs->data.sequence.items.top; it++) {
			yaml_node_t *item = node_at(L, *it);

			if (!expect(L, item, YAML_SCALAR_NODE, "an output name"))
				continue;
			if (!valid_name(scalar(item))) {
				problem(L, item, "output name '%s': use letters, digits, '_' and '-'", scalar(item));
				continue;
			}
			for (i = 0; i < c->noutputs; i++)
				if (strcmp(c->outputs[i].name, scalar(item)) == 0)
					break;
			if (i < c->noutputs) {
				problem(L, item, "duplicate output '%s'", scalar(item));
				continue;
			}
			c->outputs[c->noutputs].name = dup_or_oom(L, scalar(item));
			c->outputs[c->noutputs].type = dup_or_oom(L, "Artifact");
			c->noutputs++;
		}
	} else if (outs->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *pr;

		n = (size_t)(outs->data.mapping.pairs.top - outs->data.mapping.pairs.start);
		if (!(c->outputs = mp_calloc(n, sizeof(*c->outputs)))) {
			L->oom = 1;
			return;
		}
		for (pr = outs->data.mapping.pairs.start; pr < outs->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = node_at(L, pr->key), *v = node_at(L, pr->value);

			if (!expect(L, k, YAML_SCALAR_NODE, "an output name") ||
			    !expect(L, v, YAML_SCALAR_NODE, "an output type"))
				continue;
			if (!valid_name(scalar(k)) || !valid_name(scalar(v))) {
				problem(L, k, "output '%s: %s': use letters, digits, '_' and '-'", scalar(k), scalar(v));
				continue;
			}
			c->outputs[c->noutputs].name = dup_or_oom(L, scalar(k));
			c->outputs[c->noutputs].type = dup_or_oom(L, scalar(v));
			c->noutputs++;
		}
	} else {
		problem(L, outs, "'outputs' must be a list of names or a mapping of name to type, not %s",
			kind_name(outs));
	}
}

static int cmp_value(const void *a, const void *b)
{
	return strcmp(((const mp_pl_value *)a)->name, ((const mp_pl_value *)b)->name);
}

/* The first pass over one component: everything but references. */
static void load_component(loader *L, yaml_node_t *node, raw_comp *r, mp_pl_component *c)
{
	static const char *const keys[] = {"id", "type", "inputs", "outputs", "params", "after",
					   "retries", "timeout", "cache", "description", NULL};
	param_ctx pc = {c, 0};
	size_t i;

	memset(r, 0, sizeof(*r));
	r->node = node;
	c->line = (int)node->start_mark.line + 1;
	c->col = (int)node->start_mark.column + 1;
	c->cache = 1;
	if (!expect(L, node, YAML_MAPPING_NODE, "a component"))
		return;
	{
		size_t before = L->diags->n;

		each_key(L, node, keys, "a component", comp_key, r);
		r->bad_keys = L->diags->n > before;
	}
	if (!r->id)
		problem(L, node, "a component needs an 'id'");
	else if (expect(L, r->id, YAML_SCALAR_NODE, "'id'")) {
		if (!valid_name(scalar(r->id)))
			problem(L, r->id, "component id '%s': use letters, digits, '_' and '-'", scalar(r->id));
		else
			c->id = dup_or_oom(L, scalar(r->id));
	}
	if (!r->type) {
		problem(L, node, "component '%s' needs a 'type'", c->id ? c->id : "?");
	} else if (expect(L, r->type, YAML_SCALAR_NODE, "'type'")) {
		c->type = mp_component_find(scalar(r->type));
		if (!c->type) {
			const mp_component_type *const *all;
			const char *names[64];
			size_t n, k;
			const char *near;

			all = mp_component_types(&n);
			for (k = 0; k < n && k < 64; k++)
				names[k] = all[k]->name;
			near = mp_closest(scalar(r->type), names, k);
			if (near)
				problem(L, r->type, "unknown component type '%s' (did you mean '%s'?)", scalar(r->type), near);
			else
				problem(L, r->type, "unknown component type '%s'", scalar(r->type));
		}
	}
	if (r->retries)
		parse_int(L, r->retries, "retries", 0, 100, &c->retries);
	if (r->timeout)
		parse_int(L, r->timeout, "timeout", 1, 30 * 24 * 3600, &c->timeout_s);
	if (r->cache && expect(L, r->cache, YAML_SCALAR_NODE, "'cache'")) {
		const char *v = scalar(r->cache);

		if (!strcmp(v, "true") || !strcmp(v, "yes"))
			c->cache = 1;
		else if (!strcmp(v, "false") || !strcmp(v, "no"))
			c->cache = 0;
		else
			problem(L, r->cache, "'cache' must be true or false, not '%s'", v);
	}
	if (!c->type)
		return;
	/* outputs: the type's own, or those the file declares */
	if (c->type->declared_outputs) {
		if (r->outputs)
			comp_output_seq(L, c, r->outputs);
	} else if (r->outputs) {
		problem(L, r->outputs, "%s has fixed outputs; 'outputs' is only for types like Command", c->type->name);
	} else if (c->type->noutputs) {
		if (!(c->outputs = mp_calloc(c->type->noutputs, sizeof(*c->outputs)))) {
			L->oom = 1;
			return;
		}
		for (i = 0; i < c->type->noutputs; i++) {
			c->outputs[i].name = dup_or_oom(L, c->type->outputs[i].name);
			c->outputs[i].type = dup_or_oom(L, c->type->outputs[i].type);
		}
		c->noutputs = c->type->noutputs;
	}
	if (r->params && expect(L, r->params, YAML_MAPPING_NODE, "'params'"))
		each_key(L, r->params, NULL, "'params'", comp_param, &pc);
	/* defaults, and what is missing */
	for (i = 0; i < c->type->nparams; i++) {
		const mp_param_spec *s = &c->type->params[i];
		size_t k;
		int have = 0;

		for (k = 0; k < c->nparams; k++)
			have |= strcmp(c->params[k].name, s->name) == 0;
		if (have)
			continue;
		if (!s->def) {
			if (r->bad_keys)
				continue;
			problem(L, r->params ? r->params : node, "component '%s' (%s) needs param '%s': %s",
				c->id ? c->id : "?", c->type->name, s->name, s->help);
			continue;
		}
		add_value(L, &c->params, &c->nparams, &pc.alloc, s->name, dup_or_oom(L, s->def), NULL);
	}
	if (c->nparams)
		qsort(c->params, c->nparams, sizeof(*c->params), cmp_value);
}

/* The second pass: inputs and 'after', now that every id is known. */
static void resolve_refs(loader *L, raw_comp *r, mp_pl_component *c)
{
	mp_pipeline *p = L->p;
	size_t i;

	if (r->inputs && c->type && expect(L, r->inputs, YAML_MAPPING_NODE, "'inputs'")) {
		yaml_node_pair_t *pr;
		size_t n = (size_t)(r->inputs->data.mapping.pairs.top - r->inputs->data.mapping.pairs.start);

		if (!(c->inputs = mp_calloc(n ? n : 1, sizeof(*c->inputs)))) {
			L->oom = 1;
			return;
		}
		for (pr = r->inputs->data.mapping.pairs.start; pr < r->inputs->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = node_at(L, pr->key), *v = node_at(L, pr->value);
			const mp_io_spec *spec = NULL;
			const char *ref, *dot;
			int src;
			size_t j;

			if (!expect(L, k, YAML_SCALAR_NODE, "an input name") ||
			    !expect(L, v, YAML_SCALAR_NODE, "an input reference"))
				continue;
			for (j = 0; j < c->type->ninputs; j++)
				if (strcmp(c->type->inputs[j].name, scalar(k)) == 0)
					spec = &c->type->inputs[j];
			if (!spec && !c->type->any_inputs) {
				problem(L, k, "%s has no input '%s'", c->type->name, scalar(k));
				continue;
			}
			if (c->type->any_inputs && !valid_name(scalar(k))) {
				problem(L, k, "input name '%s': use letters, digits, '_' and '-'", scalar(k));
				continue;
			}
			ref = scalar(v);
			dot = strchr(ref, '.');
			if (!dot) {
				problem(L, v, "input '%s' must name a component's output as ID.OUTPUT, not '%s'", scalar(k), ref);
				continue;
			}
			{
				char *id = mp_strndup(ref, (size_t)(dot - ref));

				src = id ? mp_pipeline_find(p, id) : -1;
				if (src < 0)
					problem(L, v, "input '%s' refers to '%s', but no component has that id", scalar(k), id ? id : "?");
				free(id);
			}
			if (src < 0)
				continue;
			if (&p->comps[src] == c) {
				problem(L, v, "component '%s' cannot read its own output", c->id);
				continue;
			}
			for (j = 0; j < p->comps[src].noutputs; j++)
				if (strcmp(p->comps[src].outputs[j].name, dot + 1) == 0)
					break;
			if (j == p->comps[src].noutputs) {
				if (p->comps[src].type)
					problem(L, v, "input '%s': component '%s' has no output '%s'", scalar(k),
						p->comps[src].id, dot + 1);
				continue;
			}
			if (spec && spec->type && strcmp(spec->type, p->comps[src].outputs[j].type) != 0) {
				problem(L, v, "input '%s' of %s takes %s, but '%s' is %s", scalar(k), c->type->name,
					spec->type, ref, p->comps[src].outputs[j].type);
				continue;
			}
			c->inputs[c->ninputs].name = dup_or_oom(L, scalar(k));
			c->inputs[c->ninputs].output = dup_or_oom(L, dot + 1);
			c->inputs[c->ninputs].src = src;
			c->inputs[c->ninputs].line = (int)v->start_mark.line + 1;
			c->inputs[c->ninputs].col = (int)v->start_mark.column + 1;
			c->ninputs++;
		}
	}
	if (c->type)
		for (i = 0; i < c->type->ninputs; i++) {
			size_t j;
			int have = 0;

			for (j = 0; j < c->ninputs; j++)
				have |= strcmp(c->inputs[j].name, c->type->inputs[i].name) == 0;
			/* one given but wrong was reported already */
			if (r->inputs && r->inputs->type == YAML_MAPPING_NODE) {
				yaml_node_pair_t *pr;

				for (pr = r->inputs->data.mapping.pairs.start; pr < r->inputs->data.mapping.pairs.top; pr++) {
					const char *kn = scalar(node_at(L, pr->key));

					have |= kn && strcmp(kn, c->type->inputs[i].name) == 0;
				}
			}
			if (!have && !c->type->inputs[i].optional && !r->bad_keys)
				problem(L, r->inputs ? r->inputs : r->node, "component '%s' (%s) needs input '%s'",
					c->id ? c->id : "?", c->type->name, c->type->inputs[i].name);
		}
	if (r->after) {
		yaml_node_item_t *it, single;
		yaml_node_item_t *start, *top;

		if (r->after->type == YAML_SCALAR_NODE) {
			single = (yaml_node_item_t)(r->after - L->doc->nodes.start + 1);
			start = &single;
			top = &single + 1;
		} else if (expect(L, r->after, YAML_SEQUENCE_NODE, "'after'")) {
			start = r->after->data.sequence.items.start;
			top = r->after->data.sequence.items.top;
		} else {
			return;
		}
		if (!(c->after = mp_calloc((size_t)(top - start) + 1, sizeof(*c->after)))) {
			L->oom = 1;
			return;
		}
		for (it = start; it < top; it++) {
			yaml_node_t *item = node_at(L, *it);
			int idx;

			if (!expect(L, item, YAML_SCALAR_NODE, "an id in 'after'"))
				continue;
			idx = mp_pipeline_find(p, scalar(item));
			if (idx < 0)
				problem(L, item, "'after' names '%s', but no component has that id", scalar(item));
			else if (&p->comps[idx] == c)
				problem(L, item, "component '%s' cannot run after itself", c->id);
			else
				c->after[c->nafter++] = idx;
		}
	}
}

/* ---- the DAG ----------------------------------------------------------- */

static void edges_of(const mp_pl_component *c, int *deps, size_t *n)
{
	size_t i;

	*n = 0;
	for (i = 0; i < c->ninputs; i++)
		deps[(*n)++] = c->inputs[i].src;
	for (i = 0; i < c->nafter; i++)
		deps[(*n)++] = c->after[i];
}

/* Depth-first search for a cycle; colour 1 = on the stack, 2 = done. */
static int find_cycle(const mp_pipeline *p, int i, int *colour, int *stack, int depth, int *cycle_len)
{
	int deps[256];
	size_t n, k;

	colour[i] = 1;
	stack[depth] = i;
	if (p->comps[i].ninputs + p->comps[i].nafter > 256)
		return 0;
	edges_of(&p->comps[i], deps, &n);
	for (k = 0; k < n; k++) {
		int j = deps[k];

		if (colour[j] == 1) {
			int d = depth;

			while (stack[d] != j)
				d--;
			/* the cycle is stack[d..depth], then back to j */
			memmove(stack, stack + d, (size_t)(depth - d + 1) * sizeof(*stack));
			*cycle_len = depth - d + 1;
			return 1;
		}
		if (colour[j] == 0 && find_cycle(p, j, colour, stack, depth + 1, cycle_len))
			return 1;
	}
	colour[i] = 2;
	return 0;
}

static int order_components(loader *L)
{
	mp_pipeline *p = L->p;
	size_t n = p->ncomps, i, done = 0;
	int *colour = mp_calloc(n + 1, sizeof(int)), *stack = mp_calloc(n + 1, sizeof(int));
	int *placed = mp_calloc(n + 1, sizeof(int)), cycle_len = 0, rc = 0;

	p->order = mp_calloc(n + 1, sizeof(int));
	if (!colour || !stack || !placed || !p->order) {
		L->oom = 1;
		rc = -1;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (colour[i] == 0 && find_cycle(p, (int)i, colour, stack, 0, &cycle_len)) {
			mp_strbuf sb = MP_STRBUF_INIT;
			int k;

			/* stack holds a chain where each depends on the next */
			for (k = cycle_len - 1; k >= 0; k--)
				mp_strbuf_addf(&sb, "%s -> ", p->comps[stack[k]].id);
			mp_strbuf_adds(&sb, p->comps[stack[cycle_len - 1]].id);
			mp_diags_add(L->diags, "%s:%d:%d: cycle: %s", L->file, p->comps[stack[cycle_len - 1]].line,
				     p->comps[stack[cycle_len - 1]].col, mp_strbuf_str(&sb));
			mp_strbuf_release(&sb);
			rc = -1;
			goto out;
		}
	/* Kahn's algorithm, taking the first ready component in file order */
	while (done < n) {
		for (i = 0; i < n; i++) {
			int deps[256], ready = 1;
			size_t nd, k;

			if (placed[i])
				continue;
			edges_of(&p->comps[i], deps, &nd);
			for (k = 0; k < nd; k++)
				ready &= placed[deps[k]];
			if (ready)
				break;
		}
		if (i == n) { /* impossible after the cycle check */
			rc = -1;
			goto out;
		}
		placed[i] = 1;
		p->order[done++] = (int)i;
	}
out:
	free(colour);
	free(stack);
	free(placed);
	return rc;
}

int mp_pipeline_depends(const mp_pipeline *p, int i, int j)
{
	int deps[256];
	size_t n, k;

	edges_of(&p->comps[i], deps, &n);
	for (k = 0; k < n; k++)
		if (deps[k] == j || mp_pipeline_depends(p, deps[k], j))
			return 1;
	return 0;
}

/* ---- --set ------------------------------------------------------------- */

static void apply_set(loader *L, const char *set, int pipeline_stage)
{
	mp_pipeline *p = L->p;
	const char *eq = strchr(set, '='), *dot = strchr(set, '.');
	char target[128], name[128];
	size_t i;

	if (!eq || !dot || dot > eq || dot == set || eq == dot + 1) {
		if (pipeline_stage)
			mp_diags_add(L->diags, "--set %s: expected ID.PARAM=VALUE", set);
		return;
	}
	snprintf(target, sizeof(target), "%.*s", (int)(dot - set), set);
	snprintf(name, sizeof(name), "%.*s", (int)(eq - dot - 1), dot + 1);
	if (!strcmp(target, "pipeline") != !!pipeline_stage)
		return;
	if (pipeline_stage) {
		for (i = 0; i < p->nparams; i++)
			if (!strcmp(p->params[i].name, name)) {
				char *v = dup_or_oom(L, eq + 1);

				if (v) {
					free(p->params[i].value);
					p->params[i].value = v;
				}
				return;
			}
		mp_diags_add(L->diags, "--set %s: the pipeline has no param '%s'", set, name);
		return;
	}
	{
		int idx = mp_pipeline_find(p, target);
		mp_pl_component *c;
		const mp_param_spec *spec;
		char *canon = NULL;
		mp_err err;

		if (idx < 0) {
			mp_diags_add(L->diags, "--set %s: no component has id '%s'", set, target);
			return;
		}
		c = &p->comps[idx];
		if (!c->type)
			return;
		spec = mp_component_param(c->type, name);
		if (!spec && !c->type->any_params) {
			const char *names[64], *near;
			size_t n = 0;

			for (i = 0; i < c->type->nparams && n < 64; i++)
				names[n++] = c->type->params[i].name;
			near = mp_closest(name, names, n);
			if (near)
				mp_diags_add(L->diags, "--set %s: %s has no param '%s' (did you mean '%s'?)", set,
					     c->type->name, name, near);
			else
				mp_diags_add(L->diags, "--set %s: %s has no param '%s'", set, c->type->name, name);
			return;
		}
		if (spec && mp_param_check(spec, eq + 1, &canon, &err) != 0) {
			mp_diags_add(L->diags, "--set %s: param %s", set, err.msg);
			return;
		}
		if (spec && missing_path(L, spec, canon, &err)) {
			mp_diags_add(L->diags, "--set %s: param %s", set, err.msg);
			free(canon);
			return;
		}
		if (!canon && !(canon = mp_strdup(eq + 1))) {
			L->oom = 1;
			return;
		}
		for (i = 0; i < c->nparams; i++)
			if (!strcmp(c->params[i].name, name)) {
				free(c->params[i].value);
				c->params[i].value = canon;
				return;
			}
		{
			size_t alloc = c->nparams;

			add_value(L, &c->params, &c->nparams, &alloc, name, canon, NULL);
			qsort(c->params, c->nparams, sizeof(*c->params), cmp_value);
		}
	}
}

/* ---- entry points ------------------------------------------------------ */

int mp_pipeline_find(const mp_pipeline *p, const char *id)
{
	size_t i;

	for (i = 0; i < p->ncomps; i++)
		if (p->comps[i].id && strcmp(p->comps[i].id, id) == 0)
			return (int)i;
	return -1;
}

const char *mp_pl_param(const mp_pl_component *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nparams; i++)
		if (strcmp(c->params[i].name, name) == 0)
			return c->params[i].value;
	return NULL;
}

static void free_values(mp_pl_value *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

void mp_pipeline_free(mp_pipeline *p)
{
	size_t i, k;

	if (!p)
		return;
	for (i = 0; i < p->ncomps; i++) {
		mp_pl_component *c = &p->comps[i];

		free(c->id);
		free_values(c->params, c->nparams);
		for (k = 0; k < c->ninputs; k++) {
			free(c->inputs[k].name);
			free(c->inputs[k].output);
		}
		free(c->inputs);
		for (k = 0; k < c->noutputs; k++) {
			free(c->outputs[k].name);
			free(c->outputs[k].type);
		}
		free(c->outputs);
		free(c->after);
	}
	free(p->comps);
	free_values(p->params, p->nparams);
	free(p->order);
	free(p->source);
	for (i = 0; i < p->nsets; i++)
		free(p->sets[i]);
	free(p->sets);
	free(p->file);
	free(p->dir);
	free(p->name);
	free(p->root);
	free(p->metadata);
	free(p->schedule);
	free(p);
}

/* What the params' shapes cannot say, asked of the component type itself
 * (its check function), pointing at the param the message names. */
static void check_component(loader *L, const mp_pl_component *c)
{
	mp_kv *kv;
	mp_component_io io = {0};
	mp_err err;
	size_t i;

	if (!c->type || !c->type->check || !c->nparams)
		return;
	if (!(kv = mp_calloc(c->nparams, sizeof(*kv)))) {
		L->oom = 1;
		return;
	}
	for (i = 0; i < c->nparams; i++) {
		kv[i].key = c->params[i].name;
		kv[i].value = c->params[i].value;
	}
	io.params = kv;
	io.nparams = c->nparams;
	io.workdir = L->p->dir;
	mp_err_clear(&err);
	if (c->type->check(&io, &err) != 0) {
		int line = c->line, col = c->col;

		for (i = 0; i < c->nparams; i++) {
			size_t len = strlen(c->params[i].name);

			if (!strncmp(err.msg, c->params[i].name, len) && strchr(":.[", err.msg[len]) && err.msg[len] &&
			    c->params[i].line) {
				line = c->params[i].line;
				col = c->params[i].col;
			}
		}
		mp_diags_add(L->diags, "%s:%d:%d: param %s", L->file, line, col, err.msg);
	}
	free(kv);
}

static void load_document(loader *L, const char *const *sets, size_t nsets)
{
	yaml_node_t *root = yaml_document_get_root_node(L->doc), *pblock = NULL, *cblock = NULL;
	mp_pipeline *p = L->p;
	raw_comp *raw = NULL;
	yaml_node_pair_t *pr;
	size_t i, n;

	if (!root) {
		problem(L, NULL, "the file is empty");
		return;
	}
	if (!expect(L, root, YAML_MAPPING_NODE, "a pipeline file"))
		return;
	for (pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node_at(L, pr->key);
		const char *key = scalar(k);
		static const char *const keys[] = {"pipeline", "components"};
		const char *near;

		if (key && !strcmp(key, "pipeline") && !pblock)
			pblock = node_at(L, pr->value);
		else if (key && !strcmp(key, "components") && !cblock)
			cblock = node_at(L, pr->value);
		else if (key && (!strcmp(key, "pipeline") || !strcmp(key, "components")))
			problem(L, k, "duplicate key '%s'", key);
		else if (key && (near = mp_closest(key, keys, 2)))
			problem(L, k, "unknown key '%s' (did you mean '%s'?)", key, near);
		else
			problem(L, k, "unknown key '%s': a pipeline file has 'pipeline' and 'components'", key ? key : "?");
	}
	if (!pblock)
		problem(L, root, "the file needs a 'pipeline' block");
	else
		load_pipeline_block(L, pblock);
	for (i = 0; i < nsets; i++)
		apply_set(L, sets[i], 1);
	if (!cblock) {
		problem(L, root, "the file needs a 'components' list");
		return;
	}
	if (!expect(L, cblock, YAML_SEQUENCE_NODE, "'components'"))
		return;
	n = (size_t)(cblock->data.sequence.items.top - cblock->data.sequence.items.start);
	if (n == 0) {
		problem(L, cblock, "'components' is empty");
		return;
	}
	p->comps = mp_calloc(n, sizeof(*p->comps));
	raw = mp_calloc(n, sizeof(*raw));
	if (!p->comps || !raw) {
		L->oom = 1;
		free(raw);
		return;
	}
	for (i = 0; i < n; i++) {
		yaml_node_t *c = node_at(L, cblock->data.sequence.items.start[i]);
		size_t k;

		size_t before = L->diags->n;

		load_component(L, c, &raw[i], &p->comps[i]);
		raw[i].problems = L->diags->n > before;
		p->ncomps++;
		for (k = 0; k < i && p->comps[i].id; k++)
			if (p->comps[k].id && !strcmp(p->comps[k].id, p->comps[i].id)) {
				problem(L, raw[i].id, "duplicate component id '%s' (first at line %d)", p->comps[i].id,
					p->comps[k].line);
				free(p->comps[i].id);
				p->comps[i].id = NULL;
				break;
			}
	}
	for (i = 0; i < n; i++)
		resolve_refs(L, &raw[i], &p->comps[i]);
	for (i = 0; i < nsets; i++) {
		size_t before = L->diags->n;
		const char *dot = strchr(sets[i], '.');

		apply_set(L, sets[i], 0);
		if (L->diags->n > before && dot) {
			/* a --set that was refused: its component is not checked again */
			char *id = mp_strndup(sets[i], (size_t)(dot - sets[i]));
			int ci = id ? mp_pipeline_find(p, id) : -1;

			if (ci >= 0)
				raw[ci].problems = 1;
			free(id);
		}
	}
	for (i = 0; i < n; i++)
		if (!raw[i].problems)
			check_component(L, &p->comps[i]);
	free(raw);
}

int mp_pipeline_parse(const char *name, const char *dir, const char *text, size_t len,
		      const char *const *sets, size_t nsets, mp_pipeline **out,
		      mp_diags *diags, mp_err *err)
{
	yaml_document_t doc;
	loader L = {name, &doc, diags, NULL, 0};
	size_t before = diags->n;
	mp_pipeline *p;
	int rc;

	*out = NULL;
	if (!(p = mp_calloc(1, sizeof(*p))) || !(p->file = mp_strdup(name)) || !(p->dir = mp_strdup(dir)) ||
	    !(p->source = mp_strndup(text, len)) ||
	    (nsets && !(p->sets = mp_calloc(nsets, sizeof(*p->sets))))) {
		mp_pipeline_free(p);
		return mp_error(err, MP_ENOMEM, "out of memory loading '%s'", name);
	}
	mp_hash_buf(text, len, p->source_hash);
	for (; p->nsets < nsets; p->nsets++)
		if (!(p->sets[p->nsets] = mp_strdup(sets[p->nsets]))) {
			mp_pipeline_free(p);
			return mp_error(err, MP_ENOMEM, "out of memory loading '%s'", name);
		}
	L.p = p;
	/* the loader reports duplicate keys itself, with the others */
	if ((rc = mp_yaml_load(&doc, text, len, name, 0, err)) != 0) {
		if (rc == MP_EINVAL)
			mp_diags_add(diags, "%s", err->msg);
		mp_pipeline_free(p);
		return rc;
	}
	load_document(&L, sets, nsets);
	yaml_document_delete(&doc);
	if (!L.oom && diags->n == before && p->ncomps)
		order_components(&L);
	if (L.oom) {
		mp_pipeline_free(p);
		return mp_error(err, MP_ENOMEM, "out of memory loading '%s'", name);
	}
	if (diags->n > before) {
		mp_pipeline_free(p);
		return mp_error(err, MP_EINVAL, "%s", diags->items[before]);
	}
	*out = p;
	return 0;
}

int mp_pipeline_load(const char *path, const char *const *sets, size_t nsets,
		     mp_pipeline **out, mp_diags *diags, mp_err *err)
{
	char *text, *dir, *slash, *absdir;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = mp_read_file(path, &text, &len, err)) != 0)
		return rc == MP_ENOTFOUND ? mp_error(err, MP_EINVAL, "cannot read pipeline file '%s': no such file", path)
					  : rc;
	if (strlen(text) != len) {
		free(text);
		return mp_error(err, MP_EINVAL, "'%s' is not a text file (a NUL byte at offset %zu)", path, strlen(text));
	}
	dir = mp_strdup(path);
	if (!dir) {
		free(text);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, ".");
	absdir = realpath(dir, NULL);
	free(dir);
	if (!absdir) {
		free(text);
		return mp_error(err, MP_EIO, "cannot resolve the folder of '%s'", path);
	}
	rc = mp_pipeline_parse(path, absdir, text, len, sets, nsets, out, diags, err);
	free(absdir);
	free(text);
	return rc;
}
