/* The SVG writer: nice ticks against a table, tick labels, escaping, and
 * each kind of chart well-formed (checked by xmllint) with hostile text
 * (<, &, quotes) in every place text goes. */
#include "testutil.h"

#include <math.h>

#include "report/svg.h"

static const struct {
	double lo, hi;
	int want;
	double first, step;
	int n;
} ticks[] = {
	{0, 1, 5, 0, 0.2, 6},
	{0, 10, 6, 0, 2, 6},
	{0.8, 0.95, 5, 0.8, 0.05, 4},
	{1, 10, 6, 0, 2, 6},
	{-3, 3, 5, -4, 2, 5},
	{0.123, 0.456, 5, 0.1, 0.1, 5},
	{0, 60000, 4, 0, 20000, 4},
	{1500, 1500, 5, 1300, 100, 5}, /* one value: 10% either side */
	{0, 0, 5, -1, 0.5, 5},	      /* zero: a unit either side */
	{2e-6, 9e-6, 5, 2e-6, 2e-6, 5},
};

START_TEST(nice_ticks_match_the_table)
{
	size_t i;

	for (i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
		double first, step;
		int n = mp_nice_ticks(ticks[i].lo, ticks[i].hi, ticks[i].want, &first, &step);

		ck_assert_msg(fabs(first - ticks[i].first) < 1e-12 && fabs(step - ticks[i].step) < 1e-12 && n == ticks[i].n,
			      "[%g, %g] by %d: got %d ticks from %g by %g", ticks[i].lo, ticks[i].hi, ticks[i].want, n, first,
			      step);
		/* they cover the range */
		ck_assert(first <= ticks[i].lo + 1e-12);
		ck_assert(first + step * (n - 1) >= ticks[i].hi - 1e-12);
	}
}
END_TEST

START_TEST(tick_labels_have_the_decimals_the_step_needs)
{
	char b[32];

	ck_assert_str_eq(mp_tick_label(0.8, 0.05, b, sizeof(b)), "0.80");
	ck_assert_str_eq(mp_tick_label(0.6000000001, 0.2, b, sizeof(b)), "0.6");
	ck_assert_str_eq(mp_tick_label(20000, 20000, b, sizeof(b)), "20000");
	ck_assert_str_eq(mp_tick_label(-1e-17, 0.5, b, sizeof(b)), "0.0");
	ck_assert_str_eq(mp_tick_label(2e-6, 2e-6, b, sizeof(b)), "2e-06");
	ck_assert_str_eq(mp_tick_label(3e7, 1e7, b, sizeof(b)), "3e+07");
}
END_TEST

START_TEST(escaping_covers_markup_and_quotes)
{
	mp_strbuf sb = MP_STRBUF_INIT;

	mp_xml_escape(&sb, "a<b & \"c\" 'd' > e\x01");
	ck_assert_str_eq(mp_strbuf_str(&sb), "a&lt;b &amp; &quot;c&quot; &#39;d&#39; &gt; e?");
	mp_strbuf_release(&sb);
}
END_TEST

/* Wraps the charts in a document and checks it with xmllint. */
static void assert_well_formed(const mp_strbuf *svg)
{
	mp_strbuf doc = MP_STRBUF_INIT;
	char *path = tu_at("charts.xhtml"), *cmd;
	mp_err err;

	mp_strbuf_adds(&doc, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><body>\n");
	mp_strbuf_add(&doc, svg->buf, svg->len);
	mp_strbuf_adds(&doc, "</body></html>\n");
	ck_assert_int_eq(mp_write_file_atomic(path, doc.buf, doc.len, &err), 0);
	cmd = mp_asprintf("xmllint --noout '%s'", path);
	ck_assert_msg(system(cmd) == 0, "xmllint rejects %s", path);
	free(cmd);
	free(path);
	mp_strbuf_release(&doc);
}

static const char *hostile = "loss <\"train\"> & 'eval'";

START_TEST(every_chart_is_well_formed_with_hostile_text)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	double x[] = {1, 2, 3, 4}, y1[] = {0.5, 0.4, NAN, 0.2}, y2[] = {0.6, 0.55, 0.5, 0.45};
	int marks[] = {MP_MARK_FILLED, MP_MARK_RING, MP_MARK_CROSS, MP_MARK_NONE};
	mp_series se[] = {{hostile, x, y1, 4, NULL}, {"a&b", x, y2, 4, marks}, {"<3>", x, y2, 4, NULL},
			  {"4", x, y1, 4, NULL}, {"5", x, y2, 4, NULL}, {"six: the palette wraps", x, y1, 4, NULL}};
	mp_chart c = {hostile, "epoch <x>", "\"y\"", 0, 0, se, 6, 1, 0, 0, 0, "marks: 'filled' & <ring>"};
	const char *labels[] = {"<a>", "b&c", "\"d\""};
	double vals[] = {3, 0, 7};
	int64_t conf[] = {5, 1, 0, 2, 7, 1, 0, 0, 9};
	mp_dag_node nodes[] = {{"in<1>", "ExampleGen", "COMPLETE", 1.5, 0},
			       {"s&t", "StatisticsGen", "CACHED", 0, 1},
			       {"fail", "Command", "FAILED", 0.2, 2},
			       {"after", "Command \"x\"", "CANCELED", -1, 3}};
	int from[] = {0, 1, 2}, to[] = {1, 2, 3};
	const char *s;

	mp_svg_line_chart(&sb, &c);
	mp_svg_bars(&sb, hostile, labels, vals, 3, 0, 0);
	mp_svg_heatmap(&sb, hostile, labels, conf, 3);
	mp_svg_dag(&sb, nodes, 4, from, to, 3);
	c.nseries = 0; /* no data */
	mp_svg_line_chart(&sb, &c);
	c.nseries = 1;
	c.y_fixed = 1;
	c.ymax = 1;
	mp_svg_line_chart(&sb, &c);
	ck_assert(!sb.failed);
	s = mp_strbuf_str(&sb);
	/* the text is there, escaped, and never raw */
	ck_assert_ptr_nonnull(strstr(s, "loss &lt;&quot;train&quot;&gt; &amp; &#39;eval&#39;"));
	ck_assert_ptr_null(strstr(s, "<\"train\">"));
	ck_assert_ptr_nonnull(strstr(s, ">in&lt;1&gt;</text>"));
	ck_assert_ptr_nonnull(strstr(s, ">no data</text>"));
	/* states are written, not only coloured: the DAG reads in grey */
	ck_assert_ptr_nonnull(strstr(s, ">ran 1.5s</text>"));
	ck_assert_ptr_nonnull(strstr(s, ">cached 0.0s</text>"));
	ck_assert_ptr_nonnull(strstr(s, ">failed 0.2s</text>"));
	ck_assert_ptr_nonnull(strstr(s, ">canceled</text>"));
	/* the gap: the path lifts the pen after the NaN */
	ck_assert_ptr_nonnull(strstr(s, "stroke-width=\"2\" d=\"M"));
	assert_well_formed(&sb);
	mp_strbuf_release(&sb);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("svg");

	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, nice_ticks_match_the_table);
	tcase_add_test(tc, tick_labels_have_the_decimals_the_step_needs);
	tcase_add_test(tc, escaping_covers_markup_and_quotes);
	tcase_add_test(tc, every_chart_is_well_formed_with_hostile_text);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(report_suite());
}
