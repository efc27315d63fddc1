/* Networks: making, forward and backward by layer, losses, optimizers and
 * schedules (see nn.h); image layers are in conv.c, the kernels in kernels.c. */
#include "nn/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The spellings of the enums, in one place: the Trainer parses with them,
 * model files and exports print with them. */
const mp_name mp_act_names[] = {
	{"none", MP_ACT_NONE}, {"relu", MP_ACT_RELU}, {"tanh", MP_ACT_TANH}, {"sigmoid", MP_ACT_SIGMOID},
	{"linear", MP_ACT_NONE},
};
const size_t mp_nact_names = MP_COUNTOF(mp_act_names);
const mp_name mp_loss_names[] = {
	{"softmax_cross_entropy", MP_LOSS_SOFTMAX_CE}, {"binary_cross_entropy", MP_LOSS_BCE}, {"mse", MP_LOSS_MSE},
};
const size_t mp_nloss_names = MP_COUNTOF(mp_loss_names);
const mp_name mp_opt_names[] = {
	{"sgd", MP_OPT_SGD}, {"momentum", MP_OPT_MOMENTUM}, {"adam", MP_OPT_ADAM}, {"adamw", MP_OPT_ADAMW},
};
const size_t mp_nopt_names = MP_COUNTOF(mp_opt_names);
const mp_name mp_init_names[] = {{"he", MP_INIT_HE}, {"glorot", MP_INIT_GLOROT}};
const size_t mp_ninit_names = MP_COUNTOF(mp_init_names);
const mp_name mp_sched_names[] = {
	{"constant", MP_SCHED_CONSTANT}, {"step", MP_SCHED_STEP}, {"cosine", MP_SCHED_COSINE},
};
const size_t mp_nsched_names = MP_COUNTOF(mp_sched_names);

const char *mp_act_name(mp_act a)
{
	const char *s = mp_name_of(mp_act_names, mp_nact_names, (int)a);

	return s ? s : "?";
}

const char *mp_loss_name(mp_loss l)
{
	const char *s = mp_name_of(mp_loss_names, mp_nloss_names, (int)l);

	return s ? s : "?";
}

