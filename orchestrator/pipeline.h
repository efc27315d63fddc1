/* The pipeline file: YAML in, a validated DAG out.
 *
 * mp_pipeline_load reads the whole file and checks everything before
 * anything runs: unknown keys, wrong types, missing or unknown params,
 * unknown component types, dangling references, duplicate ids and cycles.
 * Every problem becomes one line "file:line:column: message" in diags; all
 * are reported, not only the first.  Relative paths are relative to the
 * pipeline file. */
#ifndef MP_ORCHESTRATOR_PIPELINE_H
#define MP_ORCHESTRATOR_PIPELINE_H

#include "components/component.h"
#include "core/core.h"
#include "orchestrator/cron.h"

/* A list of one-line problems, in the order found. */
typedef struct mp_diags {
	char **items;
	size_t n, alloc;
} mp_diags;

void mp_diags_add(mp_diags *d, const char *fmt, ...) MP_PRINTF(2, 3);
void mp_diags_release(mp_diags *d);

typedef struct mp_pl_value {
	char *name;
	char *value; /* canonical text: what the component gets and the cache key hashes */
	int line, col;
} mp_pl_value;

typedef struct mp_pl_input {
	char *name;
	int src;      /* index of the component it comes from */
	char *output; /* that component's output */
	int line, col;
} mp_pl_input;

typedef struct mp_pl_output {
	char *name;
	char *type;
} mp_pl_output;

/* Where a component runs (executor: {kind: ..., ...}); for the pipeline
 * block, every component's default, field by field. */
typedef enum { MP_EXEC_KIND_UNSET, MP_EXEC_KIND_LOCAL, MP_EXEC_KIND_SLURM } mp_exec_kind;
typedef struct mp_pl_exec {
	mp_exec_kind kind;
	char *partition, *time, *mem; /* NULL: Slurm's default */
	int cpus;		      /* 0: Slurm's default */
	char **extra;		      /* more sbatch arguments */
	size_t nextra;
} mp_pl_exec;

typedef struct mp_pl_component {
	char *id;
	const mp_component_type *type;
	int line, col;
	mp_pl_value *params; /* every param, sorted by name, defaults filled in */
	size_t nparams;
	mp_pl_input *inputs;
	size_t ninputs;
	mp_pl_output *outputs;
	size_t noutputs;
	/* optional outputs of its type left out because nothing reads them */
	char **not_produced;
	size_t nnot_produced;
	int *after; /* indices of components it must follow */
	size_t nafter;
	int retries;
	int timeout_s; /* 0: none */
	int cache;
	int ranks; /* MPI ranks (ranks: N); 1 runs it as a plain child */
	mp_pl_exec exec; /* its own executor: fields, over the pipeline's */
} mp_pl_component;

typedef struct mp_pipeline {
	char *file;	/* as given */
	char *dir;	/* the file's folder, absolute */
	char *name;
	char *root;	/* artifact root, absolute */
	char *metadata; /* the store, absolute */
	char *schedule; /* the cron expression as written, or NULL */
	mp_cron cron;	/* parsed from schedule */
	int catchup;	/* run every missed time (1) or the latest only (0) */
	int report;	/* write each run's HTML report (report: true) */
	mp_pl_value *params;
	size_t nparams;
	/* the mpi: block: mpirun's hosts file (absolute, or NULL) and extra args */
	char *mpi_hostfile;
	char **mpi_args;
	size_t nmpi_args;
	mp_pl_exec exec; /* the pipeline block's executor: */
	mp_pl_component *comps;
	size_t ncomps;
	int *order; /* component indices in an order that respects every edge */
	/* the effective configuration, recorded with each run so --resume
	 * finishes it as it began */
	char *source;		       /* the file's text */
	char source_hash[MP_HASH_HEX]; /* its SHA-256 */
	char **sets;		       /* the --set overrides, in the order given */
	size_t nsets;
} mp_pipeline;

/* Loads and validates path.  sets are "id.param=value" or
 * "pipeline.param=value" overrides (from --set), typed like the param they
 * replace.  On MP_EINVAL the problems are in diags (and the first in err);
 * *out is NULL then.  Free the pipeline with mp_pipeline_free. */
int mp_pipeline_load(const char *path, const char *const *sets, size_t nsets,
		     mp_pipeline **out, mp_diags *diags, mp_err *err);
/* The same, from a buffer; name is used in messages and dir for paths. */
int mp_pipeline_parse(const char *name, const char *dir, const char *text, size_t len,
		      const char *const *sets, size_t nsets, mp_pipeline **out,
		      mp_diags *diags, mp_err *err);
void mp_pipeline_free(mp_pipeline *p);

/* c's executor: its own fields over the pipeline's (kind local when
 * neither says). */
mp_pl_exec mp_pl_effective_exec(const mp_pipeline *p, const mp_pl_component *c);
void mp_pl_exec_release(mp_pl_exec *e);

/* Index of the component with id, or -1. */
int mp_pipeline_find(const mp_pipeline *p, const char *id);
const char *mp_pl_param(const mp_pl_component *c, const char *name);
/* Whether component i depends on j, directly or not. */
int mp_pipeline_depends(const mp_pipeline *p, int i, int j);

#endif
