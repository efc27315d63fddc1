/* Loading and validating a pipeline file with libyaml's document API. */
#include "orchestrator/loader.h"
#include "core/json.h"
#include "data/span.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>


/* ---- the pipeline block ------------------------------------------------ */

typedef struct raw_pipeline {
	yaml_node_t *name, *root, *metadata, *params, *schedule, *catchup, *report, *mpi, *executor;
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
	else if (!strcmp(key, "mpi"))
		r->mpi = v;
	else if (!strcmp(key, "executor"))
		r->executor = v;
	else if (!strcmp(key, "description"))
		mp__expect(L, v, YAML_SCALAR_NODE, "'description'");
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
	if (!mp__valid_name(key)) {
		mp__problem(L, k, "pipeline param '%s': names are letters, digits, '_' and '-'", key);
		return;
	}
	if (!mp__expect(L, v, YAML_SCALAR_NODE, "a pipeline param"))
		return;
	pv = &p->params[p->nparams++];
	pv->name = mp__dup_or_oom(L, key);
	pv->value = mp__dup_or_oom(L, mp__scalar(v));
	pv->line = (int)v->start_mark.line + 1;
	pv->col = (int)v->start_mark.column + 1;
}

static void load_pipeline_block(loader *L, yaml_node_t *block)
{
	static const char *const keys[] = {"name",    "root",	"metadata", "params",	   "schedule",
					   "catchup", "report", "mpi",	    "executor",	   "description", NULL};
	raw_pipeline r = {0};
	mp_pipeline *p = L->p;
	const char *root = "runs";

	if (!mp__expect(L, block, YAML_MAPPING_NODE, "'pipeline'"))
		return;
	mp__each_key(L, block, keys, "'pipeline'", pipeline_key, &r);
	if (!r.name)
		mp__problem(L, block, "'pipeline' needs a 'name'");
	else if (mp__expect(L, r.name, YAML_SCALAR_NODE, "'name'")) {
		if (!mp__valid_name(mp__scalar(r.name)))
			mp__problem(L, r.name, "pipeline name '%s': use letters, digits, '_' and '-'", mp__scalar(r.name));
		else
			p->name = mp__dup_or_oom(L, mp__scalar(r.name));
	}
	if (r.root && mp__expect(L, r.root, YAML_SCALAR_NODE, "'root'")) {
		root = mp__scalar(r.root);
		if (!*root)
			mp__problem(L, r.root, "'root' is empty");
	}
	p->root = absolute(L, root);
	if (r.metadata && mp__expect(L, r.metadata, YAML_SCALAR_NODE, "'metadata'"))
		p->metadata = absolute(L, mp__scalar(r.metadata));
	else if (p->root)
		p->metadata = mp_asprintf("%s/metadata.db", p->root);
	if (r.schedule && mp__expect(L, r.schedule, YAML_SCALAR_NODE, "'schedule'")) {
		mp_err err;
		int col;

		if (mp_cron_parse(&p->cron, mp__scalar(r.schedule), &col, &err) != 0) {
			/* the column of the problem inside the expression */
			int quoted = r.schedule->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
				     r.schedule->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;

			mp_diags_add(L->diags, "%s:%d:%d: schedule: %s", L->file, (int)r.schedule->start_mark.line + 1,
				     (int)r.schedule->start_mark.column + 1 + quoted + col - 1, err.msg);
		} else if (mp_cron_next(&p->cron, 0) == -1) { /* within 8 years of 1970: leap days too */
			mp__problem(L, r.schedule, "schedule: '%s' never fires", mp__scalar(r.schedule));
		} else {
			p->schedule = mp__dup_or_oom(L, mp__scalar(r.schedule));
		}
	}
	if (r.catchup && mp__expect(L, r.catchup, YAML_SCALAR_NODE, "'catchup'")) {
		const char *v = mp__scalar(r.catchup);

		if (!strcmp(v, "true") || !strcmp(v, "yes"))
			p->catchup = 1;
		else if (strcmp(v, "false") && strcmp(v, "no"))
			mp__problem(L, r.catchup, "catchup: '%s' is not true or false", v);
		if (!r.schedule)
			mp__problem(L, r.catchup, "catchup needs a 'schedule'");
	}
	if (r.mpi)
		mp__load_mpi(L, r.mpi);
	if (r.executor)
		mp__load_exec(L, r.executor, &p->exec);
	if (r.report && mp__expect(L, r.report, YAML_SCALAR_NODE, "'report'")) {
		const char *v = mp__scalar(r.report);

		if (!strcmp(v, "true") || !strcmp(v, "yes"))
			p->report = 1;
		else if (strcmp(v, "false") && strcmp(v, "no"))
			mp__problem(L, r.report, "report: '%s' is not true or false", v);
	}
	if (r.params && mp__expect(L, r.params, YAML_MAPPING_NODE, "'params'")) {
		size_t n = (size_t)(r.params->data.mapping.pairs.top - r.params->data.mapping.pairs.start);

		if (!(p->params = mp_calloc(n, sizeof(*p->params)))) {
			L->oom = 1;
			return;
		}
		mp__each_key(L, r.params, NULL, "'params'", pipeline_param, NULL);
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
				char *v = mp__dup_or_oom(L, eq + 1);

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
		int rc;

		if (idx < 0) {
			mp_diags_add(L->diags, "--set %s: no component has id '%s'", set, target);
			return;
		}
		c = &p->comps[idx];
		if (!c->type)
			return;
		if ((rc = mp_param_bind(c->type, name, eq + 1, &spec, &canon, &err)) != 0) {
			mp_diags_add(L->diags, rc == MP_ENOTFOUND ? "--set %s: %s" : "--set %s: param %s", set, err.msg);
			return;
		}
		if (spec && mp__missing_path(L, spec, canon, &err)) {
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

			mp__add_value(L, &c->params, &c->nparams, &alloc, name, canon, NULL);
			qsort(c->params, c->nparams, sizeof(*c->params), mp__cmp_value);
		}
	}
}

