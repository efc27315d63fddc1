/* data/csv, data/idx and data/span: the readers of the files users bring,
 * numbers parsed as strtod would, and {SPAN} patterns. */
#include "testutil.h"

#include <math.h>
#include <time.h>
#include <zlib.h>

#include "core/bytes.h"
#include "core/tsv.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "data/examples.h"
#include "data/idx.h"
#include "data/records.h"
#include "data/span.h"
#include "data/transform.h"

#include "data_fixtures.h"

static int next_row(mp_csv *c, const char *want)
{
	mp_err err;
	mp_strbuf sb = MP_STRBUF_INIT;
	const mp_csv_field *f;
	size_t n, i;
	int rc = mp_csv_next(c, &err), same;

	if (rc != 1)
		return 0;
	f = mp_csv_fields(c, &n);
	for (i = 0; i < n; i++) {
		if (i)
			mp_strbuf_adds(&sb, "|");
		mp_strbuf_add(&sb, f[i].s, f[i].n);
	}
	same = strcmp(mp_strbuf_str(&sb), want) == 0;
	if (!same)
		fprintf(stderr, "row '%s', wanted '%s'\n", mp_strbuf_str(&sb), want);
	mp_strbuf_release(&sb);
	return same;
}

START_TEST(numbers_parse_like_strtod)
{
	static const char *good[] = {"0", "7", "255", "-3", "+4", "1.5", "-0.25", ".5", "5.", "1e3",
				     "2.5E-2", "123456789", "1234567890123", "3.14159265358979", "1e-30",
				     "nan", "inf", "-inf"};
	static const char *bad[] = {"", "-", ".", "abc", "1.2.3", "1e", "0x10", "12a", "1 2", "--1"};
	size_t i;
	float v;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		float want = strtof(good[i], NULL);

		ck_assert_msg(mp_parse_f32(good[i], strlen(good[i]), &v) == 0, "%s", good[i]);
		ck_assert_msg(v == want || (isnan(v) && isnan(want)), "%s: %g, wanted %g", good[i], v, want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mp_parse_f32(bad[i], strlen(bad[i]), &v) != 0, "'%s' parsed", bad[i]);
}
END_TEST

START_TEST(csv_follows_rfc4180)
{
	char *path = tu_at("q.csv");
	mp_csv *c;
	mp_err err;

	tu_write("q.csv", "a,b,c\r\n"
			    "1,\"x,y\",3\r\n"
			    "\r\n"
			    "\"he said \"\"hi\"\"\",,\"multi\nline\"\n"
			    "last,row,\"\"");
	ck_assert_int_eq(mp_csv_open(&c, path, ',', &err), 0);
	ck_assert(next_row(c, "a|b|c"));
	ck_assert_int_eq(mp_csv_line(c), 1);
	ck_assert(next_row(c, "1|x,y|3"));
	ck_assert(next_row(c, "he said \"hi\"||multi\nline"));
	ck_assert_int_eq(mp_csv_line(c), 4);
	ck_assert(next_row(c, "last|row|"));
	ck_assert_int_eq(mp_csv_line(c), 6);
	ck_assert_int_eq(mp_csv_next(c, &err), 0);
	mp_csv_close(c);

	tu_write("u.csv", "a,b\n1,\"open\n2,3\n");
	free(path);
	path = tu_at("u.csv");
	ck_assert_int_eq(mp_csv_open(&c, path, ',', &err), 0);
	ck_assert(next_row(c, "a|b"));
	ck_assert_int_eq(mp_csv_next(c, &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "u.csv:2: a quoted field is not closed"));
	mp_csv_close(c);

	tu_write("v.csv", "a;b\n\"x\"y;2\n");
	free(path);
	path = tu_at("v.csv");
	ck_assert_int_eq(mp_csv_open(&c, path, ';', &err), 0);
	ck_assert(next_row(c, "a|b"));
	ck_assert_int_eq(mp_csv_next(c, &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "v.csv:2:4: unexpected 'y' after a quoted field"));
	mp_csv_close(c);
	free(path);
}
END_TEST

START_TEST(csv_reads_gzip_and_long_rows_and_reports_truncation)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	char *path = tu_at("big.csv.gz"), *data;
	mp_csv *c;
	mp_err err;
	size_t n;
	int rows = 0, rc, i;

	/* rows longer than the reader's 1 MB buffer, and many of them */
	mp_strbuf_adds(&sb, "id,text\n");
	for (i = 0; i < 3; i++) {
		mp_strbuf_addf(&sb, "%d,\"", i);
		for (int k = 0; k < 300000; k++)
			mp_strbuf_adds(&sb, "ab\"\"c");
		mp_strbuf_adds(&sb, "\"\n");
	}
	for (i = 0; i < 20000; i++)
		mp_strbuf_addf(&sb, "%d,row %d\n", i, i);
	write_gz("big.csv.gz", sb.buf, sb.len);
	ck_assert_int_eq(mp_csv_open(&c, path, ',', &err), 0);
	while ((rc = mp_csv_next(c, &err)) == 1) {
		const mp_csv_field *f = mp_csv_fields(c, &n);

		ck_assert_uint_eq(n, 2);
		if (rows >= 1 && rows <= 3)
			ck_assert_uint_eq(f[1].n, 300000 * 4);
		rows++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(rows, 1 + 3 + 20000);
	mp_csv_close(c);

	/* the same file cut short */
	ck_assert_int_eq(mp_read_file(path, &data, &n, &err), 0);
	ck_assert_int_eq(mp_write_file_atomic(path, data, n / 2, &err), 0);
	free(data);
	ck_assert_int_eq(mp_csv_open(&c, path, ',', &err), 0);
	while ((rc = mp_csv_next(c, &err)) == 1)
		;
	ck_assert_int_eq(rc, MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "gzip stream is truncated"));
	mp_csv_close(c);
	mp_strbuf_release(&sb);
	free(path);
}
END_TEST

