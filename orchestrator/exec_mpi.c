/* The MPI launch (see executor.h): mpirun starts `ranks` copies of the
 * component's command; the local executor's child runs mpirun. */
#include "orchestrator/executor.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int mpi_start(void **handle, const mp_exec_job *job, mp_err *err)
{
	mp__argv a = {0};
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i;
	int rc;

	mp__argv_add(&a, mp_strdup("mpirun"));
	mp__argv_add(&a, mp_strdup("-np"));
	mp__argv_add(&a, mp_asprintf("%d", job->ranks));
	/* root may run ranks (CI, containers); more ranks than cores on this
	 * machine were asked for, so they may share them */
	if (geteuid() == 0)
		mp__argv_add(&a, mp_strdup("--allow-run-as-root"));
	if (!job->mpi_hostfile && job->ranks > cores)
		mp__argv_add(&a, mp_strdup("--oversubscribe"));
	if (job->mpi_hostfile) {
		mp__argv_add(&a, mp_strdup("--hostfile"));
		mp__argv_add(&a, mp_strdup(job->mpi_hostfile));
	}
	for (i = 0; i < job->nmpi_args; i++)
		mp__argv_add(&a, mp_strdup(job->mpi_args[i]));
	if ((rc = mp__exec_component_argv(job, &a, err)) == 0)
		rc = mp__exec_spawn(handle, job, a.v, err);
	mp__argv_release(&a);
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
