/* data/dataset and data/transform: the input pipeline (order, shuffles,
 * prefetch, damage) and the transform's text form. */
#include "testutil.h"

#include <math.h>
#include <time.h>
#include <zlib.h>

#include "core/bytes.h"
#include "core/tsv.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "data/examples.h"
#include "data/idx.h"
#include "data/records.h"
#include "data/span.h"
#include "data/transform.h"

#include "data_fixtures.h"

static const mp_feature ds_feats[] = {
	{"id", MP_FEAT_FLOAT},
	{"name", MP_FEAT_STRING},
	{"twice", MP_FEAT_FLOAT},
	{"y", MP_FEAT_FLOAT},
};

/* An Examples artifact at <dir>/ds with n rows (id i, twice 2i, y i%3) in
 * blocks of 7 rows. */
static void write_dataset(int n, mp_examples_meta *m, char **path)
{
	const char *splits[] = {"train"};
	mp_examples_writer *w;
	mp_err err;
	int i;

	*path = tu_at("ds");
	ck_assert_int_eq(mp_examples_writer_open(&w, *path, ds_feats, 4, splits, 1, 7, 1, &err), 0);
	for (i = 0; i < n; i++) {
		mp_block *b = mp_examples_writer_block(w, 0);

		mp_block_set_float(b, 0, (float)i);
		ck_assert_int_eq(mp_block_set_string(b, 1, "s", 1, &err), 0);
		mp_block_set_float(b, 2, 2.0f * (float)i);
		mp_block_set_float(b, 3, (float)(i % 3));
		ck_assert_int_eq(mp_examples_writer_row(w, 0, &err), 0);
	}
	ck_assert_int_eq(mp_examples_writer_close(w, "y", -1, -1, 0, &err), 0);
	ck_assert_int_eq(mp_examples_meta_read(m, *path, &err), 0);
}

