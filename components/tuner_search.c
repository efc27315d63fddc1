/* The Tuner's strategies (see tuner.h): pure functions of the search space
 * and the seed, so that a resumed search plans the same trials. */
#include "components/tuner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t mp__tune_grid_size(const mp_hp_space *s)
{
	uint64_t n = 1, k;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (!(k = mp_hp_domain_size(&s->d[i])))
			return 0;
		if (k > 1000000000ULL || n * k > 1000000000ULL)
			return UINT64_MAX;
		n *= k;
	}
	return n;
}

static void free_values(char **values, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(values[i]);
		values[i] = NULL;
	}
}

int mp__tune_grid_values(const mp_hp_space *s, uint64_t k, char **values, mp_err *err)
{
	size_t i;

	for (i = s->n; i-- > 0;) {
		uint64_t size = mp_hp_domain_size(&s->d[i]);

		if (!size || !(values[i] = mp_hp_domain_value(&s->d[i], -1.0 - (double)(k % size)))) {
			free_values(values, s->n);
			return size ? mp_error(err, MP_ENOMEM, "out of memory")
				    : mp_error(err, MP_EINVAL, "search: %s: a grid needs choice or int", s->d[i].path);
		}
		k /= size;
	}
	return 0;
}

int mp__tune_random_values(const mp_hp_space *s, uint64_t seed, int trial, int attempt, char **values,
			   mp_err *err)
{
	uint64_t st = seed ^ ((uint64_t)trial * 0xd1b54a32d192ed03ULL) ^ ((uint64_t)attempt * 0x8cb92ba72f3d8dd7ULL);
	size_t i;

	mp_splitmix64(&st);
	for (i = 0; i < s->n; i++) {
		double u = (double)(mp_splitmix64(&st) >> 11) * 0x1.0p-53;

		if (!(values[i] = mp_hp_domain_value(&s->d[i], u))) {
			free_values(values, s->n);
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
	}
	return 0;
}

int mp__tune_rungs(int min_budget, int max_budget, int reduction, int *budgets)
{
	int n = 0;
	double b = min_budget;

	while (b < max_budget && n < MP_TUNE_MAX_RUNGS - 1) {
		budgets[n++] = (int)b;
		b *= reduction;
	}
	budgets[n++] = max_budget;
	return n;
}

size_t mp__tune_keep(size_t n, int reduction)
{
	return n / (size_t)reduction ? n / (size_t)reduction : 1;
}

typedef struct ranked {
	double v;
	int trial;
	size_t i;
} ranked;

static int by_value(const void *a, const void *b)
{
	const ranked *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return x->trial - y->trial;
}

size_t mp__tune_rank(const mp__tune_eval *e, size_t n, int maximize, size_t keep, size_t *idx)
{
	ranked *r = mp_calloc(n ? n : 1, sizeof(*r));
	size_t i, m = 0;

	if (!r)
		return 0;
	for (i = 0; i < n; i++)
		if (e[i].done && !e[i].failed && isfinite(e[i].objective)) {
			r[m].v = maximize ? -e[i].objective : e[i].objective;
			r[m].trial = e[i].trial;
			r[m++].i = i;
		}
	qsort(r, m, sizeof(*r), by_value);
	for (i = 0; i < m && i < keep; i++)
		idx[i] = r[i].i;
	free(r);
	return i;
}
