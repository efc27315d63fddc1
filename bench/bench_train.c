/* Training benchmark: the seed MLP (784-128-10, ReLU, Adam 0.001, batch
 * 64, 10 epochs) on the real Fashion-MNIST, mlpipe against PyTorch
 * (Debian's python3-torch, bench/torch_mlp.py) in the same run, at one
 * thread and at the default thread count:
 *   - test accuracy on t10k (goal 0.88);
 *   - training samples/s (goal 2x PyTorch's), median of 3 alternating runs;
 *   - the step's efficiency end to end: samples/s x FLOPs per sample against
 *     one core's measured sgemm peak (goal 60% at one thread);
 *   - peak RSS of the whole pipeline run against the PyTorch script's (goal
 *     under a quarter).
 *
 *   bench_train OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#include <cblas.h>


#define DATA "/usr/share/datasets/fashion-mnist"
#define EPOCHS 10
#define RUNS 3

/* OpenBLAS sgemm GFLOP/s at the training step's shapes (batch 64). */
static double roofline(int threads)
{
	static float a[64 * 784], w[128 * 784], z[64 * 128], d[64 * 128], g[128 * 784];
	int64_t t0;
	int i, reps = 400;
	double flops = 0;

	openblas_set_num_threads(threads);
	for (i = 0; i < 64 * 784; i++)
		a[i] = (float)(i % 7) * 0.1f;
	for (i = 0; i < 128 * 784; i++)
		w[i] = (float)(i % 5) * 0.01f;
	for (i = 0; i < 64 * 128; i++)
		d[i] = (float)(i % 3) * 0.1f;
	t0 = mp_monotonic_ns();
	for (i = 0; i < reps; i++) {
		/* forward: X W^T; backward: dW = D^T X (the two big products) */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 64, 128, 784, 1, a, 784, w, 784, 0, z, 128);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 128, 784, 64, 1, d, 128, a, 784, 0, g, 784);
		flops += 2.0 * 2 * 64 * 128 * 784;
	}
	return flops / ((double)(mp_monotonic_ns() - t0) / 1e9) / 1e9;
}

/* One core's sgemm peak: OpenBLAS on large square products, one thread. */
static double peak(void)
{
	const int n = 1024;
	float *a = malloc((size_t)n * n * sizeof(float)), *b = malloc((size_t)n * n * sizeof(float)),
	      *c = malloc((size_t)n * n * sizeof(float));
	double best = 0;
	int i, rep;

	if (!a || !b || !c)
		bench_die("out of memory");
	for (i = 0; i < n * n; i++)
		a[i] = b[i] = (float)(i % 11) * 0.01f;
	openblas_set_num_threads(1);
	for (rep = 0; rep < 5; rep++) {
		int64_t t0 = mp_monotonic_ns();
		double gf;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
		gf = 2.0 * n * n * n / ((double)(mp_monotonic_ns() - t0) / 1e9) / 1e9;
		if (gf > best)
			best = gf;
	}
	free(a);
	free(b);
	free(c);
	return best;
}

