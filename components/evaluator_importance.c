/* The Evaluator's permutation importance (feature_importance:
 * permutation), as scikit-learn's permutation_importance: each raw input
 * of the model shuffled across the split's rows, seeded, `repeats` times,
 * and how much the score falls: accuracy for a classifier, the mean
 * squared error (which rises) for a regression.  Any model kind: it only
 * predicts.  See evaluator.h. */
#include "components/evaluator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "export/export.h"

#define BATCH 256

/* Every row of the split in one block. */
static int read_all(const mp_examples_meta *m, const char *dir, const char *split, mp_block *all, mp_err *err)
{
	mp_examples_reader rd = {0};
	mp_block b = {0};
	size_t r, f;
	int rc;

	if ((rc = mp_block_init(all, m->features, m->nfeatures, 256, err)) != 0 ||
	    (rc = mp_block_init(&b, m->features, m->nfeatures, 1, err)) != 0 ||
	    (rc = mp_examples_reader_open(&rd, m, dir, split, err)) != 0)
		goto out;
	while ((rc = mp_examples_reader_next(&rd, &b, err)) == 1) {
		if ((rc = mp_block_reserve(all, all->rows + b.rows, err)) != 0)
			break;
		for (r = 0; r < b.rows && rc == 0; r++) {
			for (f = 0; f < m->nfeatures && rc == 0; f++) {
				size_t len;
				const char *s;

				if (m->features[f].type == MP_FEAT_FLOAT) {
					mp_block_set_float(all, f, b.num[f][r]);
					continue;
				}
				s = mp_block_str(&b, f, r, &len);
				rc = mp_block_set_string(all, f, b.miss[f][r] ? NULL : s, len, err);
			}
			mp_block_end_row(all);
		}
	}
	if (rc > 0)
		rc = 0;
out:
	mp_examples_reader_close(&rd);
	mp_block_release(&b);
	return rc;
}

/* The model's score on the block as it is now: accuracy, or the MSE. */
static int score(mp_served *s, const mp_block *b, float *pred, float *labels, double *out, mp_err *err)
{
	mp_eval ev;
	mp_eval_result res = {0};
	size_t from, k;
	int rc;

	if ((rc = mp_eval_init(&ev, s->nclass, err)) != 0)
		return rc;
	for (from = 0; from < b->rows && rc == 0; from += BATCH) {
		size_t n = b->rows - from < BATCH ? b->rows - from : BATCH;

		mp_served_predict(s, b, from, n, pred, labels);
		for (k = 0; k < n && rc == 0; k++)
			if (!isnan(labels[k]))
				rc = mp_eval_add(&ev, pred + k * s->nout, labels[k], err);
	}
	if (rc == 0 && (rc = mp_eval_finish(&ev, &res, err)) == 0)
		*out = s->nclass ? res.accuracy : res.mse;
	mp_eval_result_release(&res);
	mp_eval_release(&ev);
	return rc;
}

/* Column f of b reordered by perm (b's rows): the original kept in sv and
 * the numbers reordered in place, or a string column rebuilt and swapped
 * in; undo with the same call and perm NULL. */
typedef struct saved {
	float *num;
	uint8_t *miss;
	char *str;
	uint64_t *off;
	size_t str_cap;
} saved;

