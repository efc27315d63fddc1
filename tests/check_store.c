/* metadata: schema and migrations, every recording call and query, lineage,
 * refusal of foreign, newer and damaged files, two writers at once. */
#include <math.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "metadata/store.h"
#include "tests/testutil.h"

static char *dir;
static char db[600];
static int64_t fake_ms;

static int64_t fake_clock(void *ud)
{
	(void)ud;
	return fake_ms += 1000;
}

static void setup(void)
{
	dir = tu_mkdtemp();
	snprintf(db, sizeof(db), "%s/metadata.db", dir);
	fake_ms = 1793527200000LL;
}

static void teardown(void)
{
	tu_rmdir(dir);
	dir = NULL;
}

static mp_store *open_new(void)
{
	mp_store *st;
	mp_err err;

	ck_assert_msg(mp_store_open(&st, db, MP_STORE_CREATE, &err) == 0, "%s", err.msg);
	mp_store_set_clock(st, fake_clock, NULL);
	return st;
}

/* Runs sql on the file with SQLite directly, outside the store. */
static void raw_sql(const char *path, const char *sql)
{
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
	sqlite3_close(h);
}

static int64_t raw_count(const char *path, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	int64_t n;

	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

/* Begin + finish one execution with the given outputs. */
static int64_t run_exec(mp_store *st, int64_t run, const char *id, const char *type,
			const mp_input *in, size_t nin, mp_output *out, size_t nout,
			const mp_metric *m, size_t nm)
{
	mp_exec_spec spec = {run, id, type, NULL, NULL, 0, in, nin};
	mp_exec_result res = {MP_EXEC_COMPLETE, NULL, out, nout, m, nm};
	int64_t eid;
	mp_err err;

	ck_assert_msg(mp_store_begin_execution(st, &spec, &eid, &err) == 0, "%s", err.msg);
	ck_assert_msg(mp_store_finish_execution(st, eid, &res, &err) == 0, "%s", err.msg);
	return eid;
}

/* ---- schema ------------------------------------------------------------ */

START_TEST(create_makes_current_schema)
{
	mp_store *st = open_new();

	ck_assert_int_eq(mp_store_schema_version(st), MP_STORE_SCHEMA_VERSION);
	ck_assert_str_eq(mp_store_path(st), db);
	mp_store_close(st);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				       " AND name IN ('type', 'artifact', 'execution', 'context', 'event',"
				       " 'attribution', 'association', 'metric', 'parent_context',"
				       " 'artifact_property', 'execution_property', 'context_property')"), 12);
	ck_assert_int_eq(raw_count(db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	ck_assert_int_eq(raw_count(db, "PRAGMA application_id"), 0x6d6c7070);
	/* opening again changes nothing */
	st = open_new();
	ck_assert_int_eq(mp_store_schema_version(st), MP_STORE_SCHEMA_VERSION);
	mp_store_close(st);
}
END_TEST

START_TEST(empty_sqlite_file_is_migrated_on_create)
{
	mp_store *st;
	mp_err err;

	raw_sql(db, "PRAGMA user_version = 0"); /* a valid, empty database */
	ck_assert_int_eq(mp_store_open(&st, db, MP_STORE_CREATE, &err), 0);
	ck_assert_int_eq(mp_store_schema_version(st), MP_STORE_SCHEMA_VERSION);
	mp_store_close(st);
}
END_TEST

static char *file_bytes(const char *path, size_t *n)
{
	char *data;
	mp_err err;

	ck_assert_int_eq(mp_read_file(path, &data, n, &err), 0);
	return data;
}

/* Opening path must fail with code and a message containing want, and must
 * leave the file byte for byte as it was. */
static void refused_unchanged(unsigned flags, int code, const char *want)
{
	size_t n1 = 0, n2 = 0;
	char *before = mp_path_exists(db) ? file_bytes(db, &n1) : NULL, *after;
	mp_store *st = (mp_store *)1;
	mp_err err;

	ck_assert_int_eq(mp_store_open(&st, db, flags, &err), code);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.msg, want) != NULL, "message '%s' lacks '%s'", err.msg, want);
	if (before) {
		after = file_bytes(db, &n2);
		ck_assert_uint_eq(n1, n2);
		ck_assert(memcmp(before, after, n1) == 0);
		free(after);
	} else {
		ck_assert(!mp_path_exists(db));
	}
	free(before);
}

START_TEST(newer_schema_is_refused_and_untouched)
{
	mp_store *st = open_new();

	mp_store_close(st);
	raw_sql(db, "PRAGMA user_version = 99");
	refused_unchanged(MP_STORE_CREATE, MP_EVERSION, "schema version 99, newer than this mlpipe supports (1)");
	refused_unchanged(0, MP_EVERSION, "upgrade mlpipe");
}
END_TEST

