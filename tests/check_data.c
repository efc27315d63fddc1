/* components/data and ExampleGen: CRC32C, record files, blocks, the CSV and
 * IDX readers, Examples artifacts, and ExampleGen on good and bad fixtures. */
#include "testutil.h"

#include <math.h>
#include <time.h>
#include <zlib.h>

#include "components/component.h"
#include "core/bytes.h"
#include "core/tsv.h"
#include "data/records.h"
#include "data/examples.h"
#include "data/csv.h"
#include "data/idx.h"
#include "data/dataset.h"
#include "data/transform.h"
#include "data/span.h"

static void write_gz(const char *name, const void *data, size_t n)
{
	char *p = tu_at(name);
	gzFile gz = gzopen(p, "wb");

	ck_assert_ptr_nonnull(gz);
	ck_assert_int_eq(gzwrite(gz, data, (unsigned)n), (int)n);
	ck_assert_int_eq(gzclose(gz), Z_OK);
	free(p);
}

/* ---- CRC32C and records ------------------------------------------------ */

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

/* The text files' reader: lines in place, tab fields with empty ones
 * kept, escapes undone from the field asked for on. */
START_TEST(text_lines_and_tab_fields)
{
	char text[] = "a\tb\\tc\n\tx\t\t\nlast", *cur = text, *line, *f[4];
	mp_strbuf sb = MP_STRBUF_INIT;

	ck_assert_str_eq(line = mp_text_line(&cur), "a\tb\\tc");
	ck_assert_uint_eq(mp_tsv_fields(line, f, 4, 1), 2);
	ck_assert_str_eq(f[0], "a");
	ck_assert_str_eq(f[1], "b\tc");
	ck_assert_str_eq(line = mp_text_line(&cur), "\tx\t\t");
	ck_assert_uint_eq(mp_tsv_fields(line, f, 4, 0), 4);
	ck_assert_str_eq(f[0], "");
	ck_assert_str_eq(f[1], "x");
	ck_assert_str_eq(f[2], "");
	ck_assert_str_eq(f[3], "");
	ck_assert_str_eq(line = mp_text_line(&cur), "last");
	ck_assert_ptr_null(mp_text_line(&cur));
	/* at most max fields: the last keeps the rest */
	strcpy(text, "1\t2\t3");
	ck_assert_uint_eq(mp_tsv_fields(text, f, 2, 2), 2);
	ck_assert_str_eq(f[1], "2\t3");
	/* what mp_tsv_escape writes comes back */
	mp_tsv_escape(&sb, "tab\there\nnew \\ line");
	ck_assert_uint_eq(mp_tsv_fields(sb.buf, f, 4, 0), 1);
	ck_assert_str_eq(f[0], "tab\there\nnew \\ line");
	mp_strbuf_release(&sb);
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

/* ---- blocks ------------------------------------------------------------ */

static const mp_feature feats3[] = {
	{"x", MP_FEAT_FLOAT},
	{"name", MP_FEAT_STRING},
	{"px", MP_FEAT_FLOAT},
};

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

/* ---- numbers, CSV, IDX, spans ----------------------------------------- */

START_TEST(numbers_parse_like_strtod)
{
	static const char *good[] = {"0", "7", "255", "-3", "+4", "1.5", "-0.25", ".5", "5.", "1e3",
				     "2.5E-2", "123456789", "1234567890123", "3.14159265358979", "1e-30",
				     "nan", "inf", "-inf"};
	static const char *bad[] = {"", "-", ".", "abc", "1.2.3", "1e", "0x10", "12a", "1 2", "--1"};
	size_t i;
	float v;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		float want = strtof(good[i], NULL);

		ck_assert_msg(mp_parse_f32(good[i], strlen(good[i]), &v) == 0, "%s", good[i]);
		ck_assert_msg(v == want || (isnan(v) && isnan(want)), "%s: %g, wanted %g", good[i], v, want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mp_parse_f32(bad[i], strlen(bad[i]), &v) != 0, "'%s' parsed", bad[i]);
}
END_TEST

static int next_row(mp_csv *c, const char *want)
{
	mp_err err;
	mp_strbuf sb = MP_STRBUF_INIT;
	const mp_csv_field *f;
	size_t n, i;
	int rc = mp_csv_next(c, &err), same;

	if (rc != 1)
		return 0;
	f = mp_csv_fields(c, &n);
	for (i = 0; i < n; i++) {
		if (i)
			mp_strbuf_adds(&sb, "|");
		mp_strbuf_add(&sb, f[i].s, f[i].n);
	}
	same = strcmp(mp_strbuf_str(&sb), want) == 0;
	if (!same)
		fprintf(stderr, "row '%s', wanted '%s'\n", mp_strbuf_str(&sb), want);
	mp_strbuf_release(&sb);
	return same;
}

START_TEST(csv_follows_rfc4180)
{
	char *path = tu_at("q.csv");
	mp_csv *c;
	mp_err err;

	tu_write("q.csv", "a,b,c\r\n"
			    "1,\"x,y\",3\r\n"
			    "\r\n"
			    "\"he said \"\"hi\"\"\",,\"multi\nline\"\n"
			    "last,row,\"\"");
	ck_assert_int_eq(mp_csv_open(&c, path, ',', &err), 0);
	ck_assert(next_row(c, "a|b|c"));
	ck_assert_int_eq(mp_csv_line(c), 1);
	ck_assert(next_row(c, "1|x,y|3"));
	ck_assert(next_row(c, "he said \"hi\"||multi\nline"));
	ck_assert_int_eq(mp_csv_line(c), 4);
	ck_assert(next_row(c, "last|row|"));
	ck_assert_int_eq(mp_csv_line(c), 6);
	ck_assert_int_eq(mp_csv_next(c, &err), 0);
	mp_csv_close(c);

	tu_write("u.csv", "a,b\n1,\"open\n2,3\n");
	free(path);
	path = tu_at("u.csv");
	ck_assert_int_eq(mp_csv_open(&c, path, ',', &err), 0);
	ck_assert(next_row(c, "a|b"));
	ck_assert_int_eq(mp_csv_next(c, &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "u.csv:2: a quoted field is not closed"));
	mp_csv_close(c);

	tu_write("v.csv", "a;b\n\"x\"y;2\n");
	free(path);
	path = tu_at("v.csv");
	ck_assert_int_eq(mp_csv_open(&c, path, ';', &err), 0);
	ck_assert(next_row(c, "a|b"));
	ck_assert_int_eq(mp_csv_next(c, &err), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "v.csv:2:4: unexpected 'y' after a quoted field"));
	mp_csv_close(c);
	free(path);
}
END_TEST

