/* Numbers, time, growable strings. */
#include "core.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mp_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out,
		 const char *what, mp_err *err)
{
	char *end;
	long long v;

	if (!s || !*s)
		return mp_error(err, MP_EINVAL, "%s: expected an integer, got nothing", what);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || end == s)
		return mp_error(err, MP_EINVAL, "%s: '%s' is not an integer", what, s);
	if (errno == ERANGE || v < lo || v > hi)
		return mp_error(err, MP_EINVAL, "%s: %s is out of range [%lld, %lld]",
				what, s, (long long)lo, (long long)hi);
	*out = (int64_t)v;
	return 0;
}

int mp_parse_double(const char *s, double lo, double hi, double *out,
		    const char *what, mp_err *err)
{
	char *end;
	double v;

	if (!s || !*s)
		return mp_error(err, MP_EINVAL, "%s: expected a number, got nothing", what);
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || end == s)
		return mp_error(err, MP_EINVAL, "%s: '%s' is not a number", what, s);
	if (errno == ERANGE || !isfinite(v) || v < lo || v > hi)
		return mp_error(err, MP_EINVAL, "%s: %s is out of range [%g, %g]",
				what, s, lo, hi);
	*out = v;
	return 0;
}

int64_t mp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mp_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

char *mp_format_time(char *buf, size_t n, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, n, "-");
	return buf;
}

char *mp_format_duration(char *buf, size_t n, int64_t ms)
{
	if (ms < 0)
		snprintf(buf, n, "-");
	else if (ms < 60000)
		snprintf(buf, n, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(buf, n, "%lldm%02llds", (long long)(ms / 60000),
			 (long long)(ms / 1000 % 60));
	else
		snprintf(buf, n, "%lldh%02lldm", (long long)(ms / 3600000),
			 (long long)(ms / 60000 % 60));
	return buf;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

int mp_lines_has(const char *lines, const char *s, size_t n)
{
	const char *p = lines;

	for (;;) {
		size_t len = strcspn(p, "\n");

		if (len == n && !memcmp(p, s, n))
			return 1;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

const char *mp_closest_in(const char *word, const void *base, size_t n, size_t stride)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, i;

	for (i = 0; i < n; i++) {
		const char *cand = *(const char *const *)((const char *)base + i * stride);
		size_t d;

		if (!cand)
			continue;
		if ((d = edit_distance(word, cand)) < best_d) {
			best_d = d;
			best = cand;
		}
	}
	/* A typo changes a character or two, not most of the word. */
	if (best && best_d <= 2 && best_d * 2 < strlen(word) + 1)
		return best;
	return NULL;
}

const char *mp_closest(const char *word, const char *const *cands, size_t n)
{
	return mp_closest_in(word, cands, n, sizeof(*cands));
}

const char *mp_did_you_mean(const char *near, char *buf, size_t n)
{
	if (near)
		snprintf(buf, n, " (did you mean '%s'?)", near);
	else if (n)
		buf[0] = '\0';
	return buf;
}

int mp_unknown(mp_err *err, const char *what, const char *word, const void *base, size_t n, size_t stride)
{
	char near[MP_ERR_MAX / 4];

	return mp_error(err, MP_EINVAL, "unknown %s '%s'%s", what, word,
			mp_did_you_mean(mp_closest_in(word, base, n, stride), near, sizeof(near)));
}

int mp_name_value(const mp_name *t, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].value;
	return -1;
}

const char *mp_name_of(const mp_name *t, size_t n, int value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].value == value)
			return t[i].name;
	return NULL;
}

int mp_name_lookup(const mp_name *t, size_t n, const char *name, const char *what, int *value, mp_err *err)
{
	if ((*value = mp_name_value(t, n, name)) >= 0)
		return 0;
	return mp_unknown(err, what, name, t, n, sizeof(*t));
}

char *mp_format_iso(char *buf, size_t n, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "-");
	return buf;
}

/* ---- strbuf ------------------------------------------------------------ */

void mp_strbuf_init(mp_strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void mp_strbuf_release(mp_strbuf *sb)
{
	free(sb->buf);
	mp_strbuf_init(sb);
}

void mp_strbuf_reset(mp_strbuf *sb)
{
	sb->len = 0;
	sb->failed = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

static int strbuf_grow(mp_strbuf *sb, size_t extra)
{
	size_t want = sb->len + extra + 1;
	size_t alloc = sb->alloc ? sb->alloc : 64;
	char *p;

	if (sb->failed)
		return -1;
	if (want <= sb->alloc)
		return 0;
	while (alloc < want)
		alloc *= 2;
	if (!(p = mp_realloc(sb->buf, alloc))) {
		sb->failed = 1;
		return -1;
	}
	sb->buf = p;
	sb->alloc = alloc;
	return 0;
}

void mp_strbuf_add(mp_strbuf *sb, const char *s, size_t n)
{
	if (strbuf_grow(sb, n))
		return;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void mp_strbuf_adds(mp_strbuf *sb, const char *s)
{
	mp_strbuf_add(sb, s, strlen(s));
}

void mp_strbuf_addf(mp_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || strbuf_grow(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

const char *mp_strbuf_str(const mp_strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

char *mp_strbuf_detach(mp_strbuf *sb)
{
	char *s = sb->failed ? NULL : sb->buf;

	if (sb->failed)
		free(sb->buf);
	else if (!s)
		s = mp_strdup("");
	mp_strbuf_init(sb);
	return s;
}

/* ---- the name index ---------------------------------------------------- */

struct mp__name_slot {
	const char *name; /* NULL: empty */
	size_t i;
	uint64_t h;
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static struct mp__name_slot *name_slot(struct mp__name_slot *slots, size_t cap, const char *name, uint64_t h)
{
	size_t k = (size_t)(h & (cap - 1));

	while (slots[k].name && (slots[k].h != h || strcmp(slots[k].name, name) != 0))
		k = (k + 1) & (cap - 1);
	return &slots[k];
}

int mp_name_index_add(mp_name_index *ix, const char *name, size_t i, size_t *first)
{
	struct mp__name_slot *sl;
	uint64_t h = name_hash(name);

	if ((ix->n + 1) * 2 > ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 16, k;
		struct mp__name_slot *ns = mp_calloc(cap, sizeof(*ns));

		if (!ns)
			return MP_ENOMEM;
		for (k = 0; k < ix->cap; k++)
			if (ix->slots[k].name)
				*name_slot(ns, cap, ix->slots[k].name, ix->slots[k].h) = ix->slots[k];
		free(ix->slots);
		ix->slots = ns;
		ix->cap = cap;
	}
	sl = name_slot(ix->slots, ix->cap, name, h);
	if (sl->name) {
		if (first)
			*first = sl->i;
		return 1;
	}
	sl->name = name;
	sl->i = i;
	sl->h = h;
	ix->n++;
	return 0;
}

long mp_name_index_find(const mp_name_index *ix, const char *name)
{
	const struct mp__name_slot *sl;

	if (!ix->cap)
		return -1;
	sl = name_slot(ix->slots, ix->cap, name, name_hash(name));
	return sl->name ? (long)sl->i : -1;
}

void mp_name_index_release(mp_name_index *ix)
{
	free(ix->slots);
	memset(ix, 0, sizeof(*ix));
}
