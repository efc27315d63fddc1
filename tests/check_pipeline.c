/* The pipeline loader: every validation error with its line and column,
 * cycles, order, --set overrides, and the cache key. */
#include "testutil.h"

#include "orchestrator/pipeline.h"
#include "orchestrator/run.h"

/* A component type with typed params and typed inputs and outputs, so the
 * loader's checks have something to check against. */
static int probe_run(const mp_component_io *io, mp_err *err)
{
	(void)io;
	(void)err;
	return 0;
}

static const mp_param_spec probe_params[] = {
	{"epochs", MP_PARAM_INT, "10", 1, 1000, "passes", NULL, NULL},
	{"lr", MP_PARAM_FLOAT, "0.001", 0, 10, "step size", NULL, NULL},
	{"shuffle", MP_PARAM_BOOL, "true", 0, 0, "shuffle", NULL, NULL},
	{"label", MP_PARAM_STRING, NULL, 0, 0, "the label column", NULL, NULL},
	{"data", MP_PARAM_PATH, "", 0, 0, "a file", NULL, NULL},
};
static const mp_io_spec probe_inputs[] = {
	{"examples", "Examples", 0, "examples"},
	{"base", "Model", 1, "a model to start from"},
};
static const mp_io_spec probe_outputs[] = {
	{"model", "Model", 0, "the model"},
};
static const mp_component_type probe = {
	.name = "Probe",
	.version = "3",
	.summary = "test type",
	.inputs = probe_inputs,
	.ninputs = 2,
	.outputs = probe_outputs,
	.noutputs = 1,
	.params = probe_params,
	.nparams = 5,
	.run = probe_run,
};
static const mp_io_spec source_outputs[] = {
	{"examples", "Examples", 0, "examples"},
	{"extra", "Examples", 1, "written only when read"},
};
static const mp_component_type source = {
	.name = "Source",
	.version = "1",
	.summary = "test type",
	.outputs = source_outputs,
	.noutputs = 2,
	.run = probe_run,
};

static void register_types(void)
{
	mp_err err;

	if (!mp_component_find("Probe")) {
		ck_assert_int_eq(mp_component_register(&probe, &err), 0);
		ck_assert_int_eq(mp_component_register(&source, &err), 0);
	}
}

static const char HEAD[] =
	"pipeline:\n"
	"  name: demo\n"
	"  root: runs\n"
	"  metadata: runs/m.db\n"
	"  params: { seed: 42, rate: 0.5 }\n"
	"components:\n";

/* Parses HEAD + body; returns the pipeline (or NULL) and fills d. */
static mp_pipeline *parse_sets(const char *body, const char *const *sets, size_t nsets, mp_diags *d)
{
	char *text = mp_asprintf("%s%s", HEAD, body);
	mp_pipeline *p = NULL;
	mp_err err;
	int rc;

	ck_assert_ptr_nonnull(text);
	rc = mp_pipeline_parse("t.yaml", "/work/x", text, strlen(text), sets, nsets, &p, d, &err);
	free(text);
	ck_assert_int_eq(rc != 0, p == NULL);
	if (rc != 0)
		ck_assert_int_eq(rc, MP_EINVAL);
	return p;
}

static mp_pipeline *parse(const char *body, mp_diags *d)
{
	return parse_sets(body, NULL, 0, d);
}

/* body fails with a diagnostic containing want among its lines. */
static void expect_diag(const char *body, const char *want)
{
	mp_diags d = {0};
	mp_pipeline *p = parse(body, &d);
	size_t i;
	int found = 0;

	ck_assert_ptr_null(p);
	for (i = 0; i < d.n; i++)
		if (strstr(d.items[i], want))
			found = 1;
	if (!found) {
		for (i = 0; i < d.n; i++)
			fprintf(stderr, "  got: %s\n", d.items[i]);
		ck_abort_msg("no diagnostic contains '%s'", want);
	}
	mp_diags_release(&d);
}

