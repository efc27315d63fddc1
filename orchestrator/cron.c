/* Cron expressions: see cron.h. */
#include "orchestrator/cron.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct field_def {
	const char *name;
	int lo, hi;
	const char *const *names; /* 3-letter names from lo, or NULL */
	int nnames;
} field_def;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
					  "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const wday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const field_def fields[5] = {
	{"minute", 0, 59, NULL, 0},
	{"hour", 0, 23, NULL, 0},
	{"day of month", 1, 31, NULL, 0},
	{"month", 1, 12, month_names, 12},
	/* 7 is Sunday as well as 0 */
	{"day of week", 0, 7, wday_names, 7},
};

static const struct {
	const char *name;
	const char *expr;
} presets[] = {
	{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},
};

/* A number or a name of field f at s[0..n); -1 when it is neither. */
static int value(const field_def *f, const char *s, size_t n)
{
	size_t i;
	int v = 0;

	if (n && isdigit((unsigned char)s[0])) {
		for (i = 0; i < n; i++) {
			if (!isdigit((unsigned char)s[i]) || v > 1000)
				return -1;
			v = v * 10 + (s[i] - '0');
		}
		return v;
	}
	if (f->names && n == 3)
		for (i = 0; i < (size_t)f->nnames; i++)
			if (!strncasecmp(f->names[i], s, 3))
				return f->lo + (int)i;
	return -1;
}

/* Parses one field s[0..n) (at column col) into bits. */
static int parse_field(const field_def *f, const char *s, size_t n, int col, uint64_t *bits, int *star, int *errcol,
		       mp_err *err)
{
	size_t i = 0;

	*bits = 0;
	*star = n > 0 && s[0] == '*';
	while (i <= n) {
		size_t end = i, slash, dash;
		int a, b, step = 1, v;

		while (end < n && s[end] != ',')
			end++;
		*errcol = col + (int)i;
		if (end == i)
			return mp_error(err, MP_EINVAL, "%s: an empty item in '%.*s'", f->name, (int)n, s);
		for (slash = i; slash < end && s[slash] != '/'; slash++)
			;
		if (slash < end) {
			step = value(&(field_def){f->name, 0, 0, NULL, 0}, s + slash + 1, end - slash - 1);
			if (step <= 0) {
				*errcol = col + (int)slash + 1;
				return mp_error(err, MP_EINVAL, "%s: '%.*s' is not a step (a whole number from 1)", f->name,
						(int)(end - slash - 1), s + slash + 1);
			}
		}
		if (slash - i == 1 && s[i] == '*') {
			a = f->lo;
			b = f->hi == 7 ? 6 : f->hi;
		} else {
			for (dash = i; dash < slash && s[dash] != '-'; dash++)
				;
			a = value(f, s + i, dash - i);
			b = dash < slash ? value(f, s + dash + 1, slash - dash - 1) : slash < end ? f->hi : a;
			if (a < 0 || b < 0) {
				size_t at = a < 0 ? i : dash + 1, len = a < 0 ? dash - i : slash - dash - 1;

				*errcol = col + (int)at;
				return mp_error(err, MP_EINVAL, "%s: '%.*s' is not a %s", f->name, (int)len, s + at,
						f->names ? "number or a name" : "number");
			}
			if (a < f->lo || a > f->hi || b < f->lo || b > f->hi)
				return mp_error(err, MP_EINVAL, "%s: '%.*s' is outside %d-%d", f->name, (int)(slash - i), s + i,
						f->lo, f->hi);
			if (a > b)
				return mp_error(err, MP_EINVAL, "%s: the range '%.*s' runs backwards", f->name,
						(int)(slash - i), s + i);
		}
		for (v = a; v <= b; v += step)
			*bits |= (uint64_t)1 << (f->hi == 7 && v == 7 ? 0 : v);
		i = end + 1;
	}
	return 0;
}

int mp_cron_parse(mp_cron *c, const char *expr, int *col, mp_err *err)
{
	const char *s = expr, *start[5];
	size_t len[5], i;
	int nf = 0, star, rc;
	uint64_t bits;

	memset(c, 0, sizeof(*c));
	*col = 1;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '@') {
		size_t n = strcspn(s, " \t");

		for (i = 0; i < MP_COUNTOF(presets); i++)
			if (strlen(presets[i].name) == n && !strncmp(presets[i].name, s, n) && !s[n + strspn(s + n, " \t")])
				return mp_cron_parse(c, presets[i].expr, col, err);
		*col = (int)(s - expr) + 1;
		return mp_error(err, MP_EINVAL,
				"'%s' is not a schedule preset (@yearly, @monthly, @weekly, @daily, @hourly)", s);
	}
	while (*s) {
		if (nf == 5) {
			*col = (int)(s - expr) + 1;
			return mp_error(err, MP_EINVAL, "'%s' has more than five fields", expr);
		}
		start[nf] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		len[nf] = (size_t)(s - start[nf]);
		nf++;
		while (isspace((unsigned char)*s))
			s++;
	}
	if (nf != 5)
		return mp_error(err, MP_EINVAL,
				"'%s' has %d field%s; a schedule has five (minute hour day-of-month month day-of-week) "
				"or is a preset such as @daily",
				expr, nf, nf == 1 ? "" : "s");
	for (i = 0; i < 5; i++) {
		if ((rc = parse_field(&fields[i], start[i], len[i], (int)(start[i] - expr) + 1, &bits, &star, col, err)) !=
		    0)
			return rc;
		switch (i) {
		case 0: c->minutes = bits; break;
		case 1: c->hours = (uint32_t)bits; break;
		case 2: c->mdays = (uint32_t)bits; c->mday_star = star; break;
		case 3: c->months = (uint16_t)bits; break;
		default: c->wdays = (uint8_t)bits; c->wday_star = star; break;
		}
	}
	return 0;
}

static int day_matches(const mp_cron *c, const struct tm *tm)
{
	int dom = (c->mdays >> tm->tm_mday) & 1, dow = (c->wdays >> tm->tm_wday) & 1;

	return c->mday_star || c->wday_star ? dom && dow : dom || dow;
}

time_t mp_cron_next(const mp_cron *c, time_t t)
{
	struct tm tm;
	int last_year;

	if (!localtime_r(&t, &tm))
		return -1;
	last_year = tm.tm_year + 8;
	tm.tm_sec = 0;
	tm.tm_min++;
	for (;;) {
		tm.tm_isdst = -1;
		if (mktime(&tm) == (time_t)-1 || tm.tm_year > last_year)
			return -1;
		if (!((c->months >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = 0;
			tm.tm_min = 0;
		} else if (!day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = 0;
			tm.tm_min = 0;
		} else if (!((c->hours >> tm.tm_hour) & 1)) {
			tm.tm_hour++;
			tm.tm_min = 0;
		} else if (!((c->minutes >> tm.tm_min) & 1)) {
			tm.tm_min++;
		} else {
			return mktime(&tm);
		}
	}
}
