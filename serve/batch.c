/* Server-side batching: see batch.h. */
#include "serve/batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { B_OPEN, B_RUNNING, B_DONE };

struct mp_batcher {
	mp_served *s;
	pthread_mutex_t *smu;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	mp_block blk;
	float *out;
	size_t cap, used;
	long timeout_us;
	int state;
	int readers;	/* requests of a done batch yet to read their outputs */
	uint64_t gen;	/* batches run so far */
	mp_batch_seen on_batch;
	void *ud;
};

int mp_batcher_new(mp_batcher **out, mp_served *s, pthread_mutex_t *smu, size_t max_rows, long timeout_us,
		   mp_batch_seen on_batch, void *ud, mp_err *err)
{
	mp_batcher *b = mp_calloc(1, sizeof(*b));
	int rc;

	*out = NULL;
	if (!b || !(b->out = mp_malloc(max_rows * s->nout * sizeof(float)))) {
		free(b);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	if ((rc = mp_served_block(s, &b->blk, max_rows, err)) != 0) {
		free(b->out);
		free(b);
		return rc;
	}
	b->s = s;
	b->smu = smu;
	b->cap = max_rows;
	b->timeout_us = timeout_us;
	b->on_batch = on_batch;
	b->ud = ud;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	*out = b;
	return 0;
}

void mp_batcher_free(mp_batcher *b)
{
	if (!b)
		return;
	mp_block_release(&b->blk);
	free(b->out);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b);
}

size_t mp_batcher_max_rows(const mp_batcher *b)
{
	return b->cap;
}

/* The leader: waits for the batch to fill or the timeout, then predicts
 * (under the lock taken, which it drops while the GEMM runs). */
static void lead(mp_batcher *b)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += b->timeout_us * 1000;
	until.tv_sec += until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	while (b->used < b->cap && pthread_cond_timedwait(&b->cv, &b->mu, &until) != ETIMEDOUT)
		;
	b->state = B_RUNNING;
	pthread_mutex_unlock(&b->mu);
	pthread_mutex_lock(b->smu);
	mp_served_predict(b->s, &b->blk, 0, b->used, b->out, NULL);
	pthread_mutex_unlock(b->smu);
	if (b->on_batch)
		b->on_batch(b->ud, b->used);
	pthread_mutex_lock(&b->mu);
	b->state = B_DONE;
	b->gen++;
	pthread_cond_broadcast(&b->cv);
}

int mp_batcher_run(mp_batcher *b, size_t n, mp_batch_fill fill, mp_batch_emit emit, void *ud, char *msg,
		   size_t msgsz)
{
	size_t at, r;
	uint64_t gen;

	pthread_mutex_lock(&b->mu);
	while (b->state != B_OPEN || b->used + n > b->cap)
		pthread_cond_wait(&b->cv, &b->mu);
	at = b->used;
	for (r = 0; r < n; r++) {
		if (fill(ud, &b->blk, r, msg, msgsz) != 0) {
			b->blk.rows = at; /* what this request put in goes */
			pthread_cond_broadcast(&b->cv);
			pthread_mutex_unlock(&b->mu);
			return -1;
		}
		mp_block_end_row(&b->blk);
	}
	b->used += n;
	b->readers++;
	gen = b->gen;
	if (at == 0)
		lead(b);
	else
		pthread_cond_broadcast(&b->cv); /* the leader may be full now */
	while (b->gen == gen)
		pthread_cond_wait(&b->cv, &b->mu);
	for (r = 0; r < n; r++)
		emit(ud, b->out + (at + r) * b->s->nout, r);
	if (--b->readers == 0) {
		/* the last to read opens the next batch */
		b->used = 0;
		mp_block_clear(&b->blk);
		b->state = B_OPEN;
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	return 0;
}
