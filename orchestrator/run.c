/* The run loop: see run.h, and runner.h for the files it is made of. */
#include "orchestrator/runner.h"
#include "orchestrator/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 20
#define TAIL_BYTES 2048
#define TAIL_LINES 12

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void say(mp__runner *R, const char *fmt, ...) MP_PRINTF(2, 3);
static void say(mp__runner *R, const char *fmt, ...)
{
	va_list ap;

	if (!R->o->out)
		return;
	va_start(ap, fmt);
	vfprintf(R->o->out, fmt, ap);
	va_end(ap);
	fflush(R->o->out);
}

static int64_t elapsed_ms(const mp__node *n)
{
	return (mp_monotonic_ns() - n->start_ns) / 1000000;
}

/* ---- the cache key ----------------------------------------------------- */

/* ---- nodes ------------------------------------------------------------- */

static int node_settled_ok(const mp__node *n)
{
	return n->state == N_DONE || n->state == N_CACHED || n->state == N_REUSED;
}

/* Each component n must wait for: its inputs' producers and its after:. */
static int deps_state(mp__runner *R, const mp__node *n, const char **failed_dep)
{
	size_t i;
	int ready = 1;

	for (i = 0; i < n->c->ninputs + n->c->nafter; i++) {
		int d = i < n->c->ninputs ? n->c->inputs[i].src : n->c->after[i - n->c->ninputs];
		const mp__node *dep = &R->nodes[d];

		if (dep->state == N_FAILED || dep->state == N_CANCELED) {
			*failed_dep = dep->c->id;
			return -1;
		}
		if (!node_settled_ok(dep))
			ready = 0;
	}
	return ready;
}


static void free_node(mp__node *n)
{
	size_t i;

	for (i = 0; n->out_ids && i < n->c->noutputs; i++) {
		free(n->out_uris[i]);
		free(n->out_fps[i]);
	}
	free(n->out_ids);
	free(n->out_uris);
	free(n->out_fps);
	free(n->staging);
	free(n->log);
	free(n->scratch);
	for (i = 0; i < n->nextra; i++) {
		free(n->extra_uris[i]);
		free(n->extra_fps[i]);
	}
	free(n->extra_names);
	free(n->extra_ids);
	free(n->extra_uris);
	free(n->extra_fps);
}


/* ---- running a component in a child ------------------------------------ */

static void log_note(const mp__node *n, const char *msg);

/* The kv lists an executor gets: n's inputs (wired and found in the
 * store), its staging outputs and its params.  free_job_lists frees them. */
static int job_lists(mp__runner *R, mp__node *n, mp_kv **ins, mp_kv **outs, mp_kv **params, mp_err *err)
{
	const mp_pl_component *c = n->c;
	size_t i;

	*ins = mp_calloc(c->ninputs + n->nextra + 1, sizeof(**ins));
	*outs = mp_calloc(c->noutputs + 1, sizeof(**outs));
	*params = mp_calloc(c->nparams + 1, sizeof(**params));
	if (!*ins || !*outs || !*params)
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < c->ninputs; i++) {
		int k;
		mp__node *src = mp__input_source(R, &c->inputs[i], &k);

		(*ins)[i].key = c->inputs[i].name;
		(*ins)[i].value = k >= 0 ? src->out_uris[k] : "";
	}
	for (i = 0; i < n->nextra; i++) {
		(*ins)[c->ninputs + i].key = n->extra_names[i];
		(*ins)[c->ninputs + i].value = n->extra_uris[i];
	}
	for (i = 0; i < c->noutputs; i++) {
		(*outs)[i].key = c->outputs[i].name;
		if (!((*outs)[i].value = mp__staging_output(n, i)))
			return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (i = 0; i < c->nparams; i++) {
		(*params)[i].key = c->params[i].name;
		(*params)[i].value = c->params[i].value;
	}
	return 0;
}

static void free_job_lists(mp_kv *ins, mp_kv *outs, size_t nouts, mp_kv *params)
{
	size_t i;

	for (i = 0; outs && i < nouts; i++)
		free((char *)outs[i].value);
	free(ins);
	free(outs);
	free(params);
}

