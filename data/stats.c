/* Statistics of an Examples artifact, and their file.
 *
 * statistics.tsv (fields tab-separated; tabs, newlines and backslashes in
 * names and values escaped as \t, \n and \\):
 *
 *   mlpipe-statistics 1
 *   span     SPAN
 *   split    SPLIT  ROWS
 *   number   SPLIT  FEATURE  COUNT MISSING MEAN STD MIN MAX ZEROS H0 .. H9 BAD
 *   string   SPLIT  FEATURE  COUNT MISSING UNIQUE CAPPED ALL_VALUES AVG_LEN NUMERIC
 *
 * BAD: of the missing values, cells that were not numbers (ExampleGen's
 * on_bad_value: missing); NUMERIC: values that read as numbers.  Files
 * written before these fields existed lack them; they read as 0.
 *   value    SPLIT  FEATURE  COUNT VALUE        (most frequent first)
 */
#include "core/tsv.h"
#include "data/examples.h"
#include "data/csv.h"
#include "data/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STATS_FILE "statistics.tsv"

void mp_stats_release(mp_stats *s)
{
	size_t i, f, v;

	for (i = 0; i < s->nsplits; i++) {
		mp_split_stats *ss = &s->splits[i];

		for (f = 0; ss->feats && f < ss->nfeats; f++) {
			for (v = 0; v < ss->feats[f].nvalues; v++)
				free(ss->feats[f].values[v].value);
			free(ss->feats[f].values);
			free(ss->feats[f].name);
		}
		free(ss->feats);
		free(ss->name);
		mp_name_index_release(&ss->ix);
	}
	free(s->splits);
	memset(s, 0, sizeof(*s));
}

const mp_split_stats *mp_stats_split(const mp_stats *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nsplits; i++)
		if (strcmp(s->splits[i].name, name) == 0)
			return &s->splits[i];
	return NULL;
}

const mp_feat_stats *mp_stats_feature(const mp_split_stats *s, const char *name)
{
	size_t i;

	if (s->ix.n == s->nfeats && s->nfeats) {
		long k = mp_name_index_find(&s->ix, name);

		return k < 0 ? NULL : &s->feats[k];
	}
	for (i = 0; i < s->nfeats; i++)
		if (strcmp(s->feats[i].name, name) == 0)
			return &s->feats[i];
	return NULL;
}

/* ---- the file ---------------------------------------------------------- */

/* Unescapes s in place. */
int mp_stats_write(const mp_stats *s, const char *dir, mp_err *err)
{
	char *path = mp_asprintf("%s/" STATS_FILE, dir);
	mp_strbuf sb = MP_STRBUF_INIT;
	size_t i, f, v;
	int rc, k;

	if (!path)
		return mp_error(err, MP_ENOMEM, "out of memory");
	mp_strbuf_addf(&sb, "mlpipe-statistics 1\nspan\t%lld\n", (long long)s->span);
	for (i = 0; i < s->nsplits; i++) {
		const mp_split_stats *ss = &s->splits[i];

		mp_strbuf_adds(&sb, "split\t");
		mp_tsv_escape(&sb, ss->name);
		mp_strbuf_addf(&sb, "\t%lld\n", (long long)ss->rows);
		for (f = 0; f < ss->nfeats; f++) {
			const mp_feat_stats *fs = &ss->feats[f];

			mp_strbuf_adds(&sb, fs->type == MP_FEAT_FLOAT ? "number\t" : "string\t");
			mp_tsv_escape(&sb, ss->name);
			mp_strbuf_adds(&sb, "\t");
			mp_tsv_escape(&sb, fs->name);
			mp_strbuf_addf(&sb, "\t%lld\t%lld", (long long)fs->count, (long long)fs->missing);
			if (fs->type == MP_FEAT_FLOAT) {
				mp_strbuf_addf(&sb, "\t%.9g\t%.9g\t%.9g\t%.9g\t%lld", fs->mean, fs->std, fs->min, fs->max,
					(long long)fs->zeros);
				for (k = 0; k < MP_HIST_BINS; k++)
					mp_strbuf_addf(&sb, "\t%lld", (long long)fs->hist[k]);
				mp_strbuf_addf(&sb, "\t%lld\n", (long long)fs->bad_values);
				continue;
			}
			mp_strbuf_addf(&sb, "\t%lld\t%d\t%d\t%.9g\t%lld\n", (long long)fs->unique, fs->unique_capped,
				fs->all_values, fs->avg_len, (long long)fs->numeric);
			for (v = 0; v < fs->nvalues; v++) {
				mp_strbuf_adds(&sb, "value\t");
				mp_tsv_escape(&sb, ss->name);
				mp_strbuf_adds(&sb, "\t");
				mp_tsv_escape(&sb, fs->name);
				mp_strbuf_addf(&sb, "\t%lld\t", (long long)fs->values[v].count);
				mp_tsv_escape(&sb, fs->values[v].value);
				mp_strbuf_adds(&sb, "\n");
			}
		}
	}
	rc = sb.failed ? mp_error(err, MP_ENOMEM, "out of memory") : mp_write_file_atomic(path, sb.buf, sb.len, err);
	mp_strbuf_release(&sb);
	free(path);
	return rc;
}

static mp_split_stats *find_split_mut(mp_stats *s, const char *name)
{
	return (mp_split_stats *)mp_stats_split(s, name);
}