/* Reads every batch; ids[] gets the ids in order; returns how many. */
static int read_all(const mp_examples_meta *m, const char *path, size_t batch, size_t shuffle, int epochs,
		    int map_threads, size_t prefetch, int drop, float *ids, int *epoch_of, int *nbatches)
{
	static const int x[] = {0, 2};
	mp_dataset_opts o = {path, m, "train", x, 2, 3, batch, drop, shuffle, 42, epochs, map_threads, prefetch, 0, 0, NULL, NULL, 0, 0, 0, 0, NULL, NULL};
	mp_dataset *d;
	const mp_batch *b;
	mp_err err;
	int n = 0, rc;
	size_t r;

	ck_assert_int_eq(mp_dataset_open(&d, &o, &err), 0);
	*nbatches = 0;
	while ((rc = mp_dataset_next(d, &b, &err)) == 1) {
		ck_assert_uint_le(b->rows, batch);
		ck_assert_uint_eq(b->nx, 2);
		for (r = 0; r < b->rows; r++) {
			ck_assert(b->x[r * 2 + 1] == 2 * b->x[r * 2]);
			ck_assert(b->y[r] == (float)((int)b->x[r * 2] % 3));
			epoch_of[n] = b->epoch;
			ids[n++] = b->x[r * 2];
		}
		(*nbatches)++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert(mp_dataset_wait_seconds(d) >= 0);
	mp_dataset_close(d);
	return n;
}

START_TEST(dataset_keeps_order_without_shuffle)
{
	mp_examples_meta m;
	char *path;
	float ids[400];
	int ep[400], nb, n, i, cfg;
	static const int threads[] = {0, 1, 3, 0};
	static const size_t prefetch[] = {0, 2, 4, 3};

	write_dataset(100, &m, &path);
	for (cfg = 0; cfg < 4; cfg++) {
		n = read_all(&m, path, 16, 0, 2, threads[cfg], prefetch[cfg], 0, ids, ep, &nb);
		ck_assert_int_eq(n, 200);
		ck_assert_int_eq(nb, 2 * 7); /* 6 full batches and one of 4, per epoch */
		for (i = 0; i < n; i++) {
			ck_assert(ids[i] == (float)(i % 100));
			ck_assert_int_eq(ep[i], i / 100);
		}
	}
	/* drop_remainder drops each epoch's short batch */
	n = read_all(&m, path, 16, 0, 2, 2, 2, 1, ids, ep, &nb);
	ck_assert_int_eq(n, 192);
	ck_assert_int_eq(nb, 12);
	mp_examples_meta_release(&m);
	free(path);
}
END_TEST

START_TEST(dataset_shuffles_each_epoch_deterministically)
{
	mp_examples_meta m;
	char *path;
	float a[300], b[300];
	int ep[300], nb, n, i, e, moved = 0, differ = 0;

	write_dataset(100, &m, &path);
	n = read_all(&m, path, 10, 32, 3, 0, 0, 0, a, ep, &nb);
	ck_assert_int_eq(n, 300);
	for (e = 0; e < 3; e++) {
		int seen[100] = {0};

		for (i = 0; i < 100; i++) {
			ck_assert_int_eq(ep[e * 100 + i], e);
			seen[(int)a[e * 100 + i]]++;
			moved += a[e * 100 + i] != (float)i;
		}
		for (i = 0; i < 100; i++)
			ck_assert_msg(seen[i] == 1, "epoch %d: id %d seen %d times", e, i, seen[i]);
	}
	ck_assert_int_gt(moved, 150);
	for (i = 0; i < 100; i++)
		differ += a[i] != a[100 + i];
	ck_assert_int_gt(differ, 50); /* each epoch has its own order */
	/* the same seed gives the same order whatever the threads */
	n = read_all(&m, path, 10, 32, 3, 3, 4, 0, b, ep, &nb);
	ck_assert_int_eq(n, 300);
	ck_assert(memcmp(a, b, sizeof(float) * 300) == 0);
	mp_examples_meta_release(&m);
	free(path);
}
END_TEST

START_TEST(dataset_prefetches_ahead_and_stops_midway)
{
	static const int x[] = {0};
	mp_examples_meta m;
	mp_dataset_opts o = {NULL, NULL, "train", x, 1, -1, 5, 0, 0, 1, 1000, 2, 3, 0, 0, NULL, NULL, 0, 0, 0, 0, NULL, NULL};
	mp_dataset *d;
	const mp_batch *b;
	mp_err err;
	char *path;
	int i;

	write_dataset(100, &m, &path);
	o.dir = path;
	o.meta = &m;
	ck_assert_int_eq(mp_dataset_open(&d, &o, &err), 0);
	ck_assert_int_eq(mp_dataset_next(d, &b, &err), 1);
	ck_assert_ptr_null(b->y);
	/* while the caller holds its batch, the background thread fills the queue */
	for (i = 0; i < 500 && mp_dataset_ready(d) < 3; i++)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	ck_assert_uint_eq(mp_dataset_ready(d), 3);
	ck_assert_int_eq(mp_dataset_next(d, &b, &err), 1);
	ck_assert(b->x[0] == 5.0f);
	/* 1000 epochs asked for; closing now stops every thread */
	mp_dataset_close(d);

	/* the same without prefetch and map threads */
	o.prefetch = 0;
	o.map_threads = 0;
	ck_assert_int_eq(mp_dataset_open(&d, &o, &err), 0);
	ck_assert_int_eq(mp_dataset_next(d, &b, &err), 1);
	ck_assert_uint_eq(mp_dataset_ready(d), 0);
	mp_dataset_close(d);
	mp_examples_meta_release(&m);
	free(path);
}
END_TEST

START_TEST(dataset_reports_a_damaged_shard)
{
	static const int x[] = {0};
	mp_examples_meta m;
	mp_dataset_opts o = {NULL, NULL, "train", x, 1, 3, 8, 0, 16, 1, 1, 2, 2, 0, 0, NULL, NULL, 0, 0, 0, 0, NULL, NULL};
	mp_dataset *d;
	const mp_batch *b;
	mp_err err;
	char *path, *shard;
	FILE *f;
	int rc, batches = 0;

	write_dataset(200, &m, &path);
	shard = tu_at("ds/train/shard-00000.rec");
	f = fopen(shard, "r+b");
	ck_assert_ptr_nonnull(f);
	fseek(f, 600, SEEK_SET);
	fputc(0xee, f);
	fputc(0xee, f);
	fclose(f);
	o.dir = path;
	o.meta = &m;
	ck_assert_int_eq(mp_dataset_open(&d, &o, &err), 0);
	while ((rc = mp_dataset_next(d, &b, &err)) == 1)
		batches++;
	ck_assert_int_eq(rc, MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "shard-00000.rec"));
	ck_assert_ptr_nonnull(strstr(err.msg, "at byte"));
	mp_dataset_close(d);
	/* and bad options */
	o.x = (const int[]){1};
	ck_assert_int_eq(mp_dataset_open(&d, &o, &err), MP_EINVAL); /* a string feature */
	o.x = x;
	o.split = "eval";
	ck_assert_int_eq(mp_dataset_open(&d, &o, &err), MP_ENOTFOUND);
	mp_examples_meta_release(&m);
	free(shard);
	free(path);
}
END_TEST

