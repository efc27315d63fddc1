/* core: errors, numbers, paths, atomic files, strbuf, JSON, tables. */
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "core/json.h"

START_TEST(error_fills_and_wraps)
{
	mp_err err;

	ck_assert_int_eq(mp_error(&err, MP_EIO, "cannot read '%s'", "x.csv"), MP_EIO);
	ck_assert_int_eq(err.code, MP_EIO);
	ck_assert_str_eq(err.msg, "cannot read 'x.csv'");
	ck_assert_int_eq(mp_error_wrap(&err, "component '%s'", "ingest"), MP_EIO);
	ck_assert_str_eq(err.msg, "component 'ingest': cannot read 'x.csv'");
	ck_assert_int_eq(mp_error(NULL, MP_EINVAL, "ignored"), MP_EINVAL);
	mp_err_clear(&err);
	ck_assert_int_eq(err.code, 0);
	ck_assert_str_eq(err.msg, "");
	ck_assert_str_eq(mp_strerror(MP_ENOTFOUND), "not found");
}
END_TEST

START_TEST(error_wrap_truncates_long_messages)
{
	char big[2000];
	mp_err err;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mp_error(&err, MP_EIO, "%s", big);
	ck_assert_uint_eq(strlen(err.msg), MP_ERR_MAX - 1);
	mp_error_wrap(&err, "%s", big);
	ck_assert_uint_eq(strlen(err.msg), MP_ERR_MAX - 1);
}
END_TEST

START_TEST(reverse_any_items)
{
	int even[] = {1, 2, 3, 4}, odd[] = {1, 2, 3}, one[] = {7};
	double d[] = {0.5, 1.5};

	mp_reverse(even, 4, sizeof(int));
	ck_assert(even[0] == 4 && even[1] == 3 && even[2] == 2 && even[3] == 1);
	mp_reverse(odd, 3, sizeof(int));
	ck_assert(odd[0] == 3 && odd[1] == 2 && odd[2] == 1);
	mp_reverse(one, 1, sizeof(int));
	ck_assert_int_eq(one[0], 7);
	mp_reverse(NULL, 0, sizeof(int));
	mp_reverse(d, 2, sizeof(double));
	ck_assert(d[0] == 1.5 && d[1] == 0.5);
}
END_TEST