START_TEST(csv_reads_gzip_and_long_rows_and_reports_truncation)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	char *path = tu_at("big.csv.gz"), *data;
	mp_csv *c;
	mp_err err;
	size_t n;
	int rows = 0, rc, i;

	/* rows longer than the reader's 1 MB buffer, and many of them */
	mp_strbuf_adds(&sb, "id,text\n");
	for (i = 0; i < 3; i++) {
		mp_strbuf_addf(&sb, "%d,\"", i);
		for (int k = 0; k < 300000; k++)
			mp_strbuf_adds(&sb, "ab\"\"c");
		mp_strbuf_adds(&sb, "\"\n");
	}
	for (i = 0; i < 20000; i++)
		mp_strbuf_addf(&sb, "%d,row %d\n", i, i);
	write_gz("big.csv.gz", sb.buf, sb.len);
	ck_assert_int_eq(mp_csv_open(&c, path, ',', &err), 0);
	while ((rc = mp_csv_next(c, &err)) == 1) {
		const mp_csv_field *f = mp_csv_fields(c, &n);

		ck_assert_uint_eq(n, 2);
		if (rows >= 1 && rows <= 3)
			ck_assert_uint_eq(f[1].n, 300000 * 4);
		rows++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(rows, 1 + 3 + 20000);
	mp_csv_close(c);

	/* the same file cut short */
	ck_assert_int_eq(mp_read_file(path, &data, &n, &err), 0);
	ck_assert_int_eq(mp_write_file_atomic(path, data, n / 2, &err), 0);
	free(data);
	ck_assert_int_eq(mp_csv_open(&c, path, ',', &err), 0);
	while ((rc = mp_csv_next(c, &err)) == 1)
		;
	ck_assert_int_eq(rc, MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "gzip stream is truncated"));
	mp_csv_close(c);
	mp_strbuf_release(&sb);
	free(path);
}
END_TEST

