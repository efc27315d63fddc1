/* metadata: the SQLite store that records what every run did, in ML
 * Metadata's model.
 *
 * Types name kinds of artifacts (Examples, Model, ...), executions (component
 * types) and contexts (pipeline, pipeline_run).  A pipeline_run context groups
 * the executions of one run (associations) and the artifacts they touched
 * (attributions); events link artifacts to executions as INPUT or OUTPUT with
 * the input's or output's name.  Metrics are (execution, name, step, value).
 * The schema is documented in docs/metadata.md.
 *
 * Every recording call is one transaction (BEGIN IMMEDIATE, so two processes
 * writing at once wait for each other instead of failing).  Only the
 * orchestrator and `mlpipe meta` open a store; components never do.
 *
 * Strings passed in are borrowed for the duration of the call.  Structs
 * filled by queries own their strings; release them with the matching
 * *_release function, which accepts a zeroed or already released struct.
 */
#ifndef MP_METADATA_STORE_H
#define MP_METADATA_STORE_H

#include "core/core.h"

#define MP_STORE_SCHEMA_VERSION 1

typedef struct mp_store mp_store;

enum {
	MP_STORE_CREATE = 1 << 0, /* create the database file when missing */
};

/* Opens (and, with MP_STORE_CREATE, creates) the store at path and brings an
 * older schema up to date.  A file that is not an SQLite database, an SQLite
 * database that is not an mlpipe store, and a store written by a newer mlpipe
 * are refused without being changed.  *out is owned by the caller: close it
 * with mp_store_close. */
int mp_store_open(mp_store **out, const char *path, unsigned flags, mp_err *err);
void mp_store_close(mp_store *st); /* accepts NULL */
int mp_store_schema_version(mp_store *st);
const char *mp_store_path(const mp_store *st);
/* Milliseconds to wait for another writer before giving up (default 30000). */
void mp_store_set_busy_timeout(mp_store *st, int ms);
/* Replaces the wall clock (for tests); NULL restores it. */
void mp_store_set_clock(mp_store *st, int64_t (*now_ms)(void *ud), void *ud);

/* ---- values ------------------------------------------------------------ */

typedef enum {
	MP_EXEC_NEW,
	MP_EXEC_RUNNING,
	MP_EXEC_COMPLETE,
	MP_EXEC_FAILED,
	MP_EXEC_CACHED,
	MP_EXEC_CANCELED,
} mp_exec_state;

/* "COMPLETE" etc.; parse returns MP_EINVAL for an unknown name. */
const char *mp_exec_state_name(mp_exec_state s);
int mp_exec_state_parse(const char *name, mp_exec_state *out);

typedef enum { MP_TYPE_ARTIFACT, MP_TYPE_EXECUTION, MP_TYPE_CONTEXT } mp_type_kind;

typedef enum { MP_PROP_INT, MP_PROP_DOUBLE, MP_PROP_STRING } mp_prop_kind;

/* A typed property.  Passed in: all strings borrowed.  Filled by a query:
 * name and s are owned by the struct holding the array. */
typedef struct mp_prop {
	const char *name;
	mp_prop_kind kind;
	int64_t i;
	double d;
	const char *s;
} mp_prop;

#define MP_PROP_I(n, v) ((mp_prop){.name = (n), .kind = MP_PROP_INT, .i = (v)})
#define MP_PROP_D(n, v) ((mp_prop){.name = (n), .kind = MP_PROP_DOUBLE, .d = (v)})
#define MP_PROP_S(n, v) ((mp_prop){.name = (n), .kind = MP_PROP_STRING, .s = (v)})

/* The property's value as text ("42", "0.5", "abc") into buf. */
const char *mp_prop_format(const mp_prop *p, char *buf, size_t n);
/* The named property in an array, or NULL. */
const mp_prop *mp_prop_find(const mp_prop *props, size_t n, const char *name);

typedef struct mp_metric {
	const char *name;
	int64_t step;
	double value; /* NaN is stored as NULL and read back as NaN */
} mp_metric;

/* ---- recording --------------------------------------------------------- */

