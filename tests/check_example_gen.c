/* ExampleGen on good and bad CSV and IDX fixtures: types, missing values,
 * stray words, hash splits, spans. */
#include "testutil.h"

#include <math.h>
#include <time.h>
#include <zlib.h>

#include "core/bytes.h"
#include "core/tsv.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "data/examples.h"
#include "data/idx.h"
#include "data/records.h"
#include "data/span.h"
#include "data/transform.h"

#include "data_fixtures.h"

/* Runs ExampleGen with params "k=v" (NULL-terminated); the output folder is
 * <dir>/<out>.  Returns the run's code; err gets its message. */
static int example_gen(const char *out, mp_err *err, mp_result **res, ...)
{
	const mp_component_type *t = mp_component_find("ExampleGen");
	mp_kv params[32], outs[1];
	char *keys[32];
	mp_component_io io = {0};
	va_list ap;
	const char *kv;
	size_t n = 0, i;
	int rc;

	ck_assert_ptr_nonnull(t);
	va_start(ap, res);
	while ((kv = va_arg(ap, const char *))) {
		const char *eq = strchr(kv, '=');

		keys[n] = mp_strndup(kv, (size_t)(eq - kv));
		params[n].key = keys[n];
		params[n].value = eq + 1;
		n++;
	}
	va_end(ap);
	/* defaults for the rest */
	for (i = 0; i < t->nparams; i++) {
		size_t k;

		for (k = 0; k < n && strcmp(params[k].key, t->params[i].name); k++)
			;
		if (k == n && t->params[i].def) {
			keys[n] = mp_strdup(t->params[i].name);
			params[n].key = keys[n];
			params[n].value = t->params[i].def;
			n++;
		}
	}
	outs[0].key = "examples";
	outs[0].value = tu_at(out);
	ck_assert_int_eq(mp_mkdirs(outs[0].value, 0755, err), 0);
	io.params = params;
	io.nparams = n;
	io.outputs = outs;
	io.noutputs = 1;
	io.workdir = tu_dir();
	io.result = *res = mp_result_new();
	rc = t->run(&io, err);
	for (i = 0; i < n; i++)
		free(keys[i]);
	free((char *)outs[0].value);
	return rc;
}

/* Reads split of the Examples at <dir>/<out> into one block. */
static void read_split(const char *out, const char *split, mp_examples_meta *m, mp_block *all)
{
	char *path = tu_at(out);
	mp_examples_reader rd;
	mp_block b;
	mp_err err;
	int rc;

	ck_assert_int_eq(mp_examples_meta_read(m, path, &err), 0);
	ck_assert_int_eq(mp_block_init(&b, m->features, m->nfeatures, 1, &err), 0);
	ck_assert_int_eq(mp_block_init(all, m->features, m->nfeatures, 1024, &err), 0);
	ck_assert_int_eq(mp_examples_reader_open(&rd, m, path, split, &err), 0);
	while ((rc = mp_examples_reader_next(&rd, &b, &err)) == 1) {
		size_t r, f;

		for (r = 0; r < b.rows; r++) {
			ck_assert_int_eq(mp_block_reserve(all, all->rows + 1, &err), 0);
			for (f = 0; f < b.nfeat; f++)
				if (m->features[f].type == MP_FEAT_FLOAT)
					mp_block_set_float(all, f, b.num[f][r]);
				else
					ck_assert_int_eq(mp_block_set_string(all, f, b.miss[f][r] ? NULL : b.str[f] + b.off[f][r],
									     b.off[f][r + 1] - b.off[f][r], &err), 0);
			mp_block_end_row(all);
		}
	}
	ck_assert_int_eq(rc, 0);
	mp_examples_reader_close(&rd);
	mp_block_release(&b);
	free(path);
}

