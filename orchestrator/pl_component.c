/* One component of a pipeline file: its type, params (checked against
 * the type's specs and shapes), inputs, outputs and references. */
#include "orchestrator/loader.h"
#include "core/json.h"
#include "data/span.h"
#include "nn/dist.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- components -------------------------------------------------------- */

/* What a component entry said, before references are resolved. */
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
	else if (!strcmp(key, "ranks")) r->ranks = v;
	else if (!strcmp(key, "executor")) r->executor = v;
	else if (!strcmp(key, "keep_outputs")) r->keep_outputs = v;
	else if (!strcmp(key, "description")) mp__expect(L, v, YAML_SCALAR_NODE, "'description'");
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
			mp__problem(L, n, "unterminated '${' in '%s'", s);
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
				mp__problem(L, n, "'${pipeline.%.*s}' names no pipeline param", (int)len, name);
				mp_strbuf_release(&sb);
				return NULL;
			}
			mp_strbuf_adds(&sb, val);
		} else {
			mp__problem(L, n, "'%.*s' is not a reference: use ${pipeline.NAME}", (int)(end - start + 1), start);
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
		if (!(v = substitute(L, n, mp__scalar(n))))
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
			json_of(L, mp__node_at(L, *it), sb);
		}
		mp_strbuf_adds(sb, "]");
		break;
	case YAML_MAPPING_NODE:
		mp_strbuf_adds(sb, "{");
		for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = mp__node_at(L, pr->key);

			if (pr != n->data.mapping.pairs.start)
				mp_strbuf_adds(sb, ",");
			mp_strbuf_addf(sb, "\"%s\":", mp__scalar(k) ? mp__scalar(k) : "?");
			json_of(L, mp__node_at(L, pr->value), sb);
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

int mp__add_value(loader *L, mp_pl_value **arr, size_t *n, size_t *alloc, const char *name,
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
	v->name = mp__dup_or_oom(L, name);
	v->value = value;
	v->line = at ? (int)at->start_mark.line + 1 : 0;
	v->col = at ? (int)at->start_mark.column + 1 : 0;
	return 0;
}

/* Whether a path param names something that is not there (a file, or a
 * {SPAN} pattern that matches nothing), relative to the pipeline file;
 * the reason in err.  Found before anything runs, not mid-run. */