/* An IDX file of n items of item bytes each (dims 1 or 3). */
static void write_idx(const char *name, int dims, int n, int rows, int cols, int extra, int cut)
{
	size_t item = dims == 3 ? (size_t)rows * cols : 1, len = 4 + 4 * (size_t)dims + n * item + extra, i;
	uint8_t *b = calloc(1, len);

	b[2] = 0x08;
	b[3] = (uint8_t)dims;
	b[4] = (uint8_t)(n >> 24);
	b[5] = (uint8_t)(n >> 16);
	b[6] = (uint8_t)(n >> 8);
	b[7] = (uint8_t)n;
	if (dims == 3) {
		b[11] = (uint8_t)rows;
		b[15] = (uint8_t)cols;
	}
	for (i = 4 + 4 * (size_t)dims; i < len; i++)
		b[i] = (uint8_t)(dims == 1 ? (i % 3) : (i * 7) % 256);
	write_gz(name, b, len - (size_t)cut);
	free(b);
}

START_TEST(idx_reader_checks_its_header_and_size)
{
	char *path = tu_at("a-images-idx3-ubyte.gz");
	uint8_t buf[64];
	size_t got;
	mp_idx x;
	mp_err err;

	write_idx("a-images-idx3-ubyte.gz", 3, 5, 2, 3, 0, 0);
	ck_assert_int_eq(mp_idx_open(&x, path, 3, &err), 0);
	ck_assert_int_eq(x.count, 5);
	ck_assert_uint_eq(x.item_size, 6);
	ck_assert_int_eq(mp_idx_read(&x, buf, 4, &got, &err), 0);
	ck_assert_uint_eq(got, 4);
	ck_assert_int_eq(mp_idx_read(&x, buf, 4, &got, &err), 0);
	ck_assert_uint_eq(got, 1);
	ck_assert_int_eq(mp_idx_read(&x, buf, 4, &got, &err), 0);
	ck_assert_uint_eq(got, 0);
	mp_idx_close(&x);
	/* as labels: wrong number of dimensions */
	ck_assert_int_eq(mp_idx_open(&x, path, 1, &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "magic 00000803"));
	/* truncated, and too long */
	write_idx("a-images-idx3-ubyte.gz", 3, 5, 2, 3, 0, 4);
	ck_assert_int_eq(mp_idx_open(&x, path, 3, &err), 0);
	ck_assert_int_eq(mp_idx_read(&x, buf, 8, &got, &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "is truncated at byte"));
	mp_idx_close(&x);
	write_idx("a-images-idx3-ubyte.gz", 3, 5, 2, 3, 2, 0);
	ck_assert_int_eq(mp_idx_open(&x, path, 3, &err), 0);
	ck_assert_int_eq(mp_idx_read(&x, buf, 8, &got, &err), 0);
	ck_assert_int_eq(mp_idx_read(&x, buf, 8, &got, &err), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "longer than its header says"));
	mp_idx_close(&x);
	free(path);
}
END_TEST

