/* The model as standalone C: a header and a source file with the weights
 * and the transform as constant tables, and a predict function that needs
 * only libm (the role TF Lite plays for embedded targets).  Weights are
 * written as hexadecimal floats, so they are exactly the trained ones; the
 * arithmetic is mlpipe's, in the same order per element, so predictions
 * agree with `mlpipe predict` to rounding (well within 1e-5). */
#include "export/export.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A C string literal. */
static void c_string(mp_strbuf *sb, const char *s)
{
	mp_strbuf_adds(sb, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			mp_strbuf_addf(sb, "\\%c", c);
		else if (c < 32 || c >= 127)
			mp_strbuf_addf(sb, "\\%03o", c);
		else
			mp_strbuf_addf(sb, "%c", c);
	}
	mp_strbuf_adds(sb, "\"");
}

/* A float as an exact C literal. */
static void c_float(mp_strbuf *sb, float v)
{
	if (isnan(v))
		mp_strbuf_adds(sb, "NAN");
	else
		mp_strbuf_addf(sb, "%af", (double)v);
}

static void c_floats(mp_strbuf *sb, const char *name, const float *v, size_t n)
{
	size_t i;

	mp_strbuf_addf(sb, "static const float %s[%zu] = {", name, n);
	for (i = 0; i < n; i++) {
		mp_strbuf_adds(sb, i % 6 ? " " : "\n\t");
		c_float(sb, v[i]);
		mp_strbuf_adds(sb, ",");
	}
	mp_strbuf_adds(sb, "\n};\n");
}

static void c_names(mp_strbuf *sb, const char *id, const char *what, const char *upper, const char *count,
		    const mp_feature *f, char *const *names, size_t n)
{
	size_t i;

	mp_strbuf_addf(sb, "const char *const %s_%s_names[%s_%s > 0 ? %s_%s : 1] = {", id, what, upper, count, upper,
		       count);
	for (i = 0; i < n; i++) {
		mp_strbuf_adds(sb, "\n\t");
		c_string(sb, f ? f[i].name : names[i]);
		mp_strbuf_adds(sb, ",");
	}
	mp_strbuf_adds(sb, n ? "\n};\n" : "NULL};\n");
}

static const char *const act_code[] = {
	[MP_ACT_NONE] = "v",
	[MP_ACT_RELU] = "v > 0 ? v : 0",
	[MP_ACT_TANH] = "tanhf(v)",
	[MP_ACT_SIGMOID] = "1.0f / (1.0f + expf(-v))",
};

/* A network's weights and biases, per layer. */
static void net_tables(const mp_net *n, mp_strbuf *sb)
{
	char name[64];
	int l;

	for (l = 0; l < n->nlayers; l++) {
		int in = l ? n->layers[l - 1].units : n->nin;

		if (!mp__layer_weights(&n->layers[l], in))
			continue; /* a pool or flatten has no weights */
		snprintf(name, sizeof(name), "w%d", l);
		c_floats(sb, name, n->params + n->woff[l], mp__layer_weights(&n->layers[l], in));
		snprintf(name, sizeof(name), "b%d", l);
		if (mp__layer_biases(&n->layers[l])) /* an embedding has none */
			c_floats(sb, name, n->params + n->boff[l], (size_t)mp__layer_biases(&n->layers[l]));
	}
}

/* predict's loops for a conv (its window over the input, weights (F, K,
 * K, C) in row-major order, zeros where the window is off the input), a
 * max pool (the first largest of each window) or a flatten (nothing: the
 * values are already in order). */
