/* The orchestration overhead of Slurm per component, on the one-node test
 * cluster (tests/slurm/cluster.sh; needs root and Debian's slurm-wlm): a
 * chain of STEPS Command components that only note the time, run as Slurm
 * jobs.  Per component, from the store's times and the times the jobs
 * wrote: submit to start (the orchestrator began the execution, the job's
 * command started) and end to recorded (the command ended, the store has
 * the execution's end); medians.  The same chain run locally is the
 * anchor.
 *
 *   bench_slurm OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#include "metadata/store.h"

#define STEPS 6

static void write_chain(const char *path, const char *name, const char *kind)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	mp_err err;
	int i;

	mp_strbuf_addf(&sb, "pipeline: { name: %s, root: runs, metadata: runs/%s.db, executor: { kind: %s } }\n"
			    "components:\n", name, name, kind);
	for (i = 0; i < STEPS; i++) {
		mp_strbuf_addf(&sb, "  - id: s%d\n    type: Command\n    outputs: [out]\n", i);
		if (i)
			mp_strbuf_addf(&sb, "    inputs: { prev: s%d.out }\n", i - 1);
		mp_strbuf_adds(&sb, "    params: { cmd: 'date +%s%3N > \"$MLPIPE_OUTPUT_OUT/t0\"; "
				    "date +%s%3N > \"$MLPIPE_OUTPUT_OUT/t1\"' }\n");
	}
	if (sb.failed || mp_write_file_atomic(path, sb.buf, sb.len, &err) != 0)
		bench_die("cannot write the pipeline");
	mp_strbuf_release(&sb);
}

static double read_ms(const char *path)
{
	char *text;
	double v;
	mp_err err;

	if (mp_read_file(path, &text, NULL, &err) != 0)
		bench_die(err.msg);
	v = atof(text);
	free(text);
	return v;
}

/* The newest run's wall time (s), and per step submit-to-start and
 * end-to-recorded (ms) into up[] and down[]. */
static double measure(const char *dir, const char *name, double *up, double *down)
{
	char db[8192], path[8192];
	mp_run_list rl = {0};
	mp_execution_list el = {0};
	mp_store *st;
	mp_err err;
	double wall;
	size_t i;

	snprintf(db, sizeof(db), "%s/runs/%s.db", dir, name);
	if (mp_store_open(&st, db, 0, &err) != 0 || mp_store_list_runs(st, name, 1, &rl, &err) != 0 || !rl.n ||
	    mp_store_run_executions(st, rl.items[0].id, &el, &err) != 0 || el.n != STEPS)
		bench_die("the chain did not run");
	wall = (double)(rl.items[0].end_ms - rl.items[0].start_ms) / 1e3;
	for (i = 0; i < el.n; i++) {
		const mp_execution *e = &el.items[i];

		snprintf(path, sizeof(path), "%s/runs/%s/%s/out/%lld/t0", dir, name, e->component_id, (long long)e->id);
		up[i] = read_ms(path) - (double)e->start_ms;
		snprintf(path, sizeof(path), "%s/runs/%s/%s/out/%lld/t1", dir, name, e->component_id, (long long)e->id);
		down[i] = (double)e->end_ms - read_ms(path);
	}
	mp_execution_list_release(&el);
	mp_run_list_release(&rl);
	mp_store_close(st);
	qsort(up, STEPS, sizeof(double), bench_cmp_double);
	qsort(down, STEPS, sizeof(double), bench_cmp_double);
	return wall;
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char dir[4096], cl[4200], cmd[16384], conf[4300], y[2][4200];
	double up[2][STEPS], down[2][STEPS], wall[2], rss;
	mp_err err;
	int k;

	bench_name = "bench_slurm";
	if (geteuid() != 0 || system("command -v slurmctld >/dev/null && command -v sbatch >/dev/null") != 0) {
		printf("Slurm orchestration overhead: skipped (needs root and Debian's slurm-wlm for the test cluster)\n");
		return 0;
	}
	{
		/* absolute: the cluster's files are named in its slurm.conf */
		char cwd[2048];

		if (!getcwd(cwd, sizeof(cwd)))
			bench_die("cannot read the current folder");
		snprintf(dir, sizeof(dir), "%s%s%s/slurm", out[0] == '/' ? "" : cwd, out[0] == '/' ? "" : "/", out);
	}
	snprintf(cl, sizeof(cl), "%s/cluster", dir);
	mp_rmtree(dir, NULL);
	if (mp_mkdirs(cl, 0755, &err) != 0)
		bench_die(err.msg);
	snprintf(cmd, sizeof(cmd), "bash -c 'source tests/slurm/cluster.sh && slurm_start \"%s\"' >/dev/null 2>&1", cl);
	if (system(cmd) != 0)
		bench_die("the test cluster did not start");
	snprintf(conf, sizeof(conf), "%s/slurm.conf", cl);
	setenv("SLURM_CONF", conf, 1);
	snprintf(y[0], sizeof(y[0]), "%s/local.yaml", dir);
	snprintf(y[1], sizeof(y[1]), "%s/slurm.yaml", dir);
	write_chain(y[0], "local", "local");
	write_chain(y[1], "onslurm", "slurm");
	for (k = 0; k < 2; k++) {
		char *run[] = {(char *)mlpipe, "--quiet", "run", y[k], NULL};

		bench_run(run, 1, &rss, -1);
		wall[k] = measure(dir, k ? "onslurm" : "local", up[k], down[k]);
	}
	snprintf(cmd, sizeof(cmd), "bash -c 'source tests/slurm/cluster.sh && slurm_stop \"%s\"' >/dev/null 2>&1", cl);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_slurm: the test cluster did not stop cleanly\n");
	printf("orchestration overhead per component, a chain of %d Command steps (medians; one-node test cluster):\n",
	       STEPS);
	printf("  %-8s %10s %16s %18s\n", "executor", "wall s", "submit->start ms", "end->recorded ms");
	printf("  %-8s %10.2f %16.0f %18.0f\n", "local", wall[0], up[0][STEPS / 2], down[0][STEPS / 2]);
	printf("  %-8s %10.2f %16.0f %18.0f\n", "slurm", wall[1], up[1][STEPS / 2], down[1][STEPS / 2]);
	printf("  slurm costs %.2f s more per component than a local child\n", (wall[1] - wall[0]) / STEPS);
	return 0;
}
