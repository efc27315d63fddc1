/* Computing the statistics of an Examples artifact (statistics.tsv is
 * in stats.c): two streaming passes over each split, the blocks decoded
 * and measured on the pool's workers and taken back in order, so the
 * figures are the same for any number of threads. */
#include "core/pool.h"
#include "data/csv.h"
#include "data/examples.h"
#include "data/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Whether a string value reads as a number ("3.5", " 12"). */
static int looks_numeric(const char *s, size_t n)
{
	float v;

	mp_trim(&s, &n);
	return n && n < 64 && mp_parse_f32(s, n, &v) == 0;
}

/* ---- counting strings -------------------------------------------------- */

typedef struct slot {
	char *s;
	size_t n;
	int64_t count;
	uint64_t h;
} slot;

typedef struct counter {
	slot *slots;
	size_t cap, used;
	int capped;
} counter;

static int counter_add(counter *c, const char *s, size_t n, mp_err *err)
{
	uint64_t h = mp_fnv1a(s, n, MP_FNV_SEED);
	size_t i;

	if (c->used * 2 >= c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64, k;
		slot *ns;

		if (c->used >= MP_STATS_TRACK)
			goto lookup_only;
		if (!(ns = mp_calloc(ncap, sizeof(*ns))))
			return mp_error(err, MP_ENOMEM, "out of memory");
		for (k = 0; k < c->cap; k++)
			if (c->slots[k].s) {
				size_t j = c->slots[k].h & (ncap - 1);

				while (ns[j].s)
					j = (j + 1) & (ncap - 1);
				ns[j] = c->slots[k];
			}
		free(c->slots);
		c->slots = ns;
		c->cap = ncap;
	}
lookup_only:
	for (i = h & (c->cap - 1); c->slots[i].s; i = (i + 1) & (c->cap - 1))
		if (c->slots[i].h == h && c->slots[i].n == n && memcmp(c->slots[i].s, s, n) == 0) {
			c->slots[i].count++;
			return 0;
		}
	if (c->used >= MP_STATS_TRACK || c->used * 2 >= c->cap) {
		c->capped = 1;
		return 0;
	}
	if (!(c->slots[i].s = mp_malloc(n + 1)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	memcpy(c->slots[i].s, s, n);
	c->slots[i].s[n] = '\0';
	c->slots[i].n = n;
	c->slots[i].count = 1;
	c->slots[i].h = h;
	c->used++;
	return 0;
}

static void counter_release(counter *c)
{
	size_t i;

	for (i = 0; i < c->cap; i++)
		free(c->slots[i].s);
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

static int cmp_count(const void *a, const void *b)
{
	const mp_value_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->value, y->value);
}

/* Moves the counted values into fs: all of them, or the most frequent. */
static int counter_take(counter *c, mp_feat_stats *fs, mp_err *err)
{
	size_t i, n = 0;

	fs->unique = (int64_t)c->used;
	fs->unique_capped = c->capped;
	if (!c->used)
		return 0;
	if (!(fs->values = mp_calloc(c->used, sizeof(*fs->values))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < c->cap; i++)
		if (c->slots[i].s) {
			fs->values[n].value = c->slots[i].s;
			fs->values[n].count = c->slots[i].count;
			c->slots[i].s = NULL;
			n++;
		}
	qsort(fs->values, n, sizeof(*fs->values), cmp_count);
	fs->all_values = !c->capped && n <= MP_STATS_VALUES;
	fs->nvalues = fs->all_values ? n : (n < MP_STATS_TOP ? n : MP_STATS_TOP);
	for (i = fs->nvalues; i < n; i++)
		free(fs->values[i].value);
	return 0;
}

/* ---- computing, on the pool ------------------------------------------ */

/* One float feature over one block: the block's own moments, merged into
 * the split's in block order (Chan et al.), so the figures do not depend on
 * which worker took which block. */
typedef struct part {
	int64_t count, missing, zeros;
	double mean, m2, min, max;
} part;

/* A block in flight: its record (copied), the block decoded by a worker
 * and what the worker measured of its numbers. */
typedef struct item {
	uint8_t *data;
	size_t n, cap;
	char where[4200];
	mp_block b;
	part *parts;			  /* pass 0: per feature */
	int64_t (*hist)[MP_HIST_BINS]; /* pass 1: per feature */
	int rc;
	mp_err err;
} item;

typedef struct pass_ctx {
	int pass;
	const mp_split_stats *ss; /* pass 1: the ranges found by pass 0 */
} pass_ctx;

/* Four running sums (lane r % 4, a fixed order whatever the machine), so
 * that the loop is not one long chain of dependent additions, and no
 * branch: a NaN (missing) adds nothing and never wins a comparison. */
MP_VECTOR_CLONES static void moments(const float *v, size_t n, part *p)
{
	double s[4] = {0, 0, 0, 0}, q[4] = {0, 0, 0, 0}, mean;
	float mn[4] = {INFINITY, INFINITY, INFINITY, INFINITY}, mx[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
	int64_t c[4] = {0, 0, 0, 0}, z[4] = {0, 0, 0, 0}, count;
	size_t r, k, whole = n & ~(size_t)3;

	for (r = 0; r < n; r += 4)
		for (k = 0; k < 4 && r + k < n; k++) {
			float x = v[r + k];
			int ok = x == x;

			s[k] += ok ? (double)x : 0.0;
			c[k] += ok;
			z[k] += x == 0.0f;
			mn[k] = x < mn[k] ? x : mn[k];
			mx[k] = x > mx[k] ? x : mx[k];
		}
	count = c[0] + c[1] + c[2] + c[3];
	mean = count ? (s[0] + s[1] + s[2] + s[3]) / (double)count : 0;
	for (r = 0; count && r < whole; r += 4)
		for (k = 0; k < 4; k++) {
			double d = (double)v[r + k] - mean;

			q[k] += v[r + k] == v[r + k] ? d * d : 0.0;
		}
	for (r = whole; count && r < n; r++) {
		double d = (double)v[r] - mean;

		q[r & 3] += v[r] == v[r] ? d * d : 0.0;
	}
	p->count = count;
	p->missing = (int64_t)n - count;
	p->zeros = z[0] + z[1] + z[2] + z[3];
	p->min = fminf(fminf(mn[0], mn[1]), fminf(mn[2], mn[3]));
	p->max = fmaxf(fmaxf(mx[0], mx[1]), fmaxf(mx[2], mx[3]));
	p->mean = mean;
	p->m2 = q[0] + q[1] + q[2] + q[3];
}

static void histogram(const float *v, size_t n, const mp_feat_stats *fs, int64_t *hist)
{
	double w = (fs->max - fs->min) / MP_HIST_BINS;
	size_t r;

	for (r = 0; r < n; r++) {
		int bin;

		if (isnan(v[r]))
			continue;
		bin = w > 0 ? (int)((v[r] - fs->min) / w) : 0;
		hist[bin < 0 ? 0 : bin >= MP_HIST_BINS ? MP_HIST_BINS - 1 : bin]++;
	}
}

/* On a worker: decode the block and measure its numbers. */
static void measure(void *ctx, void *arg, int worker)
{
	const pass_ctx *pc = ctx;
	item *it = arg;
	size_t f;

	(void)worker;
	if ((it->rc = mp_block_decode(&it->b, it->data, it->n, it->where, &it->err)) != 0)
		return;
	for (f = 0; f < it->b.nfeat; f++) {
		if (it->b.features[f].type != MP_FEAT_FLOAT)
			continue;
		if (pc->pass == 0)
			moments(it->b.num[f], it->b.rows, &it->parts[f]);
		else
			histogram(it->b.num[f], it->b.rows, &pc->ss->feats[f], it->hist[f]);
	}
}

/* In block order: a block's moments into the split's. */
static void merge(mp_feat_stats *fs, double *mean, double *m2, const part *p)
{
	fs->missing += p->missing;
	if (!p->count)
		return;
	if (!fs->count) {
		*mean = p->mean;
		*m2 = p->m2;
	} else {
		double na = (double)fs->count, nb = (double)p->count, d = p->mean - *mean;

		*mean += d * nb / (na + nb);
		*m2 += p->m2 + d * d * na * nb / (na + nb);
	}
	fs->count += p->count;
	fs->zeros += p->zeros;
	if (p->min < fs->min)
		fs->min = p->min;
	if (p->max > fs->max)
		fs->max = p->max;
}

typedef struct acc {
	double mean, m2; /* of the numbers */
	double sumlen;	 /* of the strings */
} acc;

/* A string column of block b: counts, lengths and the values. */
static int count_strings(const mp_block *b, size_t f, mp_feat_stats *fs, acc *a, counter *cnt, mp_err *err)
{
	size_t r, len;
	int rc = 0;

	for (r = 0; r < b->rows && rc == 0; r++) {
		const char *s;

		if (b->miss[f][r]) {
			fs->missing++;
			continue;
		}
		s = mp_block_str(b, f, r, &len);
		fs->count++;
		a->sumlen += (double)len;
		fs->numeric += looks_numeric(s, len);
		rc = counter_add(cnt, s, len, err);
	}
	return rc;
}

/* What a measured block adds to the split, taken in block order. */
static int take_block(mp_split_stats *ss, int pass, item *it, acc *a, counter *cnt, mp_err *err)
{
	size_t f;
	int rc = 0;

	if (it->rc != 0) {
		*err = it->err;
		return it->rc;
	}
	if (pass == 0)
		ss->rows += (int64_t)it->b.rows;
	for (f = 0; f < ss->nfeats && rc == 0; f++) {
		mp_feat_stats *fs = &ss->feats[f];
		int k;

		if (fs->type != MP_FEAT_FLOAT) {
			if (pass == 0)
				rc = count_strings(&it->b, f, fs, &a[f], &cnt[f], err);
		} else if (pass == 0) {
			merge(fs, &a[f].mean, &a[f].m2, &it->parts[f]);
		} else {
			for (k = 0; k < MP_HIST_BINS; k++)
				fs->hist[k] += it->hist[f][k];
		}
	}
	return rc;
}

static void items_release(item *items, size_t n)
{
	size_t i;

	for (i = 0; items && i < n; i++) {
		free(items[i].data);
		free(items[i].parts);
		free(items[i].hist);
		mp_block_release(&items[i].b);
	}
	free(items);
}

static int items_make(item **out, size_t n, const mp_examples_meta *m, mp_err *err)
{
	item *items = mp_calloc(n, sizeof(*items));
	size_t i;
	int rc = items ? 0 : mp_error(err, MP_ENOMEM, "out of memory");

	for (i = 0; rc == 0 && i < n; i++) {
		items[i].parts = mp_calloc(m->nfeatures + 1, sizeof(*items[i].parts));
		items[i].hist = mp_calloc(m->nfeatures + 1, sizeof(*items[i].hist));
		if (!items[i].parts || !items[i].hist)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		else
			rc = mp_block_init(&items[i].b, m->features, m->nfeatures, 1, err);
	}
	if (rc != 0) {
		items_release(items, items ? n : 0);
		items = NULL;
	}
	*out = items;
	return rc;
}

/* The next record into a free item, handed to the pool: 1, 0 at the end. */
static int submit_next(mp_pool *pool, mp_examples_reader *rd, item *it, int pass, mp_err *err)
{
	const uint8_t *data;
	size_t n;
	int rc = mp_examples_reader_next_raw(rd, &data, &n, it->where, sizeof(it->where), err);

	if (rc != 1)
		return rc;
	if (n > it->cap) {
		uint8_t *nd = mp_realloc(it->data, n);

		if (!nd)
			return mp_error(err, MP_ENOMEM, "out of memory");
		it->data = nd;
		it->cap = n;
	}
	memcpy(it->data, data, n);
	it->n = n;
	it->rc = 0;
	if (pass == 1)
		memset(it->hist, 0, it->b.nfeat * sizeof(*it->hist));
	mp_pool_submit(pool, it);
	return 1;
}

/* One pass over a split: blocks decoded and measured on threads workers,
 * taken back in order. */
static int one_pass(mp_split_stats *ss, const mp_examples_meta *m, const char *dir, int pass, int threads,
		    acc *a, counter *cnt, mp_err *err)
{
	pass_ctx pc = {pass, ss};
	size_t depth = threads > 0 ? 2 * (size_t)threads + 2 : 1, next = 0;
	mp_examples_reader rd;
	mp_pool *pool = NULL;
	item *items = NULL;
	int rc, more = 1;

	if ((rc = items_make(&items, depth, m, err)) != 0)
		return rc;
	if ((rc = mp_pool_create(&pool, threads, depth, measure, &pc, err)) != 0) {
		items_release(items, depth);
		return rc;
	}
	if ((rc = mp_examples_reader_open(&rd, m, dir, ss->name, err)) != 0) {
		mp_pool_free(pool, NULL);
		items_release(items, depth);
		return rc;
	}
	while (rc == 0 && (more || mp_pool_pending(pool))) {
		item *it;

		while (more && !mp_pool_full(pool)) {
			int got = submit_next(pool, &rd, &items[next], pass, err);

			if (got < 0) {
				rc = got;
				break;
			}
			more = got == 1;
			next = got == 1 ? (next + 1) % depth : next;
		}
		if (rc == 0 && (it = mp_pool_take(pool)))
			rc = take_block(ss, pass, it, a, cnt, err);
	}
	mp_examples_reader_close(&rd);
	mp_pool_free(pool, NULL);
	items_release(items, depth);
	return rc;
}

static int compute_split(mp_split_stats *ss, const mp_examples_meta *m, const char *dir, const char *split,
			 int threads, mp_err *err)
{
	size_t nf = m->nfeatures, f;
	const mp_split_info *si = mp_examples_split(m, split);
	acc *a = mp_calloc(nf + 1, sizeof(*a));
	counter *cnt = mp_calloc(nf + 1, sizeof(*cnt));
	int rc = 0, pass;

	if (!a || !cnt || !(ss->feats = mp_calloc(nf + 1, sizeof(*ss->feats))) || !(ss->name = mp_strdup(split))) {
		free(a);
		free(cnt);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	ss->nfeats = nf;
	for (f = 0; f < nf; f++) {
		ss->feats[f].type = m->features[f].type;
		ss->feats[f].min = INFINITY;
		ss->feats[f].max = -INFINITY;
		if (si && si->bad_values)
			ss->feats[f].bad_values = si->bad_values[f];
		if (!(ss->feats[f].name = mp_strdup(m->features[f].name)) ||
		    mp_name_index_add(&ss->ix, ss->feats[f].name, f, NULL) < 0)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
	}
	/* pass 0: counts, moments, ranges, values; pass 1: histograms */
	for (pass = 0; pass < 2 && rc == 0; pass++)
		rc = one_pass(ss, m, dir, pass, threads, a, cnt, err);
	for (f = 0; f < nf; f++) {
		mp_feat_stats *fs = &ss->feats[f];

		if (fs->type == MP_FEAT_FLOAT) {
			fs->mean = fs->count ? a[f].mean : NAN;
			fs->std = fs->count ? sqrt(a[f].m2 / (double)fs->count) : NAN;
			if (!fs->count)
				fs->min = fs->max = NAN;
		} else {
			fs->avg_len = fs->count ? a[f].sumlen / (double)fs->count : 0;
			if (rc == 0)
				rc = counter_take(&cnt[f], fs, err);
		}
		counter_release(&cnt[f]);
	}
	free(a);
	free(cnt);
	return rc;
}

int mp_stats_compute(mp_stats *out, const mp_examples_meta *m, const char *dir, int threads, mp_err *err)
{
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->span = m->span;
	if (!(out->splits = mp_calloc(m->nsplits, sizeof(*out->splits))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < m->nsplits && rc == 0; i++) {
		out->nsplits++;
		rc = compute_split(&out->splits[i], m, dir, m->splits[i].name, threads, err);
	}
	if (rc != 0)
		mp_stats_release(out);
	return rc;
}