static void image_compute(const mp_layer_spec *ls, int l, mp_strbuf *sb)
{
	const int *in = ls->in, *out = ls->out, K = ls->kernel;

	if (ls->kind == MP_LAYER_EMBED) {
		mp_strbuf_addf(sb, "\t/* layer %d: input %d picks a row of %d of a table of %d floats each */\n", l,
			       ls->column, ls->rows, ls->dim);
		mp_strbuf_addf(sb, "\t{\n\t\tint row = x[%d] >= 0 && x[%d] < %d ? (int)x[%d] : %d;\n\n", ls->column,
			       ls->column, ls->rows - 1, ls->column, ls->rows - 1);
		mp_strbuf_addf(sb, "\t\tfor (k = 0; k < %d; k++)\n\t\t\ty[k] = x[k];\n", ls->column);
		mp_strbuf_addf(sb, "\t\tfor (k = 0; k < %d; k++)\n\t\t\ty[%d + k] = w%d[row * %d + k];\n", ls->dim,
			       ls->column, l, ls->dim);
		mp_strbuf_addf(sb, "\t\tfor (k = %d; k < %d; k++)\n\t\t\ty[k + %d] = x[k];\n\t}\n", ls->column + 1,
			       in[2], ls->dim - 1);
		mp_strbuf_adds(sb, "\tx = y;\n\ty = x == h[0] ? h[1] : h[0];\n");
		return;
	}

	if (ls->kind == MP_LAYER_FLATTEN) {
		mp_strbuf_addf(sb, "\t/* layer %d: flatten (channels last: already in order) */\n", l);
		return;
	}
	if (ls->kind == MP_LAYER_POOL) {
		mp_strbuf_addf(sb, "\t/* layer %d: max pool %d, %dx%dx%d -> %dx%dx%d */\n", l, K, in[0], in[1], in[2],
			       out[0], out[1], out[2]);
		mp_strbuf_addf(sb, "\tfor (o = 0; o < %d; o++)\n\t\tfor (k = 0; k < %d; k++) {\n", out[0] * out[1], in[2]);
		mp_strbuf_addf(sb, "\t\t\tint oy = o / %d, ox = o %% %d, ky, kx;\n", out[1], out[1]);
		mp_strbuf_addf(sb, "\t\t\tfloat v = x[(oy * %d * %d + ox * %d) * %d + k];\n\n", K, in[1], K, in[2]);
		mp_strbuf_addf(sb, "\t\t\tfor (ky = 0; ky < %d; ky++)\n\t\t\t\tfor (kx = 0; kx < %d; kx++) {\n"
				   "\t\t\t\t\tfloat u = x[((oy * %d + ky) * %d + ox * %d + kx) * %d + k];\n\n"
				   "\t\t\t\t\tv = u > v ? u : v;\n\t\t\t\t}\n",
			       K, K, K, in[1], K, in[2]);
		mp_strbuf_addf(sb, "\t\t\ty[o * %d + k] = v;\n\t\t}\n\tx = y;\n\ty = x == h[0] ? h[1] : h[0];\n", in[2]);
		return;
	}
	mp_strbuf_addf(sb, "\t/* layer %d: conv %d of %dx%d, stride %d, %s, %dx%dx%d -> %dx%dx%d, %s */\n", l,
		       ls->filters, K, K, ls->stride, ls->same ? "same" : "valid", in[0], in[1], in[2], out[0], out[1],
		       out[2], mp_act_name(ls->act));
	mp_strbuf_addf(sb, "\tfor (o = 0; o < %d; o++)\n\t\tfor (k = 0; k < %d; k++) {\n", out[0] * out[1], ls->filters);
	mp_strbuf_addf(sb, "\t\t\tint oy = o / %d, ox = o %% %d, ky, kx, c;\n\t\t\tfloat v = b%d[k];\n\n", out[1], out[1],
		       l);
	mp_strbuf_addf(sb, "\t\t\tfor (ky = 0; ky < %d; ky++)\n\t\t\t\tfor (kx = 0; kx < %d; kx++) {\n", K, K);
	mp_strbuf_addf(sb, "\t\t\t\t\tint iy = oy * %d - %d + ky, ix = ox * %d - %d + kx;\n\n", ls->stride, ls->pad,
		       ls->stride, ls->pad);
	mp_strbuf_addf(sb, "\t\t\t\t\tif (iy < 0 || iy >= %d || ix < 0 || ix >= %d)\n\t\t\t\t\t\tcontinue;\n", in[0],
		       in[1]);
	mp_strbuf_addf(sb, "\t\t\t\t\tfor (c = 0; c < %d; c++)\n"
			   "\t\t\t\t\t\tv += w%d[((k * %d + ky) * %d + kx) * %d + c] * x[(iy * %d + ix) * %d + c];\n"
			   "\t\t\t\t}\n",
		       in[2], l, K, K, in[2], in[1], in[2]);
	mp_strbuf_addf(sb, "\t\t\ty[o * %d + k] = %s;\n\t\t}\n\tx = y;\n\ty = x == h[0] ? h[1] : h[0];\n", ls->filters,
		       act_code[ls->act]);
}

/* The trees as flat node arrays: where each tree starts, the output it
 * adds to, and per node (numbered within its tree) the input, the
 * threshold or leaf value, the children (-1: a leaf) and where a missing
 * value goes. */
