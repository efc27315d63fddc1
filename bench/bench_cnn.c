/* Convolutional training: the CNN of pipelines/fashion_mnist_cnn.yaml
 * (conv 16, pool, conv 32, pool, dense 64, dense 10; Adam with a cosine
 * decay, batch 64) on the real Fashion-MNIST, mlpipe against the same
 * network in PyTorch (Debian's python3-torch, bench/torch_cnn.py) in the
 * same run, at one thread and at each side's default thread count:
 * training samples/s (goal 1.5x PyTorch's), median of RUNS alternating
 * runs, and the test accuracy on t10k of each.
 *
 *   bench_cnn OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#define DATA "/usr/share/datasets/fashion-mnist"
#define EPOCHS 2
#define RUNS 3

static void torch(int threads, double *sps, double *acc)
{
	char cmd[512], line[256];
	double rss;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 bench/torch_cnn.py %s %d %d", DATA, EPOCHS, threads);
	bench_anchor(cmd, line, sizeof(line), "PyTorch", "python3-torch for /usr/bin/python3");
	if (sscanf(line, "%lf %lf %lf", sps, acc, &rss) != 3)
		bench_die("cannot read the PyTorch anchor's output");
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char yaml[4096], db[4096], epochs[64];
	double sps[2][2][RUNS], acc[2][2][RUNS], rss;
	int k, run, side;
	mp_err err;

	bench_name = "bench_cnn";
	if (access(DATA "/train-images-idx3-ubyte.gz", R_OK) != 0)
		bench_die("needs Debian's dataset-fashion-mnist");
	if (mp_mkdirs(out, 0755, &err) != 0)
		bench_die(err.msg);
	snprintf(yaml, sizeof(yaml), "%s/bench_cnn.yaml", out);
	snprintf(db, sizeof(db), "%s/cnn_runs/metadata.db", out);
	snprintf(epochs, sizeof(epochs), "train.epochs=%d", EPOCHS);
	/* pipelines/fashion_mnist_cnn.yaml up to the evaluation */
	bench_pipeline_copy("pipelines/fashion_mnist_cnn.yaml", "fashion_mnist_cnn", yaml, "bench_cnn", "cnn_runs",
			    "infra");
	for (run = 0; run < RUNS; run++)
		for (k = 0; k < 2; k++) {
			char *one[] = {(char *)mlpipe, "--quiet", "run", yaml, "--no-cache", "--set", epochs, "--set",
				       "train.threads=1", "--set", "train.input_threads=0", "--set", "train.prefetch=0", NULL};
			char *dflt[] = {(char *)mlpipe, "--quiet", "run", yaml, "--no-cache", "--set", epochs, NULL};

			bench_run(k == 0 ? one : dflt, 1, &rss, -1);
			sps[k][0][run] = bench_metric(db, "bench_cnn", "train", "samples_per_second");
			acc[k][0][run] = bench_metric(db, "bench_cnn", "evaluate", "accuracy");
			torch(k == 0 ? 1 : 0, &sps[k][1][run], &acc[k][1][run]);
		}
	printf("CNN on Fashion-MNIST (conv 16, pool, conv 32, pool, dense 64, dense 10), %d epochs, batch 64, Adam 0.001\n"
	       "with a cosine decay (median of %d alternating runs):\n",
	       EPOCHS, RUNS);
	printf("  %-8s %-8s %12s %10s\n", "threads", "", "samples/s", "test acc");
	for (k = 0; k < 2; k++) {
		double m[2][2];

		for (side = 0; side < 2; side++) {
			m[side][0] = bench_median(sps[k][side], RUNS);
			m[side][1] = bench_median(acc[k][side], RUNS);
			printf("  %-8s %-8s %12.0f %10.4f\n", k ? "default" : "1", side ? "PyTorch" : "mlpipe", m[side][0],
			       m[side][1]);
		}
		printf("  %-8s ratio    %11.2fx   (goal: 1.5x)\n", k ? "default" : "1", m[0][0] / m[1][0]);
	}
	return 0;
}
