/* Model and checkpoint files: see nn.h. */
#include "nn/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

#define MODEL_MAGIC "MLPM"
#define CKPT_MAGIC "MLPC"

/* The architecture as text: a shape line before image layers, then one
 * line per layer ("layer" is a dense one). */
static int header_text(const mp_net *n, const char *transform_text, mp_strbuf *sb)
{
	const mp_layer_spec *ls = n->layers;
	int l;

	mp_strbuf_addf(sb, "mlpipe-model %d\ninputs %d\nloss %s\n", MP_MODEL_VERSION, n->nin, mp_loss_name(n->loss));
	if (ls[0].kind == MP_LAYER_CONV || ls[0].kind == MP_LAYER_POOL)
		mp_strbuf_addf(sb, "shape %d %d %d\n", ls[0].in[0], ls[0].in[1], ls[0].in[2]);
	for (l = 0; l < n->nlayers; l++, ls++) {
		if (ls->kind == MP_LAYER_EMBED)
			mp_strbuf_addf(sb, "embed %d %d %d\n", ls->column, ls->rows, ls->dim);
		else if (ls->kind == MP_LAYER_CONV)
			mp_strbuf_addf(sb, "conv %d %d %d %s %s %.9g\n", ls->filters, ls->kernel, ls->stride,
				       ls->same ? "same" : "valid", mp_act_name(ls->act), (double)ls->dropout);
		else if (ls->kind == MP_LAYER_POOL)
			mp_strbuf_addf(sb, "pool %d\n", ls->kernel);
		else if (ls->kind == MP_LAYER_FLATTEN)
			mp_strbuf_adds(sb, "flatten\n");
		else
			mp_strbuf_addf(sb, "layer %d %s %.9g\n", ls->units, mp_act_name(ls->act), (double)ls->dropout);
	}
	if (transform_text)
		mp_strbuf_addf(sb, "transform\n%s", transform_text);
	return sb->failed ? MP_ENOMEM : 0;
}

