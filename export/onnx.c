/* The model as ONNX (IR 9, opset 19), written as protobuf by hand: the
 * messages and field numbers are those of onnx.proto.
 *
 * Inputs: 'numbers' float32 [N, K] (the raw numeric features, in order)
 * and, when the transform one-hot encodes strings, 'strings' string
 * [N, S].  The transform is arithmetic on them: numbers become x * scale +
 * shift (Where(IsNaN) puts the training mean in for a missing value);
 * bucketized numbers are floored in double precision, as mlpipe does, and
 * compared with the bucket indices; strings are compared with their
 * vocabulary (Equal on strings is why the opset is 19).  The pieces are
 * concatenated in the transform's order, then each layer is a Gemm and its
 * activation (conv layers a Conv, channels first, between a Reshape and
 * Transpose in and out; pools a MaxPool), or boosted trees are one TreeEnsembleRegressor (ai.onnx.ml)
 * of the margins, which Softmax or Sigmoid turn into outputs.  Outputs: 'probabilities' float32 [N, C] and 'label' int64
 * [N] (ArgMax, first maximum as mlpipe), or 'value' float32 [N, O].
 */
#include "export/export.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define IR_VERSION 9
#define OPSET 19

enum { T_FLOAT = 1, T_INT64 = 7, T_STRING = 8, T_BOOL = 9, T_DOUBLE = 11 };
enum { A_FLOAT = 1, A_INT = 2, A_INTS = 7 };

/* ---- protobuf encoding --------------------------------------------------- */

