/* Resuming a run (with the configuration it began with), and settling
 * runs whose orchestrator died. */
#include "orchestrator/runner.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int owner_alive(int64_t pid, const char *host)
{
	char me[256] = "";

	gethostname(me, sizeof(me) - 1);
	if (!pid)
		return 0;
	if (strcmp(host, me) != 0)
		return -1; /* cannot tell */
	if (pid == (int64_t)getpid())
		return 0;
	return mp_process_alive((long)pid);
}

/* The batch job an execution runs as, and the executor that knows it:
 * NULL when none was recorded. */
static const mp_executor *recorded_job(mp__runner *R, int64_t exec_id, char *id, size_t n)
{
	char kind[32];
	mp_err e2;

	if (mp_store_get_execution_job(R->st, exec_id, kind, sizeof(kind), id, n, &e2) != 0)
		return NULL;
	return !strcmp(kind, mp_slurm_executor.name) ? &mp_slurm_executor : NULL;
}

/* Marks a run of this pipeline whose orchestrator died as FAILED, after
 * removing what its RUNNING executions had staged or half published (and
 * cancelling the batch jobs they ran as), but for the executions in keep,
 * whose jobs --resume follows again. */
static int settle_dead_run(mp__runner *R, int64_t run_id, const int64_t *keep, size_t nkeep, mp_err *err)
{
	mp_execution_list el = {0};
	size_t i, k;
	int rc = 0;

	if ((rc = mp_store_run_executions(R->st, run_id, &el, err)) != 0)
		return rc;
	for (i = 0; i < el.n && rc == 0; i++) {
		const mp_execution *e = &el.items[i];
		mp_exec_result res = {MP_EXEC_FAILED, "the orchestrator stopped before it finished", NULL, 0, NULL, 0};
		const mp_executor *ex;
		char job[64];
		int ci;
		char *d;

		if (strcmp(e->state, "RUNNING") != 0)
			continue;
		for (k = 0; k < nkeep && keep[k] != e->id; k++)
			;
		if (k < nkeep)
			continue;
		if ((ex = recorded_job(R, e->id, job, sizeof(job)))) {
			mp_exec_job none = {0};
			void *h;
			mp_err e2;

			/* its job is stopped, not followed: only the id matters */
			none.staging = "";
			if (ex->attach(&h, &none, job, &e2) == 0) {
				ex->cancel(h, 1);
				ex->collect(h, NULL);
			}
		}
		if ((d = mp_asprintf("%s/.staging/%lld", R->pdir, (long long)e->id))) {
			mp__discard_staging(d);
			free(d);
		}
		if ((ci = mp_pipeline_find(R->p, e->component_id)) >= 0)
			for (k = 0; k < R->p->comps[ci].noutputs; k++)
				if ((d = mp_asprintf("%s/%s/%s/%lld", R->pdir, e->component_id,
						     R->p->comps[ci].outputs[k].name, (long long)e->id))) {
					mp_rmtree(d, NULL);
					free(d);
				}
		rc = mp_store_finish_execution(R->st, e->id, &res, err);
	}
	mp_execution_list_release(&el);
	return rc;
}

static int find_resume_run(mp__runner *R, const char *which, mp_run *run, mp_err *err);

/* Runs of this pipeline left RUNNING by an orchestrator that is gone are
 * closed as FAILED, so they do not look alive forever. */
int mp__sweep_dead_runs(mp__runner *R, mp_err *err)
{
	mp_run_list rl = {0};
	int64_t resuming = 0;
	size_t i;
	int rc;

	if (R->o->resume) {
		/* the run --resume finishes is settled there: its jobs may be followed again */
		mp_run run = {0};
		mp_err e2;

		if (find_resume_run(R, R->o->resume, &run, &e2) == 0)
			resuming = run.id;
		mp_run_release(&run);
	}
	if ((rc = mp_store_list_runs(R->st, R->p->name, 50, &rl, err)) != 0)
		return rc;
	for (i = 0; i < rl.n && rc == 0; i++) {
		char host[256];
		int64_t pid;

		if (strcmp(rl.items[i].state, "RUNNING") != 0 || rl.items[i].id == resuming)
			continue;
		if ((rc = mp_store_get_run_owner(R->st, rl.items[i].id, &pid, host, sizeof(host), err)) != 0)
			break;
		if (owner_alive(pid, host) != 0)
			continue;
		mp_info("run %s was left running by process %lld, which is gone: marking it FAILED",
			rl.items[i].name, (long long)pid);
		if ((rc = settle_dead_run(R, rl.items[i].id, NULL, 0, err)) == 0)
			rc = mp_store_end_run(R->st, rl.items[i].id, MP_EXEC_FAILED, err);
	}
	mp_run_list_release(&rl);
	return rc;
}

