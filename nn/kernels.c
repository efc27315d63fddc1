/* The kernels every layer uses (see nn.h): the one GEMM wrapper over
 * cblas_sgemm, activations and their gradients over spans of a layer's
 * values, with dropout, and the uniform draws they take. */
#include "nn/nn.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void mp_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
	     int ldb, float beta, float *c, int ldc)
{
	cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
		    alpha, a, lda, b, ldb, beta, c, ldc);
}

void mp_blas_threads(int n)
{
	if (n > 0)
		openblas_set_num_threads(n);
}

/* Uniform in [0, 1). */
double mp__uniform(uint64_t *s)
{
	return (double)(mp_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* a = act(z), elementwise; z and a are (n), and may be the same array. */
static void activate(mp_act act, const float *z, float *a, size_t n)
{
	size_t i;

	switch (act) {
	case MP_ACT_NONE:
		if (a != z)
			memcpy(a, z, n * sizeof(float));
		break;
	case MP_ACT_RELU:
		for (i = 0; i < n; i++)
			a[i] = z[i] > 0 ? z[i] : 0;
		break;
	case MP_ACT_TANH:
		for (i = 0; i < n; i++)
			a[i] = tanhf(z[i]);
		break;
	case MP_ACT_SIGMOID:
		for (i = 0; i < n; i++)
			a[i] = 1.0f / (1.0f + expf(-z[i]));
		break;
	}
}

/* a[l] = act(z[l]) over cnt values from offset at, then with train masked
 * by dropout drawn from *rng. */
void mp__net_activate_span(mp_net *n, int l, size_t at, size_t cnt, int train, uint64_t *rng)
{
	const mp_layer_spec *ls = &n->layers[l];
	float *a = n->a[l] + at;
	size_t i;

	activate(ls->act, n->z[l] + at, a, cnt);
	if (train && ls->dropout > 0 && n->mask && n->mask[l]) {
		float keep = 1.0f - ls->dropout, scale = 1.0f / keep;
		uint8_t *m = n->mask[l] + at;

		for (i = 0; i < cnt; i++) {
			m[i] = mp__uniform(rng) < keep;
			a[i] = m[i] ? a[i] * scale : 0;
		}
	}
}

/* ---- images: conv, pool, flatten ------------------------------------------ */

/* d *= act'(z), elementwise: z, a and d are (cnt); d comes in as the
 * gradient with respect to a and leaves as that with respect to z. */
static void activation_grad(mp_act act, const float *z, const float *a, float *d, size_t cnt)
{
	size_t i;

	switch (act) {
	case MP_ACT_NONE:
		break;
	case MP_ACT_RELU:
		/* a select, not a branch: the signs are random, and the branch
		 * mispredicted half the time (most of this function's time) */
		for (i = 0; i < cnt; i++)
			d[i] = z[i] <= 0 ? 0.0f : d[i];
		break;
	case MP_ACT_TANH:
		for (i = 0; i < cnt; i++) {
			float t = tanhf(z[i]);

			d[i] *= 1 - t * t;
		}
		break;
	case MP_ACT_SIGMOID:
		for (i = 0; i < cnt; i++) {
			float s = 1.0f / (1.0f + expf(-z[i]));

			d[i] *= s * (1 - s);
		}
		break;
	}
	(void)a;
}

/* d[l] over cnt values from offset at, through dropout and the activation:
 * it comes in as the gradient with respect to a[l] and leaves as that with
 * respect to z[l]. */
void mp__net_deactivate_span(mp_net *n, int l, size_t at, size_t cnt)
{
	const mp_layer_spec *ls = &n->layers[l];
	float *d = n->d[l] + at;
	size_t k;

	if (ls->dropout > 0) {
		float scale = 1.0f / (1.0f - ls->dropout);
		const uint8_t *m = n->mask[l] + at;

		for (k = 0; k < cnt; k++)
			d[k] = m[k] ? d[k] * scale : 0;
	}
	activation_grad(ls->act, n->z[l] + at, n->a[l] + at, d, cnt);
}

