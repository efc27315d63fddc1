/* Metadata benchmark: record 100,000 executions (each with 2 input and 2
 * output artifacts and 5 metrics), keeping a copy of the store as it was at
 * 10,000, then time the questions people ask with `mlpipe meta` on both.
 * Goals: recording time flat (the last 10,000 executions cost what the
 * first 10,000 did, and under 1 ms each), and every query under 50 ms at
 * 100,000; printed as ratios to those goals.
 *
 *   bench_metadata OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#define PER_RUN 10	   /* components per run */
#define SMALL_RUNS 1000	   /* 10,000 executions */
#define LARGE_RUNS 10000   /* 100,000 executions */
#define REPS 3		   /* alternating runs of each query on each store */

static void die(const mp_err *err)
{
	bench_die(err->msg);
}

typedef struct chain {
	int64_t prev[2];      /* the last run's last two outputs */
	int64_t last_model;   /* the newest Model artifact */
	int64_t run;	      /* the newest run */
} chain;

/* Records runs [from, to) of PER_RUN components each; returns the wall
 * milliseconds per execution. */
static double record(mp_store *st, const char *outdir, int from, int to, chain *ch)
{
	int64_t t0 = mp_monotonic_ns();
	mp_err err;
	int r, c, i;

	for (r = from; r < to; r++) {
		mp_prop pp = MP_PROP_I("seed", r);

		if (mp_store_begin_run(st, "bench", outdir, &pp, 1, &ch->run, &err) != 0)
			die(&err);
		for (c = 0; c < PER_RUN; c++) {
			char id[16], uri[2][512], key[32];
			mp_prop params[] = {MP_PROP_I("epochs", 10), MP_PROP_D("lr", 0.001)};
			/* the first component of a run reads the last two outputs of the
			 * run before, so lineage crosses runs as retraining does */
			mp_input in[] = {{"a", ch->prev[0]}, {"b", ch->prev[1]}};
			mp_output out[] = {{"x", "Examples", uri[0], "f0", NULL, 0, 0},
					   {"y", "Model", uri[1], "f1", NULL, 0, 0}};
			mp_metric m[5];
			mp_exec_spec spec = {ch->run, id, "Step", key, params, 2, in, ch->prev[0] ? 2 : 0};
			mp_exec_result res = {MP_EXEC_COMPLETE, NULL, out, 2, m, 5};
			int64_t eid;

			snprintf(id, sizeof(id), "c%d", c);
			snprintf(key, sizeof(key), "k%d-%d", r, c);
			for (i = 0; i < 2; i++)
				snprintf(uri[i], sizeof(uri[i]), "%s/bench/c%d/%c/%d", outdir, c, 'x' + i, r);
			for (i = 0; i < 5; i++) {
				static const char *const names[] = {"loss", "accuracy", "auc", "rows", "seconds"};

				m[i].name = names[i];
				m[i].step = 0;
				m[i].value = 1.0 / (1 + r + c + i);
			}
			if (mp_store_begin_execution(st, &spec, &eid, &err) != 0 ||
			    mp_store_finish_execution(st, eid, &res, &err) != 0)
				die(&err);
			ch->prev[0] = out[0].id;
			ch->prev[1] = out[1].id;
			ch->last_model = out[1].id;
		}
		if (mp_store_end_run(st, ch->run, MP_EXEC_COMPLETE, &err) != 0)
			die(&err);
	}
	return (double)(mp_monotonic_ns() - t0) / 1e6 / ((double)(to - from) * PER_RUN);
}

static void copy_file(const char *from, const char *to)
{
	char *text;
	size_t n;
	mp_err err;

	if (mp_read_file(from, &text, &n, &err) != 0 || mp_write_file_atomic(to, text, n, &err) != 0)
		die(&err);
	free(text);
}

typedef struct query {
	const char *what;
	int dump; /* prints everything: judged per line, not against 50 ms */
	const char *args[8]; /* after `meta --db DB`; "RUN" and "MODEL" are filled in */
} query;

/* Runs one query on db as a whole `mlpipe meta` process; wall ms, and the
 * lines it printed in *lines. */
static double time_query(const char *bin, const char *db, const char *outdir, const query *q, const chain *ch,
			 long *lines)
{
	char run[24], model[24], out[600];
	char *argv[16];
	double rss, ms;
	int n = 0, i, fd, c;
	FILE *f;

	snprintf(run, sizeof(run), "%lld", (long long)ch->run);
	snprintf(model, sizeof(model), "%lld", (long long)ch->last_model);
	snprintf(out, sizeof(out), "%s/bench_metadata.out", outdir);
	argv[n++] = (char *)bin;
	argv[n++] = "meta";
	argv[n++] = "--db";
	argv[n++] = (char *)db;
	for (i = 0; q->args[i]; i++)
		argv[n++] = !strcmp(q->args[i], "RUN") ? run : !strcmp(q->args[i], "MODEL") ? model : (char *)q->args[i];
	argv[n] = NULL;
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		bench_die("cannot write the query's output");
	ms = bench_run(argv, 1, &rss, fd) * 1e3;
	close(fd);
	*lines = 0;
	if (!(f = fopen(out, "r")))
		bench_die("cannot read the query's output");
	while ((c = getc(f)) != EOF)
		*lines += c == '\n';
	fclose(f);
	return ms;
}