START_TEST(example_gen_reads_csv_with_types_and_missing_values)
{
	mp_examples_meta m;
	mp_block all;
	mp_result *res;
	mp_err err;

	tu_write("t.csv", "# exported 2026-11-24\n"
			    "a , b,name,y\n"
			    "1,2.5,\"x, y\",0\n"
			    "3,,plain,1\n"
			    " -4 ,1e2,\"\",0\n"
			    "5,6,,1\n");
	ck_assert_int_eq(example_gen("ex", &err, &res, "format=csv", "path=t.csv", "label=y", "skip_rows=1", NULL), 0);
	read_split("ex", "train", &m, &all);
	ck_assert_uint_eq(m.nfeatures, 4);
	ck_assert_str_eq(m.features[0].name, "a");
	ck_assert_str_eq(m.features[1].name, "b");
	ck_assert_int_eq(m.features[1].type, MP_FEAT_FLOAT);
	ck_assert_int_eq(m.features[2].type, MP_FEAT_STRING);
	ck_assert_str_eq(m.label, "y");
	ck_assert_uint_eq(all.rows, 4);
	ck_assert(all.num[0][2] == -4.0f);
	ck_assert(isnan(all.num[1][1]));
	ck_assert(all.num[1][2] == 100.0f);
	ck_assert(memcmp(all.str[2] + all.off[2][0], "x, y", 4) == 0);
	ck_assert_int_eq(all.miss[2][2], 0); /* "" quoted: an empty string */
	ck_assert_int_eq(all.miss[2][3], 1); /* nothing: missing */
	mp_block_release(&all);
	mp_examples_meta_release(&m);
	mp_result_free(res);

	/* no header: columns given; tab-separated; a numeric-looking column kept as strings */
	tu_write("t.tsv", "1\t007\n2\t010\n");
	ck_assert_int_eq(example_gen("ex2", &err, &res, "format=csv", "path=t.tsv", "columns=n\nzip",
				     "delimiter=tab", "string_columns=zip", NULL), 0);
	read_split("ex2", "train", &m, &all);
	ck_assert_str_eq(m.features[1].name, "zip");
	ck_assert_int_eq(m.features[1].type, MP_FEAT_STRING);
	ck_assert(memcmp(all.str[1] + all.off[1][0], "007", 3) == 0);
	ck_assert_uint_eq(all.rows, 2);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
	mp_result_free(res);
}
END_TEST

START_TEST(example_gen_names_the_bad_spot)
{
	mp_result *res;
	mp_err err;
	char *out;

	tu_write("bad.csv", "a,b\n1,2\n3,x\n");
	ck_assert_int_eq(example_gen("e1", &err, &res, "format=csv", "path=bad.csv", "infer_rows=1", NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "bad.csv:3:3: 'x' is not a number, but column 'b' is numeric"));
	mp_result_free(res);
	tu_write("rag.csv", "a,b\n1,2\n3,4,5\n");
	ck_assert_int_eq(example_gen("e2", &err, &res, "format=csv", "path=rag.csv", NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "rag.csv:3:5: 3 fields, but there are 2 columns"));
	mp_result_free(res);
	tu_write("dup.csv", "a,a\n1,2\n");
	ck_assert_int_eq(example_gen("e3", &err, &res, "format=csv", "path=dup.csv", NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "column name 'a' appears twice"));
	mp_result_free(res);
	ck_assert_int_eq(example_gen("e4", &err, &res, "format=csv", "path=dup.csv", "label=zz", NULL), MP_EINVAL);
	mp_result_free(res);
	ck_assert_int_eq(example_gen("e5", &err, &res, "format=csv", "path=missing.csv", NULL), MP_ENOTFOUND);
	mp_result_free(res);
	ck_assert_int_eq(example_gen("e6", &err, &res, "format=xls", "path=dup.csv", NULL), MP_EINVAL);
	mp_result_free(res);
	ck_assert_int_eq(example_gen("e7", &err, &res, "format=csv", NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "needs 'path' or 'splits'"));
	mp_result_free(res);
	/* nothing is left looking like an artifact */
	out = tu_at("e1/examples.meta");
	ck_assert(!mp_path_exists(out));
	free(out);
}
END_TEST

