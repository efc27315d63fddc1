/* The server's metrics: see metrics.h.  A handful of series, kept in
 * small tables under one lock. */
#include "serve/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 256
#define NAME_MAX_LEN 128

static const double lat_bounds[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
static const double row_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096};
#define NLAT MP_COUNTOF(lat_bounds)
#define NROW MP_COUNTOF(row_bounds)

typedef struct req_series {
	char model[NAME_MAX_LEN];
	long version;
	int code;
	long count;
} req_series;

typedef struct model_series {
	char model[NAME_MAX_LEN];
	long lat[NLAT + 1], rows[NROW + 1]; /* per bucket; the last is +Inf */
	double lat_sum, rows_sum, batch_sum;
	long batch[NROW + 1], nbatch;
	long n, loads, failures;
} model_series;

struct mp_serve_metrics {
	pthread_mutex_t mu;
	req_series req[MAX_SERIES];
	size_t nreq;
	model_series model[MAX_SERIES];
	size_t nmodel;
	long dropped; /* requests of series past the tables' room */
};

mp_serve_metrics *mp_serve_metrics_new(void)
{
	mp_serve_metrics *m = mp_calloc(1, sizeof(*m));

	if (m)
		pthread_mutex_init(&m->mu, NULL);
	return m;
}

void mp_serve_metrics_free(mp_serve_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static model_series *model_of(mp_serve_metrics *m, const char *model)
{
	size_t i;

	for (i = 0; i < m->nmodel; i++)
		if (!strcmp(m->model[i].model, model))
			return &m->model[i];
	if (m->nmodel == MAX_SERIES)
		return NULL;
	memset(&m->model[m->nmodel], 0, sizeof(m->model[0]));
	snprintf(m->model[m->nmodel].model, NAME_MAX_LEN, "%s", model);
	return &m->model[m->nmodel++];
}

static size_t bucket(const double *bounds, size_t n, double v)
{
	size_t i;

	for (i = 0; i < n && v > bounds[i]; i++)
		;
	return i;
}

void mp_serve_metrics_request(mp_serve_metrics *m, const char *model, long version, int code, double seconds,
			      size_t rows)
{
	model_series *ms;
	size_t i;

	if (!m)
		return;
	if (!model)
		model = "";
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->nreq; i++)
		if (m->req[i].version == version && m->req[i].code == code && !strcmp(m->req[i].model, model))
			break;
	if (i == m->nreq && m->nreq < MAX_SERIES) {
		snprintf(m->req[i].model, NAME_MAX_LEN, "%s", model);
		m->req[i].version = version;
		m->req[i].code = code;
		m->req[i].count = 0;
		m->nreq++;
	}
	if (i < m->nreq)
		m->req[i].count++;
	else
		m->dropped++;
	if (*model && (ms = model_of(m, model))) {
		ms->lat[bucket(lat_bounds, NLAT, seconds)]++;
		ms->rows[bucket(row_bounds, NROW, (double)rows)]++;
		ms->lat_sum += seconds;
		ms->rows_sum += (double)rows;
		ms->n++;
	}
	pthread_mutex_unlock(&m->mu);
}

void mp_serve_metrics_batch(mp_serve_metrics *m, const char *model, size_t rows)
{
	model_series *ms;

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	if ((ms = model_of(m, model))) {
		ms->batch[bucket(row_bounds, NROW, (double)rows)]++;
		ms->batch_sum += (double)rows;
		ms->nbatch++;
	}
	pthread_mutex_unlock(&m->mu);
}

void mp_serve_metrics_load(mp_serve_metrics *m, const char *model, int ok)
{
	model_series *ms;

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	if ((ms = model_of(m, model))) {
		if (ok)
			ms->loads++;
		else
			ms->failures++;
	}
	pthread_mutex_unlock(&m->mu);
}

/* name{model="M",le="B"} cumulative counts, then _sum and _count. */
static void histogram(mp_strbuf *sb, const char *name, const model_series *s, const long *counts,
		      const double *bounds, size_t n, double sum, long count)
{
	long cum = 0;
	size_t i;

	for (i = 0; i <= n; i++) {
		cum += counts[i];
		if (i < n)
			mp_strbuf_addf(sb, "%s_bucket{model=\"%s\",le=\"%g\"} %ld\n", name, s->model, bounds[i], cum);
		else
			mp_strbuf_addf(sb, "%s_bucket{model=\"%s\",le=\"+Inf\"} %ld\n", name, s->model, cum);
	}
	mp_strbuf_addf(sb, "%s_sum{model=\"%s\"} %.9g\n%s_count{model=\"%s\"} %ld\n", name, s->model, sum, name,
		       s->model, count);
}

void mp_serve_metrics_text(mp_serve_metrics *m, mp_strbuf *sb)
{
	size_t i;

	pthread_mutex_lock(&m->mu);
	mp_strbuf_adds(sb, "# HELP mlpipe_serve_requests_total Requests answered, by model, version and status code.\n"
			   "# TYPE mlpipe_serve_requests_total counter\n");
	for (i = 0; i < m->nreq; i++)
		mp_strbuf_addf(sb, "mlpipe_serve_requests_total{model=\"%s\",version=\"%ld\",code=\"%d\"} %ld\n",
			       m->req[i].model, m->req[i].version, m->req[i].code, m->req[i].count);
	mp_strbuf_adds(sb, "# HELP mlpipe_serve_request_duration_seconds Time from a request's last byte to its answer.\n"
			   "# TYPE mlpipe_serve_request_duration_seconds histogram\n");
	for (i = 0; i < m->nmodel; i++)
		histogram(sb, "mlpipe_serve_request_duration_seconds", &m->model[i], m->model[i].lat, lat_bounds, NLAT,
			  m->model[i].lat_sum, m->model[i].n);
	mp_strbuf_adds(sb, "# HELP mlpipe_serve_request_rows Rows in one inference request (one GEMM batch).\n"
			   "# TYPE mlpipe_serve_request_rows histogram\n");
	for (i = 0; i < m->nmodel; i++)
		histogram(sb, "mlpipe_serve_request_rows", &m->model[i], m->model[i].rows, row_bounds, NROW,
			  m->model[i].rows_sum, m->model[i].n);
	mp_strbuf_adds(sb, "# HELP mlpipe_serve_batch_rows Rows in one GEMM of server-side batching.\n"
			   "# TYPE mlpipe_serve_batch_rows histogram\n");
	for (i = 0; i < m->nmodel; i++)
		if (m->model[i].nbatch)
			histogram(sb, "mlpipe_serve_batch_rows", &m->model[i], m->model[i].batch, row_bounds, NROW,
				  m->model[i].batch_sum, m->model[i].nbatch);
	mp_strbuf_adds(sb, "# HELP mlpipe_serve_loads_total Versions loaded.\n# TYPE mlpipe_serve_loads_total counter\n");
	for (i = 0; i < m->nmodel; i++)
		mp_strbuf_addf(sb, "mlpipe_serve_loads_total{model=\"%s\"} %ld\n", m->model[i].model, m->model[i].loads);
	mp_strbuf_adds(sb, "# HELP mlpipe_serve_load_failures_total Versions refused: they did not load.\n"
			   "# TYPE mlpipe_serve_load_failures_total counter\n");
	for (i = 0; i < m->nmodel; i++)
		mp_strbuf_addf(sb, "mlpipe_serve_load_failures_total{model=\"%s\"} %ld\n", m->model[i].model,
			       m->model[i].failures);
	pthread_mutex_unlock(&m->mu);
}
