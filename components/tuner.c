/* Tuner: a hyperparameter search over the Trainer's params.  Each trial is
 * the Trainer itself, run in a child process (up to `parallel` at a time)
 * on the train split and scored on its validation data, never on the
 * split the Evaluator reports on.  The best trial's values go out as a
 * HyperParameters artifact that a Trainer takes as its `hyperparameters`
 * input.
 *
 *   trainer: {model: ..., epochs: 10}       the base Trainer params
 *   search: {optimizer.lr: {log_uniform: [0.0001, 0.1]},
 *            model.layers.0.dense: {choice: [32, 64, 128]}}
 *   strategy: random | grid | halving, trials: 10, seed: 42
 *   objective: val_accuracy (direction auto: accuracy up, loss down)
 *   halving: {min_budget: 1, max_budget: 9, reduction: 3}
 *   parallel: 2
 *
 * Finished trials are noted in a journal in the scratch folder, which a
 * retry or a resumed run (the same cache key) reads: only the missing
 * trials run again, and a killed trial continues from its checkpoint.
 */
#include "components/tuner.h"
#include "core/tsv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const mp_io_spec inputs[] = {
	{"examples", "Examples", 0,
	 "the examples a Trainer would take: trials train on its train split and are scored on its validation data"},
	{"transform", "TransformGraph", 1, "the transform they went through, as the Trainer takes it"},
};

static const mp_io_spec outputs[] = {
	{"best_hyperparameters", "HyperParameters", 0,
	 "hyperparameters.json (the best trial's values, for a Trainer's 'hyperparameters' input) and trials.tsv "
	 "(every trial's values and result)"},
};

static const mp_shape s_budget = {MP_SHAPE_INT, 1, 1e6, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape s_reduction = {MP_SHAPE_INT, 2, 100, NULL, NULL, NULL, NULL, NULL, 0, NULL};
static const mp_shape_key halving_keys[] = {
	{"min_budget", &s_budget, 0},
	{"max_budget", &s_budget, 0},
	{"reduction", &s_reduction, 0},
	{NULL, NULL, 0},
};
static const mp_shape s_halving = {MP_SHAPE_MAP, 0, 0, NULL, halving_keys, NULL, NULL, NULL, 0, NULL};

static const mp_param_spec params[] = {
	{"trainer", MP_PARAM_JSON, "{}", 0, 0,
	 "the base Trainer params every trial starts from ({model: ..., optimizer: ..., epochs: ...})", NULL,
	 &mp__tune_trainer_shape},
	{"search", MP_PARAM_JSON, NULL, 0, 0,
	 "what to search: a Trainer param path (optimizer.lr, model.layers.0.dense, model.gbdt.max_depth, "
	 "batch_size; list items from 0) to a domain: {choice: [...]}, {int: [lo, hi]}, {uniform: [lo, hi]} or "
	 "{log_uniform: [lo, hi]}", NULL, &mp__tune_search_shape},
	{"strategy", MP_PARAM_STRING, "random", 0, 0,
	 "random (seeded samples), grid (every combination of choice and int domains) or halving (successive "
	 "halving: every trial at the smallest budget, the best 1/reduction at the next, up to max_budget)",
	 "random|grid|halving", NULL},
	{"trials", MP_PARAM_INT, "0", 0, 10000,
	 "configurations to try (0: 10; a grid: all its combinations)", NULL, NULL},
	{"objective", MP_PARAM_STRING, "val_accuracy", 0, 0, "the Trainer's validation metric to optimise",
	 "val_accuracy|val_loss", NULL},
	{"direction", MP_PARAM_STRING, "auto", 0, 0, "maximize or minimize the objective (auto: accuracy up, loss down)",
	 "auto|maximize|minimize", NULL},
	{"halving", MP_PARAM_JSON, "{}", 0, 0,
	 "{min_budget: 1, max_budget: the base's epochs (trees: rounds), reduction: 3}: the rungs' budgets are "
	 "max_budget / reduction^k down to min_budget, and each rung keeps the best 1/reduction of the one before", NULL, &s_halving},
	{"parallel", MP_PARAM_INT, "1", 1, 64, "trials run at the same time, each a child process", NULL, NULL},
	{"trial_threads", MP_PARAM_INT, "0", 0, 256,
	 "threads of each trial (its step_threads, or a tree model's threads) unless the trainer params give "
	 "them; 0: the cores divided by parallel", NULL, NULL},
	{"seed", MP_PARAM_INT, "42", 0, 9.2e18, "for the random samples (the trials' Trainer keeps its own seed)", NULL,
	 NULL},
};

/* One search. */
typedef struct tuner {
	const mp_component_io *io;
	mp__tune_config c;
	mp__tune_eval *ev; /* every evaluation, in the order they were planned */
	size_t nev, cap;
	char **values; /* trials x domains JSON texts */
	char *dir;     /* the trials' folders and the journal */
	int own_dir;   /* dir is ours to remove (no scratch) */
	char *jpath;   /* the journal */
	char *jtext;   /* its text when the search started, split into jrows */
	struct jrow *jrows;
	size_t njrows;
	int64_t t0;
	int reused;
} tuner;

static double elapsed(const tuner *T)
{
	return (double)(mp_monotonic_ns() - T->t0) / 1e9;
}

/* A trial's values as one JSON array, as the journal keeps them. */
static char *values_json(const tuner *T, char *const *v)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	size_t i;

	mp_strbuf_adds(&sb, "[");
	for (i = 0; i < T->c.space.n; i++)
		mp_strbuf_addf(&sb, "%s%s", i ? "," : "", v[i]);
	mp_strbuf_adds(&sb, "]");
	return mp_strbuf_detach(&sb);
}