static void tree_tables(const mp_forest *f, mp_strbuf *sb)
{
	size_t i;
	int t;

	mp_strbuf_addf(sb, "#define NUM_TREES %d\n#define NUM_GROUPS %d\n\n", f->ntrees, f->ngroup);
	mp_strbuf_adds(sb, "static const int tree_start[NUM_TREES + 1] = {");
	for (t = 0; t <= f->ntrees; t++)
		mp_strbuf_addf(sb, "%s%d,", t % 12 ? " " : "\n\t", f->start[t]);
	mp_strbuf_adds(sb, "\n};\nstatic const int tree_group[NUM_TREES] = {");
	for (t = 0; t < f->ntrees; t++)
		mp_strbuf_addf(sb, "%s%d,", t % 24 ? " " : "\n\t", f->group[t]);
	mp_strbuf_adds(sb, "\n};\n\n/* input, threshold (x < it goes left) or leaf value, children, missing goes left */\n"
			   "static const struct node {\n\tint feature;\n\tfloat value;\n\tint left, right;\n"
			   "\tunsigned char dleft;\n} nodes[] = {\n");
	for (i = 0; i < f->nnodes; i++) {
		mp_strbuf_addf(sb, "\t{%d, ", f->feature[i]);
		c_float(sb, f->value[i]);
		mp_strbuf_addf(sb, ", %d, %d, %d},\n", f->left[i], f->right[i], f->dleft[i]);
	}
	mp_strbuf_adds(sb, "};\n\nstatic const float base_margin = ");
	c_float(sb, f->base);
	mp_strbuf_adds(sb, ";\n");
}

/* predict's walk of the trees: the margins into y, summed in tree order
 * as XGBoost sums them, then x points at them. */
static void tree_compute(const mp_forest *f, mp_strbuf *sb)
{
	(void)f;
	mp_strbuf_adds(sb, "\t/* the trees: each adds its leaf to its output's margin */\n"
			   "\tfor (k = 0; k < NUM_GROUPS; k++)\n\t\ty[k] = base_margin;\n"
			   "\tfor (o = 0; o < NUM_TREES; o++) {\n"
			   "\t\tconst struct node *nd = nodes + tree_start[o];\n\t\tint j = 0;\n\n"
			   "\t\twhile (nd[j].left >= 0) {\n\t\t\tfloat v = x[nd[j].feature];\n\n"
			   "\t\t\tj = v != v ? (nd[j].dleft ? nd[j].left : nd[j].right)\n"
			   "\t\t\t\t : v < nd[j].value ? nd[j].left : nd[j].right;\n\t\t}\n"
			   "\t\ty[tree_group[o]] += nd[j].value;\n\t}\n\tx = y;\n");
}

