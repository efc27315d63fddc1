/* components: the interface every component implements, and the registry.
 *
 * A component type declares its inputs, outputs and params (with types,
 * defaults and help); the orchestrator validates a pipeline against those
 * declarations, and `mlpipe component NAME --help` prints them.  Its run
 * function gets everything resolved to plain strings — input artifact
 * directories, empty output directories, validated params — and reports
 * metrics and output properties through an mp_result.  It never touches the
 * metadata store and never needs the orchestrator's process: `mlpipe
 * component` runs it alone.
 */
#ifndef MP_COMPONENTS_COMPONENT_H
#define MP_COMPONENTS_COMPONENT_H

#include "core/core.h"
#include "core/json.h"

typedef enum {
	MP_PARAM_INT,
	MP_PARAM_FLOAT,
	MP_PARAM_BOOL,	   /* "true" or "false" */
	MP_PARAM_STRING,
	MP_PARAM_PATH,	   /* relative to the pipeline file; content is in the cache key */
	MP_PARAM_PATHS,	   /* a list of paths, one per line in the value text */
	MP_PARAM_LIST,	   /* a list of strings, one per line in the value text */
	MP_PARAM_PATH_MAP, /* names to paths ({train: a.csv}), "name=path" lines */
	MP_PARAM_JSON,	   /* any YAML value (a mapping, a list), as compact JSON text */
} mp_param_type;

const char *mp_param_type_name(mp_param_type t);

/* The shape of a structured (JSON) param, declared by its component and
 * checked by the pipeline loader before anything runs, with the position
 * of each mistake and a did-you-mean.  Tables end with a NULL name. */
typedef enum {
	MP_SHAPE_ANY,
	MP_SHAPE_NUMBER, /* in [min, max] when min < max; or one of choices */
	MP_SHAPE_INT,	 /* a whole number, likewise */
	MP_SHAPE_STRING, /* one of choices when given */
	MP_SHAPE_BOOL,
	MP_SHAPE_MAP,	 /* the keys of `keys`; without keys, any key (one of key_choices when given)
			  * with values of shape `items` */
	MP_SHAPE_LIST,	 /* at least min_items items of shape `items` */
} mp_shape_kind;

struct mp_shape;
struct yaml_document_s;
struct yaml_node_s;

typedef struct mp_shape_key {
	const char *name;
	const struct mp_shape *shape;
	int required; /* 1: required; MP_ONE_OF: exactly one of the keys so marked is given */
} mp_shape_key;
#define MP_ONE_OF 2

typedef struct mp_shape {
	mp_shape_kind kind;
	double min, max;
	/* allowed names, "relu|tanh"; an entry "bucketize:N" takes the prefix
	 * and a whole number, "divide:X" the prefix and a positive number */
	const char *choices;
	const mp_shape_key *keys;
	const struct mp_shape *items;
	const char *key_choices;
	const char *key_what; /* what a key is, for messages ("metric") */
	int min_items;
	/* A check of its own instead (with kind MP_SHAPE_ANY): what no table
	 * says, such as the Tuner's paths into another component's params.
	 * Reports each problem through fn as mp_shape_check_node does and
	 * returns how many. */
	int (*custom)(struct yaml_document_s *doc, struct yaml_node_s *node, const char *path,
		      void (*fn)(void *ud, int line, int col, const char *msg), void *ud);
} mp_shape;

/* Whether value is one of choices (see mp_shape); the closest choice to a
 * wrong value (into buf), or NULL. */
int mp_choice_match(const char *choices, const char *value);
const char *mp_choice_closest(const char *choices, const char *value, char *buf, size_t n);
/* The choices as "a, b, c" into buf. */
const char *mp_choice_list(const char *choices, char *buf, size_t n);

typedef void (*mp_shape_fn)(void *ud, int line, int col, const char *msg);
/* Checks node against sh, calling fn for each problem with the line and
 * column (from 1) of the node at fault and a message starting with path
 * ("layers[2].activation: ...").  Returns how many problems. */
int mp_shape_check_node(const mp_shape *sh, struct yaml_document_s *doc, struct yaml_node_s *node,
			const char *path, mp_shape_fn fn, void *ud);
/* The same for a value's text (a --set, a --param): the first problem
 * into err, prefixed with name, as MP_EINVAL. */
int mp_shape_check_text(const mp_shape *sh, const char *text, const char *name, mp_err *err);
/* The same for a value the program made (another value with parts set):
 * no position, which would point into text nobody wrote. */
int mp_shape_check_made(const mp_shape *sh, const char *text, const char *name, mp_err *err);