/* ---- the journal ---------------------------------------------------------- */

/* An evaluation the journal holds: trial rung budget ok|failed objective
 * start end values error, tab-separated, one per line. */
typedef struct jrow {
	long trial, rung, budget;
	int failed;
	double objective, start, end;
	const char *values, *error; /* into the tuner's jtext */
} jrow;

/* The journal of an earlier attempt of this search (the same cache key,
 * so the same plan), read once; a line torn by a crash is left out. */
static int journal_load(tuner *T, mp_err *err)
{
	char *cur, *line, *f[9];
	size_t alloc = 0;

	if (mp_read_file(T->jpath, &T->jtext, NULL, NULL) != 0) {
		T->jtext = NULL;
		return 0; /* a first attempt */
	}
	for (cur = T->jtext; (line = mp_text_line(&cur));) {
		size_t nf = mp_tsv_fields(line, f, 9, 7);
		char *end;
		jrow r;

		if (nf < 8)
			continue;
		r.trial = strtol(f[0], &end, 10);
		if (*end)
			continue;
		r.rung = strtol(f[1], NULL, 10);
		r.budget = strtol(f[2], NULL, 10);
		r.failed = strcmp(f[3], "ok") != 0;
		r.objective = strtod(f[4], NULL);
		r.start = strtod(f[5], NULL);
		r.end = strtod(f[6], NULL);
		r.values = f[7];
		r.error = nf > 8 && *f[8] ? f[8] : "failed";
		if (mp_grow((void **)&T->jrows, &alloc, T->njrows, sizeof(*T->jrows)) != 0)
			return mp_error(err, MP_ENOMEM, "out of memory");
		T->jrows[T->njrows++] = r;
	}
	return 0;
}

/* e as the journal has it, finished: 1 when found. */
static int journal_find(tuner *T, mp__tune_eval *e)
{
	char *v = T->njrows ? values_json(T, e->values) : NULL;
	size_t i;

	for (i = 0; v && i < T->njrows; i++) {
		const jrow *r = &T->jrows[i];

		if (r->trial != e->trial || r->rung != e->rung || r->budget != e->budget || strcmp(r->values, v))
			continue;
		e->done = e->reused = 1;
		e->failed = r->failed;
		e->objective = r->objective;
		e->start = r->start;
		e->end = r->end;
		if (e->failed)
			e->error = mp_strdup(r->error);
		T->reused++;
		break;
	}
	free(v);
	return v && i < T->njrows;
}

