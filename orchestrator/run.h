/* The executor: runs a validated pipeline and records it in the store.
 *
 * Components start in dependency order, up to `jobs` at a time, each in a
 * child process of its own (its own process group, stdout and stderr in a
 * log file) with its timeout and retries.  Outputs are written into
 * <root>/<pipeline>/.staging/<execution id>/<output> and published by
 * renaming them to <root>/<pipeline>/<component>/<output>/<execution id> only
 * when the component succeeded; the execution, its events, output properties
 * and metrics are then recorded in one transaction.  Only this process
 * writes to the store.
 *
 * Caching: a component's cache key is the SHA-256 of its pipeline and id,
 * its type and implementation version, its canonical params, the content of
 * the files its path params name, the fingerprints (content hashes) of its
 * input artifacts and its outputs' names and types.  An earlier COMPLETE
 * execution with the same key whose outputs still exist is reused and the
 * component recorded as CACHED.
 *
 * A failed component cancels what depends on it; independent branches go
 * on.  SIGINT or SIGTERM stops the children (SIGTERM, then SIGKILL after a
 * grace period), records the run as CANCELED and removes staging folders.
 */
#ifndef MP_ORCHESTRATOR_RUN_H
#define MP_ORCHESTRATOR_RUN_H

#include <stdio.h>

#include "metadata/store.h"
#include "orchestrator/pipeline.h"

typedef struct mp_run_opts {
	int jobs;	    /* components at once; 0 means 1 */
	int no_cache;	    /* run everything, reuse nothing */
	int dry_run;	    /* print what would run and what would be cached */
	const char *resume; /* NULL, or a run id, a run name or "last" */
	FILE *out;	    /* progress lines; NULL for none */
	int show_starts;    /* also a line when a component starts */
	int grace_ms;	    /* from SIGTERM to SIGKILL for a stopped child; 0: 5000 */
} mp_run_opts;

typedef struct mp_run_outcome {
	int64_t run_id;
	char run_name[128];
	mp_exec_state state; /* COMPLETE, FAILED or CANCELED */
	int ran, cached, reused, failed, canceled;
	int64_t elapsed_ms;
	int stop_signal; /* the signal that stopped the run, or 0 */
	int already_complete; /* --resume of a COMPLETE run: nothing was done */
} mp_run_outcome;

/* Runs p (or, with dry_run, says what would run).  Returns 0 when the run
 * was carried out, whatever its outcome (see out->state); a negative MP_E*
 * when it could not be: the store could not be opened, the run to resume
 * does not exist or is still running elsewhere, or its pipeline file or
 * --set overrides are not those it began with.  Resuming a COMPLETE run
 * does nothing and sets out->already_complete. */
int mp_run_pipeline(const mp_pipeline *p, const mp_run_opts *o, mp_run_outcome *out,
		    mp_err *err);

/* The --set overrides the run `which` (as for --resume) began with, joined
 * by newlines, into *sets (the caller frees it; "" for none, and NULL when
 * the run recorded none).  So that `--resume RUN` alone finishes a run that
 * began with --set. */
int mp_run_recorded_sets(const mp_pipeline *p, const char *which, char **sets, mp_err *err);

/* The cache key of component c given the fingerprints of its inputs (in
 * c->inputs order; NULL entries stand for unknown content). */
int mp_cache_key(const mp_pipeline *p, const mp_pl_component *c,
		 const char *const *input_fps, char key[MP_HASH_HEX], mp_err *err);

#endif