/* SQL planted in the file: a trigger that rewrote artifacts' paths ran
 * during `mlpipe run`, and a view named metric fed fake metrics. */
START_TEST(planted_schema_objects_are_refused)
{
	mp_store *st = open_new();

	mp_store_close(st);
	raw_sql(db, "CREATE TRIGGER evil AFTER INSERT ON artifact BEGIN UPDATE artifact SET uri = '/etc' WHERE id = new.id; END");
	refused_unchanged(0, MP_ECORRUPT, "holds a trigger 'evil' that mlpipe did not create: refusing the store");
	raw_sql(db, "DROP TRIGGER evil; DROP TABLE metric; CREATE VIEW metric AS SELECT 1 AS execution_id, 'accuracy' AS name,"
		    " 0 AS step, 1.0 AS value");
	refused_unchanged(0, MP_ECORRUPT, "holds a view 'metric' that mlpipe did not create");
}
END_TEST

START_TEST(missing_file_without_create)
{
	refused_unchanged(0, MP_ENOTFOUND, "cannot open metadata store '");
}
END_TEST

START_TEST(text_file_is_not_a_database)
{
	mp_err err;

	ck_assert_int_eq(mp_write_file_atomic(db, "name,value\n1,2\n", 15, &err), 0);
	refused_unchanged(MP_STORE_CREATE, MP_ECORRUPT, "is not an SQLite database (bad header at offset 0)");
	refused_unchanged(0, MP_ECORRUPT, "is not an SQLite database");
}
END_TEST

START_TEST(empty_file_needs_create)
{
	mp_err err;
	mp_store *st;

	ck_assert_int_eq(mp_write_file_atomic(db, "", 0, &err), 0);
	refused_unchanged(0, MP_ECORRUPT, "the file is empty");
	ck_assert_int_eq(mp_store_open(&st, db, MP_STORE_CREATE, &err), 0);
	mp_store_close(st);
}
END_TEST

START_TEST(foreign_sqlite_database_is_refused)
{
	raw_sql(db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('x')");
	refused_unchanged(MP_STORE_CREATE, MP_ECORRUPT, "is an SQLite database but not an mlpipe metadata store");
}
END_TEST

START_TEST(directory_is_refused)
{
	mp_store *st;
	mp_err err;

	ck_assert_int_eq(mp_store_open(&st, dir, MP_STORE_CREATE, &err), MP_EINVAL);
	ck_assert(strstr(err.msg, "it is a directory") != NULL);
}
END_TEST

START_TEST(damaged_database_is_an_error_not_a_crash)
{
	mp_store *st = open_new();
	mp_run_list runs;
	int64_t run, i;
	mp_err err;
	FILE *f;
	int rc;

	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
		run_exec(st, run, "ingest", "ExampleGen", NULL, 0, NULL, 0, NULL, 0);
	}
	mp_store_close(st);
	raw_sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	/* scribble over the middle of the file, past the header page */
	f = fopen(db, "r+b");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 4096 * 3, SEEK_SET), 0);
	for (i = 0; i < 4096 * 4; i++)
		fputc((int)(i * 7 % 251), f);
	fclose(f);
	rc = mp_store_open(&st, db, 0, &err);
	if (rc == 0) {
		rc = mp_store_list_runs(st, NULL, 0, &runs, &err);
		if (rc == 0)
			mp_run_list_release(&runs);
		mp_store_close(st);
	}
	ck_assert_int_eq(rc, MP_ECORRUPT);
	ck_assert_msg(strstr(err.msg, "is damaged") != NULL, "%s", err.msg);
}
END_TEST

/* ---- recording and queries -------------------------------------------- */

START_TEST(types_are_registered_once)
{
	mp_store *st = open_new();
	int64_t a, b, c;
	mp_err err;

	ck_assert_int_eq(mp_store_register_type(st, MP_TYPE_ARTIFACT, "Model", "1", &a, &err), 0);
	ck_assert_int_eq(mp_store_register_type(st, MP_TYPE_ARTIFACT, "Model", "1", &b, &err), 0);
	ck_assert_int_eq(mp_store_register_type(st, MP_TYPE_EXECUTION, "Model", NULL, &c, &err), 0);
	ck_assert_int_eq(a, b);
	ck_assert_int_ne(a, c);
	ck_assert_int_eq(mp_store_register_type(st, MP_TYPE_ARTIFACT, "", NULL, &c, &err), MP_EINVAL);
	mp_store_close(st);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM type WHERE name = 'Model'"), 2);
}
END_TEST