static int permute(mp_block *b, size_t f, const size_t *perm, saved *sv, mp_err *err)
{
	size_t r, n = b->rows;

	if (!perm) { /* put the original back */
		if (sv->num) {
			memcpy(b->num[f], sv->num, n * sizeof(float));
		} else {
			free(b->str[f]);
			free(b->off[f]);
			b->str[f] = sv->str;
			b->off[f] = sv->off;
			b->str_cap[f] = sv->str_cap;
		}
		if (sv->miss)
			memcpy(b->miss[f], sv->miss, n);
		free(sv->num);
		free(sv->miss);
		memset(sv, 0, sizeof(*sv));
		return 0;
	}
	memset(sv, 0, sizeof(*sv));
	if (b->features[f].type == MP_FEAT_FLOAT) { /* NaN is its missing value: no flags */
		if (!(sv->num = mp_malloc(n * sizeof(float) + 1)))
			return mp_error(err, MP_ENOMEM, "out of memory");
		memcpy(sv->num, b->num[f], n * sizeof(float));
		for (r = 0; r < n; r++)
			b->num[f][r] = sv->num[perm[r]];
		return 0;
	}
	if (!(sv->miss = mp_malloc(n + 1)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	memcpy(sv->miss, b->miss[f], n);
	{
		uint64_t *off = mp_malloc((n + 1) * sizeof(uint64_t)), at = 0;
		size_t total = (size_t)b->off[f][n];
		char *str = mp_malloc(total + 1);

		if (!off || !str) {
			free(off);
			free(str);
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
		for (r = 0; r < n; r++) {
			size_t len = (size_t)(b->off[f][perm[r] + 1] - b->off[f][perm[r]]);

			off[r] = at;
			memcpy(str + at, b->str[f] + b->off[f][perm[r]], len);
			at += len;
			b->miss[f][r] = sv->miss[perm[r]];
		}
		off[n] = at;
		sv->str = b->str[f];
		sv->off = b->off[f];
		sv->str_cap = b->str_cap[f];
		b->str[f] = str;
		b->off[f] = off;
		b->str_cap[f] = total + 1;
	}
	return 0;
}

/* The examples' features the model reads (its raw inputs), in the order
 * of the block, each once. */
static size_t model_inputs(const mp_served *s, const mp_block *b, int *feat)
{
	size_t n = 0, k, j, cnt = s->has_transform ? s->t.nfeatures : (size_t)s->model.nin;

	for (k = 0; k < cnt; k++) {
		int f = s->in[k];

		for (j = 0; j < n && feat[j] != f; j++)
			;
		if (f >= 0 && (size_t)f < b->nfeat && j == n)
			feat[n++] = f;
	}
	return n;
}

/* importance.tsv: feature, importance (the mean fall of the score),
 * its standard deviation over the repeats, the baseline score. */
static int write_tsv(const char *dir, const mp_block *b, const int *feat, const double *mean, const double *sd,
		     size_t n, double base, int classifier, mp_err *err)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	char *path = mp_asprintf("%s/importance.tsv", dir);
	size_t *order = mp_calloc(n + 1, sizeof(size_t)), i, j;
	int rc;

	if (!path || !order) {
		free(path);
		free(order);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) { /* largest first */
		for (j = i; j > 0 && mean[order[j - 1]] < mean[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	mp_strbuf_addf(&sb, "feature\timportance\tstd\t%s\n", classifier ? "accuracy" : "mse");
	for (i = 0; i < n; i++)
		mp_strbuf_addf(&sb, "%s\t%.9g\t%.9g\t%.9g\n", b->features[feat[order[i]]].name, mean[order[i]],
			       sd[order[i]], base);
	rc = sb.failed ? mp_error(err, MP_ENOMEM, "out of memory") : mp_write_file_atomic(path, sb.buf, sb.len, err);
	mp_strbuf_release(&sb);
	free(path);
	free(order);
	return rc;
}

/* The repeats of one feature: the mean fall of the score and its spread. */
static int one_feature(mp_served *s, mp_block *b, size_t f, int repeats, uint64_t seed, double base, size_t *perm,
		       float *pred, float *labels, double *mean, double *sd, mp_err *err)
{
	double sum = 0, sum2 = 0;
	int k, rc = 0;

	for (k = 0; k < repeats && rc == 0; k++) {
		uint64_t st = seed ^ mp_fnv1a(b->features[f].name, strlen(b->features[f].name), MP_FNV_SEED) ^
			      (uint64_t)k * 0x9e3779b97f4a7c15ULL;
		saved sv;
		double v = 0, drop;
		size_t r;

		for (r = 0; r < b->rows; r++)
			perm[r] = r;
		for (r = b->rows; r > 1; r--) { /* Fisher-Yates, seeded */
			size_t j = (size_t)(mp_splitmix64(&st) % r), t = perm[r - 1];

			perm[r - 1] = perm[j];
			perm[j] = t;
		}
		if ((rc = permute(b, f, perm, &sv, err)) == 0) {
			rc = score(s, b, pred, labels, &v, err);
			permute(b, f, NULL, &sv, err);
		} else {
			free(sv.num);
			free(sv.miss);
		}
		drop = s->nclass ? base - v : v - base;
		sum += drop;
		sum2 += drop * drop;
	}
	*mean = sum / repeats;
	*sd = repeats > 1 ? sqrt(fmax(0, (sum2 - sum * sum / repeats) / (repeats - 1))) : 0;
	return rc;
}

int mp__eval_importance(const mp_component_io *io, const char *model, const mp_examples_meta *m, const char *dir,
			const char *split, mp_err *err)
{
	int repeats = atoi(mp_io_param(io, "importance_repeats"));
	uint64_t seed = strtoull(mp_io_param(io, "seed"), NULL, 10);
	mp_served s = {0};
	mp_block b = {0};
	float *pred = NULL, *labels = NULL;
	size_t *perm = NULL, n = 0, i;
	int *feat = NULL, rc;
	double base = 0, *mean = NULL, *sd = NULL;

	if ((rc = mp_served_load(&s, model, BATCH, err)) != 0 || (rc = mp_served_bind(&s, m, dir, err)) != 0 ||
	    (rc = read_all(m, dir, split, &b, err)) != 0)
		goto out;
	if (!(pred = mp_malloc(BATCH * s.nout * sizeof(float))) || !(labels = mp_malloc(BATCH * sizeof(float))) ||
	    !(perm = mp_malloc((b.rows + 1) * sizeof(size_t))) || !(feat = mp_calloc(b.nfeat + 1, sizeof(int))) ||
	    !(mean = mp_calloc(b.nfeat + 1, sizeof(double))) || !(sd = mp_calloc(b.nfeat + 1, sizeof(double)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	n = model_inputs(&s, &b, feat);
	if ((rc = score(&s, &b, pred, labels, &base, err)) != 0)
		goto out;
	for (i = 0; i < n && rc == 0; i++)
		rc = one_feature(&s, &b, (size_t)feat[i], repeats, seed, base, perm, pred, labels, &mean[i], &sd[i], err);
	for (i = 0; i < n && rc == 0; i++) {
		char name[512];

		snprintf(name, sizeof(name), "importance:%s", b.features[feat[i]].name);
		if (mp_result_metric(io->result, name, 0, mean[i]) != 0)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
	}
	if (rc == 0)
		rc = write_tsv(mp_io_output(io, "evaluation"), &b, feat, mean, sd, n, base, s.nclass > 0, err);
	if (rc == 0)
		fprintf(stderr, "permutation importance of %zu inputs over %zu rows, %d repeats each: see importance.tsv\n",
			n, b.rows, repeats);
out:
	free(pred);
	free(labels);
	free(perm);
	free(feat);
	free(mean);
	free(sd);
	mp_block_release(&b);
	mp_served_release(&s);
	return rc;
}
