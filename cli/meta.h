/* cli/meta: what the files of `mlpipe meta` share (internal).
 *
 *   cmd_meta.c        options, dispatch, runs, run, artifacts, lineage, metrics
 *   cmd_meta_diff.c   diff: two runs side by side
 *   cmd_meta_gc.c     gc: deleting what no run needs
 *   cmd_meta_stats.c  stats: an ExampleStatistics artifact's numbers
 *   cmd_meta_trials.c trials: a Tuner's trials
 *   meta_util.c       printing and argument helpers
 */
#ifndef MP_CLI_META_H
#define MP_CLI_META_H

#include "cli/cli.h"
#include "core/json.h"
#include "metadata/store.h"

typedef struct meta_ctx {
	mp_store *st;
	int json;
	const char *db;
	/* options of the subcommands */
	const char *pipeline, *limit, *type, *run, *name, *component, *depth, *older_than, *split;
	int all, up, down, all_steps, dry_run;
	char *pos[3];
	int npos;
} meta_ctx;

int mp__meta_fail(mp_err *err);
void mp__meta_print_table(mp_table *t);
const char *mp__meta_fmt_value(char *buf, size_t n, double v);
void mp__meta_json_props(mp_json *j, const mp_prop *props, size_t n);
void mp__meta_json_time(mp_json *j, const char *key, int64_t ms);
int64_t mp__meta_run_duration(const mp_run *r);
int mp__meta_parse_run_arg(mp_store *st, const char *s, int64_t *id, mp_err *err);

int mp__meta_diff(meta_ctx *c, mp_err *err);
int mp__meta_gc(meta_ctx *c, mp_err *err);
int mp__meta_stats(meta_ctx *c, mp_err *err);
int mp__meta_trials(meta_ctx *c, mp_err *err);

#endif
