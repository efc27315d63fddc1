/* The input pipeline: see data.h.
 *
 * Everything is pull-based.  produce_batch() asks the shuffle stage for
 * examples; the shuffle stage takes them from decoded blocks in record
 * order; decoded blocks come from the ordered parallel map, which keeps up
 * to `window` records in flight on the map threads and hands results back
 * by sequence number, so the order never depends on thread timing.  With
 * prefetch, a background thread runs produce_batch() into a bounded queue;
 * without it, the caller runs it.
 */
#include "data/records.h"
#include "data/examples.h"
#include "data/transform.h"
#include "data/dataset.h"
#include "core/pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A record read from a shard, then the examples decoded from it. */
typedef struct job {
	uint64_t seq;
	uint8_t *rec;
	size_t rec_len;
	char *where;
	/* results */
	float *rows; /* n x (nx + 1): inputs, then the label */
	size_t n;
	int epoch;
	int rc;
	mp_err err;
} job;

/* A batch made ahead on the prefetch thread, and how making it went: 1
 * made, 0 nothing left, or a negative MP_E* with err. */
typedef struct made_batch {
	mp_batch b;
	int rc;
	mp_err err;
} made_batch;

struct mp_dataset {
	mp_dataset_opts o;
	int *x;
	size_t stride; /* nx + 1 */
	/* reading */
	mp_examples_reader reader;
	int reader_open;
	int epoch;	  /* being read */
	int input_done;	  /* every epoch has been read */
	uint64_t next_seq; /* to read */
	uint64_t want_seq; /* to hand on */
	/* the ordered parallel map: records decoded on map_threads workers
	 * (or in this thread), each worker with a block of its own */
	mp_pool *map;
	mp_block *blocks;
	int nblocks;
	/* the current decoded block and the epoch it belongs to */
	job *cur;
	size_t cur_pos;
	int cur_epoch;
	/* shuffle */
	float *buf;
	size_t buf_cap, buf_n;
	int buf_epoch;
	uint64_t rng;
	/* batches: with prefetch, made on a thread of their own, prefetch in
	 * flight and one more the caller holds */
	mp_pool *prefetch;
	made_batch *made;
	size_t nmade;
	made_batch *held;
	int producer_done; /* the prefetch thread's own */
	mp_batch sync_batch;
	double wait_s;
	int finished;
	float *row;	       /* one example on its way into a batch */
	/* the cache: every example of the split, then a permutation.  With a
	 * transform it keeps the values the transform reads (cstride floats:
	 * numbers and vocabulary indices, then the label), as bytes while
	 * every one of them is a whole number 0..255 (pixels), so the
	 * arithmetic runs per batch and the cache stays small. */
	float *cache;
	uint8_t *cache8;
	size_t cache_n, cache_cap, cstride;
	int pre_mode;
	float *pre;
	uint32_t *perm;
	size_t perm_pos;
	int cache_ready;
};

/* The seed of an epoch's shuffle. */
static uint64_t epoch_seed(const mp_dataset *d, int epoch)
{
	return d->o.seed ^ ((uint64_t)(d->o.first_epoch + epoch) * 0x9e3779b97f4a7c15ULL);
}

/* A new order of the cached examples for the epoch starting now. */
static void cache_shuffle(mp_dataset *d)
{
	size_t i;

	for (i = 0; i < d->cache_n; i++)
		d->perm[i] = (uint32_t)i;
	if (d->o.shuffle_buffer > 1)
		for (i = d->cache_n; i > 1; i--) {
			size_t j = (size_t)(mp_splitmix64(&d->rng) % i);
			uint32_t t = d->perm[i - 1];

			d->perm[i - 1] = d->perm[j];
			d->perm[j] = t;
		}
	d->perm_pos = 0;
}

static void free_job(job *j)
{
	if (!j)
		return;
	free(j->rec);
	free(j->rows);
	free(j->where);
	free(j);
}

