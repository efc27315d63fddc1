/* serve/batch: server-side batching.  Concurrent small requests for one
 * version are merged into one block and one GEMM: the first request of a
 * batch leads it, waits up to timeout_us for others to join (or for the
 * batch to fill its max_rows), runs the prediction, and every request
 * then reads its own rows' outputs.  Up to `threads` batches predict at
 * once (TF Serving's num_batch_threads): a request joins the first open
 * batch with room, and waits for one when every batch is running. */
#ifndef MP_SERVE_BATCH_H
#define MP_SERVE_BATCH_H

#include <pthread.h>

#include "core/core.h"
#include "export/export.h"

typedef struct mp_batcher mp_batcher;

/* Batches for s (borrowed; each batch predicts on its own view of it);
 * on_batch (may be NULL) hears each batch's rows. */
typedef void (*mp_batch_seen)(void *ud, size_t rows);
int mp_batcher_new(mp_batcher **out, const mp_served *s, int threads, size_t max_rows, long timeout_us,
		   mp_batch_seen on_batch, void *ud, mp_err *err);
void mp_batcher_free(mp_batcher *b);
size_t mp_batcher_max_rows(const mp_batcher *b);

/* fill writes row r (0..n) of a request into the block's current row;
 * emit gets row r's outputs (nout floats) once predicted. */
typedef int (*mp_batch_fill)(void *ud, mp_block *blk, size_t r, char *msg, size_t msgsz);
typedef void (*mp_batch_emit)(void *ud, const float *out, size_t r);

/* Runs n rows (at most max_rows) of one request in a batch: 0, or -1 with
 * fill's message when a row could not be read (nothing of it is kept). */
int mp_batcher_run(mp_batcher *b, size_t n, mp_batch_fill fill, mp_batch_emit emit, void *ud, char *msg,
		   size_t msgsz);

#endif
