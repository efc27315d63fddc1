/* Five-field cron expressions, as Vixie cron reads them.
 *
 *   minute hour day-of-month month day-of-week
 *
 * Each field is `*`, a number, a range `a-b`, a step `*\/n`, `a-b/n` or
 * `a/n` (from a to the field's end), or a comma-separated list of those.
 * Months may be named jan..dec, weekdays sun..sat; weekday 7 is Sunday too.
 * When both day fields are restricted (neither starts with `*`), a day
 * matches when either does (cron's OR rule); otherwise both must.  Presets:
 * @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly.
 * Times are the machine's local time (TZ).
 */
#ifndef MP_ORCHESTRATOR_CRON_H
#define MP_ORCHESTRATOR_CRON_H

#include <stdint.h>
#include <time.h>

#include "core/core.h"

typedef struct mp_cron {
	uint64_t minutes; /* bit m: minute m (0-59) */
	uint32_t hours;	  /* bit h (0-23) */
	uint32_t mdays;	  /* bit d (1-31) */
	uint16_t months;  /* bit m (1-12) */
	uint8_t wdays;	  /* bit d (0-6, Sunday 0) */
	int mday_star, wday_star; /* the day fields started with '*' */
} mp_cron;

/* Parses expr.  Errors name the field and the offending text; *col gets
 * the 1-based column of the problem within expr (for file:line:col). */
int mp_cron_parse(mp_cron *c, const char *expr, int *col, mp_err *err);

/* The first matching minute strictly after t (seconds since the epoch), or
 * -1 when there is none within 8 years (Feb 30, say). */
time_t mp_cron_next(const mp_cron *c, time_t t);

#endif