/* Starts an attempt of n through its executor, in a fresh staging folder. */
static int launch(mp__runner *R, mp__node *n, mp_err *err)
{
	mp_kv *ins = NULL, *outs = NULL, *params = NULL;
	mp_exec_job job = {0};
	struct stat sb;
	int rc;

	if (!n->reattach[0] && (rc = mp__prepare_staging(n, err)) != 0)
		return rc;
	n->attempt++;
	if (n->attempt > 1) {
		char note[64];

		snprintf(note, sizeof(note), "attempt %d of %d", n->attempt, n->c->retries + 1);
		log_note(n, note);
	}
	n->log_start = stat(n->log, &sb) == 0 ? sb.st_size : 0;
	n->timed_out = 0;
	n->stopped = 0;
	n->start_ns = mp_monotonic_ns();
	n->deadline_ns = n->c->timeout_s > 0 ? n->start_ns + (int64_t)n->c->timeout_s * 1000000000 : 0;
	n->kill_ns = 0;
	if ((rc = job_lists(R, n, &ins, &outs, &params, err)) == 0) {
		job.type = n->c->type;
		job.component_id = n->c->id;
		job.inputs = ins;
		job.ninputs = n->c->ninputs + n->nextra;
		job.outputs = outs;
		job.noutputs = n->c->noutputs;
		job.params = params;
		job.nparams = n->c->nparams;
		job.workdir = R->p->dir;
		job.scratch = n->scratch;
		job.staging = n->staging;
		job.log = n->log;
		job.ranks = n->c->ranks;
		job.mpi_hostfile = R->p->mpi_hostfile;
		job.mpi_args = R->p->mpi_args;
		job.nmpi_args = R->p->nmpi_args;
		{
			mp_pl_exec e = mp_pl_effective_exec(R->p, n->c);
			mp_exec_slurm sq = {e.partition, e.time, e.mem, e.cpus, e.extra, e.nextra};

			job.slurm = &sq;
			n->ex = e.kind == MP_EXEC_KIND_SLURM ? &mp_slurm_executor
				: n->c->ranks > 1	     ? &mp_mpi_executor
							     : &mp_local_executor;
			rc = MP_ENOTFOUND;
			if (n->reattach[0] && n->ex->attach) {
				/* --resume: the job the killed orchestrator left, followed again */
				if ((rc = n->ex->attach(&n->job, &job, n->reattach, err)) == 0)
					say(R, "  %-*s reattached to %s job %s\n", R->idw, n->c->id, n->ex->name,
					    n->reattach);
				else if (rc == MP_ENOTFOUND)
					log_note(n, err->msg);
			}
			if (rc == MP_ENOTFOUND && n->reattach[0]) {
				/* gone without a trace: submitted again, from a fresh staging folder */
				n->reattach[0] = '\0';
				rc = mp__prepare_staging(n, err);
				if (rc == 0)
					rc = n->ex->start(&n->job, &job, err);
			} else if (rc == MP_ENOTFOUND) {
				rc = n->ex->start(&n->job, &job, err);
			}
			n->reattach[0] = '\0';
		}
	}
	free_job_lists(ins, outs, n->c->noutputs, params);
	if (rc != 0)
		return rc;
	/* a job that outlives this process is recorded, so --resume finds it */
	if (n->ex->job_id && (rc = mp_store_set_execution_job(R->st, n->exec_id, n->ex->name, n->ex->job_id(n->job),
							       err)) != 0) {
		n->ex->cancel(n->job, 1);
		n->ex->collect(n->job, NULL);
		n->job = NULL;
		return rc;
	}
	n->state = N_RUNNING;
	R->running++;
	if (R->o->show_starts)
		say(R, "  %-*s started%s\n", R->idw, n->c->id,
		    n->attempt > 1 ? " again" : "");
	return 0;
}

