/* core/json: the one YAML loader every reader goes through (duplicate
 * keys, depth, alias bombs, positions), the mp_jdoc reader and the
 * canonical compact JSON of a value. */
#include "testutil.h"

#include <yaml.h>

#include "core/json.h"

static int load(const char *text, int dups, mp_err *err)
{
	yaml_document_t doc;
	int rc = mp_yaml_load(&doc, text, strlen(text), "t.yaml", dups, err);

	if (rc == 0)
		yaml_document_delete(&doc);
	return rc;
}

START_TEST(loader_names_the_spot_of_each_refusal)
{
	mp_err err;
	mp_strbuf deep = MP_STRBUF_INIT;
	int i;

	ck_assert_int_eq(load("a: 1\nb: [1, 2]\n", 1, &err), 0);
	/* a key twice: refused where the second one is, when asked */
	ck_assert_int_eq(load("a: 1\nb: 2\na: 3\n", 1, &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "t.yaml:3:1:"));
	ck_assert_ptr_nonnull(strstr(err.msg, "'a'"));
	ck_assert_int_eq(load("a: 1\na: 3\n", 0, &err), 0);
	/* a syntax error, with its position */
	ck_assert_int_eq(load("a: [1, 2\n", 1, &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "t.yaml:"));
	ck_assert_ptr_nonnull(strstr(err.msg, "yaml:"));
	/* nested deeper than MP_YAML_MAX_DEPTH */
	for (i = 0; i < MP_YAML_MAX_DEPTH + 2; i++)
		mp_strbuf_adds(&deep, "[");
	for (i = 0; i < MP_YAML_MAX_DEPTH + 2; i++)
		mp_strbuf_adds(&deep, "]");
	ck_assert_int_eq(load(deep.buf, 1, &err), MP_EINVAL);
	mp_strbuf_release(&deep);
}
END_TEST

/* A billion laughs stops at the cap, quickly, instead of expanding. */
START_TEST(alias_bombs_stop_at_the_cap)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	mp_err err;
	int i;

	mp_strbuf_adds(&sb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (i = 1; i < 9; i++)
		mp_strbuf_addf(&sb, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
			       i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	ck_assert_int_eq(load(sb.buf, 1, &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "t.yaml:"));
	mp_strbuf_release(&sb);
	/* a few aliases are fine */
	ck_assert_int_eq(load("a: &x [1, 2]\nb: *x\nc: *x\n", 1, &err), 0);
}
END_TEST

START_TEST(jdoc_reads_maps_lists_and_scalars)
{
	mp_jdoc *d;
	const mp_jnode *root, *l;
	mp_err err;

	ck_assert_int_eq(mp_jdoc_parse(&d, "{name: adam, lr: 0.001, layers: [{dense: 4}, 8]}", "opt", &err), 0);
	root = mp_jdoc_root(d);
	ck_assert(mp_jnode_is_map(root));
	ck_assert_uint_eq(mp_jnode_len(root), 3);
	ck_assert_str_eq(mp_jnode_key(d, root, 0), "name");
	ck_assert_str_eq(mp_jnode_str(mp_jnode_get(d, root, "name")), "adam");
	ck_assert_str_eq(mp_jnode_str(mp_jnode_get(d, root, "lr")), "0.001");
	ck_assert_ptr_null(mp_jnode_get(d, root, "nope"));
	l = mp_jnode_get(d, root, "layers");
	ck_assert(mp_jnode_is_list(l));
	ck_assert_uint_eq(mp_jnode_len(l), 2);
	ck_assert_str_eq(mp_jnode_str(mp_jnode_get(d, mp_jnode_at(d, l, 0), "dense")), "4");
	ck_assert_str_eq(mp_jnode_str(mp_jnode_at(d, l, 1)), "8");
	ck_assert_ptr_null(mp_jnode_at(d, l, 2));
	/* asking a list for a key, or a scalar for its text as a map: NULL */
	ck_assert_ptr_null(mp_jnode_get(d, l, "dense"));
	ck_assert_ptr_null(mp_jnode_str(l));
	ck_assert_ptr_null(mp_jnode_key(d, l, 0));
	mp_jdoc_free(d);
	mp_jdoc_free(NULL);
	/* a duplicate key in a structured param is refused too */
	ck_assert_int_eq(mp_jdoc_parse(&d, "{a: 1, a: 2}", "opt", &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "opt"));
}
END_TEST

/* The canonical form: compact JSON, numbers and booleans bare, everything
 * else a string, keys always strings, control characters escaped. */
START_TEST(yaml_becomes_compact_json)
{
	char *j;
	mp_err err;

	ck_assert_int_eq(mp_yaml_to_json("{name: adam, lr: 0.001, on: true, none: null}", &j, &err), 0);
	ck_assert_str_eq(j, "{\"name\":\"adam\",\"lr\":0.001,\"on\":true,\"none\":null}");
	free(j);
	ck_assert_int_eq(mp_yaml_to_json("[1, '2', \"a\\\"b\", {3: x}]", &j, &err), 0);
	ck_assert_str_eq(j, "[1,\"2\",\"a\\\"b\",{\"3\":\"x\"}]");
	free(j);
	ck_assert_int_eq(mp_yaml_to_json("\"tab\\there\"", &j, &err), 0);
	ck_assert_str_eq(j, "\"tab\\u0009here\"");
	free(j);
	/* the same value written two ways has one canonical form */
	{
		char *a, *b;

		ck_assert_int_eq(mp_yaml_to_json("{a: 1, b: [x, y]}", &a, &err), 0);
		ck_assert_int_eq(mp_yaml_to_json("a: 1\nb:\n  - x\n  - y\n", &b, &err), 0);
		ck_assert_str_eq(a, b);
		free(a);
		free(b);
	}
	ck_assert_int_eq(mp_yaml_to_json("{a: [1", &j, &err), MP_EINVAL);
	ck_assert_ptr_null(j);
}
END_TEST

/* Under failed allocations a parse fails with MP_ENOMEM, never a crash or
 * a half-made document (ASan sees leaks). */
START_TEST(parse_survives_failed_allocations)
{
	char *j = NULL;
	mp_err err;
	long i;
	int rc = -1;

	for (i = 0; i < 200 && rc != 0; i++) {
		mp_alloc_fail_after(i);
		rc = mp_yaml_to_json("{name: adam, layers: [{dense: 4}, {dense: auto}]}", &j, &err);
		mp_alloc_fail_after(-1);
		if (rc != 0)
			ck_assert_int_eq(rc, MP_ENOMEM);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(j, "{\"name\":\"adam\",\"layers\":[{\"dense\":4},{\"dense\":\"auto\"}]}");
	free(j);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, loader_names_the_spot_of_each_refusal);
	tcase_add_test(tc, alias_bombs_stop_at_the_cap);
	tcase_add_test(tc, jdoc_reads_maps_lists_and_scalars);
	tcase_add_test(tc, yaml_becomes_compact_json);
	tcase_add_test(tc, parse_survives_failed_allocations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
