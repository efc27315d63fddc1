/* Server-side batching: see batch.h. */
#include "serve/batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { B_OPEN, B_RUNNING, B_DONE };

/* One batch at a time: its own view of the model, block and outputs. */
typedef struct lane {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	mp_served s;
	mp_block blk;
	float *out;
	size_t used;
	int state;
	int readers; /* requests of a done batch yet to read their outputs */
	uint64_t gen; /* batches run so far */
} lane;

struct mp_batcher {
	lane *lanes;
	int nlanes;
	size_t cap;
	long timeout_us;
	mp_batch_seen on_batch;
	void *ud;
};

int mp_batcher_new(mp_batcher **out, const mp_served *s, int threads, size_t max_rows, long timeout_us,
		   mp_batch_seen on_batch, void *ud, mp_err *err)
{
	mp_batcher *b = mp_calloc(1, sizeof(*b));
	int i, rc = 0;

	*out = NULL;
	if (!b || !(b->lanes = mp_calloc((size_t)(threads > 0 ? threads : 1), sizeof(*b->lanes)))) {
		free(b);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	b->cap = max_rows;
	b->timeout_us = timeout_us;
	b->on_batch = on_batch;
	b->ud = ud;
	for (i = 0; i < (threads > 0 ? threads : 1) && rc == 0; i++) {
		lane *l = &b->lanes[i];

		pthread_mutex_init(&l->mu, NULL);
		pthread_cond_init(&l->cv, NULL);
		b->nlanes = i + 1;
		if ((rc = mp_served_view(&l->s, s, err)) == 0 && (rc = mp_served_block(s, &l->blk, max_rows, err)) == 0 &&
		    !(l->out = mp_malloc(max_rows * s->nout * sizeof(float))))
			rc = mp_error(err, MP_ENOMEM, "out of memory");
	}
	if (rc != 0) {
		mp_batcher_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

void mp_batcher_free(mp_batcher *b)
{
	int i;

	if (!b)
		return;
	for (i = 0; i < b->nlanes; i++) {
		lane *l = &b->lanes[i];

		mp_block_release(&l->blk);
		free(l->out);
		mp_served_release(&l->s);
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
	}
	free(b->lanes);
	free(b);
}

size_t mp_batcher_max_rows(const mp_batcher *b)
{
	return b->cap;
}

/* The leader: waits for the batch to fill or the timeout, then predicts
 * (under the lane's lock, which it drops while the GEMM runs: nobody
 * touches a running lane). */
static void lead(mp_batcher *b, lane *l)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += b->timeout_us * 1000;
	until.tv_sec += until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	while (l->used < b->cap && pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT)
		;
	l->state = B_RUNNING;
	pthread_mutex_unlock(&l->mu);
	mp_served_predict(&l->s, &l->blk, 0, l->used, l->out, NULL);
	if (b->on_batch)
		b->on_batch(b->ud, l->used);
	pthread_mutex_lock(&l->mu);
	l->state = B_DONE;
	l->gen++;
	pthread_cond_broadcast(&l->cv);
}

/* The first lane whose batch is open with room for n rows, locked; when
 * every lane is busy, the first, locked, to wait on. */
static lane *pick(mp_batcher *b, size_t n)
{
	int i;

	for (i = 0; i < b->nlanes; i++) {
		lane *l = &b->lanes[i];

		pthread_mutex_lock(&l->mu);
		if (l->state == B_OPEN && l->used + n <= b->cap)
			return l;
		pthread_mutex_unlock(&l->mu);
	}
	pthread_mutex_lock(&b->lanes[0].mu);
	return &b->lanes[0];
}

int mp_batcher_run(mp_batcher *b, size_t n, mp_batch_fill fill, mp_batch_emit emit, void *ud, char *msg,
		   size_t msgsz)
{
	lane *l = pick(b, n);
	size_t at, r;
	uint64_t gen;

	while (l->state != B_OPEN || l->used + n > b->cap)
		pthread_cond_wait(&l->cv, &l->mu);
	at = l->used;
	for (r = 0; r < n; r++) {
		if (fill(ud, &l->blk, r, msg, msgsz) != 0) {
			l->blk.rows = at; /* what this request put in goes */
			pthread_cond_broadcast(&l->cv);
			pthread_mutex_unlock(&l->mu);
			return -1;
		}
		mp_block_end_row(&l->blk);
	}
	l->used += n;
	l->readers++;
	gen = l->gen;
	if (at == 0)
		lead(b, l);
	else
		pthread_cond_broadcast(&l->cv); /* the leader may be full now */
	while (l->gen == gen)
		pthread_cond_wait(&l->cv, &l->mu);
	for (r = 0; r < n; r++)
		emit(ud, l->out + (at + r) * l->s.nout, r);
	if (--l->readers == 0) {
		/* the last to read opens the next batch */
		l->used = 0;
		mp_block_clear(&l->blk);
		l->state = B_OPEN;
		pthread_cond_broadcast(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
	return 0;
}