/* The last lines of the log, for the exit reason. */
static void log_tail(const char *log, off_t from, mp_strbuf *sb)
{
	char buf[TAIL_BYTES + 1];
	const char *start;
	ssize_t got;
	off_t size;
	int fd, lines = 0;
	char *p;

	if ((fd = open(log, O_RDONLY)) < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size - from > TAIL_BYTES)
		lseek(fd, size - TAIL_BYTES, SEEK_SET);
	else
		lseek(fd, from, SEEK_SET);
	got = read(fd, buf, TAIL_BYTES);
	close(fd);
	if (got <= 0)
		return;
	buf[got] = '\0';
	while (got > 0 && buf[got - 1] == '\n')
		buf[--got] = '\0';
	start = buf;
	for (p = buf + got; p > buf; p--)
		if (p[-1] == '\n' && ++lines == TAIL_LINES) {
			start = p;
			break;
		}
	if (size - from > TAIL_BYTES && start == buf) {
		const char *nl = strchr(buf, '\n');

		start = nl ? nl + 1 : buf; /* drop a cut first line */
	}
	if (*start) {
		mp_strbuf_adds(sb, "\nstderr tail:\n");
		mp_strbuf_adds(sb, start);
	}
}

/* Appends a line to a component's log from the orchestrator. */
static void log_note(const mp__node *n, const char *msg)
{
	FILE *f = fopen(n->log, "a");

	if (f) {
		fprintf(f, "mlpipe: %s\n", msg);
		fclose(f);
	}
}

/* Why the component ended badly, as one line (into line) plus the log's
 * tail. */
static void failure_reason(mp__node *n, const mp_exec_status *st, char *line, size_t linesz,
			   mp_strbuf *full)
{
	if (n->timed_out)
		snprintf(line, linesz, "timed out after %d s", n->c->timeout_s);
	else if (n->stopped)
		snprintf(line, linesz, "stopped by signal %d (%s)", (int)got_signal, strsignal(got_signal));
	else if (st->signal)
		snprintf(line, linesz, "killed by signal %d (%s)", st->signal, strsignal(st->signal));
	else if (st->reason[0])
		snprintf(line, linesz, "%s", st->reason);
	else
		snprintf(line, linesz, "exited with status %d", st->code);
	if (n->c->retries > 0)
		mp_strbuf_addf(full, "attempt %d of %d: ", n->attempt, n->c->retries + 1);
	mp_strbuf_adds(full, line);
	log_tail(n->log, n->log_start, full);
	log_note(n, line);
}

/* The failure line, then the last few lines of the component's stderr
 * (from the reason's "stderr tail:" part), indented. */
static void print_failure(mp__runner *R, mp__node *n, const char *line, const char *full)
{
	const char *tail = strstr(full, "\nstderr tail:\n"), *p;
	char d[32], cwd[4096];
	const char *log = n->log;
	size_t cwdlen;
	int lines = 0;

	/* the log as a relative path when it lies below the current folder */
	if (getcwd(cwd, sizeof(cwd)) && (cwdlen = strlen(cwd)) > 1 && strncmp(log, cwd, cwdlen) == 0 &&
	    log[cwdlen] == '/')
		log += cwdlen + 1;
	say(R, "  %-*s failed after %s: %s (log: %s)\n", R->idw, n->c->id,
	    mp_format_duration(d, sizeof(d), elapsed_ms(n)), line, log);
	if (!tail)
		return;
	tail += strlen("\nstderr tail:\n");
	for (p = tail + strlen(tail); p > tail; p--)
		if (p[-1] == '\n' && ++lines == 3)
			break;
	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		say(R, "  %-*s | %.*s\n", R->idw, "", len, p);
		p += len + (nl ? 1 : 0);
	}
}