/* Builds the whole file in memory: magic, header, params, extra, CRC. */
static int build_file(const char *magic, const mp_strbuf *h, const float *params, size_t nparams,
		      const uint8_t *extra, size_t extra_len, uint8_t **out, size_t *len, mp_err *err)
{
	size_t total, off = 0;
	uint8_t *b;

	total = 4 + 4 + 4 + h->len + 8 + nparams * 4 + extra_len + 4;
	if (!(b = mp_malloc(total)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	memcpy(b, magic, 4);
	mp_put_u32(b + 4, MP_MODEL_VERSION);
	mp_put_u32(b + 8, (uint32_t)h->len);
	off = 12;
	memcpy(b + off, h->buf, h->len);
	off += h->len;
	mp_put_u64(b + off, nparams);
	off += 8;
	if (nparams)
		memcpy(b + off, params, nparams * 4);
	off += nparams * 4;
	if (extra_len)
		memcpy(b + off, extra, extra_len);
	off += extra_len;
	mp_put_u32(b + off, mp_crc32c(0, b, off));
	*out = b;
	*len = total;
	return 0;
}

/* A network's file: its header, its weights, extra. */
static int build(const char *magic, const mp_net *n, const char *transform_text, const uint8_t *extra,
		 size_t extra_len, uint8_t **out, size_t *len, mp_err *err)
{
	mp_strbuf h = MP_STRBUF_INIT;
	int rc;

	if (header_text(n, transform_text, &h) != 0)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	else
		rc = build_file(magic, &h, n->params, n->nparams, extra, extra_len, out, len, err);
	mp_strbuf_release(&h);
	return rc;
}

int mp_model_save(const mp_net *n, const char *transform_text, const char *path, mp_err *err)
{
	uint8_t *b;
	size_t len;
	int rc;

	if ((rc = build(MODEL_MAGIC, n, transform_text, NULL, 0, &b, &len, err)) != 0)
		return rc;
	rc = mp_write_file_atomic(path, b, len, err);
	free(b);
	return rc;
}

int mp_model_save_gbdt(int nin, mp_loss loss, int nout, const char *booster, size_t blen, const char *transform_text,
		       const char *path, mp_err *err)
{
	mp_strbuf h = MP_STRBUF_INIT;
	uint8_t *b = NULL;
	size_t len;
	int rc;

	mp_strbuf_addf(&h, "mlpipe-model %d\ninputs %d\nloss %s\ngbdt %d\n", MP_MODEL_VERSION, nin, mp_loss_name(loss),
		       nout);
	if (transform_text)
		mp_strbuf_addf(&h, "transform\n%s", transform_text);
	if (h.failed)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	else if ((rc = build_file(MODEL_MAGIC, &h, NULL, 0, (const uint8_t *)booster, blen, &b, &len, err)) == 0)
		rc = mp_write_file_atomic(path, b, len, err);
	free(b);
	mp_strbuf_release(&h);
	return rc;
}

/* Checks magic, version and CRC; *header and *params point into data. */
static int parse(const char *magic, const uint8_t *data, size_t len, const char *path, const char **header,
		 size_t *hlen, const uint8_t **params, uint64_t *nparams, const uint8_t **extra, size_t *extra_len,
		 mp_err *err)
{
	size_t off;

	if (len < 28 || memcmp(data, magic, 4) != 0)
		return mp_error(err, MP_ECORRUPT, "'%s' is not an mlpipe %s file", path,
				magic[3] == 'M' ? "model" : "checkpoint");
	if (mp_get_u32(data + 4) != MP_MODEL_VERSION)
		return mp_error(err, MP_EVERSION, "'%s' is of format version %u; this mlpipe reads %d", path,
				mp_get_u32(data + 4), MP_MODEL_VERSION);
	if (mp_crc32c(0, data, len - 4) != mp_get_u32(data + len - 4))
		return mp_error(err, MP_ECORRUPT, "'%s' is damaged (checksum mismatch)", path);
	*hlen = mp_get_u32(data + 8);
	if (12 + *hlen + 8 > len - 4)
		return mp_error(err, MP_ECORRUPT, "'%s': header runs past the end", path);
	*header = (const char *)data + 12;
	off = 12 + *hlen;
	*nparams = mp_get_u64(data + off);
	off += 8;
	if (*nparams > (len - 4 - off) / 4)
		return mp_error(err, MP_ECORRUPT, "'%s': parameters run past the end", path);
	*params = data + off;
	off += (size_t)*nparams * 4;
	*extra = data + off;
	*extra_len = len - 4 - off;
	return 0;
}

/* What a model header declares. */
typedef struct model_header {
	int nin, nlayers, gbdt, shape[3];
	mp_loss loss;
	mp_layer_spec *layers;
	size_t alloc;
	char *transform;
} model_header;

/* An activation by name, or -1. */
static int act_of(const char *name)
{
	int k;

	for (k = 0; k < 4 && strcmp(mp_act_name((mp_act)k), name); k++)
		;
	return k < 4 ? k : -1;
}

/* A layer line into ls: 1, or 0 when line is no layer; -1 when it is a
 * layer mlpipe does not make.  Sizes are checked again by mp_net_plan. */
static int layer_line(const char *line, mp_layer_spec *ls)
{
	char act[32], pad[8], tail;
	float drop = 0;
	int a = 0, b = 0, c = 0;

	memset(ls, 0, sizeof(*ls));
	if (sscanf(line, "layer %d %31s %f %c", &a, act, &drop, &tail) == 3) {
		ls->kind = MP_LAYER_DENSE;
		ls->units = a;
	} else if (sscanf(line, "conv %d %d %d %7s %31s %f %c", &a, &b, &c, pad, act, &drop, &tail) == 6) {
		ls->kind = MP_LAYER_CONV;
		ls->filters = a;
		ls->kernel = b;
		ls->stride = c;
		ls->same = !strcmp(pad, "same");
		if (!ls->same && strcmp(pad, "valid"))
			return -1;
	} else if (sscanf(line, "pool %d %c", &b, &tail) == 1) {
		ls->kind = MP_LAYER_POOL;
		ls->kernel = b;
		strcpy(act, "none");
	} else if (!strcmp(line, "flatten")) {
		ls->kind = MP_LAYER_FLATTEN;
		strcpy(act, "none");
	} else if (sscanf(line, "embed %d %d %d %c", &a, &b, &c, &tail) == 3) {
		ls->kind = MP_LAYER_EMBED;
		ls->column = a;
		ls->rows = b;
		ls->dim = c;
		strcpy(act, "none");
		if (b > MP_NET_MAX_UNITS)
			return -1;
		b = c = 0; /* checked above; the limits below are a conv's */
	} else {
		return 0;
	}
	if (a < 0 || a > MP_NET_MAX_UNITS || b < 0 || b > 4096 || c < 0 || c > 4096 || !(drop >= 0 && drop < 1) ||
	    act_of(act) < 0)
		return -1;
	ls->act = (mp_act)act_of(act);
	ls->dropout = drop;
	ls->init = MP_INIT_AUTO;
	return 1;
}

/* "inputs N", "gbdt N": a whole number in [1, max] */
static int whole_of(const char *s, long max, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	*out = (int)v;
	return *end || end == s || v < 1 || v > max ? -1 : 0;
}

/* One header line into h (0), or an error. */
static int header_line(model_header *h, const char *line, const char *path, mp_err *err)
{
	mp_layer_spec ls;
	int k;

	if (!strncmp(line, "inputs ", 7)) {
		if (whole_of(line + 7, MP_NET_MAX_UNITS, &h->nin) != 0)
			return mp_error(err, MP_ECORRUPT, "'%s': 'inputs %s' is not 1 to %d", path, line + 7,
					MP_NET_MAX_UNITS);
	} else if (!strncmp(line, "loss ", 5)) {
		for (k = 0; k < 3 && strcmp(mp_loss_name((mp_loss)k), line + 5); k++)
			;
		if (k == 3)
			return mp_error(err, MP_ECORRUPT, "'%s': unknown loss '%s'", path, line + 5);
		h->loss = (mp_loss)k;
	} else if (!strncmp(line, "gbdt ", 5)) {
		if (whole_of(line + 5, 100000, &h->gbdt) != 0)
			return mp_error(err, MP_ECORRUPT, "'%s': 'gbdt %s' is not 1 to 100000 outputs", path, line + 5);
	} else if (!strncmp(line, "shape ", 6)) {
		char tail;

		if (sscanf(line + 6, "%d %d %d %c", &h->shape[0], &h->shape[1], &h->shape[2], &tail) != 3 ||
		    h->shape[0] < 1 || h->shape[1] < 1 || h->shape[2] < 1)
			return mp_error(err, MP_ECORRUPT, "'%s': '%s' is not an input shape", path, line);
	} else if ((k = layer_line(line, &ls)) != 0) {
		if (k < 0 || h->nlayers >= MP_NET_MAX_LAYERS)
			return mp_error(err, MP_ECORRUPT, "'%s': '%s' is not a layer mlpipe makes", path, line);
		if (mp_grow((void **)&h->layers, &h->alloc, (size_t)h->nlayers, sizeof(*h->layers)) != 0)
			return mp_error(err, MP_ENOMEM, "out of memory");
		h->layers[h->nlayers++] = ls;
	}
	return 0;
}

static int parse_header(const char *text_in, size_t hlen, const char *path, model_header *h, mp_err *err)
{
	char *text = mp_strndup(text_in, hlen), *line, *next;
	int rc = 0, lineno = 0;

	memset(h, 0, sizeof(*h));
	h->loss = MP_LOSS_SOFTMAX_CE;
	if (!text)
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (line = text; *line && rc == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (++lineno == 1 && strncmp(line, "mlpipe-model ", 13) != 0) {
			rc = mp_error(err, MP_ECORRUPT, "'%s': not a model header", path);
		} else if (!strcmp(line, "transform")) {
			if (!(h->transform = mp_strdup(next)))
				rc = mp_error(err, MP_ENOMEM, "out of memory");
			break;
		} else {
			rc = header_line(h, line, path, err);
		}
	}
	free(text);
	if (rc == 0 && (h->nin < 1 || (h->nlayers < 1 && !h->gbdt)))
		rc = mp_error(err, MP_ECORRUPT, "'%s': the header lacks inputs or layers", path);
	else if (rc == 0 && h->nlayers && h->gbdt)
		rc = mp_error(err, MP_ECORRUPT, "'%s': the header declares both layers and trees", path);
	else if (rc == 0 && h->gbdt && (h->loss == MP_LOSS_SOFTMAX_CE ? h->gbdt < 2 : h->gbdt != 1))
		rc = mp_error(err, MP_ECORRUPT, "'%s': %d outputs do not fit loss %s", path, h->gbdt,
			      mp_loss_name(h->loss));
	if (rc != 0) {
		free(h->layers);
		free(h->transform);
		h->layers = NULL;
		h->transform = NULL;
	}
	return rc;
}

int mp_model_load(mp_model *m, const char *path, int max_batch, mp_err *err)
{
	char *data;
	size_t len;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = mp_read_file(path, &data, &len, err)) != 0)
		return rc;
	rc = mp_model_parse(m, data, len, path, max_batch, err);
	free(data);
	return rc;
}

