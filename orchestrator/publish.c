/* Staging folders, publishing outputs and recording executions. */
#include "orchestrator/runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mp__exec_args_make(mp__runner *R, mp__node *n, int with_inputs, mp__exec_args *a, mp_err *err)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	if (!(a->params = mp_calloc(n->c->nparams + 1, sizeof(*a->params))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((n->c->ninputs || n->nextra) && !(a->inputs = mp_calloc(n->c->ninputs + n->nextra, sizeof(*a->inputs)))) {
		free(a->params);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (i = 0; i < n->c->nparams; i++)
		a->params[i] = MP_PROP_S(n->c->params[i].name, n->c->params[i].value);
	a->spec.nparams = n->c->nparams;
	if (n->c->nnot_produced) {
		mp_strbuf sb = MP_STRBUF_INIT;

		for (i = 0; i < n->c->nnot_produced; i++)
			mp_strbuf_addf(&sb, "%s%s", i ? "," : "", n->c->not_produced[i]);
		if (sb.failed) {
			mp_strbuf_release(&sb);
			mp__exec_args_release(a);
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
		a->not_produced = sb.buf;
		a->params[a->spec.nparams++] = MP_PROP_S("not_produced", a->not_produced);
	}
	a->spec.run_id = R->run_id;
	a->spec.component_id = n->c->id;
	a->spec.component_type = n->c->type->name;
	a->spec.cache_key = n->key[0] ? n->key : NULL;
	a->spec.params = a->params;
	a->spec.inputs = a->inputs;
	if (with_inputs) {
		for (i = 0; i < n->c->ninputs; i++) {
			int k;
			mp__node *src = mp__input_source(R, &n->c->inputs[i], &k);

			if (k < 0 || !src->out_ids || !src->out_ids[k])
				continue;
			a->inputs[a->spec.ninputs].name = n->c->inputs[i].name;
			a->inputs[a->spec.ninputs].artifact_id = src->out_ids[k];
			a->spec.ninputs++;
		}
		for (i = 0; i < n->nextra; i++) {
			a->inputs[a->spec.ninputs].name = n->extra_names[i];
			a->inputs[a->spec.ninputs].artifact_id = n->extra_ids[i];
			a->spec.ninputs++;
		}
	}
	return 0;
}

void mp__exec_args_release(mp__exec_args *a)
{
	free(a->not_produced);
	free(a->params);
	free(a->inputs);
}

/* Records n as CANCELED (it never started) with reason. */
int mp__record_canceled(mp__runner *R, mp__node *n, const char *reason, mp_err *err)
{
	mp__exec_args a;
	mp_exec_result res = {.state = MP_EXEC_CANCELED, .exit_reason = reason};
	int rc;

	if ((rc = mp__exec_args_make(R, n, 0, &a, err)) != 0)
		return rc;
	rc = mp_store_begin_execution(R->st, &a.spec, &n->exec_id, err);
	if (rc == 0)
		rc = mp_store_finish_execution(R->st, n->exec_id, &res, err);
	mp__exec_args_release(&a);
	n->state = N_CANCELED;
	R->out->canceled++;
	return rc;
}

/* Takes the outputs of execution exec_id (events named like n's outputs),
 * when every one is there and its files exist.  Returns 1 when taken, 0
 * when not, or a negative MP_E*. */
int mp__take_outputs(mp__runner *R, mp__node *n, int64_t exec_id, const char *want_key, mp_err *err)
{
	mp_execution e = {0};
	size_t i, j;
	int rc, ok = 1;

	if ((rc = mp_store_get_execution(R->st, exec_id, &e, err)) != 0)
		return rc;
	if (want_key && (!e.cache_key || strcmp(e.cache_key, want_key) != 0))
		ok = 0;
	if ((rc = mp__alloc_outputs(n, err)) != 0)
		ok = 0;
	for (i = 0; ok && i < n->c->noutputs; i++) {
		const mp_event_row *ev = NULL;
		mp_artifact art = {0};

		for (j = 0; j < e.nevents; j++)
			if (e.events[j].is_output && strcmp(e.events[j].name, n->c->outputs[i].name) == 0)
				ev = &e.events[j];
		if (!ev || !ev->uri || !mp_path_exists(ev->uri)) {
			ok = 0;
			break;
		}
		if ((rc = mp_store_get_artifact(R->st, ev->artifact_id, &art, err)) != 0) {
			ok = 0;
			break;
		}
		if (strcmp(art.state, "LIVE") != 0) {
			ok = 0;
		} else {
			n->out_ids[i] = art.id;
			free(n->out_uris[i]);
			free(n->out_fps[i]);
			n->out_uris[i] = mp_strdup(art.uri);
			n->out_fps[i] = art.fingerprint ? mp_strdup(art.fingerprint) : NULL;
			if (!n->out_uris[i] || (art.fingerprint && !n->out_fps[i]))
				rc = mp_error(err, MP_ENOMEM, "out of memory");
		}
		mp_artifact_release(&art);
		if (rc != 0)
			ok = 0;
	}
	mp_execution_release(&e);
	if (rc != 0)
		return rc;
	return ok;
}

char *mp__staging_output(const mp__node *n, size_t i)
{
	return mp_asprintf("%s/%s", n->staging, n->c->outputs[i].name);
}

/* Takes back what an execution that did not complete published outside
 * its outputs (see mp_io_undo), then removes its staging folder. */
