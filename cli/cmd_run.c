/* `mlpipe run` and `mlpipe dag`: running pipelines and looking at their
 * shape (`mlpipe component` is cmd_component.c). */
#include "cli/cli.h"
#include "report/report.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/pipeline.h"
#include "orchestrator/run.h"

const char mp_run_usage[] =
	"usage: mlpipe run FILE [--set ID.PARAM=VALUE]... [-j N] [--no-cache]\n"
	"                  [--resume RUN | --dry-run]\n"
	"\n"
	"Validates the pipeline file, then runs its components in dependency order,\n"
	"each in a child process, recording everything in the metadata store.\n"
	"Unchanged components are taken from the cache.\n"
	"\n"
	"options:\n"
	"  --set ID.PARAM=VALUE   override a component's param (pipeline.PARAM for a\n"
	"                         pipeline param); repeatable\n"
	"  -j, --jobs N           run up to N independent components at once (default 1)\n"
	"  --no-cache             run every component, reuse nothing\n"
	"  --resume RUN           finish an earlier run (its id, its name or 'last'):\n"
	"                         what completed is kept, the rest runs\n"
	"  --dry-run              say what would run and what would come from the cache\n"
	"\n"
	"Exit status: 0 the run completed, 1 a component failed or the run was\n"
	"stopped, 2 the pipeline file or the command line is wrong.\n";

const char mp_dag_usage[] =
	"usage: mlpipe dag FILE [--dot] [--set ID.PARAM=VALUE]...\n"
	"\n"
	"Validates the pipeline file and draws its components by level: each one\n"
	"after everything it needs.  --dot writes Graphviz instead\n"
	"(mlpipe dag FILE --dot | dot -Tsvg > dag.svg).\n";

const char mp_component_usage[] =
	"usage: mlpipe component NAME [--input NAME=PATH]... [--output NAME=PATH]...\n"
	"                        [--param NAME=VALUE]...\n"
	"                        [--scratch DIR] [--staging DIR]\n"
	"       mlpipe component NAME --help\n"
	"       mlpipe component --list\n"
	"\n"
	"Runs one component alone, without a pipeline or a metadata store: inputs are\n"
	"artifact folders, outputs are folders to create (written beside their place\n"
	"and renamed into it only on success), relative paths start in the current\n"
	"folder.  Metrics and output properties are printed at the end.  --scratch\n"
	"gives the component a folder that outlives it (the Trainer keeps its\n"
	"checkpoints there, so a second call continues where a killed one stopped).\n"
	"--staging is an executor's form (an MPI launch, a Slurm job): the outputs\n"
	"are empty folders, written in place, and the result goes to DIR/.result.\n"
	"Under mpirun every rank runs the component and rank 0 writes the outputs:\n"
	"mpirun -np 2 mlpipe component Trainer ... trains data-parallel.\n";

static void print_diags(const mp_diags *d, const mp_err *err)
{
	size_t i;

	if (!d->n) {
		mp_cli_fail(err);
		return;
	}
	for (i = 0; i < d->n; i++)
		mp_log(MP_LOG_QUIET, "%s", d->items[i]);
	if (d->n > 1)
		mp_log(MP_LOG_QUIET, "%zu problems in the pipeline file; nothing was run", d->n);
}

static int load(const char *file, const mp_optlist *sets, mp_pipeline **p)
{
	mp_diags d = {0};
	mp_err err;
	int rc;

	mp_err_clear(&err);
	rc = mp_pipeline_load(file, sets->items, sets->n, p, &d, &err);
	if (rc != 0)
		print_diags(&d, &err);
	mp_diags_release(&d);
	return rc == 0 ? 0 : mp_cli_exit_code(rc);
}

/* --resume RUN without --set: the pipeline again with the --set overrides
 * the run began with, so that it is finished as it began. */