/* Whether row r of b falls in the held-out part (see holdout_fraction). */
static int held_out(const mp_dataset *d, const mp_block *b, size_t r)
{
	uint64_t h = MP_FNV_SEED;
	size_t f;

	for (f = 0; f < b->nfeat; f++) {
		if (b->features[f].type == MP_FEAT_FLOAT) {
			float v = b->num[f][r];

			if (isnan(v))
				v = NAN; /* one NaN */
			h = mp_fnv1a(&v, sizeof(v), h);
		} else {
			uint8_t miss = b->miss[f][r];

			h = mp_fnv1a(&miss, 1, h);
			if (!miss) {
				size_t n;
				const char *s = mp_block_str(b, f, r, &n);

				h = mp_fnv1a(s, n, h);
			}
		}
	}
	return (double)(h % 1000000) < d->o.holdout_fraction * 1000000;
}

/* Whether the cache is filled once across the shards (see share). */
static int shared_fill(const mp_dataset *d)
{
	return d->o.share && d->o.cache && d->o.nshards > 1;
}

/* Decodes j's record into rows (in a worker, or inline); in a shared fill,
 * only this shard's blocks. */
static void run_job(mp_dataset *d, job *j, mp_block *b)
{
	size_t r, k;

	if (shared_fill(d) && j->seq % (uint64_t)d->o.nshards != (uint64_t)d->o.shard) {
		j->rc = 0;
		j->n = 0;
		free(j->rec);
		j->rec = NULL;
		return;
	}
	j->rc = mp_block_decode(b, j->rec, j->rec_len, j->where, &j->err);
	if (j->rc == 0) {
		j->n = b->rows;
		if (!(j->rows = mp_malloc((b->rows ? b->rows : 1) * (d->stride > d->cstride ? d->stride : d->cstride) *
					  sizeof(float)))) {
			j->rc = mp_error(&j->err, MP_ENOMEM, "out of memory");
		} else {
			size_t n = 0;

			for (r = 0; r < b->rows; r++) {
				float *row = j->rows + n * d->stride;

				if (d->o.holdout && (d->o.holdout > 0) != held_out(d, b, r))
					continue;
				if (d->pre_mode) {
					row = j->rows + n * d->cstride;
					mp_transform_pre(d->o.transform, d->o.tx_idx, b, r, row);
					if (isnan(row[d->cstride - 1]))
						continue; /* no label: nothing to learn from */
				} else if (d->o.transform) {
					mp_transform_row(d->o.transform, d->o.tx_idx, b, r, row, &row[d->o.nx]);
					if (isnan(row[d->o.nx]))
						continue; /* no label: nothing to learn from */
				} else {
					for (k = 0; k < d->o.nx; k++)
						row[k] = b->num[d->x[k]][r];
					row[d->o.nx] = d->o.y >= 0 ? b->num[d->o.y][r] : 0;
				}
				n++;
			}
			j->n = n;
		}
	}
	free(j->rec);
	j->rec = NULL;
}

static void map_job(void *ctx, void *item, int worker)
{
	mp_dataset *d = ctx;

	run_job(d, item, &d->blocks[worker]);
}

static void drop_job(void *item)
{
	free_job(item);
}

/* Reads the next record into a new job; 0 with *out NULL when every epoch
 * has been read. */
static int read_job(mp_dataset *d, job **out, int *epoch, mp_err *err)
{
	*out = NULL;
	while (!d->input_done) {
		int rc;

		if (!d->reader_open) {
			if ((rc = mp_examples_reader_open(&d->reader, d->o.meta, d->o.dir, d->o.split, err)) != 0)
				return rc;
			d->reader_open = 1;
		}
		/* raw records: the reader's record layer, without decoding */
		for (;;) {
			const uint8_t *data;
			size_t n;

			if (!d->reader.open) {
				char *path;

				if (d->reader.shard >= d->reader.split->shards)
					break;
				if (!(path = mp_examples_shard_path(d->reader.dir, d->reader.split->name, d->reader.shard)))
					return mp_error(err, MP_ENOMEM, "out of memory");
				rc = mp_rec_reader_open(&d->reader.rec, path, err);
				free(path);
				if (rc != 0)
					return rc;
				d->reader.open = 1;
			}
			if ((rc = mp_rec_read(&d->reader.rec, &data, &n, err)) < 0)
				return rc;
			if (rc == 1) {
				job *j = mp_calloc(1, sizeof(*j));

				if (!j || !(j->rec = mp_malloc(n ? n : 1)) ||
				    !(j->where = mp_asprintf("'%s': the record at byte %llu", d->reader.rec.path,
							     (unsigned long long)(d->reader.rec.offset - 16 - n)))) {
					free_job(j);
					return mp_error(err, MP_ENOMEM, "out of memory");
				}
				memcpy(j->rec, data, n);
				j->rec_len = n;
				j->seq = d->next_seq++;
				*out = j;
				*epoch = d->epoch;
				return 0;
			}
			mp_rec_reader_close(&d->reader.rec);
			d->reader.open = 0;
			d->reader.shard++;
		}
		/* the epoch's data is read: the next epoch starts over (or,
		 * with the cache, comes from memory) */
		mp_examples_reader_close(&d->reader);
		d->reader_open = 0;
		if (++d->epoch >= d->o.epochs || d->o.cache)
			d->input_done = 1;
	}
	return 0;
}