/* n has ended: publish, retry or record the failure. */
static int reaped(mp__runner *R, mp__node *n, mp_err *err)
{
	char line[MP_ERR_MAX], d[32];
	mp_strbuf full = MP_STRBUF_INIT;
	mp_exec_status st;
	int rc = 0;

	R->running--;
	n->ex->collect(n->job, &st);
	n->job = NULL;
	if (!n->timed_out && !n->stopped && !st.signal && st.code == 0) {
		mp_err perr = {0};

		if (mp__publish(R, n, &perr) == 0) {
			n->state = N_DONE;
			R->out->ran++;
			say(R, "  %-*s ran in %s%s\n", R->idw, n->c->id,
			    mp_format_duration(d, sizeof(d), elapsed_ms(n)),
			    n->attempt > 1 ? " (after a retry)" : "");
			mp_rmtree(n->staging, NULL);
			mp_rmtree(n->scratch, NULL);
			return 0;
		}
		if (perr.code == MP_EDB || perr.code == MP_ENOMEM) {
			/* the store itself failed: the run cannot go on */
			mp__discard_staging(n->staging);
			*err = perr;
			n->state = N_FAILED;
			R->out->failed++;
			return perr.code;
		}
		snprintf(line, sizeof(line), "%s", perr.msg);
		log_note(n, line);
		mp_strbuf_adds(&full, line);
	} else {
		failure_reason(n, &st, line, sizeof(line), &full);
	}
	if (!n->stopped && !R->stopping && n->attempt <= n->c->retries) {
		print_failure(R, n, line, mp_strbuf_str(&full));
		say(R, "  %-*s retrying (attempt %d of %d)\n", R->idw, n->c->id, n->attempt + 1,
		    n->c->retries + 1);
		mp_strbuf_release(&full);
		return launch(R, n, err);
	}
	mp__discard_staging(n->staging);
	if (n->stopped || R->stopping) {
		n->state = N_CANCELED;
		R->out->canceled++;
		say(R, "  %-*s canceled: %s\n", R->idw, n->c->id, line);
		rc = mp__record_end(R, n, MP_EXEC_CANCELED, full.failed ? line : mp_strbuf_str(&full), err);
	} else {
		n->state = N_FAILED;
		R->out->failed++;
		print_failure(R, n, line, mp_strbuf_str(&full));
		rc = mp__record_end(R, n, MP_EXEC_FAILED, full.failed ? line : mp_strbuf_str(&full), err);
	}
	mp_strbuf_release(&full);
	return rc;
}

/* Starts a ready component: reuse from the resumed run, reuse from the
 * cache, or run it. */
static int start(mp__runner *R, mp__node *n, mp_err *err)
{
	mp__exec_args a;
	int rc, hit;

	if ((rc = mp__compute_key(R, n, err)) != 0)
		return rc;
	if (n->resume_exec) {
		if ((hit = mp__take_outputs(R, n, n->resume_exec, n->key, err)) < 0)
			return hit;
		if (hit) {
			n->exec_id = n->resume_exec;
			n->state = N_REUSED;
			R->out->reused++;
			say(R, "  %-*s done before (execution %lld)\n", R->idw, n->c->id,
			    (long long)n->exec_id);
			return 0;
		}
	}
	if (!R->o->no_cache && n->c->cache && !n->reattach_exec) {
		int64_t src;

		rc = mp_store_find_cached(R->st, n->key, &src, err);
		if (rc != 0 && rc != MP_ENOTFOUND)
			return rc;
		if (rc == 0) {
			if ((hit = mp__take_outputs(R, n, src, NULL, err)) < 0)
				return hit;
			if (hit) {
				if ((rc = mp__exec_args_make(R, n, 1, &a, err)) != 0)
					return rc;
				rc = mp_store_record_cached(R->st, &a.spec, src, &n->exec_id, err);
				mp__exec_args_release(&a);
				if (rc != 0)
					return rc;
				n->state = N_CACHED;
				R->out->cached++;
				say(R, "  %-*s cached (from execution %lld)\n", R->idw, n->c->id,
				    (long long)src);
				return 0;
			}
		}
	}
	if (n->reattach_exec) {
		/* the execution goes on where the killed orchestrator left it */
		n->exec_id = n->reattach_exec;
	} else {
		if ((rc = mp__exec_args_make(R, n, 1, &a, err)) != 0)
			return rc;
		rc = mp_store_begin_execution(R->st, &a.spec, &n->exec_id, err);
		mp__exec_args_release(&a);
		if (rc != 0)
			return rc;
	}
	n->staging = mp_asprintf("%s/.staging/%lld", R->pdir, (long long)n->exec_id);
	n->log = mp_asprintf("%s/.logs/%lld-%s.log", R->pdir, (long long)n->exec_id, n->c->id);
	n->scratch = mp_asprintf("%s/.scratch/%s-%.16s", R->pdir, n->c->id, n->key);
	if (!n->staging || !n->log || !n->scratch)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0)
		rc = mp_mkdirs(n->scratch, 0755, err);
	if (rc == 0)
		rc = launch(R, n, err);
	if (rc != 0) {
		/* could not even start: the execution is recorded as FAILED */
		mp_err ferr;

		n->state = N_FAILED;
		R->out->failed++;
		say(R, "  %-*s failed: %s\n", R->idw, n->c->id, err->msg);
		if (mp__record_end(R, n, MP_EXEC_FAILED, err->msg, &ferr) != 0)
			return ferr.code;
		mp__discard_staging(n->staging);
		return err->code == MP_ENOMEM ? rc : 0;
	}
	return 0;
}