/* Notes e in the journal, durably: a killed search does not run it again. */
static int journal_add(tuner *T, const mp__tune_eval *e, mp_err *err)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	char *v = values_json(T, e->values);
	int fd = -1, rc = 0;

	mp_strbuf_addf(&sb, "%d\t%d\t%d\t%s\t%.17g\t%.3f\t%.3f\t", e->trial, e->rung, e->budget,
		       e->failed ? "failed" : "ok", e->objective, e->start, e->end);
	mp_tsv_escape(&sb, v ? v : "");
	mp_strbuf_adds(&sb, "\t");
	mp_tsv_escape(&sb, e->error ? e->error : "");
	mp_strbuf_adds(&sb, "\n");
	if (!v || sb.failed)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	else if ((fd = open(T->jpath, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0 ||
		 write(fd, sb.buf, sb.len) != (ssize_t)sb.len || fsync(fd) != 0)
		rc = mp_error(err, MP_EIO, "cannot note trial %d in '%s': %s", e->trial, T->jpath, strerror(errno));
	if (fd >= 0)
		close(fd);
	mp_strbuf_release(&sb);
	free(v);
	return rc;
}

/* ---- one trial ------------------------------------------------------------ */

/* The trial's Trainer params: the base, the cores shared on purpose
 * (unless the base says otherwise), the budget, the trial's values. */
static int trial_params(const tuner *T, const mp__tune_eval *e, mp_kv **kv, size_t *n, mp_err *err)
{
	size_t nd = T->c.space.n, k = 0, i;
	const char **paths = mp_calloc(nd + MP_TUNE_SHARE + 1, sizeof(char *));
	const char **vals = mp_calloc(nd + MP_TUNE_SHARE + 1, sizeof(char *));
	char threads[24], budget[24];
	int rc;

	if (!paths || !vals) {
		free(paths);
		free(vals);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	snprintf(budget, sizeof(budget), "%d", e->budget);
	k = mp__tune_share_cores(&T->c, paths, vals, threads);
	if (e->budget)
		paths[k] = T->c.budget_path, vals[k++] = budget;
	for (i = 0; i < nd; i++)
		paths[k] = T->c.space.d[i].path, vals[k++] = e->values[i];
	rc = mp_hp_params(&mp_trainer_component, T->c.base, paths, vals, k, kv, n, err);
	free(paths);
	free(vals);
	return rc;
}

/* In the child: the Trainer, its words in the trial's log, its result or
 * its error in the trial's folder.  Never returns. */
static void trial_child(const tuner *T, const char *tdir, const mp_kv *kv, size_t n)
{
	char *model = mp_asprintf("%s/model", tdir), *scratch = mp_asprintf("%s/scratch", tdir);
	char *log = mp_asprintf("%s/log", tdir), *res = mp_asprintf("%s/result", tdir);
	char *errp = mp_asprintf("%s/error", tdir);
	mp_component_io tio = {0};
	mp_err err = {0};
	mp_kv out[1];
	int fd;

	if (!model || !scratch || !log || !res || !errp)
		_exit(3);
	if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	out[0].key = "model";
	out[0].value = model;
	tio.inputs = T->io->inputs;
	tio.ninputs = T->io->ninputs;
	tio.outputs = out;
	tio.noutputs = 1;
	tio.params = kv;
	tio.nparams = n;
	tio.workdir = T->io->workdir;
	tio.scratch = scratch;
	if (!(tio.result = mp_result_new()))
		_exit(3);
	if (mp_trainer_component.run(&tio, &err) == 0 && mp_result_write(tio.result, res, &err) == 0) {
		fflush(NULL);
		_exit(0);
	}
	fprintf(stderr, "mlpipe: %s\n", err.msg);
	fflush(NULL);
	mp_write_file_atomic(errp, err.msg, strlen(err.msg), NULL);
	_exit(1);
}

static char *trial_dir(const tuner *T, const mp__tune_eval *e)
{
	return mp_asprintf("%s/trial-%03d-rung-%d", T->dir, e->trial, e->rung);
}

/* Starts e: *pid, or 0 when it failed before starting (e is done). */
static int start_eval(tuner *T, mp__tune_eval *e, pid_t *pid, mp_err *err)
{
	char *tdir = trial_dir(T, e), *p;
	mp_kv *kv = NULL;
	size_t n = 0;
	mp_err terr;
	int rc = 0;

	*pid = 0;
	if (!tdir)
		return mp_error(err, MP_ENOMEM, "out of memory");
	/* a killed trial's scratch (its checkpoint) stays: it continues */
	if ((p = mp_asprintf("%s/model", tdir)) && (rc = mp_rmtree(p, err)) == 0)
		rc = mp_mkdirs(p, 0755, err);
	free(p);
	if (rc == 0 && (p = mp_asprintf("%s/scratch", tdir)))
		rc = mp_mkdirs(p, 0755, err);
	free(p);
	e->start = elapsed(T);
	if (rc == 0 && trial_params(T, e, &kv, &n, &terr) != 0) {
		e->done = e->failed = 1;
		e->end = e->start;
		e->error = mp_strdup(terr.msg);
		rc = journal_add(T, e, err);
	} else if (rc == 0) {
		fflush(NULL);
		if ((*pid = fork()) < 0)
			rc = mp_error(err, MP_EIO, "cannot start trial %d: %s", e->trial, strerror(errno));
		else if (*pid == 0)
			trial_child(T, tdir, kv, n);
	}
	mp_hp_params_free(kv, n);
	free(tdir);
	return rc;
}

static void print_eval(const tuner *T, const mp__tune_eval *e)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	size_t i;

	for (i = 0; i < T->c.space.n; i++)
		mp_strbuf_addf(&sb, " %s=%s", T->c.space.d[i].path, e->values[i]);
	if (e->budget)
		fprintf(stderr, "mlpipe: tuner: trial %d/%d, rung %d (%s %d):", e->trial, T->c.trials, e->rung + 1,
			T->c.gbdt ? "rounds" : "epochs", e->budget);
	else
		fprintf(stderr, "mlpipe: tuner: trial %d/%d:", e->trial, T->c.trials);
	if (e->failed)
		fprintf(stderr, " failed (%s);%s\n", e->error ? e->error : "?", mp_strbuf_str(&sb));
	else
		fprintf(stderr, " %s %.4f%s%s (%.1fs)\n", T->c.objective, e->objective, mp_strbuf_str(&sb),
			e->reused ? ", finished before" : "", e->end - e->start);
	mp_strbuf_release(&sb);
}

/* e has ended with status: its objective, or why it failed. */
static int finish_eval(tuner *T, mp__tune_eval *e, int status, mp_err *err)
{
	char *tdir = trial_dir(T, e), *res = tdir ? mp_asprintf("%s/result", tdir) : NULL;
	char *errp = tdir ? mp_asprintf("%s/error", tdir) : NULL, *why = NULL;
	mp_result *r = mp_result_new();
	int rc = 0;

	e->end = elapsed(T);
	e->done = 1;
	if (!tdir || !res || !errp || !r) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && mp_result_read(r, res, err) == 0) {
		const mp_result_metric_row *m = NULL;
		size_t n, i;

		m = mp_result_metrics(r, &n);
		for (i = 0; i < n && (m[i].step != 0 || strcmp(m[i].name, T->c.objective)); i++)
			;
		if (i == n)
			rc = mp_error(err, MP_EINVAL, "trial %d has no %s: the Trainer needs validation data (its "
					"validation_split, or validation_fraction above 0)", e->trial, T->c.objective);
		else if (!isfinite(m[i].value))
			e->failed = 1, e->error = mp_strdup("the objective is not finite");
		else
			e->objective = m[i].value;
	} else {
		e->failed = 1;
		if (mp_read_file(errp, &why, NULL, NULL) == 0 && *why)
			e->error = why, why = NULL;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			e->error = mp_strdup(err->msg); /* its result could not be read */
		else if (WIFSIGNALED(status))
			e->error = mp_asprintf("killed by signal %d", WTERMSIG(status));
		else
			e->error = mp_asprintf("exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	if (rc == 0 && (rc = journal_add(T, e, err)) == 0) {
		char *model = mp_asprintf("%s/model", tdir);

		print_eval(T, e);
		if (model)
			mp_rmtree(model, NULL); /* only the result is wanted */
		free(model);
	}
	free(why);
	mp_result_free(r);
	free(errp);
	free(res);
	free(tdir);
	return rc;
}

/* Runs T->ev[from, to) that the journal does not have, up to parallel at
 * a time. */
static int run_evals(void *ud, size_t from, size_t to, mp_err *err)
{
	tuner *T = ud;
	size_t par = (size_t)T->c.parallel, next, running = 0, j;
	pid_t *pids = mp_calloc(par, sizeof(pid_t));
	size_t *which = mp_calloc(par, sizeof(size_t));
	int rc = 0, status;

	if (!pids || !which) {
		free(pids);
		free(which);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (next = from; next < to; next++)
		if (journal_find(T, &T->ev[next]))
			print_eval(T, &T->ev[next]);
	for (next = from; rc == 0;) {
		pid_t pid;

		while (rc == 0 && running < par && next < to) {
			mp__tune_eval *e = &T->ev[next++];

			if (e->done || (rc = start_eval(T, e, &pid, err)) != 0 || !pid)
				continue;
			for (j = 0; pids[j]; j++)
				;
			pids[j] = pid;
			which[j] = (size_t)(e - T->ev);
			running++;
		}
		if (rc != 0 || !running)
			break;
		if ((pid = waitpid(-1, &status, 0)) < 0) {
			if (errno != EINTR)
				rc = mp_error(err, MP_EIO, "waiting for the trials: %s", strerror(errno));
			continue;
		}
		for (j = 0; j < par && pids[j] != pid; j++)
			;
		if (j == par)
			continue;
		pids[j] = 0;
		running--;
		rc = finish_eval(T, &T->ev[which[j]], status, err);
	}
	for (j = 0; j < par; j++) /* after a failure: the others stop too */
		if (pids[j]) {
			kill(pids[j], SIGKILL);
			waitpid(pids[j], &status, 0);
		}
	free(pids);
	free(which);
	return rc;
}

/* ---- the outputs ------------------------------------------------------------ */

/* A value as trials.tsv shows it: a string without its quotes. */
static void add_shown(mp_strbuf *sb, const char *json)
{
	mp_jdoc *d;
	mp_err err;

	if (*json == '"' && mp_jdoc_parse(&d, json, "value", &err) == 0) {
		mp_tsv_escape(sb, mp_jnode_str(mp_jdoc_root(d)) ? mp_jnode_str(mp_jdoc_root(d)) : "");
		mp_jdoc_free(d);
	} else {
		mp_tsv_escape(sb, json);
	}
}

static const char *status_of(const tuner *T, const mp__tune_eval *e)
{
	if (e->failed)
		return "failed";
	if (T->c.strategy == MP_TUNE_HALVING && e->rung + 1 < T->c.nrungs)
		return e->promoted ? "promoted" : "stopped";
	return "complete";
}

static int write_trials(const tuner *T, const char *out, mp_err *err)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	char *path = mp_asprintf("%s/trials.tsv", out);
	size_t i, k;
	int rc;

	mp_strbuf_adds(&sb, "trial\trung\tbudget\tstatus\tobjective\tstart\tend");
	for (k = 0; k < T->c.space.n; k++) {
		mp_strbuf_adds(&sb, "\t");
		mp_tsv_escape(&sb, T->c.space.d[k].path);
	}
	mp_strbuf_adds(&sb, "\n");
	for (i = 0; i < T->nev; i++) {
		const mp__tune_eval *e = &T->ev[i];

		mp_strbuf_addf(&sb, "%d\t%d\t%d\t%s\t%.6g\t%.3f\t%.3f", e->trial, e->rung + 1, e->budget, status_of(T, e),
			       e->objective, e->start, e->end);
		for (k = 0; k < T->c.space.n; k++) {
			mp_strbuf_adds(&sb, "\t");
			add_shown(&sb, e->values[k]);
		}
		mp_strbuf_adds(&sb, "\n");
	}
	rc = !path || sb.failed ? mp_error(err, MP_ENOMEM, "out of memory")
				: mp_write_file_atomic(path, sb.buf, sb.len, err);
	mp_strbuf_release(&sb);
	free(path);
	return rc;
}

static char *best_values_json(const tuner *T, const mp__tune_eval *b)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	size_t k;

	mp_strbuf_adds(&sb, "{");
	for (k = 0; k < T->c.space.n; k++) {
		mp_strbuf_adds(&sb, k ? "," : "");
		mp_json_quote(&sb, T->c.space.d[k].path);
		mp_strbuf_addf(&sb, ":%s", b->values[k]);
	}
	mp_strbuf_adds(&sb, "}");
	return mp_strbuf_detach(&sb);
}

