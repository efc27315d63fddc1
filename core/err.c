/* Errors, allocation and logging: the smallest pieces everything else uses. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

int mp_verror(mp_err *err, int code, const char *fmt, va_list ap)
{
	if (err) {
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	}
	return code;
}

int mp_error(mp_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mp_verror(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int mp_error_wrap(mp_err *err, const char *fmt, ...)
{
	char line[2 * MP_ERR_MAX + 2];
	va_list ap;
	int n;

	if (!err)
		return MP_EINVAL;
	va_start(ap, fmt);
	n = vsnprintf(line, MP_ERR_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n >= MP_ERR_MAX)
		n = MP_ERR_MAX - 1;
	memcpy(line + n, ": ", 2);
	memcpy(line + n + 2, err->msg, MP_ERR_MAX);
	line[sizeof(line) - 1] = '\0';
	memcpy(err->msg, line, MP_ERR_MAX - 1);
	err->msg[MP_ERR_MAX - 1] = '\0';
	return err->code;
}

int mp__impossible(int bad, const char *expr, const char *file, int line)
{
	if (bad) {
		fprintf(stderr, "mlpipe: internal error: %s:%d: impossible: %s\n", file, line, expr);
#ifndef NDEBUG
		abort();
#endif
	}
	return bad;
}

void mp_err_clear(mp_err *err)
{
	if (err) {
		err->code = MP_OK;
		err->msg[0] = '\0';
	}
}

const char *mp_strerror(int code)
{
	switch (code) {
	case MP_OK: return "success";
	case MP_EINVAL: return "bad input";
	case MP_ENOMEM: return "out of memory";
	case MP_EIO: return "input/output error";
	case MP_ENOTFOUND: return "not found";
	case MP_EDB: return "metadata store error";
	case MP_ECORRUPT: return "damaged file";
	case MP_EVERSION: return "written by a newer mlpipe";
	case MP_EBUSY: return "busy";
	case MP_EEXIST: return "already exists";
	}
	return "unknown error";
}

/* ---- allocation -------------------------------------------------------- */

static long fail_countdown = -1;

static int alloc_should_fail(void)
{
	if (fail_countdown < 0)
		return 0;
	if (fail_countdown == 0)
		return 1;
	fail_countdown--;
	return 0;
}

void mp_alloc_fail_after(long n)
{
	fail_countdown = n;
}

void *mp_malloc(size_t n)
{
	return alloc_should_fail() ? NULL : malloc(n ? n : 1);
}

void *mp_calloc(size_t count, size_t size)
{
	return alloc_should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *mp_realloc(void *p, size_t n)
{
	return alloc_should_fail() ? NULL : realloc(p, n ? n : 1);
}

int mp_grow(void **items, size_t *alloc, size_t n, size_t size)
{
	size_t na;
	void *p;

	if (n < *alloc)
		return 0;
	na = *alloc ? *alloc * 2 : 16;
	while (na <= n)
		na *= 2;
	if (!(p = mp_realloc(*items, na * size)))
		return MP_ENOMEM;
	*items = p;
	*alloc = na;
	return 0;
}

void mp_reverse(void *items, size_t n, size_t size)
{
	unsigned char *lo = items, *hi, t;
	size_t k;

	if (n < 2)
		return;
	for (hi = lo + (n - 1) * size; lo < hi; lo += size, hi -= size)
		for (k = 0; k < size; k++) {
			t = lo[k];
			lo[k] = hi[k];
			hi[k] = t;
		}
}

char *mp_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = mp_malloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

char *mp_strdup(const char *s)
{
	return s ? mp_strndup(s, strlen(s)) : NULL;
}

char *mp_asprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(s = mp_malloc((size_t)n + 1)))
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* ---- logging ----------------------------------------------------------- */

static mp_log_level log_level = MP_LOG_WARN;

void mp_log_set_level(mp_log_level level)
{
	log_level = level;
}

mp_log_level mp_log_get_level(void)
{
	return log_level;
}

void mp_log(mp_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	char line[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so lines from parallel processes do not interleave. */
	fprintf(stderr, "mlpipe: %s: %s\n", names[level], line);
}
