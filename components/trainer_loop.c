/* The Trainer's epochs (see trainer.h): one dataset for every epoch left,
 * a step per batch, and at each epoch's end validation, the per-epoch
 * metrics, early stopping and a checkpoint. */
#include "components/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tsv.h"

/* The progress line on a terminal. */
static void progress(int epoch, int epochs, int64_t done, int64_t total, double rate, double eta)
{
	int width = 30, fill = total ? (int)(width * done / total) : width, i;
	char bar[64];

	for (i = 0; i < width; i++)
		bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
	bar[width] = '\0';
	fprintf(stderr, "\r  epoch %d/%d [%s] %3d%%  %8.0f samples/s  ETA %3.0fs ", epoch, epochs, bar,
		total ? (int)(100 * done / total) : 100, rate, eta);
	fflush(stderr);
}

/* The validation examples, opened once for every epoch left: with the
 * cache, the first epoch's pass decodes the split (all of train, for a
 * held-out part) and later ones read the examples from memory, in the same
 * order, so the figures are those of a fresh pass. */
static int open_validation(mp__trainer *T, int epochs, mp_err *err)
{
	mp_dataset_opts o = T->val_opts;

	o.batch_size = (size_t)T->net.max_batch;
	o.drop_remainder = 0;
	o.shuffle_buffer = 0;
	o.epochs = epochs;
	o.prefetch = 0; /* read only while the training waits: no thread beside the step's */
	o.cache = !strcmp(mp_io_param(T->io, "cache"), "true");
	o.first_epoch = 0;
	T->val_next = NULL;
	T->val_epoch = 0;
	return mp_dataset_open(&T->val, &o, err);
}

/* Mean loss and accuracy over one pass of the validation examples, without
 * training.  With several ranks, each scores every size-th batch and the
 * sums are added up over the ranks, so every rank has the same figures. */
static int evaluate(mp__trainer *T, double *loss, double *acc, mp_err *err)
{
	const mp_dist *dist = &T->dist;
	const mp_batch *b;
	double total = 0, sums[3];
	int64_t rows = 0, correct = 0, k = 0;
	int rc = 1;

	/* a pass ends where the next batch's epoch differs: that batch, kept
	 * from the last pass, begins this one */
	for (b = T->val_next, T->val_next = NULL; b || (rc = mp_dataset_next(T->val, &b, err)) == 1; b = NULL) {
		double l;
		int c;

		if (b->epoch != T->val_epoch) {
			T->val_next = b;
			break;
		}
		if (k++ % dist->size != dist->rank)
			continue;
		mp_net_eval(&T->net, b->x, b->y, (int)b->rows, &l, &c);
		total += l * (double)b->rows;
		correct += c;
		rows += (int64_t)b->rows;
	}
	if (rc < 0)
		return rc;
	T->val_epoch++;
	if (dist->size > 1) {
		sums[0] = total;
		sums[1] = (double)correct;
		sums[2] = (double)rows;
		mp_dist_sum_f64(dist, sums, 3);
		total = sums[0];
		correct = (int64_t)sums[1];
		rows = (int64_t)sums[2];
	}
	*loss = rows ? total / (double)rows : NAN;
	*acc = rows ? (double)correct / (double)rows : NAN;
	return 0;
}

/* A per-epoch metric: recorded, and kept in hist ("EPOCH NAME VALUE"
 * lines) so a training continued from a checkpoint reports every epoch. */
static int epoch_metric(mp_result *r, mp_strbuf *hist, const char *name, int epoch, double v)
{
	mp_strbuf_addf(hist, "%d\t%s\t%.17g\n", epoch, name, v);
	return hist->failed || mp_result_metric(r, name, epoch, v) != 0 ? MP_ENOMEM : 0;
}

/* A history that is missing or damaged loses only the curves' first
 * epochs, with a warning. */
