/* data/csv: CSV files (RFC 4180), plain or gzip, read row by row, and the
 * fast number parser ExampleGen and predict read their cells with. */
#ifndef MP_DATA_CSV_H
#define MP_DATA_CSV_H

#include <stddef.h>
#include <stdint.h>
#include "core/core.h"

/* ---- CSV (RFC 4180), plain or gzip ------------------------------------- */

/* The values that mean missing unless a reader is told otherwise (one per
 * line; an empty field is missing too): ExampleGen's na_values default,
 * and what mlpipe predict reads. */
#define MP_CSV_NA_DEFAULT "NA\nN/A\n#N/A\nNULL\nnull"
/* The longest CSV row read (a quoted field may span lines): 256 MB. */
#define MP_CSV_MAX_ROW (256u << 20)

/* Narrows s[0..*n) to leave out leading and trailing white space. */
static inline void mp_trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || (**s >= '\t' && **s <= '\r'))) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || ((*s)[*n - 1] >= '\t' && (*s)[*n - 1] <= '\r')))
		(*n)--;
}

typedef struct mp_csv_field {
	const char *s; /* not NUL-terminated; quotes removed, "" unescaped */
	size_t n;
	int col;    /* 1-based column of the field's first character */
	int quoted;
} mp_csv_field;

typedef struct mp_csv mp_csv;

/* A growable list of fields. */
typedef struct mp_csv_fieldlist {
	mp_csv_field *items;
	size_t n, cap;
} mp_csv_fieldlist;

/* Splits one row (without its line end) into fields, unescaping quoted
 * fields in place; path and line name the row in errors. */
int mp_csv_split_row(char *row, size_t len, char delim, mp_csv_fieldlist *fields, const char *path,
		     int64_t line, mp_err *err);

/* Opens path (gzip or plain) with a one-character delimiter. */
int mp_csv_open(mp_csv **out, const char *path, char delim, mp_err *err);
/* Reads the next row (blank lines are skipped): 1, 0 at the end, or an
 * error naming the file and line (an unterminated quote, a truncated gzip
 * stream). */
int mp_csv_next(mp_csv *c, mp_err *err);
/* The next row as it is in the file (without its line end), for a caller
 * that splits rows without quotes itself: *quoted says whether the row has
 * a quote character.  mp_csv_split then splits it into fields if needed. */
int mp_csv_next_raw(mp_csv *c, const char **row, size_t *len, int *quoted, mp_err *err);
int mp_csv_split(mp_csv *c, mp_err *err);
/* The current row's fields, valid until the next call. */
const mp_csv_field *mp_csv_fields(const mp_csv *c, size_t *n);
/* The line the current row starts on (1-based). */
int64_t mp_csv_line(const mp_csv *c);
const char *mp_csv_path(const mp_csv *c);
/* Bytes of (decompressed) input consumed so far. */
uint64_t mp_csv_bytes(const mp_csv *c);
void mp_csv_close(mp_csv *c);

/* ---- number parsing ---------------------------------------------------- */

/* Parses s[0..n) as a decimal number into *out; 0, or -1 when it is not
 * one.  Fast for the common forms (integers, short decimals), exact
 * fallback through strtod otherwise. */
int mp_parse_f32(const char *s, size_t n, float *out);

#endif