START_TEST(spans_pick_the_newest)
{
	char *path, *want;
	int64_t span, version;
	mp_err err;

	ck_assert_int_eq(mp_mkdirs(tu_dir(), 0755, &err), 0);
	tu_write("data-1-v1.csv", "a\n");
	tu_write("data-2-v1.csv", "a\n");
	tu_write("data-2-v3.csv", "a\n");
	tu_write("data-10-v2.csv", "a\n");
	tu_write("data-x-v9.csv", "a\n");
	ck_assert_int_eq(mp_resolve_span("data-{SPAN}-v{VERSION}.csv", tu_dir(), &path, &span, &version, &err), 0);
	want = tu_at("data-10-v2.csv");
	ck_assert_str_eq(path, want);
	ck_assert_int_eq(span, 10);
	ck_assert_int_eq(version, 2);
	free(path);
	free(want);
	ck_assert_int_eq(mp_resolve_span("data-2-v{VERSION}.csv", tu_dir(), &path, &span, &version, &err), 0);
	ck_assert_int_eq(span, -1);
	ck_assert_int_eq(version, 3);
	free(path);
	ck_assert_int_eq(mp_resolve_span("*-{SPAN}-v1.csv", tu_dir(), &path, &span, &version, &err), 0);
	ck_assert_int_eq(span, 2);
	free(path);
	ck_assert_int_eq(mp_resolve_span("none-{SPAN}.csv", tu_dir(), &path, &span, &version, &err), MP_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "no file matches 'none-{SPAN}.csv'"));
	ck_assert_int_eq(mp_resolve_span("plain.csv", tu_dir(), &path, &span, &version, &err), 0);
	want = tu_at("plain.csv");
	ck_assert_str_eq(path, want);
	free(path);
	free(want);
}
END_TEST

/* ---- ExampleGen -------------------------------------------------------- */

/* Runs ExampleGen with params "k=v" (NULL-terminated); the output folder is
 * <dir>/<out>.  Returns the run's code; err gets its message. */
static int example_gen(const char *out, mp_err *err, mp_result **res, ...)
{
	const mp_component_type *t = mp_component_find("ExampleGen");
	mp_kv params[32], outs[1];
	char *keys[32];
	mp_component_io io = {0};
	va_list ap;
	const char *kv;
	size_t n = 0, i;
	int rc;

	ck_assert_ptr_nonnull(t);
	va_start(ap, res);
	while ((kv = va_arg(ap, const char *))) {
		const char *eq = strchr(kv, '=');

		keys[n] = mp_strndup(kv, (size_t)(eq - kv));
		params[n].key = keys[n];
		params[n].value = eq + 1;
		n++;
	}
	va_end(ap);
	/* defaults for the rest */
	for (i = 0; i < t->nparams; i++) {
		size_t k;

		for (k = 0; k < n && strcmp(params[k].key, t->params[i].name); k++)
			;
		if (k == n && t->params[i].def) {
			keys[n] = mp_strdup(t->params[i].name);
			params[n].key = keys[n];
			params[n].value = t->params[i].def;
			n++;
		}
	}
	outs[0].key = "examples";
	outs[0].value = tu_at(out);
	ck_assert_int_eq(mp_mkdirs(outs[0].value, 0755, err), 0);
	io.params = params;
	io.nparams = n;
	io.outputs = outs;
	io.noutputs = 1;
	io.workdir = tu_dir();
	io.result = *res = mp_result_new();
	rc = t->run(&io, err);
	for (i = 0; i < n; i++)
		free(keys[i]);
	free((char *)outs[0].value);
	return rc;
}

/* Reads split of the Examples at <dir>/<out> into one block. */
static void read_split(const char *out, const char *split, mp_examples_meta *m, mp_block *all)
{
	char *path = tu_at(out);
	mp_examples_reader rd;
	mp_block b;
	mp_err err;
	int rc;

	ck_assert_int_eq(mp_examples_meta_read(m, path, &err), 0);
	ck_assert_int_eq(mp_block_init(&b, m->features, m->nfeatures, 1, &err), 0);
	ck_assert_int_eq(mp_block_init(all, m->features, m->nfeatures, 1024, &err), 0);
	ck_assert_int_eq(mp_examples_reader_open(&rd, m, path, split, &err), 0);
	while ((rc = mp_examples_reader_next(&rd, &b, &err)) == 1) {
		size_t r, f;

		for (r = 0; r < b.rows; r++) {
			ck_assert_int_eq(mp_block_reserve(all, all->rows + 1, &err), 0);
			for (f = 0; f < b.nfeat; f++)
				if (m->features[f].type == MP_FEAT_FLOAT)
					mp_block_set_float(all, f, b.num[f][r]);
				else
					ck_assert_int_eq(mp_block_set_string(all, f, b.miss[f][r] ? NULL : b.str[f] + b.off[f][r],
									     b.off[f][r + 1] - b.off[f][r], &err), 0);
			mp_block_end_row(all);
		}
	}
	ck_assert_int_eq(rc, 0);
	mp_examples_reader_close(&rd);
	mp_block_release(&b);
	free(path);
}

