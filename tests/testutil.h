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
