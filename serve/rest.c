/* TF Serving's REST bodies: see rest.h.  Bodies are parsed by jansson. */
#include "serve/rest.h"
#include "core/json.h"
#include "data/csv.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 100000 /* rows in one request */

int mp_rest_error(int status, const char *msg, mp_strbuf *out)
{
	mp_strbuf_reset(out);
	mp_strbuf_adds(out, "{\"error\": ");
	mp_json_quote(out, msg);
	mp_strbuf_adds(out, "}\n");
	return status;
}

/* The model's raw inputs in their order: the transform's features, or
 * x0 .. x(nin-1); feature i is column col(i) of the block. */
static size_t ninputs(const mp_served *s)
{
	return s->has_transform ? s->t.nfeatures : s->nnum;
}

static const char *input_name(const mp_served *s, size_t i)
{
	return s->has_transform ? s->t.features[i].name : s->features[i].name;
}

static int input_col(const mp_served *s, size_t i)
{
	return s->has_transform ? s->idx[i] : (int)i;
}

/* One value into column col of the row being built. */
static int put_value(mp_block *b, const mp_served *s, int col, const json_t *v, const char *name, size_t row,
		     char *msg, size_t msgsz)
{
	mp_err err;

	if (s->features[col].type == MP_FEAT_STRING) {
		if (json_is_null(v))
			return mp_block_set_string(b, (size_t)col, NULL, 0, &err) == 0 ? 0 : -1;
		if (!json_is_string(v)) {
			snprintf(msg, msgsz, "row %zu, feature '%s': a string feature takes a string (or null)", row, name);
			return -1;
		}
		if (mp_block_set_string(b, (size_t)col, json_string_value(v), json_string_length(v), &err) != 0) {
			snprintf(msg, msgsz, "%s", err.msg);
			return -1;
		}
		return 0;
	}
	if (json_is_null(v)) {
		mp_block_set_float(b, (size_t)col, NAN);
		return 0;
	}
	if (!json_is_number(v)) {
		snprintf(msg, msgsz, "row %zu, feature '%s': a numeric feature takes a number (or null)", row, name);
		return -1;
	}
	mp_block_set_float(b, (size_t)col, (float)json_number_value(v));
	return 0;
}

