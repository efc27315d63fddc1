/* components/data: how examples are stored and read back.
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
#ifndef MP_COMPONENTS_DATA_H
#define MP_COMPONENTS_DATA_H

#include <stdint.h>
#include <stdio.h>

#include "core/core.h"

/* ---- little-endian integers and escaped text fields -------------------- */

static inline void mp_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t mp_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void mp_put_u64(uint8_t *p, uint64_t v)
{
	mp_put_u32(p, (uint32_t)v);
	mp_put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t mp_get_u64(const uint8_t *p)
{
	return (uint64_t)mp_get_u32(p) | (uint64_t)mp_get_u32(p + 4) << 32;
}

/* A name or value in the tab-separated text files (statistics.tsv,
 * transform.tsv): tabs, newlines and backslashes as \t, \n and \\. */
void mp_tsv_escape(mp_strbuf *sb, const char *s);
/* Undoes mp_tsv_escape in place. */
void mp_tsv_unescape(char *s);

/* Reading such a file in place: the next line of the text at *cur,
 * NUL-terminated, with *cur moved past it; NULL at the end of the text (or
 * at an empty line: the files have none). */
char *mp_text_line(char **cur);
/* Splits line at tabs in place, keeping empty fields: up to max fields
 * into f (the last one keeps any further tabs), the fields from index from
 * on unescaped.  Returns how many. */
size_t mp_tsv_fields(char *line, char **f, size_t max, size_t from);

/* ---- CRC32C (Castagnoli), as TFRecord uses it -------------------------- */

uint32_t mp_crc32c(uint32_t crc, const void *data, size_t n);
/* TFRecord's mask: rotate right by 15 and add 0xa282ead8. */
uint32_t mp_crc32c_mask(uint32_t crc);

/* ---- record files ------------------------------------------------------ */

typedef struct mp_rec_writer {
	FILE *fp;
	char *path;
	uint64_t bytes; /* written so far */
} mp_rec_writer;

int mp_rec_writer_open(mp_rec_writer *w, const char *path, mp_err *err);
int mp_rec_write(mp_rec_writer *w, const void *data, size_t n, mp_err *err);
/* Flushes and closes; always releases w. */
int mp_rec_writer_close(mp_rec_writer *w, mp_err *err);

typedef struct mp_rec_reader {
	FILE *fp;
	char *path;
	uint64_t offset; /* of the next record */
	uint8_t *buf;
	size_t cap;
} mp_rec_reader;

int mp_rec_reader_open(mp_rec_reader *r, const char *path, mp_err *err);
/* The next record: 1 with *data (valid until the next call) and *n, 0 at
 * the end, or MP_ECORRUPT naming the file and byte offset. */
int mp_rec_read(mp_rec_reader *r, const uint8_t **data, size_t *n, mp_err *err);
void mp_rec_reader_close(mp_rec_reader *r);

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
void mp_examples_reader_close(mp_examples_reader *r);
/* The path of shard i of split in dir. */
char *mp_examples_shard_path(const char *dir, const char *split, int i);

/* ---- CSV (RFC 4180), plain or gzip ------------------------------------- */

/* The values that mean missing unless a reader is told otherwise (one per
 * line; an empty field is missing too): ExampleGen's na_values default,
 * and what mlpipe predict reads. */
#define MP_CSV_NA_DEFAULT "NA\nN/A\n#N/A\nNULL\nnull"
/* The longest CSV row read (a quoted field may span lines): 256 MB. */
#define MP_CSV_MAX_ROW (256u << 20)

/* Narrows s[0..*n) to leave out leading and trailing white space. */
static inline void mp_trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || (**s >= '\t' && **s <= '\r'))) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || ((*s)[*n - 1] >= '\t' && (*s)[*n - 1] <= '\r')))
		(*n)--;
}