START_TEST(parse_numbers)
{
	int64_t i;
	double d;
	mp_err err;

	ck_assert_int_eq(mp_parse_i64("42", 0, 100, &i, "epochs", &err), 0);
	ck_assert_int_eq(i, 42);
	ck_assert_int_eq(mp_parse_i64("-3", -5, 5, &i, "x", &err), 0);
	ck_assert_int_eq(i, -3);
	ck_assert_int_eq(mp_parse_i64("4x", 0, 100, &i, "epochs", &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "epochs: '4x' is not an integer");
	ck_assert_int_eq(mp_parse_i64("101", 0, 100, &i, "epochs", &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "epochs: 101 is out of range [0, 100]");
	ck_assert_int_eq(mp_parse_i64("99999999999999999999", 0, INT64_MAX, &i, "n", &err), MP_EINVAL);
	ck_assert_int_eq(mp_parse_i64("", 0, 1, &i, "n", &err), MP_EINVAL);
	ck_assert_int_eq(mp_parse_i64(NULL, 0, 1, &i, "n", &err), MP_EINVAL);
	ck_assert_int_eq(mp_parse_double("0.001", 0, 1, &d, "lr", &err), 0);
	ck_assert_double_eq(d, 0.001);
	ck_assert_int_eq(mp_parse_double("1e-3", 0, 1, &d, "lr", &err), 0);
	ck_assert_int_eq(mp_parse_double("nan", 0, 1, &d, "lr", &err), MP_EINVAL);
	ck_assert_int_eq(mp_parse_double("inf", -INFINITY, INFINITY, &d, "lr", &err), MP_EINVAL);
	ck_assert_int_eq(mp_parse_double("0.5.", 0, 1, &d, "lr", &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "lr: '0.5.' is not a number");
	ck_assert_int_eq(mp_parse_double("-1", 0, 1, &d, "lr", &err), MP_EINVAL);
}
END_TEST

START_TEST(format_durations_and_times)
{
	char buf[32];

	ck_assert_str_eq(mp_format_duration(buf, sizeof(buf), 1234), "1.2s");
	ck_assert_str_eq(mp_format_duration(buf, sizeof(buf), 184000), "3m04s");
	ck_assert_str_eq(mp_format_duration(buf, sizeof(buf), 7500000), "2h05m");
	ck_assert_str_eq(mp_format_duration(buf, sizeof(buf), -1), "-");
	ck_assert_str_eq(mp_format_iso(buf, sizeof(buf), 1793527200000LL), "2026-11-01T10:00:00Z");
}
END_TEST

START_TEST(closest_names_a_likely_typo)
{
	static const char *const words[] = {"epochs", "batch_size", "seed"};

	ck_assert_str_eq(mp_closest("epoch", words, 3), "epochs");
	ck_assert_str_eq(mp_closest("batch_sise", words, 3), "batch_size");
	ck_assert_ptr_null(mp_closest("learning_rate", words, 3));
	ck_assert_ptr_null(mp_closest("x", words, 3));
}
END_TEST

/* The did-you-mean helper over any table whose first field is the name,
 * the one message for an unknown name, name tables, and line lists. */
START_TEST(name_tables_and_did_you_mean)
{
	static const struct {
		const char *name;
		int n;
	} cmds[] = {{"runs", 0}, {"lineage", 2}, {NULL, 3}, {"metrics", 1}};
	static const mp_name kinds[] = {{"adam", 2}, {"sgd", 0}, {"momentum", 1}};
	char buf[64];
	mp_err err;
	int v;

	ck_assert_str_eq(mp_closest_in("linage", cmds, 4, sizeof(cmds[0])), "lineage");
	ck_assert_ptr_null(mp_closest_in("zzz", cmds, 4, sizeof(cmds[0])));
	ck_assert_str_eq(mp_did_you_mean("x", buf, sizeof(buf)), " (did you mean 'x'?)");
	ck_assert_str_eq(mp_did_you_mean(NULL, buf, sizeof(buf)), "");
	ck_assert_int_eq(mp_unknown(&err, "command", "metric", cmds, 4, sizeof(cmds[0])), MP_EINVAL);
	ck_assert_str_eq(err.msg, "unknown command 'metric' (did you mean 'metrics'?)");
	ck_assert_int_eq(mp_name_lookup(kinds, 3, "momentum", "optimizer", &v, &err), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(mp_name_lookup(kinds, 3, "adma", "optimizer", &v, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "unknown optimizer 'adma' (did you mean 'adam'?)");
	ck_assert_str_eq(mp_name_of(kinds, 3, 0), "sgd");
	ck_assert_ptr_null(mp_name_of(kinds, 3, 7));
	ck_assert_int_eq(mp_name_value(kinds, 3, "nope"), -1);
	ck_assert(mp_lines_has("NA\nN/A\nnull", "N/A", 3));
	ck_assert(mp_lines_has("NA\nN/A\nnull", "null", 4));
	ck_assert(!mp_lines_has("NA\nN/A\nnull", "N", 1));
	ck_assert(!mp_lines_has("", "x", 1));
}
END_TEST

START_TEST(path_join_stays_inside_root)
{
	char out[64];
	mp_err err;

	ck_assert_int_eq(mp_path_join(out, sizeof(out), "/runs", "demo/train//model/./3", &err), 0);
	ck_assert_str_eq(out, "/runs/demo/train/model/3");
	ck_assert_int_eq(mp_path_join(out, sizeof(out), "runs/", "a", &err), 0);
	ck_assert_str_eq(out, "runs/a");
	ck_assert_int_eq(mp_path_join(out, sizeof(out), "/runs", "a/../../etc", &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "path 'a/../../etc' climbs out of '/runs'");
	ck_assert_int_eq(mp_path_join(out, sizeof(out), "/runs", "..", &err), MP_EINVAL);
	ck_assert_int_eq(mp_path_join(out, sizeof(out), "/runs", "/etc/passwd", &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "path '/etc/passwd' must be relative to '/runs'");
	ck_assert_int_eq(mp_path_join(out, sizeof(out), "/runs", "", &err), MP_EINVAL);
	ck_assert_int_eq(mp_path_join(out, 8, "/runs", "abcdef", &err), MP_EINVAL);
	/* a name that merely starts with dots is fine */
	ck_assert_int_eq(mp_path_join(out, sizeof(out), "/runs", "..hidden/x", &err), 0);
	ck_assert_str_eq(out, "/runs/..hidden/x");
}
END_TEST

START_TEST(path_within_compares_normalised_paths)
{
	ck_assert(mp_path_within("/runs", "/runs/demo/x"));
	ck_assert(mp_path_within("/runs/", "/runs"));
	ck_assert(!mp_path_within("/runs", "/runs2/x"));
	ck_assert(!mp_path_within("/runs", "/runs/../etc"));
	ck_assert(mp_path_within("/runs", "/runs/a/../b"));
	ck_assert(mp_path_within("/", "/anything"));
}
END_TEST

START_TEST(rmtree_does_not_follow_links)
{
	char *dir = tu_mkdtemp(), path[512], outside[512];
	mp_err err;

	snprintf(outside, sizeof(outside), "%s/outside", dir);
	ck_assert_int_eq(mp_mkdirs(outside, 0755, &err), 0);
	snprintf(path, sizeof(path), "%s/outside/keep", dir);
	ck_assert_int_eq(mp_write_file_atomic(path, "k", 1, &err), 0);
	snprintf(path, sizeof(path), "%s/tree/a/b", dir);
	ck_assert_int_eq(mp_mkdirs(path, 0755, &err), 0);
	snprintf(path, sizeof(path), "%s/tree/a/link", dir);
	ck_assert_int_eq(symlink(outside, path), 0);
	snprintf(path, sizeof(path), "%s/tree", dir);
	ck_assert_int_eq(mp_rmtree(path, &err), 0);
	ck_assert(!mp_path_exists(path));
	snprintf(path, sizeof(path), "%s/outside/keep", dir);
	ck_assert(mp_path_exists(path));
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(mp_rmtree(path, &err), 0);
	tu_rmdir(dir);
}
END_TEST

static int count_entries(const char *dir)
{
	char cmd[600];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

START_TEST(atomic_file_commit_and_abort)
{
	char *dir = tu_mkdtemp(), path[512], *data;
	mp_afile af;
	mp_err err;

	snprintf(path, sizeof(path), "%s/props.yaml", dir);
	ck_assert_int_eq(mp_write_file_atomic(path, "v: 1\n", 5, &err), 0);
	data = tu_read(path);
	ck_assert_str_eq(data, "v: 1\n");
	free(data);

	/* an aborted rewrite leaves the old content and no temporary file */
	ck_assert_int_eq(mp_afile_open(&af, path, &err), 0);
	fputs("v: 2\n", af.fp);
	mp_afile_abort(&af);
	data = tu_read(path);
	ck_assert_str_eq(data, "v: 1\n");
	free(data);
	ck_assert_int_eq(count_entries(dir), 1);

	ck_assert_int_eq(mp_afile_open(&af, path, &err), 0);
	fputs("v: 3\n", af.fp);
	ck_assert_int_eq(mp_afile_commit(&af, &err), 0);
	data = tu_read(path);
	ck_assert_str_eq(data, "v: 3\n");
	free(data);
	ck_assert_int_eq(count_entries(dir), 1);

	snprintf(path, sizeof(path), "%s/no/such/dir/x", dir);
	ck_assert_int_eq(mp_write_file_atomic(path, "x", 1, &err), MP_EIO);
	ck_assert(strstr(err.msg, "cannot write '") != NULL);
	ck_assert_int_eq(mp_read_file(path, &data, NULL, &err), MP_ENOTFOUND);
	tu_rmdir(dir);
}
END_TEST

START_TEST(strbuf_grows_and_reports_failure)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	char *s;
	int i;

	ck_assert_str_eq(mp_strbuf_str(&sb), "");
	for (i = 0; i < 1000; i++)
		mp_strbuf_addf(&sb, "%d,", i % 10);
	ck_assert_uint_eq(sb.len, 2000);
	ck_assert_int_eq(strncmp(sb.buf, "0,1,2,", 6), 0);
	mp_strbuf_reset(&sb);
	mp_strbuf_adds(&sb, "abc");
	s = mp_strbuf_detach(&sb);
	ck_assert_str_eq(s, "abc");
	free(s);
	ck_assert_ptr_null(sb.buf);

	mp_alloc_fail_after(0);
	mp_strbuf_adds(&sb, "x");
	mp_alloc_fail_after(-1);
	ck_assert(sb.failed);
	ck_assert_ptr_null(mp_strbuf_detach(&sb));
}
END_TEST

START_TEST(alloc_failure_injection)
{
	void *a, *b;

	mp_alloc_fail_after(1);
	a = mp_malloc(8);
	b = mp_malloc(8);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(b);
	ck_assert_ptr_null(mp_strdup("x"));
	mp_alloc_fail_after(-1);
	b = mp_strdup("x");
	ck_assert_ptr_nonnull(b);
	free(a);
	free(b);
}
END_TEST

static char *json_of(void (*fn)(mp_json *j), int pretty)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	mp_json j;

	ck_assert_ptr_nonnull(f);
	mp_json_init(&j, f, pretty);
	fn(&j);
	fclose(f);
	return buf;
}

static void build_doc(mp_json *j)
{
	mp_json_begin_object(j);
	mp_json_key(j, "name");
	mp_json_string(j, "a \"quoted\"\n<tab>\t\\ \x01");
	mp_json_key(j, "values");
	mp_json_begin_array(j);
	mp_json_int(j, -3);
	mp_json_double(j, 0.1);
	mp_json_double(j, NAN);
	mp_json_bool(j, 1);
	mp_json_null(j);
	mp_json_begin_object(j);
	mp_json_end_object(j);
	mp_json_end_array(j);
	mp_json_key(j, "empty");
	mp_json_begin_array(j);
	mp_json_end_array(j);
	mp_json_end_object(j);
	mp_json_finish(j);
}

START_TEST(json_writer_escapes_and_nests)
{
	char *s = json_of(build_doc, 0);
	mp_strbuf sb = MP_STRBUF_INIT;

	/* into a strbuf, the same escapes as to a FILE */
	mp_json_quote(&sb, "a \"quoted\"\n<tab>\t\\ \001 end");
	ck_assert_str_eq(sb.buf, "\"a \\\"quoted\\\"\\n<tab>\\t\\\\ \\u0001 end\"");
	mp_strbuf_release(&sb);

	ck_assert_str_eq(s, "{\"name\":\"a \\\"quoted\\\"\\n<tab>\\t\\\\ \\u0001\","
			    "\"values\":[-3,0.1,null,true,null,{}],\"empty\":[]}\n");
	free(s);
	s = json_of(build_doc, 1);
	ck_assert_str_eq(s, "{\n  \"name\": \"a \\\"quoted\\\"\\n<tab>\\t\\\\ \\u0001\",\n"
			    "  \"values\": [\n    -3,\n    0.1,\n    null,\n    true,\n    null,\n    {}\n  ],\n"
			    "  \"empty\": []\n}\n");
	free(s);
}
END_TEST

START_TEST(name_index_finds_every_name_and_refuses_twins)
{
	mp_name_index ix = {0};
	char names[5000][16];
	size_t first = 99;
	int i;

	ck_assert_int_eq(mp_name_index_find(&ix, "x"), -1); /* empty */
	for (i = 0; i < 5000; i++) {
		snprintf(names[i], sizeof(names[i]), "g%d", i);
		ck_assert_int_eq(mp_name_index_add(&ix, names[i], (size_t)i, NULL), 0);
	}
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(mp_name_index_find(&ix, names[i]), i);
	ck_assert_int_eq(mp_name_index_find(&ix, "g5000"), -1);
	ck_assert_int_eq(mp_name_index_find(&ix, ""), -1);
	ck_assert_int_eq(mp_name_index_add(&ix, "g42", 7, &first), 1);
	ck_assert_uint_eq(first, 42);
	ck_assert_int_eq(mp_name_index_find(&ix, "g42"), 42);
	mp_name_index_release(&ix);
	ck_assert_int_eq(mp_name_index_find(&ix, "g1"), -1);
}
END_TEST

/* A zombie (exited, not reaped) is dead although kill(pid, 0) succeeds:
 * a killed orchestrator's run must not look like it is still running. */
START_TEST(a_zombie_is_not_alive)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(mp_process_alive((long)getpid()), 1);
	/* wait until the child has exited, without reaping it */
	for (int i = 0; i < 2000 && mp_process_alive((long)pid); i++)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	ck_assert_int_eq(kill(pid, 0), 0);
	ck_assert_int_eq(mp_process_alive((long)pid), 0);
	waitpid(pid, &status, 0);
	ck_assert_int_eq(mp_process_alive((long)pid), 0);
	ck_assert_int_eq(mp_process_alive(0), 0);
}
END_TEST

START_TEST(table_aligns_columns)
{
	static const char *const heads[] = {">ID", "NAME", "NOTE"};
	const char *r1[] = {"7", "ingest", "ok"};
	const char *r2[] = {"12", "träin", NULL};
	mp_table *t = mp_table_new(3, heads);
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(mp_table_add(t, r1), 0);
	ck_assert_int_eq(mp_table_add(t, r2), 0);
	ck_assert_int_eq(mp_table_rows(t), 2);
	mp_table_print(t, f);
	fclose(f);
	ck_assert_str_eq(buf, "ID  NAME    NOTE\n"
			      " 7  ingest  ok\n"
			      "12  träin   -\n");
	free(buf);
	mp_table_free(t);
	mp_table_free(NULL);
}
END_TEST

START_TEST(table_reports_allocation_failure)
{
	static const char *const heads[] = {"A", "B"};
	const char *row[] = {"x", "y"};
	mp_table *t = mp_table_new(2, heads);
	int i, rc = 0;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < 3 && rc == 0; i++) {
		mp_alloc_fail_after(i);
		rc = mp_table_add(t, row);
		mp_alloc_fail_after(-1);
	}
	ck_assert_int_eq(rc, MP_ENOMEM);
	mp_table_free(t);
}
END_TEST

static Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc;

	tc = tcase_create("errors");
	tcase_add_test(tc, error_fills_and_wraps);
	tcase_add_test(tc, error_wrap_truncates_long_messages);
	suite_add_tcase(s, tc);
	tc = tcase_create("numbers");
	tcase_add_test(tc, reverse_any_items);
	tcase_add_test(tc, parse_numbers);
	tcase_add_test(tc, format_durations_and_times);
	tcase_add_test(tc, closest_names_a_likely_typo);
	tcase_add_test(tc, name_tables_and_did_you_mean);
	suite_add_tcase(s, tc);
	tc = tcase_create("paths");
	tcase_add_test(tc, path_join_stays_inside_root);
	tcase_add_test(tc, path_within_compares_normalised_paths);
	tcase_add_test(tc, rmtree_does_not_follow_links);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	tcase_add_test(tc, atomic_file_commit_and_abort);
	suite_add_tcase(s, tc);
	tc = tcase_create("memory");
	tcase_add_test(tc, strbuf_grows_and_reports_failure);
	tcase_add_test(tc, alloc_failure_injection);
	suite_add_tcase(s, tc);
	tc = tcase_create("output");
	tcase_add_test(tc, json_writer_escapes_and_nests);
	tcase_add_test(tc, name_index_finds_every_name_and_refuses_twins);
	tcase_add_test(tc, a_zombie_is_not_alive);
	tcase_add_test(tc, table_aligns_columns);
	tcase_add_test(tc, table_reports_allocation_failure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(core_suite());
}
