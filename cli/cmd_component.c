/* `mlpipe component`: one component alone, from artifact paths: by hand
 * (its outputs staged beside their targets and renamed when it succeeds),
 * or as an executor's job (--staging: the outputs are the empty folders
 * the orchestrator made, and the result or the error goes to the staging
 * folder).  Started by mpirun with several ranks, every rank runs it and
 * only rank 0 writes. */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif

#include "components/component.h"
#include "nn/dist.h"
#include "orchestrator/executor.h"

typedef struct kvlist {
	mp_kv *items;
	size_t n;
} kvlist;

/* Splits "name=value" items; what names the option in errors. */
static int split_kv(const mp_optlist *l, const char *what, kvlist *out, mp_err *err)
{
	size_t i, j;

	out->n = 0;
	if (!(out->items = mp_calloc(l->n + 1, sizeof(*out->items))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < l->n; i++) {
		const char *eq = strchr(l->items[i], '=');
		char *name;

		if (!eq || eq == l->items[i])
			return mp_error(err, MP_EINVAL, "%s '%s': expected NAME=VALUE", what, l->items[i]);
		if (!(name = mp_strndup(l->items[i], (size_t)(eq - l->items[i]))))
			return mp_error(err, MP_ENOMEM, "out of memory");
		for (j = 0; j < out->n; j++)
			if (strcmp(out->items[j].key, name) == 0) {
				mp_error(err, MP_EINVAL, "%s '%s' is given twice", what, name);
				free(name);
				return MP_EINVAL;
			}
		out->items[out->n].key = name;
		out->items[out->n].value = eq + 1;
		out->n++;
	}
	return 0;
}

static void kvlist_release(kvlist *l, int free_values)
{
	size_t i;

	for (i = 0; l->items && i < l->n; i++) {
		free((char *)l->items[i].key);
		if (free_values)
			free((char *)l->items[i].value);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static const mp_kv *kv_find(const kvlist *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->items[i].key, key) == 0)
			return &l->items[i];
	return NULL;
}

/* "T has no WHAT 'name'", with the closest of the n specs at base (param
 * or io specs: the name comes first) */
static int unknown_name(const char *what, const char *name, const mp_component_type *t, const void *base,
			size_t n, size_t stride, mp_err *err)
{
	const char *near = mp_closest_in(name, base, n, stride);

	if (near)
		return mp_error(err, MP_EINVAL, "%s has no %s '%s' (did you mean '%s'?)", t->name, what, name, near);
	return mp_error(err, MP_EINVAL, "%s has no %s '%s' (see 'mlpipe component %s --help')", t->name,
			what, name, t->name);
}

/* Params checked against the type and completed with defaults (values owned). */
static int component_params(const mp_component_type *t, const kvlist *given, kvlist *out,
			    mp_err *err)
{
	size_t i;
	int rc;

	if (!(out->items = mp_calloc(given->n + t->nparams + 1, sizeof(*out->items))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < given->n; i++) {
		const mp_param_spec *spec;
		char *canon;

		if ((rc = mp_param_bind(t, given->items[i].key, given->items[i].value, &spec, &canon, err)) == MP_ENOTFOUND)
			return unknown_name("param", given->items[i].key, t, t->params, t->nparams, sizeof(*t->params),
					    err);
		if (rc != 0)
			return mp_error_wrap(err, "--param");
		out->items[out->n].key = mp_strdup(given->items[i].key);
		out->items[out->n].value = canon ? canon : mp_strdup(given->items[i].value);
		if (!out->items[out->n].key || !out->items[out->n].value)
			return mp_error(err, MP_ENOMEM, "out of memory");
		out->n++;
	}
	for (i = 0; i < t->nparams; i++) {
		const mp_param_spec *spec = &t->params[i];

		if (kv_find(given, spec->name))
			continue;
		if (!spec->def)
			return mp_error(err, MP_EINVAL, "%s needs param '%s' (--param %s=VALUE)", t->name,
					spec->name, spec->name);
		out->items[out->n].key = mp_strdup(spec->name);
		out->items[out->n].value = mp_strdup(spec->def);
		if (!out->items[out->n].key || !out->items[out->n].value)
			return mp_error(err, MP_ENOMEM, "out of memory");
		out->n++;
	}
	return 0;
}

static int check_inputs(const mp_component_type *t, const kvlist *ins, mp_err *err)
{
	size_t i;

	for (i = 0; i < ins->n; i++) {
		size_t k;

		for (k = 0; k < t->ninputs; k++)
			if (strcmp(t->inputs[k].name, ins->items[i].key) == 0)
				break;
		if (k == t->ninputs && !t->any_inputs)
			return unknown_name("input", ins->items[i].key, t, t->inputs, t->ninputs, sizeof(*t->inputs), err);
		if (!mp_path_exists(ins->items[i].value))
			return mp_error(err, MP_ENOTFOUND, "input '%s': '%s' does not exist", ins->items[i].key,
					ins->items[i].value);
	}
	for (i = 0; i < t->ninputs; i++)
		if (!t->inputs[i].optional && !kv_find(ins, t->inputs[i].name))
			return mp_error(err, MP_EINVAL, "%s needs input '%s' (--input %s=PATH)", t->name,
					t->inputs[i].name, t->inputs[i].name);
	return 0;
}

/* fresh: the outputs must not exist yet (by hand); an executor's job
 * gets empty folders it made. */
static int check_outputs(const mp_component_type *t, const kvlist *outs, int fresh, mp_err *err)
{
	size_t i;

	for (i = 0; i < outs->n; i++) {
		size_t k;

		for (k = 0; k < t->noutputs; k++)
			if (strcmp(t->outputs[k].name, outs->items[i].key) == 0)
				break;
		if (k == t->noutputs && !t->declared_outputs)
			return unknown_name("output", outs->items[i].key, t, t->outputs, t->noutputs, sizeof(*t->outputs),
					    err);
		if (fresh && mp_path_exists(outs->items[i].value))
			return mp_error(err, MP_EINVAL, "output '%s': '%s' already exists", outs->items[i].key,
					outs->items[i].value);
	}
	for (i = 0; i < t->noutputs; i++)
		if (!t->outputs[i].optional && !kv_find(outs, t->outputs[i].name))
			return mp_error(err, MP_EINVAL, "%s needs output '%s' (--output %s=PATH)", t->name,
					t->outputs[i].name, t->outputs[i].name);
	return 0;
}

static void print_result(const mp_result *r)
{
	const mp_result_metric_row *m;
	const mp_result_prop_row *pr;
	size_t n, i;

	m = mp_result_metrics(r, &n);
	for (i = 0; i < n; i++)
		printf("metric %s step %lld = %.9g\n", m[i].name, (long long)m[i].step, m[i].value);
	pr = mp_result_props(r, &n);
	for (i = 0; i < n; i++) {
		if (pr[i].kind == 0)
			printf("property %s.%s = %lld\n", pr[i].output, pr[i].name, (long long)pr[i].i);
		else if (pr[i].kind == 1)
			printf("property %s.%s = %.9g\n", pr[i].output, pr[i].name, pr[i].d);
		else
			printf("property %s.%s = %s\n", pr[i].output, pr[i].name, pr[i].s);
	}
}

static void list_types(void)
{
	size_t n, i;
	const mp_component_type *const *types = mp_component_types(&n);

	for (i = 0; i < n; i++)
		printf("%-16s %s\n", types[i]->name, types[i]->summary);
}

/* Runs t with outputs staged beside their targets and renamed on success. */
static int run_alone(const mp_component_type *t, const kvlist *ins, const kvlist *outs,
		     const kvlist *params, const char *scratch, mp_err *err)
{
	kvlist staged = {0};
	mp_component_io io = {0};
	char cwd[4096];
	size_t i, made = 0;
	int rc = 0;

	if (!getcwd(cwd, sizeof(cwd)))
		return mp_error(err, MP_EIO, "cannot read the current folder: %s", strerror(errno));
	if (!(staged.items = mp_calloc(outs->n + 1, sizeof(*staged.items))) ||
	    !(io.result = mp_result_new())) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < outs->n; i++) {
		char *tmp = mp_asprintf("%s.tmp-%ld", outs->items[i].value, (long)getpid());

		staged.items[i].key = outs->items[i].key;
		staged.items[i].value = tmp;
		staged.n++;
		if (!tmp) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = mp_mkdirs(tmp, 0755, err)) != 0)
			goto out;
		made++;
	}
	io.inputs = ins->items;
	io.ninputs = ins->n;
	io.outputs = staged.items;
	io.noutputs = staged.n;
	io.params = params->items;
	io.nparams = params->n;
	io.workdir = cwd;
	io.scratch = scratch;
	if (scratch && (rc = mp_mkdirs(scratch, 0755, err)) != 0)
		goto out;
	if ((rc = t->run(&io, err)) != 0)
		goto out;
	if (mp_dist_env_rank() != 0)
		goto out; /* one of several ranks: rank 0 keeps the outputs */
	for (i = 0; i < outs->n; i++)
		if (rename(staged.items[i].value, outs->items[i].value) != 0) {
			rc = mp_error(err, MP_EIO, "cannot rename '%s' to '%s': %s", staged.items[i].value,
				      outs->items[i].value, strerror(errno));
			while (i-- > 0)
				mp_rmtree(outs->items[i].value, NULL);
			goto out;
		}
	made = 0;
	print_result(io.result);
