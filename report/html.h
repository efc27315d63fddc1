/* report/html: the page helpers the reports share (internal): escaping,
 * elements, numbers in cells, the page's head and foot.
 *
 *   report.c   the run report
 *   history.c  the history report
 *   html.c     these helpers
 */
#ifndef MP_REPORT_HTML_H
#define MP_REPORT_HTML_H

#include "core/core.h"

void mp__html_esc(mp_strbuf *sb, const char *s);
void mp__html_el(mp_strbuf *sb, const char *tag, const char *cls, const char *s);
double mp__html_num(const char *s);
void mp__html_cell_num(mp_strbuf *sb, double v);
void mp__html_page_open(mp_strbuf *sb, const char *title);
void mp__html_page_close(mp_strbuf *sb);
const char *mp__html_show_ms(int64_t ms, char *buf, size_t n);

#endif