typedef struct mp_csv_field {
	const char *s; /* not NUL-terminated; quotes removed, "" unescaped */
	size_t n;
	int col;    /* 1-based column of the field's first character */
	int quoted;
} mp_csv_field;

typedef struct mp_csv mp_csv;

/* A growable list of fields. */
typedef struct mp_csv_fieldlist {
	mp_csv_field *items;
	size_t n, cap;
} mp_csv_fieldlist;

/* Splits one row (without its line end) into fields, unescaping quoted
 * fields in place; path and line name the row in errors. */
int mp_csv_split_row(char *row, size_t len, char delim, mp_csv_fieldlist *fields, const char *path,
		     int64_t line, mp_err *err);

/* Opens path (gzip or plain) with a one-character delimiter. */
int mp_csv_open(mp_csv **out, const char *path, char delim, mp_err *err);
/* Reads the next row (blank lines are skipped): 1, 0 at the end, or an
 * error naming the file and line (an unterminated quote, a truncated gzip
 * stream). */
int mp_csv_next(mp_csv *c, mp_err *err);
/* The next row as it is in the file (without its line end), for a caller
 * that splits rows without quotes itself: *quoted says whether the row has
 * a quote character.  mp_csv_split then splits it into fields if needed. */
int mp_csv_next_raw(mp_csv *c, const char **row, size_t *len, int *quoted, mp_err *err);
int mp_csv_split(mp_csv *c, mp_err *err);
/* The current row's fields, valid until the next call. */
const mp_csv_field *mp_csv_fields(const mp_csv *c, size_t *n);
/* The line the current row starts on (1-based). */
int64_t mp_csv_line(const mp_csv *c);
const char *mp_csv_path(const mp_csv *c);
/* Bytes of (decompressed) input consumed so far. */
uint64_t mp_csv_bytes(const mp_csv *c);
void mp_csv_close(mp_csv *c);

/* ---- IDX (the MNIST format), plain or gzip ----------------------------- */

typedef struct mp_idx {
	void *gz;
	char *path;
	int dims;
	uint32_t shape[4];
	int64_t count;	  /* shape[0] */
	size_t item_size; /* bytes per item: the product of the other dimensions */
	uint64_t offset;  /* of the next byte */
	int64_t read;	  /* items read */
} mp_idx;

/* Opens an unsigned-byte IDX file with dims dimensions (3 for images, 1
 * for labels). */
int mp_idx_open(mp_idx *x, const char *path, int dims, mp_err *err);
/* Reads up to n items into buf (n * item_size bytes); *got gets how many.
 * A file shorter than its header says, or longer, is MP_ECORRUPT. */
int mp_idx_read(mp_idx *x, uint8_t *buf, size_t n, size_t *got, mp_err *err);
void mp_idx_close(mp_idx *x);

/* ---- statistics -------------------------------------------------------- */

#define MP_HIST_BINS 10
#define MP_STATS_VALUES 1000  /* all values are kept up to this many distinct ones */
#define MP_STATS_TOP 20	      /* beyond that, only the most frequent */
#define MP_STATS_TRACK 100000 /* distinct values counted at most */

typedef struct mp_value_count {
	char *value;
	int64_t count;
} mp_value_count;

typedef struct mp_feat_stats {
	char *name;
	mp_feat_type type;
	int64_t count;	 /* present values */
	int64_t missing; /* missing values */
	int64_t bad_values; /* numbers: of the missing, cells that were not numbers */
	int64_t numeric;    /* strings: values that read as numbers */
	/* numbers */
	double mean, std, min, max;
	int64_t zeros;
	int64_t hist[MP_HIST_BINS]; /* equal-width bins from min to max */
	/* strings */
	int64_t unique;
	int unique_capped; /* more than MP_STATS_TRACK distinct values: unique is a floor */
	int all_values;	   /* values holds every distinct value */
	double avg_len;
	mp_value_count *values; /* most frequent first */
	size_t nvalues;
} mp_feat_stats;