typedef struct mp_param_spec {
	const char *name;
	mp_param_type type;
	const char *def; /* the default as text; NULL when the param is required */
	double min, max; /* inclusive range for numbers, checked when min < max */
	const char *help;
	const char *choices; /* a STRING's allowed values, "error|missing"; NULL: any */
	/* a JSON param's shape, which the pipeline loader checks with the
	 * position of each mistake; NULL: any value */
	const struct mp_shape *shape;
} mp_param_spec;

typedef struct mp_io_spec {
	const char *name;
	const char *type; /* artifact type ("Examples"); NULL accepts any */
	/* an input that may be left unwired; an output written only when
	 * something reads it: the orchestrator leaves it out (no directory,
	 * mp_io_output gives NULL) when no component of the pipeline takes it
	 * as an input and the component does not name it in keep_outputs */
	int optional;
	const char *help;
} mp_io_spec;

/* An optional input the orchestrator finds in the metadata store when the
 * pipeline file does not wire it (components never open the store). */
typedef enum {
	/* the newest LIVE artifact of the input's type made by the same
	 * component of the same pipeline whose "span" property is below that
	 * of the artifact given as input `from` (the previous span's) */
	MP_RESOLVE_PREVIOUS_SPAN = 1,
	/* the baseline a model is judged against: the model of the newest
	 * LIVE push of the same pipeline (the model served now, which a push
	 * would replace), or while the pipeline never pushed, the model judged
	 * by the newest LIVE blessing (blessed = 1) that the same component
	 * made; none when that is the model given as input `from` itself */
	MP_RESOLVE_LATEST_BLESSED = 2,
	/* the model that the newest LIVE push of the same pipeline (a
	 * PushedModel with pushed = 1, by any Pusher) pushed; `from` unused */
	MP_RESOLVE_LATEST_PUSHED = 3,
} mp_resolve_kind;

typedef struct mp_resolve_spec {
	const char *input;
	mp_resolve_kind kind;
	const char *from;
	const char *when; /* a BOOL param that must be true for it to apply; NULL: always */
	/* a starting point rather than a dependency (a warm start's model):
	 * left out of the cache key, so that unchanged data and params reuse
	 * the last result instead of starting again from what it produced */
	int outside_key;
} mp_resolve_spec;

/* A name and a value, both borrowed. */
typedef struct mp_kv {
	const char *key;
	const char *value;
} mp_kv;

/* ---- results ----------------------------------------------------------- */

/* Metrics and output properties a run reports.  Strings are copied. */
typedef struct mp_result mp_result;

mp_result *mp_result_new(void);
void mp_result_free(mp_result *r); /* accepts NULL */
int mp_result_metric(mp_result *r, const char *name, int64_t step, double value);
int mp_result_prop_int(mp_result *r, const char *output, const char *name, int64_t v);
int mp_result_prop_double(mp_result *r, const char *output, const char *name, double v);
int mp_result_prop_string(mp_result *r, const char *output, const char *name, const char *v);

typedef struct mp_result_metric_row {
	const char *name;
	int64_t step;
	double value;
} mp_result_metric_row;

typedef struct mp_result_prop_row {
	const char *output;
	const char *name;
	int kind; /* 0 int, 1 double, 2 string */
	int64_t i;
	double d;
	const char *s;
} mp_result_prop_row;

/* The rows recorded so far; valid until the next change to r. */
const mp_result_metric_row *mp_result_metrics(const mp_result *r, size_t *n);
const mp_result_prop_row *mp_result_props(const mp_result *r, size_t *n);

/* The result as a small text file (one tab-separated row per line), how a
 * component's child process hands it to the orchestrator. */
int mp_result_write(const mp_result *r, const char *path, mp_err *err);
int mp_result_read(mp_result *r, const char *path, mp_err *err);

/* ---- the interface ----------------------------------------------------- */

typedef struct mp_component_io {
	const mp_kv *inputs; /* input name -> artifact directory (read only) */
	size_t ninputs;
	const mp_kv *outputs; /* output name -> empty directory to fill */
	size_t noutputs;
	const mp_kv *params; /* every declared param, defaults filled in */
	size_t nparams;
	const char *workdir; /* the pipeline file's folder; relative paths start here */
	/* A folder that survives retries and resumed runs of this component
	 * with the same cache key (checkpoints live here); removed once the
	 * component has succeeded.  NULL when there is none. */
	const char *scratch;
	/* Where a component that publishes outside its outputs (the Pusher's
	 * version folders) notes what to take back if it does not complete;
	 * see mp_io_undo.  NULL when nobody will (a component run alone). */
	const char *undo;
	mp_result *result;
} mp_component_io;

/* Notes, before publishing path outside the outputs, that path is to be
 * removed if this execution does not complete (it fails, is killed, or the
 * orchestrator dies), provided path/check then holds value: so a folder
 * someone else made meanwhile is never touched.  Durable once it returns.
 * Does nothing without io->undo. */
