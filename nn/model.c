/* Model and checkpoint files: see nn.h. */
#include "nn/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

#define MODEL_MAGIC "MLPM"
#define CKPT_MAGIC "MLPC"

/* The architecture as text. */
static int header_text(const mp_net *n, const char *transform_text, mp_strbuf *sb)
{
	int l;

	mp_strbuf_addf(sb, "mlpipe-model %d\ninputs %d\nloss %s\n", MP_MODEL_VERSION, n->nin, mp_loss_name(n->loss));
	for (l = 0; l < n->nlayers; l++)
		mp_strbuf_addf(sb, "layer %d %s %.9g\n", n->layers[l].units, mp_act_name(n->layers[l].act),
			       (double)n->layers[l].dropout);
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

static int parse_header(const char *h, size_t hlen, const char *path, int *nin, mp_loss *loss, mp_layer_spec **layers,
			int *nlayers, int *gbdt, char **transform, mp_err *err)
{
	char *text = mp_strndup(h, hlen), *line, *next;
	size_t alloc = 0;
	int rc = 0, lineno = 0;

	*layers = NULL;
	*nlayers = 0;
	*transform = NULL;
	*nin = 0;
	*gbdt = 0;
	if (!text)
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (line = text; *line && rc == 0; line = next) {
		char act[32];
		float drop;
		int units;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		lineno++;
		if (lineno == 1 && strncmp(line, "mlpipe-model ", 13) != 0) {
			rc = mp_error(err, MP_ECORRUPT, "'%s': not a model header", path);
		} else if (!strncmp(line, "inputs ", 7)) {
			char *end;
			long v = strtol(line + 7, &end, 10);

			if (*end || v < 1 || v > MP_NET_MAX_UNITS)
				rc = mp_error(err, MP_ECORRUPT, "'%s': 'inputs %s' is not 1 to %d", path, line + 7,
					      MP_NET_MAX_UNITS);
			*nin = (int)v;
		} else if (!strncmp(line, "loss ", 5)) {
			int k;

			for (k = 0; k < 3 && strcmp(mp_loss_name((mp_loss)k), line + 5); k++)
				;
			if (k == 3)
				rc = mp_error(err, MP_ECORRUPT, "'%s': unknown loss '%s'", path, line + 5);
			*loss = (mp_loss)k;
		} else if (!strncmp(line, "gbdt ", 5)) {
			char *end;
			long v = strtol(line + 5, &end, 10);

			if (*end || v < 1 || v > 100000)
				rc = mp_error(err, MP_ECORRUPT, "'%s': 'gbdt %s' is not 1 to 100000 outputs", path, line + 5);
			*gbdt = (int)v;
		} else if (sscanf(line, "layer %d %31s %f", &units, act, &drop) == 3) {
			int k;

			if (units < 1 || units > MP_NET_MAX_UNITS || !(drop >= 0 && drop < 1) || *nlayers >= MP_NET_MAX_LAYERS) {
				rc = mp_error(err, MP_ECORRUPT, "'%s': '%s' is not a layer mlpipe makes", path, line);
				break;
			}
			if (mp_grow((void **)layers, &alloc, (size_t)*nlayers, sizeof(**layers)) != 0) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
			for (k = 0; k < 4 && strcmp(mp_act_name((mp_act)k), act); k++)
				;
			if (k == 4)
				rc = mp_error(err, MP_ECORRUPT, "'%s': unknown activation '%s'", path, act);
			(*layers)[*nlayers].units = units;
			(*layers)[*nlayers].act = (mp_act)k;
			(*layers)[*nlayers].dropout = drop;
			(*layers)[*nlayers].init = MP_INIT_AUTO;
			(*nlayers)++;
		} else if (!strcmp(line, "transform")) {
			if (!(*transform = mp_strdup(next)))
				rc = mp_error(err, MP_ENOMEM, "out of memory");
			break;
		}
	}
	free(text);
	if (rc == 0 && (*nin < 1 || (*nlayers < 1 && !*gbdt)))
		rc = mp_error(err, MP_ECORRUPT, "'%s': the header lacks inputs or layers", path);
	else if (rc == 0 && *nlayers && *gbdt)
		rc = mp_error(err, MP_ECORRUPT, "'%s': the header declares both layers and trees", path);
	else if (rc == 0 && *gbdt && (*loss == MP_LOSS_SOFTMAX_CE ? *gbdt < 2 : *gbdt != 1))
		rc = mp_error(err, MP_ECORRUPT, "'%s': %d outputs do not fit loss %s", path, *gbdt, mp_loss_name(*loss));
	if (rc != 0) {
		free(*layers);
		free(*transform);
		*layers = NULL;
		*transform = NULL;
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
static int parse_net(mp_model *m, const mp_layer_spec *layers, int nlayers, const uint8_t *params, uint64_t np,
		     size_t extra_len, const char *path, int max_batch, mp_err *err)
{
	size_t need;
	int rc;

	if ((rc = mp_net_count_params(m->nin, layers, nlayers, &need, err)) != 0) {
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
	const char *header;
	size_t hlen, extra_len;
	uint64_t np;
	mp_layer_spec *layers = NULL;
	int nlayers, rc, gbdt;

	memset(m, 0, sizeof(*m));
	m->loss = MP_LOSS_SOFTMAX_CE;
	if ((rc = parse(MODEL_MAGIC, (const uint8_t *)data, len, path, &header, &hlen, &params, &np, &extra, &extra_len,
			err)) != 0 ||
	    (rc = parse_header(header, hlen, path, &m->nin, &m->loss, &layers, &nlayers, &gbdt, &m->transform_text,
			       err)) != 0)
		return rc;
	m->nout = gbdt;
	rc = gbdt ? parse_gbdt(m, np, extra, extra_len, path, err)
		  : parse_net(m, layers, nlayers, params, np, extra_len, path, max_batch, err);
	free(layers);
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