typedef struct mp_split_stats {
	char *name;
	int64_t rows;
	mp_feat_stats *feats;
	size_t nfeats;
	mp_name_index ix; /* feats by name, once computed or read */
} mp_split_stats;

typedef struct mp_stats {
	int64_t span; /* of the examples they describe; -1 when none */
	mp_split_stats *splits;
	size_t nsplits;
} mp_stats;

/* Two streaming passes over every split of the Examples at dir. */
int mp_stats_compute(mp_stats *out, const mp_examples_meta *m, const char *dir, mp_err *err);
/* statistics.tsv in dir: one line per split, feature and kept value. */
int mp_stats_write(const mp_stats *s, const char *dir, mp_err *err);
int mp_stats_read(mp_stats *s, const char *dir, mp_err *err);
/* The same from the file's text (changed in place); path names it in errors. */
int mp_stats_parse(mp_stats *s, char *text, const char *path, mp_err *err);
void mp_stats_release(mp_stats *s);
const mp_split_stats *mp_stats_split(const mp_stats *s, const char *name);
const mp_feat_stats *mp_stats_feature(const mp_split_stats *s, const char *name);

/* ---- the schema (schema.yaml) ------------------------------------------ */

typedef struct mp_schema_feature {
	char *name;
	mp_feat_type type;
	int required;	/* every example must have it */
	int has_range;	/* numbers: min and max hold */
	double min, max;
	int has_values; /* strings: values is the whole domain */
	char **values;
	size_t nvalues;
} mp_schema_feature;

typedef struct mp_schema {
	mp_schema_feature *features;
	size_t nfeatures;
	mp_name_index ix; /* features by name, once inferred or read */
} mp_schema;

/* Infers a schema from the statistics of split: types; required when no
 * value is missing; the observed range of numbers (with ranges); the
 * vocabulary of strings with at most max_values distinct values. */
int mp_schema_infer(mp_schema *out, const mp_stats *s, const char *split, int ranges, int max_values,
		    mp_err *err);
/* Writes YAML a person can edit; header is a comment line (or NULL). */
int mp_schema_write(const mp_schema *sc, const char *path, const char *header, mp_err *err);
/* Reads and checks a schema file; problems name its line and column. */
int mp_schema_read(mp_schema *out, const char *path, mp_err *err);
/* The same from a buffer; path names it in errors. */
int mp_schema_parse(mp_schema *out, const char *text, size_t len, const char *path, mp_err *err);
void mp_schema_release(mp_schema *sc);
const mp_schema_feature *mp_schema_find(const mp_schema *sc, const char *name);

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
	const struct mp_transform *transform;
	const int *tx_idx;
	/* A deterministic part of the split, by a hash of each example's
	 * values (so a duplicate falls on the same side): holdout_fraction of
	 * the examples.  holdout 1 reads only that part, -1 everything else,
	 * 0 the whole split.  The Trainer's validation part of train. */
	double holdout_fraction;
	int holdout;
} mp_dataset_opts;

