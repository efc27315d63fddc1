/* Writing and reading an Examples artifact's splits, block by block. */
#include "data/records.h"
#include "data/examples.h"
#include "core/pool.h"

#include <stdlib.h>
#include <string.h>

#define SHARD_RAW_BYTES (64u << 20) /* start a new shard after this much raw data */

typedef struct split_writer {
	char *name;
	mp_block blocks[2]; /* one filled by the caller, one being encoded */
	int cur;
	mp_rec_writer rec;
	int open;
	int shards;
	int64_t rows;
	uint64_t shard_raw;
	int64_t *bad_values; /* per feature, or NULL */
} split_writer;

/* With a background thread, a full block is handed to it to compress and
 * write while the caller fills the split's other block; one block is in
 * flight at a time. */
struct mp_examples_writer {
	char *dir;
	char **label_names;
	size_t nlabel_names;
	int shape[3];
	mp_feature *features;
	size_t nfeat;
	split_writer *splits;
	size_t nsplits;
	uint8_t *enc; /* the encoder thread's (or the only thread's) buffer */
	size_t enccap;
	uint8_t *enc_main; /* the caller's, when it encodes while the thread is busy */
	size_t enc_main_cap;
	int threaded;
	mp_pool *pool; /* one worker, one job in flight */
	struct encode_job {
		mp_examples_writer *w;
		split_writer *sw;
		mp_block *b;
		int rc;
		mp_err err;
	} job;
	int failed;
	mp_err job_err;
};

static int flush_block(mp_examples_writer *w, split_writer *sw, mp_block *b, mp_err *err);

static void encode_job(void *ctx, void *item, int worker)
{
	struct encode_job *j = item;

	(void)ctx;
	(void)worker;
	j->rc = flush_block(j->w, j->sw, j->b, &j->err);
}

/* Waits until the encoder has nothing in flight; its error, if any. */
static int wait_idle(mp_examples_writer *w, mp_err *err)
{
	struct encode_job *j;

	if (!w->threaded)
		return 0;
	if ((j = mp_pool_take(w->pool)) && j->rc != 0 && !w->failed) {
		w->failed = 1;
		w->job_err = j->err;
	}
	if (!w->failed)
		return 0;
	if (err)
		*err = w->job_err;
	return w->job_err.code ? w->job_err.code : MP_EIO;
}

static void stop_encoder(mp_examples_writer *w)
{
	if (!w->threaded)
		return;
	wait_idle(w, NULL);
	mp_pool_free(w->pool, NULL);
	w->pool = NULL;
	w->threaded = 0;
}

char *mp_examples_shard_path(const char *dir, const char *split, int i)
{
	return mp_asprintf("%s/%s/shard-%05d.rec", dir, split, i);
}

static void writer_free(mp_examples_writer *w)
{
	size_t i;

	if (!w)
		return;
	stop_encoder(w);
	for (i = 0; i < w->nsplits; i++) {
		if (w->splits[i].open)
			mp_rec_writer_close(&w->splits[i].rec, NULL);
		mp_block_release(&w->splits[i].blocks[0]);
		mp_block_release(&w->splits[i].blocks[1]);
		free(w->splits[i].name);
		free(w->splits[i].bad_values);
	}
	for (i = 0; i < w->nfeat; i++)
		free(w->features[i].name);
	free(w->features);
	for (i = 0; i < w->nlabel_names; i++)
		free(w->label_names[i]);
	free(w->label_names);
	free(w->splits);
	free(w->enc);
	free(w->enc_main);
	free(w->dir);
	free(w);
}