static void torch(int threads, double *sps, double *acc, double *rss)
{
	char cmd[512], line[256];

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 bench/torch_mlp.py %s %d %d", DATA, EPOCHS, threads);
	bench_anchor(cmd, line, sizeof(line), "PyTorch", "python3-torch for /usr/bin/python3");
	if (sscanf(line, "%lf %lf %lf", sps, acc, rss) != 3)
		bench_die("cannot read the PyTorch anchor's output");
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char yaml[4096], db[4096];
	/* per thread setting, side (ours, PyTorch's) and run */
	double sps[2][2][RUNS], acc[2][2][RUNS], rss[2][2][RUNS], roof[2], top;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), k, run, side;
	/* forward 2 per weight; backward 2 per weight for dW, and 2 more for
	 * the gradient passed down, which the first layer does not need */
	const double flops_per_sample = 4.0 * 784 * 128 + 6.0 * 128 * 10;
	mp_err err;

	bench_name = "bench_train";
	if (access(DATA "/train-images-idx3-ubyte.gz", R_OK) != 0)
		bench_die("needs Debian's dataset-fashion-mnist");
	if (mp_mkdirs(out, 0755, &err) != 0)
		bench_die(err.msg);
	snprintf(yaml, sizeof(yaml), "%s/bench_fashion_mnist.yaml", out);
	snprintf(db, sizeof(db), "%s/train_runs/metadata.db", out);
	/* the demo pipeline, under another name and root */
	bench_demo_pipeline(yaml, "bench_fashion_mnist", "train_runs", NULL);
	for (run = 0; run < RUNS; run++)
		for (k = 0; k < 2; k++) {
			/* one thread: mlpipe's input pipeline runs in the training
			 * thread too; the default: each side's own default split */
			char *one[] = {(char *)mlpipe, "run", yaml, "--no-cache", "--set", "train.threads=1", "--set",
				       "train.input_threads=0", "--set", "train.prefetch=0", NULL};
			char *dflt[] = {(char *)mlpipe, "run", yaml, "--no-cache", NULL};

			bench_run(k == 0 ? one : dflt, 1, &rss[k][0][run], -1);
			sps[k][0][run] = bench_metric(db, "bench_fashion_mnist", "train", "samples_per_second");
			/* on t10k, which training never saw */
			acc[k][0][run] = bench_metric(db, "bench_fashion_mnist", "evaluate", "accuracy");
			torch(k == 0 ? 1 : 0, &sps[k][1][run], &acc[k][1][run], &rss[k][1][run]);
		}
	/* the roofline at the BLAS threads mlpipe used: by default one core is
	 * the input pipeline's */
	for (k = 0; k < 2; k++)
		roof[k] = roofline(k == 0 ? 1 : (ncpu > 1 ? ncpu - 1 : 1));
	top = peak();
	printf("seed MLP on Fashion-MNIST, %d epochs, batch 64, Adam 0.001 (median of %d alternating runs):\n", EPOCHS,
	       RUNS);
	printf("  %-8s %-8s %12s %10s %12s\n", "threads", "", "samples/s", "test acc", "peak RSS MB");
	for (k = 0; k < 2; k++) {
		double m[2][3];

		for (side = 0; side < 2; side++) {
			m[side][0] = bench_median(sps[k][side], RUNS);
			m[side][1] = bench_median(acc[k][side], RUNS);
			m[side][2] = bench_median(rss[k][side], RUNS);
			printf("  %-8s %-8s %12.0f %10.4f %12.0f\n", k ? "default" : "1", side ? "PyTorch" : "mlpipe",
			       m[side][0], m[side][1], m[side][2]);
		}
		printf("  %-8s ratio    %11.2fx %10s %11.2fx   (goals: 2x speed, accuracy 0.88, RSS under 0.25x)\n",
		       k ? "default" : "1", m[0][0] / m[1][0], m[0][1] >= 0.88 ? "met" : "missed", m[0][2] / m[1][2]);
		if (k == 0)
			printf("  step efficiency at 1 thread: %.0f samples/s x %.2f MFLOP = %.1f GFLOP/s, %.0f%% of one core's "
			       "sgemm peak (%.1f GFLOP/s, 1024^3; goal 60%%); %.0f%% of sgemm at the step's own shapes "
			       "(%.1f)\n",
			       m[0][0], flops_per_sample / 1e6, m[0][0] * flops_per_sample / 1e9,
			       100 * m[0][0] * flops_per_sample / 1e9 / top, top,
			       100 * m[0][0] * flops_per_sample / 1e9 / roof[0], roof[0]);
	}
	printf("  (mlpipe's RSS is the whole pipeline run: ingest, statistics, schema, validation, transform, training;\n"
	       "   PyTorch's is its training script alone)\n");
	return 0;
}
