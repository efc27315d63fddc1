/* Batch prediction benchmark: `mlpipe predict` scoring the 60000 real
 * Fashion-MNIST training images (gzip IDX) with a 784-128-10 model and its
 * per-pixel z-score, writing one CSV row per image (class and 10
 * probabilities), against the PyTorch script a user would write for the
 * same job (bench/torch_predict.py), in the same run:
 *   - examples/s from the gzip file to the finished CSV;
 *   - peak RSS (mlpipe streams; the script holds the file).
 * The model comes from the demo pipeline trained for one epoch (the work
 * does not depend on the weights).
 *
 *   bench_predict OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#include <glob.h>

#define DATA "/usr/share/datasets/fashion-mnist"
#define IMAGES DATA "/train-images-idx3-ubyte.gz"
#define REPS 3

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char yaml[4096], root[4096], csv[4096], tcsv[4096], cmd[8192], line[256];
	double best, rss = 0, tsps = 0, trss = 0, r;
	glob_t g;
	int i;
	mp_err err;

	bench_name = "bench_predict";
	if (access(IMAGES, R_OK) != 0)
		bench_die("needs Debian's dataset-fashion-mnist");
	if (mp_mkdirs(out, 0755, &err) != 0)
		bench_die(err.msg);
	snprintf(yaml, sizeof(yaml), "%s/bench_predict.yaml", out);
	snprintf(root, sizeof(root), "%s/predict_runs", out);
	snprintf(csv, sizeof(csv), "%s/predictions.csv", out);
	snprintf(tcsv, sizeof(tcsv), "%s/predictions_torch.csv", out);
	mp_rmtree(root, NULL);
	/* the demo pipeline under another name and root, up to the Trainer */
	bench_demo_pipeline(yaml, "bench_predict", "predict_runs", "evaluate");
	{
		char *train[] = {(char *)mlpipe, "run", yaml, "--set", "train.epochs=1", NULL};

		bench_run(train, 1, &r, -1);
	}
	snprintf(cmd, sizeof(cmd), "%s/bench_predict/train/model/*/model.mlpm", root);
	if (glob(cmd, 0, NULL, &g) != 0 || g.gl_pathc != 1)
		bench_die("the pipeline made no model");
	{
		char *predict[] = {(char *)mlpipe, "--quiet", "predict", g.gl_pathv[0], IMAGES, "-o", csv, NULL};

		best = bench_run(predict, REPS, &rss, -1);
	}
	for (i = 0; i < REPS; i++) {
		double sps, m;

		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 bench/torch_predict.py %s %s", IMAGES, tcsv);
		bench_anchor(cmd, line, sizeof(line),
			     "PyTorch", "python3-torch and python3-pandas for /usr/bin/python3");
		if (sscanf(line, "%lf %lf", &sps, &m) != 2)
			bench_die("cannot read the PyTorch anchor's output");
		if (sps > tsps)
			tsps = sps;
		if (m > trss)
			trss = m;
	}
	globfree(&g);
	printf("batch prediction: 60000 Fashion-MNIST images (gzip IDX) -> CSV, 784-128-10 with z-scores, best of %d:\n",
	       REPS);
	printf("  %-8s %12s %12s\n", "", "examples/s", "peak RSS MB");
	printf("  %-8s %12.0f %12.0f\n", "mlpipe", 60000 / best, rss);
	printf("  %-8s %12.0f %12.0f\n", "PyTorch", tsps, trss);
	printf("  ratio    %11.2fx %11.2fx   (PyTorch's time starts after its imports)\n", 60000 / best / tsps,
	       rss / trss);
	return 0;
}