START_TEST(run_execution_artifacts_metrics)
{
	mp_store *st = open_new();
	mp_prop params[] = {MP_PROP_I("seed", 42), MP_PROP_D("lr", 0.5), MP_PROP_S("opt", "adam")};
	mp_prop aprops[] = {MP_PROP_I("span", 3), MP_PROP_S("split", "train")};
	mp_output out[] = {{"examples", "Examples", "/r/demo/ingest/examples/1", "abc123", aprops, 2, 0}};
	mp_metric metrics[] = {{"rows", 0, 1000}, {"loss", 1, 0.5}, {"loss", 2, NAN}};
	mp_exec_spec spec = {0, "ingest", "ExampleGen", "k1", params, 3, NULL, 0};
	mp_exec_result res = {MP_EXEC_COMPLETE, NULL, out, 1, metrics, 3};
	mp_execution_list el;
	mp_artifact a;
	mp_run r;
	int64_t run, eid;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", params, 1, &run, &err), 0);
	spec.run_id = run;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), 0);
	ck_assert_int_eq(mp_store_get_run(st, run, NULL, &r, &err), 0);
	ck_assert_str_eq(r.state, "RUNNING");
	ck_assert_str_eq(r.name, "demo#1");
	ck_assert_int_eq(r.end_ms, 0);
	mp_run_release(&r);
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &res, &err), 0);
	ck_assert_int_gt(out[0].id, 0);
	ck_assert_int_eq(mp_store_record_metric(st, eid, "auc", 0, 0.9, &err), 0);
	ck_assert_int_eq(mp_store_end_run(st, run, MP_EXEC_COMPLETE, &err), 0);

	ck_assert_int_eq(mp_store_get_run(st, 0, "demo", &r, &err), 0);
	ck_assert_int_eq(r.id, run);
	ck_assert_str_eq(r.pipeline, "demo");
	ck_assert_str_eq(r.state, "COMPLETE");
	ck_assert_int_eq(r.executed, 1);
	ck_assert_int_eq(r.cached, 0);
	ck_assert_int_gt(r.end_ms, r.start_ms);
	ck_assert_uint_eq(r.nparams, 1);
	ck_assert_str_eq(r.params[0].name, "seed");
	ck_assert_int_eq(r.params[0].i, 42);
	mp_run_release(&r);

	ck_assert_int_eq(mp_store_run_executions(st, run, &el, &err), 0);
	ck_assert_uint_eq(el.n, 1);
	ck_assert_str_eq(el.items[0].component_id, "ingest");
	ck_assert_str_eq(el.items[0].type, "ExampleGen");
	ck_assert_str_eq(el.items[0].state, "COMPLETE");
	ck_assert_str_eq(el.items[0].cache_key, "k1");
	ck_assert_int_eq(el.items[0].run_id, run);
	ck_assert_uint_eq(el.items[0].nparams, 3);
	ck_assert_str_eq(mp_prop_find(el.items[0].params, 3, "opt")->s, "adam");
	ck_assert_double_eq(mp_prop_find(el.items[0].params, 3, "lr")->d, 0.5);
	ck_assert_ptr_null(mp_prop_find(el.items[0].params, 3, "nope"));
	ck_assert_uint_eq(el.items[0].nevents, 1);
	ck_assert(el.items[0].events[0].is_output);
	ck_assert_str_eq(el.items[0].events[0].name, "examples");
	/* metrics by name then step: auc, loss 1, loss 2 (NaN), rows */
	ck_assert_uint_eq(el.items[0].nmetrics, 4);
	ck_assert_str_eq(el.items[0].metrics[0].name, "auc");
	ck_assert(isnan(el.items[0].metrics[2].value));
	ck_assert_double_eq(el.items[0].metrics[3].value, 1000);
	mp_execution_list_release(&el);

	ck_assert_int_eq(mp_store_get_artifact(st, out[0].id, &a, &err), 0);
	ck_assert_str_eq(a.type, "Examples");
	ck_assert_str_eq(a.name, "examples");
	ck_assert_str_eq(a.uri, "/r/demo/ingest/examples/1");
	ck_assert_str_eq(a.state, "LIVE");
	ck_assert_str_eq(a.fingerprint, "abc123");
	ck_assert_str_eq(a.producer, "ingest");
	ck_assert_int_eq(a.producer_id, eid);
	ck_assert_str_eq(a.pipeline, "demo");
	ck_assert_str_eq(a.root, "/r");
	ck_assert_uint_eq(a.nprops, 2);
	ck_assert_int_eq(mp_prop_find(a.props, a.nprops, "span")->i, 3);
	mp_artifact_release(&a);
	mp_store_close(st);
}
END_TEST