static void pb_varint(mp_strbuf *b, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;

	do {
		buf[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			buf[n] |= 0x80;
		n++;
	} while (v);
	mp_strbuf_add(b, (const char *)buf, n);
}

static void pb_tag(mp_strbuf *b, int field, int wire)
{
	pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

static void pb_int(mp_strbuf *b, int field, int64_t v)
{
	pb_tag(b, field, 0);
	pb_varint(b, (uint64_t)v);
}

static void pb_bytes(mp_strbuf *b, int field, const void *d, size_t n)
{
	pb_tag(b, field, 2);
	pb_varint(b, n);
	mp_strbuf_add(b, (const char *)d, n);
}

static void pb_str(mp_strbuf *b, int field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

/* Appends message m as field and releases it. */
static void pb_msg(mp_strbuf *b, int field, mp_strbuf *m)
{
	if (m->failed)
		b->failed = 1;
	pb_bytes(b, field, m->buf ? m->buf : "", m->len);
	mp_strbuf_release(m);
}

/* ---- the graph ------------------------------------------------------------ */

typedef struct graph {
	mp_strbuf nodes;
	mp_strbuf inits;
	char **names; /* every fresh name, owned */
	size_t nnames, alloc;
	int failed;
} graph;

/* A fresh tensor name, owned by the graph ("" when out of memory, which
 * fails the export at the end). */
static const char *fresh(graph *g, const char *stem)
{
	char *n;

	if (g->nnames == g->alloc) {
		size_t alloc = g->alloc ? g->alloc * 2 : 64;
		char **names = mp_realloc(g->names, alloc * sizeof(char *));

		if (!names) {
			g->failed = 1;
			return "";
		}
		g->names = names;
		g->alloc = alloc;
	}
	if (!(n = mp_asprintf("%s_%zu", stem, g->nnames))) {
		g->failed = 1;
		return "";
	}
	g->names[g->nnames++] = n;
	return n;
}

typedef struct attr {
	const char *name;
	int type;
	int64_t i;
	float f;
	const int64_t *ints;
	size_t nints;
} attr;

/* A node: op(in...) -> out, with up to a few attributes. */
static void node(graph *g, const char *op, const char *const *in, int nin, const char *out, const attr *attrs,
		 int nattrs)
{
	mp_strbuf n = MP_STRBUF_INIT;
	int k;
	size_t j;

	for (k = 0; k < nin; k++)
		pb_str(&n, 1, in[k]);
	pb_str(&n, 2, out);
	pb_str(&n, 3, out);
	pb_str(&n, 4, op);
	for (k = 0; k < nattrs; k++) {
		mp_strbuf a = MP_STRBUF_INIT;

		pb_str(&a, 1, attrs[k].name);
		if (attrs[k].type == A_FLOAT) {
			uint8_t f[4];

			memcpy(f, &attrs[k].f, 4);
			pb_tag(&a, 2, 5);
			mp_strbuf_add(&a, (const char *)f, 4);
		} else if (attrs[k].type == A_INT) {
			pb_int(&a, 3, attrs[k].i);
		} else {
			for (j = 0; j < attrs[k].nints; j++)
				pb_int(&a, 8, attrs[k].ints[j]);
		}
		pb_int(&a, 20, attrs[k].type);
		pb_msg(&n, 5, &a);
	}
	pb_msg(&g->nodes, 1, &n);
}

static const char *op1(graph *g, const char *op, const char *a, const char *stem, const attr *at, int nat)
{
	const char *out = fresh(g, stem);

	node(g, op, &a, 1, out, at, nat);
	return out;
}

static const char *op2(graph *g, const char *op, const char *a, const char *b, const char *stem)
{
	const char *in[2] = {a, b}, *out = fresh(g, stem);

	node(g, op, in, 2, out, NULL, 0);
	return out;
}

/* An initializer: dims, and the data as raw little-endian bytes (or, for
 * strings, the strings). */
static void init(graph *g, const char *name, int type, const int64_t *dims, int ndims, const void *raw,
		 size_t rawlen, char *const *strs, size_t nstrs)
{
	mp_strbuf t = MP_STRBUF_INIT;
	int k;
	size_t j;

	for (k = 0; k < ndims; k++)
		pb_int(&t, 1, dims[k]);
	pb_int(&t, 2, type);
	for (j = 0; j < nstrs; j++)
		pb_str(&t, 6, strs[j]);
	pb_str(&t, 8, name);
	if (raw)
		pb_bytes(&t, 9, raw, rawlen);
	pb_msg(&g->inits, 5, &t);
}

static const char *const_floats(graph *g, const char *stem, const float *v, int64_t rows, int64_t cols)
{
	const char *name = fresh(g, stem);
	int64_t dims[2] = {rows, cols};

	init(g, name, T_FLOAT, rows ? dims : dims + 1, rows ? 2 : 1, v, (size_t)((rows ? rows : 1) * cols) * 4, NULL,
	     0);
	return name;
}

static const char *const_doubles(graph *g, const char *stem, const double *v, int64_t n)
{
	const char *name = fresh(g, stem);

	init(g, name, T_DOUBLE, &n, 1, v, (size_t)n * 8, NULL, 0);
	return name;
}

static const char *const_int64s(graph *g, const char *stem, const int64_t *v, int64_t n)
{
	const char *name = fresh(g, stem);

	init(g, name, T_INT64, &n, 1, v, (size_t)n * 8, NULL, 0);
	return name;
}

/* Columns [from, to) of a [N, K] tensor. */
static const char *columns(graph *g, const char *x, int64_t from, int64_t to)
{
	int64_t one = 1;
	const char *in[4] = {x, const_int64s(g, "start", &from, 1), NULL, NULL}, *out;

	in[2] = const_int64s(g, "end", &to, 1);
	in[3] = const_int64s(g, "axes", &one, 1);
	out = fresh(g, "cols");
	node(g, "Slice", in, 4, out, NULL, 0);
	return out;
}

static const char *cast(graph *g, const char *x, int to)
{
	attr a = {"to", A_INT, to, 0, NULL, 0};

	return op1(g, "Cast", x, "cast", &a, 1);
}

/* A value-info entry: name, element type, dims (-1: the batch, "N"). */
static void value_info(mp_strbuf *graph_pb, int field, const char *name, int type, const int64_t *dims, int ndims,
		       const char *doc)
{
	mp_strbuf vi = MP_STRBUF_INIT, tp = MP_STRBUF_INIT, tt = MP_STRBUF_INIT, sh = MP_STRBUF_INIT;
	int k;

	for (k = 0; k < ndims; k++) {
		mp_strbuf d = MP_STRBUF_INIT;

		if (dims[k] < 0)
			pb_str(&d, 2, "N");
		else
			pb_int(&d, 1, dims[k]);
		pb_msg(&sh, 1, &d);
	}
	pb_int(&tt, 1, type);
	pb_msg(&tt, 2, &sh);
	pb_msg(&tp, 1, &tt);
	pb_str(&vi, 1, name);
	pb_msg(&vi, 2, &tp);
	if (doc)
		pb_str(&vi, 3, doc);
	pb_msg(graph_pb, field, &vi);
}

/* An embedded string's index from its one-hot eq ([N, V] of 0 and 1):
 * eq (0, 1, ..., V - 1) for a value of the vocabulary, V for any other
 * (the unseen values' row): eq r + (1 - eq 1) V, as [N, 1]. */
static const char *vocab_index(graph *g, const char *eq, size_t nv)
{
	float *r = mp_malloc((nv + 1) * sizeof(float)), *ones = mp_malloc((nv + 1) * sizeof(float)), v = (float)nv, one = 1;
	const char *hit, *seen, *out;
	size_t k;

	if (!r || !ones) {
		free(r);
		free(ones);
		return NULL;
	}
	for (k = 0; k < nv; k++) {
		r[k] = (float)k;
		ones[k] = 1;
	}
	hit = op2(g, "MatMul", eq, const_floats(g, "rows", r, (int64_t)nv, 1), "hit");
	seen = op2(g, "MatMul", eq, const_floats(g, "ones", ones, (int64_t)nv, 1), "seen");
	out = op2(g, "Add", hit,
		  op2(g, "Mul", op2(g, "Sub", const_floats(g, "one", &one, 0, 1), seen, "unseen"),
		      const_floats(g, "nvocab", &v, 0, 1), "oov"),
		  "index");
	free(r);
	free(ones);
	return out;
}

/* The transform's inputs to the network, from 'numbers' and 'strings'. */
static const char *transform(graph *g, const mp_served *s, mp_err *err)
{
	const mp_transform *t = &s->t;
	float *scale = NULL, *shift = NULL, *miss = NULL;
	const char **pieces = NULL, *lin = NULL, *out = NULL;
	size_t i, k, npieces = 0, run_from = 0, run_len = 0, nlinear = 0;

	if (!s->has_transform)
		return "numbers";
	if (!(pieces = mp_calloc(t->nfeatures + 1, sizeof(char *))) ||
	    !(scale = mp_calloc(s->nnum + 1, sizeof(float))) || !(shift = mp_calloc(s->nnum + 1, sizeof(float))) ||
	    !(miss = mp_calloc(s->nnum + 1, sizeof(float)))) {
		mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < t->nfeatures; i++)
		if (!mp_tx_reads_string(t->features[i].kind)) {
			int j = s->idx[i];
			int linear = t->features[i].kind != MP_TX_BUCKETIZE;

			scale[j] = linear ? t->scale[i] : 1;
			shift[j] = linear ? t->shift[i] : 0;
			miss[j] = linear ? t->miss[i] : 0;
			nlinear += (size_t)linear;
		}
	if (nlinear) {
		/* every number at once: Where(IsNaN(x), miss, x * scale + shift) */
		const char *x = "numbers", *nan = op1(g, "IsNaN", x, "isnan", NULL, 0);
		const char *y = op2(g, "Add", op2(g, "Mul", x, const_floats(g, "scale", scale, 0, (int64_t)s->nnum), "mul"),
				    const_floats(g, "shift", shift, 0, (int64_t)s->nnum), "add");
		const char *in[3] = {nan, const_floats(g, "miss", miss, 0, (int64_t)s->nnum), y};

		lin = fresh(g, "linear");
		node(g, "Where", in, 3, lin, NULL, 0);
	}
	for (i = 0; i <= t->nfeatures; i++) {
		const mp_tx_feature *tf = i < t->nfeatures ? &t->features[i] : NULL;
		int linear = tf && !mp_tx_reads_string(tf->kind) && tf->kind != MP_TX_BUCKETIZE;

		if (linear) {
			if (!run_len)
				run_from = (size_t)s->idx[i];
			run_len++;
			continue;
		}
		if (run_len) {
			pieces[npieces++] = run_len == s->nnum ? lin
							       : columns(g, lin, (int64_t)run_from, (int64_t)(run_from + run_len));
			run_len = 0;
		}
		if (!tf)
			break;
		if (tf->kind == MP_TX_BUCKETIZE) {
			/* as mlpipe: trunc((x - a) / w) in double, clamped to the buckets */
			double w = (tf->b - tf->a) / tf->buckets, zero = 0, last = tf->buckets - 1, *ids;
			const char *d = cast(g, columns(g, "numbers", s->idx[i], s->idx[i] + 1), T_DOUBLE), *bk;

			if (w > 0)
				bk = op1(g, "Floor",
					 op2(g, "Div", op2(g, "Sub", d, const_doubles(g, "a", &tf->a, 1), "sub"),
					     const_doubles(g, "w", &w, 1), "div"),
					 "floor", NULL, 0);
			else
				bk = op2(g, "Mul", d, const_doubles(g, "zero", &zero, 1), "mul");
			bk = op2(g, "Min", op2(g, "Max", bk, const_doubles(g, "zero", &zero, 1), "max"),
				 const_doubles(g, "last", &last, 1), "min");
			if (!(ids = mp_calloc((size_t)tf->buckets, sizeof(double)))) {
				mp_error(err, MP_ENOMEM, "out of memory");
				goto out;
			}
			for (k = 0; k < (size_t)tf->buckets; k++)
				ids[k] = (double)k;
			pieces[npieces++] =
				cast(g, op2(g, "Equal", bk, const_doubles(g, "buckets", ids, tf->buckets), "eq"), T_FLOAT);
			free(ids);
		} else {
			/* one-hot: the string column against the vocabulary */
			int64_t n = (int64_t)tf->nvocab;
			const char *vocab = fresh(g, "vocab"), *eq;
			int col = s->idx[i] - (int)s->nnum;

			init(g, vocab, T_STRING, &n, 1, NULL, 0, tf->vocab, tf->nvocab);
			eq = cast(g, op2(g, "Equal", columns(g, "strings", col, col + 1), vocab, "eq"), T_FLOAT);
			pieces[npieces++] = tf->kind == MP_TX_EMBED ? vocab_index(g, eq, tf->nvocab) : eq;
			if (!pieces[npieces - 1]) {
				mp_error(err, MP_ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	if (npieces == 1) {
		out = pieces[0];
	} else {
		attr a = {"axis", A_INT, 1, 0, NULL, 0};

		out = fresh(g, "inputs");
		node(g, "Concat", pieces, (int)npieces, out, &a, 1);
	}
out:
	free(pieces);
	free(scale);
	free(shift);
	free(miss);
	return out;
}

/* ---- boosted trees: ai.onnx.ml's TreeEnsembleRegressor ------------------ */

#define ML_DOMAIN "ai.onnx.ml"
#define ML_OPSET 3
enum { A_FLOATS = 6, A_STRINGS = 8, A_STRING = 3 };

/* An attribute of n ints (which, when not NULL, takes the values of v32
 * instead, or of v8), floats or strings. */
static void attr_list(mp_strbuf *node_pb, const char *name, int type, const int32_t *v32, const uint8_t *v8,
		      const float *vf, const char *const *vs, size_t n)
{
	mp_strbuf a = MP_STRBUF_INIT;
	size_t j;

	pb_str(&a, 1, name);
	for (j = 0; j < n; j++) {
		if (type == A_INTS) {
			pb_int(&a, 8, v32 ? (int64_t)v32[j] : v8 ? (int64_t)v8[j] : (int64_t)j);
		} else if (type == A_FLOATS) {
			uint8_t f[4];

			memcpy(f, &vf[j], 4);
			pb_tag(&a, 7, 5);
			mp_strbuf_add(&a, (const char *)f, 4);
		} else {
			pb_str(&a, 9, vs[j]);
		}
	}
	pb_int(&a, 20, type);
	pb_msg(node_pb, 5, &a);
}

static void attr_scalar(mp_strbuf *node_pb, const char *name, int type, int64_t i, const char *str)
{
	mp_strbuf a = MP_STRBUF_INIT;

	pb_str(&a, 1, name);
	if (type == A_INT)
		pb_int(&a, 3, i);
	else
		pb_str(&a, 4, str);
	pb_int(&a, 20, type);
	pb_msg(node_pb, 5, &a);
}

/* The trees as one TreeEnsembleRegressor of the margins: branch nodes
 * BRANCH_LT (x < value goes to the true, left, child; a missing value
 * follows default_left), leaves as targets of their tree's output; the
 * base margin as base_values.  Returns the margins' name ([N, groups]). */
static const char *trees(graph *g, const mp_forest *f, const char *x)
{
	size_t n = f->nnodes, i, nleaf = 0, li = 0;
	int32_t *tree = mp_malloc((n + 1) * sizeof(int32_t)), *local = mp_malloc((n + 1) * sizeof(int32_t));
	int32_t *leaf_tree = NULL, *leaf_node = NULL, *leaf_group = NULL, *tchild = NULL, *fchild = NULL;
	const char **modes = mp_malloc((n + 1) * sizeof(char *)), *out = fresh(g, "margins");
	float *leaf_w = NULL, *thr = mp_malloc((n + 1) * sizeof(float)), *base = mp_malloc((size_t)f->ngroup * sizeof(float));
	mp_strbuf nd = MP_STRBUF_INIT;
	int t;

	for (i = 0; i < n; i++)
		nleaf += f->left[i] < 0;
	leaf_tree = mp_malloc((nleaf + 1) * sizeof(int32_t));
	leaf_node = mp_malloc((nleaf + 1) * sizeof(int32_t));
	leaf_group = mp_malloc((nleaf + 1) * sizeof(int32_t));
	leaf_w = mp_malloc((nleaf + 1) * sizeof(float));
	tchild = mp_malloc((n + 1) * sizeof(int32_t));
	fchild = mp_malloc((n + 1) * sizeof(int32_t));
	if (!tree || !local || !modes || !thr || !base || !leaf_tree || !leaf_node || !leaf_group || !leaf_w || !tchild ||
	    !fchild) {
		g->failed = 1;
		goto out;
	}
	for (t = 0; t < f->ntrees; t++)
		for (i = (size_t)f->start[t]; i < (size_t)f->start[t + 1]; i++) {
			int leafy = f->left[i] < 0;

			tree[i] = t;
			local[i] = (int32_t)(i - (size_t)f->start[t]);
			modes[i] = leafy ? "LEAF" : "BRANCH_LT";
			thr[i] = leafy ? 0 : f->value[i];
			tchild[i] = leafy ? 0 : f->left[i];
			fchild[i] = leafy ? 0 : f->right[i];
			if (leafy) {
				leaf_tree[li] = t;
				leaf_node[li] = local[i];
				leaf_group[li] = f->group[t];
				leaf_w[li++] = f->value[i];
			}
		}
	for (t = 0; t < f->ngroup; t++)
		base[t] = f->base;
	pb_str(&nd, 1, x);
	pb_str(&nd, 2, out);
	pb_str(&nd, 3, out);
	pb_str(&nd, 4, "TreeEnsembleRegressor");
	attr_scalar(&nd, "n_targets", A_INT, f->ngroup, NULL);
	attr_scalar(&nd, "aggregate_function", A_STRING, 0, "SUM");
	attr_scalar(&nd, "post_transform", A_STRING, 0, "NONE");
	attr_list(&nd, "base_values", A_FLOATS, NULL, NULL, base, NULL, (size_t)f->ngroup);
	attr_list(&nd, "nodes_treeids", A_INTS, tree, NULL, NULL, NULL, n);
	attr_list(&nd, "nodes_nodeids", A_INTS, local, NULL, NULL, NULL, n);
	attr_list(&nd, "nodes_featureids", A_INTS, f->feature, NULL, NULL, NULL, n);
	attr_list(&nd, "nodes_values", A_FLOATS, NULL, NULL, thr, NULL, n);
	attr_list(&nd, "nodes_modes", A_STRINGS, NULL, NULL, NULL, modes, n);
	attr_list(&nd, "nodes_truenodeids", A_INTS, tchild, NULL, NULL, NULL, n);
	attr_list(&nd, "nodes_falsenodeids", A_INTS, fchild, NULL, NULL, NULL, n);
	attr_list(&nd, "nodes_missing_value_tracks_true", A_INTS, NULL, f->dleft, NULL, NULL, n);
	attr_list(&nd, "target_treeids", A_INTS, leaf_tree, NULL, NULL, NULL, nleaf);
	attr_list(&nd, "target_nodeids", A_INTS, leaf_node, NULL, NULL, NULL, nleaf);
	attr_list(&nd, "target_ids", A_INTS, leaf_group, NULL, NULL, NULL, nleaf);
	attr_list(&nd, "target_weights", A_FLOATS, NULL, NULL, leaf_w, NULL, nleaf);
	pb_str(&nd, 7, ML_DOMAIN);
	pb_msg(&g->nodes, 1, &nd);
out:
	free(tree);
	free(local);
	free(modes);
	free(thr);
	free(base);
	free(leaf_tree);
	free(leaf_node);
	free(leaf_group);
	free(leaf_w);
	free(tchild);
	free(fchild);
	return out;
}

/* ---- images: Conv and MaxPool, channels first as ONNX has them -------- */

static const char *transpose(graph *g, const char *x, const int64_t perm[4])
{
	attr a = {"perm", A_INTS, 0, 0, perm, 4};

	return op1(g, "Transpose", x, "transpose", &a, 1);
}

static const char *reshape(graph *g, const char *x, const int64_t *dims, int64_t n)
{
	return op2(g, "Reshape", x, const_int64s(g, "shape", dims, n), "reshape");
}

/* ---- embeddings: Gather -------------------------------------------------- */

/* x [N, P] with column c (an index) replaced by its table row: Slice,
 * Cast, Gather, Reshape and Concat. */
static const char *embed_layer(graph *g, const mp_net *n, int l, const char *x)
{
	const mp_layer_spec *ls = &n->layers[l];
	int64_t d[2] = {-1, ls->dim}, dims[2] = {ls->rows, ls->dim};
	const char *pieces[3], *table = fresh(g, "table"), *in[2], *rows, *out;
	int np = 0;
	attr axis = {"axis", A_INT, 1, 0, NULL, 0}, a0 = {"axis", A_INT, 0, 0, NULL, 0};

	init(g, table, T_FLOAT, dims, 2, n->params + n->woff[l], (size_t)ls->rows * (size_t)ls->dim * 4, NULL, 0);
	if (ls->column > 0)
		pieces[np++] = columns(g, x, 0, ls->column);
	in[0] = table;
	in[1] = cast(g, columns(g, x, ls->column, ls->column + 1), T_INT64);
	rows = fresh(g, "gather");
	node(g, "Gather", in, 2, rows, &a0, 1);
	pieces[np++] = reshape(g, rows, d, 2);
	if (ls->column + 1 < ls->in[2])
		pieces[np++] = columns(g, x, ls->column + 1, ls->in[2]);
	out = fresh(g, "embedded");
	node(g, "Concat", pieces, np, out, &axis, 1);
	return out;
}

/* Layer l, a conv, pool or flatten, on x: [N, H * W * C] (channels last)
 * before the first, then [N, C, H, W]; a flatten goes back to channels
 * last and [N, H * W * C], the layout the dense layers read.  A conv's
 * weights are ours, (F, K, K, C), permuted to ONNX's (F, C, K, K); its
 * padding is explicit: TensorFlow's 'same' puts the odd one below and
 * right.  NULL when out of memory. */
static const char *image_layer(graph *g, const mp_net *n, int l, const char *x)
{
	static const int64_t to_nchw[4] = {0, 3, 1, 2}, to_nhwc[4] = {0, 2, 3, 1};
	const mp_layer_spec *ls = &n->layers[l];
	int first = l == 0 || n->layers[l - 1].kind == MP_LAYER_DENSE || n->layers[l - 1].kind == MP_LAYER_EMBED;

	if (ls->kind == MP_LAYER_EMBED)
		return embed_layer(g, n, l, x);
	if (ls->kind == MP_LAYER_FLATTEN) {
		int64_t flat[2] = {-1, ls->units};

		return reshape(g, transpose(g, x, to_nhwc), flat, 2);
	}
	if (first) {
		int64_t dims[4] = {-1, ls->in[0], ls->in[1], ls->in[2]};

		x = transpose(g, reshape(g, x, dims, 4), to_nchw);
	}
	if (ls->kind == MP_LAYER_POOL) {
		int64_t k[2] = {ls->kernel, ls->kernel};
		attr a[2] = {{"kernel_shape", A_INTS, 0, 0, k, 2}, {"strides", A_INTS, 0, 0, k, 2}};

		return op1(g, "MaxPool", x, "maxpool", a, 2);
	} else {
		int F = ls->filters, K = ls->kernel, C = ls->in[2], f, c, ky, kx;
		int64_t k[2] = {K, K}, st[2] = {ls->stride, ls->stride}, pads[4], wd[4] = {F, C, K, K};
		float *w = mp_malloc((size_t)F * (size_t)C * (size_t)K * (size_t)K * sizeof(float));
		const float *ours = n->params + n->woff[l];
		const char *in[3], *out;

		if (!w)
			return NULL;
		for (int side = 0; side < 2; side++) {
			int total = (ls->out[side] - 1) * ls->stride + K - ls->in[side];

			pads[side] = ls->pad;
			pads[side + 2] = total - ls->pad > 0 ? total - ls->pad : 0;
			if (!ls->same)
				pads[side] = pads[side + 2] = 0;
		}
		for (f = 0; f < F; f++)
			for (c = 0; c < C; c++)
				for (ky = 0; ky < K; ky++)
					for (kx = 0; kx < K; kx++)
						w[((f * C + c) * K + ky) * K + kx] = ours[((f * K + ky) * K + kx) * C + c];
		{
			attr a[3] = {{"kernel_shape", A_INTS, 0, 0, k, 2}, {"strides", A_INTS, 0, 0, st, 2},
				     {"pads", A_INTS, 0, 0, pads, 4}};
			const char *wname = fresh(g, "conv_w");

			init(g, wname, T_FLOAT, wd, 4, w, (size_t)F * (size_t)C * (size_t)K * (size_t)K * 4, NULL, 0);
			in[0] = x;
			in[1] = wname;
			in[2] = const_floats(g, "conv_b", n->params + n->boff[l], 0, F);
			out = fresh(g, "conv");
			node(g, "Conv", in, 3, out, a, 3);
		}
		free(w);
		if (ls->act == MP_ACT_RELU)
			return op1(g, "Relu", out, "relu", NULL, 0);
		if (ls->act == MP_ACT_TANH)
			return op1(g, "Tanh", out, "tanh", NULL, 0);
		if (ls->act == MP_ACT_SIGMOID)
			return op1(g, "Sigmoid", out, "sigmoid", NULL, 0);
		return out;
	}
}

static void add_names(mp_strbuf *b, const char *key, const mp_feature *f, char *const *names, size_t n)
{
	mp_strbuf e = MP_STRBUF_INIT, v = MP_STRBUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		mp_strbuf_adds(&v, i ? "\n" : "");
		mp_strbuf_adds(&v, f ? f[i].name : names[i]);
	}
	pb_str(&e, 1, key);
	pb_bytes(&e, 2, v.buf ? v.buf : "", v.len);
	mp_strbuf_release(&v);
	pb_msg(b, 14, &e);
}

/* The outputs from the logits (or margins) h: 'probabilities' and
 * 'label', or 'value' in the label's units. */
static void outputs(graph *g, const mp_served *s, const char *h)
{
	if (s->nclass) {
		attr axis = {"axis", A_INT, 1, 0, NULL, 0}, am[2] = {{"axis", A_INT, 1, 0, NULL, 0}, {"keepdims", A_INT, 0, 0, NULL, 0}};
		const char *in[2];

		if (s->model.loss == MP_LOSS_SOFTMAX_CE) {
			node(g, "Softmax", &h, 1, "probabilities", &axis, 1);
		} else {
			float one = 1;
			const char *p1 = op1(g, "Sigmoid", h, "p1", NULL, 0);

			in[0] = op2(g, "Sub", const_floats(g, "one", &one, 0, 1), p1, "p0");
			in[1] = p1;
			node(g, "Concat", in, 2, "probabilities", &axis, 1);
		}
		node(g, "ArgMax", (const char *[]){"probabilities"}, 1, "label", am, 2);
	} else if (s->has_transform && s->t.label_scaled) {
		/* the label was z-scored for training: back in its units */
		float sd = (float)s->t.label_std, mean = (float)s->t.label_mean;
		const char *in[2];

		in[0] = op2(g, "Mul", h, const_floats(g, "label_std", &sd, 0, 1), "unscaled");
		in[1] = const_floats(g, "label_mean", &mean, 0, 1);
		node(g, "Add", in, 2, "value", NULL, 0);
	} else {
		node(g, "Identity", &h, 1, "value", NULL, 0);
	}
}

int mp_export_onnx(const mp_served *s, const char *path, mp_err *err)
{
	const mp_net *n = &s->model.net;
	graph g = {MP_STRBUF_INIT, MP_STRBUF_INIT, NULL, 0, 0, 0};
	mp_strbuf gp = MP_STRBUF_INIT, model = MP_STRBUF_INIT, ops = MP_STRBUF_INIT;
	const char *h;
	char doc[256];
	int l, rc;
	int64_t dims[2];
	size_t i;

	if ((rc = mp_served_exportable(s, err)) != 0)
		return rc;
	mp_err_clear(err);
	if (!(h = transform(&g, s, err))) {
		rc = err->code ? err->code : MP_ENOMEM;
		goto out;
	}
	if (s->model.kind == MP_MODEL_GBDT)
		h = trees(&g, &s->forest, h);
	for (l = 0; l < n->nlayers; l++) {
		int in = l ? n->layers[l - 1].units : n->nin;
		attr tb = {"transB", A_INT, 1, 0, NULL, 0};

		if (n->layers[l].kind != MP_LAYER_DENSE) {
			if (!(h = image_layer(&g, n, l, h))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				goto out;
			}
			continue;
		}
		const char *inputs[3] = {h, const_floats(&g, "w", n->params + n->woff[l], n->layers[l].units, in), NULL};
		const char *out = fresh(&g, "dense");

		inputs[2] = const_floats(&g, "b", n->params + n->boff[l], 0, n->layers[l].units);
		node(&g, "Gemm", inputs, 3, out, &tb, 1);
		h = out;
		if (n->layers[l].act == MP_ACT_RELU)
			h = op1(&g, "Relu", h, "relu", NULL, 0);
		else if (n->layers[l].act == MP_ACT_TANH)
			h = op1(&g, "Tanh", h, "tanh", NULL, 0);
		else if (n->layers[l].act == MP_ACT_SIGMOID)
			h = op1(&g, "Sigmoid", h, "sigmoid", NULL, 0);
	}
	outputs(&g, s, h);

	/* the graph: nodes, name, initializers, inputs, outputs */
	mp_strbuf_add(&gp, g.nodes.buf ? g.nodes.buf : "", g.nodes.len);
	pb_str(&gp, 2, "mlpipe");
	mp_strbuf_add(&gp, g.inits.buf ? g.inits.buf : "", g.inits.len);
	if (s->nnum) {
		dims[0] = -1;
		dims[1] = (int64_t)s->nnum;
		snprintf(doc, sizeof(doc), "the raw numeric features, in the order of metadata 'numbers'; NaN: missing");
		value_info(&gp, 11, "numbers", T_FLOAT, dims, 2, doc);
	}
	if (s->nstr) {
		dims[0] = -1;
		dims[1] = (int64_t)s->nstr;
		value_info(&gp, 11, "strings", T_STRING, dims, 2,
			   "the raw string features, in the order of metadata 'strings'; an unknown value or \"\": missing");
	}
	if (s->nclass) {
		dims[0] = -1;
		dims[1] = s->nclass;
		value_info(&gp, 12, "probabilities", T_FLOAT, dims, 2, "each class's probability, in the order of metadata 'classes'");
		value_info(&gp, 12, "label", T_INT64, dims, 1, "the index of the most probable class");
	} else {
		dims[0] = -1;
		dims[1] = (int64_t)s->nout;
		value_info(&gp, 12, "value", T_FLOAT, dims, 2, "the predicted value");
	}

	pb_int(&model, 1, IR_VERSION);
	pb_str(&model, 2, "mlpipe");
	pb_str(&model, 3, MP_VERSION);
	pb_msg(&model, 7, &gp);
	pb_str(&ops, 1, "");
	pb_int(&ops, 2, OPSET);
	pb_msg(&model, 8, &ops);
	if (s->model.kind == MP_MODEL_GBDT) {
		pb_str(&ops, 1, ML_DOMAIN);
		pb_int(&ops, 2, ML_OPSET);
		pb_msg(&model, 8, &ops);
	}
	add_names(&model, "numbers", s->features, NULL, s->nnum);
	add_names(&model, "strings", s->features + s->nnum, NULL, s->nstr);
	add_names(&model, "classes", NULL, s->class_names, (size_t)s->nclass);
	if (g.failed || g.nodes.failed || g.inits.failed || model.failed) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	rc = mp_write_file_atomic(path, model.buf, model.len, err);
out:
	for (i = 0; i < g.nnames; i++)
		free(g.names[i]);
	free(g.names);
	mp_strbuf_release(&g.nodes);
	mp_strbuf_release(&g.inits);
	mp_strbuf_release(&gp);
	mp_strbuf_release(&model);
	mp_strbuf_release(&ops);
	return rc;
}
