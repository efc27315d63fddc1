/* Command: a user's shell command as a pipeline step, like a DVC stage.
 *
 * The command runs with /bin/sh in the pipeline file's folder.  Its inputs,
 * outputs and params arrive as environment variables (MLPIPE_INPUT_<NAME>,
 * MLPIPE_OUTPUT_<NAME>, MLPIPE_PARAM_<NAME>; names upper-cased, other
 * characters as '_').  It may write metrics to the file $MLPIPE_METRICS, one
 * per line: "name value" or "name step value". */
#include "components/component.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const mp_param_spec params[] = {
	{"cmd", MP_PARAM_STRING, NULL, 0, 0, "the shell command to run", NULL, NULL},
	{"deps", MP_PARAM_PATHS, "", 0, 0,
	 "files or folders the command reads; their content is part of the cache key", NULL, NULL},
};

/* "MLPIPE_INPUT_" + name, upper-cased, other characters as '_'. */
static char *env_entry(const char *prefix, const char *name, const char *value)
{
	char *s = mp_asprintf("%s%s=%s", prefix, name, value), *p;

	if (!s)
		return NULL;
	for (p = s + strlen(prefix); *p != '='; p++)
		*p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
	return s;
}

static int parse_metrics(const char *path, mp_result *r, mp_err *err)
{
	char *data, *line, *next;
	int lineno = 0, rc;

	if ((rc = mp_read_file(path, &data, NULL, err)) != 0)
		return rc;
	for (line = data; *line; line = next) {
		char *f[4], *tok, *save = NULL, *end;
		int n = 0;
		double v;
		int64_t step = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		lineno++;
		for (tok = strtok_r(line, " \t\r", &save); tok && n < 4; tok = strtok_r(NULL, " \t\r", &save))
			f[n++] = tok;
		if (n == 0 || f[0][0] == '#')
			continue;
		if (n < 2 || n > 3) {
			rc = mp_error(err, MP_EINVAL, "metrics file line %d: expected 'name value' or 'name step value'", lineno);
			break;
		}
		if (n == 3 && mp_parse_i64(f[1], 0, INT64_MAX, &step, "step", err) != 0) {
			rc = mp_error_wrap(err, "metrics file line %d", lineno);
			break;
		}
		errno = 0;
		v = strtod(f[n - 1], &end);
		if (*end || end == f[n - 1]) {
			rc = mp_error(err, MP_EINVAL, "metrics file line %d: '%s' is not a number", lineno, f[n - 1]);
			break;
		}
		if (mp_result_metric(r, f[0], step, v) != 0) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			break;
		}
	}
	free(data);
	return rc;
}

static int run_command(const mp_component_io *io, mp_err *err)
{
	const char *cmd = mp_io_param(io, "cmd");
	const char *tmpdir = getenv("TMPDIR");
	char metrics[4096];
	size_t nenv = 0, i, n;
	char **env = NULL;
	int rc = 0, fd, status;
	pid_t pid;

	if (!cmd || !*cmd)
		return mp_error(err, MP_EINVAL, "Command needs a 'cmd' param");
	snprintf(metrics, sizeof(metrics), "%s/mlpipe-metrics.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if ((fd = mkstemp(metrics)) < 0)
		return mp_error(err, MP_EIO, "cannot create a metrics file: %s", strerror(errno));
	close(fd);
	while (environ[nenv])
		nenv++;
	n = nenv + io->ninputs + io->noutputs + io->nparams + 2;
	if (!(env = mp_calloc(n, sizeof(*env)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	n = 0;
	for (i = 0; i < nenv; i++)
		if (strncmp(environ[i], "MLPIPE_", 7) != 0)
			env[n++] = mp_strdup(environ[i]);
	for (i = 0; i < io->ninputs; i++)
		env[n++] = env_entry("MLPIPE_INPUT_", io->inputs[i].key, io->inputs[i].value);
	for (i = 0; i < io->noutputs; i++)
		env[n++] = env_entry("MLPIPE_OUTPUT_", io->outputs[i].key, io->outputs[i].value);
	for (i = 0; i < io->nparams; i++)
		if (strcmp(io->params[i].key, "cmd") != 0)
			env[n++] = env_entry("MLPIPE_PARAM_", io->params[i].key, io->params[i].value);
	env[n++] = mp_asprintf("MLPIPE_METRICS=%s", metrics);
	for (i = 0; i < n; i++)
		if (!env[i]) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto out;
		}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = mp_error(err, MP_EIO, "cannot start the command: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (io->workdir && chdir(io->workdir) != 0) {
			fprintf(stderr, "mlpipe: cannot enter '%s': %s\n", io->workdir, strerror(errno));
			_exit(126);
		}
		execle("/bin/sh", "sh", "-c", cmd, (char *)NULL, env);
		fprintf(stderr, "mlpipe: cannot run /bin/sh: %s\n", strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			rc = mp_error(err, MP_EIO, "cannot wait for the command: %s", strerror(errno));
			goto out;
		}
	if (WIFSIGNALED(status))
		rc = mp_error(err, MP_EIO, "command killed by signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		rc = mp_error(err, MP_EIO, "command exited with status %d", WEXITSTATUS(status));
	else
		rc = parse_metrics(metrics, io->result, err);
out:
	unlink(metrics);
	for (i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
	return rc;
}

const mp_component_type mp_command_component = {
	.name = "Command",
	.version = "1",
	.summary = "runs a shell command with its inputs, outputs and params in the environment",
	.any_inputs = 1,
	.declared_outputs = 1,
	.params = params,
	.nparams = MP_COUNTOF(params),
	.any_params = 1,
	.run = run_command,
};
