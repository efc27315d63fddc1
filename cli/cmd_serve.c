/* mlpipe serve: the Pusher's versions over TF Serving's REST API. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "serve/config.h"
#include "serve/models.h"

const char mp_serve_usage[] =
	"usage: mlpipe serve --model_name NAME --model_base_path DIR [--rest_api_port PORT] [options]\n"
	"       mlpipe serve --model_config_file FILE [--rest_api_port PORT] [options]\n"
	"\n"
	"Serves the numbered version folders under DIR (the Pusher's destination:\n"
	"DIR/1/, DIR/2/, ...) over TF Serving's REST API, the latest version by\n"
	"default.  A new version is loaded while the old one keeps answering,\n"
	"then swapped in; one that does not load is refused with a log line.\n"
	"\n"
	"  GET  /v1/models/NAME[/versions/N]            the versions and their state\n"
	"  GET  /metrics                                Prometheus text: requests, latency, loads\n"
	"  GET  /v1/models/NAME[/versions/N]/metadata   inputs, outputs, classes, transform\n"
	"  POST /v1/models/NAME[/versions/N]:predict    {\"instances\": [...]} or {\"inputs\": {...}}\n"
	"  POST /v1/models/NAME[/versions/N]:classify   {\"examples\": [...]}\n"
	"  POST /v1/models/NAME[/versions/N]:regress    {\"examples\": [...]}\n"
	"\n"
	"Rows are raw features, as for mlpipe predict: the transform stored with\n"
	"the model runs inside.  SIGTERM stops accepting, lets requests in flight\n"
	"finish, and exits 0.\n"
	"\n"
	"  --model_name NAME                     the name in the URLs\n"
	"  --model_base_path DIR                 the folder of version folders\n"
	"  --model_config_file FILE              TF Serving's model config (text format): several models,\n"
	"                                        version policies (latest N, all, specific) and labels;\n"
	"                                        read again when it changes\n"
	"  --rest_api_port PORT                  default 8501; 0: any free port (printed)\n"
	"  --file_system_poll_wait_seconds S     how often DIR is looked at (default 1)\n"
	"  --bind ADDR                           the IPv4 address to listen on (default 127.0.0.1)\n"
	"  --threads N                           request threads (default 2)\n"
	"  --max_batch_size N                    rows per GEMM (default 256)\n"
	"  --enable_batching                     merge concurrent small requests into one GEMM\n"
	"  --batch_timeout_micros US             how long a batch waits for more requests (default 1000)\n"
	"  --num_batch_threads N                 batches predicting at once (default 1)\n"
	"  --max_body_bytes N                    larger bodies get 413 (default 67108864)\n"
	"  --request_timeout_seconds S           a client slower than this is cut off (default 30)\n"
	"  --max_connections N                   open connections at once (default 256)\n";

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* An integer option in [lo, hi], or its default when not given. */
static int int_opt(const char *s, const char *name, long lo, long hi, long def, long *out, mp_err *err)
{
	int64_t v;

	if (!s) {
		*out = def;
		return 0;
	}
	if (mp_parse_i64(s, lo, hi, &v, name, err) != 0)
		return MP_EINVAL;
	*out = (long)v;
	return 0;
}

/* Reads the config file and serves what it says; *mtime gets its time. */
static int load_config(mp_models *M, const char *path, struct timespec *mtime, mp_err *err)
{
	mp_serve_config cfg;
	struct stat sb;
	int rc;

	if (stat(path, &sb) != 0)
		return mp_error(err, MP_ENOTFOUND, "--model_config_file: '%s' does not exist", path);
	*mtime = sb.st_mtim;
	if ((rc = mp_serve_config_read(&cfg, path, err)) != 0)
		return rc;
	rc = mp_models_configure(M, &cfg, err);
	mp_serve_config_release(&cfg);
	return rc;
}

/* The config file again when it changed; a broken one is refused with a
 * log line and what is served stays. */
static void reload_config(mp_models *M, const char *path, struct timespec *mtime)
{
	struct stat sb;
	mp_err err;

	if (stat(path, &sb) != 0 || (sb.st_mtim.tv_sec == mtime->tv_sec && sb.st_mtim.tv_nsec == mtime->tv_nsec))
		return;
	if (load_config(M, path, mtime, &err) != 0)
		fprintf(stderr, "mlpipe serve: the changed config is refused, the last one stays: %s\n", err.msg);
	else
		fprintf(stderr, "mlpipe serve: read %s again\n", path);
	fflush(stderr);
}

/* Waits s seconds, or until a signal. */
static void pause_for(long s)
{
	long ms;

	for (ms = 0; ms < s * 1000 && !stop_signal; ms += 50)
		nanosleep(&(struct timespec){0, 50000000L}, NULL);
}

