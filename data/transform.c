/* The transform: fitted on training statistics, applied the same way at
 * training and at serving time.
 *
 * Text form (transform.tsv):
 *   mlpipe-transform 1
 *   label    NAME                      (a number: class index or value)
 *   label    NAME  V1  V2 ...          (a string: classes in index order)
 *   label_names  N0  N1 ...            (a numeric label's class names)
 *   label_zscore MEAN  STD             (a regression label, z-scored)
 *   feature  NAME  none|zscore|minmax|onehot|bucketize  A  B  [BUCKETS | V1 V2 ...]
 *   feature  NAME  embed  0  0  DIM  V1 V2 ...
 * Names and values are escaped as in statistics.tsv.
 */
#include "core/tsv.h"
#include "core/json.h"
#include "data/examples.h"
#include "data/stats.h"
#include "data/transform.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


static const char *const kind_names[] = {"none", "zscore", "minmax", "onehot", "bucketize", "divide", "embed"};
#define NKINDS 7

void mp_transform_release(mp_transform *t)
{
	size_t i, v;

	for (i = 0; i < t->nfeatures; i++) {
		for (v = 0; v < t->features[i].nvocab; v++)
			free(t->features[i].vocab[v]);
		free(t->features[i].vocab);
		free(t->features[i].name);
	}
	free(t->features);
	for (v = 0; v < t->nlabel_vocab; v++)
		free(t->label_vocab[v]);
	free(t->label_vocab);
	for (v = 0; v < t->nlabel_names; v++)
		free(t->label_names[v]);
	free(t->label_names);
	free(t->label);
	free(t->scale);
	free(t->shift);
	free(t->miss);
	memset(t, 0, sizeof(*t));
}

/* The linear form of each number's arithmetic, for apply_one and the
 * vectorized loop in mp_transform_apply (the same formula, so both paths
 * give the same floats). */