START_TEST(recording_errors_are_clear)
{
	mp_store *st = open_new();
	mp_input bad_in[] = {{"examples", 999}};
	mp_exec_spec spec = {0, "train", "Trainer", NULL, NULL, 0, bad_in, 1};
	mp_output out[] = {{"model", "Model", "/r/m", NULL, NULL, 0, 0}};
	mp_exec_result failed = {MP_EXEC_FAILED, "exit status 3", out, 1, NULL, 0};
	mp_exec_result done = {MP_EXEC_COMPLETE, NULL, NULL, 0, NULL, 0};
	mp_exec_result running = {MP_EXEC_RUNNING, NULL, NULL, 0, NULL, 0};
	int64_t run, eid;
	mp_err err;

	spec.run_id = 12345;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), MP_ENOTFOUND);
	ck_assert_str_eq(err.msg + strlen(err.msg) - strlen("metadata.db'"), "metadata.db'");
	ck_assert(strstr(err.msg, "no run 12345 in '") != NULL);
	ck_assert_int_eq(mp_store_begin_run(st, "", "/r", NULL, 0, &run, &err), MP_EINVAL);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
	spec.run_id = run;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), MP_ENOTFOUND);
	ck_assert_str_eq(err.msg, "input 'examples' of 'train': no artifact 999");
	/* nothing of the refused execution was kept */
	spec.ninputs = 0;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), 0);
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &failed, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "a FAILED execution has no outputs");
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &running, &err), MP_EINVAL);
	failed.noutputs = 0;
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &failed, &err), 0);
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &done, &err), MP_EINVAL);
	ck_assert_msg(strstr(err.msg, "is not running (FAILED)") != NULL, "%s", err.msg);
	ck_assert_int_eq(mp_store_finish_execution(st, 777, &done, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_record_metric(st, 777, "x", 0, 1, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_record_cached(st, &spec, eid, &eid, &err), MP_EINVAL);
	ck_assert(strstr(err.msg, "did not complete") != NULL);
	ck_assert_int_eq(mp_store_end_run(st, run, MP_EXEC_RUNNING, &err), MP_EINVAL);
	ck_assert_int_eq(mp_store_end_run(st, 999, MP_EXEC_FAILED, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_end_run(st, run, MP_EXEC_FAILED, &err), 0);
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "run 2 has ended (FAILED)");
	ck_assert_int_eq(mp_store_set_artifact_state(st, 1, "GONE", &err), MP_EINVAL);
	ck_assert_int_eq(mp_store_set_artifact_state(st, 999, "DELETED", &err), MP_ENOTFOUND);
	mp_store_close(st);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM execution"), 1);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM event"), 0);
}
END_TEST

START_TEST(a_failed_recording_leaves_nothing)
{
	mp_store *st = open_new();
	mp_prop bad[] = {{NULL, MP_PROP_INT, 1, 0, NULL}};
	mp_output out[] = {{"a", "Examples", "/r/a", NULL, NULL, 0, 0},
			   {"b", "Examples", "/r/b", NULL, bad, 1, 0}};
	mp_exec_spec spec = {0, "ingest", "ExampleGen", NULL, NULL, 0, NULL, 0};
	mp_exec_result res = {MP_EXEC_COMPLETE, NULL, out, 2, NULL, 0};
	mp_execution e;
	int64_t run, eid;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
	spec.run_id = run;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), 0);
	ck_assert_int_eq(mp_store_finish_execution(st, eid, &res, &err), MP_EINVAL);
	ck_assert_str_eq(err.msg, "a property needs a name");
	ck_assert_int_eq(mp_store_get_execution(st, eid, &e, &err), 0);
	ck_assert_str_eq(e.state, "RUNNING");
	ck_assert_uint_eq(e.nevents, 0);
	mp_execution_release(&e);
	mp_store_close(st);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM artifact"), 0);
}
END_TEST