static int row_from_list(mp_block *b, const mp_served *s, const json_t *row, size_t r, char *msg, size_t msgsz)
{
	size_t i, n = ninputs(s);

	if (json_array_size(row) != n) {
		snprintf(msg, msgsz, "row %zu has %zu values; the model takes %zu (see its metadata's inputs)", r,
			 json_array_size(row), n);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (put_value(b, s, input_col(s, i), json_array_get(row, i), input_name(s, i), r, msg, msgsz) != 0)
			return -1;
	return 0;
}

/* 0 when every key of obj names one of the model's inputs; else -1 with
 * the first that does not (and the likely one it meant) for row r.  The
 * common case costs a lookup per input. */
static int unknown_keys(const mp_served *s, const json_t *obj, size_t r, char *msg, size_t msgsz)
{
	size_t i, n = ninputs(s), known = 0;
	const char *key;
	json_t *val;

	for (i = 0; i < n; i++)
		known += json_object_get(obj, input_name(s, i)) != NULL;
	if (known == json_object_size(obj))
		return 0;
	json_object_foreach((json_t *)obj, key, val) {
		const char **names;
		char near[128];

		for (i = 0; i < n && strcmp(input_name(s, i), key); i++)
			;
		if (i < n)
			continue;
		names = mp_calloc(n + 1, sizeof(*names));
		for (i = 0; names && i < n; i++)
			names[i] = input_name(s, i);
		snprintf(msg, msgsz, "row %zu: the model has no feature '%s'%s", r, key,
			 mp_did_you_mean(names ? mp_closest(key, names, n) : NULL, near, sizeof(near)));
		free(names);
		return -1;
	}
	return 0;
}

static int row_from_object(mp_block *b, const mp_served *s, const json_t *row, size_t r, char *msg, size_t msgsz)
{
	size_t i, n = ninputs(s);

	if (unknown_keys(s, row, r, msg, msgsz) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		const json_t *v = json_object_get(row, input_name(s, i));

		if (put_value(b, s, input_col(s, i), v ? v : json_null(), input_name(s, i), r, msg, msgsz) != 0)
			return -1;
	}
	return 0;
}

/* Row r of columns {FEATURE: [...]} (of equal lengths, checked), read in
 * place; the names are checked once, at the first row. */
static int row_from_columns(mp_block *b, const mp_served *s, const json_t *cols, size_t r, char *msg, size_t msgsz)
{
	size_t i, n = ninputs(s);

	if (r == 0 && unknown_keys(s, cols, 0, msg, msgsz) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		const json_t *col = json_object_get(cols, input_name(s, i)), *v = col ? json_array_get(col, r) : NULL;

		if (put_value(b, s, input_col(s, i), v ? v : json_null(), input_name(s, i), r, msg, msgsz) != 0)
			return -1;
	}
	return 0;
}

/* The rows of the request: from "instances" or "examples" (a list), or
 * "inputs" (columns by name, or a list of rows).  *cols is set for
 * columns. */
static const json_t *rows_of(const json_t *root, mp_rest_verb verb, int *columns, size_t *n, char *msg, size_t msgsz)
{
	const char *want = verb == MP_REST_PREDICT ? "'instances' or 'inputs'" : "'examples'";
	const json_t *rows = NULL;

	*columns = 0;
	if (!json_is_object(root)) {
		snprintf(msg, msgsz, "the body must be a JSON object with %s", want);
		return NULL;
	}
	if (verb == MP_REST_PREDICT) {
		const json_t *in = json_object_get(root, "instances"), *cols = json_object_get(root, "inputs");

		if (in && cols) {
			snprintf(msg, msgsz, "the body has both 'instances' and 'inputs': send one");
			return NULL;
		}
		rows = in ? in : cols;
		if (cols && json_is_object(cols)) {
			const char *key;
			json_t *val;
			size_t len = (size_t)-1;

			json_object_foreach((json_t *)cols, key, val) {
				if (!json_is_array(val) || (len != (size_t)-1 && json_array_size(val) != len)) {
					snprintf(msg, msgsz, "inputs: every feature's column must be a list of the same length "
						 "('%s' is not)", key);
					return NULL;
				}
				len = json_array_size(val);
			}
			*columns = 1;
			*n = len == (size_t)-1 ? 0 : len;
			return cols;
		}
	} else {
		rows = json_object_get(root, "examples");
	}
	if (!rows || !json_is_array(rows)) {
		snprintf(msg, msgsz, "the body must hold %s as a list", want);
		return NULL;
	}
	*n = json_array_size(rows);
	return rows;
}

static int fill_row(mp_block *b, const mp_served *s, const json_t *rows, int columns, size_t r, char *msg,
		    size_t msgsz)
{
	const json_t *row;

	if (columns)
		return row_from_columns(b, s, rows, r, msg, msgsz);
	row = json_array_get(rows, r);
	if (json_is_array(row))
		return row_from_list(b, s, row, r, msg, msgsz);
	if (json_is_object(row))
		return row_from_object(b, s, row, r, msg, msgsz);
	if (ninputs(s) == 1)
		return put_value(b, s, input_col(s, 0), row, input_name(s, 0), r, msg, msgsz);
	snprintf(msg, msgsz, "row %zu is neither a list nor an object", r);
	return -1;
}

static void write_row(mp_strbuf *out, const mp_served *s, mp_rest_verb verb, const float *p)
{
	size_t k, best = 0;

	if (!s->nclass) {
		mp_strbuf_addf(out, "%.9g", p[0]);
		return;
	}
	for (k = 1; k < (size_t)s->nclass; k++)
		if (p[k] > p[best])
			best = k;
	if (verb == MP_REST_CLASSIFY) {
		mp_strbuf_adds(out, "[");
		for (k = 0; k < (size_t)s->nclass; k++) {
			mp_strbuf_adds(out, k ? ", [" : "[");
			mp_json_quote(out, s->class_names[k]);
			mp_strbuf_addf(out, ", %.9g]", p[k]);
		}
		mp_strbuf_adds(out, "]");
		return;
	}
	mp_strbuf_adds(out, "{\"probabilities\": [");
	for (k = 0; k < (size_t)s->nclass; k++)
		mp_strbuf_addf(out, "%s%.9g", k ? ", " : "", p[k]);
	mp_strbuf_addf(out, "], \"label\": %zu, \"class\": ", best);
	mp_json_quote(out, s->class_names[best]);
	mp_strbuf_adds(out, "}");
}

/* A request going through the batcher: its rows, and its answer. */
typedef struct batched {
	const mp_served *s;
	mp_rest_verb verb;
	const json_t *rows;
	int columns;
	mp_strbuf *out;
} batched;

static int batched_fill(void *ud, mp_block *blk, size_t r, char *msg, size_t msgsz)
{
	batched *q = ud;

	return fill_row(blk, q->s, q->rows, q->columns, r, msg, msgsz);
}

static void batched_emit(void *ud, const float *o, size_t r)
{
	batched *q = ud;

	if (r)
		mp_strbuf_adds(q->out, ", ");
	write_row(q->out, q->s, q->verb, o);
}

/* A small request shares a GEMM with the others that arrive with it. */
static int predict_batched(mp_sversion *v, mp_rest_verb verb, const json_t *rows, int columns, size_t n,
			   mp_strbuf *out)
{
	batched q = {&v->s, verb, rows, columns, out};
	char msg[MP_ERR_MAX] = "";

	mp_strbuf_adds(out, verb == MP_REST_PREDICT ? "{\"predictions\": [" : "{\"results\": [");
	if (mp_batcher_run(v->batch, n, batched_fill, batched_emit, &q, msg, sizeof(msg)) != 0)
		return mp_rest_error(400, msg, out);
	mp_strbuf_adds(out, "]}\n");
	return out->failed ? mp_rest_error(500, "out of memory", out) : 200;
}

static int predict_rows(mp_sversion *v, mp_rest_verb verb, const json_t *rows, int columns, size_t n,
			mp_strbuf *out)
{
	mp_served *s = &v->s;
	size_t from, r, chunk = (size_t)s->max_batch;
	char msg[MP_ERR_MAX] = "";
	mp_sslot *t;
	int status = 200;

	if (verb == MP_REST_CLASSIFY && !s->nclass)
		return mp_rest_error(400, "this model is a regression: use :regress or :predict", out);
	if (verb == MP_REST_REGRESS && s->nclass)
		return mp_rest_error(400, "this model is a classifier: use :classify or :predict", out);
	if (v->batch && n && n <= mp_batcher_max_rows(v->batch))
		return predict_batched(v, verb, rows, columns, n, out);
	t = mp_sversion_slot(v);
	mp_strbuf_adds(out, verb == MP_REST_PREDICT ? "{\"predictions\": [" : "{\"results\": [");
	for (from = 0; from < n && status == 200; from += chunk) {
		size_t m = n - from < chunk ? n - from : chunk;

		mp_block_clear(&t->blk);
		for (r = 0; r < m; r++) {
			if (fill_row(&t->blk, s, rows, columns, from + r, msg, sizeof(msg)) != 0) {
				status = 400;
				break;
			}
			mp_block_end_row(&t->blk);
		}
		if (status != 200)
			break;
		mp_served_predict(&t->s, &t->blk, 0, m, t->pred, NULL);
		for (r = 0; r < m; r++) {
			if (from + r)
				mp_strbuf_adds(out, ", ");
			write_row(out, s, verb, t->pred + r * s->nout);
		}
	}
	mp_sversion_unslot(t);
	if (status != 200)
		return mp_rest_error(status, msg, out);
	mp_strbuf_adds(out, "]}\n");
	return out->failed ? mp_rest_error(500, "out of memory", out) : 200;
}

/* ---- the fast path: {"instances": [[numbers], ...]} without a tree ----
 *
 * The common body of a model of numbers (pixels, measurements) is read
 * straight into the block: the profile put two thirds of a request's time
 * in building jansson's tree of its numbers.  Anything else (strings,
 * objects, other keys, a malformed body) goes to the general path, which
 * also words the errors. */

typedef struct cursor {
	const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
		c->p++;
}

static int eat(cursor *c, char ch)
{
	skip_ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return 1;
	}
	return 0;
}

