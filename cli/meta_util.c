/* Helpers the `mlpipe meta` files share: printing and argument parsing. */
#include "cli/meta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int mp__meta_fail(mp_err *err)
{
	mp_log(MP_LOG_QUIET, "%s", err->msg);
	return mp_cli_exit_code(err->code);
}

void mp__meta_print_table(mp_table *t)
{
	if (t)
		mp_table_print(t, stdout);
}

const char *mp__meta_fmt_value(char *buf, size_t n, double v)
{
	if (isnan(v))
		snprintf(buf, n, "nan");
	else
		snprintf(buf, n, "%.6g", v);
	return buf;
}

void mp__meta_json_props(mp_json *j, const mp_prop *props, size_t n)
{
	size_t i;

	mp_json_begin_object(j);
	for (i = 0; i < n; i++) {
		mp_json_key(j, props[i].name);
		switch (props[i].kind) {
		case MP_PROP_INT: mp_json_int(j, props[i].i); break;
		case MP_PROP_DOUBLE: mp_json_double(j, props[i].d); break;
		case MP_PROP_STRING: mp_json_string(j, props[i].s); break;
		}
	}
	mp_json_end_object(j);
}

void mp__meta_json_time(mp_json *j, const char *key, int64_t ms)
{
	char buf[32];

	mp_json_key(j, key);
	if (ms)
		mp_json_string(j, mp_format_iso(buf, sizeof(buf), ms));
	else
		mp_json_null(j);
}

int64_t mp__meta_run_duration(const mp_run *r)
{
	return r->end_ms ? r->end_ms - r->start_ms : -1;
}

/* A run argument: its id, its name ("demo#3"), or "last" (0). */
int mp__meta_parse_run_arg(mp_store *st, const char *s, int64_t *id, mp_err *err)
{
	if (strcmp(s, "last") == 0) {
		*id = 0;
		return 0;
	}
	if (strchr(s, '#'))
		return mp_store_find_run(st, s, id, err);
	return mp_parse_i64(s, 1, INT64_MAX, id, "run id", err);
}
