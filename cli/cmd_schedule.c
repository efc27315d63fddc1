/* mlpipe schedule: starts pipelines when their cron schedule says so.
 *
 * Each pipeline's last scheduled time is kept in <root>/<name>/.schedule,
 * read and written under <root>/<name>/.schedule.lock, so two schedulers
 * never start the same scheduled time twice: the first claims it, the
 * second finds it claimed.  A run is a child `mlpipe run FILE`, which takes
 * the pipeline's run lock, so a pipeline never runs twice at once, however
 * it was started.
 *
 * Missed times (the scheduler was down): with catchup, each runs in order;
 * without (the default), only the latest.  A pipeline never scheduled
 * before starts at the current minute.
 *
 * The clock is the system's, or a fake one for tests and simulations
 * (MLPIPE_FAKE_NOW="YYYY-MM-DD HH:MM"): it starts there and moves only when
 * the scheduler waits, straight to the time it waits for, so a week of
 * schedule takes as long as its runs.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "orchestrator/cron.h"
#include "orchestrator/lock.h"
#include "orchestrator/pipeline.h"

const char mp_schedule_usage[] =
	"usage: mlpipe schedule FILE... [--once] [--until TIME]\n"
	"\n"
	"Starts each pipeline when its `schedule:` (cron) says, as `mlpipe run FILE`,\n"
	"and logs each start and result.  Runs until stopped (SIGTERM or SIGINT: the\n"
	"current run is canceled cleanly, then it exits).  A pipeline never runs\n"
	"twice at once, also across processes.  Times missed while the scheduler\n"
	"was down run once, or each in order with `catchup: true`.\n"
	"\n"
	"  --once        run what is due now, then exit (for system cron or a\n"
	"                systemd timer)\n"
	"  --until TIME  exit once the next due time is after TIME\n"
	"                (\"YYYY-MM-DD HH:MM\", local time)\n"
	"\n"
	"Exit status: 0, or 2 when a file is wrong or has no schedule.  A failed\n"
	"run is logged; the scheduler goes on.\n";

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* ---- the clock ----------------------------------------------------------- */

typedef struct sched_clock {
	int fake;
	time_t now; /* the fake clock's time */
} sched_clock;

static time_t clock_now(const sched_clock *c)
{
	return c->fake ? c->now : time(NULL);
}

/* Waits until t, or until a signal; the fake clock just moves to t. */
static void clock_wait(sched_clock *c, time_t t)
{
	if (c->fake) {
		c->now = t;
		return;
	}
	while (!stop_signal) {
		time_t now = time(NULL);
		struct timespec ts = {0, 0};

		if (now >= t)
			return;
		ts.tv_sec = t - now > 60 ? 60 : t - now; /* wake now and then: the clock may jump */
		nanosleep(&ts, NULL);
	}
}

