/* Data-parallel communication on MPI: see dist.h. */
#include "nn/dist.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifdef MP_HAVE_MPI
#include <mpi.h>
#endif

/* Under AddressSanitizer, what OpenMPI allocates for its own life (in
 * MPI_Init, its plugins, MPI_Finalize) is not ours to free: LeakSanitizer
 * does not count it.  Everything mlpipe allocates stays counted. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define MPI_OWN_BEGIN() __lsan_disable()
#define MPI_OWN_END() __lsan_enable()
#else
#define MPI_OWN_BEGIN() ((void)0)
#define MPI_OWN_END() ((void)0)
#endif

/* The world size the launcher announced (0: no launcher). */
static int env_int(const char *const *names)
{
	for (; *names; names++) {
		const char *v = getenv(*names);

		if (v && *v)
			return atoi(v);
	}
	return 0;
}

static const char *const size_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", NULL};
static const char *const local_vars[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", NULL};
static const char *const rank_vars[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", NULL};

int mp_dist_env_rank(void)
{
	return env_int(size_vars) > 1 ? env_int(rank_vars) : 0;
}

int mp_dist_available(void)
{
#ifdef MP_HAVE_MPI
	return 1;
#else
	return 0;
#endif
}

int mp_dist_init(mp_dist *d, mp_err *err)
{
	int size = env_int(size_vars);

	d->rank = 0;
	d->size = d->local_size = 1;
	d->joined = 0;
	if (size <= 1)
		return 0;
#ifdef MP_HAVE_MPI
	{
		int got, rc;

		MPI_OWN_BEGIN();
		rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &got);
		MPI_OWN_END();
		if (rc != MPI_SUCCESS)
			return mp_error(err, MP_EIO, "MPI_Init_thread failed");
		if (got < MPI_THREAD_SERIALIZED)
			return mp_error(err, MP_EIO, "this MPI cannot be called from more than one thread");
	}
	d->joined = 1;
	MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
	MPI_Comm_size(MPI_COMM_WORLD, &d->size);
	d->local_size = env_int(local_vars);
	if (d->local_size < 1 || d->local_size > d->size)
		d->local_size = d->size;
	return 0;
#else
	return mp_error(err, MP_EINVAL, "started as one of %d ranks, but this mlpipe was built without MPI "
			"(install libopenmpi-dev and rebuild)", size);
#endif
}

void mp_dist_finish(mp_dist *d)
{
#ifdef MP_HAVE_MPI
	if (d->joined) {
		MPI_OWN_BEGIN();
		MPI_Finalize();
		MPI_OWN_END();
	}
#endif
	d->joined = 0;
}

#ifdef MP_HAVE_MPI
/* MPI counts are ints: large buffers go in pieces. */
static void each_piece(void *v, size_t n, size_t elem, void (*f)(void *, int))
{
	char *p = v;

	while (n) {
		int k = n > (size_t)INT_MAX ? INT_MAX : (int)n;

		f(p, k);
		p += (size_t)k * elem;
		n -= (size_t)k;
	}
}

static void sum_f32(void *p, int k)
{
	MPI_OWN_BEGIN();
	MPI_Allreduce(MPI_IN_PLACE, p, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
	MPI_OWN_END();
}

static void sum_f64(void *p, int k)
{
	MPI_OWN_BEGIN();
	MPI_Allreduce(MPI_IN_PLACE, p, k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
	MPI_OWN_END();
}

static void bcast_f32(void *p, int k)
{
	MPI_OWN_BEGIN();
	MPI_Bcast(p, k, MPI_FLOAT, 0, MPI_COMM_WORLD);
	MPI_OWN_END();
}
#endif

void mp_dist_sum(const mp_dist *d, float *v, size_t n)
{
#ifdef MP_HAVE_MPI
	if (d->joined)
		each_piece(v, n, sizeof(float), sum_f32);
#else
	(void)d, (void)v, (void)n;
#endif
}

void mp_dist_sum_f64(const mp_dist *d, double *v, size_t n)
{
#ifdef MP_HAVE_MPI
	if (d->joined)
		each_piece(v, n, sizeof(double), sum_f64);
#else
	(void)d, (void)v, (void)n;
#endif
}

void mp_dist_bcast(const mp_dist *d, float *v, size_t n)
{
#ifdef MP_HAVE_MPI
	if (d->joined)
		each_piece(v, n, sizeof(float), bcast_f32);
#else
	(void)d, (void)v, (void)n;
#endif
}

void mp_dist_allgather(const mp_dist *d, const void *mine, size_t n, void *all, const size_t *counts)
{
#ifdef MP_HAVE_MPI
	int *c, *at, k;

	if (!d->joined) {
		if (n)
			memcpy(all, mine, n);
		return;
	}
	c = mp_calloc((size_t)d->size, sizeof(int));
	at = mp_calloc((size_t)d->size, sizeof(int));
	if (!c || !at)
		MPI_Abort(MPI_COMM_WORLD, 1); /* out of memory halfway through a collective */
	for (k = 0; k < d->size; k++) {
		c[k] = (int)counts[k];
		at[k] = k ? at[k - 1] + c[k - 1] : 0;
	}
	MPI_OWN_BEGIN();
	MPI_Allgatherv(mine, (int)n, MPI_BYTE, all, c, at, MPI_BYTE, MPI_COMM_WORLD);
	MPI_OWN_END();
	free(c);
	free(at);
#else
	(void)d;
	if (n)
		memcpy(all, mine, n);
	(void)counts;
#endif
}
