/* What the benchmarks share: running a command as a timed child process,
 * a copy of the demo pipeline under another name, and a metric from the
 * store.  Each benchmark sets bench_name first. */
#ifndef MP_BENCH_H
#define MP_BENCH_H

#define _DEFAULT_SOURCE /* wait4 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"
#include "metadata/store.h"

extern char **environ;

static const char *bench_name = "bench"; /* set by each main */

static inline void bench_die(const char *msg)
{
	fprintf(stderr, "%s: %s\n", bench_name, msg);
	exit(1);
}

/* The first line the anchor cmd (most often a Python script) prints, into
 * line; when it fails, dies naming the anchor (what) and what it needs. */
static inline void bench_anchor(const char *cmd, char *line, int n, const char *what, const char *needs)
{
	char msg[512];
	FILE *p;

	if (!(p = popen(cmd, "r")) || !fgets(line, n, p) || pclose(p) != 0) {
		snprintf(msg, sizeof(msg), "the %s anchor failed (needs %s)", what, needs);
		bench_die(msg);
	}
}

/* Runs argv reps times (stdout to /dev/null unless out_fd >= 0); the best
 * wall seconds, and the largest peak RSS in MB of it and the children it
 * waited for. */
static inline double bench_run(char *const argv[], int reps, double *rss_mb, int out_fd)
{
	double best = 1e30;
	int rep;

	*rss_mb = 0;
	for (rep = 0; rep < reps; rep++) {
		posix_spawn_file_actions_t fa;
		struct rusage ru;
		int64_t t0 = mp_monotonic_ns();
		pid_t pid;
		int status;
		double s;

		posix_spawn_file_actions_init(&fa);
		if (out_fd >= 0)
			posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
		else
			posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
			bench_die("cannot start a command");
		posix_spawn_file_actions_destroy(&fa);
		if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "%s: '%s %s' failed\n", bench_name, argv[0], argv[1] ? argv[1] : "");
			exit(1);
		}
		s = (double)(mp_monotonic_ns() - t0) / 1e9;
		if (s < best)
			best = s;
		if (ru.ru_maxrss / 1024.0 > *rss_mb)
			*rss_mb = ru.ru_maxrss / 1024.0;
	}
	return best;
}

/* Writes the pipeline file src (whose pipeline is called from) to yaml,
 * named name with its root (and store) in root below the file's folder;
 * with stop_at, only the components before the one with that id. */
static inline void bench_pipeline_copy(const char *src, const char *from, const char *yaml, const char *name,
				       const char *root, const char *stop_at)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	char *text, stop[128], key[128];
	const char *p;
	size_t n, klen;
	mp_err err;

	snprintf(stop, sizeof(stop), "  - id: %s\n", stop_at ? stop_at : "");
	klen = (size_t)snprintf(key, sizeof(key), "name: %s\n", from);
	if (mp_read_file(src, &text, &n, &err) != 0)
		bench_die(err.msg);
	for (p = text; *p;) {
		if (!strncmp(p, key, klen)) {
			mp_strbuf_addf(&sb, "name: %s\n", name);
			p += klen;
		} else if (!strncmp(p, "root: runs", 10)) {
			mp_strbuf_addf(&sb, "root: %s", root);
			p += 10;
		} else if (!strncmp(p, "metadata: runs/", 15)) {
			mp_strbuf_addf(&sb, "metadata: %s/", root);
			p += 15;
		} else if (stop_at && !strncmp(p, stop, strlen(stop))) {
			break;
		} else {
			mp_strbuf_add(&sb, p++, 1);
		}
	}
	if (sb.failed || mp_write_file_atomic(yaml, sb.buf, sb.len, &err) != 0)
		bench_die("cannot write the pipeline file");
	free(text);
	mp_strbuf_release(&sb);
}

/* The demo pipeline (pipelines/fashion_mnist.yaml), as bench_pipeline_copy. */
static inline void bench_demo_pipeline(const char *yaml, const char *name, const char *root, const char *stop_at)
{
	bench_pipeline_copy("pipelines/fashion_mnist.yaml", "fashion_mnist", yaml, name, root, stop_at);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of v's n values (sorting v): the middle one, or for an even
 * n the mean of the two middle ones. */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The newest value of a metric of pipeline's component in the store db. */
static inline double bench_metric(const char *db, const char *pipeline, const char *component, const char *name)
{
	mp_metric_filter f = {name, pipeline, component, 0, 0};
	mp_metric_history h;
	mp_store *st;
	mp_err err;
	double v;

	if (mp_store_open(&st, db, 0, &err) != 0 || mp_store_metric_history(st, &f, &h, &err) != 0 || !h.n)
		bench_die("no metric in the store");
	v = h.items[h.n - 1].value;
	mp_metric_history_release(&h);
	mp_store_close(st);
	return v;
}

#endif