/* A model of trees: the booster is kept as bytes for trees/ to read. */
static int parse_gbdt(mp_model *m, uint64_t np, const uint8_t *extra, size_t extra_len, const char *path,
		      mp_err *err)
{
	if (np != 0 || extra_len == 0)
		return mp_error(err, MP_ECORRUPT, "'%s': a model of trees holds %llu parameters and %zu bytes of "
				"booster", path, (unsigned long long)np, extra_len);
	if (!(m->booster = mp_malloc(extra_len + 1)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	memcpy(m->booster, extra, extra_len);
	m->booster[extra_len] = '\0';
	m->booster_len = extra_len;
	m->kind = MP_MODEL_GBDT;
	return 0;
}

/* A network: the sizes the header declares against what the file holds,
 * before anything of that size is allocated. */
static int parse_net(mp_model *m, model_header *h, const uint8_t *params, uint64_t np, size_t extra_len, const char *path,
		     int max_batch, mp_err *err)
{
	mp_layer_spec *layers = h->layers;
	int nlayers = h->nlayers;
	size_t need;
	int rc;

	if ((rc = mp_net_plan(m->nin, h->shape[0] ? h->shape : NULL, layers, nlayers, err)) != 0 ||
	    (rc = mp_net_count_params(m->nin, layers, nlayers, &need, err)) != 0) {
		mp_error_wrap(err, "'%s'", path);
		return err->code = MP_ECORRUPT;
	}
	if (need != np)
		return mp_error(err, MP_ECORRUPT, "'%s' holds %llu parameters, its layers need %zu", path,
				(unsigned long long)np, need);
	if (extra_len)
		return mp_error(err, MP_ECORRUPT, "'%s' holds %zu bytes after a network's parameters", path, extra_len);
	if ((rc = mp_net_init(&m->net, m->nin, layers, nlayers, m->loss, max_batch, 0, err)) != 0)
		return rc;
	memcpy(m->net.params, params, (size_t)np * 4);
	m->nout = mp_net_nout(&m->net);
	return 0;
}

int mp_model_parse(mp_model *m, const char *data, size_t len, const char *path, int max_batch, mp_err *err)
{
	const uint8_t *params, *extra;
	const char *htext;
	size_t hlen, extra_len;
	uint64_t np;
	model_header h;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = parse(MODEL_MAGIC, (const uint8_t *)data, len, path, &htext, &hlen, &params, &np, &extra, &extra_len,
			err)) != 0 ||
	    (rc = parse_header(htext, hlen, path, &h, err)) != 0)
		return rc;
	m->nin = h.nin;
	m->loss = h.loss;
	m->nout = h.gbdt;
	m->transform_text = h.transform;
	rc = h.gbdt ? parse_gbdt(m, np, extra, extra_len, path, err)
		    : parse_net(m, &h, params, np, extra_len, path, max_batch, err);
	free(h.layers);
	if (rc != 0)
		mp_model_release(m);
	return rc;
}