out:
	for (i = 0; i < made; i++)
		mp_rmtree(staged.items[i].value, NULL);
	for (i = 0; i < staged.n; i++)
		free((char *)staged.items[i].value);
	free(staged.items);
	mp_result_free(io.result);
	return rc;
}

/* An executor's job (--staging): the outputs are the empty folders the
 * orchestrator made, used in place; the result goes to staging/.result,
 * an error to staging/.error (from any rank: the first one to fail). */
static int run_staged(const mp_component_type *t, const kvlist *ins, const kvlist *outs, const kvlist *params,
		      const char *scratch, const char *staging)
{
	mp_exec_job job = {0};
	mp_err err = {0};
	char cwd[4096], *path;
	int rank = mp_dist_env_rank(), rc;

#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* a rank does not outlive its launcher */
#endif
	job.type = t;
	job.inputs = ins->items;
	job.ninputs = ins->n;
	job.outputs = outs->items;
	job.noutputs = outs->n;
	job.params = params->items;
	job.nparams = params->n;
	job.workdir = cwd;
	job.scratch = scratch;
	job.staging = staging;
	if (!getcwd(cwd, sizeof(cwd)))
		rc = mp_error(&err, MP_EIO, "cannot read the current folder: %s", strerror(errno));
	else
		rc = mp_exec_run_here(&job, rank == 0, &err);
	if (rc == 0)
		return MP_EXIT_OK;
	mp_log(MP_LOG_QUIET, "%s failed%s: %s", t->name, rank ? " on a rank" : "", err.msg);
	if (rank)
		mp_error_wrap(&err, "rank %d", rank);
	if ((path = mp_asprintf("%s/.error", staging)) && !mp_path_exists(path))
		mp_write_file_atomic(path, err.msg, strlen(err.msg), NULL);
	free(path);
	return MP_EXIT_FAILED;
}

