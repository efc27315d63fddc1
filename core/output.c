/* Output for people and scripts: a streaming JSON writer and aligned tables. */
#include "core.h"
#include "core/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON -------------------------------------------------------------- */

void mp_json_init(mp_json *j, FILE *out, int pretty)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->pretty = pretty;
}

static void newline_indent(mp_json *j)
{
	int i;

	if (!j->pretty)
		return;
	fputc('\n', j->out);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Separator before a key or a value that is not a key's value. */
static void before_item(mp_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0) {
		if (j->count[j->depth] > 0)
			fputc(',', j->out);
		newline_indent(j);
		j->count[j->depth]++;
	}
}

/* How c is written inside a JSON string: its escape into buf, or NULL
 * when it stands as it is. */
static const char *json_escape(unsigned char c, char buf[8])
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default:
		if (c >= 0x20)
			return NULL;
		snprintf(buf, 8, "\\u%04x", c);
		return buf;
	}
}

void mp_json_write_escaped(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char buf[8];
	const char *e;

	fputc('"', out);
	for (; *p; p++)
		if ((e = json_escape(*p, buf)))
			fputs(e, out);
		else
			fputc(*p, out);
	fputc('"', out);
}

void mp_json_quote(mp_strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run;
	char buf[8];
	const char *e;

	mp_strbuf_add(sb, "\"", 1);
	for (run = p; *p; p++)
		if ((e = json_escape(*p, buf))) {
			mp_strbuf_add(sb, (const char *)run, (size_t)(p - run));
			mp_strbuf_adds(sb, e);
			run = p + 1;
		}
	mp_strbuf_add(sb, (const char *)run, (size_t)(p - run));
	mp_strbuf_add(sb, "\"", 1);
}

static void open_container(mp_json *j, int c)
{
	before_item(j);
	fputc(c, j->out);
	if (j->depth + 1 < MP_JSON_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
}

static void close_container(mp_json *j, int c)
{
	int had = j->count[j->depth] > 0;

	if (j->depth > 0)
		j->depth--;
	if (had)
		newline_indent(j);
	fputc(c, j->out);
}

void mp_json_begin_object(mp_json *j) { open_container(j, '{'); }
void mp_json_end_object(mp_json *j) { close_container(j, '}'); }
void mp_json_begin_array(mp_json *j) { open_container(j, '['); }
void mp_json_end_array(mp_json *j) { close_container(j, ']'); }

void mp_json_key(mp_json *j, const char *key)
{
	before_item(j);
	mp_json_write_escaped(j->out, key);
	fputs(j->pretty ? ": " : ":", j->out);
	j->after_key = 1;
}

void mp_json_string(mp_json *j, const char *s)
{
	before_item(j);
	if (s)
		mp_json_write_escaped(j->out, s);
	else
		fputs("null", j->out);
}

void mp_json_int(mp_json *j, int64_t v)
{
	before_item(j);
	fprintf(j->out, "%lld", (long long)v);
}

void mp_json_double(mp_json *j, double v)
{
	before_item(j);
	if (isfinite(v)) {
		char buf[32];

		/* The shortest of these that reads back as the same double. */
		snprintf(buf, sizeof(buf), "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, sizeof(buf), "%.17g", v);
		fputs(buf, j->out);
	}
	else
		fputs("null", j->out);
}

void mp_json_bool(mp_json *j, int v)
{
	before_item(j);
	fputs(v ? "true" : "false", j->out);
}

void mp_json_null(mp_json *j)
{
	before_item(j);
	fputs("null", j->out);
}

void mp_json_finish(mp_json *j)
{
	fputc('\n', j->out);
}

/* ---- tables ------------------------------------------------------------ */

struct mp_table {
	int ncols;
	int nrows;
	int alloc;
	char **cells; /* (nrows + 1) * ncols: the header row first */
};

mp_table *mp_table_new(int ncols, const char *const *headers)
{
	mp_table *t = mp_calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->nrows = -1;
	if (mp_table_add(t, headers) != 0) {
		mp_table_free(t);
		return NULL;
	}
	return t;
}

void mp_table_free(mp_table *t)
{
	int i;

	if (!t)
		return;
	for (i = 0; i < (t->nrows + 1) * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

int mp_table_add(mp_table *t, const char *const *cells)
{
	int i, base;

	if (t->nrows + 2 > t->alloc) {
		int alloc = t->alloc ? t->alloc * 2 : 16;
		char **p = mp_realloc(t->cells, (size_t)alloc * (size_t)t->ncols * sizeof(*p));

		if (!p)
			return MP_ENOMEM;
		t->cells = p;
		t->alloc = alloc;
	}
	base = (t->nrows + 1) * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		t->cells[base + i] = mp_strdup(cells[i] ? cells[i] : "-");
		if (!t->cells[base + i]) {
			while (i-- > 0)
				free(t->cells[base + i]);
			return MP_ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

int mp_table_rows(const mp_table *t)
{
	return t->nrows;
}

/* Display width: UTF-8 continuation bytes do not count. */
static int width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

void mp_table_print(const mp_table *t, FILE *out)
{
	int *w = mp_calloc((size_t)t->ncols, sizeof(*w));
	int r, c;

	if (!w)
		return;
	for (r = 0; r <= t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			int cw = width(s) - (r == 0 && s[0] == '>');

			if (cw > w[c])
				w[c] = cw;
		}
	for (r = 0; r <= t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			int right = t->cells[c][0] == '>';
			int pad;

			if (r == 0 && right)
				s++;
			pad = w[c] - width(s);
			if (right)
				fprintf(out, "%*s%s", pad, "", s);
			else if (c + 1 < t->ncols)
				fprintf(out, "%s%*s", s, pad, "");
			else
				fputs(s, out);
			if (c + 1 < t->ncols)
				fputs("  ", out);
		}
		fputc('\n', out);
	}
	free(w);
}