void mp_model_release(mp_model *m)
{
	mp_net_release(&m->net);
	free(m->booster);
	free(m->transform_text);
	memset(m, 0, sizeof(*m));
}

/* ---- checkpoints ------------------------------------------------------- */

/* extra: u32 epoch, u64 step, f64 best, u32 since_best, u64 net rng,
 * u8 kind, u64 opt t, m and v (nparams floats each when present),
 * u8 has_best, best params, then u32 kept_epoch and 4 f64 kept metrics
 * (absent in checkpoints from before they were kept). */
#define KEPT_BYTES (4 + 4 * 8)
int mp_checkpoint_save(const mp_net *n, const mp_optimizer *o, const mp_train_state *ts, const char *path,
		       mp_err *err)
{
	size_t np = n->nparams, elen = 4 + 8 + 8 + 4 + 8 + 1 + 8 + 2 * np * 4 + 1 + np * 4 + KEPT_BYTES, off = 0, len;
	uint8_t *extra = mp_calloc(1, elen), *b;
	uint64_t bits;
	int rc;

	if (!extra)
		return mp_error(err, MP_ENOMEM, "out of memory");
	mp_put_u32(extra, (uint32_t)ts->epoch);
	mp_put_u64(extra + 4, (uint64_t)ts->step);
	memcpy(&bits, &ts->best, 8);
	mp_put_u64(extra + 12, bits);
	mp_put_u32(extra + 20, (uint32_t)ts->since_best);
	mp_put_u64(extra + 24, n->rng);
	extra[32] = (uint8_t)o->kind;
	mp_put_u64(extra + 33, (uint64_t)o->t);
	off = 41;
	if (o->m)
		memcpy(extra + off, o->m, np * 4);
	off += np * 4;
	if (o->v)
		memcpy(extra + off, o->v, np * 4);
	off += np * 4;
	extra[off++] = ts->best_params != NULL;
	if (ts->best_params)
		memcpy(extra + off, ts->best_params, np * 4);
	off += np * 4;
	mp_put_u32(extra + off, (uint32_t)ts->kept_epoch);
	off += 4;
	for (int k = 0; k < 4; k++, off += 8) {
		memcpy(&bits, &ts->kept[k], 8);
		mp_put_u64(extra + off, bits);
	}
	rc = build(CKPT_MAGIC, n, NULL, extra, off, &b, &len, err);
	free(extra);
	if (rc != 0)
		return rc;
	rc = mp_write_file_atomic(path, b, len, err);
	free(b);
	return rc;
}

