/* Boosted trees: mlpipe's Trainer (model: {gbdt: ...}) against XGBoost's
 * Python package (Debian's python3-xgboost, bench/xgb_train.py) on the
 * same real tabular sets (bench/tabular_sets.py: the penguins, scikit-
 * learn's bundled breast cancer, digits and diabetes sets, 2,000
 * Fashion-MNIST images), with the same parameters, one thread each:
 *   - training seconds (the data matrices and the boosting, with each
 *     round's measurement of the training and validation rows), median of
 *     RUNS alternating runs; the goal is at most 1.1x Python's, as both call
 *     the same library;
 *   - the test accuracy (mean squared error for diabetes) of both, and of
 *     a small MLP (64 ReLU units, Adam, early stopping) trained by the same
 *     pipeline on the same splits.
 *
 *   bench_gbdt OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#define RUNS 7

typedef struct set {
	char name[64], loss[64];
	int classes, rows, features;
} set;

/* The pipeline of one set: its splits from the files, the trees, and an
 * MLP beside them through a z-scoring Transform; each evaluated on test. */
static void write_pipeline(const char *path, const char *data, const set *s, int rounds)
{
	FILE *f = fopen(path, "w");

	if (!f)
		bench_die("cannot write a pipeline file");
	fprintf(f,
		"pipeline: { name: %s, root: runs, metadata: runs/metadata.db }\n"
		"components:\n"
		"  - id: ingest\n    type: ExampleGen\n"
		"    params: { format: csv, label: label, splits: { train: %s/train.csv, validation: %s/validation.csv, "
		"eval: %s/test.csv } }\n"
		"  - id: train\n    type: Trainer\n    inputs: { examples: ingest.examples }\n"
		"    params: { model: { gbdt: { rounds: %d, max_depth: 6, eta: 0.1 } }, loss: %s, threads: 1, seed: 42 }\n"
		"  - id: evaluate\n    type: Evaluator\n    inputs: { examples: ingest.examples, model: train.model }\n"
		"  - id: statistics\n    type: StatisticsGen\n    inputs: { examples: ingest.examples }\n"
		"  - id: transform\n    type: Transform\n"
		"    inputs: { examples: ingest.examples, statistics: statistics.statistics }\n"
		"  - id: mlp\n    type: Trainer\n"
		"    inputs: { examples: transform.transformed_examples, transform: transform.transform }\n"
		"    params:\n      model: { layers: [ {dense: 64, activation: relu}, {dense: auto} ] }\n"
		"      loss: %s\n      optimizer: { name: adam, lr: 0.003 }\n      batch_size: 32\n      epochs: 200\n"
		"      early_stopping: { metric: val_loss, patience: 15 }\n      threads: 1\n"
		"  - id: mlp_evaluate\n    type: Evaluator\n    inputs: { examples: ingest.examples, model: mlp.model }\n",
		s->name, data, data, data, rounds, s->loss, s->loss);
	fclose(f);
}

/* The Python anchor: its seconds and test metric. */
static void python(const char *data, const set *s, int rounds, double *sec, double *metric)
{
	char cmd[8192], line[256];

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 bench/xgb_train.py %s %s %d %d 6 0.1 1", data, s->loss, s->classes,
		 rounds);
	bench_anchor(cmd, line, sizeof(line), "XGBoost", "python3-xgboost for /usr/bin/python3");
	if (sscanf(line, "%lf %lf", sec, metric) != 2)
		bench_die("cannot read the XGBoost anchor's output");
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char dir[2048], cmd[2048 + 64], line[512];
	set sets[8];
	int nsets = 0, i, run;
	FILE *p;
	mp_err err;

	bench_name = "bench_gbdt";
	snprintf(dir, sizeof(dir), "%s/gbdt", out);
	if (mp_mkdirs(dir, 0755, &err) != 0)
		bench_die(err.msg);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 bench/tabular_sets.py %s", dir);
	if (!(p = popen(cmd, "r")))
		bench_die("cannot run bench/tabular_sets.py");
	while (nsets < 8 && fgets(line, sizeof(line), p))
		if (sscanf(line, "%63s %63s %d %d %d", sets[nsets].name, sets[nsets].loss, &sets[nsets].classes,
			   &sets[nsets].rows, &sets[nsets].features) == 5)
			nsets++;
	if (pclose(p) != 0 || !nsets)
		bench_die("bench/tabular_sets.py failed (needs python3-sklearn and the real data)");
	printf("boosted trees: mlpipe's Trainer against XGBoost's Python package (%s), depth 6, eta 0.1, one thread;\n"
	       "seconds: the data matrices and the boosting with each round measured on train and validation "
	       "(median of %d alternating runs)\n",
	       "1.7.4", RUNS);
	printf("  %-14s %6s %5s %6s %9s %9s %7s  %-9s %9s %9s %9s\n", "set", "rows", "feat", "rounds", "mlpipe s",
	       "python s", "ratio", "test", "mlpipe", "python", "MLP");
	for (i = 0; i < nsets; i++) {
		const set *s = &sets[i];
		/* enough rounds that the small sets take a fifth of a second */
		int rounds = s->features > 500 ? 20 : s->rows < 1000 ? 300 : 100, mse = !strcmp(s->loss, "mse");
		char data[4200], yaml[4400], db[4400];
		double ours[RUNS], theirs[RUNS], m_ours = 0, m_theirs = 0, m_mlp = 0, med_o, med_t;
		char *argv_run[] = {(char *)mlpipe, "--quiet", "run", yaml, "--no-cache", NULL};
		double rss;

		snprintf(data, sizeof(data), "%s/%s", dir, s->name);
		snprintf(yaml, sizeof(yaml), "%s/%s.yaml", dir, s->name);
		snprintf(db, sizeof(db), "%s/runs/metadata.db", dir);
		write_pipeline(yaml, data, s, rounds);
		for (run = 0; run < RUNS; run++) {
			python(data, s, rounds, &theirs[run], &m_theirs);
			bench_run(argv_run, 1, &rss, -1);
			ours[run] = bench_metric(db, s->name, "train", "train_seconds");
			m_ours = bench_metric(db, s->name, "evaluate", mse ? "mse" : "accuracy");
			m_mlp = bench_metric(db, s->name, "mlp_evaluate", mse ? "mse" : "accuracy");
		}
		med_o = bench_median(ours, RUNS);
		med_t = bench_median(theirs, RUNS);
		printf("  %-14s %6d %5d %6d %9.3f %9.3f %6.2fx  %-9s %9.4g %9.4g %9.4g\n", s->name, s->rows, s->features,
		       rounds, med_o, med_t, med_o / med_t, mse ? "mse" : "accuracy", m_ours, m_theirs, m_mlp);
	}
	printf("  (goal: at most 1.1x Python's seconds; the test metrics are on a held-out 15%%, which neither "
	       "training nor early stopping saw)\n");
	return 0;
}
