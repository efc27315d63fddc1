/* Serving benchmark: `mlpipe serve` against FastAPI + uvicorn + PyTorch
 * (bench/fastapi_serve.py) serving the same 784-128-10 MLP with the same
 * REST shape, in the same run.  Both are driven by wrk (bench/wrk_post.lua)
 * POSTing `instances` of real Fashion-MNIST t10k images, at 1 row and at
 * 64 rows per request, with 8 connections; requests/s and p50/p99
 * latency, the median of alternating runs.  The model comes from the demo
 * pipeline trained for one epoch (the work does not depend on the weights).
 *
 *   bench_serve OUTDIR      ($MLPIPE names the binary; default ./mlpipe)
 */
#include "bench/bench.h"

#include <glob.h>
#include <math.h>
#include <signal.h>
#include <sys/wait.h>

#include "data/idx.h"

#define DATA "/usr/share/datasets/fashion-mnist"
#define RUNS 3
#define SECONDS "4"

/* t10k's first rows images as {"instances": [[784 numbers], ...]} into path. */
static void write_body(const char *path, int rows)
{
	mp_idx x;
	uint8_t img[784];
	size_t got;
	mp_err err;
	FILE *f = fopen(path, "w");
	int r, k;

	if (!f || mp_idx_open(&x, DATA "/t10k-images-idx3-ubyte.gz", 3, &err) != 0)
		bench_die("cannot write a request body");
	fputs("{\"instances\": [", f);
	for (r = 0; r < rows; r++) {
		if (mp_idx_read(&x, img, 1, &got, &err) != 0 || got != 1)
			bench_die("cannot read t10k");
		fputs(r ? ", [" : "[", f);
		for (k = 0; k < 784; k++)
			fprintf(f, "%s%d", k ? "," : "", img[k]);
		fputc(']', f);
	}
	fputs("]}\n", f);
	mp_idx_close(&x);
	fclose(f);
}

/* Starts argv in the background; waits until url answers. */
static pid_t start(char *const argv[], const char *url)
{
	char cmd[1024];
	pid_t pid = fork();
	int i;

	if (pid < 0)
		bench_die("cannot start a server");
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	snprintf(cmd, sizeof(cmd), "curl -s -o /dev/null -X POST -d @/dev/null %s", url);
	for (i = 0; i < 300; i++) {
		usleep(100000);
		if (system(cmd) == 0)
			return pid;
	}
	bench_die("a server did not start");
	return -1;
}

static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* wrk's requests/s and p50/p99 latency (ms) for body at url. */
static void drive(const char *url, const char *body, double *rps, double *p50, double *p99)
{
	char cmd[16384], line[512];
	FILE *fp;

	snprintf(cmd, sizeof(cmd), "wrk -t2 -c8 -d" SECONDS "s --latency -s bench/wrk_post.lua %s -- %s 2>&1", url, body);
	if (!(fp = popen(cmd, "r")))
		bench_die("cannot run wrk (Debian's wrk)");
	*rps = *p50 = *p99 = NAN;
	while (fgets(line, sizeof(line), fp)) {
		double v;
		char unit[8];

		if (sscanf(line, " Requests/sec: %lf", &v) == 1)
			*rps = v;
		else if (sscanf(line, " 50%% %lf%7s", &v, unit) == 2)
			*p50 = !strcmp(unit, "us") ? v / 1000 : !strcmp(unit, "s") ? v * 1000 : v;
		else if (sscanf(line, " 99%% %lf%7s", &v, unit) == 2)
			*p99 = !strcmp(unit, "us") ? v / 1000 : !strcmp(unit, "s") ? v * 1000 : v;
	}
	if (pclose(fp) != 0 || isnan(*rps))
		bench_die("wrk failed (needs Debian's wrk)");
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "bench/out";
	const char *mlpipe = getenv("MLPIPE") ? getenv("MLPIPE") : "./mlpipe";
	char yaml[4096], root[4096], base[4096], body[2][4096], cmd[16384], murl[256], turl[256];
	double r, res[2][2][3][RUNS]; /* [rows][server][rps, p50, p99][run] */
	static const int rows[2] = {1, 64};
	glob_t g;
	mp_err err;
	int i, k, srv;

	bench_name = "bench_serve";
	if (access(DATA "/t10k-images-idx3-ubyte.gz", R_OK) != 0)
		bench_die("needs Debian's dataset-fashion-mnist");
	if (mp_mkdirs(out, 0755, &err) != 0)
		bench_die(err.msg);
	snprintf(yaml, sizeof(yaml), "%s/bench_serve.yaml", out);
	snprintf(root, sizeof(root), "%s/serve_runs", out);
	snprintf(base, sizeof(base), "%s/serve_base", out);
	mp_rmtree(root, NULL);
	mp_rmtree(base, NULL);
	bench_demo_pipeline(yaml, "bench_serve", "serve_runs", "evaluate");
	{
		char *train[] = {(char *)mlpipe, "--quiet", "run", yaml, "--set", "train.epochs=1", NULL};

		bench_run(train, 1, &r, -1);
	}
	snprintf(cmd, sizeof(cmd), "%s/bench_serve/train/model/*", root);
	if (glob(cmd, 0, NULL, &g) != 0 || g.gl_pathc != 1)
		bench_die("the pipeline made no model");
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp -r %s %s/1", base, g.gl_pathv[0], base);
	globfree(&g);
	if (system(cmd) != 0)
		bench_die("cannot copy the model");
	for (i = 0; i < 2; i++) {
		snprintf(body[i], sizeof(body[i]), "%s/body%d.json", out, rows[i]);
		write_body(body[i], rows[i]);
	}
	snprintf(murl, sizeof(murl), "http://127.0.0.1:18501/v1/models/fashion_mnist:predict");
	snprintf(turl, sizeof(turl), "http://127.0.0.1:18502/v1/models/fashion_mnist:predict");
	for (k = 0; k < RUNS; k++)
		for (srv = 0; srv < 2; srv++) {
			char *ms[] = {(char *)mlpipe, "serve", "--model_name", "fashion_mnist", "--model_base_path", base,
				      "--rest_api_port", "18501", "--threads", "2", NULL};
			char *ts[] = {"/usr/bin/python3", "bench/fastapi_serve.py", "18502", NULL};
			pid_t pid = start(srv ? ts : ms, srv ? turl : murl);

			for (i = 0; i < 2; i++)
				drive(srv ? turl : murl, body[i], &res[i][srv][0][k], &res[i][srv][1][k], &res[i][srv][2][k]);
			stop(pid);
		}
	printf("serving the 784-128-10 MLP over REST (wrk, 8 connections, %s s each, median of %d alternating runs):\n",
	       SECONDS, RUNS);
	printf("  %-5s %-22s %12s %10s %10s %12s\n", "rows", "server", "requests/s", "p50 ms", "p99 ms", "rows/s");
	for (i = 0; i < 2; i++) {
		double m[2][3];

		for (srv = 0; srv < 2; srv++)
			for (k = 0; k < 3; k++)
				m[srv][k] = bench_median(res[i][srv][k], RUNS);
		for (srv = 0; srv < 2; srv++)
			printf("  %-5d %-22s %12.0f %10.3f %10.3f %12.0f\n", rows[i],
			       srv ? "FastAPI+uvicorn+torch" : "mlpipe serve", m[srv][0], m[srv][1], m[srv][2],
			       m[srv][0] * rows[i]);
		printf("  %-5d ratio %27.2fx %9.2fx %9.2fx\n", rows[i], m[0][0] / m[1][0], m[0][1] / m[1][1],
		       m[0][2] / m[1][2]);
	}
	return 0;
}