int mp_stats_read(mp_stats *s, const char *dir, mp_err *err)
{
	char *path = mp_asprintf("%s/" STATS_FILE, dir), *text = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!path)
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = mp_read_file(path, &text, NULL, err)) != 0) {
		rc = mp_error(err, rc == MP_ENOTFOUND ? MP_EINVAL : rc,
			      "'%s' is not a statistics artifact (no " STATS_FILE ")", dir);
		free(path);
		return rc;
	}
	rc = mp_stats_parse(s, text, path, err);
	free(text);
	free(path);
	return rc;
}

int mp_stats_parse(mp_stats *s, char *text, const char *path, mp_err *err)
{
	char *cur, *line;
	size_t asplits = 0, afeats = 0, avals = 0;
	int lineno = 0, rc = 0;

	memset(s, 0, sizeof(*s));
	s->span = -1;
	for (cur = text; rc == 0 && (line = mp_text_line(&cur));) {
		char *f[24];
		size_t n;
		int k;
		mp_split_stats *ss;
		mp_feat_stats *fs;

		lineno++;
		if (lineno == 1) {
			if (strcmp(line, "mlpipe-statistics 1") != 0)
				rc = mp_error(err, MP_ECORRUPT, "%s:1: not a statistics file of version 1", path);
			continue;
		}
		n = mp_tsv_fields(line, f, 24, 1);
		if (n == 2 && !strcmp(f[0], "span")) {
			s->span = strtoll(f[1], NULL, 10);
		} else if (n == 3 && !strcmp(f[0], "split")) {
			if (mp_grow((void **)&s->splits, &asplits, s->nsplits, sizeof(*s->splits)) != 0) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			memset(&s->splits[s->nsplits], 0, sizeof(*s->splits));
			if (!(s->splits[s->nsplits].name = mp_strdup(f[1]))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			s->splits[s->nsplits].rows = strtoll(f[2], NULL, 10);
			s->nsplits++;
			afeats = 0;
		} else if (((n == 10 + MP_HIST_BINS || n == 11 + MP_HIST_BINS) && !strcmp(f[0], "number")) ||
			   ((n == 9 || n == 10) && !strcmp(f[0], "string"))) {
			if (!(ss = find_split_mut(s, f[1])) || ss != &s->splits[s->nsplits - 1]) {
				rc = mp_error(err, MP_ECORRUPT, "%s:%d: a feature of an unknown split", path, lineno);
				break;
			}
			if (mp_grow((void **)&ss->feats, &afeats, ss->nfeats, sizeof(*ss->feats)) != 0) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			fs = &ss->feats[ss->nfeats];
			memset(fs, 0, sizeof(*fs));
			if (!(fs->name = mp_strdup(f[2]))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			switch (mp_name_index_add(&ss->ix, fs->name, ss->nfeats, NULL)) {
			case 0: break;
			case 1: rc = mp_error(err, MP_ECORRUPT, "%s:%d: feature '%s' appears twice in its split", path, lineno, fs->name); break;
			default: rc = mp_error(err, MP_ENOMEM, "out of memory");
			}
			ss->nfeats++;
			if (rc != 0)
				break;
			fs->count = strtoll(f[3], NULL, 10);
			fs->missing = strtoll(f[4], NULL, 10);
			if (f[0][0] == 'n') {
				fs->type = MP_FEAT_FLOAT;
				fs->mean = strtod(f[5], NULL);
				fs->std = strtod(f[6], NULL);
				fs->min = strtod(f[7], NULL);
				fs->max = strtod(f[8], NULL);
				fs->zeros = strtoll(f[9], NULL, 10);
				for (k = 0; k < MP_HIST_BINS; k++)
					fs->hist[k] = strtoll(f[10 + k], NULL, 10);
				if (n == 11 + MP_HIST_BINS)
					fs->bad_values = strtoll(f[10 + MP_HIST_BINS], NULL, 10);
			} else {
				fs->type = MP_FEAT_STRING;
				fs->unique = strtoll(f[5], NULL, 10);
				fs->unique_capped = atoi(f[6]);
				fs->all_values = atoi(f[7]);
				fs->avg_len = strtod(f[8], NULL);
				if (n == 10)
					fs->numeric = strtoll(f[9], NULL, 10);
			}
			avals = 0;
		} else if ((n == 5 || n == 4) && !strcmp(f[0], "value")) {
			ss = s->nsplits ? &s->splits[s->nsplits - 1] : NULL;
			fs = ss && ss->nfeats ? &ss->feats[ss->nfeats - 1] : NULL;
			if (!fs || fs->type != MP_FEAT_STRING || strcmp(fs->name, f[2]) != 0) {
				rc = mp_error(err, MP_ECORRUPT, "%s:%d: a value outside its feature", path, lineno);
				break;
			}
			if (mp_grow((void **)&fs->values, &avals, fs->nvalues, sizeof(*fs->values)) != 0 ||
			    !(fs->values[fs->nvalues].value = mp_strdup(n == 5 ? f[4] : ""))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			fs->values[fs->nvalues++].count = strtoll(f[3], NULL, 10);
		} else {
			rc = mp_error(err, MP_ECORRUPT, "%s:%d: unexpected line", path, lineno);
		}
	}
	if (rc == 0 && !s->nsplits)
		rc = mp_error(err, MP_ECORRUPT, "%s: no splits", path);
	if (rc != 0)
		mp_stats_release(s);
	return rc;
}
