/* The REST server on libmicrohttpd: see http.h. */
#include "serve/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/metrics.h"
#include "serve/rest.h"

struct mp_http {
	struct MHD_Daemon *d;
	mp_models *M;
	mp_http_opts o;
};

/* One connection's request body, gathered as it comes, and its answer.
 * They are kept from one request to the next on a kept-alive connection,
 * so that a request allocates nothing of its own once they have grown;
 * libmicrohttpd sends the answer from out (the next request on the
 * connection starts after it is sent). */
typedef struct request {
	mp_strbuf body, out;
	int too_big;
} request;

/* Buffers over this are given back after their request, not kept. */
#define KEEP_BYTES (1u << 20)

static enum MHD_Result reply(struct MHD_Connection *c, int status, mp_strbuf *body, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (body->failed) {
		mp_strbuf_release(body);
		status = mp_rest_error(500, "out of memory", body);
	}
	r = MHD_create_response_from_buffer(body->len, body->buf ? body->buf : (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The route of url: the model's name, version (0: latest), and what is
 * asked: "" (status), "metadata", or a verb after ':'.  0, or the HTTP
 * status of a url that is not one (with out's error). */
typedef struct route {
	char name[256];
	long version;
	char label[128];
	char what[32];
	int verb;
} route;

static int parse_route(const char *url, route *rt, mp_strbuf *out)
{
	const char *p = url, *colon;
	char rest[512];
	size_t n;

	memset(rt, 0, sizeof(*rt));
	if (strncmp(p, "/v1/models/", 11) != 0)
		return mp_rest_error(404, "not a route: the API is /v1/models/NAME[/versions/N][/metadata|:predict]", out);
	p += 11;
	if ((colon = strchr(p, ':'))) {
		snprintf(rt->what, sizeof(rt->what), "%s", colon + 1);
		rt->verb = 1;
		n = (size_t)(colon - p);
	} else {
		n = strlen(p);
	}
	if (n >= sizeof(rest))
		return mp_rest_error(404, "the URL is too long", out);
	memcpy(rest, p, n);
	rest[n] = '\0';
	p = rest;
	n = strcspn(p, "/");
	if (!n || n >= sizeof(rt->name))
		return mp_rest_error(404, "the URL names no model", out);
	memcpy(rt->name, p, n);
	rt->name[n] = '\0';
	p += n;
	if (!strncmp(p, "/versions/", 10)) {
		char *end;

		rt->version = strtol(p + 10, &end, 10);
		if (end == p + 10 || rt->version <= 0)
			return mp_rest_error(404, "a version is a positive number", out);
		p = end;
	} else if (!strncmp(p, "/labels/", 8)) {
		size_t l = strcspn(p + 8, "/");

		if (!l || l >= sizeof(rt->label))
			return mp_rest_error(404, "a label is a name", out);
		memcpy(rt->label, p + 8, l);
		rt->label[l] = '\0';
		p += 8 + l;
	}
	if (!strcmp(p, "/metadata") && !rt->verb)
		snprintf(rt->what, sizeof(rt->what), "metadata");
	else if (*p && strcmp(p, "/"))
		return mp_rest_error(404, "not a route: the API is /v1/models/NAME[/versions/N][/metadata|:predict]", out);
	return 0;
}

static int verb_of(const char *what, mp_rest_verb *v)
{
	if (!strcmp(what, "predict"))
		*v = MP_REST_PREDICT;
	else if (!strcmp(what, "classify"))
		*v = MP_REST_CLASSIFY;
	else if (!strcmp(what, "regress"))
		*v = MP_REST_REGRESS;
	else
		return -1;
	return 0;
}

static int code_of(int rc)
{
	return rc == MP_ENOTFOUND ? 404 : rc == MP_EBUSY ? 503 : 500;
}

/* What an answer was about, for the metrics. */
typedef struct answered {
	char model[256];
	long version;
	size_t rows;
} answered;

static int answer(mp_http *h, const char *method, const char *url, request *rq, mp_strbuf *out, answered *a)
{
	mp_sversion *v = NULL;
	mp_rest_verb verb = MP_REST_PREDICT;
	route rt;
	mp_err err;
	int status, rc;

	if ((status = parse_route(url, &rt, out)) != 0)
		return status;
	snprintf(a->model, sizeof(a->model), "%s", rt.name);
	if (rt.verb) {
		if (strcmp(method, "POST"))
			return mp_rest_error(405, "an inference (:predict, :classify, :regress) is a POST", out);
		if (verb_of(rt.what, &verb) != 0)
			return mp_rest_error(404, "not a method: use :predict, :classify or :regress", out);
		if (rq->too_big)
			return mp_rest_error(413, "the body is over the limit (--max_body_bytes)", out);
	} else if (strcmp(method, "GET")) {
		return mp_rest_error(405, "status and metadata are a GET", out);
	}
	if (!rt.verb && !*rt.what) {
		if ((rc = mp_models_status(h->M, rt.name, rt.version, *rt.label ? rt.label : NULL, out, &err)) != 0)
			return mp_rest_error(code_of(rc), err.msg, out);
		return 200;
	}
	if ((rc = mp_models_acquire(h->M, rt.name, rt.version, *rt.label ? rt.label : NULL, &v, &err)) != 0)
		return mp_rest_error(code_of(rc), err.msg, out);
	a->version = v->version;
	if (rt.verb)
		status = mp_rest_infer(v, verb, rq->body.buf ? rq->body.buf : "", rq->body.len, out, &a->rows);
	else
		status = mp_rest_metadata(v, rt.name, out);
	mp_models_release(h->M, v);
	return status;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *data, size_t *size, void **con_cls)
{
	mp_http *h = cls;
	request *rq = *con_cls;
	int status;

	(void)version;
	if (!rq) {
		const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

		if (!i || !(rq = i->socket_context))
			return MHD_NO;
		mp_strbuf_reset(&rq->body);
		mp_strbuf_reset(&rq->out);
		rq->too_big = 0;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*size) {
		if (rq->body.len + *size > h->o.max_body)
			rq->too_big = 1;
		else if (!rq->too_big)
			mp_strbuf_add(&rq->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (!strcmp(url, "/metrics")) {
		if (h->o.metrics)
			mp_serve_metrics_text(h->o.metrics, &rq->out);
		return reply(c, strcmp(method, "GET") ? 405 : 200, &rq->out, "text/plain; version=0.0.4");
	}
	{
		int64_t t0 = mp_monotonic_ns();
		answered a;

		memset(&a, 0, sizeof(a));
		status = answer(h, method, url, rq, &rq->out, &a);
		mp_serve_metrics_request(h->o.metrics, *a.model ? a.model : NULL, a.version, status,
					 (double)(mp_monotonic_ns() - t0) / 1e9, a.rows);
	}
	return reply(c, status, &rq->out, "application/json");
}

/* After a request's answer is sent: big buffers are not kept. */
static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	request *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq) {
		if (rq->body.alloc > KEEP_BYTES)
			mp_strbuf_release(&rq->body);
		if (rq->out.alloc > KEEP_BYTES)
			mp_strbuf_release(&rq->out);
		*con_cls = NULL;
	}
}

/* A connection's buffers live as long as it does. */
static void connection(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	request *rq = *socket_context;

	(void)cls;
	(void)c;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = mp_calloc(1, sizeof(request));
	} else if (rq) {
		mp_strbuf_release(&rq->body);
		mp_strbuf_release(&rq->out);
		free(rq);
		*socket_context = NULL;
	}
}

int mp_http_start(mp_http **out, mp_models *M, const mp_http_opts *o, mp_err *err)
{
	struct sockaddr_in addr;
	mp_http *h;

	*out = NULL;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->bind ? o->bind : "127.0.0.1", &addr.sin_addr) != 1)
		return mp_error(err, MP_EINVAL, "--bind: '%s' is not an IPv4 address", o->bind);
	if (!(h = mp_calloc(1, sizeof(*h))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	h->M = M;
	h->o = *o;
	/* epoll, with opportunistic reads and writes (TURBO): see the README's
	 * serving profile */
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ITC |
					MHD_USE_ERROR_LOG,
				(uint16_t)o->port,
				NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads > 0 ? o->threads : 1),
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o->max_conns > 0 ? o->max_conns : 256),
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->timeout_s > 0 ? o->timeout_s : 30),
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, connection, NULL,
				MHD_OPTION_END);
	if (!h->d) {
		free(h);
		return mp_error(err, MP_EIO, "cannot listen on %s:%d (is the port taken?)", o->bind ? o->bind : "127.0.0.1",
				o->port);
	}
	*out = h;
	return 0;
}

int mp_http_port(const mp_http *h)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? (int)i->port : -1;
}

void mp_http_stop(mp_http *h, int drain_ms)
{
	int waited = 0;

	if (!h)
		return;
	MHD_quiesce_daemon(h->d);
	while (waited < drain_ms) {
		const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (!i || i->num_connections == 0)
			break;
		nanosleep(&(struct timespec){0, 10000000L}, NULL);
		waited += 10;
	}
	MHD_stop_daemon(h->d);
	free(h);
}
