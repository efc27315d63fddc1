/* What the store's test files share: a fresh folder and store per test, a
 * fake clock, SQL run on the file directly, and one recorded execution. */
#ifndef MP_TESTS_STORE_FIXTURE_H
#define MP_TESTS_STORE_FIXTURE_H

#include <sqlite3.h>

#include "metadata/store.h"
#include "tests/testutil.h"

static char *dir;
static char db[600];
static int64_t fake_ms;

static inline int64_t fake_clock(void *ud)
{
	(void)ud;
	return fake_ms += 1000;
}

static inline void setup(void)
{
	dir = tu_mkdtemp();
	snprintf(db, sizeof(db), "%s/metadata.db", dir);
	fake_ms = 1793527200000LL;
}

static inline void teardown(void)
{
	tu_rmdir(dir);
	dir = NULL;
}

static inline mp_store *open_new(void)
{
	mp_store *st;
	mp_err err;

	ck_assert_msg(mp_store_open(&st, db, MP_STORE_CREATE, &err) == 0, "%s", err.msg);
	mp_store_set_clock(st, fake_clock, NULL);
	return st;
}

/* Runs sql on the file with SQLite directly, outside the store. */
static inline void raw_sql(const char *path, const char *sql)
{
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
	sqlite3_close(h);
}

static inline int64_t raw_count(const char *path, const char *sql)
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
static inline int64_t run_exec(mp_store *st, int64_t run, const char *id, const char *type,
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

#endif
