/* Training benchmark: the seed MLP (784-128-10, ReLU, Adam 0.001, batch
 * 64, 10 epochs) on the real Fashion-MNIST, mlpipe against PyTorch
 * (Debian's python3-torch, bench/torch_mlp.py) in the same run, at one
 * thread and at the default thread count:
 *   - test accuracy on t10k (goal 0.88);
 *   - training samples/s (goal 2x PyTorch's) and the fraction of the sgemm
 *     roofline reached (OpenBLAS sgemm GFLOP/s at the step's shapes; goal 70%);
 *   - peak RSS of the whole pipeline run against the PyTorch script's (goal
 *     under a quarter).
 *
 *   bench_train OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#include <cblas.h>


#define DATA "/usr/share/datasets/fashion-mnist"
#define EPOCHS 10

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

static void torch(int threads, double *sps, double *acc, double *rss)
{
	char cmd[512], line[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 bench/torch_mlp.py %s %d %d", DATA, EPOCHS, threads);
	if (!(p = popen(cmd, "r")) || !fgets(line, sizeof(line), p) || pclose(p) != 0)
		bench_die("the PyTorch anchor failed (needs python3-torch for /usr/bin/python3)");
	if (sscanf(line, "%lf %lf %lf", sps, acc, rss) != 3)
		bench_die("cannot read the PyTorch anchor's output");
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char yaml[4096], db[4096];
	/* per thread setting: ours then PyTorch's */
	double sps[2][2], acc[2][2], rss[2][2], roof[2];
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), k;
	const double flops_per_sample = 6.0 * (784 * 128 + 128 * 10); /* forward 2, backward 4 per weight */
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
	for (k = 0; k < 2; k++) {
		/* one thread: mlpipe's input pipeline runs in the training thread
		 * too; the default: each side's own default thread split */
		int threads = k == 0 ? 1 : ncpu;
		char *one[] = {(char *)mlpipe, "run", yaml, "--no-cache", "--set", "train.threads=1", "--set",
			       "train.input_threads=0", "--set", "train.prefetch=0", NULL};
		char *dflt[] = {(char *)mlpipe, "run", yaml, "--no-cache", NULL};
		double r;

		bench_run(k == 0 ? one : dflt, 1, &r, -1);
		rss[k][0] = r;
		sps[k][0] = bench_metric(db, "bench_fashion_mnist", "train", "samples_per_second");
		acc[k][0] = bench_metric(db, "bench_fashion_mnist", "evaluate", "accuracy"); /* on t10k, which training never saw */
		torch(k == 0 ? 1 : 0, &sps[k][1], &acc[k][1], &rss[k][1]);
		/* the roofline at the BLAS threads mlpipe used: by default one
		 * core is the input pipeline's */
		roof[k] = roofline(k == 0 ? 1 : (threads > 1 ? threads - 1 : 1));
	}
	printf("seed MLP on Fashion-MNIST, %d epochs, batch 64, Adam 0.001:\n", EPOCHS);
	printf("  %-8s %-8s %12s %10s %12s %14s\n", "threads", "", "samples/s", "test acc", "peak RSS MB", "sgemm roofline");
	for (k = 0; k < 2; k++) {
		double gf = sps[k][0] * flops_per_sample / 1e9;

		printf("  %-8s %-8s %12.0f %10.4f %12.0f %9.1f GF/s: %.0f%% of %.1f\n", k ? "default" : "1", "mlpipe", sps[k][0],
		       acc[k][0], rss[k][0], gf, 100 * gf / roof[k], roof[k]);
		printf("  %-8s %-8s %12.0f %10.4f %12.0f\n", k ? "default" : "1", "PyTorch", sps[k][1], acc[k][1], rss[k][1]);
		printf("  %-8s ratio    %11.2fx %10s %11.2fx   (goals: 2x speed, accuracy 0.88, RSS under 0.25x)\n", k ? "default" : "1",
		       sps[k][0] / sps[k][1], acc[k][0] >= 0.88 ? "met" : "missed", rss[k][0] / rss[k][1]);
	}
	printf("  (mlpipe's RSS is the whole pipeline run: ingest, statistics, schema, validation, transform, training;\n"
	       "   PyTorch's is its training script alone)\n");
	return 0;
}
