/* core/pool: the one thread pool.  Worker threads run one function over
 * the items handed to them, and the caller takes the items back in the
 * order it handed them on, whatever order they finished in (tf.data's
 * deterministic parallel map).  The input pipeline's map and prefetch,
 * the Examples writer and ExampleGen's CSV parsing all run on it.
 *
 * The caller owns the items: the pool only holds pointers to them between
 * mp_pool_submit and mp_pool_take.  One thread submits and takes;
 * mp_pool_stop may come from any thread.
 */
#ifndef MP_CORE_POOL_H
#define MP_CORE_POOL_H

#include <stddef.h>

#include "core/core.h"

typedef struct mp_pool mp_pool;

/* Runs on a worker (or, without workers, in mp_pool_submit); worker is the
 * worker's index (0 .. threads - 1, and 0 without workers), for scratch
 * state the caller keeps per worker. */
typedef void (*mp_pool_fn)(void *ctx, void *item, int worker);

/* threads workers (0: none, fn runs inside mp_pool_submit), at most depth
 * (at least 1) items in flight, that is submitted and not yet taken. */
int mp_pool_create(mp_pool **out, int threads, size_t depth, mp_pool_fn fn, void *ctx, mp_err *err);
/* Hands item on; the pool must not be full (take first). */
void mp_pool_submit(mp_pool *p, void *item);
/* Items in flight, whether depth of them are, and how many of them are
 * finished and waiting to be taken. */
size_t mp_pool_pending(const mp_pool *p);
int mp_pool_full(const mp_pool *p);
size_t mp_pool_ready(mp_pool *p);
/* The oldest item in flight, once fn has run on it (waiting for that); NULL
 * when none is in flight or the pool was stopped. */
void *mp_pool_take(mp_pool *p);
/* Makes every mp_pool_take return NULL from now on, also one waiting in
 * another thread; workers finish the item they run and start no other. */
void mp_pool_stop(mp_pool *p);
/* Stops, joins the workers and frees the pool; drop (may be NULL) gets
 * each item still in flight.  Accepts NULL. */
void mp_pool_free(mp_pool *p, void (*drop)(void *item));
int mp_pool_threads(const mp_pool *p);

#endif