typedef struct mp_batch {
	size_t rows;
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

/* ---- the transform (Transform's artifact, and part of every model) ------ */

typedef enum {
	MP_TX_NONE,	 /* the number as it is */
	MP_TX_ZSCORE,	 /* (x - mean) / std */
	MP_TX_MINMAX,	 /* (x - min) / (max - min) */
	MP_TX_ONEHOT,	 /* one 0/1 input per vocabulary value (unseen: all 0) */
	MP_TX_BUCKETIZE, /* one 0/1 input per bucket between equal-width bounds */
	MP_TX_DIVIDE,	 /* x / a, a constant (pixels: divide:255) */
} mp_tx_kind;

typedef struct mp_tx_feature {
	char *name;
	mp_tx_kind kind;
	double a, b;   /* zscore: mean, std; minmax: min, max; bucketize: min, max */
	int buckets;   /* bucketize */
	char **vocab;  /* onehot */
	size_t nvocab;
} mp_tx_feature;

typedef struct mp_transform mp_transform;
struct mp_transform {
	mp_tx_feature *features;
	size_t nfeatures;
	char *label;	     /* NULL without one */
	char **label_vocab;  /* a string label's classes, in index order; NULL for a number */
	size_t nlabel_vocab;
	char **label_names;  /* a numeric label's class names (ExampleGen's label_names), or NULL */
	size_t nlabel_names;
	/* a regression label z-scored for training (rules: {LABEL: zscore});
	 * predictions are put back into its units */
	int label_scaled;
	double label_mean, label_std;
	/* derived: numbers as x * scale + shift (miss when missing), per
	 * feature; all_linear when every feature is such a number */
	float *scale, *shift, *miss;
	int all_linear;
};

/* Fits a transform to the statistics of split: numbers by num_default
 * (zscore, minmax, none or divide by num_divisor), strings one-hot on their values; rules (JSON
 * {"feature": "zscore" | "minmax" | "none" | "onehot" | "bucketize:N" |
 * "drop"}, may be NULL) override per feature.  The label is kept apart.  A
 * string with more than max_vocab distinct values (0: 1000 or half the
 * split's rows, whichever is lower) is refused unless its rule is onehot. */
int mp_transform_fit(mp_transform *out, const mp_stats *st, const char *split, const char *label,
		     mp_tx_kind num_default, double num_divisor, const char *rules, int64_t max_vocab,
		     mp_err *err);
/* The class names of a numeric label, kept in the transform so that they
 * travel with the model; copied. */
int mp_transform_set_label_names(mp_transform *t, char *const *names, size_t n, mp_err *err);
/* How many inputs the transform makes. */
size_t mp_transform_width(const mp_transform *t);
/* How many inputs feature tf makes, and the name of its k-th. */
size_t mp_tx_feature_width(const mp_tx_feature *tf);
const char *mp_tx_feature_output_name(const mp_tx_feature *tf, size_t k, char *buf, size_t n);
/* The name of output i ("x", "color=red", "age[3]") into buf (linear in
 * the features: to name them all, walk the features instead). */
const char *mp_transform_output_name(const mp_transform *t, size_t i, char *buf, size_t n);
/* Text form (transform.tsv, and inside model files). */
int mp_transform_to_text(const mp_transform *t, mp_strbuf *sb);
int mp_transform_from_text(mp_transform *out, const char *text, const char *where, mp_err *err);
void mp_transform_release(mp_transform *t);

/* Where each transform feature (and the label) is in examples of meta m:
 * idx gets nfeatures + 1 entries (-1 when absent: treated as missing). */
int mp_transform_bind(const mp_transform *t, const mp_examples_meta *m, int *idx, mp_err *err);
/* Applies the transform to row r of block b into out (width floats) and
 * the label into *label (NaN when missing or an unknown class). */
void mp_transform_row(const mp_transform *t, const int *idx, const mp_block *b, size_t r, float *out,
		      float *label);
/* The same in two steps: the raw values the transform reads (nfeatures + 1
 * floats: each feature's number or vocabulary index, then the label), and
 * the arithmetic on them.  A cache can keep the first, which is smaller. */
void mp_transform_pre(const mp_transform *t, const int *idx, const mp_block *b, size_t r, float *pre);
void mp_transform_apply(const mp_transform *t, const float *pre, float *out);

/* ---- number parsing ---------------------------------------------------- */

/* Parses s[0..n) as a decimal number into *out; 0, or -1 when it is not
 * one.  Fast for the common forms (integers, short decimals), exact
 * fallback through strtod otherwise. */
int mp_parse_f32(const char *s, size_t n, float *out);

/* 64-bit FNV-1a, for deterministic hash splits. */
uint64_t mp_fnv1a(const void *data, size_t n, uint64_t h);
#define MP_FNV_SEED 0xcbf29ce484222325ULL

#endif