int mp__missing_path(loader *L, const mp_param_spec *spec, const char *value, mp_err *err)
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
		const char *near = mp_closest_in(key, c->type->params, c->type->nparams, sizeof(*c->type->params));

		if (near)
			mp__problem(L, k, "unknown param '%s' for %s (did you mean '%s'?)", key, c->type->name, near);
		else
			mp__problem(L, k, "unknown param '%s' for %s", key, c->type->name);
		return;
	}
	if (spec && spec->type == MP_PARAM_JSON) {
		mp_strbuf sb = MP_STRBUF_INIT;

		int bad = spec->shape && mp_shape_check_node(spec->shape, L->doc, v, key, shape_problem, L) > 0;

		json_of(L, v, &sb);
		text = mp_strbuf_detach(&sb);
		if (bad) {
			/* reported; keep it so that the param does not also look missing */
			if (text)
				mp__add_value(L, &c->params, &c->nparams, &pc->alloc, key, text, v);
			else
				L->oom = 1;
			return;
		}
	} else if (v->type == YAML_MAPPING_NODE && spec && spec->type == MP_PARAM_PATH_MAP) {
		mp_strbuf sb = MP_STRBUF_INIT;
		yaml_node_pair_t *pr;

		for (pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
			yaml_node_t *mk = mp__node_at(L, pr->key), *mv = mp__node_at(L, pr->value);
			char *sv;

			if (!mp__expect(L, mk, YAML_SCALAR_NODE, "a name") || !mp__expect(L, mv, YAML_SCALAR_NODE, "a path"))
				continue;
			if (!(sv = substitute(L, mv, mp__scalar(mv))))
				continue;
			if (sb.len)
				mp_strbuf_adds(&sb, "\n");
			mp_strbuf_addf(&sb, "%s=%s", mp__scalar(mk), sv);
			free(sv);
		}
		text = mp_strbuf_detach(&sb);
	} else if (v->type == YAML_SEQUENCE_NODE && spec &&
		   (spec->type == MP_PARAM_PATHS || spec->type == MP_PARAM_LIST)) {
		mp_strbuf sb = MP_STRBUF_INIT;
		yaml_node_item_t *it;

		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *item = mp__node_at(L, *it);
			char *s;

			if (!mp__expect(L, item, YAML_SCALAR_NODE, "a path in the list"))
				continue;
			if (spec->type == MP_PARAM_LIST && spec->choices &&
			    mp_param_check_choice(spec, mp__scalar(item), &err) != 0) {
				mp__problem(L, item, "param %s", err.msg); /* at the item, not the list */
				mp_strbuf_release(&sb);
				return;
			}
			if (!(s = substitute(L, item, mp__scalar(item))))
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
		if (!mp__expect(L, v, YAML_SCALAR_NODE, what))
			return;
		if (!(text = substitute(L, v, mp__scalar(v)))) {
			/* reported; keep the raw text so the param does not
			 * also look missing */
			if ((text = mp__dup_or_oom(L, mp__scalar(v))))
				mp__add_value(L, &c->params, &c->nparams, &pc->alloc, key, text, v);
			return;
		}
	}
	if (!text) {
		L->oom = 1;
		return;
	}
	if (spec) {
		if (mp_param_check(spec, text, &canon, &err) != 0) {
			mp__problem(L, v, "param %s", err.msg);
			free(text);
			return;
		}
		free(text);
		text = canon;
		if (mp__missing_path(L, spec, text, &err)) {
			mp__problem(L, v, "param %s", err.msg);
			free(text);
			return;
		}
	}
	mp__add_value(L, &c->params, &c->nparams, &pc->alloc, key, text, v);
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
			yaml_node_t *item = mp__node_at(L, *it);

			if (!mp__expect(L, item, YAML_SCALAR_NODE, "an output name"))
				continue;
			if (!mp__valid_name(mp__scalar(item))) {
				mp__problem(L, item, "output name '%s': use letters, digits, '_' and '-'", mp__scalar(item));
				continue;
			}
			for (i = 0; i < c->noutputs; i++)
				if (strcmp(c->outputs[i].name, mp__scalar(item)) == 0)
					break;
			if (i < c->noutputs) {
				mp__problem(L, item, "duplicate output '%s'", mp__scalar(item));
				continue;
			}
			c->outputs[c->noutputs].name = mp__dup_or_oom(L, mp__scalar(item));
			c->outputs[c->noutputs].type = mp__dup_or_oom(L, "Artifact");
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
			yaml_node_t *k = mp__node_at(L, pr->key), *v = mp__node_at(L, pr->value);

			if (!mp__expect(L, k, YAML_SCALAR_NODE, "an output name") ||
			    !mp__expect(L, v, YAML_SCALAR_NODE, "an output type"))
				continue;
			if (!mp__valid_name(mp__scalar(k)) || !mp__valid_name(mp__scalar(v))) {
				mp__problem(L, k, "output '%s: %s': use letters, digits, '_' and '-'", mp__scalar(k), mp__scalar(v));
				continue;
			}
			c->outputs[c->noutputs].name = mp__dup_or_oom(L, mp__scalar(k));
			c->outputs[c->noutputs].type = mp__dup_or_oom(L, mp__scalar(v));
			c->noutputs++;
		}
	} else {
		mp__problem(L, outs, "'outputs' must be a list of names or a mapping of name to type, not %s",
			mp__kind_name(outs));
	}
}

/* ranks: N, for a type that runs as MPI ranks, in a build with MPI, on a
 * machine with mpirun. */
static void check_ranks(loader *L, yaml_node_t *v, mp_pl_component *c)
{
	if (mp__parse_int(L, v, "ranks", 1, 4096, &c->ranks) != 0 || c->ranks == 1)
		return;
	if (!c->type->ranks)
		mp__problem(L, v, "%s does not run as several ranks ('ranks' is for the Trainer)", c->type->name);
	else if (!mp_dist_available())
		mp__problem(L, v, "ranks: %d needs MPI, and this mlpipe was built without it (install libopenmpi-dev "
			    "and rebuild)", c->ranks);
	else if (!mp_which("mpirun"))
		mp__problem(L, v, "ranks: %d needs mpirun, which is not on the PATH (install openmpi-bin)", c->ranks);
}

int mp__cmp_value(const void *a, const void *b)
{
	return strcmp(((const mp_pl_value *)a)->name, ((const mp_pl_value *)b)->name);
}

