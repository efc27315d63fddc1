/* examples.meta: the description of an Examples artifact.
 *
 *   mlpipe-examples 1
 *   label<TAB>NAME                 (absent when there is no label)
 *   label_names<TAB>N0<TAB>N1...   (a numeric label's class names, when given)
 *   span<TAB>N<TAB>VERSION
 *   shape<TAB>H<TAB>W<TAB>C        (images: their pixels' layout, when known)
 *   feature<TAB>NAME<TAB>float|string
 *   split<TAB>NAME<TAB>ROWS<TAB>SHARDS
 *   bad_values<TAB>SPLIT<TAB>FEATURE<TAB>N   (cells read as missing, when any)
 */
#include "core/tsv.h"
#include "data/examples.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define META_FILE "examples.meta"

int mp_examples_meta_write(const mp_examples_meta *m, const char *dir, mp_err *err)
{
	char *path = mp_asprintf("%s/" META_FILE, dir);
	mp_afile af;
	size_t i;
	int rc;

	if (!path)
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = mp_afile_open(&af, path, err)) != 0) {
		free(path);
		return rc;
	}
	fprintf(af.fp, "mlpipe-examples 1\n");
	if (m->label)
		fprintf(af.fp, "label\t%s\n", m->label);
	if (m->nlabel_names) {
		mp_strbuf sb = MP_STRBUF_INIT;

		mp_strbuf_adds(&sb, "label_names");
		for (i = 0; i < m->nlabel_names; i++) {
			mp_strbuf_adds(&sb, "\t");
			mp_tsv_escape(&sb, m->label_names[i]);
		}
		fprintf(af.fp, "%s\n", mp_strbuf_str(&sb));
		mp_strbuf_release(&sb);
	}
	fprintf(af.fp, "span\t%lld\t%lld\n", (long long)m->span, (long long)m->version);
	if (m->shape[0])
		fprintf(af.fp, "shape\t%d\t%d\t%d\n", m->shape[0], m->shape[1], m->shape[2]);
	for (i = 0; i < m->nfeatures; i++)
		fprintf(af.fp, "feature\t%s\t%s\n", m->features[i].name,
			m->features[i].type == MP_FEAT_FLOAT ? "float" : "string");
	for (i = 0; i < m->nsplits; i++)
		fprintf(af.fp, "split\t%s\t%lld\t%d\n", m->splits[i].name, (long long)m->splits[i].rows,
			m->splits[i].shards);
	for (i = 0; i < m->nsplits; i++)
		for (size_t f = 0; m->splits[i].bad_values && f < m->nfeatures; f++)
			if (m->splits[i].bad_values[f])
				fprintf(af.fp, "bad_values\t%s\t%s\t%lld\n", m->splits[i].name, m->features[f].name,
					(long long)m->splits[i].bad_values[f]);
	rc = mp_afile_commit(&af, err);
	free(path);
	return rc;
}

void mp_examples_meta_release(mp_examples_meta *m)
{
	size_t i;

	for (i = 0; i < m->nfeatures; i++)
		free(m->features[i].name);
	for (i = 0; i < m->nsplits; i++) {
		free(m->splits[i].name);
		free(m->splits[i].bad_values);
	}
	free(m->features);
	free(m->splits);
	free(m->label);
	for (i = 0; i < m->nlabel_names; i++)
		free(m->label_names[i]);
	free(m->label_names);
	mp_name_index_release(&m->ix);
	memset(m, 0, sizeof(*m));
}

/* s is a whole number from lo up. */
static int whole(const char *s, int64_t lo, int64_t *v)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(s, &end, 10);
	*v = x;
	return *s && !*end && !errno && x >= lo;
}

int mp_examples_meta_read(mp_examples_meta *m, const char *dir, mp_err *err)
{
	char *path = mp_asprintf("%s/" META_FILE, dir), *text = NULL;
	int rc;

	memset(m, 0, sizeof(*m));
	if (!path)
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = mp_read_file(path, &text, NULL, err)) != 0) {
		rc = mp_error(err, rc == MP_ENOTFOUND ? MP_EINVAL : rc,
			      "'%s' is not an Examples artifact (no " META_FILE ")", dir);
		free(path);
		return rc;
	}
	rc = mp_examples_meta_parse(m, text, path, err);
	free(text);
	free(path);
	return rc;
}

