/* data/examples: how examples are stored and read back.
 *
 * An Examples artifact is a folder:
 *
 *   examples.meta             the feature list, the label, the span, the splits
 *   <split>/shard-NNNNN.rec   record files, one folder per split
 *
 * A record file uses TFRecord's framing: for each record a u64 little-endian
 * length, the masked CRC32C of those 8 bytes (u32), the data, and the masked
 * CRC32C of the data (u32).  Each record holds one block of examples: a u32
 * raw length followed by the zlib-compressed block, whose layout is columnar
 * (see block.c).  Numbers are float32 (NaN when missing); strings are bytes
 * (a missing string is distinct from an empty one).
 *
 * Readers and writers stream: memory holds one block at a time.
 */
#ifndef MP_DATA_EXAMPLES_H
#define MP_DATA_EXAMPLES_H

#include <stdint.h>
#include <stdio.h>
#include "core/core.h"
#include "data/records.h"

/* ---- features and the artifact's description --------------------------- */

typedef enum { MP_FEAT_FLOAT = 0, MP_FEAT_STRING = 1 } mp_feat_type;

typedef struct mp_feature {
	char *name;
	mp_feat_type type;
} mp_feature;

typedef struct mp_split_info {
	char *name;
	int64_t rows;
	int shards;
	/* per feature, cells that were not numbers in a numeric column and
	 * were read as missing (ExampleGen's on_bad_value: missing); NULL
	 * when there were none */
	int64_t *bad_values;
} mp_split_info;

typedef struct mp_examples_meta {
	mp_feature *features;
	size_t nfeatures;
	char *label; /* a feature name, or NULL */
	int64_t span, version; /* -1 when the data has none */
	mp_split_info *splits;
	size_t nsplits;
	char **label_names; /* a numeric label's class names, in index order, or NULL */
	size_t nlabel_names;
	/* images: the numeric features but the label are pixels of this
	 * height, width and channels, row by row, channels last; 0s when not
	 * images (IDX files record it) */
	int shape[3];
	mp_name_index ix; /* features by name, once read */
} mp_examples_meta;

int mp_examples_meta_write(const mp_examples_meta *m, const char *dir, mp_err *err);
int mp_examples_meta_read(mp_examples_meta *m, const char *dir, mp_err *err);
/* The same from the file's text (changed in place); path names it in errors. */
int mp_examples_meta_parse(mp_examples_meta *m, char *text, const char *path, mp_err *err);
void mp_examples_meta_release(mp_examples_meta *m);
/* The index of the feature called name, or -1. */
int mp_examples_feature(const mp_examples_meta *m, const char *name);
const mp_split_info *mp_examples_split(const mp_examples_meta *m, const char *name);

/* ---- blocks ------------------------------------------------------------ */

/* A block of examples, columnar: for a float feature f, num[f][row]; for a
 * string feature, the bytes of row r are str[f] + off[f][r] up to
 * off[f][r + 1], and missing rows have miss[f][r] set. */
typedef struct mp_block {
	size_t rows, cap;
	size_t nfeat;
	const mp_feature *features; /* borrowed */
	float **num;
	uint64_t **off;
	uint8_t **miss;
	char **str;
	size_t *str_cap;
} mp_block;

int mp_block_init(mp_block *b, const mp_feature *features, size_t nfeat, size_t cap,
		  mp_err *err);
/* Makes room for cap rows. */
int mp_block_reserve(mp_block *b, size_t cap, mp_err *err);
void mp_block_release(mp_block *b);
void mp_block_clear(mp_block *b);
/* Appends a string value to feature f of the row being built (the row is
 * rows, which only mp_block_end_row advances).  NULL is missing. */
int mp_block_set_string(mp_block *b, size_t f, const char *s, size_t n, mp_err *err);
static inline void mp_block_set_float(mp_block *b, size_t f, float v)
{
	b->num[f][b->rows] = v;
}
static inline void mp_block_end_row(mp_block *b)
{
	b->rows++;
}
/* The bytes of string feature f in row r (not NUL-terminated) and their
 * length into *n; never NULL, also when the column holds no bytes yet. */
