/* metadata: the schema and its migrations, and the refusal of foreign,
 * newer and damaged files, each left as it was. */
#include <sys/stat.h>

#include "tests/store_fixture.h"

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

static Suite *store_schema_suite(void)
{
	Suite *s = suite_create("store_schema");
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

	return s;
}

int main(void)
{
	return tu_run(store_schema_suite());
}