static int load_recorded_sets(const char *file, const char *resume, mp_pipeline **p)
{
	mp_optlist sets = {0};
	char *text = NULL, *line;
	mp_err err;
	int rc;

	mp_err_clear(&err);
	if ((rc = mp_run_recorded_sets(*p, resume, &text, &err)) != 0) {
		if (rc == MP_ENOTFOUND)
			return 0; /* mp_run_pipeline says which run is missing */
		return mp_cli_fail(&err);
	}
	if (!text || !*text) {
		free(text);
		return 0;
	}
	for (line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char **grown = mp_realloc(sets.items, (sets.n + 1) * sizeof(*grown));

		if (!grown) {
			free(sets.items);
			free(text);
			mp_log(MP_LOG_QUIET, "out of memory");
			return MP_EXIT_FAILED;
		}
		sets.items = grown;
		sets.items[sets.n++] = line;
	}
	for (line = text; (line = strchr(line, '\n')); )
		*line++ = '\0';
	mp_pipeline_free(*p);
	*p = NULL;
	for (size_t i = 0; i < sets.n; i++)
		mp_info("resuming with the run's own --set %s", sets.items[i]);
	rc = load(file, &sets, p);
	free(sets.items);
	free(text);
	return rc;
}

/* path, shortened to a relative one when it lies below the current folder. */
static const char *shown_path(const char *path, char *buf, size_t n)
{
	char cwd[4096];
	size_t len;

	if (!getcwd(cwd, sizeof(cwd)))
		return path;
	len = strlen(cwd);
	if (strncmp(path, cwd, len) == 0 && path[len] == '/') {
		snprintf(buf, n, "%s", path + len + 1);
		return buf;
	}
	return path;
}

/* report: true: the run's report into <root>/<name>/reports/, and its path.
 * A report that cannot be written is a warning: the run is what counts. */
static void write_report(const mp_pipeline *p, const mp_run_outcome *out, FILE *fp)
{
	mp_strbuf html = MP_STRBUF_INIT;
	mp_store *st = NULL;
	char *dir = mp_asprintf("%s/%s/reports", p->root, p->name), *path = NULL, shown[4096];
	const char *hash = strrchr(out->run_name, '#');
	mp_err err;

	if (!dir || !(path = mp_asprintf("%s/run-%s.html", dir, hash ? hash + 1 : out->run_name)) ||
	    mp_mkdirs(dir, 0755, &err) != 0 || mp_store_open(&st, p->metadata, 0, &err) != 0 ||
	    mp_report_run(st, out->run_id, NULL, &html, &err) != 0 ||
	    mp_write_file_atomic(path, html.buf, html.len, &err) != 0)
		mp_warn("the run report was not written: %s", dir && path ? err.msg : "out of memory");
	else
		fprintf(fp, "report:      %s\n", shown_path(path, shown, sizeof(shown)));
	mp_store_close(st);
	mp_strbuf_release(&html);
	free(dir);
	free(path);
}