START_TEST(example_gen_keeps_a_numeric_column_with_a_stray_word)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	mp_examples_meta m;
	mp_block all;
	const mp_result_metric_row *mr;
	mp_result *res;
	mp_err err;
	size_t n, i;
	int r, found = 0;

	/* 178 rows, one 'abc' at line 7: still numeric; the cell is an error */
	mp_strbuf_adds(&sb, "alcohol,ash\n");
	for (r = 0; r < 178; r++)
		mp_strbuf_addf(&sb, r == 5 ? "%d.5,abc\n" : "%d.5,%d\n", 13 + r % 3, r % 7);
	tu_write("wine.csv", sb.buf);
	mp_strbuf_release(&sb);
	ck_assert_int_eq(example_gen("w1", &err, &res, "format=csv", "path=wine.csv", NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "wine.csv:7:6: 'abc' is not a number, but column 'ash' is numeric"));
	ck_assert_ptr_nonnull(strstr(err.msg, "on_bad_value: missing"));
	mp_result_free(res);
	/* on_bad_value: missing reads it as missing, and counts it */
	ck_assert_int_eq(example_gen("w2", &err, &res, "format=csv", "path=wine.csv", "on_bad_value=missing", NULL), 0);
	mr = mp_result_metrics(res, &n);
	for (i = 0; i < n; i++)
		if (!strcmp(mr[i].name, "bad_values"))
			found = mr[i].value == 1;
	ck_assert(found);
	mp_result_free(res);
	read_split("w2", "train", &m, &all);
	ck_assert_int_eq(m.features[1].type, MP_FEAT_FLOAT);
	ck_assert(isnan(all.num[1][5]));
	ck_assert_float_eq(all.num[1][6], 6);
	ck_assert_ptr_nonnull(m.splits[0].bad_values);
	ck_assert_int_eq(m.splits[0].bad_values[1], 1);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
	/* a column with many words is text */
	tu_write("words.csv", "a,b\n1,x\n2,3\n3,y\n4,5\n");
	ck_assert_int_eq(example_gen("w3", &err, &res, "format=csv", "path=words.csv", NULL), 0);
	mp_result_free(res);
	read_split("w3", "train", &m, &all);
	ck_assert_int_eq(m.features[1].type, MP_FEAT_STRING);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
}
END_TEST

/* Valid CSV that once stopped the sanitizer build: an empty quoted string
 * first in a column, and a column empty for a whole block. */
START_TEST(example_gen_reads_empty_strings_and_empty_blocks)
{
	mp_examples_meta m;
	mp_block all;
	mp_result *res;
	mp_err err;

	tu_write("e.csv", "a,s\n1,\"\"\n2,x\n");
	ck_assert_int_eq(example_gen("e1", &err, &res, "format=csv", "path=e.csv", NULL), 0);
	mp_result_free(res);
	read_split("e1", "train", &m, &all);
	ck_assert_uint_eq(all.rows, 2);
	ck_assert_int_eq(all.miss[1][0], 0);
	ck_assert_uint_eq(all.off[1][1], 0);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
	tu_write("b.csv", "a,s\n1,\n2,\n3,\n4,y\n");
	ck_assert_int_eq(example_gen("e2", &err, &res, "format=csv", "path=b.csv", "block_rows=3", "string_columns=s",
				     NULL), 0);
	mp_result_free(res);
	read_split("e2", "train", &m, &all);
	ck_assert_uint_eq(all.rows, 4);
	ck_assert_int_eq(all.miss[1][0], 1);
	ck_assert(memcmp(all.str[1] + all.off[1][3], "y", 1) == 0);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
}
END_TEST

START_TEST(example_gen_hash_split_is_deterministic)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	mp_examples_meta m1, m2;
	mp_block a1, a2, e1;
	mp_result *res;
	mp_err err;
	int i;

	mp_strbuf_adds(&sb, "id,v,s\n");
	for (i = 0; i < 2000; i++)
		mp_strbuf_addf(&sb, i % 17 ? "%d,%d,x%d\n" : "%d,%d,\"q,%d\"\n", i, i * 7 % 13, i);
	tu_write("many.csv", sb.buf);
	mp_strbuf_release(&sb);
	ck_assert_int_eq(example_gen("h1", &err, &res, "format=csv", "path=many.csv", "eval_fraction=0.25", NULL), 0);
	mp_result_free(res);
	ck_assert_int_eq(example_gen("h2", &err, &res, "format=csv", "path=many.csv", "eval_fraction=0.25",
				     "block_rows=3", "threads=1", NULL), 0);
	mp_result_free(res);
	/* the same blocks, byte for byte, whatever the number of threads */
	ck_assert_int_eq(example_gen("h3", &err, &res, "format=csv", "path=many.csv", "eval_fraction=0.25",
				     "block_rows=3", "threads=4", NULL), 0);
	mp_result_free(res);
	{
		char *p2 = tu_at("h2/eval/shard-00000.rec"), *p3 = tu_at("h3/eval/shard-00000.rec"), *d2, *d3;
		size_t n2, n3;

		ck_assert_int_eq(mp_read_file(p2, &d2, &n2, &err), 0);
		ck_assert_int_eq(mp_read_file(p3, &d3, &n3, &err), 0);
		ck_assert_uint_eq(n2, n3);
		ck_assert(memcmp(d2, d3, n2) == 0);
		free(d2);
		free(d3);
		free(p2);
		free(p3);
	}
	read_split("h1", "train", &m1, &a1);
	read_split("h2", "train", &m2, &a2);
	ck_assert_uint_eq(a1.rows, a2.rows);
	ck_assert(memcmp(a1.num[0], a2.num[0], a1.rows * sizeof(float)) == 0);
	mp_examples_meta_release(&m2);
	read_split("h1", "eval", &m2, &e1);
	ck_assert_uint_eq(a1.rows + e1.rows, 2000);
	ck_assert_msg(e1.rows > 400 && e1.rows < 600, "eval has %zu of 2000", e1.rows);
	mp_block_release(&a1);
	mp_block_release(&a2);
	mp_block_release(&e1);
	mp_examples_meta_release(&m1);
	mp_examples_meta_release(&m2);
}
END_TEST

