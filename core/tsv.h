/* core/tsv: the tab-separated text files mlpipe writes (statistics.tsv,
 * transform.tsv, evaluation.tsv, examples.meta, ...), read in place. */
#ifndef MP_CORE_TSV_H
#define MP_CORE_TSV_H

#include <stddef.h>
#include "core/core.h"

/* A name or value in the tab-separated text files (statistics.tsv,
 * transform.tsv): tabs, newlines and backslashes as \t, \n and \\. */
void mp_tsv_escape(mp_strbuf *sb, const char *s);
/* Undoes mp_tsv_escape in place. */
void mp_tsv_unescape(char *s);

/* Reading such a file in place: the next line of the text at *cur,
 * NUL-terminated, with *cur moved past it; NULL at the end of the text (or
 * at an empty line: the files have none). */
char *mp_text_line(char **cur);
/* Splits line at tabs in place, keeping empty fields: up to max fields
 * into f (the last one keeps any further tabs), the fields from index from
 * on unescaped.  Returns how many. */
size_t mp_tsv_fields(char *line, char **f, size_t max, size_t from);

#endif