static int write_best(const tuner *T, const mp__tune_eval *b, const char *out, mp_err *err)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	char *path = mp_asprintf("%s/%s", out, MP_HP_FILE), *vals = best_values_json(T, b);
	static const char *const names[] = {"random", "grid", "halving"};
	mp_result *r = T->io->result;
	int rc;

	mp_strbuf_addf(&sb, "{\"values\":%s,\"trial\":%d,\"rung\":%d,\"budget\":%d,\"objective\":\"%s\","
			    "\"direction\":\"%s\",\"value\":%.17g,\"strategy\":\"%s\",\"trials\":%d}\n",
		       vals ? vals : "{}", b->trial, b->rung + 1, b->budget, T->c.objective,
		       T->c.maximize ? "maximize" : "minimize", b->objective, names[T->c.strategy], T->c.trials);
	if (!path || !vals || sb.failed)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	else if ((rc = mp_write_file_atomic(path, sb.buf, sb.len, err)) == 0 &&
		 (mp_result_prop_string(r, "best_hyperparameters", "values", vals) != 0 ||
		  mp_result_prop_int(r, "best_hyperparameters", "best_trial", b->trial) != 0 ||
		  mp_result_prop_double(r, "best_hyperparameters", "best_objective", b->objective) != 0 ||
		  mp_result_prop_string(r, "best_hyperparameters", "objective", T->c.objective) != 0))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	fprintf(stderr, "mlpipe: tuner: the best is trial %d, %s %.4f, with %s\n", b->trial, T->c.objective,
		b->objective, vals ? vals : "?");
	mp_strbuf_release(&sb);
	free(vals);
	free(path);
	return rc;
}

