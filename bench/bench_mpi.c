/* Data-parallel training: the Trainer on 2 MPI ranks of 1 BLAS thread
 * each against 1 process of 1 thread, on the real Fashion-MNIST, 784-512-
 * 512-10, batch 256 (the global batch), 1 epoch; the Trainer's own
 * samples/s (its epochs, not the setup), the median of 3 alternating runs.
 * Then the allreduce's cost per step for the seed MLP (784-128-10, batch
 * 64), which the Trainer measures around its MPI_Allreduce.
 *
 *   bench_mpi OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"


#define DATA "/usr/share/datasets/fashion-mnist"
#define RUNS 3

/* The demo pipeline up to the Evaluator, with the train block's model,
 * batch and epochs replaced, 1 BLAS thread, and ranks ranks. */
static void write_pipeline(const char *path, const char *root, const char *layers, int batch, int ranks)
{
	char *text, *p, line[256];
	mp_strbuf sb = MP_STRBUF_INIT;
	size_t n;
	mp_err err;

	bench_demo_pipeline(path, "bench_mpi", root, "evaluate");
	if (mp_read_file(path, &text, &n, &err) != 0)
		bench_die(err.msg);
	for (p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if (strstr(line, "layers: [ {dense: 128"))
			mp_strbuf_addf(&sb, "        layers: %s\n", layers);
		else if (strstr(line, "batch_size: 64"))
			mp_strbuf_addf(&sb, "      batch_size: %d\n      threads: 1\n      input_threads: 1\n", batch);
		else if (strstr(line, "epochs: 10"))
			mp_strbuf_adds(&sb, "      epochs: 1\n");
		else if (strstr(line, "type: Trainer") && ranks > 1)
			mp_strbuf_addf(&sb, "%s    ranks: %d\n", line, ranks);
		else
			mp_strbuf_adds(&sb, line);
		p += len;
	}
	if (sb.failed || mp_write_file_atomic(path, sb.buf, sb.len, &err) != 0)
		bench_die("cannot write the pipeline");
	free(text);
	mp_strbuf_release(&sb);
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	static const char wide[] = "[ {dense: 512, activation: relu}, {dense: 512, activation: relu}, {dense: 10} ]";
	static const char seed[] = "[ {dense: 128, activation: relu}, {dense: 10} ]";
	char root[4096], db[4200], y[3][4096], set[64];
	double sps[2][RUNS], med[2], rss, ms;
	mp_err err;
	int k, r;

	bench_name = "bench_mpi";
	if (access(DATA "/train-images-idx3-ubyte.gz", R_OK) != 0)
		bench_die("needs Debian's dataset-fashion-mnist");
	snprintf(root, sizeof(root), "%s/mpi_runs", out);
	snprintf(db, sizeof(db), "%s/metadata.db", root);
	mp_rmtree(root, NULL);
	if (mp_mkdirs(root, 0755, &err) != 0)
		bench_die(err.msg);
	for (r = 0; r < 3; r++)
		snprintf(y[r], sizeof(y[r]), "%s/mpi%d.yaml", out, r);
	write_pipeline(y[0], "mpi_runs", wide, 256, 1);
	write_pipeline(y[1], "mpi_runs", wide, 256, 2);
	write_pipeline(y[2], "mpi_runs", seed, 64, 2);
	for (k = 0; k < RUNS; k++)
		for (r = 0; r < 2; r++) {
			/* another seed each time: the Trainer runs, what is before it is cached */
			char *run[] = {(char *)mlpipe, "--quiet", "run", y[r], "--set", set, NULL};

			snprintf(set, sizeof(set), "train.seed=%d", 100 + k);
			bench_run(run, 1, &rss, -1);
			sps[r][k] = bench_metric(db, "bench_mpi", "train", "samples_per_second");
		}
	{
		char *run[] = {(char *)mlpipe, "--quiet", "run", y[2], "--set", "train.seed=7", NULL};

		bench_run(run, 1, &rss, -1);
		ms = bench_metric(db, "bench_mpi", "train", "allreduce_ms_per_step");
	}
	med[0] = bench_median(sps[0], RUNS);
	med[1] = bench_median(sps[1], RUNS);
	printf("data-parallel training, 784-512-512-10, batch 256, 1 epoch of Fashion-MNIST (median of %d alternating "
	       "runs):\n", RUNS);
	printf("  %-28s %10.0f samples/s  (the anchor)\n", "1 process x 1 BLAS thread", med[0]);
	printf("  %-28s %10.0f samples/s  %5.2fx (goal >= 1.7x)\n", "2 ranks x 1 BLAS thread", med[1],
	       med[1] / med[0]);
	printf("  allreduce per step, seed MLP (784-128-10, batch 64, 2 ranks): %.3f ms\n", ms);
	return 0;
}
