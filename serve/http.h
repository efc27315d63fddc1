/* serve/http: the REST server, on libmicrohttpd.  Routes (TF Serving's):
 *
 *   GET  /v1/models/NAME[/versions/N]            status
 *   GET  /v1/models/NAME[/versions/N]/metadata   inputs, outputs, classes, transform
 *   GET  /metrics                                Prometheus text (serve/metrics.h)
 *   POST /v1/models/NAME[/versions/N]:predict    (and :classify, :regress; see rest.h)
 *
 * Requests run on a pool of threads (libmicrohttpd's own); a body over
 * max_body is 413, a client slower than timeout_s is cut off, and at most
 * max_conns connections are open at once.
 */
#ifndef MP_SERVE_HTTP_H
#define MP_SERVE_HTTP_H

#include "core/core.h"
#include "serve/metrics.h"
#include "serve/models.h"

typedef struct mp_http_opts {
	const char *bind; /* an IPv4 address; NULL: 127.0.0.1 */
	int port;	  /* 0: any free one (see mp_http_port) */
	int threads;
	size_t max_body;  /* bytes */
	int timeout_s;
	int max_conns;
	mp_serve_metrics *metrics; /* counted here and shown at GET /metrics; may be NULL */
} mp_http_opts;

typedef struct mp_http mp_http;

int mp_http_start(mp_http **out, mp_models *M, const mp_http_opts *o, mp_err *err);
int mp_http_port(const mp_http *h);
/* Stops accepting, lets the requests in flight finish (for up to
 * drain_ms), then stops and frees h. */
void mp_http_stop(mp_http *h, int drain_ms);

#endif
