/* Linear growth: ingest, statistics and one epoch of training on the real
 * Fashion-MNIST train split at 1x and at 4x (the same 60,000 images
 * written four times into one IDX file), each step as `mlpipe component`.
 * Time should grow 4x and the peak RSS of the streaming steps stay flat
 * (the Trainer here streams too: cache: false).  Median of 3 alternating
 * runs; printed as ratios of 4x to 1x.
 *
 *   bench_scale OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#include <zlib.h>

#include "data/idx.h"

#define DATA "/usr/share/datasets/fashion-mnist"
#define RUNS 3
#define STEPS 3

/* Writes the train images and labels TIMES times over into dir, as IDX
 * files named as Debian ships them (ExampleGen finds the labels by name). */
static void write_repeated(const char *dir, int times)
{
	static const char *const names[2] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"};
	int f, k;

	for (f = 0; f < 2; f++) {
		char in[4096], out[4200];
		uint8_t buf[784 * 100];
		mp_idx x;
		mp_err err;
		gzFile gz;

		snprintf(in, sizeof(in), "%s/%s", DATA, names[f]);
		snprintf(out, sizeof(out), "%s/%s", dir, names[f]);
		if (access(out, R_OK) == 0)
			continue;
		if (!(gz = gzopen(out, "wb1")))
			bench_die("cannot write the repeated IDX files");
		for (k = 0; k < times; k++) {
			size_t got;

			if (mp_idx_open(&x, in, f ? 1 : 3, &err) != 0)
				bench_die(err.msg);
			if (k == 0) {
				uint8_t head[16];
				int d;

				/* the magic, then the dimensions with the count times over */
				head[0] = head[1] = 0;
				head[2] = 8;
				head[3] = (uint8_t)x.dims;
				for (d = 0; d < x.dims; d++) {
					uint32_t v = d == 0 ? x.shape[0] * (uint32_t)times : x.shape[d];

					head[4 + 4 * d] = (uint8_t)(v >> 24);
					head[5 + 4 * d] = (uint8_t)(v >> 16);
					head[6 + 4 * d] = (uint8_t)(v >> 8);
					head[7 + 4 * d] = (uint8_t)v;
				}
				gzwrite(gz, head, (unsigned)(4 + 4 * x.dims));
			}
			while (mp_idx_read(&x, buf, sizeof(buf) / x.item_size, &got, &err) == 0 && got)
				gzwrite(gz, buf, (unsigned)(got * x.item_size));
			mp_idx_close(&x);
		}
		if (gzclose(gz) != Z_OK)
			bench_die("cannot write the repeated IDX files");
	}
}

int main(int argc, char **argv)
{
	static const char *const step_name[STEPS] = {"ExampleGen (IDX to shards)", "StatisticsGen",
						     "Trainer, 1 epoch, streaming"};
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	double t[2][STEPS][RUNS], rss[2][STEPS][RUNS];
	char dir[2][4096];
	int s, k, run;
	mp_err err;

	bench_name = "bench_scale";
	if (access(DATA "/train-images-idx3-ubyte.gz", R_OK) != 0)
		bench_die("needs Debian's dataset-fashion-mnist");
	for (s = 0; s < 2; s++) {
		snprintf(dir[s], sizeof(dir[s]), "%s/scale%d", out, s ? 4 : 1);
		if (mp_mkdirs(dir[s], 0755, &err) != 0)
			bench_die(err.msg);
		write_repeated(dir[s], s ? 4 : 1);
	}
	for (run = 0; run < RUNS; run++)
		for (s = 0; s < 2; s++) {
			char ex[8300], st[8300], model[8300], a1[8400], a2[8400];

			snprintf(ex, sizeof(ex), "%s/examples", dir[s]);
			snprintf(st, sizeof(st), "%s/statistics", dir[s]);
			snprintf(model, sizeof(model), "%s/model", dir[s]);
			for (k = 0; k < STEPS; k++) {
				char *gen[] = {(char *)mlpipe, "component", "ExampleGen", "--output", a1, "--param", "format=idx",
					       "--param", a2, NULL};
				char *stats[] = {(char *)mlpipe, "component", "StatisticsGen", "--input", a1, "--output", a2,
						 NULL};
				char *train[] = {(char *)mlpipe, "component", "Trainer", "--input", a1, "--output", a2,
						 "--param", "model={\"layers\":[{\"dense\":128,\"activation\":\"relu\"},{\"dense\":10}]}",
						 "--param", "loss=softmax_cross_entropy", "--param", "epochs=1", "--param",
						 "cache=false", "--param", "validation_fraction=0", NULL};
				char **argv_k = k == 0 ? gen : k == 1 ? stats : train;

				mp_rmtree(k == 0 ? ex : k == 1 ? st : model, NULL);
				if (k == 0) {
					snprintf(a1, sizeof(a1), "examples=%s", ex);
					snprintf(a2, sizeof(a2), "splits=train=%s/train-images-idx3-ubyte.gz", dir[s]);
				} else {
					snprintf(a1, sizeof(a1), "examples=%s", ex);
					snprintf(a2, sizeof(a2), k == 1 ? "statistics=%s" : "model=%s", k == 1 ? st : model);
				}
				t[s][k][run] = bench_run(argv_k, 1, &rss[s][k][run], -1);
			}
		}
	printf("linear growth: Fashion-MNIST's train split at 1x (60,000) and 4x (240,000), median of %d alternating "
	       "runs:\n", RUNS);
	printf("  %-30s %8s %8s %7s %10s %10s %7s\n", "", "1x s", "4x s", "ratio", "1x RSS MB", "4x RSS MB", "ratio");
	for (k = 0; k < STEPS; k++) {
		double t1 = bench_median(t[0][k], RUNS), t4 = bench_median(t[1][k], RUNS), r1 = bench_median(rss[0][k], RUNS), r4 = bench_median(rss[1][k], RUNS);

		printf("  %-30s %8.2f %8.2f %6.2fx %10.0f %10.0f %6.2fx\n", step_name[k], t1, t4, t4 / t1, r1, r4, r4 / r1);
	}
	printf("  (goals: time about 4x, RSS about 1x)\n");
	return 0;
}