static int find_resume_run(mp__runner *R, const char *which, mp_run *run, mp_err *err)
{
	int64_t id = 0;
	int rc;

	if (strcmp(which, "last") != 0) {
		const char *e;

		for (e = which; *e >= '0' && *e <= '9'; e++)
			;
		if (*which && !*e) {
			if ((rc = mp_parse_i64(which, 1, INT64_MAX, &id, "run id", err)) != 0)
				return rc;
		} else if ((rc = mp_store_find_run(R->st, which, &id, err)) != 0) {
			return rc;
		}
	}
	if ((rc = mp_store_get_run(R->st, id, id ? NULL : R->p->name, run, err)) != 0) {
		if (rc == MP_ENOTFOUND && !id)
			return mp_error(err, MP_ENOTFOUND, "pipeline '%s' has no run to resume in '%s'",
					R->p->name, mp_store_path(R->st));
		return rc;
	}
	if (strcmp(run->pipeline, R->p->name) != 0) {
		rc = mp_error(err, MP_EINVAL, "run %s belongs to pipeline '%s', not '%s'", run->name,
			      run->pipeline, R->p->name);
		mp_run_release(run);
		return rc;
	}
	return 0;
}

/* The --set overrides joined by newlines, as recorded with a run. */
char *mp__join_sets(char *const *sets, size_t n)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	size_t i;

	mp_strbuf_adds(&sb, "");
	for (i = 0; i < n; i++) {
		if (i)
			mp_strbuf_adds(&sb, "\n");
		mp_strbuf_adds(&sb, sets[i]);
	}
	if (sb.failed) {
		mp_strbuf_release(&sb);
		return NULL;
	}
	return mp_strbuf_detach(&sb);
}

/* Line n (from 1) of text into buf, shortened; "" past the end. */
static const char *nth_line(const char *text, int n, char *buf, size_t bufsz)
{
	const char *e;
	size_t len;

	while (--n > 0 && text && (text = strchr(text, '\n')))
		text++;
	if (!text || n > 0) {
		snprintf(buf, bufsz, "(nothing: the file ended)");
		return buf;
	}
	e = strchr(text, '\n');
	len = e ? (size_t)(e - text) : strlen(text);
	while (len && (*text == ' ' || *text == '\t'))
		text++, len--;
	if (len > 60)
		snprintf(buf, bufsz, "'%.57s...'", text);
	else
		snprintf(buf, bufsz, "'%.*s'", (int)len, text);
	return buf;
}

/* The first line where two texts differ, from 1. */
static int first_difference(const char *a, const char *b)
{
	int line = 1;

	for (; *a && *a == *b; a++, b++)
		if (*a == '\n')
			line++;
	return line;
}

/* Refuses to resume run with a configuration other than the one it began
 * with: the pipeline file's content and the --set overrides.  A run from
 * before configurations were recorded is resumed as the file is now. */