START_TEST(cache_reuse_and_history)
{
	mp_store *st = open_new();
	mp_output o1[] = {{"model", "Model", "/r/m1", NULL, NULL, 0, 0}};
	mp_metric m1[] = {{"acc", 1, 0.5}, {"acc", 2, 0.7}};
	mp_exec_spec spec = {0, "train", "Trainer", "key-A", NULL, 0, NULL, 0};
	mp_exec_result res = {MP_EXEC_COMPLETE, NULL, o1, 1, m1, 2};
	mp_metric_filter last = {"acc", "demo", NULL, 0}, all = {"acc", NULL, "train", 1};
	mp_metric_history h;
	mp_execution_list el;
	int64_t r1, r2, e1, e2, hit;
	mp_err err;

	ck_assert_int_eq(mp_store_find_cached(st, "key-A", &hit, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &r1, &err), 0);
	spec.run_id = r1;
	ck_assert_int_eq(mp_store_begin_execution(st, &spec, &e1, &err), 0);
	/* a running execution is not a cache hit */
	ck_assert_int_eq(mp_store_find_cached(st, "key-A", &hit, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_finish_execution(st, e1, &res, &err), 0);
	ck_assert_int_eq(mp_store_end_run(st, r1, MP_EXEC_COMPLETE, &err), 0);

	ck_assert_int_eq(mp_store_find_cached(st, "key-A", &hit, &err), 0);
	ck_assert_int_eq(hit, e1);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &r2, &err), 0);
	spec.run_id = r2;
	ck_assert_int_eq(mp_store_record_cached(st, &spec, hit, &e2, &err), 0);
	ck_assert_int_eq(mp_store_end_run(st, r2, MP_EXEC_COMPLETE, &err), 0);

	ck_assert_int_eq(mp_store_run_executions(st, r2, &el, &err), 0);
	ck_assert_uint_eq(el.n, 1);
	ck_assert_str_eq(el.items[0].state, "CACHED");
	ck_assert_int_eq(el.items[0].cached_from, e1);
	ck_assert_uint_eq(el.items[0].nevents, 1);
	ck_assert_int_eq(el.items[0].events[0].artifact_id, o1[0].id);
	ck_assert_uint_eq(el.items[0].nmetrics, 2); /* those of e1 */
	mp_execution_list_release(&el);

	ck_assert_int_eq(mp_store_metric_history(st, &last, &h, &err), 0);
	ck_assert_uint_eq(h.n, 2); /* one point per run, the last step */
	ck_assert_int_eq(h.items[0].run_id, r1);
	ck_assert_int_eq(h.items[1].run_id, r2);
	ck_assert_int_eq(h.items[1].execution_id, e1);
	ck_assert_int_eq(h.items[1].step, 2);
	ck_assert_double_eq(h.items[1].value, 0.7);
	mp_metric_history_release(&h);
	ck_assert_int_eq(mp_store_metric_history(st, &all, &h, &err), 0);
	ck_assert_uint_eq(h.n, 4);
	mp_metric_history_release(&h);

	/* once its output is gone the execution is no longer a hit */
	ck_assert_int_eq(mp_store_set_artifact_state(st, o1[0].id, "DELETED", &err), 0);
	ck_assert_int_eq(mp_store_find_cached(st, "key-A", &hit, &err), MP_ENOTFOUND);
	mp_store_close(st);
}
END_TEST

