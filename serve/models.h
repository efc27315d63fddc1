/* serve/models: the models a server serves and their versions.
 *
 * Each model has a base folder whose numbered subfolders are versions
 * (the Pusher's <destination>/<N>/, published whole by a rename, so a
 * folder still being written is never one).  mp_models_poll loads a new
 * version off the request path and swaps it in atomically: requests that
 * hold the old one finish on it, and it is freed when the last lets go.
 * The policy is TF Serving's: the latest version by default, or the
 * latest N, all, or specific ones (a model config file), with labels.  A
 * version that does not load is refused with a log line and not tried
 * again; the one being served keeps serving.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef MP_SERVE_MODELS_H
#define MP_SERVE_MODELS_H

#include <pthread.h>
#include <stdio.h>

#include "core/core.h"
#include "export/export.h"
#include "serve/batch.h"
#include "serve/config.h"
#include "serve/metrics.h"

typedef struct mp_models mp_models;

/* A request's workspaces: a view of a version's model (mp_served_view)
 * with a block and predictions for max_batch rows, used under mu. */
typedef struct mp_sslot {
	pthread_mutex_t mu;
	mp_served s;
	mp_block blk;
	float *pred;
} mp_sslot;

/* One loaded version.  s (read only) and its slots may be used between
 * mp_models_acquire and mp_models_release. */
typedef struct mp_sversion {
	long version;
	char *model;	   /* its model's name */
	mp_serve_metrics *metrics;
	mp_served s;
	mp_sslot *slots;   /* one per request thread: requests run at once */
	int nslots;
	mp_batcher *batch; /* with batching on: small requests share GEMMs */
	int refs;    /* under the models' lock */
	int retired; /* no longer served: freed at the last release */
} mp_sversion;

/* Makes v's n slots over its loaded s (a slot per request thread, made at
 * load so that a request allocates nothing for its rows); on failure
 * those made are freed with the version. */
int mp_sversion_make_slots(mp_sversion *v, int n, mp_err *err);
/* The calling thread's slot of v, locked; give it back with
 * mp_sversion_unslot. */
mp_sslot *mp_sversion_slot(mp_sversion *v);
void mp_sversion_unslot(mp_sslot *slot);

/* Versions are loaded for batches of up to max_batch rows; load and
 * refusal lines go to log (NULL: none). */
int mp_models_new(mp_models **out, int max_batch, FILE *log, mp_err *err);
void mp_models_free(mp_models *M);
/* Versions loaded from now on have workspaces for threads request
 * threads at once (default 1). */
void mp_models_set_threads(mp_models *M, int threads);
/* Versions loaded from now on batch concurrent small requests, waiting
 * up to timeout_us for a batch to fill (0: no batching), with up to
 * batch_threads batches predicting at once. */
void mp_models_set_batching(mp_models *M, long timeout_us, int batch_threads);
/* Loads and refusals are counted in metrics from now on (NULL: not). */
void mp_models_set_metrics(mp_models *M, mp_serve_metrics *metrics);
/* Serves the versions under base as name. */
int mp_models_add(mp_models *M, const char *name, const char *base, mp_err *err);
/* Serves what cfg says: models added, changed (base folder, version
 * policy, labels) or, when cfg no longer names them, dropped. */
int mp_models_configure(mp_models *M, const mp_serve_config *cfg, mp_err *err);
/* Looks at every base folder: loads a new latest version, retires the
 * ones the policy no longer serves.  Returns how many versions it loaded. */
int mp_models_poll(mp_models *M);

/* The version of model name to answer with (version 0: the latest; with
 * label, the version the label names), held
 * until mp_models_release.  MP_ENOTFOUND (an unknown model or version:
 * HTTP 404) or MP_EBUSY (nothing loaded yet: 503), with the message. */
int mp_models_acquire(mp_models *M, const char *name, long version, const char *label, mp_sversion **out,
		      mp_err *err);
void mp_models_release(mp_models *M, mp_sversion *v);

/* TF Serving's model status as JSON into sb: every version served (or
 * only version, when not 0) with its state. */
int mp_models_status(mp_models *M, const char *name, long version, const char *label, mp_strbuf *sb, mp_err *err);

#endif