/* The first pass over one component: everything but references. */
void mp__load_component(loader *L, yaml_node_t *node, raw_comp *r, mp_pl_component *c)
{
	static const char *const keys[] = {"id", "type", "inputs", "outputs", "params", "after",
					   "retries", "timeout", "cache", "ranks", "executor", "keep_outputs", "description", NULL};
	param_ctx pc = {c, 0};
	size_t i;

	memset(r, 0, sizeof(*r));
	r->node = node;
	c->line = (int)node->start_mark.line + 1;
	c->col = (int)node->start_mark.column + 1;
	c->cache = 1;
	c->ranks = 1;
	if (!mp__expect(L, node, YAML_MAPPING_NODE, "a component"))
		return;
	{
		size_t before = L->diags->n;

		mp__each_key(L, node, keys, "a component", comp_key, r);
		r->bad_keys = L->diags->n > before;
	}
	if (!r->id)
		mp__problem(L, node, "a component needs an 'id'");
	else if (mp__expect(L, r->id, YAML_SCALAR_NODE, "'id'")) {
		if (!mp__valid_name(mp__scalar(r->id)))
			mp__problem(L, r->id, "component id '%s': use letters, digits, '_' and '-'", mp__scalar(r->id));
		else
			c->id = mp__dup_or_oom(L, mp__scalar(r->id));
	}
	if (!r->type) {
		mp__problem(L, node, "component '%s' needs a 'type'", c->id ? c->id : "?");
	} else if (mp__expect(L, r->type, YAML_SCALAR_NODE, "'type'")) {
		c->type = mp_component_find(mp__scalar(r->type));
		if (!c->type) {
			const char *near = mp_component_closest(mp__scalar(r->type));
			if (near)
				mp__problem(L, r->type, "unknown component type '%s' (did you mean '%s'?)", mp__scalar(r->type), near);
			else
				mp__problem(L, r->type, "unknown component type '%s'", mp__scalar(r->type));
		}
	}
	if (r->retries)
		mp__parse_int(L, r->retries, "retries", 0, 100, &c->retries);
	if (r->timeout)
		mp__parse_int(L, r->timeout, "timeout", 1, 30 * 24 * 3600, &c->timeout_s);
	if (r->cache && mp__expect(L, r->cache, YAML_SCALAR_NODE, "'cache'")) {
		const char *v = mp__scalar(r->cache);

		if (!strcmp(v, "true") || !strcmp(v, "yes"))
			c->cache = 1;
		else if (!strcmp(v, "false") || !strcmp(v, "no"))
			c->cache = 0;
		else
			mp__problem(L, r->cache, "'cache' must be true or false, not '%s'", v);
	}
	if (!c->type)
		return;
	if (r->ranks)
		check_ranks(L, r->ranks, c);
	if (r->executor)
		mp__load_exec(L, r->executor, &c->exec);
	/* outputs: the type's own, or those the file declares */
	if (c->type->declared_outputs) {
		if (r->outputs)
			comp_output_seq(L, c, r->outputs);
	} else if (r->outputs) {
		mp__problem(L, r->outputs, "%s has fixed outputs; 'outputs' is only for types like Command", c->type->name);
	} else if (c->type->noutputs) {
		if (!(c->outputs = mp_calloc(c->type->noutputs, sizeof(*c->outputs)))) {
			L->oom = 1;
			return;
		}
		for (i = 0; i < c->type->noutputs; i++) {
			c->outputs[i].name = mp__dup_or_oom(L, c->type->outputs[i].name);
			c->outputs[i].type = mp__dup_or_oom(L, c->type->outputs[i].type);
		}
		c->noutputs = c->type->noutputs;
	}
	if (r->params && mp__expect(L, r->params, YAML_MAPPING_NODE, "'params'"))
		mp__each_key(L, r->params, NULL, "'params'", comp_param, &pc);
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
			mp__problem(L, r->params ? r->params : node, "component '%s' (%s) needs param '%s': %s",
				c->id ? c->id : "?", c->type->name, s->name, s->help);
			continue;
		}
		mp__add_value(L, &c->params, &c->nparams, &pc.alloc, s->name, mp__dup_or_oom(L, s->def), NULL);
	}
	if (c->nparams)
		qsort(c->params, c->nparams, sizeof(*c->params), mp__cmp_value);
}

/* The second pass: inputs and 'after', now that every id is known. */
/* One entry of 'inputs': NAME: ID.OUTPUT, checked against the type's
 * inputs and the producer's outputs. */