/* The source file. */
static void source(const mp_served *s, const char *id, const char *upper, const char *base, mp_strbuf *sb)
{
	const mp_net *n = &s->model.net;
	const mp_transform *t = &s->t;
	size_t i, k, nvocab = 0, nf = s->has_transform ? t->nfeatures : s->nnum;
	int l, maxw = s->model.nin > s->model.nout ? s->model.nin : s->model.nout;

	for (l = 0; l < n->nlayers; l++)
		if (n->layers[l].units > maxw)
			maxw = n->layers[l].units;
	mp_strbuf_addf(sb,
		       "/* %s.c: generated by mlpipe %s from %s; see %s.h. */\n"
		       "#include \"%s.h\"\n\n#include <math.h>\n#include <stddef.h>\n#include <string.h>\n\n",
		       base, MP_VERSION, s->path, base, base);
	c_names(sb, id, "number", upper, "NUM_NUMBERS", s->features, NULL, s->nnum);
	c_names(sb, id, "string", upper, "NUM_STRINGS", s->features + s->nnum, NULL, s->nstr);
	c_names(sb, id, "class", upper, "NUM_CLASSES", NULL, s->class_names, (size_t)s->nclass);

	/* the transform, one entry per feature */
	mp_strbuf_adds(sb, "\nenum { LINEAR, BUCKETIZE, ONEHOT, EMBED };\n\n"
			   "/* kind, the input it reads, x * scale + shift (miss when missing); buckets between a and\n"
			   " * b; one-hot over vocabulary[vocab .. vocab + n); embed: the index in it (n: unseen) */\n"
			   "static const struct feature {\n\tint kind, src;\n\tfloat scale, shift, miss;\n"
			   "\tdouble a, b;\n\tint n, vocab;\n} features[] = {\n");
	for (i = 0; i < nf; i++) {
		const mp_tx_feature *tf = s->has_transform ? &t->features[i] : NULL;
		static const char *const kinds[] = {"LINEAR", "BUCKETIZE", "ONEHOT", "EMBED"};
		int kind = !tf ? 0 : tf->kind == MP_TX_ONEHOT ? 2 : tf->kind == MP_TX_EMBED ? 3 : tf->kind == MP_TX_BUCKETIZE ? 1 : 0;
		int src = !tf ? (int)i : kind >= 2 ? s->idx[i] - (int)s->nnum : s->idx[i];

		mp_strbuf_addf(sb, "\t{%s, %d, ", kinds[kind], src);
		c_float(sb, tf ? t->scale[i] : 1.0f);
		mp_strbuf_adds(sb, ", ");
		c_float(sb, tf ? t->shift[i] : 0.0f);
		mp_strbuf_adds(sb, ", ");
		c_float(sb, tf ? t->miss[i] : NAN);
		mp_strbuf_addf(sb, ", %a, %a, %d, %zu},\n", tf ? tf->a : 0.0, tf ? tf->b : 0.0,
			       !tf ? 1 : kind >= 2 ? (int)tf->nvocab : kind == 1 ? tf->buckets : 1, nvocab);
		if (kind >= 2)
			nvocab += tf->nvocab;
	}
	mp_strbuf_adds(sb, "};\n\n/* each one-hot or embedded feature's values, sorted (strcmp) */\n"
			   "static const char *const vocabulary[] = {");
	for (i = 0; s->has_transform && i < t->nfeatures; i++)
		for (k = 0; mp_tx_reads_string(t->features[i].kind) && k < t->features[i].nvocab; k++) {
			mp_strbuf_adds(sb, "\n\t");
			c_string(sb, t->features[i].vocab[k]);
			mp_strbuf_adds(sb, ",");
		}
	mp_strbuf_adds(sb, nvocab ? "\n};\n\n" : "NULL};\n\n");

	if (s->model.kind == MP_MODEL_GBDT)
		tree_tables(&s->forest, sb);
	else
		net_tables(n, sb);
	mp_strbuf_addf(sb, "\n#define MAX_WIDTH %d\n\n", maxw);

	/* predict */
	mp_strbuf_addf(sb,
		       "/* The index of s among n sorted values, or -1. */\n"
		       "static int find(const char *const *v, int n, const char *s)\n{\n"
		       "\tint lo = 0, hi = n;\n\n\twhile (lo < hi) {\n\t\tint mid = (lo + hi) / 2, c = strcmp(v[mid], s);\n\n"
		       "\t\tif (c == 0)\n\t\t\treturn mid;\n\t\tif (c < 0)\n\t\t\tlo = mid + 1;\n\t\telse\n\t\t\thi = mid;\n"
		       "\t}\n\treturn -1;\n}\n\n"
		       "int %s_predict(const float *numbers, const char *const *strings, float *out)\n{\n"
		       "\tfloat h[2][MAX_WIDTH];\n\tfloat *x = h[0], *y = h[1];\n\tsize_t f;\n\tint i, o, k, best = 0;\n\n"
		       "\t(void)strings;\n\ti = 0;\n"
		       "\tfor (f = 0; f < sizeof(features) / sizeof(features[0]); f++) {\n"
		       "\t\tconst struct feature *d = &features[f];\n\n"
		       "\t\tif (d->kind == LINEAR) {\n\t\t\tfloat v = numbers[d->src];\n\n"
		       "\t\t\tx[i++] = v != v ? d->miss : v * d->scale + d->shift;\n"
		       "\t\t} else if (d->kind == BUCKETIZE) {\n\t\t\tdouble v = numbers[d->src], w = (d->b - d->a) / d->n;\n"
		       "\t\t\tfor (k = 0; k < d->n; k++)\n\t\t\t\tx[i + k] = 0;\n"
		       "\t\t\tif (v == v) {\n\t\t\t\tint bk = w > 0 ? (int)((v - d->a) / w) : 0;\n\n"
		       "\t\t\t\tx[i + (bk < 0 ? 0 : bk >= d->n ? d->n - 1 : bk)] = 1;\n\t\t\t}\n\t\t\ti += d->n;\n"
		       "\t\t} else if (d->kind == EMBED) {\n\t\t\tconst char *s = strings[d->src];\n"
		       "\t\t\tint hit = s ? find(vocabulary + d->vocab, d->n, s) : -1;\n\n"
		       "\t\t\tx[i++] = (float)(hit >= 0 ? hit : d->n);\n"
		       "\t\t} else {\n\t\t\tconst char *s = strings[d->src];\n"
		       "\t\t\tint hit = s ? find(vocabulary + d->vocab, d->n, s) : -1;\n\n"
		       "\t\t\tfor (k = 0; k < d->n; k++)\n\t\t\t\tx[i + k] = 0;\n"
		       "\t\t\tif (hit >= 0)\n\t\t\t\tx[i + hit] = 1;\n\t\t\ti += d->n;\n\t\t}\n\t}\n",
		       id);
	if (s->model.kind == MP_MODEL_GBDT)
		tree_compute(&s->forest, sb);
	for (l = 0; l < n->nlayers; l++) {
		int in = l ? n->layers[l - 1].units : n->nin;

		if (n->layers[l].kind != MP_LAYER_DENSE) {
			image_compute(&n->layers[l], l, sb);
			continue;
		}
		mp_strbuf_addf(sb,
			       "\t/* layer %d: %d -> %d, %s */\n"
			       "\tfor (o = 0; o < %d; o++) {\n\t\tfloat v = b%d[o];\n\n"
			       "\t\tfor (i = 0; i < %d; i++)\n\t\t\tv += w%d[o * %d + i] * x[i];\n"
			       "\t\ty[o] = %s;\n\t}\n\tx = y;\n\ty = x == h[0] ? h[1] : h[0];\n",
			       l, in, n->layers[l].units, mp_act_name(n->layers[l].act), n->layers[l].units, l, in, l,
			       in, act_code[n->layers[l].act]);
	}
	if (s->model.loss == MP_LOSS_SOFTMAX_CE)
		mp_strbuf_addf(sb,
			       "\t{\n\t\tfloat mx = x[0];\n\t\tdouble sum = 0;\n\n"
			       "\t\tfor (k = 1; k < %d; k++)\n\t\t\tif (x[k] > mx)\n\t\t\t\tmx = x[k];\n"
			       "\t\tfor (k = 0; k < %d; k++)\n\t\t\tsum += exp((double)(x[k] - mx));\n"
			       "\t\tfor (k = 0; k < %d; k++)\n\t\t\tout[k] = (float)(exp((double)(x[k] - mx)) / sum);\n\t}\n",
			       s->nclass, s->nclass, s->nclass);
	else if (s->model.loss == MP_LOSS_BCE)
		mp_strbuf_adds(sb, "\tout[1] = 1.0f / (1.0f + expf(-x[0]));\n\tout[0] = 1 - out[1];\n");
	else if (s->has_transform && s->t.label_scaled)
		/* the label was z-scored for training: back in its units */
		mp_strbuf_addf(sb, "\tfor (k = 0; k < %zu; k++)\n\t\tout[k] = (float)(x[k] * %a + %a);\n\treturn best;\n}\n",
			       s->nout, s->t.label_std, s->t.label_mean);
	else
		mp_strbuf_addf(sb, "\tfor (k = 0; k < %zu; k++)\n\t\tout[k] = x[k];\n\treturn best;\n}\n", s->nout);
	if (s->nclass) /* a regression returned above */
		mp_strbuf_addf(sb, "\tfor (k = 1; k < %d; k++)\n\t\tif (out[k] > out[best])\n\t\t\tbest = k;\n"
				   "\treturn best;\n}\n",
			       s->nclass);
}

