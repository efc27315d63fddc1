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
	int s = 0, n = 0, k;
	double p = 1;

	/* Hyperband's: max_budget / reduction^(s - k), the smallest no less than min_budget */
	while (s < MP_TUNE_MAX_RUNGS - 1 && (double)max_budget / (p * reduction) >= min_budget - 1e-9) {
		p *= reduction;
		s++;
	}
	for (k = s; k >= 0; k--) {
		int b = (int)floor((double)max_budget / pow(reduction, k) + 1e-9);

		if (b < min_budget)
			b = min_budget;
		if (!n || b > budgets[n - 1])
			budgets[n++] = b;
	}
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

int mp__tune_plan(const mp__tune_config *c, char ***out, mp_err *err)
{
	size_t n = c->space.n, t;
	char **values;
	int rc = 0, attempt, same;

	if (!(*out = values = mp_calloc((size_t)c->trials * n + 1, sizeof(char *))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (t = 0; rc == 0 && t < (size_t)c->trials; t++) {
		char **v = values + t * n;

		if (c->strategy == MP_TUNE_GRID) {
			rc = mp__tune_grid_values(&c->space, t, v, err);
			continue;
		}
		/* a sample that repeats an earlier trial is drawn again, a few times */
		for (attempt = 0, same = 1; rc == 0 && same && attempt < 50; attempt++) {
			size_t u, i;

			if (attempt)
				free_values(v, n);
			rc = mp__tune_random_values(&c->space, c->seed, (int)t + 1, attempt, v, err);
			for (u = 0, same = 0; rc == 0 && u < t && !same; u++) {
				for (i = 0; i < n && !strcmp(v[i], values[u * n + i]); i++)
					;
				same = i == n;
			}
		}
	}
	return rc;
}

static mp__tune_eval *add_eval(const mp__tune_config *c, char **values, mp__tune_eval *ev, size_t *nev, int trial,
			       int rung, int budget)
{
	mp__tune_eval *e = &ev[(*nev)++];

	memset(e, 0, sizeof(*e));
	e->trial = trial;
	e->rung = rung;
	e->budget = budget;
	e->values = values + (size_t)(trial - 1) * c->space.n;
	e->objective = NAN;
	return e;
}

int mp__tune_search(const mp__tune_config *c, char **values, mp__tune_eval *ev, size_t *nev, mp__tune_run_fn run,
		    void *ud, mp_err *err)
{
	size_t first = 0, n, keep, i, *idx;
	int t, k, rc;

	*nev = 0;
	for (t = 1; t <= c->trials; t++)
		add_eval(c, values, ev, nev, t, 0, c->strategy == MP_TUNE_HALVING ? c->budgets[0] : 0);
	if ((rc = run(ud, 0, *nev, err)) != 0 || c->strategy != MP_TUNE_HALVING)
		return rc;
	if (!(idx = mp_calloc((size_t)c->trials, sizeof(size_t))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	/* each rung keeps the best 1/reduction of the one before */
	for (k = 1; rc == 0 && k < c->nrungs; k++) {
		n = *nev - first;
		keep = mp__tune_rank(ev + first, n, c->maximize, mp__tune_keep(n, c->reduction), idx);
		if (!keep)
			break;
		for (i = 0; i < keep; i++)
			ev[first + idx[i]].promoted = 1;
		for (i = first, first = *nev; i < first; i++)
			if (ev[i].promoted)
				add_eval(c, values, ev, nev, ev[i].trial, k, c->budgets[k]);
		rc = run(ud, first, *nev, err);
	}
	free(idx);
	return rc;
}

const mp__tune_eval *mp__tune_best(const mp__tune_eval *ev, size_t nev, int maximize)
{
	size_t from, best;
	int rung;

	for (rung = nev ? ev[nev - 1].rung : 0; rung >= 0; rung--) {
		for (from = 0; from < nev && ev[from].rung != rung; from++)
			;
		if (from < nev && mp__tune_rank(ev + from, nev - from, maximize, 1, &best))
			return &ev[from + best];
	}
	return NULL;
}
