/* The local executor: a component in a child process (see executor.h). */
#include "orchestrator/executor.h"
#include "core/tsv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

typedef struct local_job {
	pid_t pid;
	int errfd;  /* the read end of the child's error channel, or -1 */
	int ended;  /* waitpid has reported it */
	int status; /* as waitpid gave it */
	char *staging;
	char *log;	/* a launcher's (mpirun's): its own words on a failure are here */
	off_t log_from;
} local_job;

/* In the child, SIGTERM (from a timeout, a stopped run or, on Linux, the
 * orchestrator's death) kills the component's whole process group:
 * stopping a component stops everything it started. */
static void on_stop(int sig)
{
	(void)sig;
	kill(0, SIGKILL);
}

/* In the child, before the component or a launcher runs: its own process
 * group, the signals, no stdin, and stdout and stderr appended to the log.
 * 0, or -1 when the orchestrator died meanwhile. */
static int child_begin(const mp_exec_job *job, pid_t parent)
{
	int fd;

	setpgid(0, 0);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, on_stop);
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
	if (getppid() != parent)
		return -1; /* the orchestrator died before the line above */
	if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	if ((fd = open(job->log, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	return 0;
}

int mp_exec_run_here(const mp_exec_job *job, int write_result, mp_err *err)
{
	mp_component_io io = {0};
	char *path = NULL, *undo = NULL;
	int rc;

	io.inputs = job->inputs;
	io.ninputs = job->ninputs;
	io.outputs = job->outputs;
	io.noutputs = job->noutputs;
	io.params = job->params;
	io.nparams = job->nparams;
	io.workdir = job->workdir;
	io.scratch = job->scratch;
	if (!(undo = mp_asprintf("%s/.undo", job->staging)) || !(io.result = mp_result_new()))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	else if (chdir(job->workdir) != 0)
		rc = mp_error(err, MP_EIO, "cannot enter '%s': %s", job->workdir, strerror(errno));
	else {
		io.undo = undo;
		rc = job->type->run(&io, err);
		fflush(NULL);
		if (rc == 0 && write_result &&
		    (!(path = mp_asprintf("%s/.result", job->staging)) || mp_result_write(io.result, path, err) != 0))
			rc = path ? err->code : mp_error(err, MP_ENOMEM, "out of memory");
	}
	free(path);
	free(undo);
	mp_result_free(io.result);
	return rc;
}

/* In the child: runs the component and leaves its result (or its error) in
 * the staging folder.  Never returns. */
static void child_main(const mp_exec_job *job, pid_t parent, int errfd)
{
	mp_err err = {0};
	char *path;

	if (child_begin(job, parent) != 0)
		_exit(1);
	if (mp_exec_run_here(job, 1, &err) == 0)
		_exit(0);
	fflush(NULL);
	/* the reason, through the pipe first: a full disk cannot lose it */
	if (errfd >= 0) {
		ssize_t w = write(errfd, err.msg, strlen(err.msg));

		(void)w; /* if this fails, the file below is the other way */
	}
	if ((path = mp_asprintf("%s/.error", job->staging)))
		mp_write_file_atomic(path, err.msg, strlen(err.msg), NULL);
	_exit(1);
}

static int local_start(void **handle, const mp_exec_job *job, mp_err *err)
{
	pid_t pid, self = getpid();
	local_job *j;
	int fds[2];

	*handle = NULL;
	if (!(j = mp_calloc(1, sizeof(*j))) || !(j->staging = mp_strdup(job->staging))) {
		free(j);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	/* the error channel: the child writes its reason (one write, under
	 * PIPE_BUF) into the pipe, which needs no disk */
	if (pipe(fds) != 0) {
		free(j->staging);
		free(j);
		return mp_error(err, MP_EIO, "cannot start component '%s': %s", job->component_id, strerror(errno));
	}
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		free(j->staging);
		free(j);
		return mp_error(err, MP_EIO, "cannot start component '%s': %s", job->component_id, strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(job, self, fds[1]);
	}
	close(fds[1]);
	setpgid(pid, pid); /* also in the child: whichever runs first */
	j->pid = pid;
	j->errfd = fds[0];
	*handle = j;
	return 0;
}

int mp__exec_spawn(void **handle, const mp_exec_job *job, char *const argv[], mp_err *err)
{
	pid_t pid, self = getpid();
	struct stat sb;
	local_job *j;

	*handle = NULL;
	if (!(j = mp_calloc(1, sizeof(*j))) || !(j->staging = mp_strdup(job->staging)) || !(j->log = mp_strdup(job->log))) {
		if (j)
			free(j->staging);
		free(j);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	j->errfd = -1;
	j->log_from = stat(job->log, &sb) == 0 ? sb.st_size : 0;
	fflush(NULL);
	if ((pid = fork()) < 0) {
		free(j->staging);
		free(j->log);
		free(j);
		return mp_error(err, MP_EIO, "cannot start component '%s': %s", job->component_id, strerror(errno));
	}
	if (pid == 0) {
		if (child_begin(job, self) != 0)
			_exit(1);
		if (chdir(job->workdir) != 0) {
			fprintf(stderr, "mlpipe: cannot enter '%s': %s\n", job->workdir, strerror(errno));
			_exit(127);
		}
		signal(SIGTERM, SIG_DFL); /* the launcher stops what it started */
		execvp(argv[0], argv);
		fprintf(stderr, "mlpipe: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	j->pid = pid;
	*handle = j;
	return 0;
}

static int local_poll(void *handle)
{
	local_job *j = handle;
	pid_t w;

	if (j->ended)
		return 1;
	w = waitpid(j->pid, &j->status, WNOHANG);
	if (w == 0 || (w < 0 && errno == EINTR))
		return 0;
	if (w < 0)
		j->status = 0x7f00; /* not ours any more: treat as failed */
	j->ended = 1;
	return 1;
}

static void local_cancel(void *handle, int hard)
{
	local_job *j = handle;

	if (!j->ended)
		kill(-j->pid, hard ? SIGKILL : SIGTERM);
}

/* A launcher's own account of the end, when no rank left a reason:
 * mpirun's "mpirun noticed that process rank 1 ... exited on signal 9". */
static void launcher_reason(local_job *j, char *reason, size_t n)
{
	char *text = NULL, *line, *cur;
	size_t len;

	if (mp_read_file(j->log, &text, &len, NULL) != 0)
		return;
	for (cur = text + ((off_t)len > j->log_from ? j->log_from : 0); (line = mp_text_line(&cur));) {
		char *at = strstr(line, "mpirun noticed that ");

		if (at) {
			snprintf(reason, n, "mpirun: %s", at + strlen("mpirun noticed that "));
			break;
		}
	}
	free(text);
}

/* The reason the component gave: through its error channel, else in the
 * .error file it left, else in the log (a launcher's). */
static void read_reason(local_job *j, char *reason, size_t n)
{
	char *path, *text = NULL;
	ssize_t got;

	reason[0] = '\0';
	got = j->errfd >= 0 ? read(j->errfd, reason, n - 1) : 0;
	reason[got > 0 ? got : 0] = '\0';
	if (reason[0] || !(path = mp_asprintf("%s/.error", j->staging)))
		return;
	if (mp_read_file(path, &text, NULL, NULL) == 0)
		snprintf(reason, n, "%s", text);
	free(text);
	free(path);
	if (!reason[0] && j->log)
		launcher_reason(j, reason, n);
}

static void local_collect(void *handle, mp_exec_status *st)
{
	local_job *j = handle;
	mp_exec_status ignored;

	if (!st)
		st = &ignored;
	while (!j->ended) {
		if (waitpid(j->pid, &j->status, 0) >= 0) {
			j->ended = 1;
		} else if (errno != EINTR) {
			j->status = 0x7f00; /* not ours any more: treated as failed, as in poll */
			j->ended = 1;
		}
	}
	kill(-j->pid, SIGKILL); /* anything the component left behind in its group */
	memset(st, 0, sizeof(*st));
	if (WIFSIGNALED(j->status))
		st->signal = WTERMSIG(j->status);
	else
		st->code = WEXITSTATUS(j->status);
	if (st->signal || st->code)
		read_reason(j, st->reason, sizeof(st->reason));
	if (j->errfd >= 0)
		close(j->errfd);
	free(j->staging);
	free(j->log);
	free(j);
}

const mp_executor mp_local_executor = {
	"local", local_start, local_poll, local_cancel, local_collect, NULL, NULL,
};
