/* Statistics, schemas and anomalies: StatisticsGen's numbers on a
 * hand-computed fixture, schema inference and the schema file, and each
 * anomaly kind ExampleValidator reports. */
#include "testutil.h"

#include <math.h>

#include "components/component.h"
#include "data/examples.h"
#include "data/stats.h"
#include "data/schema.h"

static const char FIXTURE[] = "x,color,y\n"
			      "1,red,0\n"
			      "2,blue,1\n"
			      "0,red,0\n"
			      ",green,1\n"
			      "7,red,0\n";

/* x: 1 2 0 7 (one missing): count 4, mean 2.5, population std
 * sqrt(((1-2.5)^2 + (2-2.5)^2 + (0-2.5)^2 + (7-2.5)^2) / 4) = sqrt(7.25),
 * min 0, max 7, one zero; bins of width 0.7 from 0: 0 and 1 in bin 0 and 1,
 * 2 in bin 2, 7 in the last. */
START_TEST(statistics_match_a_hand_computation)
{
	mp_stats st;
	const mp_split_stats *ss;
	const mp_feat_stats *x, *c;
	mp_err err;
	char *out;

	tu_write("data.csv", FIXTURE);
	ck_assert_int_eq(tu_run_component("ExampleGen", NULL, &err, "out:examples=ex", "param:format=csv", "param:path=data.csv",
			     "param:label=y", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("StatisticsGen", NULL, &err, "in:examples=ex", "out:statistics=st", (char *)NULL), 0);
	out = tu_at("st");
	ck_assert_int_eq(mp_stats_read(&st, out, &err), 0);
	free(out);
	ss = mp_stats_split(&st, "train");
	ck_assert_ptr_nonnull(ss);
	ck_assert_int_eq(ss->rows, 5);
	x = mp_stats_feature(ss, "x");
	ck_assert_int_eq(x->count, 4);
	ck_assert_int_eq(x->missing, 1);
	ck_assert_double_eq_tol(x->mean, 2.5, 1e-9);
	ck_assert_double_eq_tol(x->std, sqrt(7.25), 1e-6);
	ck_assert_double_eq(x->min, 0);
	ck_assert_double_eq(x->max, 7);
	ck_assert_int_eq(x->zeros, 1);
	ck_assert_int_eq(x->hist[0], 1);
	ck_assert_int_eq(x->hist[1], 1);
	ck_assert_int_eq(x->hist[2], 1);
	ck_assert_int_eq(x->hist[9], 1);
	c = mp_stats_feature(ss, "color");
	ck_assert_int_eq(c->type, MP_FEAT_STRING);
	ck_assert_int_eq(c->count, 5);
	ck_assert_int_eq(c->unique, 3);
	ck_assert(c->all_values);
	ck_assert_str_eq(c->values[0].value, "red");
	ck_assert_int_eq(c->values[0].count, 3);
	ck_assert_double_eq_tol(c->avg_len, (3 + 4 + 3 + 5 + 3) / 5.0, 1e-9);
	mp_stats_release(&st);
}
END_TEST

/* The same numbers from blocks of 2 rows (one block all missing), merged
 * in block order, on any number of threads: the same file each time. */
START_TEST(statistics_do_not_depend_on_blocks_or_threads)
{
	static const char *threads[] = {"param:threads=1", "param:threads=2", "param:threads=3", "param:threads=0"};
	char *first = NULL;
	size_t k;

	tu_write("blocks.csv", "x,color,y\n1,red,0\n2,blue,1\n,red,0\n,green,1\n0,red,0\n7,red,1\n");
	for (k = 0; k < MP_COUNTOF(threads); k++) {
		char dir[32], arg[64], *path, *text;
		const mp_feat_stats *x;
		mp_stats st;
		mp_err err;
		size_t n;

		snprintf(dir, sizeof(dir), "bst%zu", k);
		snprintf(arg, sizeof(arg), "out:statistics=%s", dir);
		if (k == 0)
			ck_assert_int_eq(tu_run_component("ExampleGen", NULL, &err, "out:examples=bex", "param:format=csv",
							  "param:path=blocks.csv", "param:label=y", "param:block_rows=2",
							  (char *)NULL), 0);
		ck_assert_int_eq(tu_run_component("StatisticsGen", NULL, &err, "in:examples=bex", arg, threads[k],
						  (char *)NULL), 0);
		path = tu_at(dir);
		ck_assert_int_eq(mp_stats_read(&st, path, &err), 0);
		x = mp_stats_feature(mp_stats_split(&st, "train"), "x");
		ck_assert_int_eq(x->count, 4);
		ck_assert_int_eq(x->missing, 2);
		ck_assert_double_eq_tol(x->mean, 2.5, 1e-9);
		ck_assert_double_eq_tol(x->std, sqrt(7.25), 1e-6);
		ck_assert_double_eq(x->min, 0);
		ck_assert_double_eq(x->max, 7);
		ck_assert_int_eq(x->zeros, 1);
		ck_assert_int_eq(x->hist[0] + x->hist[1] + x->hist[2] + x->hist[9], 4);
		mp_stats_release(&st);
		text = mp_asprintf("%s/statistics.tsv", path);
		free(path);
		path = text;
		ck_assert_int_eq(mp_read_file(path, &text, &n, &err), 0);
		if (!first) {
			first = text;
		} else {
			ck_assert_str_eq(text, first);
			free(text);
		}
		free(path);
	}
	free(first);
}
END_TEST

START_TEST(statistics_file_round_trips_awkward_names)
{
	mp_stats a, b;
	mp_feat_stats fs[2];
	mp_split_stats sp;
	mp_value_count vals[2];
	mp_err err;
	char *out = tu_at("");

	memset(fs, 0, sizeof(fs));
	fs[0].name = "tab\there";
	fs[0].type = MP_FEAT_FLOAT;
	fs[0].count = 2;
	fs[0].mean = 0.5;
	fs[1].name = "a\\b";
	fs[1].type = MP_FEAT_STRING;
	fs[1].count = 2;
	fs[1].unique = 2;
	fs[1].all_values = 1;
	vals[0].value = "line\nbreak";
	vals[0].count = 1;
	vals[1].value = "";
	vals[1].count = 1;
	fs[1].values = vals;
	fs[1].nvalues = 2;
	sp.name = "train";
	sp.rows = 2;
	sp.feats = fs;
	sp.nfeats = 2;
	a.span = 4;
	a.splits = &sp;
	a.nsplits = 1;
	ck_assert_int_eq(mp_stats_write(&a, out, &err), 0);
	ck_assert_int_eq(mp_stats_read(&b, out, &err), 0);
	ck_assert_int_eq(b.span, 4);
	ck_assert_str_eq(b.splits[0].feats[0].name, "tab\there");
	ck_assert_str_eq(b.splits[0].feats[1].name, "a\\b");
	ck_assert_str_eq(b.splits[0].feats[1].values[0].value, "line\nbreak");
	ck_assert_str_eq(b.splits[0].feats[1].values[1].value, "");
	mp_stats_release(&b);
	tu_write("statistics.tsv", "mlpipe-statistics 1\nnumber\ttrain\tx\t1\n");
	ck_assert_int_eq(mp_stats_read(&b, out, &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "statistics.tsv:2"));
	free(out);
}
END_TEST

START_TEST(schema_is_inferred_written_and_read_back)
{
	mp_schema sc;
	const mp_schema_feature *f;
	mp_err err;
	char *path;

	tu_write("data.csv", FIXTURE);
	ck_assert_int_eq(tu_run_component("ExampleGen", NULL, &err, "out:examples=ex", "param:format=csv", "param:path=data.csv",
			     "param:label=y", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("StatisticsGen", NULL, &err, "in:examples=ex", "out:statistics=st", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("SchemaGen", NULL, &err, "in:statistics=st", "out:schema=sc", "param:infer_ranges=true",
			     (char *)NULL), 0);
	path = tu_at("sc/schema.yaml");
	ck_assert_int_eq(mp_schema_read(&sc, path, &err), 0);
	free(path);
	ck_assert_uint_eq(sc.nfeatures, 3);
	f = mp_schema_find(&sc, "x");
	ck_assert_int_eq(f->required, 0); /* one value was missing */
	ck_assert(f->has_range && f->min == 0 && f->max == 7);
	f = mp_schema_find(&sc, "color");
	ck_assert(f->required && f->has_values);
	ck_assert_uint_eq(f->nvalues, 3);
	mp_schema_release(&sc);
	/* a string with more distinct values than max_values gets no vocabulary */
	ck_assert_int_eq(tu_run_component("SchemaGen", NULL, &err, "in:statistics=st", "out:schema=sc2", "param:max_values=2",
			     (char *)NULL), 0);
	path = tu_at("sc2/schema.yaml");
	ck_assert_int_eq(mp_schema_read(&sc, path, &err), 0);
	ck_assert(!mp_schema_find(&sc, "color")->has_values);
	ck_assert(!mp_schema_find(&sc, "x")->has_range); /* ranges are off by default */
	mp_schema_release(&sc);
	free(path);
}
END_TEST

START_TEST(schema_file_problems_name_line_and_column)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"features:\n  - name: a\n    type: int\n", "s.yaml:3:11: 'type' must be float or string"},
		{"features:\n  - name: a\n    type: float\n    colour: red\n", "s.yaml:4:5: unknown key 'colour'"},
		{"features:\n  - type: float\n", "s.yaml:2:5: a feature needs a 'name'"},
		{"features:\n  - name: a\n", "s.yaml:2:5: feature 'a' needs a 'type'"},
		{"features:\n  - name: a\n    type: float\n    min: 3\n", "'min' and 'max' go together"},
		{"features:\n  - name: a\n    type: float\n    min: 3\n    max: 1\n", "min 3 is above max 1"},
		{"features:\n  - name: a\n    type: float\n    min: low\n    max: 1\n", "s.yaml:4:10: 'min' must be a number"},
		{"features:\n  - name: a\n    type: float\n    required: maybe\n", "s.yaml:4:15: 'required' must be true or false"},
		{"features:\n  - {name: a, type: float}\n  - {name: a, type: string}\n", "feature 'a' appears twice"},
		{"features:\n  - {name: a, type: float, values: [x]}\n", "'values' goes with type string"},
		{"feature:\n  - {name: a, type: float}\n", "s.yaml:1:1: unknown key 'feature'"},
		{"features: [\n", "s.yaml:2:1: yaml: "},
		/* a key twice: the second 'values' once overflowed the first's array */
		{"features:\n  - {name: a, type: string, values: [\"a\", \"b\", \"c\"], values: [\"a\"]}\n",
		 "s.yaml:2:54: duplicate key 'values'"},
		{"features:\n  - name: a\n    name: b\n    type: float\n", "s.yaml:3:5: duplicate key 'name'"},
		{"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		 "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		 "features: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n", "aliases expand it past the limit"},
	};
	size_t i;
	mp_schema sc;
	mp_err err;
	char *path = tu_at("s.yaml");

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tu_write("s.yaml", cases[i].text);
		ck_assert_int_eq(mp_schema_read(&sc, path, &err), MP_EINVAL);
		ck_assert_msg(strstr(err.msg, cases[i].want), "case %zu: got '%s'", i, err.msg);
	}
	free(path);
}
END_TEST