START_TEST(valid_pipeline_loads)
{
	mp_diags d = {0};
	mp_pipeline *p;
	const mp_pl_component *t;

	register_types();
	p = parse("  - id: train\n"
		  "    type: Probe\n"
		  "    inputs: { examples: src.examples }\n"
		  "    params: { epochs: '${pipeline.seed}', lr: 1e-2, label: y, shuffle: no }\n"
		  "    retries: 2\n"
		  "    timeout: 60\n"
		  "    cache: false\n"
		  "  - { id: src, type: Source }\n"
		  "  - { id: note, type: Command, after: [train], params: { cmd: 'echo ${pipeline.name}' } }\n",
		  &d);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "demo");
	ck_assert_str_eq(p->root, "/work/x/runs");
	ck_assert_str_eq(p->metadata, "/work/x/runs/m.db");
	ck_assert_uint_eq(p->ncomps, 3);
	/* order: src before train before note */
	ck_assert_int_eq(p->order[0], 1);
	ck_assert_int_eq(p->order[1], 0);
	ck_assert_int_eq(p->order[2], 2);
	t = &p->comps[0];
	ck_assert_str_eq(mp_pl_param(t, "epochs"), "42");
	ck_assert_str_eq(mp_pl_param(t, "lr"), "0.01");
	ck_assert_str_eq(mp_pl_param(t, "shuffle"), "false");
	ck_assert_str_eq(mp_pl_param(t, "data"), ""); /* default filled in */
	ck_assert_int_eq(t->retries, 2);
	ck_assert_int_eq(t->timeout_s, 60);
	ck_assert_int_eq(t->cache, 0);
	ck_assert_uint_eq(t->noutputs, 1);
	ck_assert_str_eq(t->outputs[0].type, "Model");
	ck_assert_str_eq(mp_pl_param(&p->comps[2], "cmd"), "echo demo");
	ck_assert(mp_pipeline_depends(p, 2, 1));
	ck_assert(!mp_pipeline_depends(p, 1, 2));
	mp_pipeline_free(p);
}
END_TEST