START_TEST(idx_reader_checks_its_header_and_size)
{
	char *path = tu_at("a-images-idx3-ubyte.gz");
	uint8_t buf[64];
	size_t got;
	mp_idx x;
	mp_err err;

	write_idx("a-images-idx3-ubyte.gz", 3, 5, 2, 3, 0, 0);
	ck_assert_int_eq(mp_idx_open(&x, path, 3, &err), 0);
	ck_assert_int_eq(x.count, 5);
	ck_assert_uint_eq(x.item_size, 6);
	ck_assert_int_eq(mp_idx_read(&x, buf, 4, &got, &err), 0);
	ck_assert_uint_eq(got, 4);
	ck_assert_int_eq(mp_idx_read(&x, buf, 4, &got, &err), 0);
	ck_assert_uint_eq(got, 1);
	ck_assert_int_eq(mp_idx_read(&x, buf, 4, &got, &err), 0);
	ck_assert_uint_eq(got, 0);
	mp_idx_close(&x);
	/* as labels: wrong number of dimensions */
	ck_assert_int_eq(mp_idx_open(&x, path, 1, &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "magic 00000803"));
	/* truncated, and too long */
	write_idx("a-images-idx3-ubyte.gz", 3, 5, 2, 3, 0, 4);
	ck_assert_int_eq(mp_idx_open(&x, path, 3, &err), 0);
	ck_assert_int_eq(mp_idx_read(&x, buf, 8, &got, &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "is truncated at byte"));
	mp_idx_close(&x);
	write_idx("a-images-idx3-ubyte.gz", 3, 5, 2, 3, 2, 0);
	ck_assert_int_eq(mp_idx_open(&x, path, 3, &err), 0);
	ck_assert_int_eq(mp_idx_read(&x, buf, 8, &got, &err), 0);
	ck_assert_int_eq(mp_idx_read(&x, buf, 8, &got, &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "longer than its header says"));
	mp_idx_close(&x);
	free(path);
}
END_TEST

START_TEST(spans_pick_the_newest)
{
	char *path, *want;
	int64_t span, version;
	mp_err err;

	ck_assert_int_eq(mp_mkdirs(tu_dir(), 0755, &err), 0);
	tu_write("data-1-v1.csv", "a\n");
	tu_write("data-2-v1.csv", "a\n");
	tu_write("data-2-v3.csv", "a\n");
	tu_write("data-10-v2.csv", "a\n");
	tu_write("data-x-v9.csv", "a\n");
	ck_assert_int_eq(mp_resolve_span("data-{SPAN}-v{VERSION}.csv", tu_dir(), &path, &span, &version, &err), 0);
	want = tu_at("data-10-v2.csv");
	ck_assert_str_eq(path, want);
	ck_assert_int_eq(span, 10);
	ck_assert_int_eq(version, 2);
	free(path);
	free(want);
	ck_assert_int_eq(mp_resolve_span("data-2-v{VERSION}.csv", tu_dir(), &path, &span, &version, &err), 0);
	ck_assert_int_eq(span, -1);
	ck_assert_int_eq(version, 3);
	free(path);
	ck_assert_int_eq(mp_resolve_span("*-{SPAN}-v1.csv", tu_dir(), &path, &span, &version, &err), 0);
	ck_assert_int_eq(span, 2);
	free(path);
	ck_assert_int_eq(mp_resolve_span("none-{SPAN}.csv", tu_dir(), &path, &span, &version, &err), MP_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "no file matches 'none-{SPAN}.csv'"));
	ck_assert_int_eq(mp_resolve_span("plain.csv", tu_dir(), &path, &span, &version, &err), 0);
	want = tu_at("plain.csv");
	ck_assert_str_eq(path, want);
	free(path);
	free(want);
}
END_TEST

/* Splitting a quoted row grows the field list: under failed allocations
 * that is MP_ENOMEM, never a short row. */
START_TEST(csv_rows_survive_failed_allocations)
{
	mp_csv_fieldlist fl = {NULL, 0, 0};
	char row[256];
	mp_err err;
	int rc;

	TU_EACH_FAILED_ALLOC(50, rc,
			     (strcpy(row, "a,\"b,c\",d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,1,2,3,4,5,6,7,8,9"),
			      rc = mp_csv_split_row(row, strlen(row), ',', &fl, "t.csv", 1, &err)),
			     (void)0);
	ck_assert_uint_eq(fl.n, 34);
	ck_assert_uint_eq(fl.items[1].n, 3);
	free(fl.items);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc;

	tc = tcase_create("csv");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, numbers_parse_like_strtod);
	tcase_add_test(tc, csv_follows_rfc4180);
	tcase_add_test(tc, csv_rows_survive_failed_allocations);
	tcase_add_test(tc, csv_reads_gzip_and_long_rows_and_reports_truncation);
	suite_add_tcase(s, tc);
	tc = tcase_create("idx");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, idx_reader_checks_its_header_and_size);
	suite_add_tcase(s, tc);
	tc = tcase_create("spans");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, spans_pick_the_newest);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
