/* Inputs found in the store, not wired in the pipeline file: a baseline
 * for the Evaluator, a base model for a warm start (mp_resolve_spec). */
#include "orchestrator/runner.h"

#include <stdlib.h>
#include <string.h>

/* The int property name of an artifact, or -1. */
static int64_t int_prop(const mp_artifact *a, const char *name)
{
	const mp_prop *p = mp_prop_find(a->props, a->nprops, name);

	return p && p->kind == MP_PROP_INT ? p->i : -1;
}

/* Adds an extra input. */
static int add_extra(mp__node *n, const char *name, const mp_artifact *a, mp_err *err)
{
	n->extra_names[n->nextra] = name;
	n->extra_ids[n->nextra] = a->id;
	n->extra_uris[n->nextra] = mp_strdup(a->uri);
	n->extra_fps[n->nextra] = a->fingerprint ? mp_strdup(a->fingerprint) : NULL;
	n->nextra++;
	return n->extra_uris[n->nextra - 1] ? 0 : mp_error(err, MP_ENOMEM, "out of memory");
}

/* Adds artifact id as input when it is still there to read: LIVE, of type
 * (NULL: any), its folder present.  1 when added, 0 when not, or an error. */
static int take_model(mp__runner *R, mp__node *n, const char *input, int64_t id, const char *type, mp_err *err)
{
	mp_artifact a = {0};
	int rc;

	if ((rc = mp_store_get_artifact(R->st, id, &a, err)) != 0)
		return rc;
	if (!strcmp(a.state, "LIVE") && (!type || !strcmp(a.type, type)) && mp_path_exists(a.uri))
		rc = add_extra(n, input, &a, err) == 0 ? 1 : MP_ENOMEM;
	mp_artifact_release(&a);
	return rc;
}

/* Artifacts are searched newest first a page at a time, so that finding a
 * recent one costs the same in a store of years of runs as in a new one. */
#define PAGE 64

/* Replaces page with the next older page of what f asks for (items oldest
 * to newest, as mp_store_list_artifacts lists them); empty when no more. */
static int older_page(mp__runner *R, mp_artifact_filter *f, mp_artifact_list *page, mp_err *err)
{
	int more = page->n == 0 ? f->before_id == 0 : page->n == PAGE;

	if (page->n)
		f->before_id = page->items[0].id;
	mp_artifact_list_release(page);
	if (!more)
		return 0;
	f->limit = PAGE;
	return mp_store_list_artifacts(R->st, f, page, err);
}

/* The model input of the execution that made the newest LIVE artifact of
 * type verdict in this pipeline whose property prop is 1 (made by the
 * component producer, unless NULL), added as input.  current is a model
 * that does not count: a verdict on it ends the search among that
 * verdict's inputs.  Returns 1 when a model was added, 2 when the search
 * ended at current, 0 when nothing was found.
 *   MP_RESOLVE_LATEST_BLESSED: ModelBlessing, blessed, this Evaluator;
 *   MP_RESOLVE_LATEST_PUSHED: PushedModel, pushed, any Pusher. */
static int resolve_model(mp__runner *R, mp__node *n, const char *input, const char *model_type, const char *verdict,
			 const char *prop, const char *producer, int64_t current, mp_err *err)
{
	mp_artifact_list all = {0};
	mp_artifact_filter f = {0};
	size_t k;
	int rc = 0, found = 0;

	f.type = verdict;
	f.pipeline = R->p->name;
	while (!found && rc == 0 && (rc = older_page(R, &f, &all, err)) == 0 && all.n > 0) {
		for (k = all.n; k-- > 0 && !found && rc == 0;) {
			const mp_artifact *a = &all.items[k];
			mp_execution e = {0};
			size_t i;

			if (strcmp(a->state, "LIVE") != 0 || int_prop(a, prop) != 1 || !a->producer_id ||
			    (producer && (!a->producer || strcmp(a->producer, producer) != 0)))
				continue;
			if ((rc = mp_store_get_execution(R->st, a->producer_id, &e, err)) != 0)
				break;
			for (i = 0; i < e.nevents && !found && rc >= 0; i++) {
				if (e.events[i].is_output || strcmp(e.events[i].name, "model") != 0)
					continue;
				if (e.events[i].artifact_id == current) {
					found = 2; /* the model being judged was blessed or pushed before: no other baseline */
					break;
				}
				if ((rc = take_model(R, n, input, e.events[i].artifact_id, model_type, err)) != 0)
					found = rc > 0;
			}
			mp_execution_release(&e);
		}
	}
	mp_artifact_list_release(&all);
	return rc < 0 ? rc : found;
}

/* When this component judged model `current` before, the baseline it
 * judged it against then (none, if it had none), added as input, so that
 * judging the same model again is the same judgment (and cached).
 * Returns 1 when a model was added, 2 when the last judgment had no
 * baseline, 0 when current was never judged here. */
