/* components/example_gen: what ExampleGen's files share (internal).
 *
 *   example_gen.c      the component: params, sources and splits, IDX
 *   example_gen_csv.c  CSV: type inference, rows parsed into blocks on the
 *                      thread pool, written in order
 *   example_gen_splits.c  which split an example goes to
 */
#ifndef MP_COMPONENTS_EXAMPLE_GEN_H
#define MP_COMPONENTS_EXAMPLE_GEN_H

#include "components/component.h"
#include "data/examples.h"

/* One input file and the split it feeds (split -1: the hash decides). */
typedef struct mp__eg_source {
	const char *split;
	char *path;
	char *labels; /* IDX */
	int64_t span, version;
} source;

typedef struct mp__eg_gen {
	const mp_component_io *io;
	source *src;
	size_t nsrc;
	const char **split_names;
	size_t nsplits;
	double eval_fraction, val_fraction;
	int64_t span, version;
	mp_examples_writer *w;
	int64_t *rows; /* per split */
	int64_t bad_values; /* cells read as missing (on_bad_value: missing) */
	char **label_names; /* from label_names or label_names_line: point into names_buf */
	size_t nlabel_names;
	char *names_buf;
} gen;

int mp__eg_split_index(const gen *g, const char *name);
int mp__eg_by_hash(const gen *g, const char *split);
size_t mp__eg_route(const gen *g, const char *split, uint64_t h);
int mp__eg_emit_row(gen *g, size_t split, mp_err *err);
/* example_gen_csv.c: every CSV source into g's writer. */
int mp__eg_ingest_csv(gen *g, mp_err *err);

#endif