/* Registers a type (idempotent) and returns its id. */
int mp_store_register_type(mp_store *st, mp_type_kind kind, const char *name,
			   const char *version, int64_t *id, mp_err *err);

/* Starts a run of pipeline: creates the pipeline context when it is new
 * (root is where its artifacts live; gc removes nothing outside it) and a
 * pipeline_run context in state RUNNING carrying params. */
int mp_store_begin_run(mp_store *st, const char *pipeline, const char *root,
		       const mp_prop *params, size_t nparams, int64_t *run_id,
		       mp_err *err);
/* state is MP_EXEC_COMPLETE, MP_EXEC_FAILED or MP_EXEC_CANCELED. */
int mp_store_end_run(mp_store *st, int64_t run_id, mp_exec_state state, mp_err *err);

/* Which process runs a run (properties mlpipe.pid and mlpipe.host, kept
 * out of the run's params), so a later process can tell a live run from one
 * whose orchestrator died. */
int mp_store_set_run_owner(mp_store *st, int64_t run_id, int64_t pid, const char *host,
			   mp_err *err);
/* host gets "" and *pid 0 when none was recorded. */
int mp_store_get_run_owner(mp_store *st, int64_t run_id, int64_t *pid, char *host,
			   size_t hostsz, mp_err *err);
/* The configuration a run began with: its property mlpipe.NAME (given to
 * mp_store_begin_run with its params; names with that prefix are kept out
 * of the params shown) with name without the prefix ("pipeline_hash").
 * Fills *value (the caller frees it), or returns MP_ENOTFOUND when the run
 * recorded none. */
int mp_store_get_run_config(mp_store *st, int64_t run_id, const char *name, char **value,
			    mp_err *err);
/* The job an execution runs as, for executors whose work outlives the
 * orchestrator (a Slurm job id): properties mlpipe.executor and
 * mlpipe.job_id, kept out of the params shown.  get returns MP_ENOTFOUND
 * when none was recorded. */
int mp_store_set_execution_job(mp_store *st, int64_t exec_id, const char *executor, const char *job_id,
			       mp_err *err);
int mp_store_get_execution_job(mp_store *st, int64_t exec_id, char *executor, size_t esz, char *job_id,
			       size_t jsz, mp_err *err);
/* Puts an ended run back in state RUNNING (for --resume). */
int mp_store_reopen_run(mp_store *st, int64_t run_id, mp_err *err);
/* Marks the run's RUNNING executions FAILED with reason; *n (n may be NULL)
 * gets how many. */
int mp_store_fail_running(mp_store *st, int64_t run_id, const char *reason, int *n,
			  mp_err *err);

typedef struct mp_input {
	const char *name; /* the input's name in the component ("examples") */
	int64_t artifact_id;
} mp_input;

typedef struct mp_exec_spec {
	int64_t run_id;
	const char *component_id;   /* "train" */
	const char *component_type; /* "Trainer"; registered when new */
	const char *cache_key;	    /* NULL when caching is off */
	const mp_prop *params;
	size_t nparams;
	const mp_input *inputs;
	size_t ninputs;
} mp_exec_spec;

/* Records an execution in state RUNNING with its params and INPUT events. */
int mp_store_begin_execution(mp_store *st, const mp_exec_spec *spec,
			     int64_t *exec_id, mp_err *err);

typedef struct mp_output {
	const char *name;	 /* the output's name ("model") */
	const char *type;	 /* artifact type ("Model"); registered when new */
	const char *uri;	 /* where its files are */
	const char *fingerprint; /* content hash, or NULL */
	const mp_prop *props;
	size_t nprops;
	int64_t id; /* filled in: the new artifact's id */
} mp_output;

typedef struct mp_exec_result {
	mp_exec_state state;	 /* COMPLETE, FAILED or CANCELED */
	const char *exit_reason; /* NULL, or one line saying why it ended */
	mp_output *outputs;	 /* only with COMPLETE; ids are filled in */
	size_t noutputs;
	const mp_metric *metrics;
	size_t nmetrics;
} mp_exec_result;

/* Ends a RUNNING execution: its state, outputs (LIVE artifacts with OUTPUT
 * events, attributed to the run and pipeline) and metrics, in one
 * transaction. */
