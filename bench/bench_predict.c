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
#define _DEFAULT_SOURCE /* wait4 */
#include <fcntl.h>
#include <glob.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"

#define DATA "/usr/share/datasets/fashion-mnist"
#define IMAGES DATA "/train-images-idx3-ubyte.gz"
#define REPS 3

extern char **environ;

static void die(const char *msg)
{
	fprintf(stderr, "bench_predict: %s\n", msg);
	exit(1);
}

/* Runs argv with stdout and stderr to /dev/null; wall seconds, and the
 * peak RSS in MB. */
static double run(char *const argv[], double *rss_mb)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	int64_t t0 = mp_monotonic_ns();
	pid_t pid;
	int status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		die("cannot start a command");
	posix_spawn_file_actions_destroy(&fa);
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("a command failed");
	*rss_mb = ru.ru_maxrss / 1024.0;
	return (double)(mp_monotonic_ns() - t0) / 1e9;
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char yaml[4096], root[4096], csv[4096], tcsv[4096], cmd[8192], line[256], *text;
	double best = 1e30, rss = 0, tsps = 0, trss = 0, r;
	mp_strbuf sb = MP_STRBUF_INIT;
	glob_t g;
	size_t n;
	const char *p;
	FILE *fp;
	int i;
	mp_err err;

	if (access(IMAGES, R_OK) != 0)
		die("needs Debian's dataset-fashion-mnist");
	if (mp_mkdirs(out, 0755, &err) != 0)
		die(err.msg);
	snprintf(yaml, sizeof(yaml), "%s/bench_predict.yaml", out);
	snprintf(root, sizeof(root), "%s/predict_runs", out);
	snprintf(csv, sizeof(csv), "%s/predictions.csv", out);
	snprintf(tcsv, sizeof(tcsv), "%s/predictions_torch.csv", out);
	mp_rmtree(root, NULL);
	/* the demo pipeline under another name and root, up to the Trainer */
	if (mp_read_file("pipelines/fashion_mnist.yaml", &text, &n, &err) != 0)
		die(err.msg);
	for (p = text; *p;) {
		if (!strncmp(p, "name: fashion_mnist", 19)) {
			mp_strbuf_adds(&sb, "name: bench_predict");
			p += 19;
		} else if (!strncmp(p, "root: runs", 10)) {
			mp_strbuf_adds(&sb, "root: predict_runs");
			p += 10;
		} else if (!strncmp(p, "metadata: runs/", 15)) {
			mp_strbuf_adds(&sb, "metadata: predict_runs/");
			p += 15;
		} else if (!strncmp(p, "  - id: evaluate", 16)) {
			break;
		} else {
			mp_strbuf_add(&sb, p++, 1);
		}
	}
	if (mp_write_file_atomic(yaml, sb.buf, sb.len, &err) != 0)
		die(err.msg);
	free(text);
	mp_strbuf_release(&sb);
	{
		char *train[] = {(char *)mlpipe, "run", yaml, "--set", "train.epochs=1", NULL};

		run(train, &r);
	}
	snprintf(cmd, sizeof(cmd), "%s/bench_predict/train/model/*/model.mlpm", root);
	if (glob(cmd, 0, NULL, &g) != 0 || g.gl_pathc != 1)
		die("the pipeline made no model");

	for (i = 0; i < REPS; i++) {
		char *predict[] = {(char *)mlpipe, "predict", g.gl_pathv[0], IMAGES, "-o", csv, NULL};
		double s = run(predict, &r);

		if (s < best)
			best = s;
		if (r > rss)
			rss = r;
	}
	for (i = 0; i < REPS; i++) {
		double sps, m;

		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 bench/torch_predict.py %s %s", IMAGES, tcsv);
		if (!(fp = popen(cmd, "r")) || !fgets(line, sizeof(line), fp) || pclose(fp) != 0)
			die("the PyTorch anchor failed (needs python3-torch and python3-pandas for /usr/bin/python3)");
		if (sscanf(line, "%lf %lf", &sps, &m) != 2)
			die("cannot read the PyTorch anchor's output");
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