START_TEST(example_gen_reads_csv_with_types_and_missing_values)
{
	mp_examples_meta m;
	mp_block all;
	mp_result *res;
	mp_err err;

	tu_write("t.csv", "# exported 2026-11-24\n"
			    "a , b,name,y\n"
			    "1,2.5,\"x, y\",0\n"
			    "3,,plain,1\n"
			    " -4 ,1e2,\"\",0\n"
			    "5,6,,1\n");
	ck_assert_int_eq(example_gen("ex", &err, &res, "format=csv", "path=t.csv", "label=y", "skip_rows=1", NULL), 0);
	read_split("ex", "train", &m, &all);
	ck_assert_uint_eq(m.nfeatures, 4);
	ck_assert_str_eq(m.features[0].name, "a");
	ck_assert_str_eq(m.features[1].name, "b");
	ck_assert_int_eq(m.features[1].type, MP_FEAT_FLOAT);
	ck_assert_int_eq(m.features[2].type, MP_FEAT_STRING);
	ck_assert_str_eq(m.label, "y");
	ck_assert_uint_eq(all.rows, 4);
	ck_assert(all.num[0][2] == -4.0f);
	ck_assert(isnan(all.num[1][1]));
	ck_assert(all.num[1][2] == 100.0f);
	ck_assert(memcmp(all.str[2] + all.off[2][0], "x, y", 4) == 0);
	ck_assert_int_eq(all.miss[2][2], 0); /* "" quoted: an empty string */
	ck_assert_int_eq(all.miss[2][3], 1); /* nothing: missing */
	mp_block_release(&all);
	mp_examples_meta_release(&m);
	mp_result_free(res);

	/* no header: columns given; tab-separated; a numeric-looking column kept as strings */
	tu_write("t.tsv", "1\t007\n2\t010\n");
	ck_assert_int_eq(example_gen("ex2", &err, &res, "format=csv", "path=t.tsv", "columns=n\nzip",
				     "delimiter=tab", "string_columns=zip", NULL), 0);
	read_split("ex2", "train", &m, &all);
	ck_assert_str_eq(m.features[1].name, "zip");
	ck_assert_int_eq(m.features[1].type, MP_FEAT_STRING);
	ck_assert(memcmp(all.str[1] + all.off[1][0], "007", 3) == 0);
	ck_assert_uint_eq(all.rows, 2);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
	mp_result_free(res);
}
END_TEST

/* Valid CSV that once stopped the sanitizer build: an empty quoted string
 * first in a column, and a column empty for a whole block. */
START_TEST(example_gen_reads_empty_strings_and_empty_blocks)
{
	mp_examples_meta m;
	mp_block all;
	mp_result *res;
	mp_err err;

	tu_write("e.csv", "a,s\n1,\"\"\n2,x\n");
	ck_assert_int_eq(example_gen("e1", &err, &res, "format=csv", "path=e.csv", NULL), 0);
	mp_result_free(res);
	read_split("e1", "train", &m, &all);
	ck_assert_uint_eq(all.rows, 2);
	ck_assert_int_eq(all.miss[1][0], 0);
	ck_assert_uint_eq(all.off[1][1], 0);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
	tu_write("b.csv", "a,s\n1,\n2,\n3,\n4,y\n");
	ck_assert_int_eq(example_gen("e2", &err, &res, "format=csv", "path=b.csv", "block_rows=3", "string_columns=s",
				     NULL), 0);
	mp_result_free(res);
	read_split("e2", "train", &m, &all);
	ck_assert_uint_eq(all.rows, 4);
	ck_assert_int_eq(all.miss[1][0], 1);
	ck_assert(memcmp(all.str[1] + all.off[1][3], "y", 1) == 0);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
}
END_TEST