static int parse_time(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (!(end = strptime(s, "%Y-%m-%d %H:%M", &tm)) || *end)
		return -1;
	tm.tm_isdst = -1;
	*out = mktime(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

static const char *show_time(time_t t, char *buf, size_t n)
{
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M", &tm))
		snprintf(buf, n, "?");
	return buf;
}

/* ---- one scheduled pipeline ---------------------------------------------- */

typedef struct entry {
	const char *file;
	mp_pipeline *p;
	char *state, *state_lock;
	time_t last; /* the last scheduled time started (or claimed elsewhere) */
} entry;

static void say(const sched_clock *c, const char *fmt, ...) MP_PRINTF(2, 3);
static void say(const sched_clock *c, const char *fmt, ...)
{
	char when[32];
	va_list ap;

	printf("%s ", show_time(clock_now(c), when, sizeof(when)));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* The last scheduled time in the state file, or -1 when there is none. */
static time_t read_state(const entry *e)
{
	char *text = NULL;
	long long t;
	time_t out = -1;

	if (mp_read_file(e->state, &text, NULL, NULL) == 0 && sscanf(text, "last %lld", &t) == 1)
		out = (time_t)t;
	free(text);
	return out;
}

static int write_state(const entry *e, time_t t, mp_err *err)
{
	char buf[96], when[32];
	int n = snprintf(buf, sizeof(buf), "last %lld %s\n", (long long)t, show_time(t, when, sizeof(when)));

	return mp_write_file_atomic(e->state, buf, (size_t)n, err);
}

/* Claims scheduled time t for e: 1 when this process should start it, 0
 * when another scheduler already has (e->last is brought up to date). */
static int claim(entry *e, time_t t, mp_err *err)
{
	int fd, rc;
	time_t last;

	{
		char *dir = mp_asprintf("%s/%s", e->p->root, e->p->name);

		rc = dir ? mp_mkdirs(dir, 0755, err) : mp_error(err, MP_ENOMEM, "out of memory");
		free(dir);
		if (rc != 0)
			return rc;
	}
	if ((rc = mp_lock(e->state_lock, 1, "the schedule state is locked", &fd, err)) != 0)
		return rc;
	last = read_state(e);
	if (last >= t) {
		e->last = last;
		mp_unlock(fd);
		return 0;
	}
	rc = write_state(e, t, err);
	mp_unlock(fd);
	if (rc != 0)
		return rc;
	e->last = t;
	return 1;
}

/* Runs `mlpipe run FILE` and waits; a stop signal is passed on to it. */
static int run_child(const char *self, const entry *e, time_t t, int *status)
{
	char when[32], *argv[4];
	pid_t pid;
	int sent = 0;

	show_time(t, when, sizeof(when));
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		setenv("MLPIPE_SCHEDULED_FOR", when, 1);
		argv[0] = (char *)self;
		argv[1] = "run";
		argv[2] = (char *)e->file;
		argv[3] = NULL;
		execvp(self, argv);
		fprintf(stderr, "mlpipe: error: cannot start '%s': %s\n", self, strerror(errno));
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(pid, status, 0);

		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -1;
		if (stop_signal && !sent) {
			kill(pid, SIGTERM); /* the run cancels itself cleanly */
			sent = 1;
		}
	}
}

/* Starts scheduled time t of e unless another scheduler has; returns 0, or
 * an error when the state cannot be kept. */
static int fire(const sched_clock *c, const char *self, entry *e, time_t t, mp_err *err)
{
	char when[32], next[32];
	int rc, status = 0;
	int64_t t0;
	time_t nx;

	show_time(t, when, sizeof(when));
	if ((rc = claim(e, t, err)) < 0)
		return rc;
	if (rc == 0) {
		say(c, "%s: the run due at %s was started by another scheduler; skipped", e->p->name, when);
		return 0;
	}
	say(c, "%s: starting the run due at %s", e->p->name, when);
	t0 = mp_monotonic_ns();
	if (run_child(self, e, t, &status) != 0)
		return mp_error(err, MP_EIO, "cannot run '%s': %s", e->file, strerror(errno));
	/* with catchup the next missed time, else the next one from now */
	nx = mp_cron_next(&e->p->cron, e->p->catchup || clock_now(c) < t ? t : clock_now(c));
	show_time(nx, next, sizeof(next));
	if (WIFEXITED(status))
		say(c, "%s: the run due at %s %s (exit %d) in %.1fs; next at %s", e->p->name, when,
		    WEXITSTATUS(status) == 0 ? "completed" : "did not complete", WEXITSTATUS(status),
		    (double)(mp_monotonic_ns() - t0) / 1e9, next);
	else
		say(c, "%s: the run due at %s was killed by signal %d; next at %s", e->p->name, when, WTERMSIG(status),
		    next);
	return 0;
}

/* The scheduled time to start now for e, or -1 when none is due: the
 * first missed one with catchup, else the latest. */
static time_t due(const entry *e, time_t now)
{
	time_t t = mp_cron_next(&e->p->cron, e->last), n;

	if (t < 0 || t > now)
		return -1;
	if (!e->p->catchup)
		while ((n = mp_cron_next(&e->p->cron, t)) >= 0 && n <= now)
			t = n;
	return t;
}

/* Loads the pipeline file of e and its schedule's state: MP_EXIT_OK, or
 * the exit status after saying what is wrong. */
static int load_entry(entry *e, const char *file, sched_clock *clk, mp_err *err)
{
	mp_diags d = {0};
	size_t k;

	e->file = file;
	if (mp_pipeline_load(file, NULL, 0, &e->p, &d, err) != 0) {
		for (k = 0; k < d.n; k++)
			mp_log(MP_LOG_QUIET, "%s", d.items[k]);
		if (!d.n)
			mp_log(MP_LOG_QUIET, "%s", err->msg);
		mp_diags_release(&d);
		return mp_cli_exit_code(err->code ? err->code : MP_EINVAL);
	}
	mp_diags_release(&d);
	if (!e->p->schedule) {
		mp_error(err, MP_EINVAL, "'%s' has no schedule (pipeline: schedule: \"0 3 * * *\")", file);
		return mp_cli_fail(err);
	}
	if (!(e->state = mp_asprintf("%s/%s/.schedule", e->p->root, e->p->name)) ||
	    !(e->state_lock = mp_asprintf("%s/%s/.schedule.lock", e->p->root, e->p->name))) {
		mp_error(err, MP_ENOMEM, "out of memory");
		return mp_cli_fail(err);
	}
	/* never scheduled before: from the current minute on */
	if ((e->last = read_state(e)) < 0)
		e->last = clock_now(clk) - clock_now(clk) % 60 - 1;
	return MP_EXIT_OK;
}

/* A line per pipeline: its schedule, and when it runs next. */
static void announce(sched_clock *clk, const entry *es, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		char next[32];
		time_t t = due(&es[i], clock_now(clk));

		if (t >= 0)
			say(clk, "%s: schedule '%s'; due now: the run of %s%s", es[i].p->name, es[i].p->schedule,
			    show_time(t, next, sizeof(next)),
			    !es[i].p->catchup ? "" : " (catchup: then each later missed time, in order)");
		else
			say(clk, "%s: schedule '%s'; next at %s", es[i].p->name, es[i].p->schedule,
			    show_time(mp_cron_next(&es[i].p->cron, es[i].last), next, sizeof(next)));
	}
}

int mp_cmd_schedule(int argc, char **argv)
{
	int once = 0, npos, help, rc = MP_EXIT_OK, i;
	const char *until_s = NULL, *fake = getenv("MLPIPE_FAKE_NOW");
	const mp_opt opts[] = {
		{"--once", NULL, NULL, &once, NULL},
		{"--until", NULL, &until_s, NULL, NULL},
		{NULL, NULL, NULL, NULL, NULL},
	};
	char *pos[64], self[4096];
	entry *es = NULL;
	sched_clock clk = {0};
	time_t until = 0;
	struct sigaction sa, old_int, old_term;
	ssize_t n;
	mp_err err;

	mp_err_clear(&err);
	if (mp_cli_parse(argc, argv, opts, pos, 64, &npos, &help, "schedule", &err) != 0)
		return mp_cli_fail(&err);
	if (help || npos < 1) {
		fputs(mp_schedule_usage, help ? stdout : stderr);
		return help ? MP_EXIT_OK : MP_EXIT_USAGE;
	}
	if (until_s && parse_time(until_s, &until) != 0) {
		mp_error(&err, MP_EINVAL, "--until: '%s' is not a time (YYYY-MM-DD HH:MM)", until_s);
		return mp_cli_fail(&err);
	}
	if (fake && *fake) {
		if (parse_time(fake, &clk.now) != 0) {
			mp_error(&err, MP_EINVAL, "MLPIPE_FAKE_NOW: '%s' is not a time (YYYY-MM-DD HH:MM)", fake);
			return mp_cli_fail(&err);
		}
		clk.fake = 1;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0)
		self[n] = '\0';
	else
		snprintf(self, sizeof(self), "mlpipe"); /* from PATH */
	if (!(es = mp_calloc((size_t)npos, sizeof(*es)))) {
		mp_error(&err, MP_ENOMEM, "out of memory");
		return mp_cli_fail(&err);
	}
	for (i = 0; i < npos; i++)
		if ((rc = load_entry(&es[i], pos[i], &clk, &err)) != MP_EXIT_OK)
			goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	stop_signal = 0;
	announce(&clk, es, npos);
	while (!stop_signal) {
		time_t now = clock_now(&clk), earliest = -1;
		int fired = 0;

		for (i = 0; i < npos && !stop_signal; i++) {
			time_t t = due(&es[i], now);

			if (t >= 0 && (!until_s || t <= until)) {
				if (fire(&clk, self, &es[i], t, &err) != 0) {
					rc = mp_cli_fail(&err);
					goto stop;
				}
				fired = 1;
			}
		}
		if (fired)
			continue;
		if (once)
			break;
		for (i = 0; i < npos; i++) {
			time_t t = mp_cron_next(&es[i].p->cron, es[i].last > now ? es[i].last : now);

			if (t >= 0 && (earliest < 0 || t < earliest))
				earliest = t;
		}
		if (earliest < 0 || (until_s && earliest > until))
			break;
		clock_wait(&clk, earliest);
	}
	if (stop_signal)
		say(&clk, "stopped by signal %d", (int)stop_signal);
stop:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
out:
	for (i = 0; es && i < npos; i++) {
		mp_pipeline_free(es[i].p);
		free(es[i].state);
		free(es[i].state_lock);
	}
	free(es);
	return rc;
}
