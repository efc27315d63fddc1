/* InfraValidator: before a model is pushed, the serving binary itself
 * loads it and answers real requests.  The component starts `mlpipe
 * serve` on a free loopback port in a child, sends a sample of the
 * examples over HTTP (libcurl), checks every answer against the same
 * model's prediction here (mlpipe predict's code) within 1e-6 and each
 * request's latency against a budget, then stops the server.  A model
 * that does not load, answers wrongly or too slowly is not infra-blessed,
 * and a Pusher given the InfraBlessing does not push it (as in TFX). */
#include "components/component.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/examples.h"
#include "eval/evaluation.h"
#include "export/export.h"

static const mp_io_spec inputs[] = {
	{"model", "Model", 0, "the candidate"},
	{"examples", "Examples", 0, "where the sample requests come from (raw features)"},
};

static const mp_io_spec outputs[] = {
	{"infra_blessing", "InfraBlessing", 0, "infra_blessing.tsv: blessed or not, why, and the latencies"},
};

static const mp_param_spec params[] = {
	{"split", MP_PARAM_STRING, "eval", 0, 0, "the split the sample comes from", NULL, NULL},
	{"requests", MP_PARAM_INT, "10", 1, 10000, "requests to send", NULL, NULL},
	{"rows_per_request", MP_PARAM_INT, "8", 1, 4096, "examples in each request", NULL, NULL},
	{"max_latency_ms", MP_PARAM_FLOAT, "1000", 0.001, 1e6, "the slowest answer allowed", NULL, NULL},
	{"load_timeout_seconds", MP_PARAM_INT, "60", 1, 3600, "how long the server may take to start and load", NULL,
	 NULL},
};

/* The server in the child: its pid, its log pipe, its URL. */
typedef struct server {
	pid_t pid;
	int logfd;
	char url[128];
	char why[MP_ERR_MAX]; /* why it is not serving, when it is not */
} server;

/* Starts mlpipe serve over base and waits until it listens (or refuses
 * the model, or dies, or load_timeout passes).  0 when it serves; 1 with
 * s->why when the model is not served; negative on our own failure. */
static int start_server(server *s, const char *base, int timeout_s, mp_err *err)
{
	char line[4096];
	size_t len = 0;
	int fds[2];
	int64_t deadline = mp_monotonic_ns() + (int64_t)timeout_s * 1000000000;

	memset(s, 0, sizeof(*s));
	if (pipe(fds) != 0)
		return mp_error(err, MP_EIO, "cannot start the server: %s", strerror(errno));
	fflush(NULL);
	if ((s->pid = fork()) < 0)
		return mp_error(err, MP_EIO, "cannot start the server: %s", strerror(errno));
	if (s->pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execl("/proc/self/exe", "mlpipe", "serve", "--model_name", "candidate", "--model_base_path", base,
		      "--rest_api_port", "0", "--threads", "1", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	s->logfd = fds[0];
	while (mp_monotonic_ns() < deadline) {
		struct pollfd p = {s->logfd, POLLIN, 0};
		ssize_t got;
		char *nl, *at;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((got = read(s->logfd, line + len, sizeof(line) - 1 - len)) <= 0) {
			snprintf(s->why, sizeof(s->why), "the server ended before it served the model");
			return 1;
		}
		len += (size_t)got;
		line[len] = '\0';
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			if ((at = strstr(line, "refused: "))) {
				snprintf(s->why, sizeof(s->why), "the server refused the model: %s", at + 9);
				return 1;
			}
			if ((at = strstr(line, " on http://")) && (at = strchr(at + 4, 'h'))) {
				char *end = strstr(at, "/v1/");

				snprintf(s->url, sizeof(s->url), "%.*s", end ? (int)(end - at) : (int)strlen(at), at);
				return 0;
			}
			len -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, len + 1);
		}
		if (len >= sizeof(line) - 1)
			len = 0;
	}
	snprintf(s->why, sizeof(s->why), "the server did not start within %d s", timeout_s);
	return 1;
}