/* The next decoded block in record order: 1, 0 at the end, or an error.
 * *epoch gets the epoch it belongs to. */
static int next_block(mp_dataset *d, job **out, int *epoch, mp_err *err)
{
	job *j;
	int rc;

	*out = NULL;
	/* keep the map full */
	while (!mp_pool_full(d->map) && !d->input_done) {
		int ep;

		if ((rc = read_job(d, &j, &ep, err)) != 0)
			return rc;
		if (!j)
			break;
		j->epoch = ep;
		mp_pool_submit(d->map, j);
	}
	if (!(j = mp_pool_take(d->map)))
		return 0; /* the end, or closing */
	if (j->rc != 0) {
		*err = j->err;
		rc = j->rc;
		free_job(j);
		return rc;
	}
	*epoch = j->epoch;
	*out = j;
	return 1;
}

/* One example of the epoch being batched into row (stride floats): 1, or 0
 * when the epoch (or everything) has no more. */
/* The cache kept as bytes so far, as floats from now on. */
static int cache_to_floats(mp_dataset *d, mp_err *err)
{
	float *c = mp_malloc((d->cache_cap ? d->cache_cap : 1) * d->cstride * sizeof(float));
	size_t k;

	if (!c)
		return mp_error(err, MP_ENOMEM, "out of memory (caching the split)");
	for (k = 0; k < d->cache_n * d->cstride; k++)
		c[k] = d->cache8[k];
	free(d->cache8);
	d->cache8 = NULL;
	d->cache = c;
	return 0;
}

/* Adds the decoded rows of j to the cache: as bytes while every value
 * fits one, as floats from the first that does not. */
static int cache_add(mp_dataset *d, const job *j, mp_err *err)
{
	size_t k, cnt = j->n * d->cstride;
	int bytes = d->cache8 != NULL || (d->pre_mode && !d->cache);

	for (k = 0; bytes && k < cnt; k++)
		bytes = j->rows[k] >= 0 && j->rows[k] <= 255 && j->rows[k] == (float)(int)j->rows[k];
	if (!bytes && d->cache8 && cache_to_floats(d, err) != 0)
		return MP_ENOMEM;
	if (d->cache_n + j->n > d->cache_cap) {
		size_t cap = d->cache_cap ? d->cache_cap : 4096;
		void *c;

		while (cap < d->cache_n + j->n)
			cap *= 2;
		c = bytes ? mp_realloc(d->cache8, cap * d->cstride) : mp_realloc(d->cache, cap * d->cstride * sizeof(float));
		if (!c)
			return mp_error(err, MP_ENOMEM, "out of memory (caching the split)");
		if (bytes)
			d->cache8 = c;
		else
			d->cache = c;
		d->cache_cap = cap;
	}
	if (bytes)
		for (k = 0; k < cnt; k++)
			d->cache8[d->cache_n * d->cstride + k] = (uint8_t)j->rows[k];
	else if (cnt) /* a block of no rows (another shard's, in a shared fill) adds nothing */
		memcpy(d->cache + d->cache_n * d->cstride, j->rows, cnt * sizeof(float));
	d->cache_n += j->n;
	return 0;
}

/* A shared fill's exchange: every shard has decoded its blocks (rows[i]
 * rows in its i-th, of nblocks in all, block s being shard s % nshards's);
 * afterwards every shard's cache holds every block, in block order, as the
 * fill of one shard would have. */
