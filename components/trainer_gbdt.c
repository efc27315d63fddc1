/* The Trainer's boosted trees (model: {gbdt: {...}}): the training and
 * validation rows read into memory through the input pipeline, boosted by
 * XGBoost (trees/), saved in the same model file as a network, with
 * per-round curves and each input's gain (see trainer.h). */
#include "components/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct rows {
	float *x, *y;
	size_t n, alloc;
} rows;

static void rows_release(rows *r)
{
	free(r->x);
	free(r->y);
}

/* Every labelled example of opts' split (or part of it) into r, in order:
 * inputs as they are (NaN stays missing: the trees route it). */
static int read_rows(mp__trainer *T, const mp_dataset_opts *opts, rows *r, mp_err *err)
{
	mp_dataset_opts o = *opts;
	size_t nx = (size_t)T->nx, i;
	const mp_batch *b;
	mp_dataset *d;
	int rc;

	o.batch_size = 4096;
	o.epochs = 1;
	o.shuffle_buffer = 0;
	o.cache = 0;
	o.prefetch = 0;
	if ((rc = mp_dataset_open(&d, &o, err)) != 0)
		return rc;
	while ((rc = mp_dataset_next(d, &b, err)) == 1) {
		size_t cap = r->alloc;

		if (r->n + b->rows > cap) {
			cap = cap ? cap : 4096;
			while (cap < r->n + b->rows)
				cap *= 2;
			float *x = mp_realloc(r->x, cap * nx * sizeof(float)), *y;

			if (x)
				r->x = x;
			if (!x || !(y = mp_realloc(r->y, cap * sizeof(float)))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			r->y = y;
			r->alloc = cap;
		}
		for (i = 0; i < b->rows; i++) {
			if (isnan(b->y[i]))
				continue; /* no label: nothing to learn from */
			memcpy(r->x + r->n * nx, b->x + i * nx, nx * sizeof(float));
			r->y[r->n++] = b->y[i];
		}
	}
	mp_dataset_close(d);
	return rc < 0 ? rc : 0;
}

/* The classes of a softmax (the transform's, else the largest label + 1),
 * and every label checked against what the loss takes. */
static int check_labels(mp__trainer *T, const rows *r, const char *what, int *nclass, mp_err *err)
{
	size_t i;

	if (!*nclass && T->c.loss == MP_LOSS_SOFTMAX_CE) {
		*nclass = mp__train_transform_classes(T);
		for (i = 0; !T->tx_text && i < r->n; i++)
			if (r->y[i] >= *nclass && r->y[i] < 1e5)
				*nclass = (int)r->y[i] + 1;
		if (*nclass < 2)
			*nclass = 2;
	}
	for (i = 0; i < r->n; i++) {
		float y = r->y[i];

		if (T->c.loss == MP_LOSS_SOFTMAX_CE && !(y >= 0 && y < *nclass && y == floorf(y)))
			return mp_error(err, MP_EINVAL, "%s: label %g of example %zu is not a class 0 to %d", what,
					(double)y, i + 1, *nclass - 1);
		if (T->c.loss == MP_LOSS_BCE && !(y >= 0 && y <= 1))
			return mp_error(err, MP_EINVAL, "%s: label %g of example %zu is not in [0, 1] (binary_cross_entropy)",
					what, (double)y, i + 1);
	}
	return 0;
}

/* After each round: the curves (steps are rounds), and a line now and then. */
static int on_round(void *ud, int round, double tl, double ta, double vl, double va, mp_err *err)
{
	mp__trainer *T = ud;
	mp_result *res = T->io->result;

	tl *= T->unit2;
	vl *= T->unit2;
	if (mp_result_metric(res, "train_loss", round, tl) != 0 ||
	    (!T->mse && mp_result_metric(res, "train_accuracy", round, ta) != 0) ||
	    (T->have_val && mp_result_metric(res, "val_loss", round, vl) != 0) ||
	    (T->have_val && !T->mse && mp_result_metric(res, "val_accuracy", round, va) != 0))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (round % 10 == 0 || round == T->c.gp.rounds) {
		if (T->have_val && !T->mse)
			fprintf(stderr, "round %d/%d: train loss %.4f accuracy %.4f, validation loss %.4f accuracy %.4f\n",
				round, T->c.gp.rounds, tl, ta, vl, va);
		else if (T->have_val)
			fprintf(stderr, "round %d/%d: train loss %.4f, validation loss %.4f\n", round, T->c.gp.rounds, tl,
				vl);
		else
			fprintf(stderr, "round %d/%d: train loss %.4f\n", round, T->c.gp.rounds, tl);
	}
	return 0;
}

/* The name of input k: the transform's output, or the example feature. */
static const char *input_name(const mp__trainer *T, int k, char *buf, size_t n)
{
	if (T->tx_text)
		return mp_transform_output_name(&T->tx, (size_t)k, buf, n);
	return T->m.features[T->x[k]].name;
}

/* importance.tsv beside the model: each input's total gain over every
 * split on it (XGBoost's total_gain) and its share, largest first. */
static int write_importance(mp__trainer *T, const mp_forest *f, const char *dir, mp_err *err)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	int *order = mp_calloc((size_t)f->nfeat, sizeof(int)), i, j, rc;
	double total = 0;
	char buf[512], *path = mp_asprintf("%s/importance.tsv", dir);

	if (!order || !path) {
		free(order);
		free(path);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (i = 0; i < f->nfeat; i++) {
		total += f->gain[i];
		for (j = i; j > 0 && f->gain[order[j - 1]] < f->gain[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	mp_strbuf_adds(&sb, "feature\tgain\tshare\n");
	for (i = 0; i < f->nfeat; i++)
		mp_strbuf_addf(&sb, "%s\t%.9g\t%.6f\n", input_name(T, order[i], buf, sizeof(buf)), f->gain[order[i]],
			       total > 0 ? f->gain[order[i]] / total : 0);
	rc = sb.failed ? mp_error(err, MP_ENOMEM, "out of memory") : mp_write_file_atomic(path, sb.buf, sb.len, err);
	mp_strbuf_release(&sb);
	free(order);
	free(path);
	return rc;
}

/* The model file, its importance, and the metrics of the whole training. */
static int save_gbdt(mp__trainer *T, const mp_gbdt_result *res, int nout, double seconds, size_t nrows, mp_err *err)
{
	mp_result *r = T->io->result;
	const char *dir = mp_io_output(T->io, "model");
	char *path = mp_asprintf("%s/model.mlpm", dir);
	mp_forest f;
	int rc;

	if (!path)
		return mp_error(err, MP_ENOMEM, "out of memory");
	rc = mp_model_save_gbdt(T->nx, T->c.loss, nout, res->booster, res->len, T->tx_text, path, err);
	free(path);
	if (rc != 0 || (rc = mp_forest_parse(&f, res->booster, res->len, T->nx, T->c.loss, "the booster", err)) != 0)
		return rc;
	rc = write_importance(T, &f, dir, err);
	if (rc == 0 &&
	    (mp_result_metric(r, "rounds", 0, res->rounds) != 0 || mp_result_metric(r, "trees", 0, f.ntrees) != 0 ||
	     mp_result_metric(r, "train_seconds", 0, seconds) != 0 ||
	     mp_result_metric(r, "samples_per_second", 0, seconds > 0 ? (double)nrows * res->rounds / seconds : 0) ||
	     mp_result_metric(r, "train_loss", 0, res->kept[0] * T->unit2) != 0 ||
	     (!T->mse && mp_result_metric(r, "train_accuracy", 0, res->kept[1]) != 0) ||
	     (T->have_val && mp_result_metric(r, "val_loss", 0, res->kept[2] * T->unit2) != 0) ||
	     (T->have_val && !T->mse && mp_result_metric(r, "val_accuracy", 0, res->kept[3]) != 0) ||
	     mp_result_prop_string(r, "model", "kind", "gbdt") != 0 ||
	     mp_result_prop_int(r, "model", "trees", f.ntrees) != 0 ||
	     mp_result_prop_int(r, "model", "rounds", res->rounds) != 0 ||
	     (T->m.span >= 0 && mp_result_prop_int(r, "model", "span", T->m.span) != 0)))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	mp_forest_release(&f);
	return rc;
}

int mp__train_gbdt(mp__trainer *T, mp_err *err)
{
	mp_gbdt_params p = T->c.gp;
	rows tr = {0}, va = {0};
	mp_gbdt_data dt, dv;
	mp_gbdt_result res = {0};
	struct timespec t0, t1;
	int rc, nclass = 0, threads = atoi(mp_io_param(T->io, "threads"));

	if (T->dist.size > 1)
		return mp_error(err, MP_EINVAL, "boosted trees train in one process: ranks must be 1");
	p.es_metric = T->c.es_metric;
	p.es_patience = T->c.es_patience;
	p.es_min_delta = T->c.es_min_delta;
	p.seed = T->seed;
	p.threads = threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if ((rc = read_rows(T, &T->base_opts, &tr, err)) != 0 ||
	    (T->have_val && (rc = read_rows(T, &T->val_opts, &va, err)) != 0))
		goto out;
	if (!tr.n) {
		rc = mp_error(err, MP_EINVAL, "split '%s' has no labelled rows: there is nothing to train on",
			      T->train_split);
		goto out;
	}
	if ((rc = check_labels(T, &tr, "the training rows", &nclass, err)) != 0 ||
	    (rc = check_labels(T, &va, T->val_name, &nclass, err)) != 0)
		goto out;
	T->have_val = va.n > 0;
	dt = (mp_gbdt_data){tr.x, tr.y, tr.n};
	dv = (mp_gbdt_data){va.x, va.y, va.n};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = mp_gbdt_train(&p, T->c.loss, nclass, T->nx, &dt, &dv, on_round, T, &res, err)) != 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (p.es_metric && T->have_val && res.rounds < p.rounds)
		fprintf(stderr, "early stop: keeping the first %d rounds (the best %s)\n", res.rounds,
			p.es_metric == 2 ? "val_accuracy" : "val_loss");
	rc = save_gbdt(T, &res, T->c.loss == MP_LOSS_SOFTMAX_CE ? nclass : 1,
		       (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), tr.n, err);
out:
	free(res.booster);
	rows_release(&tr);
	rows_release(&va);
	return rc;
}