static void header(const mp_served *s, const char *id, const char *upper, const char *base, mp_strbuf *sb)
{
	const mp_net *n = &s->model.net;
	int l;

	if (s->model.kind == MP_MODEL_GBDT)
		mp_strbuf_addf(sb, "/* %s.h: generated by mlpipe %s from %s.\n *\n * Boosted trees (%d, XGBoost's) of %d inputs",
			       base, MP_VERSION, s->path, s->forest.ntrees, s->model.nin);
	else
		mp_strbuf_addf(sb, "/* %s.h: generated by mlpipe %s from %s.\n *\n * A network of %d inputs:", base,
			       MP_VERSION, s->path, n->nin);
	for (l = 0; l < n->nlayers; l++) {
		const mp_layer_spec *ls = &n->layers[l];

		if (ls->kind == MP_LAYER_EMBED)
			mp_strbuf_addf(sb, " embedding of input %d (%d x %d)", ls->column, ls->rows, ls->dim);
		else if (ls->kind == MP_LAYER_CONV)
			mp_strbuf_addf(sb, " conv %d %dx%d %s", ls->filters, ls->kernel, ls->kernel, mp_act_name(ls->act));
		else if (ls->kind == MP_LAYER_POOL)
			mp_strbuf_addf(sb, " max pool %d", ls->kernel);
		else if (ls->kind == MP_LAYER_FLATTEN)
			mp_strbuf_adds(sb, " flatten");
		else
			mp_strbuf_addf(sb, " dense %d %s", ls->units, mp_act_name(ls->act));
		mp_strbuf_adds(sb, l + 1 < n->nlayers ? "," : "");
	}
	mp_strbuf_addf(sb, "; loss %s.\n * %s  Needs only a C99 compiler and libm (-lm).\n */\n",
		       mp_loss_name(s->model.loss),
		       s->has_transform ? "The transform it was trained with is inside: give it raw features."
					: "It was trained without a transform: give it the inputs as they were.");
	mp_strbuf_addf(sb,
		       "#ifndef %s_H\n#define %s_H\n\n"
		       "#define %s_NUM_NUMBERS %zu /* raw numeric features, in %s_number_names order */\n"
		       "#define %s_NUM_STRINGS %zu /* raw string features, in %s_string_names order */\n"
		       "#define %s_NUM_CLASSES %d /* 0: a regression */\n"
		       "#define %s_NUM_OUTPUTS %zu\n\n"
		       "extern const char *const %s_number_names[%s_NUM_NUMBERS > 0 ? %s_NUM_NUMBERS : 1];\n"
		       "extern const char *const %s_string_names[%s_NUM_STRINGS > 0 ? %s_NUM_STRINGS : 1];\n"
		       "extern const char *const %s_class_names[%s_NUM_CLASSES > 0 ? %s_NUM_CLASSES : 1];\n\n"
		       "/* Predicts one example from its raw features: numbers (NaN when missing)\n"
		       " * and strings (NULL when missing; may be NULL when there are none).  out\n"
		       " * gets %s_NUM_OUTPUTS floats: %s.  Returns the\n"
		       " * predicted class (0 for a regression).  Allocates nothing; thread-safe. */\n"
		       "int %s_predict(const float *numbers, const char *const *strings, float *out);\n\n#endif\n",
		       upper, upper, upper, s->nnum, id, upper, s->nstr, id, upper, s->nclass, upper, s->nout, id, upper,
		       upper, id, upper, upper, id, upper, upper, upper,
		       s->nclass ? "each class's probability" : "the predicted value", id);
}