static int previous_baseline(mp__runner *R, mp__node *n, const char *input, int64_t current, mp_err *err)
{
	mp_artifact_list all = {0};
	mp_artifact_filter f = {0};
	size_t k;
	int rc = 0, found = 0;

	f.type = "ModelBlessing";
	f.pipeline = R->p->name;
	while (!found && rc == 0 && (rc = older_page(R, &f, &all, err)) == 0 && all.n > 0) {
		for (k = all.n; k-- > 0 && !found && rc == 0;) {
			const mp_artifact *a = &all.items[k];
			mp_execution e = {0};
			int64_t base = 0;
			size_t i;

			if (strcmp(a->state, "LIVE") != 0 || !a->producer_id || !a->producer || strcmp(a->producer, n->c->id) != 0)
				continue;
			if ((rc = mp_store_get_execution(R->st, a->producer_id, &e, err)) != 0)
				break;
			for (i = 0; i < e.nevents; i++) {
				if (e.events[i].is_output)
					continue;
				if (!strcmp(e.events[i].name, "model") && e.events[i].artifact_id == current)
					found = 2;
				else if (!strcmp(e.events[i].name, input))
					base = e.events[i].artifact_id;
			}
			if (found && base && (rc = take_model(R, n, input, base, NULL, err)) >= 0)
				found = rc ? 1 : 0; /* 0: that baseline is gone: look again */
			mp_execution_release(&e);
		}
	}
	mp_artifact_list_release(&all);
	return rc < 0 ? rc : found;
}

/* The newest LIVE artifact of type that the producer of cur made for an
 * earlier span than span (its folder present), added as input. */
static int earlier_span(mp__runner *R, mp__node *n, const char *input, const char *type, const mp_artifact *cur,
			int64_t span, mp_err *err)
{
	mp_artifact_list all = {0};
	mp_artifact_filter f = {0};
	size_t k;
	int rc = 0, found = 0;

	f.type = type;
	f.pipeline = R->p->name;
	while (!found && (rc = older_page(R, &f, &all, err)) == 0 && all.n > 0) {
		for (k = all.n; k-- > 0 && !found;) {
			const mp_artifact *a = &all.items[k];
			int64_t s2 = int_prop(a, "span");

			if (a->id == cur->id || strcmp(a->state, "LIVE") != 0 || !a->producer ||
			    strcmp(a->producer, cur->producer) != 0 || s2 < 0 || s2 >= span || !mp_path_exists(a->uri))
				continue;
			found = 1;
			rc = add_extra(n, input, a, err);
		}
	}
	mp_artifact_list_release(&all);
	return rc;
}

/* Finds the inputs the component type resolves from the store (see
 * mp_resolve_spec) and the pipeline does not wire. */
int mp__resolve_inputs(mp__runner *R, mp__node *n, mp_err *err)
{
	const mp_component_type *t = n->c->type;
	size_t r, i;
	int rc = 0;

	if (!t->nresolves || n->extra_names || !R->st)
		return 0;
	if (!(n->extra_names = mp_calloc(t->nresolves, sizeof(*n->extra_names))) ||
	    !(n->extra_ids = mp_calloc(t->nresolves, sizeof(*n->extra_ids))) ||
	    !(n->extra_uris = mp_calloc(t->nresolves, sizeof(*n->extra_uris))) ||
	    !(n->extra_fps = mp_calloc(t->nresolves, sizeof(*n->extra_fps))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (r = 0; r < t->nresolves && rc == 0; r++) {
		const mp_resolve_spec *rs = &t->resolves[r];
		const mp_io_spec *spec = NULL;
		mp_artifact cur = {0};
		int64_t span, from_id = 0;

		for (i = 0; i < n->c->ninputs; i++)
			if (!strcmp(n->c->inputs[i].name, rs->input))
				break;
		if (i < n->c->ninputs)
			continue; /* wired in the file */
		if (rs->when && strcmp(mp_pl_param(n->c, rs->when) ? mp_pl_param(n->c, rs->when) : "", "true") != 0)
			continue; /* not asked for */
		for (i = 0; i < t->ninputs; i++)
			if (!strcmp(t->inputs[i].name, rs->input))
				spec = &t->inputs[i];
		if (rs->kind == MP_RESOLVE_LATEST_PUSHED) {
			if (spec && (rc = resolve_model(R, n, rs->input, spec->type, "PushedModel", "pushed", NULL, 0, err)) > 0)
				rc = 0;
			continue;
		}
		for (i = 0; i < n->c->ninputs; i++)
			if (!strcmp(n->c->inputs[i].name, rs->from)) {
				int kk;
				mp__node *src = mp__input_source(R, &n->c->inputs[i], &kk);

				if (kk >= 0 && src->out_ids)
					from_id = src->out_ids[kk];
			}
		if (!spec || !from_id)
			continue;
		if (rs->kind == MP_RESOLVE_LATEST_BLESSED) {
			/* the model served now, which a push would replace; the latest
			 * blessed one while the pipeline never pushed */
			rc = previous_baseline(R, n, rs->input, from_id, err);
			if (rc == 0)
				rc = resolve_model(R, n, rs->input, spec->type, "PushedModel", "pushed", NULL, from_id, err);
			if (rc == 0)
				rc = resolve_model(R, n, rs->input, spec->type, "ModelBlessing", "blessed", n->c->id,
						   from_id, err);
			if (rc > 0)
				rc = 0;
			continue;
		}
		if (rs->kind != MP_RESOLVE_PREVIOUS_SPAN)
			continue;
		if ((rc = mp_store_get_artifact(R->st, from_id, &cur, err)) != 0)
			break;
		if ((span = int_prop(&cur, "span")) >= 0 && cur.producer)
			rc = earlier_span(R, n, rs->input, spec->type, &cur, span, err);
		mp_artifact_release(&cur);
	}
	return rc;
}
