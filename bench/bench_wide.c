/* Wide data: 60 rows x 40,000 numeric columns (a gene-expression shape).
 * Nothing may be quadratic in the number of columns.  The anchor is
 * StatisticsGen on the same data, which reads every value twice; the goal
 * is ExampleValidator and the Evaluator at most 2x its time.  Each is the
 * median of 5 alternating runs of `mlpipe component`.
 *
 *   bench_wide OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#include <dirent.h>

#define ROWS 60
#define COLS 40000
#define REPS 5

/* The one entry of dir (an artifact's execution folder), as a path. */
static char *only_entry(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *path = NULL;

	if (!d)
		bench_die("an artifact folder is missing");
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			free(path);
			path = mp_asprintf("%s/%s", dir, e->d_name);
		}
	closedir(d);
	if (!path)
		bench_die("an artifact folder is empty");
	return path;
}

int main(int argc, char **argv)
{
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char *dir, *csv, *yaml, *runs, *ex, *st, *sc, *model, *scratch;
	double t[3][REPS], med[3], rss;
	uint64_t rng = 42;
	mp_strbuf sb = MP_STRBUF_INIT;
	mp_err err;
	FILE *f;
	int r, c, k;

	bench_name = "bench_wide";
	if (argc != 2)
		bench_die("usage: bench_wide OUTDIR");
	dir = mp_asprintf("%s/wide", argv[1]);
	csv = mp_asprintf("%s/wide.csv", dir);
	yaml = mp_asprintf("%s/wide.yaml", dir);
	runs = mp_asprintf("%s/runs", dir);
	scratch = mp_asprintf("%s/scratch", dir);
	mp_rmtree(dir, NULL);
	if (mp_mkdirs(dir, 0755, &err) != 0 || !(f = fopen(csv, "w")))
		bench_die("cannot write the data");
	for (c = 0; c < COLS; c++)
		fprintf(f, "g%d,", c);
	fprintf(f, "y\n");
	for (r = 0; r < ROWS; r++) {
		for (c = 0; c < COLS; c++)
			fprintf(f, "%.3f,", (double)(mp_splitmix64(&rng) % 10000) / 1000);
		fprintf(f, "%d\n", r % 2);
	}
	fclose(f);
	mp_strbuf_adds(&sb, "pipeline: { name: wide, root: runs, metadata: runs/m.db }\n"
			    "components:\n"
			    "  - { id: ingest, type: ExampleGen, params: { format: csv, path: wide.csv, label: y, "
			    "eval_fraction: 0.3 } }\n"
			    "  - { id: statistics, type: StatisticsGen, inputs: { examples: ingest.examples } }\n"
			    "  - { id: schema, type: SchemaGen, inputs: { statistics: statistics.statistics } }\n"
			    "  - { id: validate, type: ExampleValidator, inputs: { statistics: statistics.statistics, "
			    "schema: schema.schema } }\n"
			    "  - { id: transform, type: Transform, inputs: { examples: ingest.examples, statistics: "
			    "statistics.statistics } }\n"
			    "  - { id: train, type: Trainer, inputs: { examples: ingest.examples, transform: "
			    "transform.transform }, params: { apply_transform: true, epochs: 1, validation_fraction: 0, "
			    "model: { layers: [ {dense: auto} ] } } }\n");
	if (sb.failed || mp_write_file_atomic(yaml, sb.buf, sb.len, &err) != 0)
		bench_die("cannot write the pipeline");
	mp_strbuf_release(&sb);
	{
		char *run[] = {(char *)mlpipe, "--quiet", "run", yaml, NULL};

		bench_run(run, 1, &rss, -1);
	}
	{
		char *d1 = mp_asprintf("%s/wide/ingest/examples", runs), *d2 = mp_asprintf("%s/wide/statistics/statistics", runs);
		char *d3 = mp_asprintf("%s/wide/schema/schema", runs), *d4 = mp_asprintf("%s/wide/train/model", runs);

		ex = only_entry(d1);
		st = only_entry(d2);
		sc = only_entry(d3);
		model = only_entry(d4);
		free(d1);
		free(d2);
		free(d3);
		free(d4);
	}
	for (k = 0; k < REPS; k++) {
		char *in_ex = mp_asprintf("examples=%s", ex), *in_st = mp_asprintf("statistics=%s", st);
		char *in_sc = mp_asprintf("schema=%s", sc), *in_m = mp_asprintf("model=%s", model);
		char *o1 = mp_asprintf("statistics=%s/s%d", scratch, k), *o2 = mp_asprintf("anomalies=%s/a%d", scratch, k);
		char *o3 = mp_asprintf("evaluation=%s/e%d", scratch, k), *o4 = mp_asprintf("blessing=%s/b%d", scratch, k);
		char *stats[] = {(char *)mlpipe, "--quiet", "component", "StatisticsGen", "--input", in_ex, "--output", o1, NULL};
		char *val[] = {(char *)mlpipe, "--quiet", "component", "ExampleValidator", "--input", in_st, "--input", in_sc,
			       "--output", o2, NULL};
		char *ev[] = {(char *)mlpipe, "--quiet", "component", "Evaluator", "--input", in_ex, "--input", in_m,
			      "--output", o3, "--output", o4, NULL};

		t[0][k] = bench_run(stats, 1, &rss, -1);
		t[1][k] = bench_run(val, 1, &rss, -1);
		t[2][k] = bench_run(ev, 1, &rss, -1);
		free(in_ex);
		free(in_st);
		free(in_sc);
		free(in_m);
		free(o1);
		free(o2);
		free(o3);
		free(o4);
	}
	for (k = 0; k < 3; k++)
		med[k] = bench_median(t[k], REPS);
	printf("wide data, %d rows x %d columns, median of %d alternating runs:\n", ROWS, COLS, REPS);
	printf("  %-18s %8.3f s  (the anchor)\n", "StatisticsGen", med[0]);
	printf("  %-18s %8.3f s  %5.2fx StatisticsGen (goal <= 2x)\n", "ExampleValidator", med[1],
	       med[1] / med[0]);
	printf("  %-18s %8.3f s  %5.2fx StatisticsGen (goal <= 2x)\n", "Evaluator", med[2],
	       med[2] / med[0]);
	mp_rmtree(dir, NULL);
	free(dir);
	free(csv);
	free(yaml);
	free(runs);
	free(scratch);
	free(ex);
	free(st);
	free(sc);
	free(model);
	return 0;
}