int mp_cmd_run(int argc, char **argv)
{
	const char *jobs = NULL, *resume = NULL;
	int no_cache = 0, dry = 0, npos, help, rc;
	mp_optlist sets = {0};
	const mp_opt opts[] = {
		{"--set", NULL, NULL, NULL, &sets},
		{"--jobs", "-j", &jobs, NULL, NULL},
		{"--resume", NULL, &resume, NULL, NULL},
		{"--no-cache", NULL, NULL, &no_cache, NULL},
		{"--dry-run", NULL, NULL, &dry, NULL},
		{NULL, NULL, NULL, NULL, NULL},
	};
	mp_pipeline *p = NULL;
	mp_run_opts o = {0};
	mp_run_outcome out;
	char *pos[1], d[32], shown[4096];
	int64_t j = 1;
	mp_err err;

	mp_err_clear(&err);
	if (mp_cli_parse(argc, argv, opts, pos, 1, &npos, &help, "run", &err) != 0) {
		rc = mp_cli_fail(&err);
		goto out;
	}
	if (help || npos != 1) {
		fputs(mp_run_usage, help ? stdout : stderr);
		rc = help ? MP_EXIT_OK : MP_EXIT_USAGE;
		goto out;
	}
	if (jobs && mp_parse_i64(jobs, 1, 256, &j, "--jobs", &err) != 0) {
		rc = mp_cli_fail(&err);
		goto out;
	}
	if (dry && resume) {
		mp_log(MP_LOG_QUIET, "--dry-run and --resume cannot be combined");
		rc = MP_EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < sets.n; i++)
		if (strchr(sets.items[i], '\n')) {
			mp_log(MP_LOG_QUIET, "--set '%s': a value is one line", sets.items[i]);
			rc = MP_EXIT_USAGE;
			goto out;
		}
	if ((rc = load(pos[0], &sets, &p)) != 0)
		goto out;
	if (resume && !sets.n && (rc = load_recorded_sets(pos[0], resume, &p)) != 0)
		goto out;
	o.jobs = (int)j;
	o.no_cache = no_cache;
	o.dry_run = dry;
	o.resume = resume;
	o.out = mp_log_get_level() > MP_LOG_QUIET ? stdout : NULL;
	o.show_starts = isatty(STDOUT_FILENO) || mp_log_get_level() >= MP_LOG_DEBUG;
	if (o.out) {
		if (dry)
			fprintf(o.out, "dry run of pipeline '%s' (%zu components): nothing runs, nothing is recorded\n",
				p->name, p->ncomps);
		else if (resume)
			fprintf(o.out, "resuming pipeline '%s' (%zu components)\n", p->name, p->ncomps);
		else
			fprintf(o.out, "running pipeline '%s' (%zu components)\n", p->name, p->ncomps);
		fflush(o.out);
	}
	if (mp_run_pipeline(p, &o, &out, &err) != 0) {
		rc = mp_cli_fail(&err);
		goto out;
	}
	if (out.already_complete) {
		if (o.out)
			fprintf(o.out, "run %s is already COMPLETE: nothing to do\n", out.run_name);
		rc = MP_EXIT_OK;
		goto out;
	}
	if (dry) {
		if (o.out)
			fprintf(o.out, "%d would run, %d from the cache\n", out.ran, out.cached);
		rc = MP_EXIT_OK;
		goto out;
	}
	if (o.out) {
		fprintf(o.out, "%s %s in %s: %d ran, %d cached", out.run_name,
			mp_exec_state_name(out.state), mp_format_duration(d, sizeof(d), out.elapsed_ms),
			out.ran, out.cached);
		if (out.reused)
			fprintf(o.out, ", %d done before", out.reused);
		if (out.failed)
			fprintf(o.out, ", %d failed", out.failed);
		if (out.canceled)
			fprintf(o.out, ", %d canceled", out.canceled);
		fprintf(o.out, "\nlook closer: mlpipe meta --db %s run %s\n",
			shown_path(p->metadata, shown, sizeof(shown)), out.run_name);
		if (out.state != MP_EXEC_COMPLETE)
			fprintf(o.out, "finish it:   mlpipe run %s --resume %s\n", pos[0], out.run_name);
		if (p->report)
			write_report(p, &out, o.out);
	}
	rc = out.state == MP_EXEC_COMPLETE ? MP_EXIT_OK : MP_EXIT_FAILED;
out:
	mp_pipeline_free(p);
	free(sets.items);
	return rc;
}

/* ---- dag --------------------------------------------------------------- */

static void edges(const mp_pl_component *c, size_t k, int *dep, int *is_data)
{
	if (k < c->ninputs) {
		*dep = c->inputs[k].src;
		*is_data = 1;
	} else {
		*dep = c->after[k - c->ninputs];
		*is_data = 0;
	}
}

