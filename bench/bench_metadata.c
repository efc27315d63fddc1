/* Metadata benchmark: record 10,000 executions (each with 2 input and 2
 * output artifacts and 5 metrics), then time the questions people ask with
 * `mlpipe meta` on that database.  Goals: under 1 ms per recorded execution,
 * every query under 50 ms; printed as ratios to those goals.
 *
 *   bench_metadata OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "metadata/store.h"

#define RUNS 1000
#define PER_RUN 10 /* components per run: 10,000 executions in all */

extern char **environ;

static void die(const mp_err *err)
{
	fprintf(stderr, "bench_metadata: %s\n", err->msg);
	exit(1);
}

/* Runs argv with stdout to /dev/null; returns wall milliseconds (best of 3). */
static double time_command(char *const argv[])
{
	double best = 1e30;
	int rep;

	for (rep = 0; rep < 3; rep++) {
		posix_spawn_file_actions_t fa;
		int64_t t0 = mp_monotonic_ns();
		pid_t pid;
		int status;
		double ms;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
			fprintf(stderr, "bench_metadata: cannot run %s\n", argv[0]);
			exit(1);
		}
		posix_spawn_file_actions_destroy(&fa);
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "bench_metadata: '%s %s %s' failed\n", argv[0], argv[3], argv[4]);
			exit(1);
		}
		ms = (double)(mp_monotonic_ns() - t0) / 1e6;
		if (ms < best)
			best = ms;
	}
	return best;
}

int main(int argc, char **argv)
{
	const char *outdir = argc > 1 ? argv[1] : "bench/out";
	const char *bin = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char db[512], uri[2][512], runarg[32], lineagearg[32];
	int64_t prev[2] = {0, 0}, last_artifact = 0, run = 0;
	mp_store *st;
	mp_err err;
	int64_t t0;
	double record_ms;
	int r, c, i;

	snprintf(db, sizeof(db), "%s/bench_metadata.db", outdir);
	if (mp_mkdirs(outdir, 0755, &err) != 0)
		die(&err);
	unlink(db);
	if (mp_store_open(&st, db, MP_STORE_CREATE, &err) != 0)
		die(&err);

	t0 = mp_monotonic_ns();
	for (r = 0; r < RUNS; r++) {
		mp_prop pp = MP_PROP_I("seed", r);

		if (mp_store_begin_run(st, "bench", outdir, &pp, 1, &run, &err) != 0)
			die(&err);
		for (c = 0; c < PER_RUN; c++) {
			char id[16];
			mp_prop params[] = {MP_PROP_I("epochs", 10), MP_PROP_D("lr", 0.001)};
			/* the first component of a run reads the last two outputs of the
			 * run before, so lineage crosses runs as retraining does */
			mp_input in[] = {{"a", prev[0]}, {"b", prev[1]}};
			mp_output out[] = {{"x", "Examples", uri[0], "f0", NULL, 0, 0},
					   {"y", "Model", uri[1], "f1", NULL, 0, 0}};
			mp_metric m[5];
			mp_exec_spec spec = {run, id, "Step", NULL, params, 2, in, prev[0] ? 2 : 0};
			mp_exec_result res = {MP_EXEC_COMPLETE, NULL, out, 2, m, 5};
			int64_t eid;
			char key[32];

			snprintf(id, sizeof(id), "c%d", c);
			snprintf(key, sizeof(key), "k%d-%d", r, c);
			spec.cache_key = key;
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
			prev[0] = out[0].id;
			prev[1] = out[1].id;
			last_artifact = out[1].id;
		}
		if (mp_store_end_run(st, run, MP_EXEC_COMPLETE, &err) != 0)
			die(&err);
	}
	record_ms = (double)(mp_monotonic_ns() - t0) / 1e6;
	mp_store_close(st);

	printf("metadata store: %d executions, each 2 inputs, 2 outputs, 5 metrics\n", RUNS * PER_RUN);
	printf("  %-44s %8.3f ms  (goal 1 ms: %.1fx under)\n", "record one execution (begin + finish)",
	       record_ms / (RUNS * PER_RUN), 1.0 / (record_ms / (RUNS * PER_RUN)));
	snprintf(runarg, sizeof(runarg), "%lld", (long long)run);
	snprintf(lineagearg, sizeof(lineagearg), "%lld", (long long)last_artifact);
	{
		struct {
			const char *what;
			char *argv[12];
		} q[] = {
			{"meta runs (all 1,000)", {(char *)bin, "meta", "--db", db, "runs", NULL}},
			{"meta run last", {(char *)bin, "meta", "--db", db, "run", "last", NULL}},
			{"meta run ID --json", {(char *)bin, "meta", "--db", db, "run", runarg, "--json", NULL}},
			{"meta lineage (newest model, 12 levels)", {(char *)bin, "meta", "--db", db, "lineage", lineagearg, NULL}},
			{"meta lineage --depth 0 (40,000 nodes)", {(char *)bin, "meta", "--db", db, "lineage", lineagearg, "--depth", "0", NULL}},
			{"meta metrics --name loss --component c9", {(char *)bin, "meta", "--db", db, "metrics", "--name", "loss", "--component", "c9", NULL}},
			{"meta metrics --name loss (every component)", {(char *)bin, "meta", "--db", db, "metrics", "--name", "loss", NULL}},
			{"meta diff 2 ID", {(char *)bin, "meta", "--db", db, "diff", "2", runarg, NULL}},
			{"meta artifacts --run ID", {(char *)bin, "meta", "--db", db, "artifacts", "--run", runarg, NULL}},
		};
		size_t k;

		for (k = 0; k < sizeof(q) / sizeof(q[0]); k++) {
			double ms = time_command(q[k].argv);

			printf("  %-44s %8.1f ms  (goal 50 ms: %.1fx %s)\n", q[k].what, ms,
			       ms < 50 ? 50 / ms : ms / 50, ms < 50 ? "under" : "OVER");
		}
	}
	printf("  (query times are whole `mlpipe meta` processes writing to /dev/null, best of 3;\n"
	       "   every run's first component reads the run before's outputs, so the full\n"
	       "   lineage of the newest model spans all 1,000 runs)\n");
	return 0;
}
