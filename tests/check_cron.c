#define _DEFAULT_SOURCE /* timegm */
/* Cron expressions: parsing, errors with their column, and the next time
 * against a table of cases (month ends, leap years, the day-of-month /
 * day-of-week OR rule, names, steps, presets).  TZ is UTC. */
#include "testutil.h"

#include <time.h>

#include "orchestrator/cron.h"

static time_t at(const char *s)
{
	struct tm tm = {0};

	ck_assert_ptr_nonnull(strptime(s, "%Y-%m-%d %H:%M", &tm));
	return timegm(&tm);
}

static const struct {
	const char *expr, *from, *next; /* next NULL: never */
} cases[] = {
	{"* * * * *", "2026-01-01 00:00", "2026-01-01 00:01"},
	{"0 3 * * *", "2026-01-01 03:00", "2026-01-02 03:00"},
	{"0 3 * * *", "2026-01-01 02:59", "2026-01-01 03:00"},
	{"*/15 * * * *", "2026-01-01 10:07", "2026-01-01 10:15"},
	{"*/15 * * * *", "2026-01-01 10:45", "2026-01-01 11:00"},
	/* month ends: the 31st skips the months without one */
	{"0 0 31 * *", "2026-02-01 00:00", "2026-03-31 00:00"},
	{"0 0 31 * *", "2026-03-31 00:00", "2026-05-31 00:00"},
	{"59 23 31 12 *", "2026-12-31 23:59", "2027-12-31 23:59"},
	/* leap years */
	{"0 0 29 2 *", "2026-01-01 00:00", "2028-02-29 00:00"},
	{"0 0 29 2 *", "2028-02-29 00:00", "2032-02-29 00:00"},
	{"0 0 30 2 *", "2026-01-01 00:00", NULL},
	/* both day fields restricted: either matches (the 1st, or a Monday) */
	{"0 0 1 * mon", "2026-11-24 00:00", "2026-11-30 00:00"},
	{"0 0 1 * mon", "2026-11-30 00:00", "2026-12-01 00:00"},
	/* a day field starting with '*' is unrestricted: both must match
	 * (an odd day that is a Monday) */
	{"0 0 */2 * mon", "2026-11-24 00:00", "2026-12-07 00:00"},
	/* names, lists, ranges with steps, Sunday as 7 */
	{"30 8 * jan,jul sun", "2026-01-01 00:00", "2026-01-04 08:30"},
	{"30 8 * JAN,Jul Sun", "2026-01-31 09:00", "2026-07-05 08:30"},
	{"0 12 * * 7", "2026-11-24 00:00", "2026-11-29 12:00"},
	{"0 9-17/4 * * mon-fri", "2026-11-27 13:00", "2026-11-27 17:00"},
	{"0 9-17/4 * * mon-fri", "2026-11-27 17:00", "2026-11-30 09:00"},
	{"5 4 * * sun", "2026-11-28 04:05", "2026-11-29 04:05"},
	{"0 22 * * 1-5", "2026-11-27 22:00", "2026-11-30 22:00"},
	{"10/20 * * * *", "2026-01-01 00:00", "2026-01-01 00:10"},
	{"10/20 * * * *", "2026-01-01 00:50", "2026-01-01 01:10"},
	{"0 0 1,15 * *", "2026-01-01 00:00", "2026-01-15 00:00"},
	{"0 0 * * 5-7", "2026-11-24 00:00", "2026-11-27 00:00"},
	/* presets */
	{"@hourly", "2026-01-01 10:30", "2026-01-01 11:00"},
	{"@daily", "2026-01-01 10:30", "2026-01-02 00:00"},
	{"@midnight", "2026-01-01 00:00", "2026-01-02 00:00"},
	{"@weekly", "2026-11-24 10:00", "2026-11-29 00:00"},
	{"@monthly", "2026-12-15 00:00", "2027-01-01 00:00"},
	{"@yearly", "2026-12-15 00:00", "2027-01-01 00:00"},
	{"@annually", "2027-01-01 00:00", "2028-01-01 00:00"},
	/* seconds are ignored: the next whole minute after */
	{"* * * * *", "2026-01-01 00:00", "2026-01-01 00:01"},
};

START_TEST(next_times_match_the_table)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mp_cron c;
		mp_err err;
		int col;
		time_t got;

		ck_assert_msg(mp_cron_parse(&c, cases[i].expr, &col, &err) == 0, "'%s': %s", cases[i].expr, err.msg);
		got = mp_cron_next(&c, at(cases[i].from));
		if (!cases[i].next) {
			ck_assert_msg(got == -1, "'%s' from %s should never fire", cases[i].expr, cases[i].from);
		} else {
			char buf[32];
			struct tm tm;

			gmtime_r(&got, &tm);
			strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
			ck_assert_msg(got == at(cases[i].next), "'%s' from %s: got %s, want %s", cases[i].expr, cases[i].from,
				      buf, cases[i].next);
		}
	}
}
END_TEST

START_TEST(a_week_of_hourly_times_is_168)
{
	mp_cron c;
	mp_err err;
	int col, n = 0;
	time_t t = at("2026-11-23 00:00"), end = at("2026-11-30 00:00");

	ck_assert_int_eq(mp_cron_parse(&c, "@hourly", &col, &err), 0);
	while ((t = mp_cron_next(&c, t)) <= end)
		n++;
	ck_assert_int_eq(n, 168);
}
END_TEST

static const struct {
	const char *expr, *msg;
	int col;
} errors[] = {
	{"0 3 * *", "'0 3 * *' has 4 fields; a schedule has five", 1},
	{"0 3 * * * *", "has more than five fields", 11},
	{"60 * * * *", "minute: '60' is outside 0-59", 1},
	{"0 25 * * *", "hour: '25' is outside 0-23", 3},
	{"0 0 0 * *", "day of month: '0' is outside 1-31", 5},
	{"0 0 * foo *", "month: 'foo' is not a number or a name", 7},
	{"0 0 * * sunday", "day of week: 'sunday' is not a number or a name", 9},
	{"*/0 * * * *", "minute: '0' is not a step", 3},
	{"0 0 5-2 * *", "day of month: the range '5-2' runs backwards", 5},
	{"0 0 1,,2 * *", "day of month: an empty item", 7},
	{"@reboot", "'@reboot' is not a schedule preset", 1},
	{"", "has 0 fields", 1},
};

START_TEST(errors_name_the_field_and_column)
{
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		mp_cron c;
		mp_err err;
		int col;

		ck_assert_msg(mp_cron_parse(&c, errors[i].expr, &col, &err) != 0, "'%s' should not parse", errors[i].expr);
		ck_assert_msg(strstr(err.msg, errors[i].msg) != NULL, "'%s': got '%s'", errors[i].expr, err.msg);
		ck_assert_msg(col == errors[i].col, "'%s': column %d, want %d", errors[i].expr, col, errors[i].col);
	}
}
END_TEST

static Suite *cron_suite(void)
{
	Suite *s = suite_create("cron");
	TCase *tc = tcase_create("cron");

	tcase_add_test(tc, next_times_match_the_table);
	tcase_add_test(tc, a_week_of_hourly_times_is_168);
	tcase_add_test(tc, errors_name_the_field_and_column);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	return tu_run(cron_suite());
}