int mp_cmd_serve(int argc, char **argv)
{
	const char *name = NULL, *base = NULL, *port_s = NULL, *poll_s = NULL, *bind = NULL, *threads_s = NULL;
	const char *batch_s = NULL, *body_s = NULL, *timeout_s = NULL, *conns_s = NULL, *config = NULL;
	const char *btimeout_s = NULL, *bthreads_s = NULL;
	int batching = 0;
	const mp_opt opts[] = {
		{"--model_name", NULL, &name, NULL, NULL},
		{"--model_base_path", NULL, &base, NULL, NULL},
		{"--model_config_file", NULL, &config, NULL, NULL},
		{"--rest_api_port", NULL, &port_s, NULL, NULL},
		{"--file_system_poll_wait_seconds", NULL, &poll_s, NULL, NULL},
		{"--bind", NULL, &bind, NULL, NULL},
		{"--threads", NULL, &threads_s, NULL, NULL},
		{"--max_batch_size", NULL, &batch_s, NULL, NULL},
		{"--enable_batching", NULL, NULL, &batching, NULL},
		{"--batch_timeout_micros", NULL, &btimeout_s, NULL, NULL},
		{"--num_batch_threads", NULL, &bthreads_s, NULL, NULL},
		{"--max_body_bytes", NULL, &body_s, NULL, NULL},
		{"--request_timeout_seconds", NULL, &timeout_s, NULL, NULL},
		{"--max_connections", NULL, &conns_s, NULL, NULL},
		{NULL, NULL, NULL, NULL, NULL},
	};
	long port, poll, threads, batch, body, timeout, conns, btimeout, bthreads;
	struct timespec config_mtime = {0, 0};
	struct sigaction sa;
	struct stat sb;
	mp_http_opts ho = {0};
	mp_models *M = NULL;
	mp_http *h = NULL;
	char *pos[1];
	int npos, help, rc = MP_EXIT_OK;
	mp_err err;

	mp_err_clear(&err);
	if (mp_cli_parse(argc, argv, opts, pos, 0, &npos, &help, "serve", &err) != 0)
		return mp_cli_fail(&err);
	if (help) {
		fputs(mp_serve_usage, stdout);
		return MP_EXIT_OK;
	}
	if (config && (name || base)) {
		mp_error(&err, MP_EINVAL, "serve takes --model_config_file or --model_name and --model_base_path, not both");
		return mp_cli_fail(&err);
	}
	if (!config && (!name || !base)) {
		mp_error(&err, MP_EINVAL, "serve needs --model_name NAME and --model_base_path DIR (or --model_config_file)");
		return mp_cli_fail(&err);
	}
	if (int_opt(port_s, "--rest_api_port", 0, 65535, 8501, &port, &err) != 0 ||
	    int_opt(poll_s, "--file_system_poll_wait_seconds", 1, 86400, 1, &poll, &err) != 0 ||
	    int_opt(threads_s, "--threads", 1, 256, 2, &threads, &err) != 0 ||
	    int_opt(batch_s, "--max_batch_size", 1, 65536, 256, &batch, &err) != 0 ||
	    int_opt(body_s, "--max_body_bytes", 1024, 1L << 31, 64L << 20, &body, &err) != 0 ||
	    int_opt(timeout_s, "--request_timeout_seconds", 1, 3600, 30, &timeout, &err) != 0 ||
	    int_opt(conns_s, "--max_connections", 1, 65536, 256, &conns, &err) != 0 ||
	    int_opt(btimeout_s, "--batch_timeout_micros", 1, 10000000, 1000, &btimeout, &err) != 0 ||
	    int_opt(bthreads_s, "--num_batch_threads", 1, 256, 1, &bthreads, &err) != 0)
		return mp_cli_fail(&err);
	if (base && (stat(base, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
		mp_error(&err, MP_ENOTFOUND, "--model_base_path: '%s' is not a folder", base);
		return mp_cli_fail(&err);
	}
	ho.bind = bind;
	ho.port = (int)port;
	ho.threads = (int)threads;
	ho.max_body = (size_t)body;
	ho.timeout_s = (int)timeout;
	ho.max_conns = (int)conns;
	if (!(ho.metrics = mp_serve_metrics_new())) {
		mp_error(&err, MP_ENOMEM, "out of memory");
		return mp_cli_fail(&err);
	}
	if (mp_models_new(&M, (int)batch, stderr, &err) == 0) {
		mp_models_set_metrics(M, ho.metrics);
		mp_models_set_threads(M, (int)threads);
		mp_models_set_batching(M, batching ? btimeout : 0, (int)bthreads);
	}
	if (!M || (config ? load_config(M, config, &config_mtime, &err) : mp_models_add(M, name, base, &err)) != 0) {
		mp_models_free(M);
		mp_serve_metrics_free(ho.metrics);
		return mp_cli_fail(&err);
	}
	mp_models_poll(M);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (mp_http_start(&h, M, &ho, &err) != 0) {
		mp_models_free(M);
		mp_serve_metrics_free(ho.metrics);
		return mp_cli_fail(&err);
	}
	if (config)
		fprintf(stderr, "mlpipe serve: the models of %s on http://%s:%d/v1/models/\n", config,
			bind ? bind : "127.0.0.1", mp_http_port(h));
	else
		fprintf(stderr, "mlpipe serve: model %s from %s on http://%s:%d/v1/models/%s\n", name, base,
			bind ? bind : "127.0.0.1", mp_http_port(h), name);
	fflush(stderr);
	while (!stop_signal) {
		pause_for(poll);
		if (stop_signal)
			break;
		if (config)
			reload_config(M, config, &config_mtime);
		mp_models_poll(M);
	}
	fprintf(stderr, "mlpipe serve: signal %d: draining and stopping\n", (int)stop_signal);
	mp_http_stop(h, (int)timeout * 1000);
	mp_models_free(M);
	mp_serve_metrics_free(ho.metrics);
	return rc;
}