static double normal(uint64_t *s)
{
	double u1 = mp__uniform(s), u2 = mp__uniform(s);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

int mp_net_nout(const mp_net *n)
{
	return n->layers[n->nlayers - 1].units;
}

void mp_net_release(mp_net *n)
{
	int l;

	for (l = 0; l < n->nlayers; l++) {
		if (n->z)
			free(n->z[l]);
		if (n->a)
			free(n->a[l]);
		if (n->d)
			free(n->d[l]);
		if (n->mask)
			free(n->mask[l]);
	}
	for (l = 0; n->arg && l < n->nlayers; l++)
		free(n->arg[l]);
	for (l = 0; n->col && l < n->nlayers; l++)
		free(n->col[l]);
	free(n->z);
	free(n->a);
	free(n->d);
	free(n->mask);
	free(n->da);
	free(n->col);
	free(n->dcol);
	free(n->arg);
	free(n->grads);
	if (!n->view) {
		free(n->params);
		free(n->woff);
		free(n->boff);
		free(n->layers);
	}
	memset(n, 0, sizeof(*n));
}

int mp_net_grad_room(mp_net *n, size_t extra, mp_err *err)
{
	float *g = mp_realloc(n->grads, (n->nparams + extra) * sizeof(float));

	if (!g)
		return mp_error(err, MP_ENOMEM, "out of memory");
	memset(g + n->nparams, 0, extra * sizeof(float));
	n->grads = g;
	return 0;
}

/* Each conv's im2col and each pool's argmax, for batches of max_batch:
 * what a forward pass over images writes besides z and a; with train, the
 * gradient of the largest im2col too. */
static int image_workspaces(mp_net *n, int train)
{
	size_t dcol = 0;
	int l;

	for (l = 0; l < n->nlayers; l++) {
		const mp_layer_spec *ls = &n->layers[l];
		size_t c = (size_t)ls->out[0] * (size_t)ls->out[1] * (size_t)ls->kernel * (size_t)ls->kernel *
			   (size_t)ls->in[2] * (size_t)n->max_batch;

		if (ls->kind == MP_LAYER_CONV) {
			if (!n->col && !(n->col = mp_calloc((size_t)n->nlayers, sizeof(*n->col))))
				return -1;
			if (!(n->col[l] = mp_malloc(c * sizeof(float))))
				return -1;
			dcol = c > dcol ? c : dcol;
		}
		if (ls->kind == MP_LAYER_POOL) {
			if (!n->arg && !(n->arg = mp_calloc((size_t)n->nlayers, sizeof(*n->arg))))
				return -1;
			if (!(n->arg[l] = mp_malloc((size_t)ls->units * (size_t)n->max_batch * sizeof(int32_t))))
				return -1;
		}
	}
	if (train && dcol && !(n->dcol = mp_malloc(dcol * sizeof(float))))
		return -1;
	return 0;
}

int mp_net_view(mp_net *v, const mp_net *n, mp_err *err)
{
	int l;

	memset(v, 0, sizeof(*v));
	v->view = 1;
	v->nin = n->nin;
	v->nlayers = n->nlayers;
	v->layers = n->layers;
	v->loss = n->loss;
	v->nparams = n->nparams;
	v->params = n->params;
	v->woff = n->woff;
	v->boff = n->boff;
	v->max_batch = n->max_batch;
	if (!(v->z = mp_calloc((size_t)n->nlayers, sizeof(float *))) ||
	    !(v->a = mp_calloc((size_t)n->nlayers, sizeof(float *))))
		goto oom;
	for (l = 0; l < n->nlayers; l++) {
		size_t cnt = (size_t)n->layers[l].units * (size_t)n->max_batch;

		if (!(v->z[l] = mp_malloc(cnt * sizeof(float))) || !(v->a[l] = mp_malloc(cnt * sizeof(float))))
			goto oom;
	}
	if (image_workspaces(v, 0) != 0)
		goto oom;
	return 0;
oom:
	mp_net_release(v);
	return mp_error(err, MP_ENOMEM, "out of memory");
}

int mp_net_count_params(int nin, const mp_layer_spec *layers, int nlayers, size_t *count, mp_err *err)
{
	size_t total = 0, w;
	int l, prev = nin;

	*count = 0;
	if (nin < 1 || nin > MP_NET_MAX_UNITS)
		return mp_error(err, MP_EINVAL, "a network takes 1 to %d inputs, not %d", MP_NET_MAX_UNITS, nin);
	if (nlayers < 1 || nlayers > MP_NET_MAX_LAYERS)
		return mp_error(err, MP_EINVAL, "a network has 1 to %d layers, not %d", MP_NET_MAX_LAYERS, nlayers);
	for (l = 0; l < nlayers; l++) {
		int u = layers[l].units;

		if (u < 1 || u > MP_NET_MAX_UNITS)
			return mp_error(err, MP_EINVAL, "layer %d: 1 to %d units, not %d", l + 1, MP_NET_MAX_UNITS, u);
		/* at most 10^12 each: no overflow in 64 bits, and checked below */
		w = mp__layer_weights(&layers[l], prev) + (size_t)mp__layer_biases(&layers[l]);
		if (w > MP_NET_MAX_PARAMS || (total += w) > MP_NET_MAX_PARAMS)
			return mp_error(err, MP_EINVAL, "the network has more than %u parameters (the limit)",
					MP_NET_MAX_PARAMS);
		prev = u;
	}
	*count = total;
	return 0;
}

int mp_net_init(mp_net *n, int nin, const mp_layer_spec *layers, int nlayers, mp_loss loss, int max_batch,
		uint64_t seed, mp_err *err)
{
	size_t off = 0, widest = (size_t)nin, total;
	int l, prev = nin, rc;

	memset(n, 0, sizeof(*n));
	if (nin < 1 || nlayers < 1 || nlayers > MP_NET_MAX_LAYERS || max_batch < 1 || max_batch > 1 << 20)
		return mp_error(err, MP_EINVAL, "a network needs inputs, layers and a batch size");
	{
		/* planned again here (a dense stack needs no plan of its caller's) */
		mp_layer_spec planned[MP_NET_MAX_LAYERS];

		memcpy(planned, layers, (size_t)nlayers * sizeof(*layers));
		int img = layers[0].kind == MP_LAYER_CONV || layers[0].kind == MP_LAYER_POOL;

		if ((rc = mp_net_plan(nin, img && layers[0].in[0] ? layers[0].in : NULL, planned, nlayers, err)) != 0 ||
		    (rc = mp_net_count_params(nin, planned, nlayers, &total, err)) != 0)
			return rc;
		if (planned[nlayers - 1].act != MP_ACT_NONE)
			return mp_error(err, MP_EINVAL, "the last layer gives the logits: it takes no activation");
		if (loss == MP_LOSS_BCE && planned[nlayers - 1].units != 1)
			return mp_error(err, MP_EINVAL, "binary_cross_entropy needs a last layer of 1 unit");
		if (loss == MP_LOSS_SOFTMAX_CE && planned[nlayers - 1].units < 2)
			return mp_error(err, MP_EINVAL, "softmax_cross_entropy needs a last layer of 2 units or more");
		if (!(n->layers = mp_calloc((size_t)nlayers, sizeof(*n->layers))))
			return mp_error(err, MP_ENOMEM, "out of memory");
		memcpy(n->layers, planned, (size_t)nlayers * sizeof(*layers));
		layers = n->layers;
	}
	n->nin = nin;
	n->nlayers = nlayers;
	n->loss = loss;
	n->max_batch = max_batch;
	n->rng = seed ^ 0xd1b54a32d192ed03ULL;
	if (!(n->woff = mp_calloc((size_t)nlayers, sizeof(size_t))) || !(n->boff = mp_calloc((size_t)nlayers, sizeof(size_t))) ||
	    !(n->z = mp_calloc((size_t)nlayers, sizeof(float *))) || !(n->a = mp_calloc((size_t)nlayers, sizeof(float *))) ||
	    !(n->d = mp_calloc((size_t)nlayers, sizeof(float *))) || !(n->mask = mp_calloc((size_t)nlayers, sizeof(uint8_t *))))
		goto oom;
	for (l = 0; l < nlayers; l++) {
		size_t u = (size_t)layers[l].units;

		if (layers[l].units < 1 || layers[l].dropout < 0 || layers[l].dropout >= 1) {
			mp_net_release(n);
			return mp_error(err, MP_EINVAL, "layer %d: units must be positive and dropout in [0, 1)", l + 1);
		}
		n->woff[l] = off;
		off += mp__layer_weights(&layers[l], prev);
		n->boff[l] = off;
		off += (size_t)mp__layer_biases(&layers[l]);
		if (!(n->z[l] = mp_malloc(u * (size_t)max_batch * sizeof(float))) ||
		    !(n->a[l] = mp_malloc(u * (size_t)max_batch * sizeof(float))) ||
		    !(n->d[l] = mp_malloc(u * (size_t)max_batch * sizeof(float))) ||
		    (layers[l].dropout > 0 && !(n->mask[l] = mp_malloc(u * (size_t)max_batch))))
			goto oom;
		if (u > widest)
			widest = u;
		prev = layers[l].units;
	}
	n->nparams = off;
	if (!(n->params = mp_calloc(off ? off : 1, sizeof(float))) || !(n->grads = mp_calloc(off ? off : 1, sizeof(float))) ||
	    !(n->da = mp_malloc(widest * (size_t)max_batch * sizeof(float))) || image_workspaces(n, 1) != 0)
		goto oom;
	/* initialisation: He (normal) for relu, Glorot (uniform) otherwise */
	{
		uint64_t s = seed;

		prev = nin;
		for (l = 0; l < nlayers; l++) {
			const mp_layer_spec *ls = &layers[l];
			size_t k, cnt = mp__layer_weights(ls, prev);
			mp_init init = ls->init;
			/* a conv's fans: its window over the channels in, and out */
			double fan_in = ls->kind == MP_LAYER_CONV ? (double)ls->kernel * ls->kernel * ls->in[2] : prev;
			double fan_out = ls->kind == MP_LAYER_CONV ? (double)ls->kernel * ls->kernel * ls->filters : ls->units;

			if (init == MP_INIT_AUTO)
				init = ls->act == MP_ACT_RELU ? MP_INIT_HE : MP_INIT_GLOROT;
			for (k = 0; k < cnt; k++) {
				if (init == MP_INIT_HE)
					n->params[n->woff[l] + k] = (float)(normal(&s) * sqrt(2.0 / fan_in));
				else
					n->params[n->woff[l] + k] =
						(float)((mp__uniform(&s) * 2 - 1) * sqrt(6.0 / (fan_in + fan_out)));
			}
			prev = ls->units;
		}
	}
	return 0;
oom:
	mp_net_release(n);
	return mp_error(err, MP_ENOMEM, "out of memory");
}

/* Layer l's units [u0, u1) for batch rows of in (B, P): z[l][:, u0:u1] =
 * in W[u0:u1]^T + b[u0:u1], and a[l] likewise (activate_span), row by
 * row.  Over all the units it is one product and one span of (B, U). */
void mp__net_forward_units(mp_net *n, int l, const float *in, int batch, int u0, int u1, int train, uint64_t *rng)
{
	const mp_layer_spec *ls = &n->layers[l];
	int prev = l ? n->layers[l - 1].units : n->nin;
	size_t u = (size_t)ls->units, w = (size_t)(u1 - u0), r;
	const float *wt = n->params + n->woff[l] + (size_t)u0 * (size_t)prev, *b = n->params + n->boff[l] + u0;
	float *z = n->z[l] + u0;

	if (ls->kind != MP_LAYER_DENSE) {
		mp__net_image_forward(n, l, in, 0, batch, train, rng);
		return;
	}
	/* z = in W^T + b */
	for (r = 0; r < (size_t)batch; r++)
		memcpy(z + r * u, b, w * sizeof(float));
	mp_gemm(0, 1, batch, u1 - u0, prev, 1.0f, in, prev, wt, prev, 1.0f, z, ls->units);
	if (w == u)
		mp__net_activate_span(n, l, 0, u * (size_t)batch, train, rng);
	else
		for (r = 0; r < (size_t)batch; r++)
			mp__net_activate_span(n, l, r * u + (size_t)u0, w, train, rng);
}

/* x is (B, nin).  Layer l with U units and P inputs (P is nin for the
 * first, the units below otherwise): z[l] is (B, U) = in (B, P) W^T + b,
 * W is (U, P) and b (U); a[l] is (B, U) = act(z[l]), then masked by
 * dropout when training (mask[l] is (B, U)).  Returns a[L-1], (B, nout). */
const float *mp_net_forward(mp_net *n, const float *x, int batch, int train)
{
	const float *in = x;
	int l;

	for (l = 0; l < n->nlayers; l++) {
		mp__net_forward_units(n, l, in, batch, 0, n->layers[l].units, train, &n->rng);
		in = n->a[l];
	}
	return n->a[n->nlayers - 1];
}
/* The softmax of one row, stably, in two steps the loss and prediction
 * share.  z is (n); returns sum(exp(z - max)), with *mx the max and *best
 * its index. */
static double softmax_sum(const float *z, int n, float *mx, int *best, double *e)
{
	double sum = 0;
	int k;

	*mx = z[0];
	*best = 0;
	for (k = 1; k < n; k++)
		if (z[k] > *mx) {
			*mx = z[k];
			*best = k;
		}
	for (k = 0; k < n; k++) {
		double v = exp((double)(z[k] - *mx));

		if (e)
			e[k] = v;
		sum += v;
	}
	return sum;
}

/* Classes up to this many keep their exponentials from softmax_sum for
 * softmax, instead of computing them twice. */
#define SOFTMAX_KEEP 64

/* out is (n): softmax(z) from softmax_sum's max and sum, and its
 * exponentials e when it kept them (else NULL). */
static void softmax(float *out, const float *z, int n, float mx, double sum, const double *e)
{
	int k;

	for (k = 0; k < n; k++)
		out[k] = (float)((e ? e[k] : exp((double)(z[k] - mx))) / sum);
}

/* Loss of the logits against y, the gradient with respect to the logits
 * (for the batch mean) into d when d is not NULL, and the correct count.
 * The logits are (B, nout); y is (B) class indices or 0/1 labels, or
 * (B, nout) targets for mse; d is (B, nout). */
static void loss_and_grad(mp_net *n, const float *y, int batch, float *d, double *loss, int *correct)
{
	int nout = mp_net_nout(n), r, k;
	const float *zl = n->a[n->nlayers - 1];
	double total = 0;
	float inv = 1.0f / (float)(n->grad_rows > 0 ? n->grad_rows : batch);

	*correct = 0;
	for (r = 0; r < batch; r++) {
		const float *z = zl + (size_t)r * nout;
		float *g = d ? d + (size_t)r * nout : NULL;

		if (n->loss == MP_LOSS_SOFTMAX_CE) {
			int label = (int)y[r], best;
			float mx;
			double e[SOFTMAX_KEEP], *keep = g && nout <= SOFTMAX_KEEP ? e : NULL;
			double sum = softmax_sum(z, nout, &mx, &best, keep);

			total += log(sum) - (double)(z[label] - mx);
			*correct += best == label;
			if (g) {
				/* d loss / d z = softmax(z) - onehot(label), over the batch */
				softmax(g, z, nout, mx, sum, keep);
				for (k = 0; k < nout; k++)
					g[k] = g[k] * inv - (k == label ? inv : 0);
			}
		} else if (n->loss == MP_LOSS_BCE) {
			double t = y[r], s = z[0];

			/* log(1 + e^s) - t s, stably */
			total += (s > 0 ? s + log1p(exp(-s)) : log1p(exp(s))) - t * s;
			*correct += (s > 0) == (t > 0.5);
			if (g)
				g[0] = (float)(1.0 / (1.0 + exp(-s)) - t) * inv;
		} else {
			for (k = 0; k < nout; k++) {
				double e = (double)z[k] - (double)y[(size_t)r * nout + k];

				total += e * e / nout;
				if (g)
					g[k] = (float)(2 * e / nout) * inv;
			}
		}
	}
	*loss = total / batch;
}

void mp__net_loss(mp_net *n, const float *y, int batch, double *loss, int *correct)
{
	loss_and_grad(n, y, batch, n->d[n->nlayers - 1], loss, correct);
}

/* Layer l's units [u0, u1), backward: d[l][:, u0:u1] through dropout and
 * the activation (deactivate_span, row by row), then those rows of dW =
 * d^T in and entries of db = the column sums of d. */
void mp__net_backward_units(mp_net *n, int l, const float *in, int batch, int u0, int u1)
{
	const mp_layer_spec *ls = &n->layers[l];
	int prev = l ? n->layers[l - 1].units : n->nin;
	size_t u = (size_t)ls->units, w = (size_t)(u1 - u0), r, k;
	float *d = n->d[l] + u0, *gw = n->grads + n->woff[l] + (size_t)u0 * (size_t)prev;
	float *gb = n->grads + n->boff[l] + u0;

	if (ls->kind != MP_LAYER_DENSE) { /* whole: the team splits these its own way */
		mp__net_image_deactivate(n, l, 0, batch);
		mp__net_image_grads(n, l, in, batch, 0, ls->kind == MP_LAYER_CONV ? ls->filters : 1);
		return;
	}
	if (w == u)
		mp__net_deactivate_span(n, l, 0, u * (size_t)batch);
	else
		for (r = 0; r < (size_t)batch; r++)
			mp__net_deactivate_span(n, l, r * u + (size_t)u0, w);
	mp_gemm(1, 0, u1 - u0, prev, batch, 1.0f, d, ls->units, in, prev, 0.0f, gw, prev);
	memset(gb, 0, w * sizeof(float));
	for (r = 0; r < (size_t)batch; r++)
		for (k = 0; k < w; k++)
			gb[k] += d[r * u + k];
}

/* The gradient for layer l - 1's units [p0, p1): d[l-1][:, p0:p1] =
 * d[l] (B, U) W[:, p0:p1]; it needs all of d[l]. */
void mp__net_down_units(mp_net *n, int l, int batch, int p0, int p1)
{
	int prev = n->layers[l - 1].units;

	if (n->layers[l].kind != MP_LAYER_DENSE) {
		mp__net_image_down(n, l, 0, batch);
		return;
	}

	mp_gemm(0, 0, batch, p1 - p0, n->layers[l].units, 1.0f, n->d[l], n->layers[l].units,
		n->params + n->woff[l] + p0, prev, 0.0f, n->d[l - 1] + p0, prev);
}

/* One forward and backward pass; x is (B, nin).  For layer l (U units, P
 * inputs) d[l] is (B, U), the gradient with respect to z[l]; the gradients
 * of W (U, P) and b (U) go into grads at the same offsets as the
 * parameters: dW = d^T in, db = the column sums of d, and the layer below
 * gets d[l-1] (B, P) = d W. */
void mp_net_train_step(mp_net *n, const float *x, const float *y, int batch, double *loss, int *correct)
{
	int l;

	mp_net_forward(n, x, batch, 1);
	mp__net_loss(n, y, batch, loss, correct);
	for (l = n->nlayers - 1; l >= 0; l--) {
		mp__net_backward_units(n, l, l ? n->a[l - 1] : x, batch, 0, n->layers[l].units);
		if (l > 0)
			mp__net_down_units(n, l, batch, 0, n->layers[l - 1].units);
	}
}

void mp_net_eval(mp_net *n, const float *x, const float *y, int batch, double *loss, int *correct)
{
	mp_net_forward(n, x, batch, 0);
	loss_and_grad(n, y, batch, NULL, loss, correct);
}

/* x is (B, nin); out is (B, nout): probabilities for softmax, the
 * sigmoid for a binary model, the values for mse. */
void mp_net_predict(mp_net *n, const float *x, int batch, float *out)
{
	const float *z = mp_net_forward(n, x, batch, 0);
	int nout = mp_net_nout(n), r;

	for (r = 0; r < batch; r++) {
		const float *zr = z + (size_t)r * nout;
		float *o = out + (size_t)r * nout;

		if (n->loss == MP_LOSS_SOFTMAX_CE) {
			float mx;
			int best;
			double e[SOFTMAX_KEEP], *keep = nout <= SOFTMAX_KEEP ? e : NULL;
			double sum = softmax_sum(zr, nout, &mx, &best, keep);

			softmax(o, zr, nout, mx, sum, keep);
		} else if (n->loss == MP_LOSS_BCE) {
			o[0] = 1.0f / (1.0f + expf(-zr[0]));
		} else {
			memcpy(o, zr, (size_t)nout * sizeof(float));
		}
	}
}

/* ---- optimizers -------------------------------------------------------- */

int mp_optimizer_init(mp_optimizer *o, mp_opt_kind kind, size_t nparams, mp_err *err)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->n = nparams;
	o->momentum = 0.9f;
	o->beta1 = 0.9f;
	o->beta2 = 0.999f;
	o->eps = 1e-8f;
	if (kind != MP_OPT_SGD && !(o->m = mp_calloc(nparams, sizeof(float))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((kind == MP_OPT_ADAM || kind == MP_OPT_ADAMW) && !(o->v = mp_calloc(nparams, sizeof(float)))) {
		free(o->m);
		o->m = NULL;
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	return 0;
}

void mp_optimizer_release(mp_optimizer *o)
{
	free(o->m);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

/* p and g are (n): the flat parameter and gradient buffers; m and v are
 * (n) too, the optimizer's state, in the same order. */
void mp_optimizer_step(mp_optimizer *o, float *p, const float *g, float lr)
{
	o->t++;
	mp_optimizer_apply(o, p, g, lr, 0, o->n);
}

MP_VECTOR_CLONES void mp_optimizer_apply(mp_optimizer *o, float *p, const float *g, float lr, size_t lo, size_t hi)
{
	size_t i, n = hi;
	float wd = o->weight_decay;

	switch (o->kind) {
	case MP_OPT_SGD:
		for (i = lo; i < n; i++)
			p[i] -= lr * (g[i] + wd * p[i]);
		break;
	case MP_OPT_MOMENTUM:
		for (i = lo; i < n; i++) {
			o->m[i] = o->momentum * o->m[i] + g[i] + wd * p[i];
			p[i] -= lr * o->m[i];
		}
		break;
	case MP_OPT_ADAM:
	case MP_OPT_ADAMW: {
		float b1 = o->beta1, b2 = o->beta2;
		float c1 = 1.0f - powf(b1, (float)o->t), c2 = 1.0f - powf(b2, (float)o->t);
		float step = lr * sqrtf(c2) / c1, eps = o->eps * sqrtf(c2);
		int decoupled = o->kind == MP_OPT_ADAMW;

		float *m = o->m, *v = o->v, a1 = 1 - b1, a2 = 1 - b2;

		/* the bias corrections folded into the step: the same update as
		 * lr * mhat / (sqrt(vhat) + eps); two branch-free loops so they
		 * vectorize */
		if (decoupled) {
			float shrink = 1.0f - lr * wd;

			for (i = lo; i < n; i++) {
				float gi = g[i];

				m[i] = b1 * m[i] + a1 * gi;
				v[i] = b2 * v[i] + a2 * gi * gi;
				p[i] = p[i] * shrink - step * m[i] / (sqrtf(v[i]) + eps);
			}
		} else {
			for (i = lo; i < n; i++) {
				float gi = g[i] + wd * p[i];

				m[i] = b1 * m[i] + a1 * gi;
				v[i] = b2 * v[i] + a2 * gi * gi;
				p[i] -= step * m[i] / (sqrtf(v[i]) + eps);
			}
		}
		break;
	}
	}
}

float mp_schedule_lr(const mp_schedule *s, float base, int64_t step)
{
	float lr = base;

	if (s->warmup_steps > 0 && step < s->warmup_steps)
		return base * (float)(step + 1) / (float)s->warmup_steps;
	step -= s->warmup_steps;
	switch (s->kind) {
	case MP_SCHED_CONSTANT:
		break;
	case MP_SCHED_STEP:
		if (s->step_size > 0)
			lr = base * powf(s->gamma, (float)(step / s->step_size));
		break;
	case MP_SCHED_COSINE: {
		int64_t total = s->total_steps - s->warmup_steps;

		if (total > 0) {
			double f = (double)(step < total ? step : total) / (double)total;

			lr = (float)(base * 0.5 * (1 + cos(M_PI * f)));
		}
		break;
	}
	}
	return lr;
}
