/* Escaped tab-separated text, read in place. */
#include "core/tsv.h"

#include <string.h>

void mp_tsv_escape(mp_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '\t')
			mp_strbuf_adds(sb, "\\t");
		else if (*s == '\n')
			mp_strbuf_adds(sb, "\\n");
		else if (*s == '\\')
			mp_strbuf_adds(sb, "\\\\");
		else
			mp_strbuf_add(sb, s, 1);
	}
}

void mp_tsv_unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			*w++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

char *mp_text_line(char **cur)
{
	char *line = *cur, *nl;

	if (!*line)
		return NULL;
	if ((nl = strchr(line, '\n'))) {
		*nl = '\0';
		*cur = nl + 1;
	} else {
		*cur = line + strlen(line);
	}
	return line;
}

size_t mp_tsv_fields(char *line, char **f, size_t max, size_t from)
{
	size_t n = 0, k;

	while (n < max) {
		char *tab = strchr(line, '\t');

		f[n++] = line;
		if (!tab || n == max)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	for (k = from; k < n; k++)
		mp_tsv_unescape(f[k]);
	return n;
}
