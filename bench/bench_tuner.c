/* The Tuner on the real Fashion-MNIST: the seed MLP's learning rate
 * (log-uniform in [1e-4, 1e-1]) and width (32, 64, 128 or 256) searched
 * from the validation data held out of train, median of RUNS alternating
 * runs:
 *   - a 16-trial random search of 2 epochs each, parallel 1 against 2:
 *     wall time (the ratio is the speed-up) and the best val_accuracy;
 *   - at equal cost (48 epochs of training), random (16 trials of 3
 *     epochs) against successive halving (24 trials of 1 epoch, the best
 *     8 of them to 3), and halving with 18 trials (about random's wall
 *     time): wall time and the best val_accuracy each reaches;
 *   - when Debian's python3-optuna is installed, the anchor: Optuna's TPE
 *     with the same 16 x 2-epoch budget over the same space, on the same
 *     MLP in PyTorch (bench/optuna_tune.py).
 *
 *   bench_tuner OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#define DATA "/usr/share/datasets/fashion-mnist"
#define RUNS 3

static void write_pipeline(const char *yaml, int epochs)
{
	FILE *f = fopen(yaml, "w");

	if (!f)
		bench_die("cannot write the pipeline file");
	fprintf(f, "pipeline: { name: bench_tuner, root: tuner_runs, metadata: tuner_runs/metadata.db }\n"
		   "components:\n"
		   "  - id: ingest\n"
		   "    type: ExampleGen\n"
		   "    params:\n"
		   "      format: idx\n"
		   "      splits: { train: %s/train-images-idx3-ubyte.gz, eval: %s/t10k-images-idx3-ubyte.gz }\n"
		   "      validation_fraction: 0.1\n"
		   "  - id: statistics\n"
		   "    type: StatisticsGen\n"
		   "    inputs: { examples: ingest.examples }\n"
		   "  - id: transform\n"
		   "    type: Transform\n"
		   "    inputs: { examples: ingest.examples, statistics: statistics.statistics }\n"
		   "    params: { numbers: zscore }\n"
		   "  - id: tune\n"
		   "    type: Tuner\n"
		   "    inputs: { examples: ingest.examples, transform: transform.transform }\n"
		   "    params:\n"
		   "      trainer:\n"
		   "        apply_transform: true\n"
		   "        model: { layers: [ {dense: 128, activation: relu}, {dense: 10} ] }\n"
		   "        optimizer: { name: adam, lr: 0.001 }\n"
		   "        batch_size: 64\n"
		   "        epochs: %d\n"
		   "      search:\n"
		   "        optimizer.lr: { log_uniform: [0.0001, 0.1] }\n"
		   "        model.layers.0.dense: { choice: [32, 64, 128, 256] }\n"
		   "      trials: 16\n",
		DATA, DATA, epochs);
	fclose(f);
}

typedef struct setting {
	const char *name;
	int epochs; /* the base's: the trials' (halving: the largest budget) */
	const char *sets[8];
} setting;

static const setting settings[] = {
	{"random 16x2, parallel 1", 2, {"tune.parallel=1", NULL}},
	{"random 16x2, parallel 2", 2, {"tune.parallel=2", NULL}},
	{"random 16x3, parallel 2", 3, {"tune.parallel=2", NULL}},
	{"halving 24, 1->3, par. 2", 3,
	 {"tune.parallel=2", "tune.strategy=halving", "tune.trials=24", "tune.halving={min_budget: 1, reduction: 3}",
	  NULL}},
	{"halving 18, 1->3, par. 2", 3,
	 {"tune.parallel=2", "tune.strategy=halving", "tune.trials=18", "tune.halving={min_budget: 1, reduction: 3}",
	  NULL}},
};
#define NSET MP_COUNTOF(settings)

static void optuna(double *seconds, double *best)
{
	char cmd[512], line[256];

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 bench/optuna_tune.py %s 16 2", DATA);
	bench_anchor(cmd, line, sizeof(line), "Optuna", "python3-optuna and python3-torch for /usr/bin/python3");
	if (sscanf(line, "%lf %lf", seconds, best) != 2)
		bench_die("cannot read the Optuna anchor's output");
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	int have_optuna = system("/usr/bin/python3 -c 'import optuna, torch' 2>/dev/null") == 0;
	double secs[NSET + 1][RUNS], best[NSET + 1][RUNS], rss;
	char yaml[2][4096], db[4096];
	size_t k, i;
	int run;
	mp_err err;

	bench_name = "bench_tuner";
	if (access(DATA "/train-images-idx3-ubyte.gz", R_OK) != 0)
		bench_die("needs Debian's dataset-fashion-mnist");
	if (mp_mkdirs(out, 0755, &err) != 0)
		bench_die(err.msg);
	snprintf(yaml[0], sizeof(yaml[0]), "%s/bench_tuner.yaml", out);
	snprintf(yaml[1], sizeof(yaml[1]), "%s/bench_tuner3.yaml", out);
	snprintf(db, sizeof(db), "%s/tuner_runs/metadata.db", out);
	write_pipeline(yaml[0], 2);
	write_pipeline(yaml[1], 3);
	for (run = 0; run < RUNS; run++) {
		for (k = 0; k < NSET; k++) {
			char *argv_[32] = {(char *)mlpipe, "--quiet", "run", yaml[settings[k].epochs == 3], "--no-cache"};
			int n = 5;

			for (i = 0; settings[k].sets[i]; i++) {
				argv_[n++] = "--set";
				argv_[n++] = (char *)settings[k].sets[i];
			}
			argv_[n] = NULL;
			bench_run(argv_, 1, &rss, -1);
			secs[k][run] = bench_metric(db, "bench_tuner", "tune", "search_seconds");
			best[k][run] = bench_metric(db, "bench_tuner", "tune", "best_objective");
		}
		if (have_optuna)
			optuna(&secs[NSET][run], &best[NSET][run]);
	}
	printf("Tuner on Fashion-MNIST: the MLP's lr (log-uniform 1e-4..1e-1) and width (32..256), scored on the\n"
	       "10%% of train held out (median of %d alternating runs):\n",
	       RUNS);
	printf("  %-28s %10s %10s %14s\n", "search", "seconds", "best acc", "vs parallel 1");
	for (k = 0; k < NSET + (size_t)have_optuna; k++) {
		double s = bench_median(secs[k], RUNS), b = bench_median(best[k], RUNS);

		printf("  %-28s %10.1f %10.4f %13.2fx\n", k < NSET ? settings[k].name : "Optuna TPE 16x2 (PyTorch)", s, b,
		       bench_median(secs[0], RUNS) / s);
	}
	if (!have_optuna)
		printf("  (Optuna's TPE, the anchor, needs Debian's python3-optuna and python3-torch)\n");
	return 0;
}