static inline const char *mp_block_str(const mp_block *b, size_t f, size_t r, size_t *n)
{
	*n = (size_t)(b->off[f][r + 1] - b->off[f][r]);
	return *n ? b->str[f] + b->off[f][r] : "";
}
static inline int mp_block_full(const mp_block *b)
{
	return b->rows == b->cap;
}

/* Encodes (and compresses) the block into *out (grown as needed). */
int mp_block_encode(const mp_block *b, int level, uint8_t **out, size_t *outcap, size_t *outlen,
		    mp_err *err);
/* Decodes a record into b, which must be initialised with the same features;
 * b grows to the record's row count.  where names the record in errors. */
int mp_block_decode(mp_block *b, const uint8_t *data, size_t n, const char *where, mp_err *err);

/* ---- writing an Examples artifact -------------------------------------- */

typedef struct mp_examples_writer mp_examples_writer;

/* Writes into dir the splits named, in blocks of block_rows rows and shards
 * of about 64 MB of raw data.  With threads > 1 a background thread
 * compresses and writes full blocks while the caller fills the next. */
int mp_examples_writer_open(mp_examples_writer **out, const char *dir, const mp_feature *features,
			    size_t nfeat, const char *const *splits, size_t nsplits, size_t block_rows,
			    int threads, mp_err *err);
/* The block to fill for split s; call mp_examples_writer_row after each
 * row. */
mp_block *mp_examples_writer_block(mp_examples_writer *w, size_t s);
int mp_examples_writer_row(mp_examples_writer *w, size_t s, mp_err *err);
/* Writes a block encoded elsewhere (mp_block_encode) as the next record of
 * split s; for callers that compress on threads of their own. */
int mp_examples_writer_put(mp_examples_writer *w, size_t s, const uint8_t *data, size_t len, size_t rows,
			   mp_err *err);
/* Records that n cells of feature f in split s were read as missing
 * because they were not numbers (written to examples.meta). */
int mp_examples_writer_set_bad(mp_examples_writer *w, size_t s, size_t f, int64_t n, mp_err *err);
/* The class names of the (numeric) label, for examples.meta; copied. */
int mp_examples_writer_set_label_names(mp_examples_writer *w, char *const *names, size_t n, mp_err *err);
/* The images' height, width and channels, for examples.meta. */
void mp_examples_writer_set_shape(mp_examples_writer *w, const int shape[3]);
/* Flushes everything and writes examples.meta (label and span from meta);
 * always frees w.  With abort set, only frees. */
int mp_examples_writer_close(mp_examples_writer *w, const char *label, int64_t span,
			     int64_t version, int abort, mp_err *err);

/* ---- reading a split, block by block ----------------------------------- */

typedef struct mp_examples_reader {
	const mp_examples_meta *meta;
	char *dir;
	const mp_split_info *split;
	int shard;
	mp_rec_reader rec;
	int open;
} mp_examples_reader;

int mp_examples_reader_open(mp_examples_reader *r, const mp_examples_meta *m, const char *dir,
			    const char *split, mp_err *err);
/* Reads the next block into b: 1, 0 at the end, or a negative MP_E*. */
int mp_examples_reader_next(mp_examples_reader *r, mp_block *b, mp_err *err);
/* The next block's record, not decoded (for mp_block_decode elsewhere):
 * *data is valid until the next call; where (wsz bytes) names the record
 * for errors.  1, 0 at the end, or a negative MP_E*. */
int mp_examples_reader_next_raw(mp_examples_reader *r, const uint8_t **data, size_t *n, char *where, size_t wsz,
				mp_err *err);
void mp_examples_reader_close(mp_examples_reader *r);
/* The path of shard i of split in dir. */
char *mp_examples_shard_path(const char *dir, const char *split, int i);

#endif
