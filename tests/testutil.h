/* Helpers the Check suites share: temporary directories and file reads. */
#ifndef MP_TESTS_TESTUTIL_H
#define MP_TESTS_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "components/component.h"
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

/* Runs component type name in this process with inputs, outputs and
 * params given as "in:k=DIR", "out:k=DIR" and "param:k=VALUE" strings
 * (NULL-terminated; folders below tu_dir(), outputs made empty, params
 * checked and canonical, defaults filled in), and a scratch folder below
 * tu_dir() when scratch is not NULL. */
static inline int tu_run_component(const char *name, const char *scratch, mp_err *err, ...)
{
	const mp_component_type *t = mp_component_find(name);
	mp_kv ins[8], outs[8], params[40];
	char *owned[64], *scr = scratch ? tu_at(scratch) : NULL;
	size_t ni = 0, no = 0, np = 0, nown = 0, i;
	mp_component_io io = {0};
	const char *a;
	va_list ap;
	int rc;

	ck_assert_ptr_nonnull(t);
	va_start(ap, err);
	while ((a = va_arg(ap, const char *))) {
		const char *colon = strchr(a, ':'), *eq = strchr(a, '=');
		char *key = mp_strndup(colon + 1, (size_t)(eq - colon - 1));

		owned[nown++] = key;
		if (!strncmp(a, "param:", 6)) {
			char *canon = NULL;
			const mp_param_spec *spec = mp_component_param(t, key);

			ck_assert_ptr_nonnull(spec);
			ck_assert_int_eq(mp_param_check(spec, eq + 1, &canon, err), 0);
			owned[nown++] = canon;
			params[np].key = key;
			params[np++].value = canon;
		} else {
			char *path = tu_at(eq + 1);

			owned[nown++] = path;
			if (!strncmp(a, "in:", 3)) {
				ins[ni].key = key;
				ins[ni++].value = path;
			} else {
				mp_rmtree(path, NULL);
				ck_assert_int_eq(mp_mkdirs(path, 0755, err), 0);
				outs[no].key = key;
				outs[no++].value = path;
			}
		}
	}
	va_end(ap);
	for (i = 0; i < t->nparams; i++) {
		size_t k;

		for (k = 0; k < np && strcmp(params[k].key, t->params[i].name); k++)
			;
		if (k == np && t->params[i].def) {
			params[np].key = t->params[i].name;
			params[np++].value = t->params[i].def;
		}
	}
	if (scr)
		ck_assert_int_eq(mp_mkdirs(scr, 0755, err), 0);
	io.inputs = ins;
	io.ninputs = ni;
	io.outputs = outs;
	io.noutputs = no;
	io.params = params;
	io.nparams = np;
	io.workdir = tu_dir();
	io.scratch = scr;
	io.result = mp_result_new();
	rc = t->run(&io, err);
	mp_result_free(io.result);
	for (i = 0; i < nown; i++)
		free(owned[i]);
	free(scr);
	return rc;
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


/* Runs the statement `call` (which sets rc) with the nth allocation from
 * now failing, for n = 0, 1, ... until it succeeds: every failure before
 * that must be MP_ENOMEM, and it must succeed within max tries.  `undo`
 * runs after each failure (to release what a caller owns then). */
#define TU_EACH_FAILED_ALLOC(max, rc, call, undo)                              \
	do {                                                                   \
		long tu_n_;                                                    \
		for (tu_n_ = 0; tu_n_ < (max); tu_n_++) {                      \
			mp_alloc_fail_after(tu_n_);                            \
			call;                                                  \
			mp_alloc_fail_after(-1);                               \
			if ((rc) == 0)                                         \
				break;                                         \
			ck_assert_int_eq((rc), MP_ENOMEM);                     \
			undo;                                                  \
		}                                                              \
		ck_assert_int_lt(tu_n_, (max));                                \
	} while (0)

#endif
