/* Ingestion benchmark, on the real Fashion-MNIST (Debian's
 * dataset-fashion-mnist):
 *
 *  1. CSV: the train split written as CSV (60,000 rows x 785 integer
 *     columns with a header, about 133 MB), ingested by `mlpipe component
 *     ExampleGen`, against pandas.read_csv on the same file in the same run
 *     (Debian's python3-pandas, /usr/bin/python3).  Goal: 4x pandas' MB/s.
 *  2. IDX: train and t10k into shards: seconds and peak RSS.
 *  3. The input pipeline alone over those shards: batches per second at
 *     batch 64 with a 10,000-example shuffle buffer, with and without
 *     prefetch and map threads.
 *
 *   bench_ingest OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#include <sys/stat.h>

#include "data/examples.h"
#include "data/idx.h"
#include "data/dataset.h"

#define DATA "/usr/share/datasets/fashion-mnist"

/* Writes the train split as CSV (label first, then 784 pixels). */
static void write_csv(const char *path)
{
	mp_idx xi, xl;
	mp_err err;
	uint8_t img[784], lab;
	size_t got;
	char tmp[4200];
	FILE *f;
	int i;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (mp_idx_open(&xi, DATA "/train-images-idx3-ubyte.gz", 3, &err) != 0 ||
	    mp_idx_open(&xl, DATA "/train-labels-idx1-ubyte.gz", 1, &err) != 0)
		bench_die(err.msg);
	if (!(f = fopen(tmp, "w")))
		bench_die("cannot write the CSV");
	fputs("label", f);
	for (i = 0; i < 784; i++)
		fprintf(f, ",pixel%d", i);
	fputc('\n', f);
	while (mp_idx_read(&xi, img, 1, &got, &err) == 0 && got == 1) {
		if (mp_idx_read(&xl, &lab, 1, &got, &err) != 0 || got != 1)
			bench_die("labels");
		fprintf(f, "%d", lab);
		for (i = 0; i < 784; i++)
			fprintf(f, ",%d", img[i]);
		fputc('\n', f);
	}
	fclose(f);
	mp_idx_close(&xi);
	mp_idx_close(&xl);
	if (rename(tmp, path) != 0)
		bench_die("cannot rename the CSV");
}

