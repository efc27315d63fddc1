/* Helpers the Check suites share: temporary directories and file reads. */
#ifndef MP_TESTS_TESTUTIL_H
#define MP_TESTS_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

/* A fresh directory under $TMPDIR (or /tmp), removed by tu_rmdir. */
static inline char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *path = mp_asprintf("%s/mlpipe-test.XXXXXX", base && *base ? base : "/tmp");

	ck_assert_ptr_nonnull(path);
	ck_assert_ptr_nonnull(mkdtemp(path));
	return path;
}

static inline void tu_rmdir(char *path)
{
	mp_err err;

	if (path)
		ck_assert_int_eq(mp_rmtree(path, &err), 0);
	free(path);
}

static inline char *tu_read(const char *path)
{
	char *data;
	mp_err err;

	ck_assert_int_eq(mp_read_file(path, &data, NULL, &err), 0);
	return data;
}

/* A fresh folder for each test of a case that has the fixture
 * tcase_add_checked_fixture(tc, tu_setup, tu_teardown); tu_dir() names it. */
static inline char **tu__dirp(void)
{
	static char *d;

	return &d;
}

static inline char *tu_dir(void)
{
	return *tu__dirp();
}

static inline void tu_setup(void)
{
	*tu__dirp() = tu_mkdtemp();
}

static inline void tu_teardown(void)
{
	tu_rmdir(*tu__dirp());
	*tu__dirp() = NULL;
}

/* <tu_dir()>/<name>, owned by the caller. */
static inline char *tu_at(const char *name)
{
	char *p = mp_asprintf("%s/%s", tu_dir(), name);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Writes text to <tu_dir()>/<name>. */
static inline void tu_write(const char *name, const char *text)
{
	char *p = tu_at(name);
	mp_err err;

	ck_assert_int_eq(mp_write_file_atomic(p, text, strlen(text), &err), 0);
	free(p);
}

/* Runs a suite; returns the process exit status. */
static inline int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif
