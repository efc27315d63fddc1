/* Image layers: planning a stack (sizes, order), and conv, max pool and
 * flatten forward and backward (see nn.h); embeddings, which go by
 * examples the same way, too.  Images are channels last, so
 * a conv's im2col copies runs of channels and a pool's selects run over
 * them; every product goes through mp_gemm. */
#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>

size_t mp__layer_weights(const mp_layer_spec *ls, int prev)
{
	if (ls->kind == MP_LAYER_EMBED)
		return (size_t)ls->rows * (size_t)ls->dim;
	if (ls->kind == MP_LAYER_CONV)
		return (size_t)ls->filters * (size_t)ls->kernel * (size_t)ls->kernel * (size_t)ls->in[2];
	return ls->kind == MP_LAYER_DENSE ? (size_t)ls->units * (size_t)prev : 0;
}

int mp__layer_biases(const mp_layer_spec *ls)
{
	return ls->kind == MP_LAYER_CONV ? ls->filters : ls->kind == MP_LAYER_DENSE ? ls->units : 0;
}

static const char *const kind_names[] = {"dense", "conv", "pool", "flatten", "embed"};

/* One conv or pool layer's output size along a side of size in. */
static int conv_side(const mp_layer_spec *ls, int in, int *pad)
{
	int k = ls->kernel, s = ls->kind == MP_LAYER_POOL ? ls->kernel : ls->stride, out, total;

	*pad = 0;
	if (ls->kind == MP_LAYER_CONV && ls->same) {
		out = (in + s - 1) / s;
		total = (out - 1) * s + k - in;
		*pad = total > 0 ? total / 2 : 0;
		return out;
	}
	return (in - k) / s + 1;
}

int mp_net_check_stack(const mp_layer_spec *layers, int nlayers, mp_err *err)
{
	int l, conv = 0, flat = 0; /* a conv seen; a dense layer or flatten seen */

	for (l = 0; l < nlayers; l++) {
		mp_layer_kind k = layers[l].kind;

		if (k == MP_LAYER_EMBED && l && layers[l - 1].kind != MP_LAYER_EMBED)
			return mp_error(err, MP_EINVAL, "layer %d: embeddings come before every other layer", l + 1);
		if (k == MP_LAYER_EMBED)
			continue;
		if ((k == MP_LAYER_CONV || k == MP_LAYER_POOL) && flat)
			return mp_error(err, MP_EINVAL, "layer %d: a %s needs images: it comes after a dense layer or a "
					"flatten", l + 1, kind_names[k]);
		if (k == MP_LAYER_POOL && !conv)
			return mp_error(err, MP_EINVAL, "layer %d: a pool before any conv", l + 1);
		if (k == MP_LAYER_DENSE && conv && !flat)
			return mp_error(err, MP_EINVAL, "layer %d: a dense layer after a conv or pool: put {flatten: "
					"true} between them", l + 1);
		conv |= k == MP_LAYER_CONV;
		flat |= k == MP_LAYER_DENSE || k == MP_LAYER_FLATTEN;
	}
	if (nlayers > 0 && layers[nlayers - 1].kind != MP_LAYER_DENSE)
		return mp_error(err, MP_EINVAL, "layer %d: the last layer gives the logits: it is a dense layer", nlayers);
	return 0;
}

int mp_net_plan(int nin, const int *shape, mp_layer_spec *layers, int nlayers, mp_err *err)
{
	int l, cur[3] = {1, 1, nin}, image = 0, rc;

	if ((rc = mp_net_check_stack(layers, nlayers, err)) != 0)
		return rc;

	if (shape && shape[0] > 0) {
		if ((int64_t)shape[0] * shape[1] * shape[2] != nin)
			return mp_error(err, MP_EINVAL, "the input shape %dx%dx%d is not the %d inputs", shape[0], shape[1],
					shape[2], nin);
		memcpy(cur, shape, sizeof(cur));
		image = 1;
	}
	for (l = 0; l < nlayers; l++) {
		mp_layer_spec *ls = &layers[l];
		int pad = 0, k;

		memcpy(ls->in, cur, sizeof(cur));
		if (ls->kind == MP_LAYER_POOL || ls->kind == MP_LAYER_FLATTEN) {
			ls->act = MP_ACT_NONE; /* they move values, nothing more */
			ls->dropout = 0;
		}
		if (ls->kind == MP_LAYER_CONV || ls->kind == MP_LAYER_POOL) {
			if (!image)
				return mp_error(err, MP_EINVAL, "layer %d: a %s needs images: give the input's shape "
						"(input_shape, or images from IDX)", l + 1, kind_names[ls->kind]);
			if (ls->kernel < 1 || ls->kernel > cur[0] || ls->kernel > cur[1])
				return mp_error(err, MP_EINVAL, "layer %d: a %s window of %d is larger than its %dx%d input",
						l + 1, kind_names[ls->kind], ls->kernel, cur[0], cur[1]);
			if (ls->kind == MP_LAYER_CONV && (ls->filters < 1 || ls->filters > 65536 || ls->stride < 1 ||
							  ls->stride > ls->kernel + cur[0]))
				return mp_error(err, MP_EINVAL, "layer %d: conv needs 1 to 65536 filters and a stride of 1 "
						"or more", l + 1);
			cur[0] = conv_side(ls, cur[0], &pad);
			cur[1] = conv_side(ls, cur[1], &k);
			/* a conv's im2col is its outputs' windows: bounded, as a layer's units are */
			if (ls->kind == MP_LAYER_CONV &&
			    (int64_t)cur[0] * cur[1] * ls->kernel * ls->kernel * ls->in[2] > (int64_t)MP_NET_MAX_UNITS * 16)
				return mp_error(err, MP_EINVAL, "layer %d: a conv whose windows hold more than %d values an "
						"example", l + 1, MP_NET_MAX_UNITS * 16);
			if (ls->kind == MP_LAYER_CONV)
				cur[2] = ls->filters;
			ls->pad = pad;
			if ((int64_t)cur[0] * cur[1] * cur[2] > MP_NET_MAX_UNITS)
				return mp_error(err, MP_EINVAL, "layer %d: %dx%dx%d outputs are more than %d", l + 1, cur[0],
						cur[1], cur[2], MP_NET_MAX_UNITS);
			ls->units = cur[0] * cur[1] * cur[2];
		} else if (ls->kind == MP_LAYER_EMBED) {
			ls->act = MP_ACT_NONE;
			ls->dropout = 0;
			if (image || ls->column < 0 || ls->column >= cur[2] || ls->rows < 1 || ls->rows > MP_NET_MAX_UNITS ||
			    ls->dim < 1 || ls->dim > 1024 || (int64_t)cur[2] - 1 + ls->dim > MP_NET_MAX_UNITS)
				return mp_error(err, MP_EINVAL, "layer %d: an embedding of column %d (of %d), %d rows of %d, "
						"is not one mlpipe makes", l + 1, ls->column, cur[2], ls->rows, ls->dim);
			cur[2] += ls->dim - 1;
			ls->units = cur[2];
		} else if (ls->kind == MP_LAYER_FLATTEN) {
			cur[2] *= cur[0] * cur[1];
			cur[0] = cur[1] = 1;
			ls->units = cur[2];
			image = 0;
		} else {
			if (ls->units < 1 || ls->units > MP_NET_MAX_UNITS)
				return mp_error(err, MP_EINVAL, "layer %d: 1 to %d units, not %d", l + 1, MP_NET_MAX_UNITS,
						ls->units);
			cur[0] = cur[1] = 1;
			cur[2] = ls->units;
			image = 0;
		}
		memcpy(ls->out, cur, sizeof(cur));
	}
	return 0;
}


/* n floats, a few at a time: a first conv's window rows are 3 floats,
 * where memcpy's call costs more than the copy (a fifth of a step). */
static inline void copy(float *restrict d, const float *restrict s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}

/* col (B * Ho * Wo, K * K * C) of in (B, H, W, C) under conv ls: row
 * (b, oy, ox) holds the window at (oy * stride - pad, ox * stride - pad),
 * (ky, kx, c) in order; zeros where it is off the input.  With back, the
 * reverse: col's values are added into in, which is zeroed first (the
 * gradient with respect to the input). */
static void im2col(const mp_layer_spec *ls, float *in, int batch, float *col, int back)
{
	int H = ls->in[0], W = ls->in[1], C = ls->in[2], Ho = ls->out[0], Wo = ls->out[1], K = ls->kernel;
	int S = ls->stride, P = ls->pad, b, oy, ox, ky, kx;
	size_t kkc = (size_t)K * (size_t)K * (size_t)C, kc = (size_t)K * (size_t)C, c;

	if (back)
		memset(in, 0, (size_t)batch * (size_t)H * (size_t)W * (size_t)C * sizeof(float));
	for (b = 0; b < batch; b++)
		for (oy = 0; oy < Ho; oy++)
			for (ox = 0; ox < Wo; ox++) {
				float *row = col + (((size_t)b * (size_t)Ho + (size_t)oy) * (size_t)Wo + (size_t)ox) * kkc;
				int x0 = ox * S - P;

				for (ky = 0; ky < K; ky++) {
					int iy = oy * S - P + ky;
					float *dst = row + (size_t)ky * kc, *src;

					if (iy < 0 || iy >= H) {
						if (!back)
							memset(dst, 0, kc * sizeof(float));
						continue;
					}
					/* only now: a row above the input is no pointer into it */
					src = in + (((size_t)b * (size_t)H + (size_t)iy) * (size_t)W) * (size_t)C;
					if (!back && x0 >= 0 && x0 + K <= W) { /* the window's row is inside: one copy */
						copy(dst, src + (size_t)x0 * (size_t)C, kc);
						continue;
					}
					for (kx = 0; kx < K; kx++) {
						int ix = x0 + kx;
						float *d = dst + (size_t)kx * (size_t)C;

						if (ix < 0 || ix >= W) {
							if (!back)
								memset(d, 0, (size_t)C * sizeof(float));
						} else if (!back) {
							copy(d, src + (size_t)ix * (size_t)C, (size_t)C);
						} else {
							for (c = 0; c < (size_t)C; c++)
								src[(size_t)ix * (size_t)C + c] += d[c];
						}
					}
				}
			}
}

/* A conv's rows of im2col per example, and its window's length. */
#define CONV_ROWS(ls) ((size_t)(ls)->out[0] * (size_t)(ls)->out[1])
#define CONV_KKC(ls) ((size_t)(ls)->kernel * (size_t)(ls)->kernel * (size_t)(ls)->in[2])
#define IN_UNITS(ls) ((size_t)(ls)->in[0] * (size_t)(ls)->in[1] * (size_t)(ls)->in[2])

/* conv forward of examples [s0, s1): their rows of z (B * Ho * Wo, F) =
 * col W^T + b, W is (F, K * K * C) */
static void conv_forward(mp_net *n, int l, const float *in, int s0, int s1)
{
	const mp_layer_spec *ls = &n->layers[l];
	size_t r0 = (size_t)s0 * CONV_ROWS(ls), rows = (size_t)(s1 - s0) * CONV_ROWS(ls), kkc = CONV_KKC(ls), r, f;
	size_t F = (size_t)ls->filters;
	const float *b = n->params + n->boff[l];
	float *z = n->z[l] + r0 * F, *col = n->col[l] + r0 * kkc;

	im2col(ls, (float *)in + (size_t)s0 * IN_UNITS(ls), s1 - s0, col, 0);
	mp_gemm(0, 1, (int)rows, (int)F, (int)kkc, 1.0f, col, (int)kkc, n->params + n->woff[l], (int)kkc, 0.0f, z,
		(int)F);
	for (r = 0; r < rows; r++)
		for (f = 0; f < F; f++)
			z[r * F + f] += b[f];
}

/* conv backward of filters [f0, f1), with d[l] the gradient with respect
 * to z[l] for the whole batch: their rows of dW = d^T col (the forward's),
 * and of db = the column sums of d */
static void conv_grads(mp_net *n, int l, int batch, int f0, int f1)
{
	const mp_layer_spec *ls = &n->layers[l];
	size_t rows = (size_t)batch * CONV_ROWS(ls), kkc = CONV_KKC(ls), F = (size_t)ls->filters, r, f;
	float *gb = n->grads + n->boff[l];
	const float *d = n->d[l];

	mp_gemm(1, 0, f1 - f0, (int)kkc, (int)rows, 1.0f, d + f0, (int)F, n->col[l], (int)kkc, 0.0f,
		n->grads + n->woff[l] + (size_t)f0 * kkc, (int)kkc);
	for (f = (size_t)f0; f < (size_t)f1; f++)
		gb[f] = 0;
	for (r = 0; r < rows; r++)
		for (f = (size_t)f0; f < (size_t)f1; f++)
			gb[f] += d[r * F + f];
}

/* conv down of examples [s0, s1): their dcol = d W, then col2im into
 * their rows of d[l-1] */
static void conv_down(mp_net *n, int l, int s0, int s1)
{
	const mp_layer_spec *ls = &n->layers[l];
	size_t r0 = (size_t)s0 * CONV_ROWS(ls), rows = (size_t)(s1 - s0) * CONV_ROWS(ls), kkc = CONV_KKC(ls);
	float *dcol = n->dcol + r0 * kkc;

	mp_gemm(0, 0, (int)rows, (int)kkc, ls->filters, 1.0f, n->d[l] + r0 * (size_t)ls->filters, ls->filters,
		n->params + n->woff[l], (int)kkc, 0.0f, dcol, (int)kkc);
	im2col(ls, n->d[l - 1] + (size_t)s0 * IN_UNITS(ls), s1 - s0, dcol, 1);
}

/* One window position's values (C channels from input index at) into the
 * running maxima m and their indices arg, as masks: no branches. */
MP_VECTOR_CLONES static void window_max(float *restrict m, int32_t *restrict arg, const float *restrict x, int32_t at,
					int C)
{
	for (int c = 0; c < C; c++) {
		int32_t better = -(int32_t)(x[c] > m[c]);

		arg[c] = (arg[c] & ~better) | ((at + c) & better);
		m[c] = x[c] > m[c] ? x[c] : m[c];
	}
}

/* max pool forward of examples [s0, s1): each (K x K) window's largest
 * value, per channel, and where it was (arg: an index into the example's
 * input), into a; the channels are the inner loop, and the comparisons
 * selects, so it vectorizes (a branch per value was half of a step's time
 * outside the products) */
static void pool_forward(mp_net *n, int l, const float *in, int s0, int s1)
{
	const mp_layer_spec *ls = &n->layers[l];
	int W = ls->in[1], C = ls->in[2], Ho = ls->out[0], Wo = ls->out[1], K = ls->kernel;
	int b, oy, ox, c, ky, kx;

	for (b = s0; b < s1; b++) {
		const float *x = in + (size_t)b * IN_UNITS(ls);

		for (oy = 0; oy < Ho; oy++)
			for (ox = 0; ox < Wo; ox++) {
				size_t o = (size_t)b * (size_t)ls->units + (size_t)((oy * Wo + ox) * C);
				float *restrict zo = n->a[l] + o;
				int32_t *restrict ao = n->arg[l] + o;
				int32_t at0 = (int32_t)(((oy * K) * W + ox * K) * C);

				for (c = 0; c < C; c++) {
					zo[c] = x[at0 + c];
					ao[c] = at0 + c;
				}
				for (ky = 0; ky < K; ky++)
					for (kx = ky ? 0 : 1; kx < K; kx++) {
						int32_t at = (int32_t)(((oy * K + ky) * W + ox * K + kx) * C);

						window_max(zo, ao, x + at, at, C);
					}
			}
	}
}

/* max pool down of examples [s0, s1): each output's gradient to the input
 * it came from */
static void pool_down(mp_net *n, int l, int s0, int s1)
{
	const mp_layer_spec *ls = &n->layers[l];
	size_t in = IN_UNITS(ls), u = (size_t)ls->units, b, i;

	memset(n->d[l - 1] + (size_t)s0 * in, 0, (size_t)(s1 - s0) * in * sizeof(float));
	for (b = (size_t)s0; b < (size_t)s1; b++)
		for (i = 0; i < u; i++)
			n->d[l - 1][b * in + (size_t)n->arg[l][b * u + i]] += n->d[l][b * u + i];
}

/* ---- embeddings ---------------------------------------------------------- */

/* The row example b's index in column selects: out of range or NaN, the
 * last (the unseen values'). */
static size_t embed_row(const mp_layer_spec *ls, const float *x)
{
	float v = x[ls->column];

	return v >= 0 && v < (float)(ls->rows - 1) ? (size_t)v : (size_t)(ls->rows - 1);
}

/* out (B, P - 1 + D): each example's inputs with its table row in place
 * of the index column. */
static void embed_forward(mp_net *n, int l, const float *in, int s0, int s1)
{
	const mp_layer_spec *ls = &n->layers[l];
	size_t P = (size_t)ls->in[2], D = (size_t)ls->dim, c = (size_t)ls->column, U = (size_t)ls->units;
	const float *table = n->params + n->woff[l];

	for (size_t b = (size_t)s0; b < (size_t)s1; b++) {
		const float *x = in + b * P;
		float *o = n->a[l] + b * U;

		memcpy(o, x, c * sizeof(float));
		memcpy(o + c, table + embed_row(ls, x) * D, D * sizeof(float));
		memcpy(o + c + D, x + c + 1, (P - c - 1) * sizeof(float));
	}
}

/* The table's gradient: each example's d of its row's values, added up
 * (one thread: two examples may share a row). */
static void embed_grads(mp_net *n, int l, const float *in, int batch)
{
	const mp_layer_spec *ls = &n->layers[l];
	size_t P = (size_t)ls->in[2], D = (size_t)ls->dim, c = (size_t)ls->column, U = (size_t)ls->units, k;
	float *g = n->grads + n->woff[l];

	memset(g, 0, (size_t)ls->rows * D * sizeof(float));
	for (size_t b = 0; b < (size_t)batch; b++) {
		float *gr = g + embed_row(ls, in + b * P) * D;
		const float *d = n->d[l] + b * U + c;

		for (k = 0; k < D; k++)
			gr[k] += d[k];
	}
}

/* The gradient of the layer below (another embedding): its other columns'
 * from ours, none for the index. */
static void embed_down(mp_net *n, int l, int s0, int s1)
{
	const mp_layer_spec *ls = &n->layers[l];
	size_t P = (size_t)ls->in[2], D = (size_t)ls->dim, c = (size_t)ls->column, U = (size_t)ls->units;

	for (size_t b = (size_t)s0; b < (size_t)s1; b++) {
		float *dl = n->d[l - 1] + b * P;
		const float *d = n->d[l] + b * U;

		memcpy(dl, d, c * sizeof(float));
		dl[c] = 0;
		memcpy(dl + c + 1, d + c + D, (P - c - 1) * sizeof(float));
	}
}

void mp__net_image_forward(mp_net *n, int l, const float *in, int s0, int s1, int train, uint64_t *rng)
{
	const mp_layer_spec *ls = &n->layers[l];
	size_t u = (size_t)ls->units;

	if (ls->kind == MP_LAYER_EMBED) {
		embed_forward(n, l, in, s0, s1);
		return;
	}
	if (ls->kind == MP_LAYER_CONV) {
		conv_forward(n, l, in, s0, s1);
		mp__net_activate_span(n, l, (size_t)s0 * u, (size_t)(s1 - s0) * u, train, rng);
	} else if (ls->kind == MP_LAYER_POOL) {
		/* no activation or dropout (mp_net_plan clears them): straight into a */
		pool_forward(n, l, in, s0, s1);
	} else {
		memcpy(n->a[l] + (size_t)s0 * u, in + (size_t)s0 * u, (size_t)(s1 - s0) * u * sizeof(float));
	}
}

void mp__net_image_deactivate(mp_net *n, int l, int s0, int s1)
{
	size_t u = (size_t)n->layers[l].units;

	mp__net_deactivate_span(n, l, (size_t)s0 * u, (size_t)(s1 - s0) * u);
}

void mp__net_image_grads(mp_net *n, int l, const float *in, int batch, int f0, int f1)
{
	if (n->layers[l].kind == MP_LAYER_CONV && f1 > f0)
		conv_grads(n, l, batch, f0, f1);
	if (n->layers[l].kind == MP_LAYER_EMBED && f1 > f0)
		embed_grads(n, l, in, batch);
}

void mp__net_image_down(mp_net *n, int l, int s0, int s1)
{
	const mp_layer_spec *ls = &n->layers[l];

	if (ls->kind == MP_LAYER_CONV)
		conv_down(n, l, s0, s1);
	else if (ls->kind == MP_LAYER_EMBED)
		embed_down(n, l, s0, s1);
	else if (ls->kind == MP_LAYER_POOL)
		pool_down(n, l, s0, s1);
	else
		memcpy(n->d[l - 1] + (size_t)s0 * (size_t)ls->units, n->d[l] + (size_t)s0 * (size_t)ls->units,
		       (size_t)(s1 - s0) * (size_t)ls->units * sizeof(float));
}