/* Sends SIGTERM to every running child (SIGKILL after the grace period). */
static void stop_children(mp__runner *R)
{
	int64_t grace = (int64_t)(R->o->grace_ms > 0 ? R->o->grace_ms : 5000) * 1000000;
	size_t i;

	for (i = 0; i < R->p->ncomps; i++) {
		mp__node *n = &R->nodes[i];

		if (n->state != N_RUNNING || n->stopped)
			continue;
		n->stopped = 1;
		n->ex->cancel(n->job, 0);
		n->kill_ns = mp_monotonic_ns() + grace;
	}
}

static void check_timeouts(mp__runner *R)
{
	int64_t now = mp_monotonic_ns();
	int64_t grace = (int64_t)(R->o->grace_ms > 0 ? R->o->grace_ms : 5000) * 1000000;
	size_t i;

	for (i = 0; i < R->p->ncomps; i++) {
		mp__node *n = &R->nodes[i];

		if (n->state != N_RUNNING)
			continue;
		if (n->deadline_ns && !n->timed_out && !n->stopped && now >= n->deadline_ns) {
			n->timed_out = 1;
			n->ex->cancel(n->job, 0);
			n->kill_ns = now + grace;
		} else if (n->kill_ns && now >= n->kill_ns) {
			n->ex->cancel(n->job, 1);
			n->kill_ns = 0;
		}
	}
}

/* Settles every component that has ended. */
static int reap(mp__runner *R, mp_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < R->p->ncomps; i++) {
		mp__node *n = &R->nodes[i];

		if (n->state != N_RUNNING || !n->ex->poll(n->job))
			continue;
		if ((rc = reaped(R, n, err)) != 0)
			return rc;
	}
	return 0;
}

static void tick(void)
{
	struct timespec ts = {0, TICK_MS * 1000000L};

	nanosleep(&ts, NULL); /* a signal cuts it short */
}

/* Kills and reaps every child, for when the run cannot go on. */
static void abandon_children(mp__runner *R)
{
	size_t i;

	for (i = 0; i < R->p->ncomps; i++) {
		mp__node *n = &R->nodes[i];

		if (n->state != N_RUNNING)
			continue;
		n->ex->cancel(n->job, 1);
		n->ex->collect(n->job, NULL);
		n->job = NULL;
		mp__discard_staging(n->staging);
		n->state = N_FAILED;
	}
	R->running = 0;
}