START_TEST(example_gen_keeps_a_numeric_column_with_a_stray_word)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	mp_examples_meta m;
	mp_block all;
	const mp_result_metric_row *mr;
	mp_result *res;
	mp_err err;
	size_t n, i;
	int r, found = 0;

	/* 178 rows, one 'abc' at line 7: still numeric; the cell is an error */
	mp_strbuf_adds(&sb, "alcohol,ash\n");
	for (r = 0; r < 178; r++)
		mp_strbuf_addf(&sb, r == 5 ? "%d.5,abc\n" : "%d.5,%d\n", 13 + r % 3, r % 7);
	tu_write("wine.csv", sb.buf);
	mp_strbuf_release(&sb);
	ck_assert_int_eq(example_gen("w1", &err, &res, "format=csv", "path=wine.csv", NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "wine.csv:7:6: 'abc' is not a number, but column 'ash' is numeric"));
	ck_assert_ptr_nonnull(strstr(err.msg, "on_bad_value: missing"));
	mp_result_free(res);
	/* on_bad_value: missing reads it as missing, and counts it */
	ck_assert_int_eq(example_gen("w2", &err, &res, "format=csv", "path=wine.csv", "on_bad_value=missing", NULL), 0);
	mr = mp_result_metrics(res, &n);
	for (i = 0; i < n; i++)
		if (!strcmp(mr[i].name, "bad_values"))
			found = mr[i].value == 1;
	ck_assert(found);
	mp_result_free(res);
	read_split("w2", "train", &m, &all);
	ck_assert_int_eq(m.features[1].type, MP_FEAT_FLOAT);
	ck_assert(isnan(all.num[1][5]));
	ck_assert_float_eq(all.num[1][6], 6);
	ck_assert_ptr_nonnull(m.splits[0].bad_values);
	ck_assert_int_eq(m.splits[0].bad_values[1], 1);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
	/* a column with many words is text */
	tu_write("words.csv", "a,b\n1,x\n2,3\n3,y\n4,5\n");
	ck_assert_int_eq(example_gen("w3", &err, &res, "format=csv", "path=words.csv", NULL), 0);
	mp_result_free(res);
	read_split("w3", "train", &m, &all);
	ck_assert_int_eq(m.features[1].type, MP_FEAT_STRING);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
}
END_TEST

START_TEST(example_gen_names_the_bad_spot)
{
	mp_result *res;
	mp_err err;
	char *out;

	tu_write("bad.csv", "a,b\n1,2\n3,x\n");
	ck_assert_int_eq(example_gen("e1", &err, &res, "format=csv", "path=bad.csv", "infer_rows=1", NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "bad.csv:3:3: 'x' is not a number, but column 'b' is numeric"));
	mp_result_free(res);
	tu_write("rag.csv", "a,b\n1,2\n3,4,5\n");
	ck_assert_int_eq(example_gen("e2", &err, &res, "format=csv", "path=rag.csv", NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "rag.csv:3:5: 3 fields, but there are 2 columns"));
	mp_result_free(res);
	tu_write("dup.csv", "a,a\n1,2\n");
	ck_assert_int_eq(example_gen("e3", &err, &res, "format=csv", "path=dup.csv", NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "column name 'a' appears twice"));
	mp_result_free(res);
	ck_assert_int_eq(example_gen("e4", &err, &res, "format=csv", "path=dup.csv", "label=zz", NULL), MP_EINVAL);
	mp_result_free(res);
	ck_assert_int_eq(example_gen("e5", &err, &res, "format=csv", "path=missing.csv", NULL), MP_ENOTFOUND);
	mp_result_free(res);
	ck_assert_int_eq(example_gen("e6", &err, &res, "format=xls", "path=dup.csv", NULL), MP_EINVAL);
	mp_result_free(res);
	ck_assert_int_eq(example_gen("e7", &err, &res, "format=csv", NULL), MP_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "needs 'path' or 'splits'"));
	mp_result_free(res);
	/* nothing is left looking like an artifact */
	out = tu_at("e1/examples.meta");
	ck_assert(!mp_path_exists(out));
	free(out);
}
END_TEST

