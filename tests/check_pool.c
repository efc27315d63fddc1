/* core/pool: the one thread pool.  Items come back in the order they were
 * handed on whatever order the workers finish them, the pool never holds
 * more than its depth, and stopping wakes a waiting taker. */
#include "testutil.h"

#include <pthread.h>
#include <time.h>

#include "core/pool.h"

typedef struct item {
	int n;
	int square;
	int worker;
} item;

static void square(void *ctx, void *p, int worker)
{
	item *it = p;

	(void)ctx;
	/* the early items take longest, so later ones finish first */
	if (it->n < 4)
		nanosleep(&(struct timespec){0, (4 - it->n) * 2000000L}, NULL);
	it->square = it->n * it->n;
	it->worker = worker;
}

static void in_order(int threads, size_t depth)
{
	item items[64];
	mp_pool *p;
	mp_err err;
	int next = 0, taken = 0;

	ck_assert_int_eq(mp_pool_create(&p, threads, depth, square, NULL, &err), 0);
	ck_assert_int_eq(mp_pool_threads(p), threads);
	while (taken < 64) {
		item *it;

		if (next < 64 && !mp_pool_full(p)) {
			items[next].n = next;
			mp_pool_submit(p, &items[next++]);
			ck_assert_uint_le(mp_pool_pending(p), depth);
			continue;
		}
		it = mp_pool_take(p);
		ck_assert_ptr_eq(it, &items[taken]);
		ck_assert_int_eq(it->square, taken * taken);
		ck_assert_int_lt(it->worker, threads > 0 ? threads : 1);
		taken++;
	}
	ck_assert_ptr_null(mp_pool_take(p)); /* nothing in flight */
	mp_pool_free(p, NULL);
}

START_TEST(results_come_back_in_submission_order)
{
	in_order(0, 1);
	in_order(1, 3);
	in_order(3, 6);
	in_order(4, 1);
}
END_TEST

static void count_drop(void *p)
{
	((item *)p)->square = -1;
}

/* Freed with items in flight: each is handed to drop, none is lost. */
START_TEST(free_hands_back_what_is_in_flight)
{
	item items[4] = {{0, 0, 0}, {1, 0, 0}, {2, 0, 0}, {3, 0, 0}};
	mp_pool *p;
	mp_err err;
	int i;

	ck_assert_int_eq(mp_pool_create(&p, 2, 4, square, NULL, &err), 0);
	for (i = 0; i < 4; i++)
		mp_pool_submit(p, &items[i]);
	ck_assert_ptr_eq(mp_pool_take(p), &items[0]);
	mp_pool_free(p, count_drop);
	for (i = 1; i < 4; i++)
		ck_assert_int_eq(items[i].square, -1);
	mp_pool_free(NULL, NULL);
}
END_TEST

static void slow(void *ctx, void *p, int worker)
{
	(void)ctx;
	(void)p;
	(void)worker;
	nanosleep(&(struct timespec){0, 200000000L}, NULL);
}

static void *stopper(void *arg)
{
	nanosleep(&(struct timespec){0, 20000000L}, NULL);
	mp_pool_stop(arg);
	return NULL;
}

/* A taker waiting on a slow item returns NULL once another thread stops
 * the pool. */
START_TEST(stop_wakes_a_waiting_taker)
{
	item it = {0, 0, 0};
	pthread_t th;
	mp_pool *p;
	mp_err err;

	ck_assert_int_eq(mp_pool_create(&p, 1, 2, slow, NULL, &err), 0);
	mp_pool_submit(p, &it);
	ck_assert_int_eq(pthread_create(&th, NULL, stopper, p), 0);
	ck_assert_ptr_null(mp_pool_take(p));
	pthread_join(th, NULL);
	mp_pool_free(p, NULL);
}
END_TEST

/* Creating a pool under failed allocations fails with MP_ENOMEM and leaks
 * nothing (ASan checks the last part). */
START_TEST(create_survives_failed_allocations)
{
	mp_pool *p;
	mp_err err;
	long i;
	int rc;

	for (i = 0; i < 20; i++) {
		mp_alloc_fail_after(i);
		rc = mp_pool_create(&p, 2, 4, square, NULL, &err);
		mp_alloc_fail_after(-1);
		if (rc == 0)
			break;
		ck_assert(rc == MP_ENOMEM || rc == MP_EIO);
		ck_assert_ptr_null(p);
	}
	ck_assert_int_eq(rc, 0);
	mp_pool_free(p, NULL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("pool");

	tcase_add_test(tc, results_come_back_in_submission_order);
	tcase_add_test(tc, free_hands_back_what_is_in_flight);
	tcase_add_test(tc, stop_wakes_a_waiting_taker);
	tcase_add_test(tc, create_survives_failed_allocations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
