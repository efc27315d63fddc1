/* A model with its transform, scoring raw examples: see export.h. */
#include "export/export.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void mp_served_release(mp_served *s)
{
	size_t i;

	if (s->view) {
		free(s->x);
		free(s->raw);
		free(s->pre);
		mp_net_release(&s->model.net);
		memset(s, 0, sizeof(*s));
		return;
	}
	if (s->features && !s->has_transform)
		for (i = 0; i < s->nnum; i++)
			free(s->features[i].name);
	free(s->features);
	for (i = 0; s->class_names && i < (size_t)s->nclass; i++)
		free(s->class_names[i]);
	free(s->class_names);
	free(s->idx);
	free(s->in);
	free(s->x);
	free(s->raw);
	free(s->pre);
	free(s->path);
	mp_transform_release(&s->t);
	mp_forest_release(&s->forest);
	mp_model_release(&s->model);
	memset(s, 0, sizeof(*s));
}

/* The raw inputs of a model with a transform: its numbers, then its
 * strings, each in the transform's order. */
static int transform_inputs(mp_served *s, mp_err *err)
{
	const mp_transform *t = &s->t;
	mp_examples_meta m = {0};
	size_t i, k = 0;
	int pass;

	if (!(s->features = mp_calloc(t->nfeatures + 1, sizeof(*s->features))) ||
	    !(s->idx = mp_calloc(t->nfeatures + 1, sizeof(int))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < t->nfeatures; i++) {
			int is_str = mp_tx_reads_string(t->features[i].kind);

			if (is_str != pass)
				continue;
			s->features[k].name = t->features[i].name; /* borrowed from the transform */
			s->features[k].type = is_str ? MP_FEAT_STRING : MP_FEAT_FLOAT;
			k++;
			if (is_str)
				s->nstr++;
			else
				s->nnum++;
		}
	m.features = s->features;
	m.nfeatures = k;
	for (i = 0; i < k; i++)
		if (mp_name_index_add(&m.ix, s->features[i].name, i, NULL) < 0) {
			mp_name_index_release(&m.ix);
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
	pass = mp_transform_bind(t, &m, s->idx, err);
	mp_name_index_release(&m.ix);
	return pass;
}

/* The workspaces mp_served_predict writes, for max_batch rows. */
static int workspaces(mp_served *s, mp_err *err)
{
	if (!(s->x = mp_malloc((size_t)s->max_batch * (size_t)s->model.nin * sizeof(float))) ||
	    !(s->raw = mp_malloc((size_t)s->max_batch * (size_t)s->model.nout * sizeof(float))) ||
	    !(s->pre = mp_malloc((s->t.nfeatures + 1) * sizeof(float))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}

int mp_served_view(mp_served *v, const mp_served *s, mp_err *err)
{
	int rc;

	*v = *s;
	v->view = 1;
	v->x = v->raw = v->pre = NULL;
	if (s->model.kind == MP_MODEL_NET && (rc = mp_net_view(&v->model.net, &s->model.net, err)) != 0) {
		memset(v, 0, sizeof(*v));
		return rc;
	}
	if ((rc = workspaces(v, err)) != 0)
		mp_served_release(v);
	return rc;
}

int mp_served_load(mp_served *s, const char *path, int max_batch, mp_err *err)
{
	struct stat st;
	size_t i;
	int rc, nout;

	memset(s, 0, sizeof(*s));
	s->path = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? mp_asprintf("%s/model.mlpm", path) : mp_strdup(path);
	if (!s->path)
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = mp_model_load(&s->model, s->path, max_batch, err)) != 0)
		goto fail;
	s->max_batch = max_batch;
	nout = s->model.nout;
	if (s->model.kind == MP_MODEL_GBDT) {
		if ((rc = mp_forest_parse(&s->forest, s->model.booster, s->model.booster_len, s->model.nin,
					  s->model.loss, s->path, err)) != 0)
			goto fail;
		if (s->forest.ngroup != nout) {
			rc = mp_error(err, MP_ECORRUPT, "'%s': the booster gives %d outputs, the header says %d",
				      s->path, s->forest.ngroup, nout);
			goto fail;
		}
		/* the flat arrays are what scores: a server keeps no megabytes of JSON */
		free(s->model.booster);
		s->model.booster = NULL;
		s->model.booster_len = 0;
	}
	if (s->model.transform_text) {
		s->has_transform = 1;
		if ((rc = mp_transform_from_text(&s->t, s->model.transform_text, s->path, err)) != 0 ||
		    (rc = transform_inputs(s, err)) != 0)
			goto fail;
		if (mp_transform_width(&s->t) != (size_t)s->model.nin) {
			rc = mp_error(err, MP_ECORRUPT, "'%s': its transform makes %zu inputs for %d", s->path,
				      mp_transform_width(&s->t), s->model.nin);
			goto fail;
		}
	} else {
		s->nnum = (size_t)s->model.nin;
		if (!(s->features = mp_calloc(s->nnum, sizeof(*s->features)))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto fail;
		}
		for (i = 0; i < s->nnum; i++)
			if (!(s->features[i].name = mp_asprintf("x%zu", i))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				goto fail;
			}
	}
	s->nclass = s->model.loss == MP_LOSS_SOFTMAX_CE ? nout : s->model.loss == MP_LOSS_BCE ? 2 : 0;
	s->nout = s->nclass ? (size_t)s->nclass : (size_t)nout;
	if (s->nclass && !(s->class_names = mp_calloc((size_t)s->nclass, sizeof(char *)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < (size_t)s->nclass; i++) {
		int named = s->has_transform && s->t.nlabel_vocab == (size_t)s->nclass;
		int names = s->has_transform && s->t.nlabel_names == (size_t)s->nclass;

		if (!(s->class_names[i] = named ? mp_strdup(s->t.label_vocab[i])
				      : names ? mp_strdup(s->t.label_names[i]) : mp_asprintf("%zu", i))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto fail;
		}
	}
	/* read blocks laid out as s->features until mp_served_bind says otherwise */
	s->label = -1;
	if (!(s->in = mp_calloc(s->nnum + s->nstr + s->t.nfeatures + 1, sizeof(int)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i <= (s->has_transform ? s->t.nfeatures : s->nnum - 1); i++)
		s->in[i] = s->has_transform ? s->idx[i] : (int)i;
	if ((rc = workspaces(s, err)) != 0)
		goto fail;
	return 0;
fail:
	mp_served_release(s);
	return rc;
}

int mp_served_exportable(const mp_served *s, mp_err *err)
{
	size_t i;

	for (i = 0; i < s->model.net.nparams; i++)
		if (!isfinite(s->model.net.params[i]))
			return mp_error(err, MP_EINVAL, "'%s': weight %zu is not a finite number", s->path, i);
	for (i = 0; i < s->forest.nnodes; i++)
		if (!isfinite(s->forest.value[i]))
			return mp_error(err, MP_EINVAL, "'%s': tree node %zu's value is not a finite number", s->path, i);
	for (i = 0; s->has_transform && i < s->t.nfeatures; i++)
		if (!isfinite(s->t.scale[i]) || !isfinite(s->t.shift[i]) || isinf(s->t.miss[i]))
			return mp_error(err, MP_EINVAL, "'%s': the transform of '%s' is not finite", s->path,
					s->t.features[i].name);
	return 0;
}

int mp_served_bind(mp_served *s, const mp_examples_meta *m, const char *where, mp_err *err)
{
	size_t f;
	int n = 0;

	if (s->has_transform)
		return mp_transform_bind(&s->t, m, s->in, err);
	if (!(s->in = mp_realloc(s->in, (m->nfeatures + 1) * sizeof(int))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	s->label = m->label ? mp_examples_feature(m, m->label) : -1;
	for (f = 0; f < m->nfeatures; f++)
		if ((int)f != s->label && m->features[f].type == MP_FEAT_FLOAT)
			s->in[n++] = (int)f;
	if (n != s->model.nin || s->label < 0)
		return mp_error(err, MP_EINVAL, "'%s' takes %d inputs; the examples in '%s' have %d numbers and %s label",
				s->path, s->model.nin, where, n, s->label < 0 ? "no" : "a");
	return 0;
}

int mp_served_block(const mp_served *s, mp_block *b, size_t rows, mp_err *err)
{
	return mp_block_init(b, s->features, s->nnum + s->nstr, rows, err);
}

void mp_served_predict(mp_served *s, const mp_block *b, size_t from, size_t n, float *out, float *labels)
{
	int nin = s->model.nin, nraw = s->model.nout;
	size_t r, k;

	for (r = 0; r < n; r++) {
		float *x = s->x + r * (size_t)nin;
		size_t row = from + r;

		if (s->has_transform && s->t.all_linear && !labels) {
			/* numbers only (pixels): gather, then the one vectorized loop */
			for (k = 0; k < s->t.nfeatures; k++)
				s->pre[k] = s->in[k] >= 0 ? b->num[s->in[k]][row] : NAN;
			mp_transform_apply(&s->t, s->pre, x);
		} else if (s->has_transform) {
			mp_transform_row(&s->t, s->in, b, row, x, labels ? &labels[r] : NULL);
		} else {
			for (k = 0; k < (size_t)nin; k++)
				x[k] = b->num[s->in[k]][row];
			if (labels)
				labels[r] = s->label >= 0 ? b->num[s->label][row] : NAN;
		}
	}
	if (s->model.kind == MP_MODEL_GBDT)
		mp_forest_predict(&s->forest, s->x, (int)n, s->raw);
	else
		mp_net_predict(&s->model.net, s->x, (int)n, s->raw);
	for (r = 0; r < n; r++) {
		const float *p = s->raw + r * (size_t)nraw;
		float *o = out + r * s->nout;

		if (s->model.loss == MP_LOSS_BCE) {
			/* one logistic output: the probabilities of 0 and 1 */
			o[0] = 1 - p[0];
			o[1] = p[0];
		} else if (s->t.label_scaled && !s->nclass) {
			/* a z-scored label: back in its own units, the prediction and the label */
			for (k = 0; k < s->nout; k++)
				o[k] = (float)(p[k] * s->t.label_std + s->t.label_mean);
			if (labels)
				labels[r] = (float)(labels[r] * s->t.label_std + s->t.label_mean);
		} else {
			memcpy(o, p, s->nout * sizeof(float));
		}
	}
}

/* ---- predictions as CSV (mlpipe predict, BulkInferrer) ---- */

/* Writes a CSV field, quoted when it needs to be. */
static void put_field(FILE *fp, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

void mp_predictions_header(const mp_served *s, FILE *fp)
{
	size_t k;

	if (s->nclass) {
		fputs("class", fp);
		for (k = 0; k < (size_t)s->nclass; k++) {
			char name[512];

			snprintf(name, sizeof(name), "p_%s", s->class_names[k]);
			fputc(',', fp);
			put_field(fp, name);
		}
	} else if (s->nout == 1) {
		fputs("value", fp);
	} else {
		for (k = 0; k < s->nout; k++)
			fprintf(fp, "%svalue%zu", k ? "," : "", k);
	}
	fputc('\n', fp);
}

/* A number as 9 significant digits (floats round-trip); NaN as "nan",
 * whatever its sign bit. */
static void put_number(FILE *fp, const char *sep, float v)
{
	if (isnan(v))
		fprintf(fp, "%snan", sep);
	else
		fprintf(fp, "%s%.9g", sep, (double)v);
}

void mp_predictions_rows(const mp_served *s, const float *out, size_t n, FILE *fp)
{
	size_t r, k;

	for (r = 0; r < n; r++) {
		const float *o = out + r * s->nout;

		if (s->nclass) {
			size_t best = 0;

			for (k = 1; k < (size_t)s->nclass; k++)
				if (o[k] > o[best])
					best = k;
			put_field(fp, s->class_names[best]);
			for (k = 0; k < (size_t)s->nclass; k++)
				put_number(fp, ",", o[k]);
		} else {
			for (k = 0; k < s->nout; k++)
				put_number(fp, k ? "," : "", o[k]);
		}
		fputc('\n', fp);
	}
}
