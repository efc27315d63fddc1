/* nn/dist: the communication of data-parallel training, on MPI, in
 * Horovod's model: every rank holds the whole network, takes its share of
 * each global batch, and the gradients are summed over the ranks (one
 * allreduce of the flat gradient buffer per step) before the same
 * optimizer step on every rank.
 *
 * A process that mpirun (or srun) started with more than one rank joins
 * that world; any other process is a world of one, and then nothing here
 * calls MPI, so a training of one rank is exactly the training without
 * MPI.  A build without MPI (no ompi-c at build time) is always a world of
 * one and refuses to be one rank of several.
 */
#ifndef MP_NN_DIST_H
#define MP_NN_DIST_H

#include <stddef.h>

#include "core/core.h"

typedef struct mp_dist {
	int rank, size;
	int local_size; /* ranks on this machine */
	int joined;	/* MPI_Init was called */
} mp_dist;

/* 1 when this build can run ranks (it was built with MPI). */
int mp_dist_available(void);

/* This process's rank as its launcher announced it, before joining (0
 * when no launcher started several): what decides, outside training,
 * that only rank 0 writes the outputs. */
int mp_dist_env_rank(void);

/* Joins the world that started this process (a world of one when none
 * did).  One thread at a time may call MPI (MPI_THREAD_SERIALIZED): the
 * training's, and the input pipeline's while it fills its cache (the
 * training waits for it then). */
int mp_dist_init(mp_dist *d, mp_err *err);
/* Leaves it, after a success on every rank.  A rank that failed only exits
 * non-zero: mpirun then stops the others. */
void mp_dist_finish(mp_dist *d);

/* Sums n values over the ranks, in place on every rank. */
void mp_dist_sum(const mp_dist *d, float *v, size_t n);
void mp_dist_sum_f64(const mp_dist *d, double *v, size_t n);
/* Rank 0's n values, on every rank. */
void mp_dist_bcast(const mp_dist *d, float *v, size_t n);
/* Every rank's bytes, in rank order: n from this rank into all, which
 * gets counts[k] from rank k (each under 2 GiB, MPI's int counts). */
void mp_dist_allgather(const mp_dist *d, const void *mine, size_t n, void *all, const size_t *counts);

#endif
