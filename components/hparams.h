/* components/hparams: hyperparameters — a search space over another
 * component's params (the Tuner's over the Trainer's), and values applied
 * to them (a trial's; the best ones, in the Trainer).
 *
 * A path names one value inside a component's params: the param, then
 * keys and list positions (from 0), dot-separated: "optimizer.lr",
 * "model.layers.0.dense", "batch_size".  A value is JSON text ("0.01",
 * "\"relu\"", "{\"dense\":64}").
 */
#ifndef MP_COMPONENTS_HPARAMS_H
#define MP_COMPONENTS_HPARAMS_H

#include "components/component.h"

typedef enum {
	MP_HP_CHOICE,	   /* one of a list of values */
	MP_HP_INT,	   /* a whole number in [lo, hi] */
	MP_HP_UNIFORM,	   /* a number in [lo, hi] */
	MP_HP_LOG_UNIFORM, /* a number in [lo, hi], uniform in its logarithm */
} mp_hp_kind;

typedef struct mp_hp_domain {
	char *path;
	mp_hp_kind kind;
	double lo, hi;
	char **choices; /* MP_HP_CHOICE: each value as JSON */
	size_t nchoices;
} mp_hp_domain;

typedef struct mp_hp_space {
	mp_hp_domain *d; /* in the order of the search param */
	size_t n;
} mp_hp_space;

/* Reads a search param's text ({path: {choice: [...]} | {int: [lo, hi]} |
 * {uniform: [lo, hi]} | {log_uniform: [lo, hi]}, ...}) into s (release
 * it, also after a failure). */
int mp_hp_space_parse(mp_hp_space *s, const char *text, mp_err *err);
void mp_hp_space_release(mp_hp_space *s);
/* The values a domain can take when enumerated (a choice's, an int's), or
 * 0 for a continuous one. */
uint64_t mp_hp_domain_size(const mp_hp_domain *d);
/* The value of domain d for u in [0, 1) as JSON text (free it): a
 * choice's or an int's (u picks one, equally likely), a number's with 6
 * significant digits; the k-th for an enumerated domain with u = -1 - k. */
char *mp_hp_domain_value(const mp_hp_domain *d, double u);

/* The params of component type t with values applied: every declared
 * param (the default, or base's value: base is a JSON mapping of param
 * names to values, or NULL), then each paths[i] set to values[i] (JSON
 * text), each checked against its spec and shape.  *out gets *nout kvs
 * (free them with mp_hp_params_free). */
int mp_hp_params(const mp_component_type *t, const char *base, const char *const *paths,
		 const char *const *values, size_t n, mp_kv **out, size_t *nout, mp_err *err);
/* The same starting from given params (all of t's, as a component's io
 * has them) instead of the defaults and a base. */
int mp_hp_override(const mp_component_type *t, const mp_kv *params, size_t nparams, const char *const *paths,
		   const char *const *values, size_t n, mp_kv **out, size_t *nout, mp_err *err);
void mp_hp_params_free(mp_kv *p, size_t n);

/* The hyperparameters file, hyperparameters.json in a HyperParameters
 * artifact: {"values": {PATH: VALUE, ...}, ...}.  mp_hp_file_read gives
 * the paths and values (free each array and its strings with
 * mp_hp_strings_free) and the values' object as compact JSON (free it). */
#define MP_HP_FILE "hyperparameters.json"
int mp_hp_file_read(const char *dir, char ***paths, char ***values, size_t *n, char **json, mp_err *err);
void mp_hp_strings_free(char **s, size_t n);

/* Load-time checks with positions, for a custom shape (component.h):
 * node is a mapping of t's params to values (a base), or of paths into
 * t's params to domains (a search space). */
int mp_hp_check_base(const mp_component_type *t, struct yaml_document_s *doc, struct yaml_node_s *node,
		     const char *path, mp_shape_fn fn, void *ud);
int mp_hp_check_search(const mp_component_type *t, struct yaml_document_s *doc, struct yaml_node_s *node,
		       const char *path, mp_shape_fn fn, void *ud);

#endif
