/* The nodes of a run: where an input comes from, and room for outputs. */
#include "orchestrator/runner.h"

#include <string.h>

/* The output index of comp's output called name, or -1. */
static int output_index(const mp_pl_component *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->noutputs; i++)
		if (strcmp(c->outputs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The upstream node an input comes from, and which of its outputs. */
mp__node *mp__input_source(mp__runner *R, const mp_pl_input *in, int *out_idx)
{
	mp__node *src = &R->nodes[in->src];

	*out_idx = output_index(src->c, in->output);
	return src;
}

int mp__alloc_outputs(mp__node *n, mp_err *err)
{
	size_t k = n->c->noutputs ? n->c->noutputs : 1;

	if (n->out_ids)
		return 0;
	n->out_ids = mp_calloc(k, sizeof(*n->out_ids));
	n->out_uris = mp_calloc(k, sizeof(*n->out_uris));
	n->out_fps = mp_calloc(k, sizeof(*n->out_fps));
	if (!n->out_ids || !n->out_uris || !n->out_fps)
		return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}
