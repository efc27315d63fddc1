/* Reports: one self-contained HTML file (inline SVG and CSS, no scripts)
 * drawn from the metadata store and the artifacts it points at.
 *
 * A run report: the DAG with each component's state and duration, the
 * executions, per-epoch training curves, the evaluation (metrics, the
 * confusion matrix as a heat map, slices), the blessing and its
 * thresholds, data statistics with anomalies, and what was pushed where.
 *
 * A history report: each Evaluator metric across the runs of a pipeline
 * (pushed, blessed and not blessed runs marked), run durations and cache
 * hit rates, and a table of the runs.
 */
#ifndef MP_ORCHESTRATOR_REPORT_H
#define MP_ORCHESTRATOR_REPORT_H

#include "core/core.h"
#include "metadata/store.h"

/* The report of run run_id (0: the newest, of pipeline when given). */
int mp_report_run(mp_store *st, int64_t run_id, const char *pipeline, mp_strbuf *html, mp_err *err);
int mp_report_history(mp_store *st, const char *pipeline, mp_strbuf *html, mp_err *err);

#endif