static int share_cache(mp_dataset *d, const uint64_t *rows, size_t nblocks, mp_err *err)
{
	size_t n = (size_t)d->o.nshards, k, s, *counts = NULL, *at = NULL, elem, total = 0, cstride = d->cstride;
	uint64_t mode = d->cache8 || !d->cache ? 0 : 1, *modes = NULL, *all_rows = NULL, *first = NULL;
	uint8_t *all = NULL, *out = NULL;
	int rc = MP_ENOMEM;

	if (!(counts = mp_calloc(n, sizeof(*counts))) || !(at = mp_calloc(n, sizeof(*at))) ||
	    !(modes = mp_calloc(n, sizeof(*modes))) || !(first = mp_calloc(n + 1, sizeof(*first))) ||
	    !(all_rows = mp_calloc(nblocks + 1, sizeof(*all_rows))))
		goto out;
	/* floats everywhere when one shard needed them */
	for (k = 0; k < n; k++)
		counts[k] = sizeof(uint64_t);
	d->o.share(d->o.share_ctx, &mode, sizeof(mode), modes, counts);
	for (k = 0; k < n; k++)
		mode |= modes[k];
	if (mode && d->cache8 && cache_to_floats(d, err) != 0)
		goto out;
	elem = mode ? sizeof(float) : 1;
	/* each shard's blocks' rows, shard by shard */
	for (k = 0; k < n; k++) {
		counts[k] = (nblocks > k ? (nblocks - k + n - 1) / n : 0) * sizeof(uint64_t);
		first[k + 1] = first[k] + counts[k] / sizeof(uint64_t);
	}
	d->o.share(d->o.share_ctx, rows, counts[d->o.shard], all_rows, counts);
	for (k = 0; k < n; k++) {
		size_t r = 0, i;

		for (i = first[k]; i < first[k + 1]; i++)
			r += all_rows[i];
		counts[k] = r * cstride * elem;
		total += r;
	}
	if (!(all = mp_malloc(total * cstride * elem + 1)) || !(out = mp_malloc(total * cstride * elem + 1)))
		goto out;
	d->o.share(d->o.share_ctx, mode ? (void *)d->cache : (void *)d->cache8, d->cache_n * cstride * elem, all,
		   counts);
	/* back in block order: block s is shard s % n's (s / n)-th */
	for (k = 1; k < n; k++)
		at[k] = at[k - 1] + counts[k - 1];
	{
		size_t put = 0;

		for (s = 0; s < nblocks; s++) {
			size_t owner = s % n, bytes = (size_t)all_rows[first[owner] + s / n] * cstride * elem;

			memcpy(out + put, all + at[owner], bytes);
			at[owner] += bytes;
			put += bytes;
		}
	}
	if (mode) {
		free(d->cache);
		d->cache = (float *)out;
	} else {
		free(d->cache8);
		d->cache8 = out;
	}
	out = NULL;
	d->cache_n = d->cache_cap = total;
	rc = 0;
out:
	if (rc != 0 && !err->msg[0])
		mp_error(err, MP_ENOMEM, "out of memory (sharing the cache)");
	free(counts);
	free(at);
	free(modes);
	free(first);
	free(all_rows);
	free(all);
	free(out);
	return rc;
}

/* The whole split into memory, once; every epoch is then a permutation of
 * it, a function of the seed and the epoch.  In a shared fill, this shard
 * decodes its blocks and the shards exchange them. */
