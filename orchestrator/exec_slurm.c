/* The Slurm executor (see executor.h): a component as a batch job. */
#include "orchestrator/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/tsv.h"

/* Slurm is asked 0.1 s after a change, then less and less often, down to
 * every 2 s: quick for short jobs, light on slurmctld for long ones */
#define POLL_FIRST_NS 100000000LL
#define POLL_MAX_NS 2000000000LL

typedef struct slurm_job {
	char id[64];
	char *staging;
	int ended;
	char state[32];	 /* Slurm's, as last seen */
	int code, signal; /* its ExitCode, once ended */
	int64_t next_poll, every;
} slurm_job;

/* Runs argv, its stdout and stderr into out (NUL-terminated, cut to n):
 * its exit status, or -1 when it could not run (out says why). */
static int capture(char *const argv[], char *out, size_t n)
{
	int fds[2], status = 0;
	size_t got = 0;
	pid_t pid;

	out[0] = '\0';
	if (pipe(fds) != 0) {
		snprintf(out, n, "%s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		snprintf(out, n, "%s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		execvp(argv[0], argv);
		printf("%s is not on the PATH (install slurm-client)\n", argv[0]);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		ssize_t r = read(fds[0], out + got, n - 1 - got);

		if (r > 0 && (got += (size_t)r) < n - 1)
			continue;
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0) { /* full: drain the rest */
			char sink[512];

			while (read(fds[0], sink, sizeof(sink)) > 0)
				;
		}
		break;
	}
	out[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	while (got && (out[got - 1] == '\n' || out[got - 1] == ' '))
		out[--got] = '\0';
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The first line of text, for a one-line error. */
static const char *first_line(char *text)
{
	char *nl = strchr(text, '\n');

	if (nl)
		*nl = '\0';
	return text;
}

/* s as one shell word. */
static void shell_quote(mp_strbuf *sb, const char *s)
{
	mp_strbuf_adds(sb, "'");
	for (; *s; s++)
		if (*s == '\'')
			mp_strbuf_adds(sb, "'\\''");
		else
			mp_strbuf_add(sb, s, 1);
	mp_strbuf_adds(sb, "'");
}

/* The job's script: into the workdir, then the component's command (under
 * mpirun, inside the allocation, for several ranks). */
static int write_script(const mp_exec_job *job, const char *path, mp_err *err)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	mp__argv a = {0};
	size_t i;
	int rc;

	mp_strbuf_adds(&sb, "#!/bin/sh\n# mlpipe: component ");
	mp_strbuf_adds(&sb, job->component_id);
	mp_strbuf_adds(&sb, "\ncd ");
	shell_quote(&sb, job->workdir);
	mp_strbuf_adds(&sb, " || exit 1\nexec");
	if (job->ranks > 1) {
		mp_strbuf_addf(&sb, " mpirun -np %d%s", job->ranks, geteuid() == 0 ? " --allow-run-as-root" : "");
		for (i = 0; i < job->nmpi_args; i++) {
			mp_strbuf_adds(&sb, " ");
			shell_quote(&sb, job->mpi_args[i]);
		}
	}
	if ((rc = mp__exec_component_argv(job, &a, err)) == 0) {
		for (i = 0; i < a.n; i++) {
			mp_strbuf_adds(&sb, " ");
			shell_quote(&sb, a.v[i]);
		}
		mp_strbuf_adds(&sb, "\n");
		rc = sb.failed ? mp_error(err, MP_ENOMEM, "out of memory")
			       : mp_write_file_atomic(path, sb.buf, sb.len, err);
	}
	mp__argv_release(&a);
	mp_strbuf_release(&sb);
	return rc;
}

static int slurm_start(void **handle, const mp_exec_job *job, mp_err *err)
{
	const mp_exec_slurm *q = job->slurm;
	char *script, out[1024];
	mp__argv a = {0};
	slurm_job *j;
	size_t i;
	int rc = 0;

	*handle = NULL;
	if (!(script = mp_asprintf("%s/job.sh", job->staging)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = write_script(job, script, err)) != 0) {
		free(script);
		return rc;
	}
	mp__argv_add(&a, mp_strdup("sbatch"));
	mp__argv_add(&a, mp_strdup("--parsable"));
	mp__argv_add(&a, mp_asprintf("--job-name=mlpipe-%s", job->component_id));
	mp__argv_add(&a, mp_asprintf("--output=%s", job->log));
	mp__argv_add(&a, mp_strdup("--open-mode=append"));
	if (q && q->partition)
		mp__argv_add(&a, mp_asprintf("--partition=%s", q->partition));
	if (q && q->time)
		mp__argv_add(&a, mp_asprintf("--time=%s", q->time));
	if (q && q->mem)
		mp__argv_add(&a, mp_asprintf("--mem=%s", q->mem));
	if (q && q->cpus > 0)
		mp__argv_add(&a, mp_asprintf("--cpus-per-task=%d", q->cpus));
	if (job->ranks > 1)
		mp__argv_add(&a, mp_asprintf("--ntasks=%d", job->ranks));
	for (i = 0; q && i < q->nextra; i++)
		mp__argv_add(&a, mp_strdup(q->extra[i]));
	mp__argv_add(&a, script);
	if (a.failed)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	else if ((rc = capture(a.v, out, sizeof(out))) != 0)
		rc = mp_error(err, MP_EIO, "sbatch refused component '%s': %s", job->component_id,
			      *out ? first_line(out) : "no answer");
	else if (!(out[0] >= '0' && out[0] <= '9'))
		rc = mp_error(err, MP_EIO, "sbatch gave no job id for component '%s': %s", job->component_id,
			      first_line(out));
	mp__argv_release(&a);
	if (rc != 0)
		return rc;
	if (!(j = mp_calloc(1, sizeof(*j))) || !(j->staging = mp_strdup(job->staging))) {
		free(j);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	out[strcspn(out, ";\n")] = '\0'; /* "ID" or "ID;cluster" */
	snprintf(j->id, sizeof(j->id), "%.63s", out);
	*handle = j;
	return 0;
}

/* A job state Slurm has settled. */
static int final_state(const char *s)
{
	return !strcmp(s, "COMPLETED") || !strcmp(s, "FAILED") || !strcmp(s, "TIMEOUT") || !strcmp(s, "CANCELLED") ||
	       !strcmp(s, "NODE_FAIL") || !strcmp(s, "OUT_OF_MEMORY") || !strcmp(s, "BOOT_FAIL") ||
	       !strcmp(s, "DEADLINE") || !strcmp(s, "PREEMPTED");
}

/* What Slurm says of the job now: 1 when it knows it, with j->state (and
 * its exit code once it ended), 0 when it forgot it. */
static int ask(slurm_job *j)
{
	char out[4096], *p;
	char *sq[] = {"squeue", "-h", "-j", j->id, "-o", "%T", NULL};
	char *sc[] = {"scontrol", "-o", "show", "job", j->id, NULL};
	char *sa[] = {"sacct", "-n", "-X", "-P", "-j", j->id, "-o", "State,ExitCode", NULL};

	if (capture(sq, out, sizeof(out)) == 0 && *out && !strchr(out, ' ')) {
		snprintf(j->state, sizeof(j->state), "%.31s", first_line(out));
		if (!final_state(j->state))
			return 1;
	}
	if (capture(sc, out, sizeof(out)) == 0 && (p = strstr(out, "JobState="))) {
		sscanf(p, "JobState=%31s", j->state);
		if ((p = strstr(out, " ExitCode=")))
			sscanf(p, " ExitCode=%d:%d", &j->code, &j->signal);
		return 1;
	}
	if (capture(sa, out, sizeof(out)) == 0 && *out && strchr(out, '|')) {
		p = strchr(out, '|');
		*p = '\0';
		snprintf(j->state, sizeof(j->state), "%.*s", (int)strcspn(out, " "), out);
		sscanf(p + 1, "%d:%d", &j->code, &j->signal);
		return 1;
	}
	return 0;
}

static int slurm_poll(void *handle)
{
	slurm_job *j = handle;
	int64_t now = mp_monotonic_ns();

	char before[32];

	if (j->ended || now < j->next_poll)
		return j->ended;
	snprintf(before, sizeof(before), "%s", j->state);
	if (!ask(j)) {
		snprintf(j->state, sizeof(j->state), "UNKNOWN");
		j->ended = 1;
	} else {
		j->ended = final_state(j->state);
	}
	j->every = strcmp(before, j->state) || !j->every ? POLL_FIRST_NS
		   : j->every * 2 > POLL_MAX_NS ? POLL_MAX_NS : j->every * 2;
	j->next_poll = now + j->every;
	return j->ended;
}

static void slurm_cancel(void *handle, int hard)
{
	slurm_job *j = handle;
	char out[512];
	char *soft[] = {"scancel", j->id, NULL};
	char *kill9[] = {"scancel", "--signal=KILL", "--full", j->id, NULL};

	if (!j->ended)
		capture(hard ? kill9 : soft, out, sizeof(out));
}

/* The component's own reason (its .error in the shared staging folder). */
static void component_reason(slurm_job *j, char *reason, size_t n)
{
	char *path = mp_asprintf("%s/.error", j->staging), *text = NULL;

	if (path && mp_read_file(path, &text, NULL, NULL) == 0)
		snprintf(reason, n, "%s", text);
	free(text);
	free(path);
}

static void slurm_collect(void *handle, mp_exec_status *st)
{
	slurm_job *j = handle;
	mp_exec_status ignored;
	int i;

	/* after a cancel, Slurm settles the job within KillWait; a caller that
	 * does not ask how it ended (a dead run's job, cancelled) does not wait */
	for (i = 0; st && i < 600 && !j->ended; i++) {
		j->next_poll = 0;
		if (!slurm_poll(j))
			nanosleep(&(struct timespec){0, 100000000L}, NULL);
	}
	if (!st)
		st = &ignored;
	memset(st, 0, sizeof(*st));
	if (!strcmp(j->state, "COMPLETED") && !j->code && !j->signal) {
		free(j->staging);
		free(j);
		return;
	}
	st->code = j->code ? j->code : 1;
	st->signal = j->signal;
	component_reason(j, st->reason, sizeof(st->reason));
	if (!st->reason[0] || strcmp(j->state, "FAILED")) {
		char own[MP_ERR_MAX];

		snprintf(own, sizeof(own), "%s", st->reason);
		if (!strcmp(j->state, "UNKNOWN"))
			snprintf(st->reason, sizeof(st->reason), "Slurm no longer knows job %s", j->id);
		else if (!strcmp(j->state, "FAILED"))
			snprintf(st->reason, sizeof(st->reason), "Slurm job %s FAILED (exit code %d)", j->id, j->code);
		else
			snprintf(st->reason, sizeof(st->reason), "Slurm job %s ended %s%s%.300s", j->id, j->state,
				 *own ? ": " : "", own);
		st->signal = 0;
	}
	free(j->staging);
	free(j);
}

static const char *slurm_job_id(void *handle)
{
	return ((slurm_job *)handle)->id;
}

static int slurm_attach(void **handle, const mp_exec_job *job, const char *id, mp_err *err)
{
	slurm_job *j;

	*handle = NULL;
	if (!(j = mp_calloc(1, sizeof(*j))) || !(j->staging = mp_strdup(job->staging))) {
		free(j);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	snprintf(j->id, sizeof(j->id), "%s", id);
	if (!ask(j)) {
		free(j->staging);
		free(j);
		return mp_error(err, MP_ENOTFOUND, "Slurm no longer knows job %s", id);
	}
	*handle = j;
	return 0;
}

const mp_executor mp_slurm_executor = {
	"slurm", slurm_start, slurm_poll, slurm_cancel, slurm_collect, slurm_job_id, slurm_attach,
};
