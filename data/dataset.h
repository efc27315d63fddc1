/* data/dataset: the input pipeline (tf.data's model). */
#ifndef MP_DATA_DATASET_H
#define MP_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include "core/core.h"
#include "data/examples.h"

/* ---- the input pipeline (tf.data's model) ------------------------------ */

/* A dataset reads a split as batches through a chain of operators:
 *
 *   shard reader -> parallel map (decompress and decode on map_threads
 *   threads, results kept in order) -> shuffle (a bounded buffer, seeded)
 *   -> batch -> prefetch (a background thread keeps up to `prefetch`
 *   batches ready) -> repeat for `epochs`; with `cache`, the first epoch's
 *   decoded examples are kept and later epochs shuffle them in memory
 *
 * Batches never span two epochs.  For a fixed seed the order is the same
 * whatever the thread counts.  Closing at any point stops every thread. */
typedef struct mp_dataset_opts {
	const char *dir;	       /* the Examples artifact */
	const mp_examples_meta *meta;
	const char *split;
	const int *x;		       /* feature indices of the inputs (float features) */
	size_t nx;
	int y;			       /* the label's feature index, or -1 */
	size_t batch_size;
	int drop_remainder;	       /* drop each epoch's last, smaller batch */
	size_t shuffle_buffer;	       /* examples; 0 or 1: no shuffling */
	uint64_t seed;
	int epochs;		       /* 1 or more */
	int map_threads;	       /* 0: decode in the pipeline's own thread */
	size_t prefetch;	       /* batches; 0: everything runs in the caller's thread */
	int cache;		       /* keep the decoded split in memory after the first epoch; later
					* epochs are a full shuffle of it (tf.data's cache()) */
	int first_epoch;	       /* the number of the first epoch, for its seed (resuming) */
	/* tf.data's map with a transform: when set, each example's inputs
	 * (nx of them, the transform's width) and label come from
	 * mp_transform_row on the raw features (tx_idx from
	 * mp_transform_bind); examples without a label are skipped.  x and y
	 * are then ignored. */
	const struct mp_transform *transform; /* data/transform.h */
	const int *tx_idx;
	/* A deterministic part of the split, by a hash of each example's
	 * values (so a duplicate falls on the same side): holdout_fraction of
	 * the examples.  holdout 1 reads only that part, -1 everything else,
	 * 0 the whole split.  The Trainer's validation part of train. */
	double holdout_fraction;
	int holdout;
	/* Data-parallel shards: with the cache, every shard sees the same
	 * permutation and a batch holds only its rows [B * shard / nshards,
	 * B * (shard + 1) / nshards) of the global batch of B (so only those
	 * are gathered and transformed).  Without the cache, whole batches.
	 * 0 or 1: no shards. */
	int shard, nshards;
	/* With shards and the cache, the split can be decoded once across the
	 * shards: each decodes every nshards-th block, and share (an
	 * allgather, called on the thread that fills the cache) gives every
	 * shard all of them: n bytes from this shard into all, which gets
	 * counts[k] bytes from shard k, in shard order.  NULL: every shard
	 * decodes the whole split. */
	void (*share)(void *ctx, const void *mine, size_t n, void *all, const size_t *counts);
	void *share_ctx;
} mp_dataset_opts;

typedef struct mp_batch {
	size_t rows;
	size_t global_rows; /* the global batch's rows: rows, unless this is a shard of it */
	int sharded;	    /* its rows are this shard's of the global batch */
	size_t nx;
	float *x; /* rows x nx, row-major */
	float *y; /* rows, or NULL without a label */
	int epoch; /* 0-based; an epoch ends where the next batch's epoch differs */
} mp_batch;

typedef struct mp_dataset mp_dataset;

int mp_dataset_open(mp_dataset **out, const mp_dataset_opts *o, mp_err *err);
/* The next batch: 1 with *b (valid until the next call), 0 after the last
 * epoch, or a negative MP_E* (a damaged shard, say). */
int mp_dataset_next(mp_dataset *d, const mp_batch **b, mp_err *err);
/* Batches made ahead and waiting for the caller (0 without prefetch). */
size_t mp_dataset_ready(mp_dataset *d);
/* Seconds the caller spent waiting inside mp_dataset_next. */
double mp_dataset_wait_seconds(const mp_dataset *d);
/* Stops every thread (also mid-epoch) and frees everything. */
void mp_dataset_close(mp_dataset *d);

#endif