int main(int argc, char **argv)
{
	static const query queries[] = {
		{"meta runs (the newest 20)", 0, {"runs", NULL}},
		{"meta run last", 0, {"run", "last", NULL}},
		{"meta run ID --json", 0, {"run", "RUN", "--json", NULL}},
		{"meta artifacts (the newest 50)", 0, {"artifacts", NULL}},
		{"meta artifacts --run ID", 0, {"artifacts", "--run", "RUN", NULL}},
		{"meta lineage MODEL (12 levels)", 0, {"lineage", "MODEL", NULL}},
		{"meta lineage MODEL --depth 0 (1,000 nodes)", 0, {"lineage", "MODEL", "--depth", "0", NULL}},
		{"meta metrics --name loss --component c9", 0, {"metrics", "--name", "loss", "--component", "c9", NULL}},
		{"meta metrics --name loss (every component)", 0, {"metrics", "--name", "loss", NULL}},
		{"meta diff 2 ID", 0, {"diff", "2", "RUN", NULL}},
		{"meta runs --limit 0", 1, {"runs", "--limit", "0", NULL}},
		{"meta lineage MODEL --depth 0 --limit 0", 1, {"lineage", "MODEL", "--depth", "0", "--limit", "0", NULL}},
		{"meta metrics --name loss --limit 0", 1, {"metrics", "--name", "loss", "--limit", "0", NULL}},
	};
	const char *outdir = argc > 1 ? argv[1] : "bench/out";
	const char *bin = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char db[2][512];
	chain ch = {{0, 0}, 0, 0}, small;
	double first_ms, last_ms;
	mp_store *st;
	mp_err err;
	size_t k;

	bench_name = "bench_metadata";
	if (mp_mkdirs(outdir, 0755, &err) != 0)
		die(&err);
	snprintf(db[0], sizeof(db[0]), "%s/bench_metadata_10k.db", outdir);
	snprintf(db[1], sizeof(db[1]), "%s/bench_metadata_100k.db", outdir);
	unlink(db[0]);
	unlink(db[1]);
	if (mp_store_open(&st, db[1], MP_STORE_CREATE, &err) != 0)
		die(&err);
	first_ms = record(st, outdir, 0, SMALL_RUNS, &ch);
	mp_store_close(st);
	copy_file(db[1], db[0]);
	small = ch;
	if (mp_store_open(&st, db[1], 0, &err) != 0)
		die(&err);
	record(st, outdir, SMALL_RUNS, LARGE_RUNS - SMALL_RUNS, &ch);
	last_ms = record(st, outdir, LARGE_RUNS - SMALL_RUNS, LARGE_RUNS, &ch);
	mp_store_close(st);

	printf("metadata store: %d and %d executions, each 2 inputs, 2 outputs, 5 metrics\n",
	       SMALL_RUNS * PER_RUN, LARGE_RUNS * PER_RUN);
	printf("  %-44s %8.3f ms  %8.3f ms  (last/first %.2fx; goal 1 ms: %.1fx under)\n",
	       "record one execution (first/last 10,000)", first_ms, last_ms, last_ms / first_ms,
	       1.0 / (last_ms > first_ms ? last_ms : first_ms));
	printf("  %-44s %11s  %11s\n", "query (a page unless --limit 0)", "at 10k", "at 100k");
	for (k = 0; k < sizeof(queries) / sizeof(queries[0]); k++) {
		double t[2][REPS], ms[2];
		long lines[2];
		int rep, s;

		if (queries[k].dump && k > 0 && !queries[k - 1].dump)
			printf("  everything, for scripts (judged per line printed: time should follow the lines)\n");
		for (rep = 0; rep < REPS; rep++)
			for (s = 0; s < 2; s++)
				t[s][rep] = time_query(bin, db[s], outdir, &queries[k], s ? &ch : &small, &lines[s]);
		for (s = 0; s < 2; s++)
			ms[s] = bench_median(t[s], REPS);
		if (queries[k].dump)
			printf("  %-44s %8.1f ms  %8.1f ms  (%ld and %ld lines: %.2f and %.2f us a line)\n",
			       queries[k].what, ms[0], ms[1], lines[0], lines[1], ms[0] * 1e3 / (double)lines[0],
			       ms[1] * 1e3 / (double)lines[1]);
		else
			printf("  %-44s %8.1f ms  %8.1f ms  (100k/10k %.2fx; goal 50 ms: %.1fx %s)\n", queries[k].what,
			       ms[0], ms[1], ms[1] / ms[0], ms[1] < 50 ? 50 / ms[1] : ms[1] / 50,
			       ms[1] < 50 ? "under" : "OVER");
	}
	printf("  (whole `mlpipe meta` processes, output to a file, the median of %d runs alternating\n"
	       "   between the two stores; every run's first component reads the run before's\n"
	       "   outputs, so the full lineage of the newest model spans every run)\n",
	       REPS);
	return 0;
}