void mp__discard_staging(const char *staging)
{
	char *undo;

	if (!staging)
		return;
	if ((undo = mp_asprintf("%s/.undo", staging))) {
		mp_undo_apply(undo);
		free(undo);
	}
	mp_rmtree(staging, NULL);
}

/* Removes and recreates the staging folder with one empty folder per output. */
int mp__prepare_staging(mp__node *n, mp_err *err)
{
	size_t i;
	int rc;

	mp__discard_staging(n->staging); /* an earlier attempt's */
	if ((rc = mp_rmtree(n->staging, err)) != 0)
		return rc;
	for (i = 0; i < n->c->noutputs; i++) {
		char *d = mp__staging_output(n, i);

		if (!d)
			return mp_error(err, MP_ENOMEM, "out of memory");
		rc = mp_mkdirs(d, 0755, err);
		free(d);
		if (rc != 0)
			return rc;
	}
	if (n->c->noutputs == 0 && (rc = mp_mkdirs(n->staging, 0755, err)) != 0)
		return rc;
	return 0;
}

/* Moves the staged outputs to their final place and records the execution
 * as COMPLETE.  On failure nothing stays published. */
int mp__publish(mp__runner *R, mp__node *n, mp_err *err)
{
	const mp_pl_component *c = n->c;
	mp_result *res = mp_result_new();
	mp_output *outs = NULL;
	mp_prop *props = NULL;
	mp_metric *metrics = NULL;
	char **dst = NULL;
	const mp_result_metric_row *mrows;
	const mp_result_prop_row *prows;
	size_t nm = 0, np = 0, total, i, j, published = 0;
	mp_exec_result er = {0};
	char *path = NULL;
	int rc = 0;

	if (!res || (rc = mp__alloc_outputs(n, err)) != 0) {
		rc = rc ? rc : mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if (!(path = mp_asprintf("%s/.result", n->staging))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mp_result_read(res, path, err)) != 0)
		goto out;
	mrows = mp_result_metrics(res, &nm);
	prows = mp_result_props(res, &np);
	outs = mp_calloc(c->noutputs + 1, sizeof(*outs));
	props = mp_calloc(np + 1, sizeof(*props));
	metrics = mp_calloc(nm + 1, sizeof(*metrics));
	dst = mp_calloc(c->noutputs + 1, sizeof(*dst));
	if (!outs || !props || !metrics || !dst) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nm; i++) {
		metrics[i].name = mrows[i].name;
		metrics[i].step = mrows[i].step;
		metrics[i].value = mrows[i].value;
	}
	/* props grouped by output, in the order of c->outputs */
	for (i = 0, total = np, np = 0; i < c->noutputs; i++) {
		size_t first = np;

		for (j = 0; j < total; j++) {
			const mp_result_prop_row *r = &prows[j];

			if (strcmp(r->output, c->outputs[i].name) != 0)
				continue;
			props[np].name = r->name;
			props[np].kind = r->kind == 0 ? MP_PROP_INT : r->kind == 1 ? MP_PROP_DOUBLE : MP_PROP_STRING;
			props[np].i = r->i;
			props[np].d = r->d;
			props[np].s = r->s;
			np++;
		}
		outs[i].props = props + first;
		outs[i].nprops = np - first;
	}
	for (i = 0; i < c->noutputs; i++) {
		char hex[MP_HASH_HEX], *src, *parent;

		if (!(src = mp__staging_output(n, i)) ||
		    !(parent = mp_asprintf("%s/%s/%s", R->pdir, c->id, c->outputs[i].name))) {
			free(src);
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto unpublish;
		}
		dst[i] = mp_asprintf("%s/%lld", parent, (long long)n->exec_id);
		rc = !dst[i] ? mp_error(err, MP_ENOMEM, "out of memory")
			     : mp_hash_path(src, hex, err);
		if (rc == 0)
			rc = mp_mkdirs(parent, 0755, err);
		if (rc == 0 && rename(src, dst[i]) != 0)
			rc = mp_error(err, MP_EIO, "cannot publish '%s' as '%s': %s", src, dst[i], strerror(errno));
		free(src);
		free(parent);
		if (rc != 0)
			goto unpublish;
		published++;
		n->out_fps[i] = mp_strdup(hex);
		n->out_uris[i] = mp_strdup(dst[i]);
		if (!n->out_fps[i] || !n->out_uris[i]) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto unpublish;
		}
		outs[i].name = c->outputs[i].name;
		outs[i].type = c->outputs[i].type;
		outs[i].uri = n->out_uris[i];
		outs[i].fingerprint = n->out_fps[i];
	}
	er.state = MP_EXEC_COMPLETE;
	er.outputs = outs;
	er.noutputs = c->noutputs;
	er.metrics = metrics;
	er.nmetrics = nm;
	if ((rc = mp_store_finish_execution(R->st, n->exec_id, &er, err)) != 0)
		goto unpublish;
	for (i = 0; i < c->noutputs; i++)
		n->out_ids[i] = outs[i].id;
	goto out;
unpublish:
	for (i = 0; i < published; i++)
		mp_rmtree(dst[i], NULL);
out:
	for (i = 0; dst && i < c->noutputs; i++)
		free(dst[i]);
	free(dst);
	free(outs);
	free(props);
	free(metrics);
	free(path);
	mp_result_free(res);
	return rc;
}

/* Records n's end as FAILED or CANCELED with reason. */
int mp__record_end(mp__runner *R, mp__node *n, mp_exec_state state, const char *reason, mp_err *err)
{
	mp_exec_result er = {.state = state, .exit_reason = reason};

	return mp_store_finish_execution(R->st, n->exec_id, &er, err);
}