static void one_input(loader *L, mp_pl_component *c, yaml_node_t *k, yaml_node_t *v)
{
	mp_pipeline *p = L->p;
	const mp_io_spec *spec = NULL;
	const char *ref, *dot;
	int src;
	size_t j;

	if (!mp__expect(L, k, YAML_SCALAR_NODE, "an input name") ||
	    !mp__expect(L, v, YAML_SCALAR_NODE, "an input reference"))
		return;
	for (j = 0; j < c->type->ninputs; j++)
		if (strcmp(c->type->inputs[j].name, mp__scalar(k)) == 0)
			spec = &c->type->inputs[j];
	if (!spec && !c->type->any_inputs) {
		mp__problem(L, k, "%s has no input '%s'", c->type->name, mp__scalar(k));
		return;
	}
	if (c->type->any_inputs && !mp__valid_name(mp__scalar(k))) {
		mp__problem(L, k, "input name '%s': use letters, digits, '_' and '-'", mp__scalar(k));
		return;
	}
	ref = mp__scalar(v);
	dot = strchr(ref, '.');
	if (!dot) {
		mp__problem(L, v, "input '%s' must name a component's output as ID.OUTPUT, not '%s'", mp__scalar(k), ref);
		return;
	}
	{
		char *id = mp_strndup(ref, (size_t)(dot - ref));

		src = id ? mp_pipeline_find(p, id) : -1;
		if (src < 0)
			mp__problem(L, v, "input '%s' refers to '%s', but no component has that id", mp__scalar(k), id ? id : "?");
		free(id);
	}
	if (src < 0)
		return;
	if (&p->comps[src] == c) {
		mp__problem(L, v, "component '%s' cannot read its own output", c->id);
		return;
	}
	for (j = 0; j < p->comps[src].noutputs; j++)
		if (strcmp(p->comps[src].outputs[j].name, dot + 1) == 0)
			break;
	if (j == p->comps[src].noutputs) {
		if (p->comps[src].type)
			mp__problem(L, v, "input '%s': component '%s' has no output '%s'", mp__scalar(k),
				p->comps[src].id, dot + 1);
		return;
	}
	if (spec && spec->type && strcmp(spec->type, p->comps[src].outputs[j].type) != 0) {
		mp__problem(L, v, "input '%s' of %s takes %s, but '%s' is %s", mp__scalar(k), c->type->name,
			spec->type, ref, p->comps[src].outputs[j].type);
		return;
	}
	c->inputs[c->ninputs].name = mp__dup_or_oom(L, mp__scalar(k));
	c->inputs[c->ninputs].output = mp__dup_or_oom(L, dot + 1);
	c->inputs[c->ninputs].src = src;
	c->inputs[c->ninputs].line = (int)v->start_mark.line + 1;
	c->inputs[c->ninputs].col = (int)v->start_mark.column + 1;
	c->ninputs++;
}

/* Every input the type needs is wired (one given but wrong was reported
 * already). */
static void check_needed_inputs(loader *L, raw_comp *r, mp_pl_component *c)
{
	size_t i;

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
					const char *kn = mp__scalar(mp__node_at(L, pr->key));

					have |= kn && strcmp(kn, c->type->inputs[i].name) == 0;
				}
			}
			if (!have && !c->type->inputs[i].optional && !r->bad_keys)
				mp__problem(L, r->inputs ? r->inputs : r->node, "component '%s' (%s) needs input '%s'",
					c->id ? c->id : "?", c->type->name, c->type->inputs[i].name);
		}
}

/* after: an id or a list of ids this component waits for. */
static void after_ids(loader *L, raw_comp *r, mp_pl_component *c)
{
	mp_pipeline *p = L->p;

	if (r->after) {
		yaml_node_item_t *it, single;
		yaml_node_item_t *start, *top;

		if (r->after->type == YAML_SCALAR_NODE) {
			single = (yaml_node_item_t)(r->after - L->doc->nodes.start + 1);
			start = &single;
			top = &single + 1;
		} else if (mp__expect(L, r->after, YAML_SEQUENCE_NODE, "'after'")) {
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
			yaml_node_t *item = mp__node_at(L, *it);
			int idx;

			if (!mp__expect(L, item, YAML_SCALAR_NODE, "an id in 'after'"))
				continue;
			idx = mp_pipeline_find(p, mp__scalar(item));
			if (idx < 0)
				mp__problem(L, item, "'after' names '%s', but no component has that id", mp__scalar(item));
			else if (&p->comps[idx] == c)
				mp__problem(L, item, "component '%s' cannot run after itself", c->id);
			else
				c->after[c->nafter++] = idx;
		}
	}
}

