/* Where a pipeline's components run: the pipeline block's mpi: (how
 * mpirun starts a component of `ranks: N`), and executor: blocks (a
 * Slurm job per component), in the pipeline block or a component. */
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

typedef struct raw_exec {
	yaml_node_t *kind, *partition, *time, *cpus, *mem, *extra;
} raw_exec;

static void exec_key(loader *L, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud)
{
	raw_exec *r = ud;

	(void)L;
	(void)k;
	if (!strcmp(key, "kind"))
		r->kind = v;
	else if (!strcmp(key, "partition"))
		r->partition = v;
	else if (!strcmp(key, "time"))
		r->time = v;
	else if (!strcmp(key, "cpus"))
		r->cpus = v;
	else if (!strcmp(key, "mem"))
		r->mem = v;
	else if (!strcmp(key, "extra"))
		r->extra = v;
}

/* A scalar made only of the characters in ok, as Slurm takes it. */
static char *slurm_word(loader *L, yaml_node_t *v, const char *what, const char *ok, const char *example)
{
	const char *s;

	if (!mp__expect(L, v, YAML_SCALAR_NODE, what))
		return NULL;
	s = mp__scalar(v);
	if (!*s || s[strspn(s, ok)]) {
		mp__problem(L, v, "%s: '%s' is not what Slurm takes (like %s)", what, s, example);
		return NULL;
	}
	return mp__dup_or_oom(L, s);
}

void mp__load_exec(loader *L, yaml_node_t *block, mp_pl_exec *e)
{
	static const char *const keys[] = {"kind", "partition", "time", "cpus", "mem", "extra", NULL};
	raw_exec r = {0};

	if (!mp__expect(L, block, YAML_MAPPING_NODE, "'executor'"))
		return;
	mp__each_key(L, block, keys, "'executor'", exec_key, &r);
	if (r.kind && mp__expect(L, r.kind, YAML_SCALAR_NODE, "'kind'")) {
		const char *k = mp__scalar(r.kind);

		if (!strcmp(k, "local"))
			e->kind = MP_EXEC_KIND_LOCAL;
		else if (!strcmp(k, "slurm"))
			e->kind = MP_EXEC_KIND_SLURM;
		else
			mp__problem(L, r.kind, "executor kind '%s' is not local or slurm", k);
		if (e->kind == MP_EXEC_KIND_SLURM && !mp_which("sbatch"))
			mp__problem(L, r.kind, "kind: slurm needs sbatch, which is not on the PATH (install slurm-client)");
	}
	if (r.partition)
		e->partition = slurm_word(L, r.partition, "partition",
					  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,", "'debug'");
	if (r.time)
		e->time = slurm_word(L, r.time, "time", "0123456789:-", "'01:00:00' or '2-00:00:00'");
	if (r.mem)
		e->mem = slurm_word(L, r.mem, "mem", "0123456789KMGTkmgt", "'4G'");
	if (r.cpus)
		mp__parse_int(L, r.cpus, "cpus", 1, 4096, &e->cpus);
	if (r.extra && mp__expect(L, r.extra, YAML_SEQUENCE_NODE, "'extra'")) {
		yaml_node_item_t *it;
		size_t n = (size_t)(r.extra->data.sequence.items.top - r.extra->data.sequence.items.start);

		if (!(e->extra = mp_calloc(n + 1, sizeof(char *)))) {
			L->oom = 1;
			return;
		}
		for (it = r.extra->data.sequence.items.start; it < r.extra->data.sequence.items.top; it++) {
			yaml_node_t *a = mp__node_at(L, *it);

			if (a && mp__expect(L, a, YAML_SCALAR_NODE, "an sbatch argument"))
				e->extra[e->nextra++] = mp__dup_or_oom(L, mp__scalar(a));
		}
	}
}

mp_pl_exec mp_pl_effective_exec(const mp_pipeline *p, const mp_pl_component *c)
{
	mp_pl_exec e = p->exec;

	if (c->exec.kind)
		e.kind = c->exec.kind;
	if (!e.kind)
		e.kind = MP_EXEC_KIND_LOCAL;
	if (c->exec.partition)
		e.partition = c->exec.partition;
	if (c->exec.time)
		e.time = c->exec.time;
	if (c->exec.mem)
		e.mem = c->exec.mem;
	if (c->exec.cpus)
		e.cpus = c->exec.cpus;
	if (c->exec.extra) {
		e.extra = c->exec.extra;
		e.nextra = c->exec.nextra;
	}
	return e;
}

void mp_pl_exec_release(mp_pl_exec *e)
{
	size_t i;

	free(e->partition);
	free(e->time);
	free(e->mem);
	for (i = 0; i < e->nextra; i++)
		free(e->extra[i]);
	free(e->extra);
	memset(e, 0, sizeof(*e));
}