static void print_dot(const mp_pipeline *p)
{
	size_t i, k;

	printf("digraph \"%s\" {\n", p->name);
	printf("  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
	for (i = 0; i < p->ncomps; i++)
		printf("  \"%s\" [label=\"%s\\n%s\"];\n", p->comps[i].id, p->comps[i].id,
		       p->comps[i].type->name);
	for (i = 0; i < p->ncomps; i++) {
		const mp_pl_component *c = &p->comps[p->order[i]];

		for (k = 0; k < c->ninputs + c->nafter; k++) {
			int dep, data;

			edges(c, k, &dep, &data);
			if (data)
				printf("  \"%s\" -> \"%s\" [label=\"%s -> %s\"];\n", p->comps[dep].id, c->id,
				       c->inputs[k].output, c->inputs[k].name);
			else
				printf("  \"%s\" -> \"%s\" [style=dashed];\n", p->comps[dep].id, c->id);
		}
	}
	printf("}\n");
}

static void print_levels(const mp_pipeline *p)
{
	int *level = mp_calloc(p->ncomps + 1, sizeof(*level));
	int maxlevel = 0, w = 0, tw = 0, l;
	size_t i, k;

	if (!level) {
		mp_log(MP_LOG_QUIET, "out of memory");
		return;
	}
	/* a component's level is one more than the deepest thing it needs */
	for (i = 0; i < p->ncomps; i++) {
		const mp_pl_component *c = &p->comps[p->order[i]];

		for (k = 0; k < c->ninputs + c->nafter; k++) {
			int dep, data;

			edges(c, k, &dep, &data);
			if (level[dep] + 1 > level[p->order[i]])
				level[p->order[i]] = level[dep] + 1;
		}
		if (level[p->order[i]] > maxlevel)
			maxlevel = level[p->order[i]];
		if ((int)strlen(c->id) > w)
			w = (int)strlen(c->id);
		if ((int)strlen(c->type->name) > tw)
			tw = (int)strlen(c->type->name);
	}
	printf("pipeline '%s': %zu components in %d levels\n", p->name, p->ncomps, maxlevel + 1);
	for (l = 0; l <= maxlevel; l++) {
		printf("\nlevel %d\n", l);
		for (i = 0; i < p->ncomps; i++) {
			const mp_pl_component *c = &p->comps[p->order[i]];
			int first = 1;

			if (level[p->order[i]] != l)
				continue;
			printf("  %-*s  %-*s", w, c->id, tw, c->type->name);
			for (k = 0; k < c->ninputs + c->nafter; k++) {
				int dep, data;

				edges(c, k, &dep, &data);
				printf("%s", first ? "  <- " : ", ");
				first = 0;
				if (data)
					printf("%s.%s as %s", p->comps[dep].id, c->inputs[k].output,
					       c->inputs[k].name);
				else
					printf("after %s", p->comps[dep].id);
			}
			if (c->timeout_s || c->retries || !c->cache) {
				printf("  [");
				first = 1;
				if (c->timeout_s) {
					printf("timeout %ds", c->timeout_s);
					first = 0;
				}
				if (c->retries) {
					printf("%sretries %d", first ? "" : ", ", c->retries);
					first = 0;
				}
				if (!c->cache)
					printf("%sno cache", first ? "" : ", ");
				printf("]");
			}
			for (k = 0; k < c->nnot_produced; k++)
				printf("%s%s%s", k ? ", " : "  [not produced, nothing reads it: ", c->not_produced[k],
				       k + 1 == c->nnot_produced ? "]" : "");
			printf("\n");
		}
	}
	free(level);
}

int mp_cmd_dag(int argc, char **argv)
{
	int dot = 0, npos, help, rc;
	mp_optlist sets = {0};
	const mp_opt opts[] = {
		{"--set", NULL, NULL, NULL, &sets},
		{"--dot", NULL, NULL, &dot, NULL},
		{NULL, NULL, NULL, NULL, NULL},
	};
	mp_pipeline *p = NULL;
	char *pos[1];
	mp_err err;

	mp_err_clear(&err);
	if (mp_cli_parse(argc, argv, opts, pos, 1, &npos, &help, "dag", &err) != 0) {
		rc = mp_cli_fail(&err);
		goto out;
	}
	if (help || npos != 1) {
		fputs(mp_dag_usage, help ? stdout : stderr);
		rc = help ? MP_EXIT_OK : MP_EXIT_USAGE;
		goto out;
	}
	if ((rc = load(pos[0], &sets, &p)) != 0)
		goto out;
	if (dot)
		print_dot(p);
	else
		print_levels(p);
	rc = MP_EXIT_OK;
out:
	mp_pipeline_free(p);
	free(sets.items);
	return rc;
}