static int prepare(mp_transform *t, mp_err *err)
{
	size_t i, n = t->nfeatures ? t->nfeatures : 1;

	if (!(t->scale = mp_calloc(n, sizeof(float))) || !(t->shift = mp_calloc(n, sizeof(float))) ||
	    !(t->miss = mp_calloc(n, sizeof(float))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	t->all_linear = 1;
	for (i = 0; i < t->nfeatures; i++) {
		const mp_tx_feature *tf = &t->features[i];
		double sc = 1, sh = 0, ms = 0;

		switch (tf->kind) {
		case MP_TX_ZSCORE:
			sc = 1 / tf->b;
			sh = -tf->a / tf->b;
			break;
		case MP_TX_MINMAX:
			sc = tf->b > tf->a ? 1 / (tf->b - tf->a) : 0;
			sh = tf->b > tf->a ? -tf->a / (tf->b - tf->a) : 0;
			ms = tf->b > tf->a ? 0.5 : 0;
			break;
		case MP_TX_DIVIDE:
			sc = 1 / tf->a;
			break;
		case MP_TX_NONE:
			ms = NAN;
			break;
		default:
			t->all_linear = 0;
		}
		t->scale[i] = (float)sc;
		t->shift[i] = (float)sh;
		t->miss[i] = (float)ms;
	}
	return 0;
}

size_t mp_transform_width(const mp_transform *t)
{
	size_t i, w = 0;

	for (i = 0; i < t->nfeatures; i++)
		w += t->features[i].kind == MP_TX_ONEHOT ? t->features[i].nvocab
		     : t->features[i].kind == MP_TX_BUCKETIZE ? (size_t)t->features[i].buckets
							      : 1;
	return w;
}

size_t mp_tx_feature_width(const mp_tx_feature *tf)
{
	return tf->kind == MP_TX_ONEHOT ? tf->nvocab : tf->kind == MP_TX_BUCKETIZE ? (size_t)tf->buckets : 1;
}

const char *mp_tx_feature_output_name(const mp_tx_feature *tf, size_t k, char *buf, size_t n)
{
	if (tf->kind == MP_TX_ONEHOT)
		snprintf(buf, n, "%s=%s", tf->name, k < tf->nvocab ? tf->vocab[k] : "?");
	else if (tf->kind == MP_TX_BUCKETIZE)
		snprintf(buf, n, "%s[%zu]", tf->name, k);
	else
		snprintf(buf, n, "%s", tf->name);
	return buf;
}

const char *mp_transform_output_name(const mp_transform *t, size_t i, char *buf, size_t n)
{
	size_t f;

	for (f = 0; f < t->nfeatures; f++) {
		size_t w = mp_tx_feature_width(&t->features[f]);

		if (i < w)
			return mp_tx_feature_output_name(&t->features[f], i, buf, n);
		i -= w;
	}
	snprintf(buf, n, "?");
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The values of a string feature, sorted, as owned copies. */
static int sorted_values(const mp_feat_stats *fs, char ***out, size_t *n, mp_err *err)
{
	size_t v;

	*out = NULL;
	*n = 0;
	if (!fs->nvalues)
		return 0;
	if (!(*out = mp_calloc(fs->nvalues, sizeof(char *))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (v = 0; v < fs->nvalues; v++)
		if (!((*out)[v] = mp_strdup(fs->values[v].value))) {
			while (v-- > 0)
				free((*out)[v]);
			free(*out);
			*out = NULL;
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
	qsort(*out, fs->nvalues, sizeof(char *), cmp_str);
	*n = fs->nvalues;
	return 0;
}

int mp_transform_set_label_names(mp_transform *t, char *const *names, size_t n, mp_err *err)
{
	size_t i;

	if (!n)
		return 0;
	if (t->nlabel_vocab)
		return mp_error(err, MP_EINVAL, "label_names: the label '%s' is a string; its values are its names",
				t->label ? t->label : "?");
	if (t->label_scaled)
		return mp_error(err, MP_EINVAL, "label_names: a z-scored label is a regression's, not classes");
	if (!(t->label_names = mp_calloc(n, sizeof(char *))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < n; i++, t->nlabel_names++)
		if (!(t->label_names[i] = mp_strdup(names[i])))
			return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}

/* The label: kept apart, its classes (a string) or its scale (zscore). */
static int fit_label(mp_transform *out, const mp_feat_stats *fs, const char *label, const char *rule, mp_err *err)
{
	if (rule && strcmp(rule, "none") && (strcmp(rule, "zscore") || fs->type == MP_FEAT_STRING))
		return mp_error(err, MP_EINVAL, "rules: the label '%s' takes zscore (a number, for a regression) or "
				"none, not '%s'", label, rule);
	if (!(out->label = mp_strdup(label)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (rule && !strcmp(rule, "zscore")) {
		out->label_scaled = 1;
		out->label_mean = fs->count ? fs->mean : 0;
		out->label_std = fs->count && fs->std > 0 ? fs->std : 1;
		return 0;
	}
	if (fs->type != MP_FEAT_STRING)
		return 0;
	if (!fs->all_values)
		return mp_error(err, MP_EINVAL, "the label '%s' has more than %d classes", label, MP_STATS_VALUES);
	return sorted_values(fs, &out->label_vocab, &out->nlabel_vocab, err);
}

/* A string feature: one-hot on its values, when there are not too many;
 * or (embed:D) its index in them, for the Trainer to embed: every value
 * the statistics kept (all of them up to MP_STATS_VALUES, else the
 * MP_STATS_TOP most frequent) has a row, the rest share one. */
static int fit_string(mp_tx_feature *tf, const mp_feat_stats *fs, const char *rule, int64_t limit,
		      const mp_split_stats *ss, const char *split, mp_err *err)
{
	if (rule && !strncmp(rule, "embed:", 6)) {
		char *end;
		long d = strtol(rule + 6, &end, 10);

		if (*end || d < 1 || d > 1024)
			return mp_error(err, MP_EINVAL, "rules: '%s' for '%s' needs a width of 1 to 1024 (embed:8)", rule,
					fs->name);
		tf->kind = MP_TX_EMBED;
		tf->dim = (int)d;
		return sorted_values(fs, &tf->vocab, &tf->nvocab, err);
	}
	if (rule && strcmp(rule, "onehot") != 0)
		return mp_error(err, MP_EINVAL, "rules: '%s' is a string feature: onehot, embed:D or drop, not '%s'",
				fs->name, rule);
	if (!fs->all_values)
		return mp_error(err, MP_EINVAL,
				"'%s' has more than %d distinct values: too many to one-hot (drop it with rules)", fs->name,
				MP_STATS_VALUES);
	if (!rule && (int64_t)fs->nvalues > limit)
		return mp_error(err, MP_EINVAL,
				"'%s' has %zu distinct values in %lld rows of split '%s', more than max_vocabulary (%lld): "
				"one-hot encode it only on purpose (rules: {%s: onehot}), drop it, or raise max_vocabulary",
				fs->name, fs->nvalues, (long long)ss->rows, split, (long long)limit, fs->name);
	tf->kind = MP_TX_ONEHOT;
	return sorted_values(fs, &tf->vocab, &tf->nvocab, err);
}

/* A number: the default arithmetic or its rule's, with the statistics it
 * needs. */
static int fit_number(mp_tx_feature *tf, const mp_feat_stats *fs, const char *rule, mp_tx_kind num_default,
		      double num_divisor, mp_err *err)
{
	tf->kind = num_default;
	tf->a = num_divisor;
	if (rule && !strcmp(rule, "none")) {
		tf->kind = MP_TX_NONE;
	} else if (rule && !strcmp(rule, "zscore")) {
		tf->kind = MP_TX_ZSCORE;
	} else if (rule && !strcmp(rule, "minmax")) {
		tf->kind = MP_TX_MINMAX;
	} else if (rule && !strncmp(rule, "bucketize:", 10) && atoi(rule + 10) >= 2 && atoi(rule + 10) <= 1000) {
		tf->kind = MP_TX_BUCKETIZE;
		tf->buckets = atoi(rule + 10);
	} else if (rule) {
		return mp_error(err, MP_EINVAL,
				"rules: '%s' for '%s' is not none, zscore, minmax, divide:N, bucketize:N or drop", rule,
				fs->name);
	}
	if (tf->kind == MP_TX_ZSCORE) {
		tf->a = fs->count ? fs->mean : 0;
		tf->b = fs->count && fs->std > 0 ? fs->std : 1;
	} else if (tf->kind == MP_TX_MINMAX || tf->kind == MP_TX_BUCKETIZE) {
		tf->a = fs->count ? fs->min : 0;
		tf->b = fs->count ? fs->max : 1;
	}
	return 0;
}

/* The rules param as a mapping whose keys are features of ss (*doc NULL
 * when there are none). */
static int read_rules(const char *rules, const mp_split_stats *ss, mp_jdoc **doc, mp_err *err)
{
	const mp_jnode *rl;
	size_t i;
	int rc;

	*doc = NULL;
	if (!rules || !*rules || !strcmp(rules, "{}"))
		return 0;
	if ((rc = mp_jdoc_parse(doc, rules, "rules", err)) != 0)
		return rc;
	rl = mp_jdoc_root(*doc);
	if (!mp_jnode_is_map(rl))
		rc = mp_error(err, MP_EINVAL, "rules: expected a mapping of feature names to rules");
	for (i = 0; rc == 0 && i < mp_jnode_len(rl); i++)
		if (!mp_stats_feature(ss, mp_jnode_key(*doc, rl, i)))
			rc = mp_error(err, MP_EINVAL, "rules: there is no feature '%s'", mp_jnode_key(*doc, rl, i));
	if (rc != 0) {
		mp_jdoc_free(*doc);
		*doc = NULL;
	}
	return rc;
}

int mp_transform_fit(mp_transform *out, const mp_stats *st, const char *split, const char *label,
		     mp_tx_kind num_default, double num_divisor, const char *rules, int64_t max_vocab,
		     mp_err *err)
{
	const mp_split_stats *ss = mp_stats_split(st, split);
	mp_jdoc *doc = NULL;
	int64_t limit;
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!ss)
		return mp_error(err, MP_EINVAL, "the statistics have no split '%s' to fit on", split);
	if (!ss->rows)
		return mp_error(err, MP_EINVAL, "split '%s' has no rows: there is nothing to fit the transform on", split);
	limit = max_vocab > 0 ? max_vocab : ss->rows / 2 < 1000 ? ss->rows / 2 : 1000;
	if ((rc = read_rules(rules, ss, &doc, err)) != 0)
		return rc;
	if (!(out->features = mp_calloc(ss->nfeats + 1, sizeof(*out->features)))) {
		mp_jdoc_free(doc);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (i = 0; i < ss->nfeats && rc == 0; i++) {
		const mp_feat_stats *fs = &ss->feats[i];
		const char *rule = doc ? mp_jnode_str(mp_jnode_get(doc, mp_jdoc_root(doc), fs->name)) : NULL;
		mp_tx_feature *tf;

		if (label && strcmp(fs->name, label) == 0) {
			rc = fit_label(out, fs, label, rule, err);
			continue;
		}
		if (rule && !strcmp(rule, "drop"))
			continue;
		tf = &out->features[out->nfeatures];
		if (!(tf->name = mp_strdup(fs->name))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			break;
		}
		out->nfeatures++;
		if (fs->type == MP_FEAT_STRING)
			rc = fit_string(tf, fs, rule, limit, ss, split, err);
		else
			rc = fit_number(tf, fs, rule, num_default, num_divisor, err);
	}
	if (rc == 0 && label && !out->label)
		rc = mp_error(err, MP_EINVAL, "the statistics have no feature '%s' (the label)", label);
	if (rc == 0)
		rc = prepare(out, err);
	mp_jdoc_free(doc);
	if (rc != 0)
		mp_transform_release(out);
	return rc;
}

/* ---- text -------------------------------------------------------------- */

/* Fields a transform line may have: a one-hot vocabulary is at most
 * MP_STATS_VALUES values. */
#define MAX_FIELDS (MP_STATS_VALUES + 16)

int mp_transform_to_text(const mp_transform *t, mp_strbuf *sb)
{
	size_t i, v;

	mp_strbuf_adds(sb, "mlpipe-transform 1\n");
	if (t->label) {
		mp_strbuf_adds(sb, "label\t");
		mp_tsv_escape(sb, t->label);
		for (v = 0; v < t->nlabel_vocab; v++) {
			mp_strbuf_adds(sb, "\t");
			mp_tsv_escape(sb, t->label_vocab[v]);
		}
		mp_strbuf_adds(sb, "\n");
	}
	if (t->nlabel_names) {
		mp_strbuf_adds(sb, "label_names");
		for (v = 0; v < t->nlabel_names; v++) {
			mp_strbuf_adds(sb, "\t");
			mp_tsv_escape(sb, t->label_names[v]);
		}
		mp_strbuf_adds(sb, "\n");
	}
	if (t->label_scaled)
		mp_strbuf_addf(sb, "label_zscore\t%.17g\t%.17g\n", t->label_mean, t->label_std);
	for (i = 0; i < t->nfeatures; i++) {
		const mp_tx_feature *tf = &t->features[i];

		mp_strbuf_adds(sb, "feature\t");
		mp_tsv_escape(sb, tf->name);
		mp_strbuf_addf(sb, "\t%s\t%.17g\t%.17g", kind_names[tf->kind], tf->a, tf->b);
		if (tf->kind == MP_TX_BUCKETIZE)
			mp_strbuf_addf(sb, "\t%d", tf->buckets);
		if (tf->kind == MP_TX_EMBED)
			mp_strbuf_addf(sb, "\t%d", tf->dim);
		for (v = 0; v < tf->nvocab; v++) {
			mp_strbuf_adds(sb, "\t");
			mp_tsv_escape(sb, tf->vocab[v]);
		}
		mp_strbuf_adds(sb, "\n");
	}
	return sb->failed ? MP_ENOMEM : 0;
}

int mp_transform_from_text(mp_transform *out, const char *text, const char *where, mp_err *err)
{
	char *copy = mp_strdup(text), *cur = copy, *line, **f = mp_calloc(MAX_FIELDS, sizeof(char *));
	size_t afeat = 0;
	int lineno = 0, rc = 0;

	memset(out, 0, sizeof(*out));
	if (!copy || !f) {
		free(copy);
		free(f);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	while (rc == 0 && (line = mp_text_line(&cur))) {
		size_t n, k;

		lineno++;
		if (lineno == 1) {
			if (strcmp(line, "mlpipe-transform 1") != 0)
				rc = mp_error(err, MP_ECORRUPT, "%s: not a transform of version 1", where);
			continue;
		}
		n = mp_tsv_fields(line, f, MAX_FIELDS, 1);
		if ((!strcmp(f[0], "label") && out->label) || (!strcmp(f[0], "label_names") && out->label_names) ||
		    (!strcmp(f[0], "label_zscore") && out->label_scaled)) {
			rc = mp_error(err, MP_ECORRUPT, "%s:%d: a second '%s' line", where, lineno, f[0]);
		} else if (!strcmp(f[0], "label") && n >= 2) {
			if (!(out->label = mp_strdup(f[1])) ||
			    (n > 2 && !(out->label_vocab = mp_calloc(n - 2, sizeof(char *)))))
				rc = mp_error(err, MP_ENOMEM, "out of memory");
			for (k = 2; rc == 0 && k < n; k++)
				if (!(out->label_vocab[out->nlabel_vocab++] = mp_strdup(f[k])))
					rc = mp_error(err, MP_ENOMEM, "out of memory");
		} else if (!strcmp(f[0], "label_names") && n >= 2) {
			if (!(out->label_names = mp_calloc(n - 1, sizeof(char *))))
				rc = mp_error(err, MP_ENOMEM, "out of memory");
			for (k = 1; rc == 0 && k < n; k++)
				if (!(out->label_names[out->nlabel_names++] = mp_strdup(f[k])))
					rc = mp_error(err, MP_ENOMEM, "out of memory");
		} else if (!strcmp(f[0], "label_zscore") && n == 3) {
			char *e1, *e2;

			out->label_mean = strtod(f[1], &e1);
			out->label_std = strtod(f[2], &e2);
			out->label_scaled = 1;
			if (*e1 || *e2 || !isfinite(out->label_mean) || !(out->label_std > 0) || !isfinite(out->label_std))
				rc = mp_error(err, MP_ECORRUPT, "%s:%d: a label_zscore line without a mean and a positive std",
					      where, lineno);
		} else if (!strcmp(f[0], "feature") && n >= 5) {
			mp_tx_feature *tf;
			int kind;

			for (kind = 0; kind < NKINDS && strcmp(kind_names[kind], f[2]); kind++)
				;
			if (kind == NKINDS) {
				rc = mp_error(err, MP_ECORRUPT, "%s:%d: unknown transform '%s'", where, lineno, f[2]);
			} else if (mp_grow((void **)&out->features, &afeat, out->nfeatures, sizeof(*out->features)) != 0) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
			} else {
				tf = &out->features[out->nfeatures];
				memset(tf, 0, sizeof(*tf));
				tf->kind = (mp_tx_kind)kind;
				char *e1, *e2;

				tf->a = strtod(f[3], &e1);
				tf->b = strtod(f[4], &e2);
				if (!(tf->name = mp_strdup(f[1])))
					rc = mp_error(err, MP_ENOMEM, "out of memory");
				out->nfeatures++;
				if (rc == 0 && (*e1 || *e2 || e1 == f[3] || e2 == f[4]))
					rc = mp_error(err, MP_ECORRUPT, "%s:%d: '%s' and '%s' are not two numbers", where, lineno,
						      f[3], f[4]);
				if (rc == 0 && tf->kind == MP_TX_BUCKETIZE) {
					long bk = n > 5 ? strtol(f[5], &e1, 10) : 0;

					if (n <= 5 || *e1 || bk < 2 || bk > 1000)
						rc = mp_error(err, MP_ECORRUPT, "%s:%d: a bucketize needs 2 to 1000 buckets", where,
							      lineno);
					tf->buckets = (int)bk;
				}
				if (rc == 0 && tf->kind == MP_TX_EMBED) {
					long d = n > 5 ? strtol(f[5], &e1, 10) : 0;

					if (n <= 5 || *e1 || d < 1 || d > 1024)
						rc = mp_error(err, MP_ECORRUPT, "%s:%d: an embed needs a width of 1 to 1024",
							      where, lineno);
					tf->dim = (int)d;
				}
				if (rc == 0 && mp_tx_reads_string(tf->kind) && n > 5 + (tf->kind == MP_TX_EMBED)) {
					size_t v0 = 5 + (tf->kind == MP_TX_EMBED);

					if (!(tf->vocab = mp_calloc(n - v0, sizeof(char *))))
						rc = mp_error(err, MP_ENOMEM, "out of memory");
					for (k = v0; rc == 0 && k < n; k++)
						if (!(tf->vocab[tf->nvocab++] = mp_strdup(f[k])))
							rc = mp_error(err, MP_ENOMEM, "out of memory");
				}
			}
		} else if (*f[0]) {
			rc = mp_error(err, MP_ECORRUPT, "%s:%d: unexpected line", where, lineno);
		}
	}
	if (rc == 0 && lineno == 0)
		rc = mp_error(err, MP_ECORRUPT, "%s: empty transform", where);
	if (rc == 0)
		rc = prepare(out, err);
	free(f);
	free(copy);
	if (rc != 0)
		mp_transform_release(out);
	return rc;
}

/* ---- applying ---------------------------------------------------------- */

int mp_transform_bind(const mp_transform *t, const mp_examples_meta *m, int *idx, mp_err *err)
{
	size_t i;

	for (i = 0; i < t->nfeatures; i++) {
		idx[i] = mp_examples_feature(m, t->features[i].name);
		if (idx[i] >= 0 && (m->features[idx[i]].type == MP_FEAT_STRING) != mp_tx_reads_string(t->features[i].kind))
			return mp_error(err, MP_EINVAL, "feature '%s' is %s in the data, not what the transform expects",
					t->features[i].name,
					m->features[idx[i]].type == MP_FEAT_STRING ? "a string" : "a number");
	}
	idx[t->nfeatures] = t->label ? mp_examples_feature(m, t->label) : -1;
	if (t->label && idx[t->nfeatures] >= 0 &&
	    (m->features[idx[t->nfeatures]].type == MP_FEAT_STRING) != (t->nlabel_vocab > 0))
		return mp_error(err, MP_EINVAL, "the label '%s' changed type since the transform was fitted", t->label);
	return 0;
}

/* The index of s[0..n) in a sorted vocabulary, or -1. */
static int vocab_index(char *const *vocab, size_t nvocab, const char *s, size_t n)
{
	size_t lo = 0, hi = nvocab;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(vocab[mid], s, n);

		if (c == 0 && vocab[mid][n] != '\0')
			c = 1;
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The value a feature contributes, before the arithmetic: the raw number
 * (NaN when missing) or, for one-hot, the vocabulary index (-1 when missing
 * or unseen). */
static float pre_one(const mp_tx_feature *tf, int f, const mp_block *b, size_t r)
{
	if (mp_tx_reads_string(tf->kind)) {
		if (f < 0 || b->miss[f][r])
			return -1;
	{
		size_t n;
		const char *s = mp_block_str(b, (size_t)f, r, &n);

		return (float)vocab_index(tf->vocab, tf->nvocab, s, n);
	}
	}
	return f >= 0 ? b->num[f][r] : NAN;
}

/* Writes feature i's inputs for value v; returns where the next go. */
static float *apply_one(const mp_transform *t, size_t i, float v, float *o)
{
	const mp_tx_feature *tf = &t->features[i];
	size_t k;

	if (tf->kind == MP_TX_ONEHOT) {
		for (k = 0; k < tf->nvocab; k++)
			o[k] = 0;
		if (v >= 0)
			o[(size_t)v] = 1;
		return o + tf->nvocab;
	}
	if (tf->kind == MP_TX_EMBED) { /* unseen or missing: the row after the vocabulary's */
		*o = v >= 0 ? v : (float)tf->nvocab;
		return o + 1;
	}
	{
		double x = v;

		if (tf->kind == MP_TX_BUCKETIZE) {
			double w = (tf->b - tf->a) / tf->buckets;
			int bk = isnan(x) ? -1 : w > 0 ? (int)((x - tf->a) / w) : 0;

			for (k = 0; k < (size_t)tf->buckets; k++)
				o[k] = 0;
			if (!isnan(x))
				o[bk < 0 ? 0 : bk >= tf->buckets ? tf->buckets - 1 : bk] = 1;
			return o + tf->buckets;
		}
		/* a missing number becomes the training mean (0 after zscore) */
		*o = isnan(v) ? t->miss[i] : v * t->scale[i] + t->shift[i];
		return o + 1;
	}
}

static float pre_label(const mp_transform *t, const int *idx, const mp_block *b, size_t r)
{
	int f = idx[t->nfeatures], hit;

	if (f < 0)
		return NAN;
	if (!t->nlabel_vocab)
		return t->label_scaled ? (float)((b->num[f][r] - t->label_mean) / t->label_std) : b->num[f][r];
	if (b->miss[f][r]) {
		hit = -1;
	} else {
		size_t n;
		const char *s = mp_block_str(b, (size_t)f, r, &n);

		hit = vocab_index(t->label_vocab, t->nlabel_vocab, s, n);
	}
	return hit >= 0 ? (float)hit : NAN;
}

void mp_transform_row(const mp_transform *t, const int *idx, const mp_block *b, size_t r, float *out,
		      float *label)
{
	size_t i;
	float *o = out;

	for (i = 0; i < t->nfeatures; i++)
		o = apply_one(t, i, pre_one(&t->features[i], idx[i], b, r), o);
	if (label)
		*label = pre_label(t, idx, b, r);
}

void mp_transform_pre(const mp_transform *t, const int *idx, const mp_block *b, size_t r, float *pre)
{
	size_t i;

	for (i = 0; i < t->nfeatures; i++)
		pre[i] = pre_one(&t->features[i], idx[i], b, r);
	pre[t->nfeatures] = pre_label(t, idx, b, r);
}

MP_VECTOR_CLONES void mp_transform_apply(const mp_transform *t, const float *pre, float *out)
{
	const float *sc = t->scale, *sh = t->shift, *ms = t->miss;
	size_t i, n = t->nfeatures;
	float *o = out;

	if (t->all_linear) {
		/* the common case (pixels, scaled numbers): one loop that vectorizes */
		for (i = 0; i < n; i++)
			out[i] = pre[i] != pre[i] ? ms[i] : pre[i] * sc[i] + sh[i];
		return;
	}
	for (i = 0; i < n; i++)
		o = apply_one(t, i, pre[i], o);
}

MP_VECTOR_CLONES void mp_transform_apply_u8(const mp_transform *t, const uint8_t *pre, float *tmp, float *out)
{
	const float *sc = t->scale, *sh = t->shift;
	size_t i, n = t->nfeatures;

	if (t->all_linear) {
		/* bytes are never missing: one multiply-add per pixel */
		for (i = 0; i < n; i++)
			out[i] = (float)pre[i] * sc[i] + sh[i];
		return;
	}
	for (i = 0; i < n; i++)
		tmp[i] = pre[i];
	mp_transform_apply(t, tmp, out);
}
