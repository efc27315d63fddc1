/* The reports' page helpers (see html.h). */
#include "report/html.h"
#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char css[] =
	"body{font-family:sans-serif;margin:24px auto;max-width:1100px;color:#111;line-height:1.4}"
	"h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}"
	"h3{font-size:15px}table{border-collapse:collapse;margin:8px 0}"
	"td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}"
	"th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	".ok{color:#1e5e2b;font-weight:bold}.bad{color:#a11b12;font-weight:bold;background:#fbe9e7}"
	".muted{color:#666}.charts{display:flex;flex-wrap:wrap;gap:12px}"
	"svg{background:#fff;border:1px solid #ddd;max-width:100%;height:auto}code{background:#f4f4f4;padding:0 3px}";

/* ---- HTML pieces --------------------------------------------------------- */

void mp__html_esc(mp_strbuf *sb, const char *s)
{
	mp_xml_escape(sb, s ? s : "");
}

/* Tag, escaped text, closing tag. */
void mp__html_el(mp_strbuf *sb, const char *tag, const char *cls, const char *s)
{
	mp_strbuf_addf(sb, "<%s%s%s%s>", tag, cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
	mp__html_esc(sb, s);
	mp_strbuf_addf(sb, "</%s>", tag);
}

/* A number from an artifact's text; NaN (shown as "-") when the field is
 * not one, so a damaged file shows gaps instead of zeros. */
double mp__html_num(const char *s)
{
	char *end;
	double v;

	if (!s || !*s)
		return NAN;
	v = strtod(s, &end);
	return *end ? NAN : v;
}

void mp__html_cell_num(mp_strbuf *sb, double v)
{
	if (isnan(v))
		mp_strbuf_adds(sb, "<td class=\"n\">-</td>");
	else
		mp_strbuf_addf(sb, "<td class=\"n\">%.6g</td>", v);
}

void mp__html_page_open(mp_strbuf *sb, const char *title)
{
	mp_strbuf_adds(sb, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
			   "<meta charset=\"utf-8\"/>\n<title>");
	mp__html_esc(sb, title);
	mp_strbuf_addf(sb, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
	mp__html_el(sb, "h1", NULL, title);
	mp_strbuf_adds(sb, "\n");
}

void mp__html_page_close(mp_strbuf *sb)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!localtime_r(&now, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm))
		snprintf(when, sizeof(when), "?");
	mp_strbuf_addf(sb, "<p class=\"muted\">made by mlpipe %s on %s</p>\n</body>\n</html>\n", MP_VERSION, when);
}

const char *mp__html_show_ms(int64_t ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !localtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, n, "-");
	return buf;
}
