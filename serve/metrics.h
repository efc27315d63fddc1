/* serve/metrics: what GET /metrics says, in Prometheus's text format:
 * requests by model, version and status code; a latency histogram and a
 * rows-per-request histogram per model; version loads and refusals. */
#ifndef MP_SERVE_METRICS_H
#define MP_SERVE_METRICS_H

#include <stddef.h>

#include "core/core.h"

typedef struct mp_serve_metrics mp_serve_metrics;

mp_serve_metrics *mp_serve_metrics_new(void);
void mp_serve_metrics_free(mp_serve_metrics *m);
/* One answered request: model (NULL when the URL named none), version (0
 * when none was chosen), the status, its seconds and rows. */
void mp_serve_metrics_request(mp_serve_metrics *m, const char *model, long version, int code, double seconds,
			      size_t rows);
/* One batch of rows run as one GEMM (server-side batching). */
void mp_serve_metrics_batch(mp_serve_metrics *m, const char *model, size_t rows);
/* A version load of model that worked or was refused. */
void mp_serve_metrics_load(mp_serve_metrics *m, const char *model, int ok);
/* The exposition text (appended to sb). */
void mp_serve_metrics_text(mp_serve_metrics *m, mp_strbuf *sb);

#endif