static void stop_server(server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (s->logfd > 0)
		close(s->logfd);
}

/* Row r of b as a JSON object of the model's raw inputs (names found in m). */
static json_t *row_json(const mp_served *sv, const mp_examples_meta *m, const mp_block *b, size_t r)
{
	json_t *o = json_object();
	size_t i, n = sv->has_transform ? sv->t.nfeatures : sv->nnum;

	for (i = 0; o && i < n; i++) {
		const char *name = sv->has_transform ? sv->t.features[i].name : sv->features[i].name;
		int f = mp_examples_feature(m, name);
		json_t *v;

		if (f < 0)
			v = json_null();
		else if (m->features[f].type == MP_FEAT_STRING && b->miss[f][r])
			v = json_null();
		else if (m->features[f].type == MP_FEAT_STRING) {
			size_t len;
			const char *str = mp_block_str(b, (size_t)f, r, &len);

			v = json_stringn(str, len);
		}
		else
			v = isnan(b->num[f][r]) ? json_null() : json_real((double)b->num[f][r]);
		json_object_set_new(o, name, v ? v : json_null());
	}
	return o;
}

static size_t gather(char *data, size_t size, size_t n, void *ud)
{
	mp_strbuf_add(ud, data, size * n);
	return size * n;
}

/* Whether the answer holds the predictions want (rows x nout) within 1e-6
 * (of their size, past 1); why says what differs. */
static int same_answer(const mp_served *sv, const char *body, size_t len, const float *want, size_t rows, char *why,
		       size_t whysz)
{
	json_t *root = json_loadb(body, len, 0, NULL), *preds = root ? json_object_get(root, "predictions") : NULL;
	size_t r, k;
	int ok = json_is_array(preds) && json_array_size(preds) == rows;

	if (!ok)
		snprintf(why, whysz, "the answer is not %zu predictions: %.200s", rows, body);
	for (r = 0; ok && r < rows; r++) {
		json_t *p = json_array_get(preds, r), *probs = sv->nclass ? json_object_get(p, "probabilities") : p;

		for (k = 0; ok && k < sv->nout; k++) {
			json_t *v = sv->nclass ? json_array_get(probs, k) : probs;
			double got = json_is_number(v) ? json_number_value(v) : NAN, w = (double)want[r * sv->nout + k];

			/* relative past 1: the answer's 9 digits hold a float of grams, not 1e-6 of it */
			if (!(fabs(got - w) <= 1e-6 * (fabs(w) > 1 ? fabs(w) : 1))) {
				snprintf(why, whysz, "row %zu, output %zu: the server said %.9g, predict %.9g", r, k, got, w);
				ok = 0;
			}
		}
	}
	json_decref(root);
	return ok;
}

typedef struct probe {
	mp_served sv;
	mp_examples_meta m;
	mp_block b;
	float *want;
	double *lat_ms;
	size_t nlat;
} probe;

/* One request of rows [from, from + n) of p->b: 1 when answered right,
 * 0 with why when not. */
