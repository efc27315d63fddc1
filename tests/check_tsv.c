/* core/tsv: the text files' reader and writer. */
#include "testutil.h"

#include "core/tsv.h"

/* The text files' reader: lines in place, tab fields with empty ones
 * kept, escapes undone from the field asked for on. */
START_TEST(text_lines_and_tab_fields)
{
	char text[] = "a\tb\\tc\n\tx\t\t\nlast", *cur = text, *line, *f[4];
	mp_strbuf sb = MP_STRBUF_INIT;

	ck_assert_str_eq(line = mp_text_line(&cur), "a\tb\\tc");
	ck_assert_uint_eq(mp_tsv_fields(line, f, 4, 1), 2);
	ck_assert_str_eq(f[0], "a");
	ck_assert_str_eq(f[1], "b\tc");
	ck_assert_str_eq(line = mp_text_line(&cur), "\tx\t\t");
	ck_assert_uint_eq(mp_tsv_fields(line, f, 4, 0), 4);
	ck_assert_str_eq(f[0], "");
	ck_assert_str_eq(f[1], "x");
	ck_assert_str_eq(f[2], "");
	ck_assert_str_eq(f[3], "");
	ck_assert_str_eq(line = mp_text_line(&cur), "last");
	ck_assert_ptr_null(mp_text_line(&cur));
	/* at most max fields: the last keeps the rest */
	strcpy(text, "1\t2\t3");
	ck_assert_uint_eq(mp_tsv_fields(text, f, 2, 2), 2);
	ck_assert_str_eq(f[1], "2\t3");
	/* what mp_tsv_escape writes comes back */
	mp_tsv_escape(&sb, "tab\there\nnew \\ line");
	ck_assert_uint_eq(mp_tsv_fields(sb.buf, f, 4, 0), 1);
	ck_assert_str_eq(f[0], "tab\there\nnew \\ line");
	mp_strbuf_release(&sb);
}
END_TEST

/* Every byte that needs it is escaped, and nothing else is touched. */
START_TEST(escape_round_trips_every_byte)
{
	char raw[256], *copy;
	mp_strbuf sb = MP_STRBUF_INIT;
	int i;

	for (i = 1; i < 256; i++)
		raw[i - 1] = (char)i;
	raw[255] = '\0';
	mp_tsv_escape(&sb, raw);
	ck_assert(!sb.failed);
	ck_assert_ptr_null(strchr(sb.buf, '\t'));
	ck_assert_ptr_null(strchr(sb.buf, '\n'));
	ck_assert_uint_eq(sb.len, 255 + 3); /* a tab, a newline and a backslash grew by one each */
	copy = mp_strdup(sb.buf);
	mp_tsv_unescape(copy);
	ck_assert_str_eq(copy, raw);
	free(copy);
	mp_strbuf_release(&sb);
	/* an escape the writer never makes stands for the character itself,
	 * and a backslash at the very end is kept */
	copy = mp_strdup("a\\qb\\");
	mp_tsv_unescape(copy);
	ck_assert_str_eq(copy, "aqb\\");
	free(copy);
}
END_TEST

/* Escaping under allocation failure: the buffer says it failed, and
 * nothing is written past what it holds. */
START_TEST(escape_reports_a_failed_allocation)
{
	mp_strbuf sb = MP_STRBUF_INIT;

	mp_alloc_fail_after(0);
	mp_tsv_escape(&sb, "a\tb");
	mp_alloc_fail_after(-1);
	ck_assert(sb.failed);
	ck_assert_ptr_null(mp_strbuf_detach(&sb));
	mp_strbuf_release(&sb);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tsv");
	TCase *tc = tcase_create("tsv");

	tcase_add_test(tc, text_lines_and_tab_fields);
	tcase_add_test(tc, escape_round_trips_every_byte);
	tcase_add_test(tc, escape_reports_a_failed_allocation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
