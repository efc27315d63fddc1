/* Which split an example goes to (ExampleGen; see example_gen.h). */
#include "components/example_gen.h"

#include <string.h>

int mp__eg_split_index(const gen *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->nsplits; i++)
		if (strcmp(g->split_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* Whether an example of a source feeding split (NULL: the hash decides)
 * needs its hash to find its split: a hash split, or train when the
 * validation split is carved out of it. */
int mp__eg_by_hash(const gen *g, const char *split)
{
	return !split || (g->val_fraction > 0 && !strcmp(split, "train"));
}

/* The split an example with hash h goes to (see by_hash). */
size_t mp__eg_route(const gen *g, const char *split, uint64_t h)
{
	double v = (double)(h % 1000000), e = split ? 0 : g->eval_fraction;

	if (v < e * 1000000)
		return (size_t)mp__eg_split_index(g, "eval");
	if (v < (e + g->val_fraction) * 1000000)
		return (size_t)mp__eg_split_index(g, "validation");
	return (size_t)mp__eg_split_index(g, "train");
}

int mp__eg_emit_row(gen *g, size_t split, mp_err *err)
{
	g->rows[split]++;
	return mp_examples_writer_row(g->w, split, err);
}
