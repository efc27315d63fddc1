/* The whole pipeline against the PyTorch script: `mlpipe run
 * pipelines/fashion_mnist.yaml --no-cache` (every component of the demo, in a
 * fresh root each time) against bench/torch_mlp.py, which loads the same IDX
 * files, trains the seed MLP 10 epochs and scores t10k.  Wall time and peak
 * RSS of each whole process, median of RUNS alternating runs; then where
 * mlpipe's time went, per component (median of the runs).
 * Goals (issue 18): wall time at most 0.5x, peak RSS at most 0.25x.
 *
 *   bench_pipeline OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#define DATA "/usr/share/datasets/fashion-mnist"
#define RUNS 5
#define MAXC 16

/* Each component's seconds in the one run of the store db. */
static int component_seconds(const char *db, char names[MAXC][64], double *s)
{
	mp_execution_list l;
	mp_store *st;
	mp_err err;
	size_t i;

	if (mp_store_open(&st, db, 0, &err) != 0 || mp_store_run_executions(st, 1, &l, &err) != 0)
		bench_die(err.msg);
	for (i = 0; i < l.n && i < MAXC; i++) {
		snprintf(names[i], 64, "%s", l.items[i].component_id);
		s[i] = (double)(l.items[i].end_ms - l.items[i].start_ms) / 1e3;
	}
	mp_execution_list_release(&l);
	mp_store_close(st);
	return (int)i;
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char yaml[4096], root[4096], db[4200], names[MAXC][64];
	double wall[2][RUNS], rss[2][RUNS], comp[MAXC][RUNS], s[MAXC], w[2], m[2];
	int k, i, nc = 0;
	mp_err err;

	bench_name = "bench_pipeline";
	if (access(DATA "/train-images-idx3-ubyte.gz", R_OK) != 0)
		bench_die("needs Debian's dataset-fashion-mnist");
	if (mp_mkdirs(out, 0755, &err) != 0)
		bench_die(err.msg);
	snprintf(yaml, sizeof(yaml), "%s/bench_pipeline.yaml", out);
	snprintf(root, sizeof(root), "%s/pipeline_runs", out);
	snprintf(db, sizeof(db), "%s/metadata.db", root);
	bench_demo_pipeline(yaml, "bench_pipeline", "pipeline_runs", NULL);
	for (k = 0; k < RUNS; k++) {
		char *ours[] = {(char *)mlpipe, "--quiet", "run", yaml, "--no-cache", NULL};
		char *torch[] = {"/usr/bin/python3", "bench/torch_mlp.py", DATA, "10", "0", NULL};
		int n;

		if (mp_rmtree(root, &err) != 0)
			bench_die(err.msg);
		wall[0][k] = bench_run(ours, 1, &rss[0][k], -1);
		n = component_seconds(db, names, s);
		if (k > 0 && n != nc)
			bench_die("the runs ran different components");
		for (nc = n, i = 0; i < n; i++)
			comp[i][k] = s[i];
		wall[1][k] = bench_run(torch, 1, &rss[1][k], -1);
	}
	for (i = 0; i < 2; i++) {
		w[i] = bench_median(wall[i], RUNS);
		m[i] = bench_median(rss[i], RUNS);
	}
	printf("the whole Fashion-MNIST pipeline (%d components, --no-cache) against the PyTorch script\n"
	       "(load the IDX files, train the seed MLP 10 epochs, score t10k), median of %d alternating runs:\n",
	       nc, RUNS);
	printf("  %-34s %8s %12s\n", "", "wall s", "peak RSS MB");
	printf("  %-34s %8.2f %12.0f\n", "mlpipe run pipelines/fashion_mnist.yaml", w[0], m[0]);
	printf("  %-34s %8.2f %12.0f\n", "bench/torch_mlp.py", w[1], m[1]);
	printf("  %-34s %7.2fx %11.2fx   (goals: at most 0.5x and 0.25x)\n", "ratio", w[0] / w[1], m[0] / m[1]);
	printf("  where mlpipe's time went (component's own seconds, median):\n");
	for (i = 0; i < nc; i++)
		printf("    %-14s %6.2f s\n", names[i], bench_median(comp[i], RUNS));
	return 0;
}