int mp_examples_meta_parse(mp_examples_meta *m, char *text, const char *path, mp_err *err)
{
	char *cur, *line;
	size_t fa = 0, sa = 0;
	int lineno = 0, rc = 0;

	memset(m, 0, sizeof(*m));
	m->span = m->version = -1;
	for (cur = text; rc == 0 && (line = mp_text_line(&cur));) {
		char *f[5];
		size_t n;

		lineno++;
		if (lineno == 1) {
			if (strcmp(line, "mlpipe-examples 1") != 0)
				rc = mp_error(err, strncmp(line, "mlpipe-examples ", 16) == 0 ? MP_EVERSION : MP_ECORRUPT,
					      "%s:1: not an examples description of version 1", path);
			continue;
		}
		if (!strncmp(line, "label_names\t", 12)) {
			size_t k, cnt = 1;
			const char *q;

			if (m->label_names) {
				rc = mp_error(err, MP_ECORRUPT, "%s:%d: a second label_names line", path, lineno);
				break;
			}
			for (q = line + 12; *q; q++)
				cnt += *q == '\t';
			if (!(m->label_names = mp_calloc(cnt, sizeof(char *)))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			/* split in place, then each name owned (nlabel_names counts those) */
			mp_tsv_fields(line + 12, m->label_names, cnt, 0);
			for (k = 0; k < cnt && rc == 0; k++, m->nlabel_names++)
				if (!(m->label_names[k] = mp_strdup(m->label_names[k])))
					rc = mp_error(err, MP_ENOMEM, "out of memory");
			continue;
		}
		n = mp_tsv_fields(line, f, 5, 5);
		if (n == 2 && !strcmp(f[0], "label")) {
			if (m->label)
				rc = mp_error(err, MP_ECORRUPT, "%s:%d: a second label line", path, lineno);
			else if (!(m->label = mp_strdup(f[1])))
				rc = mp_error(err, MP_ENOMEM, "out of memory");
		} else if (n == 3 && !strcmp(f[0], "span")) {
			if (!whole(f[1], -1, &m->span) || !whole(f[2], -1, &m->version))
				rc = mp_error(err, MP_ECORRUPT, "%s:%d: a span line without two numbers", path, lineno);
		} else if (n == 4 && !strcmp(f[0], "shape")) {
			int64_t v[3];

			for (int k = 0; k < 3 && rc == 0; k++)
				if (!whole(f[k + 1], 1, &v[k]) || v[k] > 1000000)
					rc = mp_error(err, MP_ECORRUPT, "%s:%d: a shape line without three sizes", path, lineno);
			for (int k = 0; k < 3 && rc == 0; k++)
				m->shape[k] = (int)v[k];
		} else if (n == 3 && !strcmp(f[0], "feature") &&
			   (!strcmp(f[2], "float") || !strcmp(f[2], "string"))) {
			if (mp_grow((void **)&m->features, &fa, m->nfeatures, sizeof(*m->features)) != 0 ||
			    !(m->features[m->nfeatures].name = mp_strdup(f[1]))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			m->features[m->nfeatures].type = !strcmp(f[2], "float") ? MP_FEAT_FLOAT : MP_FEAT_STRING;
			switch (mp_name_index_add(&m->ix, m->features[m->nfeatures].name, m->nfeatures, NULL)) {
			case 0: break;
			case 1:
				rc = mp_error(err, MP_ECORRUPT, "%s:%d: feature '%s' appears twice", path, lineno, f[1]);
				break;
			default: rc = mp_error(err, MP_ENOMEM, "out of memory");
			}
			m->nfeatures++;
		} else if (n == 4 && !strcmp(f[0], "split")) {
			if (mp_grow((void **)&m->splits, &sa, m->nsplits, sizeof(*m->splits)) != 0 ||
			    !(m->splits[m->nsplits].name = mp_strdup(f[1]))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			m->splits[m->nsplits].bad_values = NULL;
			m->nsplits++;
			{
				int64_t rows = 0, shards = 0;

				if (!whole(f[2], 0, &rows) || !whole(f[3], 0, &shards) || shards > 100000000)
					rc = mp_error(err, MP_ECORRUPT, "%s:%d: a split line without its rows and shards", path,
						      lineno);
				m->splits[m->nsplits - 1].rows = rows;
				m->splits[m->nsplits - 1].shards = (int)shards;
			}
		} else if (n == 4 && !strcmp(f[0], "bad_values")) {
			mp_split_info *sp = (mp_split_info *)mp_examples_split(m, f[1]);
			int fi = mp_examples_feature(m, f[2]);
			char *end;
			long long v = strtoll(f[3], &end, 10);

			if (!sp || fi < 0 || *end || v < 0)
				rc = mp_error(err, MP_ECORRUPT, "%s:%d: a bad_values line of no split or feature", path, lineno);
			else if (!sp->bad_values && !(sp->bad_values = mp_calloc(m->nfeatures, sizeof(int64_t))))
				rc = mp_error(err, MP_ENOMEM, "out of memory");
			else
				sp->bad_values[fi] = v;
		} else {
			rc = mp_error(err, MP_ECORRUPT, "%s:%d: unexpected line", path, lineno);
		}
	}
	if (rc == 0 && (!m->nfeatures || !m->nsplits))
		rc = mp_error(err, MP_ECORRUPT, "%s: no features or no splits", path);
	if (rc == 0 && m->label && mp_examples_feature(m, m->label) < 0)
		rc = mp_error(err, MP_ECORRUPT, "%s: the label '%s' is not a feature", path, m->label);
	if (rc != 0)
		mp_examples_meta_release(m);
	return rc;
}

int mp_examples_feature(const mp_examples_meta *m, const char *name)
{
	size_t i;

	if (m->ix.n == m->nfeatures && m->nfeatures)
		return (int)mp_name_index_find(&m->ix, name);
	for (i = 0; i < m->nfeatures; i++)
		if (strcmp(m->features[i].name, name) == 0)
			return (int)i;
	return -1;
}

const mp_split_info *mp_examples_split(const mp_examples_meta *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nsplits; i++)
		if (strcmp(m->splits[i].name, name) == 0)
			return &m->splits[i];
	return NULL;
}