int mp_store_finish_execution(mp_store *st, int64_t exec_id, mp_exec_result *res,
			      mp_err *err);

/* Records a CACHED execution that reuses the outputs of source_exec (an
 * earlier COMPLETE execution): OUTPUT events point at the same artifacts. */
int mp_store_record_cached(mp_store *st, const mp_exec_spec *spec,
			   int64_t source_exec, int64_t *exec_id, mp_err *err);

int mp_store_record_metric(mp_store *st, int64_t exec_id, const char *name,
			   int64_t step, double value, mp_err *err);

/* The newest COMPLETE execution with cache_key whose outputs are all LIVE;
 * MP_ENOTFOUND when there is none. */
int mp_store_find_cached(mp_store *st, const char *cache_key, int64_t *exec_id,
			 mp_err *err);

/* "LIVE", "MARKED_FOR_DELETION", "DELETED". */
int mp_store_set_artifact_state(mp_store *st, int64_t artifact_id,
				const char *state, mp_err *err);

/* ---- queries ----------------------------------------------------------- */

typedef struct mp_artifact {
	int64_t id;
	char *type;
	char *name; /* the output name it was produced under */
	char *uri;
	char *state;
	char *fingerprint;
	int64_t create_time_ms;
	int64_t producer_id; /* the execution that produced it; 0 if none */
	char *producer;	     /* that execution's component id */
	char *pipeline;
	char *root; /* the pipeline's artifact root */
	mp_prop *props;
	size_t nprops;
} mp_artifact;

typedef struct mp_artifact_list {
	mp_artifact *items;
	size_t n;
} mp_artifact_list;

void mp_artifact_release(mp_artifact *a);
void mp_artifact_list_release(mp_artifact_list *l);

typedef struct mp_artifact_filter {
	const char *type;     /* NULL: any */
	const char *pipeline; /* NULL: any */
	int64_t run_id;	      /* 0: any */
	int include_deleted;  /* 0: DELETED artifacts are left out */
	int64_t limit;	      /* > 0: only the newest limit of them */
	int64_t before_id;    /* > 0: only ids below it (to page back with limit) */
} mp_artifact_filter;

int mp_store_get_artifact(mp_store *st, int64_t id, mp_artifact *out, mp_err *err);
/* Oldest first.  The store is read newest first, so a limited list costs
 * what it returns, however old the store. */
int mp_store_list_artifacts(mp_store *st, const mp_artifact_filter *f,
			    mp_artifact_list *out, mp_err *err);
/* The newest LIVE artifact of type in pipeline whose property prop equals
 * value (prop NULL: any); MP_ENOTFOUND when none. */
int mp_store_latest_artifact(mp_store *st, const char *pipeline, const char *type,
			     const mp_prop *prop, mp_artifact *out, mp_err *err);

typedef struct mp_run {
	int64_t id;
	char *name;
	char *pipeline;
	char *state;
	int64_t start_ms;
	int64_t end_ms; /* 0 while running */
	int executed, cached, failed, canceled;
	mp_prop *params;
	size_t nparams;
} mp_run;

typedef struct mp_run_list {
	mp_run *items;
	size_t n;
} mp_run_list;

void mp_run_release(mp_run *r);
void mp_run_list_release(mp_run_list *l);

/* Newest first; pipeline NULL for all; limit 0 for no limit. */
int mp_store_list_runs(mp_store *st, const char *pipeline, int64_t limit,
		       mp_run_list *out, mp_err *err);
/* The id of the run named name ("demo#3"). */
int mp_store_find_run(mp_store *st, const char *name, int64_t *id, mp_err *err);
/* id 0 means the newest run (of pipeline, when given). */
int mp_store_get_run(mp_store *st, int64_t id, const char *pipeline, mp_run *out,
		     mp_err *err);

typedef struct mp_event_row {
	int is_output;
	char *name;
	int64_t artifact_id;
	char *artifact_type;
	char *uri;
} mp_event_row;

typedef struct mp_metric_row {
	char *name;
	int64_t step;
	double value;
} mp_metric_row;