static int one_request(CURL *c, const server *s, probe *p, size_t from, size_t n, char *why, size_t whysz)
{
	json_t *req = json_object(), *rows = json_array();
	mp_strbuf got = MP_STRBUF_INIT;
	char url[256], *body;
	long code = 0;
	size_t r;
	int ok;
	int64_t t0;

	for (r = 0; r < n; r++)
		json_array_append_new(rows, row_json(&p->sv, &p->m, &p->b, from + r));
	json_object_set_new(req, "instances", rows);
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	snprintf(url, sizeof(url), "%s/v1/models/candidate:predict", s->url);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	t0 = mp_monotonic_ns();
	if (curl_easy_perform(c) != CURLE_OK) {
		snprintf(why, whysz, "the request failed: the server did not answer");
		ok = 0;
	} else {
		p->lat_ms[p->nlat++] = (double)(mp_monotonic_ns() - t0) / 1e6;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		mp_served_predict(&p->sv, &p->b, from, n, p->want, NULL);
		if (code != 200) {
			snprintf(why, whysz, "the server answered %ld: %.200s", code, got.buf ? got.buf : "");
			ok = 0;
		} else {
			ok = same_answer(&p->sv, got.buf ? got.buf : "", got.len, p->want, n, why, whysz);
		}
	}
	free(body);
	mp_strbuf_release(&got);
	return ok;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sends the sample, request by request, through the server s. */
static int send_sample(const mp_component_io *io, const server *s, probe *p, const char *dir, char *why,
		       size_t whysz, mp_err *err)
{
	long requests = atol(mp_io_param(io, "requests")), per = atol(mp_io_param(io, "rows_per_request"));
	mp_examples_reader rd = {0};
	CURL *c = curl_easy_init();
	int rc, ok = 1;
	long sent = 0;

	if (!c)
		return mp_error(err, MP_ENOMEM, "cannot start an HTTP client");
	if ((rc = mp_examples_reader_open(&rd, &p->m, dir, mp_io_param(io, "split"), err)) != 0) {
		curl_easy_cleanup(c);
		return rc;
	}
	while (ok && sent < requests && (rc = mp_examples_reader_next(&rd, &p->b, err)) == 1) {
		size_t from;

		for (from = 0; ok && sent < requests && from < p->b.rows; from += (size_t)per, sent++) {
			size_t n = p->b.rows - from < (size_t)per ? p->b.rows - from : (size_t)per;

			ok = one_request(c, s, p, from, n, why, whysz);
		}
	}
	mp_examples_reader_close(&rd);
	curl_easy_cleanup(c);
	if (rc < 0)
		return rc;
	if (ok && !sent)
		snprintf(why, whysz, "split '%s' has no rows to send", mp_io_param(io, "split"));
	return ok && sent ? 0 : 1;
}

/* The candidate as the only version of a base folder the server reads. */
static char *candidate_base(const mp_component_io *io, const char *model, mp_err *err)
{
	char *base = mp_asprintf("%s/.infra-%ld", io->scratch ? io->scratch : mp_io_output(io, "infra_blessing"),
				 (long)getpid());
	char *ver = base ? mp_asprintf("%s/1", base) : NULL, *src = mp_asprintf("%s/model.mlpm", model), *dst = NULL;
	char *data = NULL;
	size_t len;

	if (!base || !ver || !src || !(dst = mp_asprintf("%s/model.mlpm", ver))) {
		mp_error(err, MP_ENOMEM, "out of memory");
	} else if (mp_rmtree(base, err) == 0 && mp_mkdirs(ver, 0755, err) == 0 &&
		   mp_read_file(src, &data, &len, err) == 0 && mp_write_file_atomic(dst, data, len, err) == 0) {
		free(data);
		free(ver);
		free(src);
		free(dst);
		return base;
	}
	free(data);
	free(ver);
	free(src);
	free(dst);
	free(base);
	return NULL;
}

static int write_verdict(const mp_component_io *io, int blessed, const char *why, probe *p, mp_err *err)
{
	char *path = mp_asprintf("%s/infra_blessing.tsv", mp_io_output(io, "infra_blessing"));
	mp_infra_blessing v = {blessed, "", p->nlat, NAN, NAN};
	mp_strbuf sb = MP_STRBUF_INIT;
	double p50 = NAN, max = NAN;
	int rc;

	if (p->nlat) {
		qsort(p->lat_ms, p->nlat, sizeof(*p->lat_ms), cmp_double);
		v.p50_ms = p50 = p->lat_ms[p->nlat / 2];
		v.max_ms = max = p->lat_ms[p->nlat - 1];
	}
	snprintf(v.reason, sizeof(v.reason), "%s", why);
	mp_infra_blessing_format(&v, &sb);
	rc = !path || sb.failed ? mp_error(err, MP_ENOMEM, "out of memory") : mp_write_file_atomic(path, sb.buf, sb.len, err);
	if (rc == 0 && (mp_result_prop_int(io->result, "infra_blessing", "blessed", blessed) != 0 ||
			mp_result_metric(io->result, "infra_blessed", 0, blessed) != 0 ||
			(p->nlat && (mp_result_metric(io->result, "latency_p50_ms", 0, p50) != 0 ||
				     mp_result_metric(io->result, "latency_max_ms", 0, max) != 0))))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0)
		fprintf(stderr, "%s", sb.buf);
	mp_strbuf_release(&sb);
	free(path);
	return rc;
}