static int schedule(mp__runner *R, mp_err *err)
{
	int jobs = R->o->jobs > 0 ? R->o->jobs : 1;
	size_t i;
	int rc;

	for (;;) {
		int progress = 0, pending = 0;

		if (got_signal && !R->stopping) {
			R->stopping = 1;
			R->out->stop_signal = got_signal;
			say(R, "mlpipe: signal %d (%s): stopping the run\n", (int)got_signal, strsignal(got_signal));
			stop_children(R);
		}
		for (i = 0; i < R->p->ncomps; i++) {
			mp__node *n = &R->nodes[R->p->order[i]];
			const char *failed_dep = NULL;
			int ready;

			if (n->state != N_PENDING)
				continue;
			pending++;
			if (R->stopping)
				continue;
			ready = deps_state(R, n, &failed_dep);
			if (ready < 0) {
				char reason[256];

				snprintf(reason, sizeof(reason), "upstream component '%s' did not complete", failed_dep);
				say(R, "  %-*s canceled: %s\n", R->idw, n->c->id, reason);
				if ((rc = mp__record_canceled(R, n, reason, err)) != 0)
					return rc;
				progress = 1;
			} else if (ready && R->running < jobs) {
				if ((rc = start(R, n, err)) != 0)
					return rc;
				progress = 1;
			}
		}
		if (R->stopping && R->running == 0) {
			/* what never started is recorded as canceled too */
			for (i = 0; i < R->p->ncomps; i++) {
				mp__node *n = &R->nodes[R->p->order[i]];

				if (n->state == N_PENDING &&
				    (rc = mp__record_canceled(R, n, "the run was stopped", err)) != 0)
					return rc;
			}
			return 0;
		}
		if (!pending && R->running == 0)
			return 0;
		if (progress)
			continue;
		if (R->running == 0)
			return mp_error(err, MP_EINVAL, "internal error: components wait on nothing");
		tick();
		check_timeouts(R);
		if ((rc = reap(R, err)) != 0)
			return rc;
	}
}

/* ---- resuming ---------------------------------------------------------- */

/* ---- the dry run ------------------------------------------------------- */

static int dry_run(mp__runner *R, mp_err *err)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; i < R->p->ncomps && rc == 0; i++) {
		mp__node *n = &R->nodes[R->p->order[i]];
		int changed = 0, hit = 0;
		int64_t src = 0;

		for (j = 0; j < n->c->ninputs + n->c->nafter; j++) {
			int d = j < n->c->ninputs ? n->c->inputs[j].src : n->c->after[j - n->c->ninputs];

			if (R->nodes[d].state != N_CACHED && j < n->c->ninputs)
				changed = 1;
		}
		if (!changed && R->st && !R->o->no_cache && n->c->cache) {
			if ((rc = mp__compute_key(R, n, err)) != 0)
				break;
			rc = mp_store_find_cached(R->st, n->key, &src, err);
			if (rc == MP_ENOTFOUND) {
				rc = 0;
			} else if (rc == 0) {
				if ((hit = mp__take_outputs(R, n, src, NULL, err)) < 0)
					rc = hit;
			}
		}
		if (rc != 0)
			break;
		if (hit) {
			n->state = N_CACHED;
			R->out->cached++;
			say(R, "  %-*s cached (from execution %lld)\n", R->idw, n->c->id, (long long)src);
		} else {
			n->state = N_DONE;
			R->out->ran++;
			say(R, "  %-*s would run%s\n", R->idw, n->c->id,
			    changed ? " (an input will be new)" : "");
		}
	}
	return rc;
}

/* ---- the run ----------------------------------------------------------- */

static int open_store(mp__runner *R, mp_err *err)
{
	char *dir = mp_strdup(R->p->metadata), *slash;
	int rc;

	if (!dir)
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if ((rc = mp_mkdirs(dir, 0755, err)) != 0) {
			free(dir);
			return mp_error_wrap(err, "metadata store");
		}
	}
	free(dir);
	return mp_store_open(&R->st, R->p->metadata, MP_STORE_CREATE, err);
}