typedef struct mp_execution {
	int64_t id;
	int64_t run_id;
	char *component_id;
	char *type;
	char *state;
	char *cache_key;
	char *exit_reason;
	int64_t cached_from; /* 0 unless CACHED */
	int64_t start_ms, end_ms;
	mp_prop *params;
	size_t nparams;
	mp_event_row *events; /* inputs, then outputs */
	size_t nevents;
	/* Metrics by name and step; for a CACHED execution those of the
	 * execution it reused. */
	mp_metric_row *metrics;
	size_t nmetrics;
} mp_execution;

typedef struct mp_execution_list {
	mp_execution *items;
	size_t n;
} mp_execution_list;

/* Whether metric row i is the one that stands for the execution's value of
 * its name: step 0 when the execution recorded one (a summary, such as the
 * Trainer's metrics of the weights it kept), else the last step.  Steps
 * above 0 are a curve (epochs). */
int mp_execution_metric_is_summary(const mp_execution *e, size_t i);

void mp_execution_release(mp_execution *e);
void mp_execution_list_release(mp_execution_list *l);

int mp_store_get_execution(mp_store *st, int64_t id, mp_execution *out, mp_err *err);
/* In the order they started. */
int mp_store_run_executions(mp_store *st, int64_t run_id, mp_execution_list *out,
			    mp_err *err);

typedef struct mp_metric_point {
	int64_t run_id;
	int64_t execution_id; /* the execution that measured it */
	int64_t time_ms;      /* when the run started */
	char *pipeline;
	char *component_id;
	char *name;
	int64_t step;
	double value;
} mp_metric_point;

typedef struct mp_metric_history {
	mp_metric_point *items;
	size_t n;
} mp_metric_history;

void mp_metric_history_release(mp_metric_history *h);

typedef struct mp_metric_filter {
	const char *name;	  /* NULL: every metric */
	const char *pipeline;	  /* NULL: every pipeline */
	const char *component_id; /* NULL: every component */
	int all_steps;		  /* 0: only each execution's last step */
	int64_t limit;		  /* > 0: only the newest limit points */
} mp_metric_filter;

/* One point per run (and step, with all_steps), oldest run first.  A run
 * that reused a cached execution shows the metrics of the one it reused.
 * Runs are walked newest first when limited, so the cost follows the points
 * asked for, not the size of the store. */
int mp_store_metric_history(mp_store *st, const mp_metric_filter *f,
			    mp_metric_history *out, mp_err *err);

typedef enum { MP_LINEAGE_UP, MP_LINEAGE_DOWN } mp_lineage_dir;

typedef struct mp_lineage_node {
	int depth;	  /* 0 is the artifact asked about */
	int is_execution; /* else an artifact */
	int64_t id;
	char *label;  /* artifact type, or component id */
	char *detail; /* artifact uri, or component type */
	char *state;
	char *via;    /* the event name linking it to its parent in the tree */
	int repeated; /* already shown above; its subtree is not repeated */
	size_t parent; /* the index of the node it was reached from (0 at the top) */
} mp_lineage_node;

typedef struct mp_lineage {
	mp_lineage_node *items; /* depth-first, parents before children */
	size_t n;
	int truncated; /* stopped at max_nodes with more to show */
} mp_lineage;

void mp_lineage_release(mp_lineage *l);

/* The tree of executions and artifacts an artifact came from (UP: its
 * producer, that producer's inputs, ...) or what was derived from it (DOWN).
 * max_depth 0 means no limit; with max_nodes, the walk stops once that
 * many nodes besides the artifact are out (setting truncated when more were
 * left).  MP_ENOTFOUND for an unknown artifact. */
int mp_store_lineage(mp_store *st, int64_t artifact_id, mp_lineage_dir dir,
		     int max_depth, size_t max_nodes, mp_lineage *out, mp_err *err);

/* Artifacts gc may delete: LIVE or MARKED_FOR_DELETION, created before
 * cutoff_ms, not a PushedModel, not an input of a COMPLETE Pusher execution
 * and not an input of a RUNNING execution.  Oldest first. */
int mp_store_gc_candidates(mp_store *st, int64_t cutoff_ms, mp_artifact_list *out,
			   mp_err *err);

#endif