/* A model's transform text is a file from elsewhere: a second label line
 * once kept the first one's class count over the second's vocabulary. */
START_TEST(transform_text_refuses_damage)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"mlpipe-transform 1\nlabel\ty\ta\tb\tc\nlabel\ty\ta\n", "t:3: a second 'label' line"},
		{"mlpipe-transform 1\nlabel_names\ta\nlabel_names\tb\n", "t:3: a second 'label_names' line"},
		{"mlpipe-transform 1\nfeature\tx\tzscore\tone\t2\n", "'one' and '2' are not two numbers"},
		{"mlpipe-transform 1\nfeature\tx\tbucketize\t0\t1\t99999\n", "a bucketize needs 2 to 1000 buckets"},
		{"mlpipe-transform 1\nlabel_zscore\t1\t0\n", "without a mean and a positive std"},
		{"mlpipe-transform 2\n", "not a transform of version 1"},
	};
	mp_transform t;
	mp_err err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(mp_transform_from_text(&t, cases[i].text, "t", &err), MP_ECORRUPT);
		ck_assert_msg(strstr(err.msg, cases[i].want), "case %zu: got '%s'", i, err.msg);
	}
	ck_assert_int_eq(mp_transform_from_text(&t, "mlpipe-transform 1\nlabel\ty\ta\tb\n", "t", &err), 0);
	ck_assert_uint_eq(t.nlabel_vocab, 2);
	mp_transform_release(&t);
}
END_TEST

/* A transform read back from its text under failed allocations. */
START_TEST(transform_text_survives_failed_allocations)
{
	static const char text[] = "mlpipe-transform 1\nlabel\ty\tb\ta\n"
				   "feature\tx\tzscore\t1\t2\nfeature\tc\tonehot\t0\t0\tred\tgreen\n";
	mp_transform t;
	mp_err err;
	int rc;

	TU_EACH_FAILED_ALLOC(200, rc, rc = mp_transform_from_text(&t, text, "transform.tsv", &err), (void)0);
	ck_assert_uint_eq(mp_transform_width(&t), 3);
	mp_transform_release(&t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("dataset");
	TCase *tc;

	tc = tcase_create("dataset");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, dataset_keeps_order_without_shuffle);
	tcase_add_test(tc, dataset_shuffles_each_epoch_deterministically);
	tcase_add_test(tc, dataset_prefetches_ahead_and_stops_midway);
	tcase_add_test(tc, dataset_reports_a_damaged_shard);
	suite_add_tcase(s, tc);
	tc = tcase_create("transform");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, transform_text_refuses_damage);
	tcase_add_test(tc, transform_text_survives_failed_allocations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