static int begin(mp__runner *R, mp_err *err)
{
	mp_prop *params = NULL;
	mp_run run = {0};
	char host[256] = "";
	size_t i;
	int rc;

	if ((rc = mp__sweep_dead_runs(R, err)) != 0)
		return rc;
	if (R->o->resume) {
		if ((rc = mp__prepare_resume(R, err)) != 0)
			return rc;
	} else {
		/* the params, and the configuration the run began with (kept out of
		 * its params by the mlpipe. prefix), recorded with the run at once */
		char *sets = mp__join_sets(R->p->sets, R->p->nsets);

		if (!sets || !(params = mp_calloc(R->p->nparams + 3, sizeof(*params)))) {
			free(sets);
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
		for (i = 0; i < R->p->nparams; i++)
			params[i] = MP_PROP_S(R->p->params[i].name, R->p->params[i].value);
		params[i++] = MP_PROP_S("mlpipe.pipeline_hash", R->p->source_hash);
		params[i++] = MP_PROP_S("mlpipe.pipeline_text", R->p->source);
		params[i++] = MP_PROP_S("mlpipe.sets", sets);
		rc = mp_store_begin_run(R->st, R->p->name, R->p->root, params, i, &R->run_id, err);
		free(params);
		free(sets);
		if (rc != 0)
			return rc;
		if ((rc = mp_store_get_run(R->st, R->run_id, NULL, &run, err)) != 0)
			return rc;
		snprintf(R->out->run_name, sizeof(R->out->run_name), "%s", run.name);
		mp_run_release(&run);
	}
	if (R->out->already_complete)
		return 0;
	gethostname(host, sizeof(host) - 1);
	return mp_store_set_run_owner(R->st, R->run_id, (int64_t)getpid(), host, err);
}

int mp_run_pipeline(const mp_pipeline *p, const mp_run_opts *o, mp_run_outcome *out,
		    mp_err *err)
{
	struct sigaction sa, old_int, old_term;
	mp__runner R = {0};
	int64_t t0 = mp_monotonic_ns();
	size_t i;
	int rc = 0, handlers = 0, lock = -1;

	memset(out, 0, sizeof(*out));
	R.p = p;
	R.o = o;
	R.out = out;
	if (o->dry_run && o->resume)
		return mp_error(err, MP_EINVAL, "--dry-run and --resume cannot be combined");
	if (!(R.nodes = mp_calloc(p->ncomps + 1, sizeof(*R.nodes))) ||
	    !(R.pdir = mp_asprintf("%s/%s", p->root, p->name))) {
		free(R.nodes);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (i = 0; i < p->ncomps; i++) {
		R.nodes[i].c = &p->comps[i];
		if ((int)strlen(p->comps[i].id) > R.idw)
			R.idw = (int)strlen(p->comps[i].id);
	}
	if (o->dry_run) {
		if (mp_path_exists(p->metadata))
			rc = mp_store_open(&R.st, p->metadata, 0, err);
		if (rc == 0)
			rc = dry_run(&R, err);
		goto out;
	}
	if ((rc = mp_mkdirs(R.pdir, 0755, err)) != 0)
		goto out;
	{
		/* one run of a pipeline at a time, across processes */
		char *path = mp_asprintf("%s/.lock", R.pdir), *what = mp_asprintf("pipeline '%s' is running", p->name);

		rc = path && what ? mp_lock(path, 0, what, &lock, err) : mp_error(err, MP_ENOMEM, "out of memory");
		free(path);
		free(what);
		if (rc != 0)
			goto out;
	}
	{
		char *logs = mp_asprintf("%s/.logs", R.pdir);

		rc = logs ? mp_mkdirs(logs, 0755, err) : mp_error(err, MP_ENOMEM, "out of memory");
		free(logs);
		if (rc != 0)
			goto out;
	}
	if ((rc = open_store(&R, err)) != 0 || (rc = begin(&R, err)) != 0)
		goto out;
	out->run_id = R.run_id;
	if (out->already_complete)
		goto out;

	got_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	handlers = 1;

	rc = schedule(&R, err);
	if (rc != 0) {
		mp_err e2;

		abandon_children(&R);
		mp_store_fail_running(R.st, R.run_id, err->msg, NULL, &e2);
		mp_store_end_run(R.st, R.run_id, MP_EXEC_FAILED, &e2);
		goto out;
	}
	out->state = R.stopping ? MP_EXEC_CANCELED
		     : (out->failed || out->canceled) ? MP_EXEC_FAILED : MP_EXEC_COMPLETE;
	rc = mp_store_end_run(R.st, R.run_id, out->state, err);
out:
	if (handlers) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	out->elapsed_ms = (mp_monotonic_ns() - t0) / 1000000;
	for (i = 0; i < p->ncomps; i++)
		free_node(&R.nodes[i]);
	free(R.nodes);
	free(R.pdir);
	mp_store_close(R.st);
	mp_unlock(lock);
	return rc;
}