int mp__train_replay_history(mp__trainer *T, mp_err *err)
{
	char *text = NULL, *cur, *line;
	int lineno = 0, upto = T->ts.epoch;
	mp_err e2;

	if (mp_read_file(T->hist_path, &text, NULL, &e2) != 0) {
		fprintf(stderr, "mlpipe: the metrics of epochs 1 to %d are not known again (%s)\n", upto, e2.msg);
		return 0;
	}
	for (cur = text; (line = mp_text_line(&cur));) {
		char *f[3], *end1, *end2;
		long epoch;
		double v;

		lineno++;
		if (mp_tsv_fields(line, f, 3, 1) != 3 || (epoch = strtol(f[0], &end1, 10), *end1) ||
		    (v = strtod(f[2], &end2), *end2) || epoch < 1) {
			fprintf(stderr, "mlpipe: %s:%d: not an epoch's metric; the history stops there\n", T->hist_path,
				lineno);
			break;
		}
		if (epoch <= upto && epoch_metric(T->io->result, &T->hist, f[1], (int)epoch, v) != 0) {
			free(text);
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
	}
	free(text);
	return 0;
}

/* The epoch whose weights the model keeps (the best under early stopping,
 * else the last) and its metrics. */
static void keep_epoch(mp_train_state *ts, int epoch, double tl, double ta, double vl, double va)
{
	ts->kept_epoch = epoch;
	ts->kept[0] = tl;
	ts->kept[1] = ta;
	ts->kept[2] = vl;
	ts->kept[3] = va;
}

/* Checks the labels fit the output layer: class indices in [0, classes). */
static int check_label(const mp_batch *b, mp_loss loss, int nout, mp_err *err)
{
	size_t r;

	for (r = 0; r < b->rows; r++) {
		float v = b->y[r];

		if (isnan(v))
			return mp_error(err, MP_EINVAL, "an example has no label");
		if (loss == MP_LOSS_SOFTMAX_CE && (v < 0 || v >= (float)nout || v != floorf(v)))
			return mp_error(err, MP_EINVAL, "label %g is out of range for an output layer of %d classes", v, nout);
		if (loss == MP_LOSS_BCE && v != 0 && v != 1)
			return mp_error(err, MP_EINVAL, "label %g is not 0 or 1 (binary_cross_entropy)", v);
	}
	return 0;
}

/* One epoch's sums over its batches. */
typedef struct epoch_sums {
	int64_t done, correct;
	double loss;
} epoch_sums;

static void print_epoch(const mp__trainer *T, int epoch, double tl, double ta, double vl, double va)
{
	if (T->dist.rank != 0)
		return; /* rank 0 speaks for all */
	if (T->mse && T->have_val)
		fprintf(stderr, "epoch %d/%d: train loss %.4f, validation loss %.4f\n", epoch, T->epochs, tl, vl);
	else if (T->mse)
		fprintf(stderr, "epoch %d/%d: train loss %.4f\n", epoch, T->epochs, tl);
	else if (T->have_val)
		fprintf(stderr, "epoch %d/%d: train loss %.4f accuracy %.4f, validation loss %.4f accuracy %.4f\n", epoch,
			T->epochs, tl, ta, vl, va);
	else
		fprintf(stderr, "epoch %d/%d: train loss %.4f accuracy %.4f\n", epoch, T->epochs, tl, ta);
}

/* Early stopping's judgment of the epoch just ended; 1 to stop. */
static int judge_epoch(mp__trainer *T, int epoch, double tl, double ta, double vl, double va)
{
	const mp__train_config *c = &T->c;
	double v = c->es_metric == 1 ? vl : va;
	int better = c->es_metric == 1 ? v < T->ts.best - c->es_min_delta : v > T->ts.best + c->es_min_delta;

	if (!c->es_metric) {
		keep_epoch(&T->ts, epoch, tl, ta, vl, va);
		return 0;
	}
	if (better) {
		T->ts.best = v;
		T->ts.since_best = 0;
		memcpy(T->ts.best_params, T->net.params, T->net.nparams * sizeof(float));
		keep_epoch(&T->ts, epoch, tl, ta, vl, va);
		return 0;
	}
	if (++T->ts.since_best < c->es_patience)
		return 0;
	fprintf(stderr, "early stop after epoch %d: no better %s for %d epochs; keeping the weights of epoch %d\n",
		epoch, c->es_metric == 1 ? "val_loss" : "val_accuracy", c->es_patience, T->ts.kept_epoch);
	return 1;
}

/* Epoch `cur` (from 0) is over: validation, metrics, early stopping and a
 * checkpoint.  0, or a negative MP_E*; *stop says whether training ends. */
static int end_epoch(mp__trainer *T, int cur, const epoch_sums *s, int *stop, mp_err *err)
{
	double vl = NAN, va = NAN, tl = s->done ? s->loss / (double)s->done : NAN;
	double ta = s->done ? (double)s->correct / (double)s->done : NAN;
	mp_result *r = T->io->result;
	int rc;

	if (T->tty && T->dist.rank == 0)
		fputc('\n', stderr);
	if (!s->done)
		return mp_error(err, MP_ECORRUPT, "epoch %d read no rows of split '%s'", cur + 1, T->train_split);
	if (T->have_val && (rc = evaluate(T, &vl, &va, err)) != 0)
		return rc;
	tl *= T->unit2;
	vl *= T->unit2;
	if (T->have_val && !isfinite(vl))
		return mp_error(err, MP_EINVAL,
				"the loss became %s on the validation data (%s) at step %lld (epoch %d, which does not "
				"count): lower the learning rate",
				isnan(vl) ? "NaN" : "infinite", T->val_name, (long long)T->ts.step, cur + 1);
	if (epoch_metric(r, &T->hist, "train_loss", cur + 1, tl) != 0 ||
	    (!T->mse && epoch_metric(r, &T->hist, "train_accuracy", cur + 1, ta) != 0) ||
	    (T->have_val && epoch_metric(r, &T->hist, "val_loss", cur + 1, vl) != 0) ||
	    (T->have_val && !T->mse && epoch_metric(r, &T->hist, "val_accuracy", cur + 1, va) != 0))
		return mp_error(err, MP_ENOMEM, "out of memory");
	print_epoch(T, cur + 1, tl, ta, vl, va);
	T->ts.epoch = cur + 1;
	if (judge_epoch(T, cur + 1, tl, ta, vl, va)) {
		T->stopped_early = 1;
		*stop = 1;
	}
	/* only rank 0 writes; every rank reads the checkpoint when resuming */
	if (T->ckpt && T->dist.rank == 0 && T->ts.epoch % T->ckpt_every == 0 && T->ts.epoch < T->epochs &&
	    !T->stopped_early &&
	    /* the history first: killed between the two, it is ahead of the
	     * checkpoint, and only its epochs up to the checkpoint's count */
	    ((rc = mp_write_file_atomic(T->hist_path, T->hist.buf ? T->hist.buf : "", T->hist.len, err)) != 0 ||
	     (rc = mp_checkpoint_save(&T->net, &T->opt, &T->ts, T->ckpt, err)) != 0))
		return rc;
	return 0;
}

/* This rank's share of a global batch's gradients, with its loss and
 * right answers, summed over the ranks (one reduction): afterwards every
 * rank has the gradient of the whole batch's mean loss, *l its mean loss
 * and *correct its right answers.  b is this rank's shard of the global
 * batch (the dataset's shards, with the cache), or the whole global batch,
 * of which it takes its share. */
static void shared_step(mp__trainer *T, const mp_batch *b, double *l, int *correct)
{
	mp_net *n = &T->net;
	size_t rows = b->global_rows, lo = 0, hi = b->rows;
	float *g = n->grads;
	double ml = 0;
	int64_t t0;
	int c = 0;

	if (!b->sharded) {
		lo = rows * (size_t)T->dist.rank / (size_t)T->dist.size;
		hi = rows * (size_t)(T->dist.rank + 1) / (size_t)T->dist.size;
	}
	if (hi > lo) {
		/* the sum over this rank's rows divided by the global batch: the
		 * ranks' gradients add up to the global mean's */
		mp_step_team_train(T->team, b->x + lo * (size_t)n->nin, b->y + lo, (int)(hi - lo), (int)rows, NULL, 0,
				   &ml, &c);
	} else {
		memset(g, 0, n->nparams * sizeof(float));
	}
	g[n->nparams] = (float)(ml * (double)(hi - lo));
	g[n->nparams + 1] = (float)c;
	t0 = mp_monotonic_ns();
	mp_dist_sum(&T->dist, g, n->nparams + 2);
	T->reduce_s += (double)(mp_monotonic_ns() - t0) / 1e9;
	T->reduce_steps++;
	*l = g[n->nparams] / (double)rows;
	*correct = (int)g[n->nparams + 1];
}

/* One optimizer step on batch b. */
static int train_step(mp__trainer *T, const mp_batch *b, int cur, epoch_sums *s, mp_err *err)
{
	double l;
	int correct, rc;
	float lr = mp_schedule_lr(&T->c.sched, T->c.lr, T->ts.step);

	if ((rc = check_label(b, T->c.loss, mp_net_nout(&T->net), err)) != 0)
		return rc;
	if (T->dist.size > 1) {
		shared_step(T, b, &l, &correct);
		if (isfinite(l))
			mp_optimizer_step(&T->opt, T->net.params, T->net.grads, lr);
	} else {
		/* the update in the same hand-over as the gradients; a NaN
		 * loss fails the training below, so its weights never count */
		mp_step_team_train(T->team, b->x, b->y, (int)b->rows, 0, &T->opt, lr, &l, &correct);
	}
	if (!isfinite(l))
		return mp_error(err, MP_EINVAL, "the loss became %s at step %lld (epoch %d): lower the learning rate",
				isnan(l) ? "NaN" : "infinite", (long long)T->ts.step + 1, cur + 1);
	T->ts.step++;
	s->loss += l * (double)b->global_rows;
	s->correct += correct;
	s->done += (int64_t)b->global_rows;
	return 0;
}

static void share_cache(void *ctx, const void *mine, size_t n, void *all, const size_t *counts)
{
	mp_dist_allgather(ctx, mine, n, all, counts);
}

/* Whether the cache, as floats, stays within MPI's int counts (2 GiB): a
 * larger split is decoded by every rank. */
static int cache_fits(const mp__trainer *T)
{
	double rows = (double)mp_examples_split(&T->m, T->train_split)->rows;

	return rows * (double)(T->nx + 1) * sizeof(float) < 2e9;
}

/* One dataset for every remaining epoch: with the cache, each epoch is a
 * permutation that depends on the seed and the epoch's number only, so a
 * resumed run sees the same batches. */
int mp__train_epochs(mp__trainer *T, mp_err *err)
{
	const mp_component_io *io = T->io;
	mp_dataset_opts o = T->base_opts;
	int64_t total_rows = mp_examples_split(&T->m, T->train_split)->rows, t0 = mp_monotonic_ns();
	int start = T->ts.epoch, cur = T->ts.epoch, stop = 0, rc;
	epoch_sums s = {0, 0, 0};
	mp_dataset *d;
	const mp_batch *b = NULL;

	o.batch_size = (size_t)T->batch;
	o.shuffle_buffer = (size_t)atoll(mp_io_param(io, "shuffle_buffer"));
	o.seed = T->seed;
	o.epochs = T->epochs - T->ts.epoch;
	o.prefetch = (size_t)T->prefetch;
	o.cache = !strcmp(mp_io_param(io, "cache"), "true");
	o.first_epoch = T->ts.epoch;
	o.shard = T->dist.rank;
	o.nshards = T->dist.size;
	if (T->dist.size > 1 && cache_fits(T)) {
		/* the split is decoded once across the ranks */
		o.share = share_cache;
		o.share_ctx = &T->dist;
	}
	if (T->have_val && (rc = open_validation(T, o.epochs, err)) != 0)
		return rc;
	if ((rc = mp_dataset_open(&d, &o, err)) != 0) {
		mp_dataset_close(T->val);
		T->val = NULL;
		return rc;
	}
	for (;;) {
		if ((rc = mp_dataset_next(d, &b, err)) < 0)
			break;
		if (rc == 0 || start + b->epoch != cur) {
			/* the epoch `cur` is over (a batch of the next one is
			 * waiting, or the data ended) */
			T->train_s += (double)(mp_monotonic_ns() - t0) / 1e9;
			T->samples += s.done;
			stop = rc == 0;
			if ((rc = end_epoch(T, cur, &s, &stop, err)) != 0 || stop)
				break;
			/* the waiting batch starts the next epoch */
			cur++;
			memset(&s, 0, sizeof(s));
			t0 = mp_monotonic_ns();
		}
		if ((rc = train_step(T, b, cur, &s, err)) != 0)
			break;
		if (T->tty && T->dist.rank == 0 && (T->ts.step % 50 == 0 || s.done == total_rows)) {
			double el = (double)(mp_monotonic_ns() - t0) / 1e9, rate = el > 0 ? (double)s.done / el : 0;

			progress(cur + 1, T->epochs, s.done, total_rows, rate,
				 rate > 0 ? (double)(total_rows - s.done) / rate : 0);
		}
	}
	T->wait_s += mp_dataset_wait_seconds(d);
	mp_dataset_close(d);
	mp_dataset_close(T->val);
	T->val = NULL;
	return rc;
}
