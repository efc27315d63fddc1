/* orchestrator/runner: what the files of one run share (internal; see
 * run.h for the public face).
 *
 *   run.c       the run loop: ready components start, ended ones are
 *               published, retried or failed; signals stop the run
 *   nodes.c     where an input comes from
 *   cache.c     cache keys
 *   resolve.c   inputs found in the store (a baseline, a base model)
 *   publish.c   staging folders, publishing outputs, recording executions
 *   resume.c    resuming a run and settling runs whose orchestrator died
 *   exec_local.c  the local executor (executor.h)
 */
#ifndef MP_ORCHESTRATOR_RUNNER_H
#define MP_ORCHESTRATOR_RUNNER_H

#include <sys/types.h>

#include "metadata/store.h"
#include "orchestrator/executor.h"
#include "orchestrator/pipeline.h"
#include "orchestrator/run.h"

typedef enum {
	N_PENDING,
	N_RUNNING,
	N_DONE,	    /* ran in this process */
	N_CACHED,   /* reused an earlier execution's outputs */
	N_REUSED,   /* completed earlier in the run being resumed */
	N_FAILED,
	N_CANCELED,
} mp__node_state;

/* One component of the run. */
typedef struct mp__node {
	const mp_pl_component *c;
	mp__node_state state;
	int64_t exec_id;
	/* per output of c, once known */
	int64_t *out_ids;
	char **out_uris;
	char **out_fps;
	char key[MP_HASH_HEX];
	int64_t resume_exec; /* the execution of the resumed run to reuse, or 0 */
	int64_t reattach_exec; /* the resumed run's execution whose job still runs (or ended), or 0 */
	char reattach[64];     /* that job's id, until it is attached */
	/* inputs found in the store (mp_resolve_spec), not wired in the file */
	const char **extra_names;
	int64_t *extra_ids;
	char **extra_uris, **extra_fps;
	size_t nextra;
	/* while running */
	const mp_executor *ex;
	void *job; /* the executor's handle */
	int attempt;
	int64_t start_ns, deadline_ns, kill_ns;
	int timed_out, stopped;
	char *staging; /* <pdir>/.staging/<exec id> */
	char *log;     /* <pdir>/.logs/<exec id>-<component>.log */
	char *scratch; /* <pdir>/.scratch/<component>-<cache key>: kept across retries and resumes */
	off_t log_start; /* where this attempt's part of the log begins */
} mp__node;

typedef struct mp__runner {
	const mp_pipeline *p;
	const mp_run_opts *o;
	mp_store *st;
	mp__node *nodes;
	char *pdir; /* <root>/<pipeline> */
	int64_t run_id;
	int running;
	int idw; /* width of the widest component id, for aligned lines */
	int stopping;
	mp_run_outcome *out;
} mp__runner;

/* The upstream node an input comes from, and which of its outputs (-1
 * when it has none of that name). */
mp__node *mp__input_source(mp__runner *R, const mp_pl_input *in, int *out_idx);
int mp__alloc_outputs(mp__node *n, mp_err *err);

/* cache.c: resolves n's store inputs and computes n->key. */
int mp__compute_key(mp__runner *R, mp__node *n, mp_err *err);

/* resolve.c: the inputs n's type finds in the store (mp_resolve_spec). */
int mp__resolve_inputs(mp__runner *R, mp__node *n, mp_err *err);

/* publish.c */
typedef struct mp__exec_args { /* the store's view of n's params and inputs */
	mp_prop *params; /* with not_produced: the optional outputs left out, "a,b" */
	mp_input *inputs;
	mp_exec_spec spec;
	char *not_produced;
} mp__exec_args;
int mp__exec_args_make(mp__runner *R, mp__node *n, int with_inputs, mp__exec_args *a, mp_err *err);
void mp__exec_args_release(mp__exec_args *a);
/* Records n as CANCELED (it never started) with reason. */
int mp__record_canceled(mp__runner *R, mp__node *n, const char *reason, mp_err *err);
/* Records n's end as FAILED or CANCELED with reason. */
int mp__record_end(mp__runner *R, mp__node *n, mp_exec_state state, const char *reason, mp_err *err);
/* Takes the outputs of execution exec_id when every one is there: 1, 0
 * when not, or a negative MP_E*. */
int mp__take_outputs(mp__runner *R, mp__node *n, int64_t exec_id, const char *want_key, mp_err *err);
char *mp__staging_output(const mp__node *n, size_t i);
int mp__prepare_staging(mp__node *n, mp_err *err);
void mp__discard_staging(const char *staging);
/* Moves the staged outputs into place and records n as COMPLETE. */
int mp__publish(mp__runner *R, mp__node *n, mp_err *err);

/* resume.c */
/* Finds the run to resume (R->o->resume), checks it may be, and marks the
 * nodes whose executions it completed. */
int mp__prepare_resume(mp__runner *R, mp_err *err);
/* Settles the runs of this pipeline whose orchestrator is gone. */
int mp__sweep_dead_runs(mp__runner *R, mp_err *err);
/* The --set overrides as recorded with a run: joined by newlines. */
char *mp__join_sets(char *const *sets, size_t n);

#endif