static int fill_cache(mp_dataset *d, mp_err *err)
{
	uint64_t *rows = NULL;
	size_t nblocks = 0, nmine = 0, alloc = 0;
	job *j;
	int ep, rc;

	mp_err_clear(err);
	while ((rc = next_block(d, &j, &ep, err)) == 1) {
		if (shared_fill(d) && nblocks++ % (size_t)d->o.nshards == (size_t)d->o.shard) {
			if (mp_grow((void **)&rows, &alloc, nmine + 1, sizeof(*rows)) != 0)
				rc = mp_error(err, MP_ENOMEM, "out of memory");
			else
				rows[nmine++] = j->n;
		}
		if (rc == 1)
			rc = cache_add(d, j, err);
		free_job(j);
		if (rc != 0 && rc != 1)
			break;
		rc = 0;
	}
	if (rc == 0 && shared_fill(d))
		rc = share_cache(d, rows, nblocks, err);
	free(rows);
	if (rc < 0)
		return rc;
	if (!(d->perm = mp_malloc((d->cache_n ? d->cache_n : 1) * sizeof(uint32_t))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	d->cache_ready = 1;
	cache_shuffle(d);
	return 0;
}

/* Rows are visited in a random order through a cache larger than the
 * processor's: ask for the one PREFETCH_AHEAD rows on now, so that it is
 * in cache when its turn comes (the hardware cannot guess it).  Measured
 * alone on a 47 MB cache: 180 ns a row instead of 387, sequential 132.  It
 * is written out in cached_example: GCC takes a function that only
 * prefetches for a pure one and drops the call. */
#define PREFETCH_AHEAD 4

/* The next example of the epoch's permutation of the cache: 1, or 0 at the
 * epoch's end. */
static int cached_example(mp_dataset *d, float *row)
{
	size_t at;

	if (d->perm_pos == d->cache_n)
		return 0;
	if (d->perm_pos + PREFETCH_AHEAD < d->cache_n) {
		size_t ahead = (size_t)d->perm[d->perm_pos + PREFETCH_AHEAD] * d->cstride, bytes, off;
		const char *p = d->cache8 ? (const char *)(d->cache8 + ahead) : (const char *)(d->cache + ahead);

		bytes = d->cache8 ? d->cstride : d->cstride * sizeof(float);
		for (off = 0; off < bytes; off += 64)
			__builtin_prefetch(p + off);
	}
	at = (size_t)d->perm[d->perm_pos++] * d->cstride;
	if (!d->pre_mode) {
		memcpy(row, d->cache + at, d->stride * sizeof(float));
		return 1;
	}
	if (d->cache8) {
		mp_transform_apply_u8(d->o.transform, d->cache8 + at, d->pre, row);
		row[d->o.nx] = d->cache8[at + d->cstride - 1];
		return 1;
	}
	memcpy(d->pre, d->cache + at, d->cstride * sizeof(float));
	mp_transform_apply(d->o.transform, d->pre, row);
	row[d->o.nx] = d->pre[d->cstride - 1];
	return 1;
}

/* Refills the shuffle buffer from the current epoch's blocks. */
static int refill(mp_dataset *d, mp_err *err)
{
	int rc;

	while (d->buf_n < d->buf_cap) {
		if (d->cur && d->cur_pos == d->cur->n) {
			free_job(d->cur);
			d->cur = NULL;
		}
		if (!d->cur) {
			int ep = 0;

			if ((rc = next_block(d, &d->cur, &ep, err)) < 0)
				return rc;
			if (rc == 0)
				break;
			d->cur_pos = 0;
			d->cur_epoch = ep;
		}
		if (d->cur_epoch != d->buf_epoch)
			break; /* the next epoch waits until this one is drained */
		if (d->cur_pos == d->cur->n)
			continue;
		memcpy(d->buf + d->buf_n * d->stride, d->cur->rows + d->cur_pos * d->stride, d->stride * sizeof(float));
		d->cur_pos++;
		d->buf_n++;
		if (d->buf_cap == 1)
			break;
	}
	return 0;
}

static int next_example(mp_dataset *d, float *row, mp_err *err)
{
	size_t r;
	int rc;

	if (d->o.cache && !d->cache_ready && (rc = fill_cache(d, err)) != 0)
		return rc;
	if (d->cache_ready)
		return cached_example(d, row);
	if ((rc = refill(d, err)) != 0)
		return rc;
	if (!d->buf_n)
		return 0; /* the buffer is empty: the epoch is over */
	r = d->buf_cap > 1 ? (size_t)(mp_splitmix64(&d->rng) % d->buf_n) : 0;
	memcpy(row, d->buf + r * d->stride, d->stride * sizeof(float));
	d->buf_n--;
	if (r != d->buf_n)
		memcpy(d->buf + r * d->stride, d->buf + d->buf_n * d->stride, d->stride * sizeof(float));
	return 1;
}

/* This shard's rows of the next global batch from the cache into b;
 * returns the global batch's rows (every shard skips the same others). */
static size_t take_shard(mp_dataset *d, mp_batch *b)
{
	size_t left = d->cache_n - d->perm_pos, n = left < d->o.batch_size ? left : d->o.batch_size, i;
	size_t lo = n * (size_t)d->o.shard / (size_t)d->o.nshards;
	size_t hi = n * (size_t)(d->o.shard + 1) / (size_t)d->o.nshards;

	d->perm_pos += lo;
	for (i = lo; i < hi && cached_example(d, d->row); i++) {
		memcpy(b->x + b->rows * d->o.nx, d->row, d->o.nx * sizeof(float));
		if (b->y)
			b->y[b->rows] = d->row[d->o.nx];
		b->rows++;
	}
	d->perm_pos += n - hi;
	return n;
}

/* Fills b with the next batch: 1, 0 when everything is done. */
static int produce_batch(mp_dataset *d, mp_batch *b, mp_err *err)
{
	int rc;

	for (;;) {
		if (d->buf_epoch >= d->o.epochs)
			return 0;
		if (d->o.cache && !d->cache_ready && (rc = fill_cache(d, err)) != 0)
			return rc;
		b->rows = 0;
		b->epoch = d->buf_epoch;
		b->sharded = d->cache_ready && d->o.nshards > 1;
		if (b->sharded) {
			b->global_rows = take_shard(d, b);
		} else {
			while (b->rows < d->o.batch_size) {
				if ((rc = next_example(d, d->row, err)) < 0)
					return rc;
				if (rc == 0)
					break;
				memcpy(b->x + b->rows * d->o.nx, d->row, d->o.nx * sizeof(float));
				if (b->y)
					b->y[b->rows] = d->row[d->o.nx];
				b->rows++;
			}
			b->global_rows = b->rows;
		}
		if (b->global_rows == d->o.batch_size)
			return 1;
		/* the epoch ended: the next one is shuffled with its own seed */
		d->buf_epoch++;
		d->rng = epoch_seed(d, d->buf_epoch);
		if (d->cache_ready)
			cache_shuffle(d);
		if (b->global_rows && !d->o.drop_remainder)
			return 1;
		if (d->buf_epoch >= d->o.epochs)
			return 0;
	}
}

/* On the prefetch thread: the next batch into item. */
static void make_batch(void *ctx, void *item, int worker)
{
	mp_dataset *d = ctx;
	made_batch *m = item;

	(void)worker;
	if (d->producer_done) {
		m->rc = 0;
		return;
	}
	mp_err_clear(&m->err);
	if ((m->rc = produce_batch(d, &m->b, &m->err)) != 1)
		d->producer_done = 1;
}

static int alloc_batch(mp_dataset *d, mp_batch *b, mp_err *err)
{
	b->nx = d->o.nx;
	if (!(b->x = mp_malloc(d->o.batch_size * (d->o.nx ? d->o.nx : 1) * sizeof(float))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (d->o.y >= 0 && !(b->y = mp_malloc(d->o.batch_size * sizeof(float))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}

int mp_dataset_open(mp_dataset **out, const mp_dataset_opts *o, mp_err *err)
{
	mp_dataset *d;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (o->batch_size == 0 || o->epochs < 1)
		return mp_error(err, MP_EINVAL, "a dataset needs a batch size and at least one epoch");
	if (!mp_examples_split(o->meta, o->split))
		return mp_error(err, MP_ENOTFOUND, "'%s' has no split '%s'", o->dir, o->split);
	for (i = 0; !o->transform && i < o->nx; i++)
		if (o->x[i] < 0 || (size_t)o->x[i] >= o->meta->nfeatures ||
		    o->meta->features[o->x[i]].type != MP_FEAT_FLOAT)
			return mp_error(err, MP_EINVAL, "input %zu of the dataset is not a numeric feature", i);
	if (!o->transform && o->y >= 0 &&
	    ((size_t)o->y >= o->meta->nfeatures || o->meta->features[o->y].type != MP_FEAT_FLOAT))
		return mp_error(err, MP_EINVAL, "the label of the dataset is not a numeric feature");
	if (o->transform && (!o->tx_idx || o->nx != mp_transform_width(o->transform)))
		return mp_error(err, MP_EINVAL, "a dataset with a transform needs its bindings and its width");
	if (!(d = mp_calloc(1, sizeof(*d))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	d->o = *o;
	d->stride = o->nx + 1;
	d->pre_mode = o->cache && o->transform;
	d->cstride = d->pre_mode ? o->transform->nfeatures + 1 : d->stride;
	d->buf_cap = o->shuffle_buffer > 1 ? o->shuffle_buffer : 1;
	d->rng = epoch_seed(d, 0);
	if (!(d->x = mp_calloc(o->nx + 1, sizeof(int))) || !(d->row = mp_malloc(d->stride * sizeof(float))) ||
	    !(d->pre = mp_malloc(d->cstride * sizeof(float))) ||
	    !(d->buf = mp_malloc(d->buf_cap * d->stride * sizeof(float)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto fail;
	}
	if (!o->transform)
		memcpy(d->x, o->x, o->nx * sizeof(int));
	d->o.x = d->x;
	d->nblocks = o->map_threads > 0 ? o->map_threads : 1;
	if (!(d->blocks = mp_calloc((size_t)d->nblocks, sizeof(*d->blocks)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < (size_t)d->nblocks; i++)
		if ((rc = mp_block_init(&d->blocks[i], o->meta->features, o->meta->nfeatures, 1, err)) != 0)
			goto fail;
	/* two records in flight per map thread keep every one busy */
	if ((rc = mp_pool_create(&d->map, o->map_threads, o->map_threads > 0 ? (size_t)o->map_threads * 2 : 1,
				 map_job, d, err)) != 0)
		goto fail;
	if (o->prefetch > 0) {
		d->nmade = o->prefetch + 1; /* the caller's batch, and prefetch made or being made */
		if (!(d->made = mp_calloc(d->nmade, sizeof(*d->made)))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto fail;
		}
		for (i = 0; i < d->nmade; i++)
			if ((rc = alloc_batch(d, &d->made[i].b, err)) != 0)
				goto fail;
		if ((rc = mp_pool_create(&d->prefetch, 1, d->nmade - 1, make_batch, d, err)) != 0)
			goto fail;
		for (i = 0; i + 1 < d->nmade; i++)
			mp_pool_submit(d->prefetch, &d->made[i]);
		d->held = &d->made[d->nmade - 1]; /* not in flight: handed on first */
	} else if ((rc = alloc_batch(d, &d->sync_batch, err)) != 0) {
		goto fail;
	}
	*out = d;
	return 0;
fail:
	mp_dataset_close(d);
	return rc;
}

int mp_dataset_next(mp_dataset *d, const mp_batch **b, mp_err *err)
{
	int64_t t0 = mp_monotonic_ns();
	int rc;

	*b = NULL;
	if (d->finished)
		return 0;
	if (!d->prefetch) {
		rc = produce_batch(d, &d->sync_batch, err);
		d->wait_s += (double)(mp_monotonic_ns() - t0) / 1e9;
		if (rc != 1) {
			d->finished = 1;
			return rc;
		}
		*b = &d->sync_batch;
		return 1;
	}
	{
		/* the next batch made; the one the caller had goes back to be
		 * made again */
		made_batch *m = mp_pool_take(d->prefetch);

		d->wait_s += (double)(mp_monotonic_ns() - t0) / 1e9;
		if (MP_NEVER(!m))
			return mp_error(err, MP_EINVAL, "internal error: the prefetch thread stopped");
		mp_pool_submit(d->prefetch, d->held);
		d->held = m;
	}
	if (d->held->rc != 1) {
		d->finished = 1;
		if (d->held->rc < 0 && err)
			*err = d->held->err;
		return d->held->rc < 0 ? d->held->rc : 0;
	}
	*b = &d->held->b;
	return 1;
}

size_t mp_dataset_ready(mp_dataset *d)
{
	return d->prefetch ? mp_pool_ready(d->prefetch) : 0;
}

double mp_dataset_wait_seconds(const mp_dataset *d)
{
	return d->wait_s;
}

void mp_dataset_close(mp_dataset *d)
{
	size_t i;

	if (!d)
		return;
	/* the map first: a prefetch thread waiting on it goes on and ends */
	if (d->map)
		mp_pool_stop(d->map);
	mp_pool_free(d->prefetch, NULL);
	mp_pool_free(d->map, drop_job);
	free_job(d->cur);
	if (d->reader_open)
		mp_examples_reader_close(&d->reader);
	for (i = 0; d->made && i < d->nmade; i++) {
		free(d->made[i].b.x);
		free(d->made[i].b.y);
	}
	free(d->made);
	free(d->sync_batch.x);
	free(d->sync_batch.y);
	for (i = 0; d->blocks && i < (size_t)d->nblocks; i++)
		mp_block_release(&d->blocks[i]);
	free(d->blocks);
	free(d->buf);
	free(d->row);
	free(d->cache);
	free(d->cache8);
	free(d->pre);
	free(d->perm);
	free(d->x);
	free(d);
}
