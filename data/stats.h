/* data/stats: per-split, per-feature statistics of an Examples artifact
 * (StatisticsGen's output), computed in two streaming passes, and their
 * statistics.tsv. */
#ifndef MP_DATA_STATS_H
#define MP_DATA_STATS_H

#include <stdint.h>
#include "core/core.h"
#include "data/examples.h"

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

/* Two streaming passes over every split of the Examples at dir, the blocks
 * decoded and measured on threads workers (0: in the caller's thread);
 * the figures do not depend on threads. */
int mp_stats_compute(mp_stats *out, const mp_examples_meta *m, const char *dir, int threads, mp_err *err);
/* statistics.tsv in dir: one line per split, feature and kept value. */
int mp_stats_write(const mp_stats *s, const char *dir, mp_err *err);
int mp_stats_read(mp_stats *s, const char *dir, mp_err *err);
/* The same from the file's text (changed in place); path names it in errors. */
int mp_stats_parse(mp_stats *s, char *text, const char *path, mp_err *err);
void mp_stats_release(mp_stats *s);
const mp_split_stats *mp_stats_split(const mp_stats *s, const char *name);
const mp_feat_stats *mp_stats_feature(const mp_split_stats *s, const char *name);

#endif