static int check_resume_config(mp__runner *R, const mp_run *run, mp_err *err)
{
	char *hash = NULL, *text = NULL, *sets = NULL, *now = NULL;
	int rc;

	rc = mp_store_get_run_config(R->st, run->id, "pipeline_hash", &hash, err);
	if (rc == MP_ENOTFOUND) {
		mp_warn("run %s recorded no configuration (an older mlpipe started it): "
			"resuming it with the pipeline file as it is now", run->name);
		return 0;
	}
	if (rc != 0)
		goto out;
	if (strcmp(hash, R->p->source_hash) != 0) {
		char was[80], is[80];
		int line;

		if ((rc = mp_store_get_run_config(R->st, run->id, "pipeline_text", &text, err)) == MP_ENOTFOUND) {
			rc = mp_error(err, MP_EINVAL, "'%s' changed since run %s began; --resume finishes a run "
				      "with the configuration it began with: restore the file, or start a new run "
				      "without --resume", R->p->file, run->name);
			goto out;
		}
		if (rc != 0)
			goto out;
		line = first_difference(text, R->p->source);
		rc = mp_error(err, MP_EINVAL, "'%s' changed since run %s began (line %d was %s, now %s); "
			      "--resume finishes a run with the configuration it began with: restore the "
			      "file, or start a new run without --resume", R->p->file, run->name, line,
			      nth_line(text, line, was, sizeof(was)), nth_line(R->p->source, line, is, sizeof(is)));
		goto out;
	}
	if ((rc = mp_store_get_run_config(R->st, run->id, "sets", &sets, err)) == MP_ENOTFOUND) {
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	if (!(now = mp__join_sets(R->p->sets, R->p->nsets))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if (strcmp(sets, now) != 0)
		rc = mp_error(err, MP_EINVAL, "run %s began with %s%s, this resume has %s%s; --resume "
			      "finishes a run with the configuration it began with", run->name,
			      *sets ? "--set " : "no --set", sets, *now ? "--set " : "no --set", now);
out:
	free(hash);
	free(text);
	free(sets);
	free(now);
	return rc;
}

int mp_run_recorded_sets(const mp_pipeline *p, const char *which, char **sets, mp_err *err)
{
	mp__runner R = {0};
	mp_run run = {0};
	int rc;

	*sets = NULL;
	R.p = p;
	if (!mp_path_exists(p->metadata))
		return mp_error(err, MP_ENOTFOUND, "there is no run to resume: '%s' does not exist", p->metadata);
	if ((rc = mp_store_open(&R.st, p->metadata, 0, err)) != 0)
		return rc;
	if ((rc = find_resume_run(&R, which, &run, err)) == 0) {
		rc = mp_store_get_run_config(R.st, run.id, "sets", sets, err);
		if (rc == MP_ENOTFOUND)
			rc = 0;
	}
	mp_run_release(&run);
	mp_store_close(R.st);
	return rc;
}

int mp__prepare_resume(mp__runner *R, mp_err *err)
{
	mp_run run = {0};
	mp_execution_list el = {0};
	char host[256];
	int64_t pid, *keep = NULL;
	size_t i, nkeep = 0;
	int rc;

	if ((rc = find_resume_run(R, R->o->resume, &run, err)) != 0)
		return rc;
	R->run_id = run.id;
	snprintf(R->out->run_name, sizeof(R->out->run_name), "%s", run.name);
	if (strcmp(run.state, "COMPLETE") == 0) {
		R->out->already_complete = 1;
		R->out->state = MP_EXEC_COMPLETE;
		goto out;
	}
	if ((rc = check_resume_config(R, &run, err)) != 0)
		goto out;
	if (strcmp(run.state, "RUNNING") == 0) {
		if ((rc = mp_store_get_run_owner(R->st, run.id, &pid, host, sizeof(host), err)) != 0)
			goto out;
		switch (owner_alive(pid, host)) {
		case 1:
			rc = mp_error(err, MP_EBUSY, "run %s is still running (process %lld)", run.name,
				      (long long)pid);
			goto out;
		case -1:
			rc = mp_error(err, MP_EBUSY, "run %s is running on host '%s'", run.name, host);
			goto out;
		}
		mp_info("run %s was left running by process %lld, which is gone", run.name, (long long)pid);
	}
	/* executions whose batch job may still run, or ended meanwhile: followed again */
	if ((rc = mp_store_run_executions(R->st, run.id, &el, err)) != 0)
		goto out;
	if (!(keep = mp_calloc(el.n + 1, sizeof(*keep)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < el.n; i++) {
		const mp_execution *e = &el.items[i];
		int ci = mp_pipeline_find(R->p, e->component_id);
		mp__node *n = ci >= 0 ? &R->nodes[ci] : NULL;

		if (n && !strcmp(e->state, "RUNNING") && recorded_job(R, e->id, n->reattach, sizeof(n->reattach))) {
			n->reattach_exec = e->id;
			keep[nkeep++] = e->id;
		}
	}
	mp_execution_list_release(&el);
	memset(&el, 0, sizeof(el));
	if ((rc = settle_dead_run(R, run.id, keep, nkeep, err)) != 0 ||
	    (rc = mp_store_reopen_run(R->st, run.id, err)) != 0)
		goto out;
	if ((rc = mp_store_run_executions(R->st, run.id, &el, err)) != 0)
		goto out;
	for (i = 0; i < el.n; i++) {
		const mp_execution *e = &el.items[i];
		int ci = mp_pipeline_find(R->p, e->component_id);

		if (ci >= 0 && (strcmp(e->state, "COMPLETE") == 0 || strcmp(e->state, "CACHED") == 0))
			R->nodes[ci].resume_exec = e->id;
	}
out:
	free(keep);
	mp_execution_list_release(&el);
	mp_run_release(&run);
	return rc;
}