START_TEST(artifact_queries_and_latest)
{
	mp_store *st = open_new();
	mp_prop yes = MP_PROP_I("blessed", 1), no = MP_PROP_I("blessed", 0);
	mp_output b1[] = {{"blessing", "ModelBlessing", "/r/b1", NULL, &yes, 1, 0}};
	mp_output b2[] = {{"blessing", "ModelBlessing", "/r/b2", NULL, &no, 1, 0}};
	mp_output b3[] = {{"blessing", "ModelBlessing", "/other/b3", NULL, &yes, 1, 0}};
	mp_artifact_filter by_type = {"ModelBlessing", NULL, 0, 0}, of_run = {NULL, NULL, 0, 0};
	mp_artifact_filter of_demo = {NULL, "demo", 0, 0}, with_deleted = {NULL, NULL, 0, 1};
	mp_artifact_list l;
	mp_artifact a;
	int64_t r1, r2, r3;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &r1, &err), 0);
	run_exec(st, r1, "eval", "Evaluator", NULL, 0, b1, 1, NULL, 0);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &r2, &err), 0);
	run_exec(st, r2, "eval", "Evaluator", NULL, 0, b2, 1, NULL, 0);
	ck_assert_int_eq(mp_store_begin_run(st, "other", "/other", NULL, 0, &r3, &err), 0);
	run_exec(st, r3, "eval", "Evaluator", NULL, 0, b3, 1, NULL, 0);

	ck_assert_int_eq(mp_store_latest_artifact(st, "demo", "ModelBlessing", &yes, &a, &err), 0);
	ck_assert_int_eq(a.id, b1[0].id);
	mp_artifact_release(&a);
	ck_assert_int_eq(mp_store_latest_artifact(st, "demo", "ModelBlessing", NULL, &a, &err), 0);
	ck_assert_int_eq(a.id, b2[0].id);
	mp_artifact_release(&a);
	ck_assert_int_eq(mp_store_latest_artifact(st, "demo", "Model", NULL, &a, &err), MP_ENOTFOUND);
	ck_assert_str_eq(err.msg, "no Model artifact of pipeline 'demo'");

	ck_assert_int_eq(mp_store_list_artifacts(st, &by_type, &l, &err), 0);
	ck_assert_uint_eq(l.n, 3);
	mp_artifact_list_release(&l);
	of_run.run_id = r2;
	ck_assert_int_eq(mp_store_list_artifacts(st, &of_run, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.items[0].id, b2[0].id);
	mp_artifact_list_release(&l);
	ck_assert_int_eq(mp_store_list_artifacts(st, &of_demo, &l, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	mp_artifact_list_release(&l);

	ck_assert_int_eq(mp_store_set_artifact_state(st, b1[0].id, "DELETED", &err), 0);
	ck_assert_int_eq(mp_store_latest_artifact(st, "demo", "ModelBlessing", &yes, &a, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_list_artifacts(st, &by_type, &l, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	mp_artifact_list_release(&l);
	ck_assert_int_eq(mp_store_list_artifacts(st, &with_deleted, &l, &err), 0);
	ck_assert_uint_eq(l.n, 3);
	mp_artifact_list_release(&l);
	ck_assert_int_eq(mp_store_get_artifact(st, 999, &a, &err), MP_ENOTFOUND);
	mp_store_close(st);
}
END_TEST

START_TEST(runs_are_listed_newest_first)
{
	mp_store *st = open_new();
	mp_run_list l;
	mp_run r;
	int64_t ids[5], i, found;
	mp_err err;

	for (i = 0; i < 5; i++)
		ck_assert_int_eq(mp_store_begin_run(st, i % 2 ? "b" : "a", "/r", NULL, 0, &ids[i], &err), 0);
	ck_assert_int_eq(mp_store_list_runs(st, NULL, 0, &l, &err), 0);
	ck_assert_uint_eq(l.n, 5);
	ck_assert_int_eq(l.items[0].id, ids[4]);
	ck_assert_str_eq(l.items[0].name, "a#3");
	mp_run_list_release(&l);
	ck_assert_int_eq(mp_store_list_runs(st, "b", 1, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.items[0].id, ids[3]);
	mp_run_list_release(&l);
	ck_assert_int_eq(mp_store_find_run(st, "b#1", &found, &err), 0);
	ck_assert_int_eq(found, ids[1]);
	ck_assert_int_eq(mp_store_find_run(st, "b#9", &found, &err), MP_ENOTFOUND);
	ck_assert_int_eq(mp_store_get_run(st, 0, "zzz", &r, &err), MP_ENOTFOUND);
	ck_assert(strstr(err.msg, "no runs of pipeline zzz") != NULL);
	ck_assert_int_eq(mp_store_get_run(st, 9999, NULL, &r, &err), MP_ENOTFOUND);
	mp_store_close(st);
}
END_TEST

/* The hand-built graph:
 *   ingest -> ex -> train -> model -> eval -> blessing -> push -> pushed
 *                                   \-----------------------^
 *   ex -> stats -> statistics                                          */
START_TEST(lineage_up_and_down)
{
	mp_store *st = open_new();
	mp_output ex[] = {{"examples", "Examples", "/r/ex", NULL, NULL, 0, 0}};
	mp_output stats[] = {{"statistics", "Statistics", "/r/st", NULL, NULL, 0, 0}};
	mp_output model[] = {{"model", "Model", "/r/m", NULL, NULL, 0, 0}};
	mp_output bless[] = {{"blessing", "ModelBlessing", "/r/b", NULL, NULL, 0, 0}};
	mp_output pushed[] = {{"pushed_model", "PushedModel", "/r/p", NULL, NULL, 0, 0}};
	mp_lineage l;
	int64_t run, e_ingest, e_train, e_push;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
	e_ingest = run_exec(st, run, "ingest", "ExampleGen", NULL, 0, ex, 1, NULL, 0);
	{
		mp_input in[] = {{"examples", ex[0].id}};

		run_exec(st, run, "stats", "StatisticsGen", in, 1, stats, 1, NULL, 0);
		e_train = run_exec(st, run, "train", "Trainer", in, 1, model, 1, NULL, 0);
	}
	{
		mp_input in[] = {{"model", model[0].id}};

		run_exec(st, run, "eval", "Evaluator", in, 1, bless, 1, NULL, 0);
	}
	{
		mp_input in[] = {{"model", model[0].id}, {"blessing", bless[0].id}};

		e_push = run_exec(st, run, "push", "Pusher", in, 2, pushed, 1, NULL, 0);
	}

	/* up from the pushed model: push <- model <- train <- ex <- ingest,
	 * and push <- blessing <- eval <- model (already shown) */
	ck_assert_int_eq(mp_store_lineage(st, pushed[0].id, MP_LINEAGE_UP, 0, &l, &err), 0);
	ck_assert_uint_eq(l.n, 9);
	ck_assert_int_eq(l.items[0].id, pushed[0].id);
	ck_assert_int_eq(l.items[0].depth, 0);
	ck_assert(l.items[1].is_execution);
	ck_assert_int_eq(l.items[1].id, e_push);
	ck_assert_str_eq(l.items[1].via, "pushed_model");
	ck_assert_int_eq(l.items[2].id, model[0].id);
	ck_assert_str_eq(l.items[2].via, "model");
	ck_assert_int_eq(l.items[2].depth, 2);
	ck_assert_int_eq(l.items[3].id, e_train);
	ck_assert_int_eq(l.items[4].id, ex[0].id);
	ck_assert_int_eq(l.items[5].id, e_ingest);
	ck_assert_int_eq(l.items[5].depth, 5);
	ck_assert_int_eq(l.items[6].id, bless[0].id);
	ck_assert_int_eq(l.items[6].depth, 2);
	ck_assert_str_eq(l.items[7].label, "eval");
	ck_assert_int_eq(l.items[8].id, model[0].id);
	ck_assert(l.items[8].repeated);
	mp_lineage_release(&l);

	/* down from the examples: stats and train, and all that followed */
	ck_assert_int_eq(mp_store_lineage(st, ex[0].id, MP_LINEAGE_DOWN, 0, &l, &err), 0);
	ck_assert_str_eq(l.items[1].label, "stats");
	ck_assert_str_eq(l.items[2].label, "Statistics");
	ck_assert_str_eq(l.items[3].label, "train");
	ck_assert_uint_eq(l.n, 10);
	mp_lineage_release(&l);

	/* a depth limit cuts the tree */
	ck_assert_int_eq(mp_store_lineage(st, ex[0].id, MP_LINEAGE_DOWN, 1, &l, &err), 0);
	ck_assert_uint_eq(l.n, 3);
	mp_lineage_release(&l);
	ck_assert_int_eq(mp_store_lineage(st, 999, MP_LINEAGE_UP, 0, &l, &err), MP_ENOTFOUND);
	mp_store_close(st);
}
END_TEST

START_TEST(gc_spares_pushed_and_in_use)
{
	mp_store *st = open_new();
	mp_output ex[] = {{"examples", "Examples", "/r/ex", NULL, NULL, 0, 0}};
	mp_output model[] = {{"model", "Model", "/r/m", NULL, NULL, 0, 0}};
	mp_output pushed[] = {{"pushed_model", "PushedModel", "/r/p", NULL, NULL, 0, 0}};
	mp_output stale[] = {{"model", "Model", "/r/old", NULL, NULL, 0, 0}};
	mp_artifact_list l;
	int64_t run, eid;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
	run_exec(st, run, "ingest", "ExampleGen", NULL, 0, ex, 1, NULL, 0);
	run_exec(st, run, "old", "Trainer", NULL, 0, stale, 1, NULL, 0);
	run_exec(st, run, "train", "Trainer", NULL, 0, model, 1, NULL, 0);
	{
		mp_input in[] = {{"model", model[0].id}};

		run_exec(st, run, "push", "Pusher", in, 1, pushed, 1, NULL, 0);
	}
	{
		mp_input in[] = {{"examples", ex[0].id}};
		mp_exec_spec spec = {run, "stats", "StatisticsGen", NULL, NULL, 0, in, 1};

		ck_assert_int_eq(mp_store_begin_execution(st, &spec, &eid, &err), 0);
	}
	ck_assert_int_eq(mp_store_gc_candidates(st, fake_ms + 1, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.items[0].id, stale[0].id);
	ck_assert_str_eq(l.items[0].root, "/r");
	mp_artifact_list_release(&l);
	/* nothing is old enough before the first artifact was made */
	ck_assert_int_eq(mp_store_gc_candidates(st, 1, &l, &err), 0);
	ck_assert_uint_eq(l.n, 0);
	mp_artifact_list_release(&l);
	mp_store_close(st);
}
END_TEST

START_TEST(queries_survive_allocation_failure)
{
	mp_store *st = open_new();
	mp_output ex[] = {{"examples", "Examples", "/r/ex", NULL, NULL, 0, 0}};
	mp_metric m[] = {{"rows", 0, 5}};
	mp_prop p = MP_PROP_S("k", "v");
	int64_t run;
	long n;
	mp_err err;

	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", &p, 1, &run, &err), 0);
	run_exec(st, run, "ingest", "ExampleGen", NULL, 0, ex, 1, m, 1);
	/* every allocation in turn fails: each query fails cleanly or works,
	 * and the sanitizers see no leak */
	for (n = 0; n < 40; n++) {
		mp_run_list rl;
		mp_execution_list el;
		mp_artifact_list al;
		mp_artifact_filter f = {NULL, NULL, 0, 0};
		mp_lineage ll;
		int rc;

		mp_alloc_fail_after(n);
		rc = mp_store_list_runs(st, NULL, 0, &rl, &err);
		mp_alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == MP_ENOMEM);
		if (!rc)
			mp_run_list_release(&rl);
		mp_alloc_fail_after(n);
		rc = mp_store_run_executions(st, run, &el, &err);
		mp_alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == MP_ENOMEM);
		if (!rc)
			mp_execution_list_release(&el);
		mp_alloc_fail_after(n);
		rc = mp_store_list_artifacts(st, &f, &al, &err);
		mp_alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == MP_ENOMEM);
		if (!rc)
			mp_artifact_list_release(&al);
		mp_alloc_fail_after(n);
		rc = mp_store_lineage(st, ex[0].id, MP_LINEAGE_UP, 0, &ll, &err);
		mp_alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == MP_ENOMEM);
		if (!rc)
			mp_lineage_release(&ll);
	}
	mp_store_close(st);
}
END_TEST

/* ---- concurrency ------------------------------------------------------- */

/* One writer: its own connection, n executions each with an input and an
 * output artifact and a metric, every one checked. */
static int writer(const char *path, const char *pipeline, int n)
{
	mp_store *st;
	int64_t run, prev = 0, eid;
	mp_err err;
	int i;

	if (mp_store_open(&st, path, MP_STORE_CREATE, &err) != 0)
		goto fail;
	if (mp_store_begin_run(st, pipeline, "/r", NULL, 0, &run, &err) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		char uri[64];
		mp_input in[] = {{"in", prev}};
		mp_output out[] = {{"out", "Examples", uri, NULL, NULL, 0, 0}};
		mp_metric m[] = {{"i", i, (double)i}};
		mp_exec_spec spec = {run, "step", "Step", NULL, NULL, 0, in, prev ? 1 : 0};
		mp_exec_result res = {MP_EXEC_COMPLETE, NULL, out, 1, m, 1};

		snprintf(uri, sizeof(uri), "/r/%s/%d", pipeline, i);
		if (mp_store_begin_execution(st, &spec, &eid, &err) != 0 ||
		    mp_store_finish_execution(st, eid, &res, &err) != 0)
			goto fail;
		prev = out[0].id;
	}
	if (mp_store_end_run(st, run, MP_EXEC_COMPLETE, &err) != 0)
		goto fail;
	mp_store_close(st);
	return 0;
fail:
	fprintf(stderr, "writer %s: %s\n", pipeline, err.msg);
	return 1;
}

START_TEST(two_processes_write_at_once)
{
	pid_t a, b;
	int sa, sb;

	/* both create the store too: that must be safe as well */
	if ((a = fork()) == 0)
		_exit(writer(db, "left", 1000));
	if ((b = fork()) == 0)
		_exit(writer(db, "right", 1000));
	ck_assert_int_eq(waitpid(a, &sa, 0), a);
	ck_assert_int_eq(waitpid(b, &sb, 0), b);
	ck_assert(WIFEXITED(sa) && WEXITSTATUS(sa) == 0);
	ck_assert(WIFEXITED(sb) && WEXITSTATUS(sb) == 0);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM execution WHERE state = 'COMPLETE'"), 2000);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM artifact"), 2000);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM metric"), 2000);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM event WHERE type = 'INPUT'"), 1998);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM context WHERE state = 'COMPLETE'"), 2);
	ck_assert_int_eq(raw_count(db, "SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
}
END_TEST

START_TEST(a_held_lock_times_out_clearly)
{
	mp_store *st = open_new();
	sqlite3 *h;
	int64_t run;
	mp_err err;

	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	mp_store_set_busy_timeout(st, 200);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), MP_EBUSY);
	ck_assert_msg(strstr(err.msg, "stayed locked by another process for 200 ms") != NULL, "%s", err.msg);
	sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(h);
	ck_assert_int_eq(mp_store_begin_run(st, "demo", "/r", NULL, 0, &run, &err), 0);
	mp_store_close(st);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("schema");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_makes_current_schema);
	tcase_add_test(tc, empty_sqlite_file_is_migrated_on_create);
	tcase_add_test(tc, newer_schema_is_refused_and_untouched);
	tcase_add_test(tc, missing_file_without_create);
	tcase_add_test(tc, planted_schema_objects_are_refused);
	tcase_add_test(tc, text_file_is_not_a_database);
	tcase_add_test(tc, empty_file_needs_create);
	tcase_add_test(tc, foreign_sqlite_database_is_refused);
	tcase_add_test(tc, directory_is_refused);
	tcase_add_test(tc, damaged_database_is_an_error_not_a_crash);
	suite_add_tcase(s, tc);

	tc = tcase_create("record");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, types_are_registered_once);
	tcase_add_test(tc, run_execution_artifacts_metrics);
	tcase_add_test(tc, recording_errors_are_clear);
	tcase_add_test(tc, a_failed_recording_leaves_nothing);
	tcase_add_test(tc, cache_reuse_and_history);
	suite_add_tcase(s, tc);

	tc = tcase_create("query");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, artifact_queries_and_latest);
	tcase_add_test(tc, runs_are_listed_newest_first);
	tcase_add_test(tc, lineage_up_and_down);
	tcase_add_test(tc, gc_spares_pushed_and_in_use);
	tcase_add_test(tc, queries_survive_allocation_failure);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, two_processes_write_at_once);
	tcase_add_test(tc, a_held_lock_times_out_clearly);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(store_suite());
}