int mp_checkpoint_load(mp_net *n, mp_optimizer *o, mp_train_state *ts, const char *path, mp_err *err)
{
	const uint8_t *params, *extra;
	const char *header;
	size_t hlen, extra_len, len, np = n->nparams, off;
	uint64_t count, bits;
	char *data;
	int rc;

	if (!mp_path_exists(path))
		return MP_ENOTFOUND;
	if ((rc = mp_read_file(path, &data, &len, err)) != 0)
		return rc;
	if ((rc = parse(CKPT_MAGIC, (const uint8_t *)data, len, path, &header, &hlen, &params, &count, &extra, &extra_len,
			err)) != 0)
		goto out;
	{
		mp_strbuf h = MP_STRBUF_INIT;

		header_text(n, NULL, &h);
		if (count != np || h.len != hlen || memcmp(h.buf, header, hlen) != 0 ||
		    (extra_len != 41 + 3 * np * 4 + 1 && extra_len != 41 + 3 * np * 4 + 1 + KEPT_BYTES) ||
		    extra[32] != (uint8_t)o->kind)
			rc = mp_error(err, MP_EINVAL, "the checkpoint '%s' is of another network or optimizer", path);
		mp_strbuf_release(&h);
		if (rc != 0)
			goto out;
	}
	memcpy(n->params, params, np * 4);
	ts->epoch = (int)mp_get_u32(extra);
	ts->step = (int64_t)mp_get_u64(extra + 4);
	bits = mp_get_u64(extra + 12);
	memcpy(&ts->best, &bits, 8);
	ts->since_best = (int)mp_get_u32(extra + 20);
	n->rng = mp_get_u64(extra + 24);
	o->t = (int64_t)mp_get_u64(extra + 33);
	off = 41;
	if (o->m)
		memcpy(o->m, extra + off, np * 4);
	off += np * 4;
	if (o->v)
		memcpy(o->v, extra + off, np * 4);
	off += np * 4;
	if (extra[off++] && ts->best_params)
		memcpy(ts->best_params, extra + off, np * 4);
	off += np * 4;
	if (extra_len == off + KEPT_BYTES) {
		ts->kept_epoch = (int)mp_get_u32(extra + off);
		off += 4;
		for (int k = 0; k < 4; k++, off += 8) {
			bits = mp_get_u64(extra + off);
			memcpy(&ts->kept[k], &bits, 8);
		}
	}
out:
	free(data);
	return rc;
}