/* The anomalies file's lines after the header, as "split/feature/kind". */
static char *anomalies(const char *out)
{
	char *path = mp_asprintf("%s/%s/anomalies.tsv", tu_dir(), out), *text, *line, *next;
	mp_strbuf sb = MP_STRBUF_INIT;
	mp_err err;

	ck_assert_int_eq(mp_read_file(path, &text, NULL, &err), 0);
	ck_assert(!strncmp(text, "mlpipe-anomalies 1\n", 19));
	for (line = text + 19; *line; line = next) {
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL, *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		ck_assert_ptr_nonnull(t3);
		mp_strbuf_addf(&sb, "%s%.*s/%.*s/%.*s", sb.len ? " " : "", (int)(t1 - line), line, (int)(t2 - t1 - 1), t1 + 1,
			       (int)(t3 - t2 - 1), t2 + 1);
	}
	free(text);
	free(path);
	return mp_strbuf_detach(&sb);
}

START_TEST(validator_reports_each_anomaly_kind)
{
	mp_err err;
	char *got;

	tu_write("data.csv", FIXTURE);
	ck_assert_int_eq(tu_run_component("ExampleGen", NULL, &err, "out:examples=ex", "param:format=csv", "param:path=data.csv",
			     "param:label=y", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("StatisticsGen", NULL, &err, "in:examples=ex", "out:statistics=st", (char *)NULL), 0);
	/* a curated schema the data breaks in every way */
	tu_write("curated.yaml", "features:\n"
				   "  - {name: x, type: float, required: true, min: 0, max: 5}\n"
				   "  - {name: color, type: string, required: true, values: [red, blue]}\n"
				   "  - {name: y, type: string}\n"
				   "  - {name: age, type: float}\n");
	ck_assert_int_eq(tu_run_component("SchemaGen", NULL, &err, "out:schema=sc", "param:schema=curated.yaml", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("ExampleValidator", NULL, &err, "in:statistics=st", "in:schema=sc", "out:anomalies=an",
			     (char *)NULL), 0);
	got = anomalies("an");
	ck_assert_str_eq(got, "train/age/missing_feature train/x/missing_values train/x/out_of_range "
			      "train/color/unseen_values train/y/type_changed");
	free(got);
	/* fail_on_anomalies makes it an error that lists them */
	ck_assert_int_eq(tu_run_component("ExampleValidator", NULL, &err, "in:statistics=st", "in:schema=sc", "out:anomalies=an2",
			     "param:fail_on_anomalies=true", (char *)NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "5 anomalies: train/age missing_feature"));
	/* an inferred schema of the same data: nothing to report */
	ck_assert_int_eq(tu_run_component("SchemaGen", NULL, &err, "in:statistics=st", "out:schema=sc3", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("ExampleValidator", NULL, &err, "in:statistics=st", "in:schema=sc3", "out:anomalies=an3",
			     "param:fail_on_anomalies=true", (char *)NULL), 0);
	got = anomalies("an3");
	ck_assert_str_eq(got, "");
	free(got);
	/* an unexpected feature */
	tu_write("curated2.yaml", "features:\n  - {name: x, type: float}\n  - {name: y, type: float}\n");
	ck_assert_int_eq(tu_run_component("SchemaGen", NULL, &err, "out:schema=sc4", "param:schema=curated2.yaml", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("ExampleValidator", NULL, &err, "in:statistics=st", "in:schema=sc4", "out:anomalies=an4",
			     (char *)NULL), 0);
	got = anomalies("an4");
	ck_assert_str_eq(got, "train/color/unexpected_feature");
	free(got);
}
END_TEST

START_TEST(validator_measures_drift_against_a_baseline)
{
	mp_err err;
	char *got;

	tu_write("a.csv", "x,c\n1,a\n2,a\n3,b\n4,b\n");
	tu_write("b.csv", "x,c\n1.2,a\n2.1,a\n2.9,b\n4.2,b\n");  /* close to a */
	tu_write("c.csv", "x,c\n11,a\n12,b\n13,b\n14,b\n");	   /* far from a */
	ck_assert_int_eq(tu_run_component("ExampleGen", NULL, &err, "out:examples=ea", "param:format=csv", "param:path=a.csv", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("ExampleGen", NULL, &err, "out:examples=eb", "param:format=csv", "param:path=b.csv", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("ExampleGen", NULL, &err, "out:examples=ec", "param:format=csv", "param:path=c.csv", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("StatisticsGen", NULL, &err, "in:examples=ea", "out:statistics=sa", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("StatisticsGen", NULL, &err, "in:examples=eb", "out:statistics=sb", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("StatisticsGen", NULL, &err, "in:examples=ec", "out:statistics=sc", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("SchemaGen", NULL, &err, "in:statistics=sa", "out:schema=schema", (char *)NULL), 0);
	ck_assert_int_eq(tu_run_component("ExampleValidator", NULL, &err, "in:statistics=sb", "in:schema=schema", "in:baseline=sa",
			     "out:anomalies=ab", (char *)NULL), 0);
	got = anomalies("ab");
	ck_assert_str_eq(got, "");
	free(got);
	/* x moved by about 8 standard deviations; c went from 50% a to 25% a */
	ck_assert_int_eq(tu_run_component("ExampleValidator", NULL, &err, "in:statistics=sc", "in:schema=schema", "in:baseline=sa",
			     "out:anomalies=ac", (char *)NULL), 0);
	got = anomalies("ac");
	ck_assert_str_eq(got, "train/x/drift train/c/drift");
	free(got);
	/* looser limits let it pass */
	ck_assert_int_eq(tu_run_component("ExampleValidator", NULL, &err, "in:statistics=sc", "in:schema=schema", "in:baseline=sa",
			     "out:anomalies=ad", "param:drift_numeric=100", "param:drift_categorical=0.3", (char *)NULL), 0);
	got = anomalies("ad");
	ck_assert_str_eq(got, "");
	free(got);
}
END_TEST

static Suite *validation_suite(void)
{
	Suite *s = suite_create("validation");
	TCase *tc = tcase_create("validation");

	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, statistics_match_a_hand_computation);
	tcase_add_test(tc, statistics_do_not_depend_on_blocks_or_threads);
	tcase_add_test(tc, statistics_file_round_trips_awkward_names);
	tcase_add_test(tc, schema_is_inferred_written_and_read_back);
	tcase_add_test(tc, schema_file_problems_name_line_and_column);
	tcase_add_test(tc, validator_reports_each_anomaly_kind);
	tcase_add_test(tc, validator_measures_drift_against_a_baseline);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(validation_suite());
}
