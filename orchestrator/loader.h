/* orchestrator/loader: what the files that load a pipeline share
 * (internal): the loader's state and the walk over libyaml's nodes, with
 * problems reported as file:line:col.
 *
 *   pipeline.c   the file, the pipeline block, the DAG, --set, entry points
 *   walk.c       the walk: positions, kinds, keys checked against tables
 *   pl_component.c  one component: type, params, inputs, outputs, references
 *   pl_exec.c    where components run: mpi: and executor:
 */
#ifndef MP_ORCHESTRATOR_LOADER_H
#define MP_ORCHESTRATOR_LOADER_H

#include <yaml.h>

#include "orchestrator/pipeline.h"

typedef struct mp__loader {
	const char *file;
	yaml_document_t *doc;
	mp_diags *diags;
	mp_pipeline *p;
	int oom;
} loader;

#define POS(n) (int)(n)->start_mark.line + 1, (int)(n)->start_mark.column + 1

/* Calls fn for each key of a mapping after checking it against allowed
 * (NULL-terminated; NULL allows any) and for duplicates. */
typedef void (*key_fn)(loader *L, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud);

yaml_node_t *mp__node_at(loader *L, int idx);
void mp__problem(loader *L, yaml_node_t *n, const char *fmt, ...) MP_PRINTF(3, 4);
const char *mp__kind_name(yaml_node_t *n);
const char *mp__scalar(yaml_node_t *n);
int mp__expect(loader *L, yaml_node_t *n, yaml_node_type_t t, const char *what);
void mp__each_key(loader *L, yaml_node_t *map, const char *const *allowed, const char *where,
		     key_fn fn, void *ud);
char *mp__dup_or_oom(loader *L, const char *s);
int mp__parse_int(loader *L, yaml_node_t *n, const char *what, int64_t lo, int64_t hi, int *out);
int mp__valid_name(const char *s);

/* pl_component.c */
/* A component's nodes as found, before they are checked. */
typedef struct raw_comp {
	yaml_node_t *node, *id, *type, *inputs, *outputs, *params, *after;
	yaml_node_t *retries, *timeout, *cache, *ranks, *executor, *keep_outputs;
	/* it has a key that is not a component's: what seems missing is
	 * probably under that key, and is not reported again */
	int bad_keys;
	int problems; /* found while loading it */
} raw_comp;

int mp__missing_path(loader *L, const mp_param_spec *spec, const char *value, mp_err *err);
int mp__add_value(loader *L, mp_pl_value **arr, size_t *n, size_t *alloc, const char *name,
		     char *value, yaml_node_t *at);
int mp__cmp_value(const void *a, const void *b);
void mp__load_component(loader *L, yaml_node_t *node, raw_comp *r, mp_pl_component *c);
/* pl_exec.c: the pipeline block's mpi:, and executor: blocks */
void mp__load_mpi(loader *L, yaml_node_t *block);
void mp__load_exec(loader *L, yaml_node_t *block, mp_pl_exec *e);
void mp__resolve_refs(loader *L, raw_comp *r, mp_pl_component *c);
/* After every component's references: leaves out c's optional outputs that no
 * component reads and keep_outputs does not name. */
void mp__drop_unread_outputs(loader *L, raw_comp *r, mp_pl_component *c);
#endif
