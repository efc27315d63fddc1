/* The command line that runs one component from its artifact paths, for
 * the executors that start a command instead of forking the component
 * (the MPI launch; a Slurm job's script). */
#include "orchestrator/executor.h"

#include <stdlib.h>
#include <string.h>

static int push(char ***argv, size_t *argc, size_t *alloc, char *s, mp_err *err)
{
	if (!s || mp_grow((void **)argv, alloc, *argc + 2, sizeof(**argv)) != 0) {
		free(s);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	(*argv)[(*argc)++] = s;
	(*argv)[*argc] = NULL;
	return 0;
}

/* type: for params, those at their default are left out (the command
 * fills in the defaults, and an empty default is no value to give). */
static int push_kv(char ***argv, size_t *argc, size_t *alloc, const char *flag, const mp_kv *kv, size_t n,
		   const mp_component_type *type, mp_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const mp_param_spec *spec = type ? mp_component_param(type, kv[i].key) : NULL;

		if (spec && spec->def && !strcmp(spec->def, kv[i].value))
			continue;
		if (push(argv, argc, alloc, mp_strdup(flag), err) != 0 ||
		    push(argv, argc, alloc, mp_asprintf("%s=%s", kv[i].key, kv[i].value), err) != 0)
			return MP_ENOMEM;
	}
	return 0;
}

int mp__exec_component_argv(const mp_exec_job *job, char ***argv, size_t *argc, mp_err *err)
{
	size_t alloc = *argc + 1;
	char self[4096];

	if (mp_self_exe(self, sizeof(self)) != 0)
		return mp_error(err, MP_EIO, "cannot find the mlpipe binary (/proc/self/exe)");
	if (push(argv, argc, &alloc, mp_strdup(self), err) != 0 ||
	    push(argv, argc, &alloc, mp_strdup("component"), err) != 0 ||
	    push(argv, argc, &alloc, mp_strdup(job->type->name), err) != 0 ||
	    push_kv(argv, argc, &alloc, "--input", job->inputs, job->ninputs, NULL, err) != 0 ||
	    push_kv(argv, argc, &alloc, "--output", job->outputs, job->noutputs, NULL, err) != 0 ||
	    push_kv(argv, argc, &alloc, "--param", job->params, job->nparams, job->type, err) != 0 ||
	    (job->scratch && (push(argv, argc, &alloc, mp_strdup("--scratch"), err) != 0 ||
			      push(argv, argc, &alloc, mp_strdup(job->scratch), err) != 0)) ||
	    push(argv, argc, &alloc, mp_strdup("--staging"), err) != 0 ||
	    push(argv, argc, &alloc, mp_strdup(job->staging), err) != 0)
		return MP_ENOMEM;
	return 0;
}
