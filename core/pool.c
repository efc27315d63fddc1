/* The thread pool: see pool.h.  Items sit in a ring of depth slots in
 * submission order; workers run the oldest item nobody runs yet, and take
 * waits for the oldest one to be done. */
#include "core/pool.h"

#include <pthread.h>
#include <stdlib.h>

enum { S_QUEUED, S_RUNNING, S_DONE };

typedef struct slot {
	void *item;
	int state;
} slot;

struct mp_pool {
	mp_pool_fn fn;
	void *ctx;
	slot *ring;
	size_t depth;
	uint64_t head, tail; /* head: the oldest in flight; tail: the next to submit */
	uint64_t next_run;   /* the oldest queued item no worker has begun */
	pthread_t *th;
	int nth;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	int stop;
};

static void *worker_main(void *arg)
{
	mp_pool *p = ((void **)arg)[0];
	int w = (int)(intptr_t)((void **)arg)[1];

	free(arg);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		slot *s;

		while (!p->stop && p->next_run == p->tail)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->stop)
			break;
		s = &p->ring[p->next_run++ % p->depth];
		s->state = S_RUNNING;
		pthread_mutex_unlock(&p->mu);
		p->fn(p->ctx, s->item, w);
		pthread_mutex_lock(&p->mu);
		s->state = S_DONE;
		pthread_cond_broadcast(&p->done_cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int mp_pool_create(mp_pool **out, int threads, size_t depth, mp_pool_fn fn, void *ctx, mp_err *err)
{
	mp_pool *p;

	*out = NULL;
	if (!(p = mp_calloc(1, sizeof(*p))) || !(p->ring = mp_calloc(depth ? depth : 1, sizeof(*p->ring))) ||
	    (threads > 0 && !(p->th = mp_calloc((size_t)threads, sizeof(*p->th))))) {
		if (p)
			free(p->ring);
		free(p);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	p->fn = fn;
	p->ctx = ctx;
	p->depth = depth ? depth : 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	for (; p->nth < threads; p->nth++) {
		void **arg = mp_malloc(2 * sizeof(void *));

		if (arg) {
			arg[0] = p;
			arg[1] = (void *)(intptr_t)p->nth;
		}
		if (!arg || pthread_create(&p->th[p->nth], NULL, worker_main, arg) != 0) {
			free(arg);
			mp_pool_free(p, NULL);
			return mp_error(err, MP_EIO, "cannot start a worker thread");
		}
	}
	*out = p;
	return 0;
}

void mp_pool_submit(mp_pool *p, void *item)
{
	slot *s;

	if (MP_NEVER(p->tail - p->head >= p->depth))
		return;
	s = &p->ring[p->tail % p->depth];
	s->item = item;
	if (!p->nth) {
		p->fn(p->ctx, item, 0);
		s->state = S_DONE;
		p->tail++;
		p->next_run = p->tail;
		return;
	}
	pthread_mutex_lock(&p->mu);
	s->state = S_QUEUED;
	p->tail++;
	pthread_cond_signal(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
}

size_t mp_pool_pending(const mp_pool *p)
{
	return (size_t)(p->tail - p->head);
}

int mp_pool_full(const mp_pool *p)
{
	return p->tail - p->head >= p->depth;
}

size_t mp_pool_ready(mp_pool *p)
{
	uint64_t k;
	size_t n = 0;

	pthread_mutex_lock(&p->mu);
	for (k = p->head; k < p->tail; k++)
		n += p->ring[k % p->depth].state == S_DONE;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void *mp_pool_take(mp_pool *p)
{
	slot *s;
	void *item;

	pthread_mutex_lock(&p->mu);
	if (p->head == p->tail || p->stop) {
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	s = &p->ring[p->head % p->depth];
	while (s->state != S_DONE && !p->stop)
		pthread_cond_wait(&p->done_cv, &p->mu);
	if (p->stop) {
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	item = s->item;
	s->item = NULL;
	p->head++;
	pthread_mutex_unlock(&p->mu);
	return item;
}

void mp_pool_stop(mp_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work_cv);
	pthread_cond_broadcast(&p->done_cv);
	pthread_mutex_unlock(&p->mu);
}

void mp_pool_free(mp_pool *p, void (*drop)(void *item))
{
	uint64_t k;
	int i;

	if (!p)
		return;
	mp_pool_stop(p);
	for (i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	for (k = p->head; drop && k < p->tail; k++)
		drop(p->ring[k % p->depth].item);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	free(p->th);
	free(p->ring);
	free(p);
}

int mp_pool_threads(const mp_pool *p)
{
	return p->nth;
}
