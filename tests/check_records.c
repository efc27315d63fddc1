/* data/records and data/examples: CRC32C, record files, blocks, Examples
 * artifacts and their examples.meta, on good and damaged input. */
#include "testutil.h"

#include <math.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>

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

static const mp_feature feats3[] = {
	{"x", MP_FEAT_FLOAT},
	{"name", MP_FEAT_STRING},
	{"px", MP_FEAT_FLOAT},
};

START_TEST(crc32c_matches_published_vectors)
{
	uint8_t zeros[32] = {0}, ones[32], inc[32];
	int i;

	/* RFC 3720 (iSCSI), appendix B.4, and the classic check value */
	for (i = 0; i < 32; i++) {
		ones[i] = 0xff;
		inc[i] = (uint8_t)i;
	}
	ck_assert_uint_eq(mp_crc32c(0, "123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(mp_crc32c(0, zeros, 32), 0x8a9136aau);
	ck_assert_uint_eq(mp_crc32c(0, ones, 32), 0x62a8ab43u);
	ck_assert_uint_eq(mp_crc32c(0, inc, 32), 0x46dd794eu);
	/* incremental equals one go, at any alignment */
	ck_assert_uint_eq(mp_crc32c(mp_crc32c(0, inc, 5), inc + 5, 27), 0x46dd794eu);
	ck_assert_uint_eq(mp_crc32c_mask(0), 0xa282ead8u);
}
END_TEST

START_TEST(records_round_trip_and_detect_damage)
{
	char *path = tu_at("r.rec");
	mp_rec_writer w;
	mp_rec_reader r;
	const uint8_t *data;
	size_t n;
	mp_err err;
	FILE *f;

	ck_assert_int_eq(mp_rec_writer_open(&w, path, &err), 0);
	ck_assert_int_eq(mp_rec_write(&w, "hello", 5, &err), 0);
	ck_assert_int_eq(mp_rec_write(&w, "", 0, &err), 0);
	ck_assert_int_eq(mp_rec_write(&w, "world!", 6, &err), 0);
	ck_assert_int_eq(mp_rec_writer_close(&w, &err), 0);

	ck_assert_int_eq(mp_rec_reader_open(&r, path, &err), 0);
	ck_assert_int_eq(mp_rec_read(&r, &data, &n, &err), 1);
	ck_assert_uint_eq(n, 5);
	ck_assert(memcmp(data, "hello", 5) == 0);
	ck_assert_int_eq(mp_rec_read(&r, &data, &n, &err), 1);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(mp_rec_read(&r, &data, &n, &err), 1);
	ck_assert(memcmp(data, "world!", 6) == 0);
	ck_assert_int_eq(mp_rec_read(&r, &data, &n, &err), 0);
	mp_rec_reader_close(&r);

	/* a flipped byte in the third record's data: its offset is named */
	f = fopen(path, "r+b");
	ck_assert_ptr_nonnull(f);
	fseek(f, 21 + 16 + 12 + 2, SEEK_SET);
	fputc('X', f);
	fclose(f);
	ck_assert_int_eq(mp_rec_reader_open(&r, path, &err), 0);
	ck_assert_int_eq(mp_rec_read(&r, &data, &n, &err), 1);
	ck_assert_int_eq(mp_rec_read(&r, &data, &n, &err), 1);
	ck_assert_int_eq(mp_rec_read(&r, &data, &n, &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "bad data checksum in the record at byte 37"));
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	mp_rec_reader_close(&r);

	/* a damaged length */
	f = fopen(path, "r+b");
	fseek(f, 1, SEEK_SET);
	fputc(0x7f, f);
	fclose(f);
	ck_assert_int_eq(mp_rec_reader_open(&r, path, &err), 0);
	ck_assert_int_eq(mp_rec_read(&r, &data, &n, &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "bad length checksum at byte 0"));
	mp_rec_reader_close(&r);

	/* truncated */
	ck_assert_int_eq(truncate(path, 30), 0);
	ck_assert_int_eq(mp_rec_reader_open(&r, path, &err), 0);
	ck_assert_int_eq(mp_rec_read(&r, &data, &n, &err), MP_ECORRUPT);
	mp_rec_reader_close(&r);
	free(path);
}
END_TEST

/* An empty string in a column that holds no bytes yet is "", not a null
 * pointer plus zero (UBSan; the serving fuzzer found it through a
 * one-hot feature sent as ""). */
START_TEST(empty_strings_have_a_pointer)
{
	static const mp_feature f[] = {{"s", MP_FEAT_STRING}};
	mp_block b;
	mp_err err;
	size_t n = 9;
	const char *s;

	ck_assert_int_eq(mp_block_init(&b, f, 1, 2, &err), 0);
	ck_assert_int_eq(mp_block_set_string(&b, 0, "", 0, &err), 0);
	mp_block_end_row(&b);
	s = mp_block_str(&b, 0, 0, &n);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(b.miss[0][0], 0);
	mp_block_release(&b);
}
END_TEST

/* Shards written before zstd hold zlib streams; they still read. */
START_TEST(blocks_compressed_with_zlib_still_read)
{
	static const mp_feature f[] = {{"x", MP_FEAT_FLOAT}, {"s", MP_FEAT_STRING}};
	uint8_t *enc = NULL, *raw, *old;
	size_t cap = 0, len, n;
	uLongf zlen;
	mp_block b, d;
	mp_err err;
	int r;

	ck_assert_int_eq(mp_block_init(&b, f, 2, 50, &err), 0);
	for (r = 0; r < 50; r++) {
		mp_block_set_float(&b, 0, r * 0.25f);
		ck_assert_int_eq(mp_block_set_string(&b, 1, r % 2 ? "odd" : "even", r % 2 ? 3 : 4, &err), 0);
		mp_block_end_row(&b);
	}
	ck_assert_int_eq(mp_block_encode(&b, 1, &enc, &cap, &len, &err), 0);
	ck_assert_uint_eq(mp_get_u32(enc + 4), ZSTD_MAGICNUMBER);
	/* the same raw bytes as a zlib stream, as older shards have them */
	n = mp_get_u32(enc);
	raw = malloc(n);
	ck_assert_uint_eq(ZSTD_decompress(raw, n, enc + 4, len - 4), n);
	zlen = compressBound((uLong)n);
	old = malloc(zlen + 4);
	ck_assert_int_eq(compress(old + 4, &zlen, raw, (uLong)n), Z_OK);
	mp_put_u32(old, (uint32_t)n);
	ck_assert_int_eq(mp_block_init(&d, f, 2, 1, &err), 0);
	ck_assert_int_eq(mp_block_decode(&d, old, zlen + 4, "old", &err), 0);
	ck_assert_uint_eq(d.rows, 50);
	ck_assert(d.num[0][49] == 49 * 0.25f);
	ck_assert(memcmp(d.str[1] + d.off[1][48], "even", 4) == 0);
	/* a frame that declares another size than the record is refused */
	mp_put_u32(enc, (uint32_t)n + 1);
	ck_assert_int_ne(mp_block_decode(&d, enc, len, "new", &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "new: the block's frame holds"));
	free(raw);
	free(old);
	free(enc);
	mp_block_release(&b);
	mp_block_release(&d);
}
END_TEST

START_TEST(blocks_round_trip)
{
	mp_block b, d;
	uint8_t *enc = NULL;
	size_t cap = 0, len;
	mp_err err;
	int r;

	ck_assert_int_eq(mp_block_init(&b, feats3, 3, 4, &err), 0);
	for (r = 0; r < 4; r++) {
		mp_block_set_float(&b, 0, r == 2 ? NAN : 0.5f * (float)r - 1.0f);
		if (r == 1)
			ck_assert_int_eq(mp_block_set_string(&b, 1, NULL, 0, &err), 0);
		else if (r == 3)
			ck_assert_int_eq(mp_block_set_string(&b, 1, "", 0, &err), 0);
		else
			ck_assert_int_eq(mp_block_set_string(&b, 1, r ? "b\"c" : "a", r ? 3 : 1, &err), 0);
		mp_block_set_float(&b, 2, (float)(r * 80)); /* whole numbers 0..255: stored as bytes */
		mp_block_end_row(&b);
	}
	ck_assert(mp_block_full(&b));
	ck_assert_int_eq(mp_block_encode(&b, 1, &enc, &cap, &len, &err), 0);
	ck_assert_int_eq(mp_block_init(&d, feats3, 3, 1, &err), 0);
	ck_assert_int_eq(mp_block_decode(&d, enc, len, "test", &err), 0);
	ck_assert_uint_eq(d.rows, 4);
	ck_assert(d.num[0][0] == -1.0f && d.num[0][1] == -0.5f && isnan(d.num[0][2]) && d.num[0][3] == 0.5f);
	ck_assert(d.num[2][3] == 240.0f);
	ck_assert_int_eq(d.miss[1][1], 1);
	ck_assert_int_eq(d.miss[1][3], 0);
	ck_assert_uint_eq(d.off[1][4] - d.off[1][3], 0); /* empty, not missing */
	ck_assert(memcmp(d.str[1] + d.off[1][2], "b\"c", 3) == 0);
	/* a damaged block is refused, not misread */
	enc[len / 2] ^= 0x55;
	ck_assert_int_ne(mp_block_decode(&d, enc, len, "test", &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "test: "));
	free(enc);
	mp_block_release(&b);
	mp_block_release(&d);
}
END_TEST

/* Blocks from elsewhere claim sizes; the claims are checked against the
 * record before anything is allocated.  A 17-byte record once asked for
 * 0xfffffef8 rows (34 GB).  And empty strings, a whole column of them or
 * of missing ones, are encoded without touching a buffer that is not there
 * (UBSan: a null pointer passed to memcpy). */
START_TEST(blocks_refuse_sizes_their_records_cannot_hold)
{
	uint8_t rec[17] = {0}, raw[16], packed[64];
	uLongf plen = sizeof(packed);
	mp_block b, d;
	uint8_t *enc = NULL;
	size_t cap = 0, len;
	mp_err err;
	int r;

	ck_assert_int_eq(mp_block_init(&d, feats3, 3, 1, &err), 0);
	mp_put_u32(rec, 0xfffffef8u);
	ck_assert_int_eq(mp_block_decode(&d, rec, sizeof(rec), "r1", &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "r1: bad block size"));
	/* a real zlib stream whose header claims 0xfffffef8 rows */
	mp_put_u32(raw, 0x3142504du); /* "MPB1" */
	memset(raw + 4, 0, 12);
	mp_put_u32(raw + 4, 0xfffffef8u);
	mp_put_u32(raw + 8, 3);
	ck_assert_int_eq(compress(packed + 4, &plen, raw, 12), Z_OK);
	mp_put_u32(packed, 12);
	ck_assert_int_eq(mp_block_decode(&d, packed, plen + 4, "r2", &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "r2: 4294967032 rows do not fit in a block of 12 bytes"));
	mp_block_release(&d);

	ck_assert_int_eq(mp_block_init(&b, feats3, 3, 3, &err), 0);
	for (r = 0; r < 3; r++) {
		mp_block_set_float(&b, 0, (float)r);
		ck_assert_int_eq(mp_block_set_string(&b, 1, r == 1 ? NULL : "", 0, &err), 0);
		mp_block_set_float(&b, 2, 1);
		mp_block_end_row(&b);
	}
	ck_assert_int_eq(mp_block_encode(&b, 1, &enc, &cap, &len, &err), 0);
	ck_assert_int_eq(mp_block_init(&d, feats3, 3, 1, &err), 0);
	ck_assert_int_eq(mp_block_decode(&d, enc, len, "r3", &err), 0);
	ck_assert_uint_eq(d.rows, 3);
	ck_assert_int_eq(d.miss[1][1], 1);
	ck_assert_uint_eq(d.off[1][3], 0);
	free(enc);
	mp_block_release(&b);
	mp_block_release(&d);
}
END_TEST

START_TEST(examples_round_trip_across_shards_and_threads)
{
	const char *splits[] = {"train", "eval"};
	mp_examples_meta m;
	mp_examples_reader rd;
	mp_block b;
	mp_err err;
	int threads;

	for (threads = 1; threads <= 2; threads++) {
		char *out = mp_asprintf("%s/ex%d", tu_dir(), threads);
		mp_examples_writer *w;
		int64_t seen = 0, sum = 0;
		int i, rc;

		ck_assert_int_eq(mp_examples_writer_open(&w, out, feats3, 3, splits, 2, 7, threads, &err), 0);
		for (i = 0; i < 1000; i++) {
			size_t s = i % 4 == 0;
			mp_block *blk = mp_examples_writer_block(w, s);
			char name[16];

			snprintf(name, sizeof(name), "n%d", i);
			mp_block_set_float(blk, 0, (float)i);
			ck_assert_int_eq(mp_block_set_string(blk, 1, name, strlen(name), &err), 0);
			mp_block_set_float(blk, 2, 1.5f);
			ck_assert_int_eq(mp_examples_writer_row(w, s, &err), 0);
		}
		ck_assert_int_eq(mp_examples_writer_close(w, "x", 3, 1, 0, &err), 0);
		ck_assert_int_eq(mp_examples_meta_read(&m, out, &err), 0);
		ck_assert_uint_eq(m.nfeatures, 3);
		ck_assert_str_eq(m.label, "x");
		ck_assert_int_eq(m.span, 3);
		ck_assert_int_eq(mp_examples_split(&m, "train")->rows, 750);
		ck_assert_int_eq(mp_examples_split(&m, "eval")->rows, 250);
		ck_assert_int_eq(mp_block_init(&b, m.features, m.nfeatures, 1, &err), 0);
		ck_assert_int_eq(mp_examples_reader_open(&rd, &m, out, "eval", &err), 0);
		while ((rc = mp_examples_reader_next(&rd, &b, &err)) == 1) {
			size_t r;

			for (r = 0; r < b.rows; r++) {
				char want[16];

				ck_assert_int_eq((int)b.num[0][r] % 4, 0);
				snprintf(want, sizeof(want), "n%d", (int)b.num[0][r]);
				ck_assert_uint_eq(b.off[1][r + 1] - b.off[1][r], strlen(want));
				ck_assert(memcmp(b.str[1] + b.off[1][r], want, strlen(want)) == 0);
				sum += (int64_t)b.num[0][r];
				seen++;
			}
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(seen, 250);
		ck_assert_int_eq(sum, 4 * (249 * 250 / 2)); /* 0, 4, ..., 996, in order, once each */
		mp_examples_reader_close(&rd);
		mp_block_release(&b);
		mp_examples_meta_release(&m);
		free(out);
	}
	/* one thread or two: the same bytes */
	{
		char *a = tu_at("ex1/train/shard-00000.rec"), *c = tu_at("ex2/train/shard-00000.rec"), *da, *dc;
		size_t na, nc;

		ck_assert_int_eq(mp_read_file(a, &da, &na, &err), 0);
		ck_assert_int_eq(mp_read_file(c, &dc, &nc, &err), 0);
		ck_assert_uint_eq(na, nc);
		ck_assert(memcmp(da, dc, na) == 0);
		free(da);
		free(dc);
		free(a);
		free(c);
	}
}
END_TEST

START_TEST(examples_meta_refuses_damage)
{
	mp_examples_meta m;
	mp_err err;

	ck_assert_int_eq(mp_examples_meta_read(&m, tu_dir(), &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not an Examples artifact"));
	tu_write("examples.meta", "mlpipe-examples 9\n");
	ck_assert_int_eq(mp_examples_meta_read(&m, tu_dir(), &err), MP_EVERSION);
	tu_write("examples.meta", "mlpipe-examples 1\nfeature\ta\tfloat\nsplit\ttrain\t1\t1\nbogus\n");
	ck_assert_int_eq(mp_examples_meta_read(&m, tu_dir(), &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "examples.meta:4: unexpected line"));
	tu_write("examples.meta", "mlpipe-examples 1\nlabel\tz\nfeature\ta\tfloat\nsplit\ttrain\t1\t1\n");
	ck_assert_int_eq(mp_examples_meta_read(&m, tu_dir(), &err), MP_ECORRUPT);
	/* a second label once leaked the first */
	tu_write("examples.meta", "mlpipe-examples 1\nlabel\ta\nlabel\ta\nfeature\ta\tfloat\nsplit\ttrain\t1\t1\n");
	ck_assert_int_eq(mp_examples_meta_read(&m, tu_dir(), &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "examples.meta:3: a second label line"));
	tu_write("examples.meta", "mlpipe-examples 1\nfeature\ta\tfloat\nsplit\ttrain\t-5\t1\n");
	ck_assert_int_eq(mp_examples_meta_read(&m, tu_dir(), &err), MP_ECORRUPT);
	tu_write("examples.meta", "mlpipe-examples 1\nfeature\ta\tfloat\nfeature\ta\tfloat\nsplit\ttrain\t1\t1\n");
	ck_assert_int_eq(mp_examples_meta_read(&m, tu_dir(), &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "feature 'a' appears twice"));
}
END_TEST

/* examples.meta read under failed allocations: MP_ENOMEM each time, then
 * the whole description (ASan: nothing leaks on the way). */
START_TEST(examples_meta_survives_failed_allocations)
{
	static const char text[] = "mlpipe-examples 1\nlabel\ty\nfeature\tx\tfloat\nfeature\ty\tfloat\n"
				   "split\ttrain\t10\t1\nsplit\teval\t2\t1\n";
	mp_examples_meta m;
	mp_err err;
	char *copy = NULL;
	int rc;

	TU_EACH_FAILED_ALLOC(200, rc, (copy = strdup(text), rc = mp_examples_meta_parse(&m, copy, "examples.meta", &err)),
			     free(copy));
	ck_assert_uint_eq(m.nfeatures, 2);
	ck_assert_str_eq(m.label, "y");
	ck_assert_int_eq(mp_examples_split(&m, "eval")->rows, 2);
	mp_examples_meta_release(&m);
	free(copy);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("records");
	TCase *tc;

	tc = tcase_create("records");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, crc32c_matches_published_vectors);
	tcase_add_test(tc, records_round_trip_and_detect_damage);
	suite_add_tcase(s, tc);
	tc = tcase_create("blocks");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, blocks_round_trip);
	tcase_add_test(tc, blocks_compressed_with_zlib_still_read);
	tcase_add_test(tc, empty_strings_have_a_pointer);
	tcase_add_test(tc, blocks_refuse_sizes_their_records_cannot_hold);
	suite_add_tcase(s, tc);
	tc = tcase_create("examples");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, examples_round_trip_across_shards_and_threads);
	tcase_add_test(tc, examples_meta_refuses_damage);
	tcase_add_test(tc, examples_meta_survives_failed_allocations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