void mp__resolve_refs(loader *L, raw_comp *r, mp_pl_component *c)
{
	if (r->inputs && c->type && mp__expect(L, r->inputs, YAML_MAPPING_NODE, "'inputs'")) {
		yaml_node_pair_t *pr;
		size_t n = (size_t)(r->inputs->data.mapping.pairs.top - r->inputs->data.mapping.pairs.start);

		if (!(c->inputs = mp_calloc(n ? n : 1, sizeof(*c->inputs)))) {
			L->oom = 1;
			return;
		}
		for (pr = r->inputs->data.mapping.pairs.start; pr < r->inputs->data.mapping.pairs.top; pr++)
			one_input(L, c, mp__node_at(L, pr->key), mp__node_at(L, pr->value));
	}
	check_needed_inputs(L, r, c);
	after_ids(L, r, c);
}

/* The optional output (written only when read) of c's type named name,
 * or NULL. */
static const mp_io_spec *optional_output(const mp_pl_component *c, const char *name)
{
	size_t i;

	for (i = 0; c->type && i < c->type->noutputs; i++)
		if (c->type->outputs[i].optional && strcmp(c->type->outputs[i].name, name) == 0)
			return &c->type->outputs[i];
	return NULL;
}

/* Whether keep_outputs names output. */
static int kept(loader *L, raw_comp *r, const char *output)
{
	yaml_node_item_t *it;
	int found = 0;

	if (!r->keep_outputs || r->keep_outputs->type != YAML_SEQUENCE_NODE)
		return 0;
	for (it = r->keep_outputs->data.sequence.items.start; it < r->keep_outputs->data.sequence.items.top; it++) {
		yaml_node_t *item = mp__node_at(L, *it);

		found |= item->type == YAML_SCALAR_NODE && strcmp(mp__scalar(item), output) == 0;
	}
	return found;
}

static void check_keep_outputs(loader *L, raw_comp *r, const mp_pl_component *c)
{
	yaml_node_item_t *it;

	if (!r->keep_outputs || !c->type || !mp__expect(L, r->keep_outputs, YAML_SEQUENCE_NODE, "'keep_outputs'"))
		return;
	for (it = r->keep_outputs->data.sequence.items.start; it < r->keep_outputs->data.sequence.items.top; it++) {
		yaml_node_t *item = mp__node_at(L, *it);

		if (mp__expect(L, item, YAML_SCALAR_NODE, "an output in 'keep_outputs'") &&
		    !optional_output(c, mp__scalar(item)))
			mp__problem(L, item, "keep_outputs: %s has no output '%s' that is left out when unread",
				c->type->name, mp__scalar(item));
	}
}

void mp__drop_unread_outputs(loader *L, raw_comp *r, mp_pl_component *c)
{
	mp_pipeline *p = L->p;
	size_t i = 0, j, k;

	check_keep_outputs(L, r, c);
	if (!c->id || !c->type || !(c->not_produced = mp_calloc(c->noutputs + 1, sizeof(char *)))) {
		L->oom |= c->id && c->type && !c->not_produced;
		return;
	}
	while (i < c->noutputs) {
		int read = !optional_output(c, c->outputs[i].name) || kept(L, r, c->outputs[i].name);

		for (j = 0; !read && j < p->ncomps; j++)
			for (k = 0; k < p->comps[j].ninputs; k++)
				read |= &p->comps[p->comps[j].inputs[k].src] == c &&
					strcmp(p->comps[j].inputs[k].output, c->outputs[i].name) == 0;
		if (read) {
			i++;
			continue;
		}
		c->not_produced[c->nnot_produced++] = c->outputs[i].name;
		free(c->outputs[i].type);
		memmove(&c->outputs[i], &c->outputs[i + 1], (c->noutputs - i - 1) * sizeof(*c->outputs));
		c->noutputs--;
	}
}

int mp_pipeline_find(const mp_pipeline *p, const char *id)
{
	size_t i;

	for (i = 0; i < p->ncomps; i++)
		if (p->comps[i].id && strcmp(p->comps[i].id, id) == 0)
			return (int)i;
	return -1;
}
