/* eval/evaluation: the Evaluator's two files, with one writer and one
 * reader each, so that the Evaluator, the Pusher and the reports agree.
 *
 *   evaluation.tsv  "mlpipe-evaluation 1", then lines
 *                     split NAME · examples N · metric NAME VALUE
 *                     class I precision P recall R f1 F support N
 *                     confusion I COUNT...
 *                     slice FEATURE VALUE examples N (METRIC VALUE)...
 *   blessing.tsv    "mlpipe-blessing 1", then lines
 *                     threshold METRIC KIND LIMIT value V [baseline B] RESULT
 *                     blessed yes|no · baseline yes|none
 *                     model_fingerprint HEX · baseline_fingerprint HEX|none
 *   infra_blessing.tsv  "mlpipe-infra-blessing 1", then lines (InfraValidator's)
 *                     blessed yes|no · reason TEXT · requests N
 *                     latency_p50_ms MS · latency_max_ms MS
 *
 * Fields are tab-separated and escaped (core/tsv.h); numbers are written
 * with %.9g, and a value that does not read as one is NaN (shown as
 * unknown); counts and the lines' shapes are checked.  Readers skip lines they do not know, so a newer writer's
 * additions do not break an older reader.
 */
#ifndef MP_EVAL_EVALUATION_H
#define MP_EVAL_EVALUATION_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef struct mp_named_value {
	char *name;
	double value;
} mp_named_value;

typedef struct mp_class_row {
	double precision, recall, f1;
	int64_t support;
} mp_class_row;

typedef struct mp_slice_row {
	char *feature, *value;
	int64_t examples;
	mp_named_value *metrics;
	size_t nmetrics;
} mp_slice_row;

typedef struct mp_evaluation {
	char *split;
	int64_t examples;
	mp_named_value *metrics;
	size_t nmetrics;
	mp_class_row *classes;
	size_t nclasses;
	int64_t *confusion; /* nclasses x nclasses (true class by row), or NULL */
	mp_slice_row *slices;
	size_t nslices;
} mp_evaluation;

/* The text of e (appended to sb). */
void mp_evaluation_format(const mp_evaluation *e, mp_strbuf *sb);
/* Reads dir/evaluation.tsv; a file that is not one is MP_ECORRUPT. */
int mp_evaluation_read(mp_evaluation *e, const char *dir, mp_err *err);
/* The same from the file's text (changed in place); path names it in errors. */
int mp_evaluation_parse(mp_evaluation *e, char *text, const char *path, mp_err *err);
void mp_evaluation_release(mp_evaluation *e);
/* The value of metric name, or NaN. */
double mp_evaluation_metric(const mp_evaluation *e, const char *name);

typedef enum { MP_THRESHOLD_HELD, MP_THRESHOLD_FAILED, MP_THRESHOLD_NO_BASELINE } mp_threshold_result;

typedef struct mp_threshold_row {
	char *metric, *kind; /* kind: min, max, max_drop, max_rise */
	double limit, value;
	int has_baseline;
	double baseline;
	mp_threshold_result result;
} mp_threshold_row;

typedef struct mp_blessing {
	mp_threshold_row *thresholds;
	size_t nthresholds;
	int blessed;
	int has_baseline;
	/* the content hashes of the model judged and of its baseline: "none"
	 * for no baseline, "" when the file does not say (an older one) */
	char model_fp[MP_HASH_HEX], baseline_fp[MP_HASH_HEX];
} mp_blessing;

void mp_blessing_format(const mp_blessing *b, mp_strbuf *sb);
int mp_blessing_read(mp_blessing *b, const char *dir, mp_err *err);
int mp_blessing_parse(mp_blessing *b, char *text, const char *path, mp_err *err);
void mp_blessing_release(mp_blessing *b);

typedef struct mp_infra_blessing {
	int blessed;
	char reason[MP_ERR_MAX];
	size_t requests;
	double p50_ms, max_ms; /* NaN without requests */
} mp_infra_blessing;

void mp_infra_blessing_format(const mp_infra_blessing *b, mp_strbuf *sb);
int mp_infra_blessing_read(mp_infra_blessing *b, const char *dir, mp_err *err);
int mp_infra_blessing_parse(mp_infra_blessing *b, char *text, const char *path, mp_err *err);

#endif