START_TEST(each_problem_has_its_line_and_column)
{
	register_types();
	expect_diag("  - { id: a, type: Comand, params: { cmd: x } }\n",
		    "t.yaml:7:20: unknown component type 'Comand' (did you mean 'Command'?)");
	expect_diag("  - { id: a, type: Command, params: { cmd: x }, colour: red }\n",
		    "t.yaml:7:49: unknown key 'colour' in a component");
	expect_diag("  - { id: a, type: Command }\n", "t.yaml:7:5: component 'a' (Command) needs param 'cmd'");
	expect_diag("  - { id: a, type: Probe, inputs: { examples: src.examples } }\n"
		    "  - { id: src, type: Source }\n",
		    "t.yaml:7:5: component 'a' (Probe) needs param 'label'");
	expect_diag("  - { id: t, type: Probe, inputs: { examples: src.examples }, params: { label: y, epochs: ten } }\n"
		    "  - { id: src, type: Source }\n",
		    "t.yaml:7:91: param epochs: 'ten' is not an integer");
	expect_diag("  - { id: t, type: Probe, inputs: { examples: src.examples }, params: { label: y, epochs: 0 } }\n"
		    "  - { id: src, type: Source }\n",
		    "t.yaml:7:91: param epochs: 0 is out of range [1, 1000]");
	expect_diag("  - { id: t, type: Probe, inputs: { examples: src.examples }, params: { label: y, shufle: true } }\n"
		    "  - { id: src, type: Source }\n",
		    "t.yaml:7:83: unknown param 'shufle' for Probe (did you mean 'shuffle'?)");
	expect_diag("  - { id: t, type: Probe, inputs: { examples: src.examples }, params: { label: y, shuffle: 2 } }\n"
		    "  - { id: src, type: Source }\n",
		    "t.yaml:7:92: param shuffle: '2' is not true or false");
	expect_diag("  - { id: t, type: Probe, params: { label: y } }\n",
		    "t.yaml:7:5: component 't' (Probe) needs input 'examples'");
	expect_diag("  - { id: t, type: Probe, inputs: { examples: nope.examples }, params: { label: y } }\n",
		    "t.yaml:7:47: input 'examples' refers to 'nope', but no component has that id");
	expect_diag("  - { id: t, type: Probe, inputs: { examples: src.exampels }, params: { label: y } }\n"
		    "  - { id: src, type: Source }\n",
		    "t.yaml:7:47: input 'examples': component 'src' has no output 'exampels'");
	expect_diag("  - { id: t, type: Probe, inputs: { examples: m.model }, params: { label: y } }\n"
		    "  - { id: m, type: Probe, inputs: { examples: src.examples }, params: { label: y } }\n"
		    "  - { id: src, type: Source }\n",
		    "t.yaml:7:47: input 'examples' of Probe takes Examples, but 'm.model' is Model");
	expect_diag("  - { id: a, type: Command, params: { cmd: x } }\n"
		    "  - { id: a, type: Command, params: { cmd: y } }\n",
		    "t.yaml:8:11: duplicate component id 'a' (first at line 7)");
	expect_diag("  - { id: a, type: Command, after: [a], params: { cmd: x } }\n",
		    "t.yaml:7:37: component 'a' cannot run after itself");
	expect_diag("  - { id: a, type: Command, after: [zz], params: { cmd: x } }\n",
		    "t.yaml:7:37: 'after' names 'zz', but no component has that id");
	expect_diag("  - { id: a, type: Command, retries: many, params: { cmd: x } }\n",
		    "t.yaml:7:38: retries: 'many' is not an integer");
	expect_diag("  - { id: a, type: Command, timeout: -3, params: { cmd: x } }\n",
		    "t.yaml:7:38: timeout: -3 is out of range");
	expect_diag("  - { id: a, type: Command, cache: maybe, params: { cmd: x } }\n",
		    "t.yaml:7:36: 'cache' must be true or false, not 'maybe'");
	expect_diag("  - { id: a, type: Command, params: { cmd: '${pipeline.sed}' } }\n",
		    "t.yaml:7:44: '${pipeline.sed}' names no pipeline param");
	expect_diag("  - { id: 'a b', type: Command, params: { cmd: x } }\n",
		    "t.yaml:7:11: component id 'a b': use letters, digits, '_' and '-'");
	expect_diag("  - [ not, a, mapping ]\n", "t.yaml:7:5: a component must be a mapping, not a list");
	expect_diag("  - { id: a, type: Command, params: { cmd: x }\n", "t.yaml:8:1: yaml: did not find expected ',' or '}'");
}
END_TEST

/* A wrong reference is one problem, not also a missing input. */
START_TEST(no_cascading_problems)
{
	mp_diags d = {0};

	register_types();
	ck_assert_ptr_null(parse("  - { id: t, type: Probe, inputs: { examples: nope.examples }, params: { label: y } }\n", &d));
	ck_assert_uint_eq(d.n, 1);
	mp_diags_release(&d);
	ck_assert_ptr_null(parse("  - { id: a, type: Command, params: { cmd: '${pipeline.sed}' } }\n", &d));
	ck_assert_uint_eq(d.n, 1);
	mp_diags_release(&d);
}
END_TEST

/* A billion laughs: nine levels of ten aliases each would be 10^9 layers. */
START_TEST(alias_bombs_are_refused)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	int l, k;

	mp_strbuf_adds(&sb, "  - id: t\n    type: Trainer\n    inputs: {}\n    params:\n      lr_schedule: {name: constant}\n"
			    "      seed: 1\n      model:\n        l0: &l0 {dense: 8}\n");
	for (l = 1; l < 10; l++) {
		mp_strbuf_addf(&sb, "        l%d: &l%d [", l, l);
		for (k = 0; k < 10; k++)
			mp_strbuf_addf(&sb, "%s*l%d", k ? ", " : "", l - 1);
		mp_strbuf_adds(&sb, "]\n");
	}
	mp_strbuf_adds(&sb, "        layers: *l9\n");
	expect_diag(sb.buf, "t.yaml:");
	expect_diag(sb.buf, "its aliases expand it past the limit");
	mp_strbuf_release(&sb);
}
END_TEST