START_TEST(example_gen_hash_split_is_deterministic)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	mp_examples_meta m1, m2;
	mp_block a1, a2, e1;
	mp_result *res;
	mp_err err;
	int i;

	mp_strbuf_adds(&sb, "id,v,s\n");
	for (i = 0; i < 2000; i++)
		mp_strbuf_addf(&sb, i % 17 ? "%d,%d,x%d\n" : "%d,%d,\"q,%d\"\n", i, i * 7 % 13, i);
	tu_write("many.csv", sb.buf);
	mp_strbuf_release(&sb);
	ck_assert_int_eq(example_gen("h1", &err, &res, "format=csv", "path=many.csv", "eval_fraction=0.25", NULL), 0);
	mp_result_free(res);
	ck_assert_int_eq(example_gen("h2", &err, &res, "format=csv", "path=many.csv", "eval_fraction=0.25",
				     "block_rows=3", "threads=1", NULL), 0);
	mp_result_free(res);
	/* the same blocks, byte for byte, whatever the number of threads */
	ck_assert_int_eq(example_gen("h3", &err, &res, "format=csv", "path=many.csv", "eval_fraction=0.25",
				     "block_rows=3", "threads=4", NULL), 0);
	mp_result_free(res);
	{
		char *p2 = tu_at("h2/eval/shard-00000.rec"), *p3 = tu_at("h3/eval/shard-00000.rec"), *d2, *d3;
		size_t n2, n3;

		ck_assert_int_eq(mp_read_file(p2, &d2, &n2, &err), 0);
		ck_assert_int_eq(mp_read_file(p3, &d3, &n3, &err), 0);
		ck_assert_uint_eq(n2, n3);
		ck_assert(memcmp(d2, d3, n2) == 0);
		free(d2);
		free(d3);
		free(p2);
		free(p3);
	}
	read_split("h1", "train", &m1, &a1);
	read_split("h2", "train", &m2, &a2);
	ck_assert_uint_eq(a1.rows, a2.rows);
	ck_assert(memcmp(a1.num[0], a2.num[0], a1.rows * sizeof(float)) == 0);
	mp_examples_meta_release(&m2);
	read_split("h1", "eval", &m2, &e1);
	ck_assert_uint_eq(a1.rows + e1.rows, 2000);
	ck_assert_msg(e1.rows > 400 && e1.rows < 600, "eval has %zu of 2000", e1.rows);
	mp_block_release(&a1);
	mp_block_release(&a2);
	mp_block_release(&e1);
	mp_examples_meta_release(&m1);
	mp_examples_meta_release(&m2);
}
END_TEST

START_TEST(example_gen_reads_idx_splits_and_spans)
{
	mp_examples_meta m;
	mp_block all;
	mp_result *res;
	const mp_result_prop_row *props;
	size_t np, i;
	mp_err err;
	int span_seen = 0;

	write_idx("train-images-idx3-ubyte.gz", 3, 7, 2, 2, 0, 0);
	write_idx("train-labels-idx1-ubyte.gz", 1, 7, 0, 0, 0, 0);
	write_idx("t10k-images-idx3-ubyte.gz", 3, 3, 2, 2, 0, 0);
	write_idx("t10k-labels-idx1-ubyte.gz", 1, 3, 0, 0, 0, 0);
	ck_assert_int_eq(example_gen("fm", &err, &res, "format=idx",
				     "splits=train=train-images-idx3-ubyte.gz\neval=t10k-images-idx3-ubyte.gz", NULL), 0);
	mp_result_free(res);
	read_split("fm", "eval", &m, &all);
	ck_assert_uint_eq(m.nfeatures, 5);
	ck_assert_str_eq(m.features[4].name, "label");
	ck_assert_str_eq(m.label, "label");
	ck_assert_int_eq(mp_examples_split(&m, "train")->rows, 7);
	ck_assert_uint_eq(all.rows, 3);
	/* pixel bytes are (offset * 7) % 256 from offset 16; labels offset % 3 from 8 */
	ck_assert(all.num[0][0] == (float)((16 * 7) % 256));
	ck_assert(all.num[3][2] == (float)(((16 + 2 * 4 + 3) * 7) % 256));
	ck_assert(all.num[4][1] == (float)((8 + 1) % 3));
	mp_block_release(&all);
	mp_examples_meta_release(&m);

	/* labels that do not match the images */
	write_idx("t10k-labels-idx1-ubyte.gz", 1, 4, 0, 0, 0, 0);
	ck_assert_int_eq(example_gen("fm2", &err, &res, "format=idx", "path=t10k-images-idx3-ubyte.gz", NULL), MP_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "has 4 labels for the 3 images"));
	mp_result_free(res);

	/* the newest span of a pattern, recorded on the artifact */
	tu_write("span-1.csv", "x\n1\n");
	tu_write("span-2.csv", "x\n2\n3\n");
	ck_assert_int_eq(example_gen("sp", &err, &res, "format=csv", "pattern=span-{SPAN}.csv", NULL), 0);
	props = mp_result_props(res, &np);
	for (i = 0; i < np; i++)
		if (!strcmp(props[i].name, "span")) {
			ck_assert_int_eq(props[i].i, 2);
			span_seen = 1;
		}
	ck_assert(span_seen);
	mp_result_free(res);
	read_split("sp", "train", &m, &all);
	ck_assert_uint_eq(all.rows, 2);
	ck_assert_int_eq(m.span, 2);
	mp_block_release(&all);
	mp_examples_meta_release(&m);
}
END_TEST