static int run_infra_validator(const mp_component_io *io, mp_err *err)
{
	const char *model = mp_io_input(io, "model"), *ex = mp_io_input(io, "examples");
	char why[MP_ERR_MAX] = "", *base = NULL;
	probe p;
	server s = {0};
	int rc, verdict = 1;

	memset(&p, 0, sizeof(p));
	if (!model || !ex)
		return mp_error(err, MP_EINVAL, "InfraValidator needs 'model' and 'examples' inputs");
	if (!(p.lat_ms = mp_calloc((size_t)atol(mp_io_param(io, "requests")) + 1, sizeof(double))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	/* the reference answers: the same model, loaded here as mlpipe predict does */
	if ((rc = mp_examples_meta_read(&p.m, ex, err)) != 0)
		goto out;
	if (!mp_examples_split(&p.m, mp_io_param(io, "split"))) {
		rc = mp_error(err, MP_EINVAL, "the examples have no split '%s' to send", mp_io_param(io, "split"));
		goto out;
	}
	if (mp_served_load(&p.sv, model, 4096, err) != 0) {
		snprintf(why, sizeof(why), "the model does not load: %.400s", err->msg);
	} else if ((rc = mp_served_bind(&p.sv, &p.m, ex, err)) != 0 ||
		   (rc = mp_block_init(&p.b, p.m.features, p.m.nfeatures, 1, err)) != 0 ||
		   !(p.want = mp_malloc(4096 * p.sv.nout * sizeof(float)))) {
		rc = rc ? rc : mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	} else if (!(base = candidate_base(io, model, err))) {
		rc = err->code;
		goto out;
	} else if ((rc = start_server(&s, base, atoi(mp_io_param(io, "load_timeout_seconds")), err)) < 0) {
		goto out;
	} else if (rc == 0 && (rc = send_sample(io, &s, &p, ex, why, sizeof(why), err)) < 0) {
		goto out;
	} else if (rc == 1 && !*why) {
		snprintf(why, sizeof(why), "%s", s.why);
	}
	rc = 0;
	if (!*why && p.nlat) {
		size_t i;

		for (i = 0; i < p.nlat && !*why; i++)
			if (p.lat_ms[i] > atof(mp_io_param(io, "max_latency_ms")))
				snprintf(why, sizeof(why), "request %zu took %.3f ms, over max_latency_ms %s", i + 1, p.lat_ms[i],
					 mp_io_param(io, "max_latency_ms"));
	}
	verdict = !*why;
	if (verdict)
		snprintf(why, sizeof(why), "%zu requests answered as predict answers, within the latency budget", p.nlat);
	rc = write_verdict(io, verdict, why, &p, err);
out:
	stop_server(&s);
	if (base)
		mp_rmtree(base, NULL);
	free(base);
	mp_block_release(&p.b);
	mp_served_release(&p.sv);
	mp_examples_meta_release(&p.m);
	free(p.want);
	free(p.lat_ms);
	return rc;
}

const mp_component_type mp_infra_validator_component = {
	.name = "InfraValidator",
	.version = "1",
	.summary = "loads the model in mlpipe serve and checks real answers and their latency before it is pushed",
	.inputs = inputs,
	.ninputs = MP_COUNTOF(inputs),
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.run = run_infra_validator,
};