int mp_export_c(const mp_served *s, const char *prefix, mp_err *err)
{
	const char *slash = strrchr(prefix, '/'), *base = slash ? slash + 1 : prefix;
	char *id = NULL, *upper = NULL, *hpath = NULL, *cpath = NULL;
	mp_strbuf h = MP_STRBUF_INIT, c = MP_STRBUF_INIT;
	size_t i;
	int rc;

	if ((rc = mp_served_exportable(s, err)) != 0)
		return rc;
	if (!*base || strchr(base, '.'))
		return mp_error(err, MP_EINVAL,
				"-o '%s': give a path without an extension; PATH.h and PATH.c are written", prefix);
	if (!(id = mp_asprintf("%s%s", isdigit((unsigned char)base[0]) ? "m_" : "", base)) || !(upper = mp_strdup(id)) ||
	    !(hpath = mp_asprintf("%s.h", prefix)) || !(cpath = mp_asprintf("%s.c", prefix))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; id[i]; i++) {
		if (!isalnum((unsigned char)id[i]))
			id[i] = '_';
		upper[i] = (char)toupper((unsigned char)id[i]);
	}
	header(s, id, upper, base, &h);
	source(s, id, upper, base, &c);
	if (h.failed || c.failed) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mp_write_file_atomic(hpath, h.buf, h.len, err)) == 0)
		rc = mp_write_file_atomic(cpath, c.buf, c.len, err);
out:
	mp_strbuf_release(&h);
	mp_strbuf_release(&c);
	free(id);
	free(upper);
	free(hpath);
	free(cpath);
	return rc;
}