START_TEST(all_problems_are_reported)
{
	mp_diags d = {0};
	mp_pipeline *p;

	register_types();
	p = parse("  - { id: a, type: Comand, params: { cmd: x } }\n"
		  "  - { id: b, type: Command, retries: x, params: { cmd: x } }\n"
		  "  - { id: c, type: Command, params: { cmd: x }, colour: 1 }\n",
		  &d);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(d.n, 3);
	ck_assert(strstr(d.items[0], "t.yaml:7:"));
	ck_assert(strstr(d.items[1], "t.yaml:8:"));
	ck_assert(strstr(d.items[2], "t.yaml:9:"));
	mp_diags_release(&d);
}
END_TEST

START_TEST(pipeline_block_problems)
{
	mp_diags d = {0};
	mp_pipeline *p;
	mp_err err;
	static const char no_name[] = "pipeline: { root: r, metadata: m.db }\n"
				      "components:\n  - { id: a, type: Command, params: { cmd: x } }\n";
	static const char typo[] = "pipeline: { name: x, roots: r, metadata: m.db }\n"
				   "components:\n  - { id: a, type: Command, params: { cmd: x } }\n";
	static const char no_comps[] = "pipeline: { name: x, root: r, metadata: m.db }\n";

	ck_assert_int_eq(mp_pipeline_parse("t.yaml", "/w", no_name, strlen(no_name), NULL, 0, &p, &d, &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(d.items[0], "t.yaml:1:11: "));
	ck_assert_ptr_nonnull(strstr(d.items[0], "name"));
	mp_diags_release(&d);
	ck_assert_int_eq(mp_pipeline_parse("t.yaml", "/w", typo, strlen(typo), NULL, 0, &p, &d, &err), MP_EINVAL);
	ck_assert_str_eq(d.items[0], "t.yaml:1:22: unknown key 'roots' in 'pipeline' (did you mean 'root'?)");
	mp_diags_release(&d);
	ck_assert_int_eq(mp_pipeline_parse("t.yaml", "/w", no_comps, strlen(no_comps), NULL, 0, &p, &d, &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(d.items[0], "'components'"));
	mp_diags_release(&d);
	ck_assert_int_eq(mp_pipeline_parse("t.yaml", "/w", "", 0, NULL, 0, &p, &d, &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(d.items[0], "empty"));
	mp_diags_release(&d);
}
END_TEST

START_TEST(cycles_are_named)
{
	register_types();
	expect_diag("  - { id: a, type: Command, outputs: [o], inputs: { x: c.o }, params: { cmd: x } }\n"
		    "  - { id: b, type: Command, outputs: [o], inputs: { x: a.o }, params: { cmd: x } }\n"
		    "  - { id: c, type: Command, outputs: [o], inputs: { x: b.o }, params: { cmd: x } }\n",
		    "t.yaml:8:5: cycle: ");
	expect_diag("  - { id: a, type: Command, outputs: [o], inputs: { x: c.o }, params: { cmd: x } }\n"
		    "  - { id: b, type: Command, outputs: [o], inputs: { x: a.o }, params: { cmd: x } }\n"
		    "  - { id: c, type: Command, outputs: [o], inputs: { x: b.o }, params: { cmd: x } }\n",
		    "b -> c -> a -> b");
	/* after: edges count too */
	expect_diag("  - { id: a, type: Command, after: [b], params: { cmd: x } }\n"
		    "  - { id: b, type: Command, after: [a], params: { cmd: x } }\n",
		    "cycle: b -> a -> b");
}
END_TEST

START_TEST(order_respects_every_edge)
{
	mp_diags d = {0};
	mp_pipeline *p;
	size_t i, j;

	p = parse("  - { id: e, type: Command, after: [d, c], params: { cmd: x } }\n"
		  "  - { id: d, type: Command, outputs: [o], inputs: { x: b.o }, params: { cmd: x } }\n"
		  "  - { id: c, type: Command, outputs: [o], inputs: { x: a.o, y: b.o }, params: { cmd: x } }\n"
		  "  - { id: b, type: Command, outputs: [o], after: [a], params: { cmd: x } }\n"
		  "  - { id: a, type: Command, outputs: [o], params: { cmd: x } }\n",
		  &d);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < p->ncomps; i++)
		for (j = i + 1; j < p->ncomps; j++)
			ck_assert_msg(!mp_pipeline_depends(p, p->order[i], p->order[j]), "%s before %s",
				      p->comps[p->order[i]].id, p->comps[p->order[j]].id);
	ck_assert_str_eq(p->comps[p->order[0]].id, "a");
	ck_assert_str_eq(p->comps[p->order[4]].id, "e");
	mp_pipeline_free(p);
}
END_TEST

START_TEST(set_overrides_are_typed)
{
	static const char body[] =
		"  - { id: t, type: Probe, inputs: { examples: src.examples }, params: { label: y, epochs: '${pipeline.seed}' } }\n"
		"  - { id: src, type: Source }\n";
	const char *ok_sets[] = {"t.lr=2e-3", "pipeline.seed=7"};
	const char *bad_type[] = {"t.epochs=many"};
	const char *bad_id[] = {"tt.epochs=3"};
	const char *bad_param[] = {"t.epoch=3"};
	const char *bad_form[] = {"epochs"};
	mp_diags d = {0};
	mp_pipeline *p;

	register_types();
	p = parse_sets(body, ok_sets, 2, &d);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(mp_pl_param(&p->comps[0], "lr"), "0.002");
	ck_assert_str_eq(mp_pl_param(&p->comps[0], "epochs"), "7"); /* through ${pipeline.seed} */
	mp_pipeline_free(p);

	ck_assert_ptr_null(parse_sets(body, bad_type, 1, &d));
	ck_assert_ptr_nonnull(strstr(d.items[0], "--set t.epochs=many"));
	ck_assert_ptr_nonnull(strstr(d.items[0], "not an integer"));
	mp_diags_release(&d);
	ck_assert_ptr_null(parse_sets(body, bad_id, 1, &d));
	ck_assert_ptr_nonnull(strstr(d.items[0], "tt"));
	mp_diags_release(&d);
	ck_assert_ptr_null(parse_sets(body, bad_param, 1, &d));
	ck_assert_ptr_nonnull(strstr(d.items[0], "did you mean 'epochs'"));
	mp_diags_release(&d);
	ck_assert_ptr_null(parse_sets(body, bad_form, 1, &d));
	mp_diags_release(&d);
}
END_TEST

/* ---- the cache key ----------------------------------------------------- */

static void key_of(const char *body, const char *id, const char *const *fps, char key[MP_HASH_HEX])
{
	mp_diags d = {0};
	mp_pipeline *p = parse(body, &d);
	mp_err err;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(mp_cache_key(p, &p->comps[mp_pipeline_find(p, id)], fps, key, &err), 0);
	mp_pipeline_free(p);
}

START_TEST(cache_key_covers_what_matters)
{
	char a[MP_HASH_HEX], b[MP_HASH_HEX];
	const char *fp1[] = {"f1", "g"}, *fp2[] = {"f2", "g"}, *swapped[] = {"g", "f1"};

	register_types();
	key_of("  - { id: c, type: Command, params: { cmd: x, n: 1 } }\n", "c", NULL, a);
	key_of("  - { id: c, type: Command, params: { cmd: x, n: 1 } }\n", "c", NULL, b);
	ck_assert_str_eq(a, b);
	key_of("  - { id: c, type: Command, params: { cmd: x, n: 2 } }\n", "c", NULL, b);
	ck_assert_str_ne(a, b);
	key_of("  - { id: c, type: Command, params: { n: 1, cmd: x } }\n", "c", NULL, b);
	ck_assert_str_eq(a, b); /* order in the file does not matter */
	key_of("  - { id: c, type: Command, outputs: [o], params: { cmd: x, n: 1 } }\n", "c", NULL, b);
	ck_assert_str_ne(a, b);
	key_of("  - { id: d, type: Command, params: { cmd: x, n: 1 } }\n", "d", NULL, b);
	ck_assert_str_ne(a, b);
	/* a canonical value keys the same as its other spellings */
	key_of("  - { id: t, type: Probe, inputs: { examples: s.examples }, params: { label: y, lr: 0.001 } }\n"
	       "  - { id: s, type: Source }\n", "t", fp1, a);
	key_of("  - { id: t, type: Probe, inputs: { examples: s.examples }, params: { label: y, lr: 1e-3 } }\n"
	       "  - { id: s, type: Source }\n", "t", fp1, b);
	ck_assert_str_eq(a, b);
	/* the inputs' content */
	key_of("  - { id: t, type: Probe, inputs: { examples: s.examples }, params: { label: y } }\n"
	       "  - { id: s, type: Source }\n", "t", fp1, a);
	key_of("  - { id: t, type: Probe, inputs: { examples: s.examples }, params: { label: y } }\n"
	       "  - { id: s, type: Source }\n", "t", fp2, b);
	ck_assert_str_ne(a, b);
	/* inputs are keyed by name, not by their order in the file */
	key_of("  - { id: t, type: Command, inputs: { x: s.examples, y: s.examples }, params: { cmd: x } }\n"
	       "  - { id: s, type: Source }\n", "t", fp1, a);
	key_of("  - { id: t, type: Command, inputs: { y: s.examples, x: s.examples }, params: { cmd: x } }\n"
	       "  - { id: s, type: Source }\n", "t", swapped, b);
	ck_assert_str_eq(a, b);
	/* a thread count that cannot change the outputs is not part of it */
	key_of("  - { id: st, type: StatisticsGen, inputs: { examples: s.examples } }\n"
	       "  - { id: s, type: Source }\n", "st", fp1, a);
	key_of("  - { id: st, type: StatisticsGen, inputs: { examples: s.examples }, params: { threads: 1 } }\n"
	       "  - { id: s, type: Source }\n", "st", fp1, b);
	ck_assert_str_eq(a, b);
}
END_TEST

/* An optional output nothing reads is left out (no folder, no artifact,
 * another cache key), unless keep_outputs names it. */
START_TEST(unread_optional_outputs_are_left_out)
{
	char a[MP_HASH_HEX], b[MP_HASH_HEX];
	mp_diags d = {0};
	mp_pipeline *p;
	int s;

	register_types();
	ck_assert_ptr_nonnull(p = parse("  - { id: s, type: Source }\n"
					"  - { id: t, type: Probe, inputs: { examples: s.examples }, params: { label: y } }\n", &d));
	s = mp_pipeline_find(p, "s");
	ck_assert_uint_eq(p->comps[s].noutputs, 1);
	ck_assert_str_eq(p->comps[s].outputs[0].name, "examples");
	ck_assert_uint_eq(p->comps[s].nnot_produced, 1);
	ck_assert_str_eq(p->comps[s].not_produced[0], "extra");
	mp_pipeline_free(p);
	/* read by a component: produced */
	ck_assert_ptr_nonnull(p = parse("  - { id: s, type: Source }\n"
					"  - { id: t, type: Probe, inputs: { examples: s.extra }, params: { label: y } }\n", &d));
	s = mp_pipeline_find(p, "s");
	ck_assert_uint_eq(p->comps[s].noutputs, 2);
	ck_assert_uint_eq(p->comps[s].nnot_produced, 0);
	mp_pipeline_free(p);
	/* kept: produced, and keyed otherwise */
	key_of("  - { id: s, type: Source }\n", "s", NULL, a);
	key_of("  - { id: s, type: Source, keep_outputs: [extra] }\n", "s", NULL, b);
	ck_assert_str_ne(a, b);
	ck_assert_ptr_nonnull(p = parse("  - { id: s, type: Source, keep_outputs: [extra] }\n", &d));
	ck_assert_uint_eq(p->comps[0].noutputs, 2);
	mp_pipeline_free(p);
	/* only optional outputs can be kept */
	expect_diag("  - { id: s, type: Source, keep_outputs: [examples] }\n",
		    "t.yaml:7:43: keep_outputs: Source has no output 'examples' that is left out when unread");
	expect_diag("  - { id: s, type: Source, keep_outputs: extra }\n", "t.yaml:7:42: 'keep_outputs' must be a list");
	mp_diags_release(&d);
}
END_TEST

START_TEST(cache_key_covers_path_contents)
{
	char *dir = tu_mkdtemp(), *file = mp_asprintf("%s/data.csv", dir), *text;
	char a[MP_HASH_HEX], b[MP_HASH_HEX], c[MP_HASH_HEX];
	mp_diags d = {0};
	mp_pipeline *p;
	mp_err err;

	text = mp_asprintf("%s  - { id: c, type: Command, params: { cmd: x, deps: [data.csv] } }\n", HEAD);
	ck_assert_int_eq(mp_write_file_atomic(file, "a,b\n1,2\n", 8, &err), 0);
	ck_assert_int_eq(mp_pipeline_parse("t.yaml", dir, text, strlen(text), NULL, 0, &p, &d, &err), 0);
	ck_assert_int_eq(mp_cache_key(p, &p->comps[0], NULL, a, &err), 0);
	ck_assert_int_eq(mp_write_file_atomic(file, "a,b\n1,3\n", 8, &err), 0);
	ck_assert_int_eq(mp_cache_key(p, &p->comps[0], NULL, b, &err), 0);
	ck_assert_str_ne(a, b);
	unlink(file);
	ck_assert_int_eq(mp_cache_key(p, &p->comps[0], NULL, c, &err), 0);
	ck_assert_str_ne(c, a);
	ck_assert_str_ne(c, b);
	mp_pipeline_free(p);
	free(text);
	free(file);
	tu_rmdir(dir);
}
END_TEST

START_TEST(load_reads_files_relative_to_them)
{
	char *dir = tu_mkdtemp(), *sub = mp_asprintf("%s/pipes", dir), *file = mp_asprintf("%s/p.yaml", sub);
	mp_diags d = {0};
	mp_pipeline *p;
	mp_err err;
	static const char text[] = "pipeline: { name: x, root: ../runs, metadata: m.db }\n"
				   "components:\n  - { id: a, type: Command, params: { cmd: x } }\n";
	char *want;

	ck_assert_int_eq(mp_mkdirs(sub, 0755, &err), 0);
	ck_assert_int_eq(mp_write_file_atomic(file, text, strlen(text), &err), 0);
	ck_assert_int_eq(mp_pipeline_load(file, NULL, 0, &p, &d, &err), 0);
	ck_assert_str_eq(p->dir, sub);
	want = mp_asprintf("%s/m.db", sub);
	ck_assert_str_eq(p->metadata, want);
	free(want);
	mp_pipeline_free(p);
	ck_assert_int_eq(mp_pipeline_load("/nonexistent/p.yaml", NULL, 0, &p, &d, &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/p.yaml"));
	free(file);
	free(sub);
	tu_rmdir(dir);
}
END_TEST

START_TEST(registry_refuses_duplicates)
{
	mp_err err;

	register_types();
	ck_assert_int_eq(mp_component_register(&probe, &err), MP_EEXIST);
	ck_assert_ptr_eq(mp_component_find("Probe"), &probe);
}
END_TEST

static Suite *pipeline_suite(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("loader");

	tcase_add_test(tc, valid_pipeline_loads);
	tcase_add_test(tc, each_problem_has_its_line_and_column);
	tcase_add_test(tc, all_problems_are_reported);
	tcase_add_test(tc, alias_bombs_are_refused);
	tcase_add_test(tc, no_cascading_problems);
	tcase_add_test(tc, pipeline_block_problems);
	tcase_add_test(tc, cycles_are_named);
	tcase_add_test(tc, order_respects_every_edge);
	tcase_add_test(tc, set_overrides_are_typed);
	tcase_add_test(tc, load_reads_files_relative_to_them);
	tcase_add_test(tc, registry_refuses_duplicates);
	suite_add_tcase(s, tc);
	tc = tcase_create("cache key");
	tcase_add_test(tc, cache_key_covers_what_matters);
	tcase_add_test(tc, cache_key_covers_path_contents);
	tcase_add_test(tc, unread_optional_outputs_are_left_out);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(pipeline_suite());
}