int mp_io_undo(const mp_component_io *io, const char *path, const char *check, const char *value, mp_err *err);
/* Takes back what the undo file lists (see mp_io_undo); the orchestrator
 * calls it for an execution that did not complete.  Returns how many
 * paths it removed. */
int mp_undo_apply(const char *undo_file);

/* Splits a list or map param's text into its lines: *items (free it, the
 * strings point into *buf, free that too).  For a map each line is
 * "name=value". */
int mp_param_lines(const char *value, char **buf, char ***items, size_t *n, mp_err *err);

/* The value of a param, input or output by name, or NULL. */
const char *mp_io_param(const mp_component_io *io, const char *name);
const char *mp_io_input(const mp_component_io *io, const char *name);
const char *mp_io_output(const mp_component_io *io, const char *name);

typedef struct mp_component_type {
	const char *name;
	const char *version; /* part of the cache key: bump it when outputs change */
	const char *summary;
	const mp_io_spec *inputs;
	size_t ninputs;
	int any_inputs; /* inputs of any name are accepted */
	const mp_io_spec *outputs;
	size_t noutputs;
	int declared_outputs; /* the pipeline file names the outputs */
	const mp_param_spec *params;
	size_t nparams;
	int any_params; /* params beyond the declared ones are accepted as strings */
	const mp_resolve_spec *resolves; /* inputs found in the store when not wired */
	size_t nresolves;
	int ranks; /* it runs as several MPI ranks (`ranks: N` in a pipeline) */
	/* Params that cannot change the outputs (thread counts of work whose
	 * result does not depend on them; a test says so for each): left out
	 * of the cache key.  NULL-terminated; NULL: none. */
	const char *const *unkeyed;
	/* Runs in the process it is called in; writes only into the output
	 * directories.  Returns 0 or a negative MP_E* with err filled. */
	int (*run)(const mp_component_io *io, mp_err *err);
	/* Optional: checks the params alone (io has no inputs or outputs)
	 * for what their shapes cannot say, so the loader reports it before
	 * anything runs.  A message starts with the param's name and a colon
	 * ("model: ..."), which the loader uses to point at its value. */
	int (*check)(const mp_component_io *io, mp_err *err);
} mp_component_type;

/* Adds a type (a program embedding mlpipe, or a test, brings its own);
 * t must outlive every use.  Not thread-safe: register before running. */
int mp_component_register(const mp_component_type *t, mp_err *err);
/* The registered type called name, or NULL. */
const mp_component_type *mp_component_find(const char *name);
/* Every registered type, in a stable order. */
const mp_component_type *const *mp_component_types(size_t *n);
/* The registered type name closest to name (a likely typo), or NULL. */
const char *mp_component_closest(const char *name);
const mp_param_spec *mp_component_param(const mp_component_type *t, const char *name);

/* Checks value against spec; on success *canon gets the value in canonical
 * form ("1e-3" -> "0.001", "yes" -> "true"), owned by the caller. */
int mp_param_check(const mp_param_spec *spec, const char *value, char **canon, mp_err *err);
/* The param name=value given to a component of type t, as the pipeline
 * file, --set and --param give it: *spec its spec (NULL for a param a
 * type taking any params does not declare), *canon its canonical value
 * (the caller frees it; NULL: keep value).  An unknown name is MP_ENOTFOUND
 * ("T has no param 'x' (did you mean 'y'?)"); a bad value mp_param_check's
 * error. */
int mp_param_bind(const mp_component_type *t, const char *name, const char *value, const mp_param_spec **spec,
		  char **canon, mp_err *err);

/* value is one of spec->choices (for a LIST, one item's); else MP_EINVAL
 * with "NAME: 'v' is not one of a, b, c (did you mean 'b'?)". */
int mp_param_check_choice(const mp_param_spec *spec, const char *value, mp_err *err);

/* Prints what NAME --help shows: summary, inputs, outputs, params. */
void mp_component_print_help(const mp_component_type *t, FILE *out);

/* The built-in types. */
extern const mp_component_type mp_command_component;
extern const mp_component_type mp_example_gen_component;
extern const mp_component_type mp_statistics_gen_component;
extern const mp_component_type mp_schema_gen_component;
extern const mp_component_type mp_example_validator_component;
extern const mp_component_type mp_transform_component;
extern const mp_component_type mp_trainer_component;
extern const mp_component_type mp_tuner_component;
extern const mp_component_type mp_evaluator_component;
extern const mp_component_type mp_pusher_component;
extern const mp_component_type mp_bulk_inferrer_component;
extern const mp_component_type mp_infra_validator_component;

#endif