START_TEST(example_gen_reads_idx_splits_and_spans)
{
	mp_examples_meta m;
	mp_block all;
	mp_result *res;
	const mp_result_prop_row *props;
	size_t np, i;
	mp_err err;
	int span_seen = 0;

	write_idx("train-images-idx3-ubyte.gz", 3, 7, 2, 2, 0, 0);
	write_idx("train-labels-idx1-ubyte.gz", 1, 7, 0, 0, 0, 0);
	write_idx("t10k-images-idx3-ubyte.gz", 3, 3, 2, 2, 0, 0);
	write_idx("t10k-labels-idx1-ubyte.gz", 1, 3, 0, 0, 0, 0);
	ck_assert_int_eq(example_gen("fm", &err, &res, "format=idx",
				     "splits=train=train-images-idx3-ubyte.gz\neval=t10k-images-idx3-ubyte.gz", NULL), 0);
	mp_result_free(res);
	read_split("fm", "eval", &m, &all);
	ck_assert_uint_eq(m.nfeatures, 5);
	ck_assert_str_eq(m.features[4].name, "label");
	ck_assert_str_eq(m.label, "label");
	ck_assert_int_eq(mp_examples_split(&m, "train")->rows, 7);
	ck_assert_uint_eq(all.rows, 3);
	/* pixel bytes are (offset * 7) % 256 from offset 16; labels offset % 3 from 8 */
	ck_assert(all.num[0][0] == (float)((16 * 7) % 256));
	ck_assert(all.num[3][2] == (float)(((16 + 2 * 4 + 3) * 7) % 256));
	ck_assert(all.num[4][1] == (float)((8 + 1) % 3));
	mp_block_release(&all);
	mp_examples_meta_release(&m);

	/* labels that do not match the images */
	write_idx("t10k-labels-idx1-ubyte.gz", 1, 4, 0, 0, 0, 0);
	ck_assert_int_eq(example_gen("fm2", &err, &res, "format=idx", "path=t10k-images-idx3-ubyte.gz", NULL), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "has 4 labels for the 3 images"));
	mp_result_free(res);

	/* the newest span of a pattern, recorded on the artifact */
	tu_write("span-1.csv", "x\n1\n");
	tu_write("span-2.csv", "x\n2\n3\n");
	ck_assert_int_eq(example_gen("sp", &err, &res, "format=csv", "pattern=span-{SPAN}.csv", NULL), 0);
	props = mp_result_props(res, &np);
	for (i = 0; i < np; i++)
		if (!strcmp(props[i].name, "span")) {
			ck_assert_int_eq(props[i].i, 2);
			span_seen = 1;
		}
	ck_assert(span_seen);
	mp_result_free(res);
	read_split("sp", "train", &m, &all);
	ck_assert_uint_eq(all.rows, 2);
	ck_assert_int_eq(m.span, 2);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("example_gen");
	TCase *tc;

	tc = tcase_create("ExampleGen");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, example_gen_reads_csv_with_types_and_missing_values);
	tcase_add_test(tc, example_gen_names_the_bad_spot);
	tcase_add_test(tc, example_gen_keeps_a_numeric_column_with_a_stray_word);
	tcase_add_test(tc, example_gen_reads_empty_strings_and_empty_blocks);
	tcase_add_test(tc, example_gen_hash_split_is_deterministic);
	tcase_add_test(tc, example_gen_reads_idx_splits_and_spans);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
