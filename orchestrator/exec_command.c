/* The command line that runs one component from its artifact paths, for
 * the executors that start a command instead of forking the component
 * (the MPI launch; a Slurm job's script). */
#include "orchestrator/executor.h"

#include <stdlib.h>
#include <string.h>

void mp__argv_add(mp__argv *a, char *s)
{
	char **v = s && !a->failed ? mp_realloc(a->v, (a->n + 2) * sizeof(*v)) : NULL;

	if (!v) {
		free(s);
		a->failed = 1;
		return;
	}
	a->v = v;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void mp__argv_release(mp__argv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* type: for params, those at their default are left out (the command
 * fills in the defaults, and an empty default is no value to give). */
static void add_kv(mp__argv *a, const char *flag, const mp_kv *kv, size_t n, const mp_component_type *type)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const mp_param_spec *spec = type ? mp_component_param(type, kv[i].key) : NULL;

		if (spec && spec->def && !strcmp(spec->def, kv[i].value))
			continue;
		mp__argv_add(a, mp_strdup(flag));
		mp__argv_add(a, mp_asprintf("%s=%s", kv[i].key, kv[i].value));
	}
}

int mp__exec_component_argv(const mp_exec_job *job, mp__argv *a, mp_err *err)
{
	char self[4096];

	if (mp_self_exe(self, sizeof(self)) != 0)
		return mp_error(err, MP_EIO, "cannot find the mlpipe binary (/proc/self/exe)");
	mp__argv_add(a, mp_strdup(self));
	mp__argv_add(a, mp_strdup("component"));
	mp__argv_add(a, mp_strdup(job->type->name));
	add_kv(a, "--input", job->inputs, job->ninputs, NULL);
	add_kv(a, "--output", job->outputs, job->noutputs, NULL);
	add_kv(a, "--param", job->params, job->nparams, job->type);
	if (job->scratch) {
		mp__argv_add(a, mp_strdup("--scratch"));
		mp__argv_add(a, mp_strdup(job->scratch));
	}
	mp__argv_add(a, mp_strdup("--staging"));
	mp__argv_add(a, mp_strdup(job->staging));
	return a->failed ? mp_error(err, MP_ENOMEM, "out of memory") : 0;
}
