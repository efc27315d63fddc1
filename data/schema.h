/* data/schema: the schema (schema.yaml): inferred from statistics,
 * written for people to edit, read back with line and column. */
#ifndef MP_DATA_SCHEMA_H
#define MP_DATA_SCHEMA_H

#include <stddef.h>
#include "core/core.h"
#include "data/examples.h"
#include "data/stats.h"

/* ---- the schema (schema.yaml) ------------------------------------------ */

typedef struct mp_schema_feature {
	char *name;
	mp_feat_type type;
	int required;	/* every example must have it */
	int has_range;	/* numbers: min and max hold */
	double min, max;
	int has_values; /* strings: values is the whole domain */
	char **values;
	size_t nvalues;
} mp_schema_feature;

typedef struct mp_schema {
	mp_schema_feature *features;
	size_t nfeatures;
	mp_name_index ix; /* features by name, once inferred or read */
} mp_schema;

/* Infers a schema from the statistics of split: types; required when no
 * value is missing; the observed range of numbers (with ranges); the
 * vocabulary of strings with at most max_values distinct values. */
int mp_schema_infer(mp_schema *out, const mp_stats *s, const char *split, int ranges, int max_values,
		    mp_err *err);
/* Writes YAML a person can edit; header is a comment line (or NULL). */
int mp_schema_write(const mp_schema *sc, const char *path, const char *header, mp_err *err);
/* Reads and checks a schema file; problems name its line and column. */
int mp_schema_read(mp_schema *out, const char *path, mp_err *err);
/* The same from a buffer; path names it in errors. */
int mp_schema_parse(mp_schema *out, const char *text, size_t len, const char *path, mp_err *err);
void mp_schema_release(mp_schema *sc);
const mp_schema_feature *mp_schema_find(const mp_schema *sc, const char *name);

#endif
