/* orchestrator/executor: how a component is run, behind one small
 * interface, so that the run loop does not know what it drives.
 *
 * An executor starts one component from its resolved inputs, its empty
 * output staging folders and its validated params (mp_exec_job), is polled
 * until the component ends, can be asked to stop it (gently, then hard),
 * and collects how it ended (mp_exec_status).  The component's own result
 * (metrics and output properties) is the .result file it leaves in its
 * staging folder, which the orchestrator reads when it publishes; an error
 * it reports is the status's reason.  Nothing here writes the store.
 *
 * The local child process (mp_local_executor) is the first implementation:
 * a fork, its own process group, stdout and stderr appended to the log, and
 * an error channel (a pipe) that needs no disk.  Timeouts and retries are
 * the run loop's policy: it calls cancel and starts again.
 */
#ifndef MP_ORCHESTRATOR_EXECUTOR_H
#define MP_ORCHESTRATOR_EXECUTOR_H

#include "components/component.h"
#include "core/core.h"

/* One component to run; borrowed for the call to start only. */
typedef struct mp_exec_job {
	const mp_component_type *type;
	const char *component_id;
	const mp_kv *inputs; /* name -> artifact folder */
	size_t ninputs;
	const mp_kv *outputs; /* name -> an empty staging folder */
	size_t noutputs;
	const mp_kv *params; /* name -> canonical value */
	size_t nparams;
	const char *workdir; /* relative paths start here (the pipeline file's folder) */
	const char *scratch; /* kept across retries and resumes */
	const char *staging; /* .result, .error and .undo go here */
	const char *log;     /* stdout and stderr are appended to it */
	int ranks;	     /* MPI ranks (the MPI launch) */
	const char *mpi_hostfile;   /* mpirun --hostfile, or NULL */
	char *const *mpi_args;	    /* mpirun's extra arguments */
	size_t nmpi_args;
	const struct mp_exec_slurm *slurm; /* the Slurm job's request (the Slurm executor) */
} mp_exec_job;

/* What a Slurm job asks for (executor: {kind: slurm, ...}); NULL fields
 * and 0 are Slurm's defaults. */
typedef struct mp_exec_slurm {
	const char *partition, *time, *mem;
	int cpus;
	char *const *extra; /* more sbatch arguments */
	size_t nextra;
} mp_exec_slurm;

/* How a component ended. */
typedef struct mp_exec_status {
	int signal;  /* the signal that killed it, or 0 when it exited */
	int code;    /* its exit status, when it exited */
	char reason[MP_ERR_MAX]; /* the error it reported, or "" */
} mp_exec_status;

typedef struct mp_executor {
	const char *name;
	/* Starts job; *handle is the executor's until collect. */
	int (*start)(void **handle, const mp_exec_job *job, mp_err *err);
	/* 1 when the component has ended, 0 while it runs. */
	int (*poll)(void *handle);
	/* Asks it to stop (hard: at once, with everything it started). */
	void (*cancel)(void *handle, int hard);
	/* Waits for the end (after a hard cancel, when poll has not said so),
	 * fills *st and frees the handle.  st may be NULL: the caller does not
	 * ask how it ended, and work that is not this process's child (a
	 * Slurm job, cancelled) is not waited for. */
	void (*collect)(void *handle, mp_exec_status *st);
	/* Optional, for executors whose work outlives the orchestrator (a
	 * batch job): the id to record, and a handle on that job again (for
	 * --resume), or MP_ENOTFOUND when it is gone without a trace. */
	const char *(*job_id)(void *handle);
	int (*attach)(void **handle, const mp_exec_job *job, const char *job_id, mp_err *err);
} mp_executor;

/* A child process on this machine. */
extern const mp_executor mp_local_executor;
/* `mpirun -np RANKS mlpipe component TYPE ... --staging DIR`: every rank
 * runs the component, rank 0 writes its outputs and result. */
extern const mp_executor mp_mpi_executor;
/* A Slurm batch job (sbatch --parsable) whose script runs the component's
 * command (under mpirun inside the allocation for ranks above 1); followed
 * with squeue and scontrol (sacct where accounting exists), stopped with
 * scancel.  The artifact root must be on storage the nodes share. */
extern const mp_executor mp_slurm_executor;

/* For the executors that run a command (exec_local.c): starts argv in a
 * child like the local executor's (own process group, the log, workdir);
 * the handle is the local executor's, for its poll, cancel and collect,
 * which also read a launcher's account of a failure from the log. */
int mp__exec_spawn(void **handle, const mp_exec_job *job, char *const argv[], mp_err *err);
/* A command line being built: NULL-terminated v of n strings (owned).  An
 * append that runs out of memory marks it failed, like mp_strbuf, so a
 * caller checks once at the end. */
typedef struct mp__argv {
	char **v;
	size_t n;
	int failed;
} mp__argv;
/* Appends s, which it takes (NULL: out of memory). */
void mp__argv_add(mp__argv *a, char *s);
void mp__argv_release(mp__argv *a);

/* The command that runs job's component from its artifact paths
 * (mlpipe component TYPE --input ... --staging DIR), appended to a. */
int mp__exec_component_argv(const mp_exec_job *job, mp__argv *a, mp_err *err);

/* Runs job's component in this process, in job->workdir: 0, with its
 * result in staging/.result when write_result, or an error in err.  The
 * local executor's child, and `mlpipe component --staging` (a rank, a
 * Slurm job), run a component this way. */
int mp_exec_run_here(const mp_exec_job *job, int write_result, mp_err *err);

#endif