/* A JSON number (its grammar exactly) or null into *v. */
static int number_at(cursor *c, float *v)
{
	const char *s, *q;

	skip_ws(c);
	s = q = c->p;
	if (c->end - q >= 4 && !memcmp(q, "null", 4)) {
		c->p += 4;
		*v = NAN;
		return 1;
	}
	if (q < c->end && *q == '-')
		q++;
	if (q < c->end && *q == '0')
		q++;
	else if (q < c->end && *q >= '1' && *q <= '9')
		while (q < c->end && *q >= '0' && *q <= '9')
			q++;
	else
		return 0;
	if (q < c->end && *q == '.') {
		if (++q >= c->end || *q < '0' || *q > '9')
			return 0;
		while (q < c->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < c->end && (*q == 'e' || *q == 'E')) {
		if (++q < c->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= c->end || *q < '0' || *q > '9')
			return 0;
		while (q < c->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (mp_parse_f32(s, (size_t)(q - s), v) != 0)
		return 0;
	c->p = q;
	return 1;
}

/* A fast-path request going through the batcher: its rows, read already. */
typedef struct copied {
	batched q;
	const mp_block *from;
} copied;

static int copied_fill(void *ud, mp_block *blk, size_t r, char *msg, size_t msgsz)
{
	const copied *c = ud;
	size_t f;

	(void)msg;
	(void)msgsz;
	for (f = 0; f < blk->nfeat; f++)
		mp_block_set_float(blk, f, c->from->num[f][r]);
	return 0;
}

static void copied_emit(void *ud, const float *o, size_t r)
{
	batched_emit(&((copied *)ud)->q, o, r);
}

/* The rows read so far (bp's), predicted and written to out. */
static void predict_held(mp_sslot *t, mp_strbuf *out, size_t *total)
{
	size_t i;

	mp_served_predict(&t->s, &t->blk, 0, t->blk.rows, t->pred, NULL);
	for (i = 0; i < t->blk.rows; i++) {
		if (*total + i)
			mp_strbuf_adds(out, ", ");
		write_row(out, &t->s, MP_REST_PREDICT, t->pred + i * t->s.nout);
	}
	*total += t->blk.rows;
	mp_block_clear(&t->blk);
}

/* 200 with the answer, or 0 to hand the body to the general path.  With
 * batching on, a request of up to a batch's rows is read here and then
 * joins a batch. */
static int predict_fast(mp_sversion *v, const char *body, size_t len, mp_strbuf *out, size_t *nrows)
{
	mp_served *s = &v->s;
	size_t n = ninputs(s), chunk = (size_t)s->max_batch, i, total = 0;
	cursor c = {body, body + len};
	mp_block *bp;
	mp_sslot *t;
	float x;
	int ok = 1;

	if (s->nstr || !eat(&c, '{') || !eat(&c, '"') || (size_t)(c.end - c.p) < 10 || memcmp(c.p, "instances\"", 10))
		return 0;
	c.p += 10;
	if (!eat(&c, ':') || !eat(&c, '['))
		return 0;
	t = mp_sversion_slot(v);
	bp = &t->blk;
	mp_strbuf_adds(out, "{\"predictions\": [");
	if (eat(&c, ']'))
		ok = 0; /* no rows: the general path says so */
	while (ok) {
		if (!eat(&c, '['))
			ok = 0;
		for (i = 0; ok && i < n; i++) {
			ok = (i == 0 || eat(&c, ',')) && number_at(&c, &x);
			if (ok)
				mp_block_set_float(bp, (size_t)input_col(s, i), x);
		}
		if (!ok || !eat(&c, ']'))
			break;
		mp_block_end_row(bp);
		if (bp->rows == chunk)
			predict_held(t, out, &total);
		if (eat(&c, ']'))
			break;
		if (!eat(&c, ','))
			ok = 0;
	}
	ok = ok && eat(&c, '}') && (skip_ws(&c), c.p == c.end) && total + bp->rows <= MAX_ROWS;
	if (ok && bp->rows && v->batch && !total && bp->rows <= mp_batcher_max_rows(v->batch)) {
		copied q = {{s, MP_REST_PREDICT, NULL, 0, out}, bp};

		total = bp->rows;
		ok = mp_batcher_run(v->batch, bp->rows, copied_fill, copied_emit, &q, NULL, 0) == 0;
	} else if (ok && bp->rows) {
		predict_held(t, out, &total);
	}
	mp_sversion_unslot(t);
	if (!ok) {
		mp_strbuf_reset(out);
		return 0;
	}
	mp_strbuf_adds(out, "]}\n");
	*nrows = total;
	return out->failed ? 0 : 200;
}

int mp_rest_infer(mp_sversion *v, mp_rest_verb verb, const char *body, size_t len, mp_strbuf *out, size_t *rows_out)
{
	json_error_t je;
	json_t *root;
	const json_t *rows;
	char msg[MP_ERR_MAX];
	size_t n = 0;
	int columns, status;

	*rows_out = 0;
	if (verb == MP_REST_PREDICT && (status = predict_fast(v, body, len, out, rows_out)) != 0)
		return status;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(msg, sizeof(msg), "bad JSON at byte %d: %s", je.position, je.text);
		return mp_rest_error(400, msg, out);
	}
	if (!(rows = rows_of(root, verb, &columns, &n, msg, sizeof(msg))))
		status = mp_rest_error(400, msg, out);
	else if (n > MAX_ROWS)
		status = mp_rest_error(400, "more than 100000 rows in one request", out);
	else
		status = predict_rows(v, verb, rows, columns, n, out);
	*rows_out = status == 200 ? n : 0;
	json_decref(root);
	return status;
}

/* A TensorInfo of TF Serving's signature_def: dtype and shape (-1 is the
 * batch), named name. */
static json_t *tensor_info(const char *name, const char *dtype, long width)
{
	json_t *t = json_object(), *shape = json_object(), *dims = json_array();
	char size[32];

	json_array_append_new(dims, json_pack("{s:s, s:s}", "size", "-1", "name", ""));
	if (width > 0) {
		snprintf(size, sizeof(size), "%ld", width);
		json_array_append_new(dims, json_pack("{s:s, s:s}", "size", size, "name", ""));
	}
	json_object_set_new(shape, "dim", dims);
	json_object_set_new(shape, "unknown_rank", json_false());
	json_object_set_new(t, "dtype", json_string(dtype));
	json_object_set_new(t, "tensor_shape", shape);
	json_object_set_new(t, "name", json_string(name));
	return t;
}

/* The model as TF Serving's GetModelMetadata describes a SavedModel: one
 * signature, serving_default, whose inputs are the raw features (one
 * value per example each) and whose outputs are what :predict answers. */
static json_t *signature_def(const mp_served *s)
{
	json_t *sig = json_object(), *ins = json_object(), *outs = json_object();
	size_t i;

	for (i = 0; i < ninputs(s); i++)
		json_object_set_new(ins, input_name(s, i),
				    tensor_info(input_name(s, i),
						s->features[input_col(s, i)].type == MP_FEAT_STRING ? "DT_STRING" : "DT_FLOAT", 0));
	if (s->nclass) {
		json_object_set_new(outs, "probabilities", tensor_info("probabilities", "DT_FLOAT", s->nclass));
		json_object_set_new(outs, "label", tensor_info("label", "DT_INT64", 0));
		json_object_set_new(outs, "class", tensor_info("class", "DT_STRING", 0));
	} else {
		json_object_set_new(outs, "value", tensor_info("value", "DT_FLOAT", 0));
	}
	json_object_set_new(sig, "inputs", ins);
	json_object_set_new(sig, "outputs", outs);
	json_object_set_new(sig, "method_name", json_string("tensorflow/serving/predict"));
	return json_pack("{s:{s:o}}", "signature_def", "serving_default", sig);
}

int mp_rest_metadata(mp_sversion *v, const char *name, mp_strbuf *out)
{
	const mp_served *s = &v->s;
	json_t *root = json_object(), *md = json_object(), *ins = json_array(), *outs = json_object();
	json_t *tx = json_array(), *classes = json_array(), *spec = json_object();
	char ver[32], *text;
	size_t i, k;

	snprintf(ver, sizeof(ver), "%ld", v->version);
	json_object_set_new(spec, "name", json_string(name));
	json_object_set_new(spec, "version", json_string(ver));
	json_object_set_new(spec, "signature_name", json_string("serving_default"));
	for (i = 0; i < ninputs(s); i++) {
		json_t *in = json_object();

		json_object_set_new(in, "name", json_string(input_name(s, i)));
		json_object_set_new(in, "type",
				    json_string(s->features[input_col(s, i)].type == MP_FEAT_STRING ? "string" : "float"));
		json_array_append_new(ins, in);
	}
	for (i = 0; s->has_transform && i < s->t.nfeatures; i++) {
		const mp_tx_feature *tf = &s->t.features[i];
		static const char *const kinds[] = {"none", "zscore", "minmax", "onehot", "bucketize", "divide"};
		json_t *f = json_object(), *outn = json_array();
		char buf[512];

		json_object_set_new(f, "feature", json_string(tf->name));
		json_object_set_new(f, "kind", json_string(kinds[tf->kind]));
		for (k = 0; k < mp_tx_feature_width(tf); k++)
			json_array_append_new(outn, json_string(mp_tx_feature_output_name(tf, k, buf, sizeof(buf))));
		json_object_set_new(f, "outputs", outn);
		json_array_append_new(tx, f);
	}
	for (i = 0; i < (size_t)s->nclass; i++)
		json_array_append_new(classes, json_string(s->class_names[i]));
	json_object_set_new(outs, "kind", json_string(s->nclass ? "classifier" : "regression"));
	json_object_set_new(outs, "width", json_integer((json_int_t)s->nout));
	if (s->nclass)
		json_object_set_new(outs, "classes", classes);
	else
		json_decref(classes);
	json_object_set_new(md, "inputs", ins);
	json_object_set_new(md, "outputs", outs);
	json_object_set_new(md, "transform", tx);
	json_object_set_new(md, "signature_def", signature_def(s));
	json_object_set_new(root, "model_spec", spec);
	json_object_set_new(root, "metadata", md);
	text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (!text)
		return mp_rest_error(500, "out of memory", out);
	mp_strbuf_adds(out, text);
	mp_strbuf_adds(out, "\n");
	free(text);
	return 200;
}