int mp_examples_writer_open(mp_examples_writer **out, const char *dir, const mp_feature *features,
			    size_t nfeat, const char *const *splits, size_t nsplits, size_t block_rows,
			    int threads, mp_err *err)
{
	mp_examples_writer *w;
	size_t i;
	int rc;

	*out = NULL;
	if (!(w = mp_calloc(1, sizeof(*w))) || !(w->dir = mp_strdup(dir)) ||
	    !(w->features = mp_calloc(nfeat + 1, sizeof(*w->features))) ||
	    !(w->splits = mp_calloc(nsplits + 1, sizeof(*w->splits)))) {
		writer_free(w);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (i = 0; i < nfeat; i++, w->nfeat++) {
		w->features[i].type = features[i].type;
		if (!(w->features[i].name = mp_strdup(features[i].name))) {
			writer_free(w);
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
	}
	for (i = 0; i < nsplits; i++) {
		char *d = mp_asprintf("%s/%s", dir, splits[i]);

		w->nsplits++;
		if (!d || !(w->splits[i].name = mp_strdup(splits[i]))) {
			free(d);
			writer_free(w);
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
		rc = mp_mkdirs(d, 0755, err);
		free(d);
		if (rc == 0)
			rc = mp_block_init(&w->splits[i].blocks[0], w->features, nfeat, block_rows, err);
		if (rc == 0 && threads > 1)
			rc = mp_block_init(&w->splits[i].blocks[1], w->features, nfeat, block_rows, err);
		if (rc != 0) {
			writer_free(w);
			return rc;
		}
	}
	/* without a thread the caller compresses and writes */
	if (threads > 1 && mp_pool_create(&w->pool, 1, 1, encode_job, NULL, err) == 0)
		w->threaded = 1;
	w->job.w = w;
	*out = w;
	return 0;
}

mp_block *mp_examples_writer_block(mp_examples_writer *w, size_t s)
{
	return &w->splits[s].blocks[w->splits[s].cur];
}

/* Writes an encoded block of rows rows as the next record of split sw,
 * starting a new shard when the current one is full. */
static int write_encoded(mp_examples_writer *w, split_writer *sw, const uint8_t *data, size_t len, size_t rows,
			 mp_err *err)
{
	int rc;

	if (!sw->open) {
		char *path = mp_examples_shard_path(w->dir, sw->name, sw->shards);

		if (!path)
			return mp_error(err, MP_ENOMEM, "out of memory");
		rc = mp_rec_writer_open(&sw->rec, path, err);
		free(path);
		if (rc != 0)
			return rc;
		sw->open = 1;
		sw->shards++;
		sw->shard_raw = 0;
	}
	if ((rc = mp_rec_write(&sw->rec, data, len, err)) != 0)
		return rc;
	sw->rows += (int64_t)rows;
	sw->shard_raw += (uint64_t)rows * w->nfeat * 4;
	if (sw->shard_raw >= SHARD_RAW_BYTES) {
		sw->open = 0;
		if ((rc = mp_rec_writer_close(&sw->rec, err)) != 0)
			return rc;
	}
	return 0;
}

/* Compresses and writes block b of split sw (in the encoder thread when
 * there is one). */
static int flush_block(mp_examples_writer *w, split_writer *sw, mp_block *b, mp_err *err)
{
	size_t len;
	int rc;

	if (b->rows == 0)
		return 0;
	if ((rc = mp_block_encode(b, 1, &w->enc, &w->enccap, &len, err)) != 0 ||
	    (rc = write_encoded(w, sw, w->enc, len, b->rows, err)) != 0)
		return rc;
	mp_block_clear(b);
	return 0;
}

int mp_examples_writer_put(mp_examples_writer *w, size_t s, const uint8_t *data, size_t len, size_t rows,
			   mp_err *err)
{
	int rc;

	if ((rc = wait_idle(w, err)) != 0)
		return rc;
	return write_encoded(w, &w->splits[s], data, len, rows, err);
}

int mp_examples_writer_row(mp_examples_writer *w, size_t s, mp_err *err)
{
	split_writer *sw = &w->splits[s];
	mp_block *b = &sw->blocks[sw->cur];
	int rc;

	mp_block_end_row(b);
	if (!mp_block_full(b))
		return 0;
	if (!w->threaded)
		return flush_block(w, sw, b, err);
	if (mp_pool_full(w->pool) && !mp_pool_ready(w->pool)) {
		/* the thread is busy: compress this block here meanwhile, then
		 * write it after the thread's (records stay in order) */
		size_t len;

		if ((rc = mp_block_encode(b, 1, &w->enc_main, &w->enc_main_cap, &len, err)) != 0 ||
		    (rc = wait_idle(w, err)) != 0 || (rc = write_encoded(w, sw, w->enc_main, len, b->rows, err)) != 0)
			return rc;
		mp_block_clear(b);
		return 0;
	}
	if ((rc = wait_idle(w, err)) != 0)
		return rc;
	w->job.sw = sw;
	w->job.b = b;
	mp_pool_submit(w->pool, &w->job);
	sw->cur ^= 1;
	mp_block_clear(&sw->blocks[sw->cur]);
	return 0;
}

int mp_examples_writer_close(mp_examples_writer *w, const char *label, int64_t span,
			     int64_t version, int abort, mp_err *err)
{
	mp_examples_meta m = {0};
	size_t i;
	int rc = 0;

	if (abort) {
		writer_free(w);
		return 0;
	}
	rc = wait_idle(w, err);
	stop_encoder(w);
	for (i = 0; i < w->nsplits && rc == 0; i++) {
		split_writer *sw = &w->splits[i];

		rc = flush_block(w, sw, &sw->blocks[sw->cur], err);
		if (rc == 0 && sw->open) {
			sw->open = 0;
			rc = mp_rec_writer_close(&sw->rec, err);
		}
	}
	if (rc == 0) {
		m.features = w->features;
		m.nfeatures = w->nfeat;
		m.label = (char *)label;
		m.span = span;
		m.version = version;
		m.label_names = w->label_names;
		m.nlabel_names = w->nlabel_names;
		memcpy(m.shape, w->shape, sizeof(m.shape));
		if (!(m.splits = mp_calloc(w->nsplits + 1, sizeof(*m.splits))))
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		for (i = 0; rc == 0 && i < w->nsplits; i++) {
			m.splits[i].name = w->splits[i].name;
			m.splits[i].rows = w->splits[i].rows;
			m.splits[i].shards = w->splits[i].shards;
			m.splits[i].bad_values = w->splits[i].bad_values;
		}
		m.nsplits = w->nsplits;
		if (rc == 0)
			rc = mp_examples_meta_write(&m, w->dir, err);
		free(m.splits);
	}
	writer_free(w);
	return rc;
}

int mp_examples_writer_set_label_names(mp_examples_writer *w, char *const *names, size_t n, mp_err *err)
{
	size_t i;

	if (w->label_names || !n)
		return 0;
	if (!(w->label_names = mp_calloc(n, sizeof(char *))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < n; i++, w->nlabel_names++)
		if (!(w->label_names[i] = mp_strdup(names[i])))
			return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}

void mp_examples_writer_set_shape(mp_examples_writer *w, const int shape[3])
{
	memcpy(w->shape, shape, sizeof(w->shape));
}

int mp_examples_writer_set_bad(mp_examples_writer *w, size_t s, size_t f, int64_t n, mp_err *err)
{
	split_writer *sw = &w->splits[s];

	if (s >= w->nsplits || f >= w->nfeat)
		return mp_error(err, MP_EINVAL, "internal error: no split %zu or feature %zu", s, f);
	if (!sw->bad_values && !(sw->bad_values = mp_calloc(w->nfeat, sizeof(*sw->bad_values))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	sw->bad_values[f] = n;
	return 0;
}

/* ---- reading ----------------------------------------------------------- */

int mp_examples_reader_open(mp_examples_reader *r, const mp_examples_meta *m, const char *dir,
			    const char *split, mp_err *err)
{
	memset(r, 0, sizeof(*r));
	r->meta = m;
	if (!(r->split = mp_examples_split(m, split)))
		return mp_error(err, MP_ENOTFOUND, "'%s' has no split '%s'", dir, split);
	if (!(r->dir = mp_strdup(dir)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}

int mp_examples_reader_next_raw(mp_examples_reader *r, const uint8_t **data, size_t *n, char *where, size_t wsz,
				mp_err *err)
{
	int rc;

	for (;;) {
		if (!r->open) {
			char *path;

			if (r->shard >= r->split->shards)
				return 0;
			if (!(path = mp_examples_shard_path(r->dir, r->split->name, r->shard)))
				return mp_error(err, MP_ENOMEM, "out of memory");
			rc = mp_rec_reader_open(&r->rec, path, err);
			free(path);
			if (rc != 0)
				return rc == MP_ENOTFOUND ? mp_error(err, MP_ECORRUPT, "%s", err->msg) : rc;
			r->open = 1;
		}
		rc = mp_rec_read(&r->rec, data, n, err);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			snprintf(where, wsz, "'%s': the record at byte %llu", r->rec.path,
				 (unsigned long long)(r->rec.offset - 16 - *n));
			return 1;
		}
		mp_rec_reader_close(&r->rec);
		r->open = 0;
		r->shard++;
	}
}

int mp_examples_reader_next(mp_examples_reader *r, mp_block *b, mp_err *err)
{
	const uint8_t *data;
	char where[4200];
	size_t n;
	int rc = mp_examples_reader_next_raw(r, &data, &n, where, sizeof(where), err);

	if (rc != 1)
		return rc;
	return mp_block_decode(b, data, n, where, err) == 0 ? 1 : err->code;
}

void mp_examples_reader_close(mp_examples_reader *r)
{
	if (r->open)
		mp_rec_reader_close(&r->rec);
	free(r->dir);
	memset(r, 0, sizeof(*r));
}