static double pipeline_rate(const char *dir, int map_threads, size_t prefetch, double *wait_frac)
{
	mp_examples_meta m;
	mp_dataset *d;
	const mp_batch *b;
	mp_err err;
	int x[784], i, rc;
	int64_t t0, batches = 0;
	double s;
	volatile float sink = 0;

	if (mp_examples_meta_read(&m, dir, &err) != 0)
		bench_die(err.msg);
	for (i = 0; i < 784; i++)
		x[i] = i;
	{
		mp_dataset_opts o = {.dir = dir,
				     .meta = &m,
				     .split = "train",
				     .x = x,
				     .nx = 784,
				     .y = 784,
				     .batch_size = 64,
				     .shuffle_buffer = 10000,
				     .seed = 42,
				     .epochs = 1,
				     .map_threads = map_threads,
				     .prefetch = prefetch};

		if (mp_dataset_open(&d, &o, &err) != 0)
			bench_die(err.msg);
	}
	t0 = mp_monotonic_ns();
	while ((rc = mp_dataset_next(d, &b, &err)) == 1) {
		sink += b->x[0] + b->y[b->rows - 1];
		batches++;
	}
	if (rc < 0)
		bench_die(err.msg);
	s = (double)(mp_monotonic_ns() - t0) / 1e9;
	*wait_frac = mp_dataset_wait_seconds(d) / s;
	mp_dataset_close(d);
	mp_examples_meta_release(&m);
	(void)sink;
	return (double)batches / s;
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";

	bench_name = "bench_ingest";
	char csv[4096], ex_csv[4096], ex_idx[4096], arg_out[4200], arg_path[4200], cmd[9000];
	double rss, t_ours, t_pandas, t_idx, mb;
	struct stat sb;
	mp_err err;

	if (access(DATA "/train-images-idx3-ubyte.gz", R_OK) != 0)
		bench_die("needs Debian's dataset-fashion-mnist (make deps EXTRA_PKGS=dataset-fashion-mnist)");
	if (mp_mkdirs(out, 0755, &err) != 0)
		bench_die(err.msg);
	snprintf(csv, sizeof(csv), "%s/fashion_mnist_train.csv", out);
	snprintf(ex_csv, sizeof(ex_csv), "%s/ingest_csv", out);
	snprintf(ex_idx, sizeof(ex_idx), "%s/ingest_idx", out);
	if (stat(csv, &sb) != 0) {
		write_csv(csv);
		stat(csv, &sb);
	}
	mb = (double)sb.st_size / 1e6;

	/* 1. CSV against pandas: median of 3 alternating runs (pandas' clock
	 * starts after its import) */
	{
		double ours[3], theirs[3];
		int rep;

		for (rep = 0; rep < 3; rep++) {
			char *av[] = {(char *)mlpipe, "component", "ExampleGen", "--output", arg_out, "--param", "format=csv",
				      "--param", arg_path, "--param", "label=label", NULL};
			char line[256];

			mp_rmtree(ex_csv, NULL);
			snprintf(arg_out, sizeof(arg_out), "examples=%s", ex_csv);
			snprintf(arg_path, sizeof(arg_path), "path=%s", csv);
			ours[rep] = bench_run(av, 1, &rss, -1);
			snprintf(cmd, sizeof(cmd), "/usr/bin/python3 bench/pandas_read_csv.py '%s' 1", csv);
			bench_anchor(cmd, line, sizeof(line), "pandas", "python3-pandas for /usr/bin/python3");
			theirs[rep] = atof(line);
		}
		t_ours = bench_median(ours, 3);
		t_pandas = bench_median(theirs, 3);
	}
	printf("CSV ingest, %.0f MB (60,000 x 785), median of 3 alternating runs:\n", mb);
	printf("  mlpipe ExampleGen   %6.2f s  %6.0f MB/s  peak RSS %4.0f MB\n", t_ours, mb / t_ours, rss);
	printf("  pandas.read_csv     %6.2f s  %6.0f MB/s\n", t_pandas, mb / t_pandas);
	printf("  ratio: %.2fx pandas' MB/s (goal 4x)\n", t_pandas / t_ours);

	/* 2. IDX */
	{
		char *av[] = {(char *)mlpipe, "component", "ExampleGen", "--output", arg_out, "--param", "format=idx",
			      "--param", arg_path, NULL};

		mp_rmtree(ex_idx, NULL);
		snprintf(arg_out, sizeof(arg_out), "examples=%s", ex_idx);
		snprintf(arg_path, sizeof(arg_path), "splits=train=" DATA "/train-images-idx3-ubyte.gz,eval=" DATA
						     "/t10k-images-idx3-ubyte.gz");
		t_idx = bench_run(av, 1, &rss, -1);
		printf("IDX ingest, train + t10k (70,000 images):\n");
		printf("  mlpipe ExampleGen   %6.2f s  %8.0f examples/s  peak RSS %4.0f MB\n", t_idx, 70000 / t_idx, rss);
	}

	/* 3. the input pipeline */
	{
		double w1, w2, w3;
		double sync = pipeline_rate(ex_idx, 0, 0, &w1);
		double pre = pipeline_rate(ex_idx, 0, 4, &w2);
		double par = pipeline_rate(ex_idx, 1, 4, &w3);

		printf("input pipeline, train split, batch 64, shuffle 10,000, 1 epoch:\n");
		printf("  all in the caller's thread          %8.0f batches/s\n", sync);
		printf("  prefetch 4                          %8.0f batches/s  (%.2fx)\n", pre, pre / sync);
		printf("  prefetch 4 + 1 map thread           %8.0f batches/s  (%.2fx)\n", par, par / sync);
		printf("  (the consumer here does no work, so it waits for data %.0f%% of the time)\n", 100 * w3);
	}
	return 0;
}