/* The metrics: each trial's objective (at its highest rung) as the step
 * of its number, and the search's. */
static int record(const tuner *T, const mp__tune_eval *b, mp_err *err)
{
	mp_result *r = T->io->result;
	int failed = 0, bad = 0;
	size_t i, j;

	for (i = 0; i < T->nev; i++) {
		const mp__tune_eval *e = &T->ev[i];
		int last = 1;

		failed += e->failed;
		for (j = i + 1; j < T->nev; j++)
			last &= T->ev[j].trial != e->trial || T->ev[j].failed;
		if (last && !e->failed)
			bad |= mp_result_metric(r, "objective", e->trial, e->objective) != 0;
	}
	bad |= mp_result_metric(r, "best_objective", 0, b->objective) != 0 ||
	       mp_result_metric(r, "best_trial", 0, b->trial) != 0 ||
	       mp_result_metric(r, "trials", 0, T->c.trials) != 0 ||
	       mp_result_metric(r, "evaluations", 0, (double)T->nev) != 0 ||
	       mp_result_metric(r, "reused_evaluations", 0, T->reused) != 0 ||
	       mp_result_metric(r, "failed_evaluations", 0, failed) != 0 ||
	       mp_result_metric(r, "parallel", 0, T->c.parallel) != 0 ||
	       mp_result_metric(r, "search_seconds", 0, elapsed(T)) != 0;
	return bad ? mp_error(err, MP_ENOMEM, "out of memory") : 0;
}

