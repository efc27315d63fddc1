/* The MPI launch (see executor.h): mpirun starts `ranks` copies of the
 * component's command; the local executor's child runs mpirun. */
#include "orchestrator/executor.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int push(char ***argv, size_t *argc, const char *s, mp_err *err)
{
	size_t alloc = *argc + 1;

	if (mp_grow((void **)argv, &alloc, *argc + 2, sizeof(**argv)) != 0 || !((*argv)[*argc] = mp_strdup(s)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	(*argv)[++*argc] = NULL;
	return 0;
}

static int mpi_start(void **handle, const mp_exec_job *job, mp_err *err)
{
	char **argv = NULL, np[32];
	size_t argc = 0, i;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	snprintf(np, sizeof(np), "%d", job->ranks);
	rc = push(&argv, &argc, "mpirun", err);
	if (rc == 0)
		rc = push(&argv, &argc, "-np", err);
	if (rc == 0)
		rc = push(&argv, &argc, np, err);
	/* root may run ranks (CI, containers); more ranks than cores on this
	 * machine were asked for, so they may share them */
	if (rc == 0 && geteuid() == 0)
		rc = push(&argv, &argc, "--allow-run-as-root", err);
	if (rc == 0 && !job->mpi_hostfile && job->ranks > cores)
		rc = push(&argv, &argc, "--oversubscribe", err);
	if (rc == 0 && job->mpi_hostfile && (rc = push(&argv, &argc, "--hostfile", err)) == 0)
		rc = push(&argv, &argc, job->mpi_hostfile, err);
	for (i = 0; rc == 0 && i < job->nmpi_args; i++)
		rc = push(&argv, &argc, job->mpi_args[i], err);
	if (rc == 0)
		rc = mp__exec_component_argv(job, &argv, &argc, err);
	if (rc == 0)
		rc = mp__exec_spawn(handle, job, argv, err);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return rc;
}

static int mpi_poll(void *handle)
{
	return mp_local_executor.poll(handle);
}

static void mpi_cancel(void *handle, int hard)
{
	mp_local_executor.cancel(handle, hard);
}

static void mpi_collect(void *handle, mp_exec_status *st)
{
	mp_local_executor.collect(handle, st);
}

const mp_executor mp_mpi_executor = {
	"mpi", mpi_start, mpi_poll, mpi_cancel, mpi_collect, NULL, NULL,
};