/* ---- the input pipeline ----------------------------------------------- */

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
	mp_dataset_opts o = {path, m, "train", x, 2, 3, batch, drop, shuffle, 42, epochs, map_threads, prefetch, 0, 0, NULL, NULL, 0, 0};
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
	mp_dataset_opts o = {NULL, NULL, "train", x, 1, -1, 5, 0, 0, 1, 1000, 2, 3, 0, 0, NULL, NULL, 0, 0};
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
	mp_dataset_opts o = {NULL, NULL, "train", x, 1, 3, 8, 0, 16, 1, 1, 2, 2, 0, 0, NULL, NULL, 0, 0};
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

static Suite *data_suite(void)
{
	Suite *s = suite_create("data");
	TCase *tc = tcase_create("formats");

	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, crc32c_matches_published_vectors);
	tcase_add_test(tc, text_lines_and_tab_fields);
	tcase_add_test(tc, records_round_trip_and_detect_damage);
	tcase_add_test(tc, blocks_round_trip);
	tcase_add_test(tc, blocks_refuse_sizes_their_records_cannot_hold);
	tcase_add_test(tc, examples_round_trip_across_shards_and_threads);
	tcase_add_test(tc, examples_meta_refuses_damage);
	tcase_add_test(tc, transform_text_refuses_damage);
	tcase_add_test(tc, numbers_parse_like_strtod);
	tcase_add_test(tc, csv_follows_rfc4180);
	tcase_add_test(tc, csv_reads_gzip_and_long_rows_and_reports_truncation);
	tcase_add_test(tc, idx_reader_checks_its_header_and_size);
	tcase_add_test(tc, spans_pick_the_newest);
	suite_add_tcase(s, tc);
	tc = tcase_create("ExampleGen");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, example_gen_reads_csv_with_types_and_missing_values);
	tcase_add_test(tc, example_gen_names_the_bad_spot);
	tcase_add_test(tc, example_gen_keeps_a_numeric_column_with_a_stray_word);
	tcase_add_test(tc, example_gen_reads_empty_strings_and_empty_blocks);
	tcase_add_test(tc, example_gen_hash_split_is_deterministic);
	tcase_add_test(tc, example_gen_reads_idx_splits_and_spans);
	suite_add_tcase(s, tc);
	tc = tcase_create("dataset");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, dataset_keeps_order_without_shuffle);
	tcase_add_test(tc, dataset_shuffles_each_epoch_deterministically);
	tcase_add_test(tc, dataset_prefetches_ahead_and_stops_midway);
	tcase_add_test(tc, dataset_reports_a_damaged_shard);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(data_suite());
}