/* ---- the component ------------------------------------------------------- */

/* Where the trials work: the scratch folder, which survives a retry and a
 * resumed run, or a folder in the output removed at the end. */
static int open_dir(tuner *T, mp_err *err)
{
	const char *out = mp_io_output(T->io, "best_hyperparameters");
	int rc;

	if (T->io->scratch) {
		T->dir = mp_asprintf("%s/trials", T->io->scratch);
	} else {
		T->dir = mp_asprintf("%s/.trials", out);
		T->own_dir = 1;
	}
	if (!T->dir || (rc = mp_mkdirs(T->dir, 0755, err)) != 0)
		return T->dir ? rc : mp_error(err, MP_ENOMEM, "out of memory");
	if (!(T->jpath = mp_asprintf("%s/journal.tsv", T->dir)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	return journal_load(T, err);
}

static void tuner_release(tuner *T)
{
	size_t i;

	for (i = 0; i < T->nev; i++)
		free(T->ev[i].error);
	free(T->ev);
	for (i = 0; T->values && i < (size_t)T->c.trials * T->c.space.n; i++)
		free(T->values[i]);
	free(T->values);
	if (T->own_dir && T->dir)
		mp_rmtree(T->dir, NULL);
	free(T->dir);
	free(T->jpath);
	free(T->jtext);
	free(T->jrows);
	mp__tune_config_release(&T->c);
}

static int run_tuner(const mp_component_io *io, mp_err *err)
{
	const mp__tune_eval *b;
	tuner T;
	int rc;

	memset(&T, 0, sizeof(T));
	T.io = io;
	T.t0 = mp_monotonic_ns();
	if (!mp_io_input(io, "examples"))
		return mp_error(err, MP_EINVAL, "Tuner needs an 'examples' input");
	if ((rc = mp__tune_config_parse(io, &T.c, err)) != 0)
		goto out;
	T.cap = (size_t)T.c.trials * (size_t)(T.c.nrungs ? T.c.nrungs : 1);
	if (!(T.ev = mp_calloc(T.cap, sizeof(*T.ev)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mp__tune_plan(&T.c, &T.values, err)) != 0 || (rc = open_dir(&T, err)) != 0 ||
	    (rc = mp__tune_search(&T.c, T.values, T.ev, &T.nev, run_evals, &T, err)) != 0)
		goto out;
	if (!(b = mp__tune_best(T.ev, T.nev, T.c.maximize))) {
		rc = mp_error(err, MP_EINVAL, "every trial failed; the first: %s", T.ev[0].error ? T.ev[0].error : "?");
		goto out;
	}
	if ((rc = write_trials(&T, mp_io_output(io, "best_hyperparameters"), err)) == 0 &&
	    (rc = write_best(&T, b, mp_io_output(io, "best_hyperparameters"), err)) == 0)
		rc = record(&T, b, err);
out:
	tuner_release(&T);
	return rc;
}

const mp_component_type mp_tuner_component = {
	.name = "Tuner",
	.version = "1",
	.summary = "searches the Trainer's params (random, grid, successive halving), trials in parallel, scored on "
		   "the validation data",
	.inputs = inputs,
	.ninputs = MP_COUNTOF(inputs),
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.run = run_tuner,
	.check = mp__tune_check,
};
