/* Where a pipeline's components run: the pipeline block's mpi: (how
 * mpirun starts a component of `ranks: N`). */
#include "orchestrator/loader.h"

#include <stdlib.h>
#include <string.h>

typedef struct raw_mpi {
	yaml_node_t *hostfile, *args;
} raw_mpi;

static void mpi_key(loader *L, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	raw_mpi *r = ud;

	(void)L;
	(void)k;
	if (!strcmp(key, "hostfile"))
		r->hostfile = v;
	else if (!strcmp(key, "args"))
		r->args = v;
}

/* mpi: {hostfile: FILE, args: [...]}: the hosts file (relative to the
 * pipeline file, and there now) and mpirun's extra arguments. */
void mp__load_mpi(loader *L, yaml_node_t *block)
{
	static const char *const keys[] = {"hostfile", "args", NULL};
	mp_pipeline *p = L->p;
	raw_mpi r = {0};

	if (!mp__expect(L, block, YAML_MAPPING_NODE, "'mpi'"))
		return;
	mp__each_key(L, block, keys, "'mpi'", mpi_key, &r);
	if (r.hostfile && mp__expect(L, r.hostfile, YAML_SCALAR_NODE, "'hostfile'")) {
		const char *f = mp__scalar(r.hostfile);

		p->mpi_hostfile = f[0] == '/' ? mp_strdup(f) : mp_asprintf("%s/%s", p->dir, f);
		if (!p->mpi_hostfile)
			L->oom = 1;
		else if (!mp_path_exists(p->mpi_hostfile))
			mp__problem(L, r.hostfile, "hostfile '%s' does not exist", f);
	}
	if (r.args && mp__expect(L, r.args, YAML_SEQUENCE_NODE, "'args'")) {
		yaml_node_item_t *it;
		size_t n = (size_t)(r.args->data.sequence.items.top - r.args->data.sequence.items.start);

		if (!(p->mpi_args = mp_calloc(n + 1, sizeof(char *)))) {
			L->oom = 1;
			return;
		}
		for (it = r.args->data.sequence.items.start; it < r.args->data.sequence.items.top; it++) {
			yaml_node_t *a = mp__node_at(L, *it);

			if (a && mp__expect(L, a, YAML_SCALAR_NODE, "an mpirun argument"))
				p->mpi_args[p->nmpi_args++] = mp__dup_or_oom(L, mp__scalar(a));
		}
	}
}