int mp_cmd_component(int argc, char **argv)
{
	int list = 0, npos, help, rc;
	const char *scratch = NULL, *staging = NULL;
	mp_optlist in_l = {0}, out_l = {0}, par_l = {0};
	const mp_opt opts[] = {
		{"--input", "-i", NULL, NULL, &in_l},
		{"--output", "-o", NULL, NULL, &out_l},
		{"--param", "-p", NULL, NULL, &par_l},
		{"--list", NULL, NULL, &list, NULL},
		{"--scratch", NULL, &scratch, NULL, NULL},
		{"--staging", NULL, &staging, NULL, NULL},
		{NULL, NULL, NULL, NULL, NULL},
	};
	kvlist ins = {0}, outs = {0}, given = {0}, params = {0};
	const mp_component_type *t;
	char *pos[1];
	mp_err err;

	mp_err_clear(&err);
	if (mp_cli_parse(argc, argv, opts, pos, 1, &npos, &help, "component", &err) != 0) {
		rc = mp_cli_fail(&err);
		goto out;
	}
	if (list) {
		list_types();
		rc = MP_EXIT_OK;
		goto out;
	}
	if (npos != 1) {
		fputs(mp_component_usage, help ? stdout : stderr);
		rc = help ? MP_EXIT_OK : MP_EXIT_USAGE;
		goto out;
	}
	if (!(t = mp_component_find(pos[0]))) {
		const char *near = mp_component_closest(pos[0]);

		if (near)
			mp_log(MP_LOG_QUIET, "unknown component type '%s' (did you mean '%s'?)", pos[0], near);
		else
			mp_log(MP_LOG_QUIET, "unknown component type '%s' (see 'mlpipe component --list')", pos[0]);
		rc = MP_EXIT_USAGE;
		goto out;
	}
	if (help) {
		mp_component_print_help(t, stdout);
		rc = MP_EXIT_OK;
		goto out;
	}
	if ((rc = split_kv(&in_l, "--input", &ins, &err)) != 0 ||
	    (rc = split_kv(&out_l, "--output", &outs, &err)) != 0 ||
	    (rc = split_kv(&par_l, "--param", &given, &err)) != 0 ||
	    (rc = check_inputs(t, &ins, &err)) != 0 ||
	    (rc = check_outputs(t, &outs, !staging, &err)) != 0 ||
	    (rc = component_params(t, &given, &params, &err)) != 0) {
		rc = mp_cli_fail(&err);
		goto out;
	}
	if (staging) {
		rc = run_staged(t, &ins, &outs, &params, scratch, staging);
		goto out;
	}
	if (run_alone(t, &ins, &outs, &params, scratch, &err) != 0) {
		mp_log(MP_LOG_QUIET, "%s failed: %s", t->name, err.msg);
		rc = err.code == MP_EINVAL ? MP_EXIT_USAGE : MP_EXIT_FAILED;
		goto out;
	}
	rc = MP_EXIT_OK;
out:
	kvlist_release(&ins, 0);
	kvlist_release(&outs, 0);
	kvlist_release(&given, 0);
	kvlist_release(&params, 1);
	free(in_l.items);
	free(out_l.items);
	free(par_l.items);
	return rc;
}