/* ---- entry points ------------------------------------------------------ */


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
		for (k = 0; k < c->nnot_produced; k++)
			free(c->not_produced[k]);
		free(c->not_produced);
		free(c->after);
		mp_pl_exec_release(&c->exec);
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
	free(p->mpi_hostfile);
	mp_pl_exec_release(&p->exec);
	for (i = 0; i < p->nmpi_args; i++)
		free(p->mpi_args[i]);
	free(p->mpi_args);
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
		mp__problem(L, NULL, "the file is empty");
		return;
	}
	if (!mp__expect(L, root, YAML_MAPPING_NODE, "a pipeline file"))
		return;
	for (pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = mp__node_at(L, pr->key);
		const char *key = mp__scalar(k);
		static const char *const keys[] = {"pipeline", "components"};
		const char *near;

		if (key && !strcmp(key, "pipeline") && !pblock)
			pblock = mp__node_at(L, pr->value);
		else if (key && !strcmp(key, "components") && !cblock)
			cblock = mp__node_at(L, pr->value);
		else if (key && (!strcmp(key, "pipeline") || !strcmp(key, "components")))
			mp__problem(L, k, "duplicate key '%s'", key);
		else if (key && (near = mp_closest(key, keys, 2)))
			mp__problem(L, k, "unknown key '%s' (did you mean '%s'?)", key, near);
		else
			mp__problem(L, k, "unknown key '%s': a pipeline file has 'pipeline' and 'components'", key ? key : "?");
	}
	if (!pblock)
		mp__problem(L, root, "the file needs a 'pipeline' block");
	else
		load_pipeline_block(L, pblock);
	for (i = 0; i < nsets; i++)
		apply_set(L, sets[i], 1);
	if (!cblock) {
		mp__problem(L, root, "the file needs a 'components' list");
		return;
	}
	if (!mp__expect(L, cblock, YAML_SEQUENCE_NODE, "'components'"))
		return;
	n = (size_t)(cblock->data.sequence.items.top - cblock->data.sequence.items.start);
	if (n == 0) {
		mp__problem(L, cblock, "'components' is empty");
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
		yaml_node_t *c = mp__node_at(L, cblock->data.sequence.items.start[i]);
		size_t k;

		size_t before = L->diags->n;

		mp__load_component(L, c, &raw[i], &p->comps[i]);
		raw[i].problems = L->diags->n > before;
		p->ncomps++;
		for (k = 0; k < i && p->comps[i].id; k++)
			if (p->comps[k].id && !strcmp(p->comps[k].id, p->comps[i].id)) {
				mp__problem(L, raw[i].id, "duplicate component id '%s' (first at line %d)", p->comps[i].id,
					p->comps[k].line);
				free(p->comps[i].id);
				p->comps[i].id = NULL;
				break;
			}
	}
	for (i = 0; i < n; i++)
		mp__resolve_refs(L, &raw[i], &p->comps[i]);
	for (i = 0; i < n; i++)
		mp__drop_unread_outputs(L, &raw[i], &p->comps[i]);
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
