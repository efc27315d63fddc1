/* The executor: see run.h. */
#include "orchestrator/run.h"
#include "orchestrator/lock.h"
#include "data/span.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define TICK_MS 20
#define TAIL_BYTES 2048
#define TAIL_LINES 12

typedef enum {
	N_PENDING,
	N_RUNNING,
	N_DONE,	    /* ran in this process */
	N_CACHED,   /* reused an earlier execution's outputs */
	N_REUSED,   /* completed earlier in the run being resumed */
	N_FAILED,
	N_CANCELED,
} node_state;

typedef struct node {
	const mp_pl_component *c;
	node_state state;
	int64_t exec_id;
	/* per output of c, once known */
	int64_t *out_ids;
	char **out_uris;
	char **out_fps;
	char key[MP_HASH_HEX];
	int64_t resume_exec; /* the execution of the resumed run to reuse, or 0 */
	/* inputs found in the store (mp_resolve_spec), not wired in the file */
	const char **extra_names;
	int64_t *extra_ids;
	char **extra_uris, **extra_fps;
	size_t nextra;
	/* while running */
	pid_t pid;
	int attempt;
	int64_t start_ns, deadline_ns, kill_ns;
	int timed_out, stopped;
	char *staging; /* <pdir>/.staging/<exec id> */
	int errfd;     /* the read end of the child's error channel, or -1 */
	char errmsg[MP_ERR_MAX]; /* what the child said through it when it failed */
	char *log;     /* <pdir>/.logs/<exec id>-<component>.log */
	char *scratch; /* <pdir>/.scratch/<component>-<cache key>: kept across retries and resumes */
	off_t log_start; /* where this attempt's part of the log begins */
} node;

typedef struct runner {
	const mp_pipeline *p;
	const mp_run_opts *o;
	mp_store *st;
	node *nodes;
	char *pdir; /* <root>/<pipeline> */
	int64_t run_id;
	int running;
	int idw; /* width of the widest component id, for aligned lines */
	int stopping;
	mp_run_outcome *out;
} runner;

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void say(runner *R, const char *fmt, ...) MP_PRINTF(2, 3);
static void say(runner *R, const char *fmt, ...)
{
	va_list ap;

	if (!R->o->out)
		return;
	va_start(ap, fmt);
	vfprintf(R->o->out, fmt, ap);
	va_end(ap);
	fflush(R->o->out);
}

static int64_t elapsed_ms(const node *n)
{
	return (mp_monotonic_ns() - n->start_ns) / 1000000;
}

/* ---- the cache key ----------------------------------------------------- */

static void add_field(mp_strbuf *sb, const char *tag, const char *s)
{
	mp_strbuf_addf(sb, "%s %zu:", tag, strlen(s ? s : ""));
	mp_strbuf_adds(sb, s ? s : "");
	mp_strbuf_adds(sb, "\n");
}

/* Adds the content hash of every path a path param names (for a map, the
 * values); a {SPAN} pattern is resolved first, so new data changes the key. */
static int add_path_contents(mp_strbuf *sb, const mp_pipeline *p, const char *value, int is_map,
			     mp_err *err)
{
	char *buf, **items;
	size_t n, i;
	int rc;

	if ((rc = mp_param_lines(value, &buf, &items, &n, err)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		char hex[MP_HASH_HEX], *path = NULL, *item = items[i], *eq;
		int64_t span, version;

		if (is_map && (eq = strchr(item, '=')))
			item = eq + 1;
		if ((rc = mp_resolve_span(item, p->dir, &path, &span, &version, err)) == MP_ENOTFOUND) {
			add_field(sb, "absent", item);
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		if (!mp_path_exists(path)) {
			add_field(sb, "absent", path);
		} else if ((rc = mp_hash_path(path, hex, err)) != 0) {
			rc = mp_error_wrap(err, "cache key");
		} else {
			if (span >= 0 || version >= 0)
				mp_strbuf_addf(sb, "span %lld version %lld\n", (long long)span, (long long)version);
			add_field(sb, "content", hex);
		}
		free(path);
	}
	free(items);
	free(buf);
	return rc;
}

static int cmp_input(const void *a, const void *b)
{
	const mp_pl_input *x = *(const mp_pl_input *const *)a, *y = *(const mp_pl_input *const *)b;

	return strcmp(x->name, y->name);
}

int mp_cache_key(const mp_pipeline *p, const mp_pl_component *c,
		 const char *const *input_fps, char key[MP_HASH_HEX], mp_err *err)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	const mp_pl_input **ins = NULL;
	size_t i;
	int rc = 0;

	add_field(&sb, "mlpipe-cache", "1");
	add_field(&sb, "pipeline", p->name);
	add_field(&sb, "component", c->id);
	add_field(&sb, "type", c->type->name);
	add_field(&sb, "version", c->type->version);
	for (i = 0; i < c->nparams && rc == 0; i++) {
		const mp_param_spec *spec = mp_component_param(c->type, c->params[i].name);

		add_field(&sb, "param", c->params[i].name);
		add_field(&sb, "value", c->params[i].value);
		if (spec && (spec->type == MP_PARAM_PATH || spec->type == MP_PARAM_PATHS ||
			     spec->type == MP_PARAM_PATH_MAP))
			rc = add_path_contents(&sb, p, c->params[i].value, spec->type == MP_PARAM_PATH_MAP, err);
	}
	/* inputs by name, so their order in the file does not matter */
	if (rc == 0 && c->ninputs && !(ins = mp_calloc(c->ninputs, sizeof(*ins))))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0) {
		for (i = 0; i < c->ninputs; i++)
			ins[i] = &c->inputs[i];
		if (c->ninputs)
			qsort(ins, c->ninputs, sizeof(*ins), cmp_input);
		for (i = 0; i < c->ninputs; i++) {
			size_t k = (size_t)(ins[i] - c->inputs);

			add_field(&sb, "input", ins[i]->name);
			add_field(&sb, "fingerprint", input_fps[k] ? input_fps[k] : "unknown");
		}
		for (i = 0; i < c->noutputs; i++) {
			add_field(&sb, "output", c->outputs[i].name);
			add_field(&sb, "artifact", c->outputs[i].type);
		}
		if (sb.failed)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		else
			mp_hash_buf(sb.buf, sb.len, key);
	}
	free(ins);
	mp_strbuf_release(&sb);
	return rc;
}

/* ---- nodes ------------------------------------------------------------- */

/* The output index of comp's output called name, or -1. */
static int output_index(const mp_pl_component *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->noutputs; i++)
		if (strcmp(c->outputs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The upstream node an input comes from, and which of its outputs. */
static node *input_source(runner *R, const mp_pl_input *in, int *out_idx)
{
	node *src = &R->nodes[in->src];

	*out_idx = output_index(src->c, in->output);
	return src;
}

static int node_settled_ok(const node *n)
{
	return n->state == N_DONE || n->state == N_CACHED || n->state == N_REUSED;
}

/* Each component n must wait for: its inputs' producers and its after:. */
static int deps_state(runner *R, const node *n, const char **failed_dep)
{
	size_t i;
	int ready = 1;

	for (i = 0; i < n->c->ninputs + n->c->nafter; i++) {
		int d = i < n->c->ninputs ? n->c->inputs[i].src : n->c->after[i - n->c->ninputs];
		const node *dep = &R->nodes[d];

		if (dep->state == N_FAILED || dep->state == N_CANCELED) {
			*failed_dep = dep->c->id;
			return -1;
		}
		if (!node_settled_ok(dep))
			ready = 0;
	}
	return ready;
}

static int alloc_outputs(node *n, mp_err *err)
{
	size_t k = n->c->noutputs ? n->c->noutputs : 1;

	if (n->out_ids)
		return 0;
	n->out_ids = mp_calloc(k, sizeof(*n->out_ids));
	n->out_uris = mp_calloc(k, sizeof(*n->out_uris));
	n->out_fps = mp_calloc(k, sizeof(*n->out_fps));
	if (!n->out_ids || !n->out_uris || !n->out_fps)
		return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}

static void free_node(node *n)
{
	size_t i;

	if (n->errfd > 0)
		close(n->errfd);
	n->errfd = -1;
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

/* The int property name of an artifact, or -1. */
static int64_t int_prop(const mp_artifact *a, const char *name)
{
	const mp_prop *p = mp_prop_find(a->props, a->nprops, name);

	return p && p->kind == MP_PROP_INT ? p->i : -1;
}

/* Adds an extra input. */
static int add_extra(node *n, const char *name, const mp_artifact *a, mp_err *err)
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
static int take_model(runner *R, node *n, const char *input, int64_t id, const char *type, mp_err *err)
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

/* The model input of the execution that made the newest LIVE artifact of
 * type verdict in this pipeline whose property prop is 1 (made by the
 * component producer, unless NULL), added as input.  current is a model
 * that does not count: a verdict on it ends the search among that
 * verdict's inputs.  Returns 1 when a model was added, 2 when the search
 * ended at current, 0 when nothing was found.
 *   MP_RESOLVE_LATEST_BLESSED: ModelBlessing, blessed, this Evaluator;
 *   MP_RESOLVE_LATEST_PUSHED: PushedModel, pushed, any Pusher. */
static int resolve_model(runner *R, node *n, const char *input, const char *model_type, const char *verdict,
			 const char *prop, const char *producer, int64_t current, mp_err *err)
{
	mp_artifact_list all = {0};
	mp_artifact_filter f = {0};
	size_t k;
	int rc, found = 0;

	f.type = verdict;
	f.pipeline = R->p->name;
	if ((rc = mp_store_list_artifacts(R->st, &f, &all, err)) != 0)
		return rc;
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
	mp_artifact_list_release(&all);
	return rc < 0 ? rc : found;
}

/* When this component judged model `current` before, the baseline it
 * judged it against then (none, if it had none), added as input, so that
 * judging the same model again is the same judgment (and cached).
 * Returns 1 when a model was added, 2 when the last judgment had no
 * baseline, 0 when current was never judged here. */
static int previous_baseline(runner *R, node *n, const char *input, int64_t current, mp_err *err)
{
	mp_artifact_list all = {0};
	mp_artifact_filter f = {0};
	size_t k;
	int rc, found = 0;

	f.type = "ModelBlessing";
	f.pipeline = R->p->name;
	if ((rc = mp_store_list_artifacts(R->st, &f, &all, err)) != 0)
		return rc;
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
	mp_artifact_list_release(&all);
	return rc < 0 ? rc : found;
}

/* Finds the inputs the component type resolves from the store (see
 * mp_resolve_spec) and the pipeline does not wire. */
static int resolve_inputs(runner *R, node *n, mp_err *err)
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
		mp_artifact_list all = {0};
		mp_artifact_filter f = {0};
		int64_t span, from_id = 0;
		size_t k;

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
				node *src = input_source(R, &n->c->inputs[i], &kk);

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
		span = int_prop(&cur, "span");
		f.type = spec->type;
		f.pipeline = R->p->name;
		if (span >= 0 && cur.producer && (rc = mp_store_list_artifacts(R->st, &f, &all, err)) == 0) {
			for (k = all.n; k-- > 0;) {
				const mp_artifact *a = &all.items[k];
				int64_t s2 = int_prop(a, "span");

				if (a->id == cur.id || strcmp(a->state, "LIVE") != 0 || !a->producer ||
				    strcmp(a->producer, cur.producer) != 0 || s2 < 0 || s2 >= span || !mp_path_exists(a->uri))
					continue;
				n->extra_names[n->nextra] = rs->input;
				n->extra_ids[n->nextra] = a->id;
				n->extra_uris[n->nextra] = mp_strdup(a->uri);
				n->extra_fps[n->nextra] = a->fingerprint ? mp_strdup(a->fingerprint) : NULL;
				n->nextra++;
				if (!n->extra_uris[n->nextra - 1])
					rc = mp_error(err, MP_ENOMEM, "out of memory");
				break;
			}
		}
		mp_artifact_list_release(&all);
		mp_artifact_release(&cur);
	}
	return rc;
}

/* The fingerprints of n's inputs, in n->c->inputs order. */
static int input_fps(runner *R, const node *n, const char ***fps, mp_err *err)
{
	size_t i;

	*fps = NULL;
	if (!n->c->ninputs)
		return 0;
	if (!(*fps = mp_calloc(n->c->ninputs, sizeof(**fps))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < n->c->ninputs; i++) {
		int k;
		node *src = input_source(R, &n->c->inputs[i], &k);

		if (k >= 0 && src->out_fps)
			(*fps)[i] = src->out_fps[k];
	}
	return 0;
}

/* Whether the input found in the store under name belongs in the cache
 * key (see mp_resolve_spec's outside_key). */
static int keyed(const node *n, const char *name)
{
	const mp_component_type *t = n->c->type;
	size_t r;

	for (r = 0; r < t->nresolves; r++)
		if (!strcmp(t->resolves[r].input, name))
			return !t->resolves[r].outside_key;
	return 1;
}

static int compute_key(runner *R, node *n, mp_err *err)
{
	const char **fps;
	size_t i;
	int rc;

	if ((rc = resolve_inputs(R, n, err)) != 0 || (rc = input_fps(R, n, &fps, err)) != 0)
		return rc;
	rc = mp_cache_key(R->p, n->c, fps, n->key, err);
	free(fps);
	if (rc == 0 && n->nextra) {
		/* inputs found in the store are part of the key too */
		mp_strbuf sb = MP_STRBUF_INIT;

		add_field(&sb, "key", n->key);
		for (i = 0; i < n->nextra; i++) {
			if (!keyed(n, n->extra_names[i]))
				continue;
			add_field(&sb, "resolved", n->extra_names[i]);
			add_field(&sb, "fingerprint", n->extra_fps[i] ? n->extra_fps[i] : "unknown");
		}
		if (sb.failed)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		else
			mp_hash_buf(sb.buf, sb.len, n->key);
		mp_strbuf_release(&sb);
	}
	return rc;
}

/* The store's view of n's params and inputs. */
typedef struct exec_args {
	mp_prop *params;
	mp_input *inputs;
	mp_exec_spec spec;
} exec_args;

static int exec_args_make(runner *R, node *n, int with_inputs, exec_args *a, mp_err *err)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	if (n->c->nparams && !(a->params = mp_calloc(n->c->nparams, sizeof(*a->params))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((n->c->ninputs || n->nextra) && !(a->inputs = mp_calloc(n->c->ninputs + n->nextra, sizeof(*a->inputs)))) {
		free(a->params);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (i = 0; i < n->c->nparams; i++)
		a->params[i] = MP_PROP_S(n->c->params[i].name, n->c->params[i].value);
	a->spec.run_id = R->run_id;
	a->spec.component_id = n->c->id;
	a->spec.component_type = n->c->type->name;
	a->spec.cache_key = n->key[0] ? n->key : NULL;
	a->spec.params = a->params;
	a->spec.nparams = n->c->nparams;
	a->spec.inputs = a->inputs;
	if (with_inputs) {
		for (i = 0; i < n->c->ninputs; i++) {
			int k;
			node *src = input_source(R, &n->c->inputs[i], &k);

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

static void exec_args_release(exec_args *a)
{
	free(a->params);
	free(a->inputs);
}

/* Records n as CANCELED (it never started) with reason. */
static int record_canceled(runner *R, node *n, const char *reason, mp_err *err)
{
	exec_args a;
	mp_exec_result res = {.state = MP_EXEC_CANCELED, .exit_reason = reason};
	int rc;

	if ((rc = exec_args_make(R, n, 0, &a, err)) != 0)
		return rc;
	rc = mp_store_begin_execution(R->st, &a.spec, &n->exec_id, err);
	if (rc == 0)
		rc = mp_store_finish_execution(R->st, n->exec_id, &res, err);
	exec_args_release(&a);
	n->state = N_CANCELED;
	R->out->canceled++;
	return rc;
}

/* Takes the outputs of execution exec_id (events named like n's outputs),
 * when every one is there and its files exist.  Returns 1 when taken, 0
 * when not, or a negative MP_E*. */
static int take_outputs(runner *R, node *n, int64_t exec_id, const char *want_key, mp_err *err)
{
	mp_execution e = {0};
	size_t i, j;
	int rc, ok = 1;

	if ((rc = mp_store_get_execution(R->st, exec_id, &e, err)) != 0)
		return rc;
	if (want_key && (!e.cache_key || strcmp(e.cache_key, want_key) != 0))
		ok = 0;
	if ((rc = alloc_outputs(n, err)) != 0)
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

/* ---- running a component in a child ------------------------------------ */

static char *staging_output(const node *n, size_t i)
{
	return mp_asprintf("%s/%s", n->staging, n->c->outputs[i].name);
}

/* Takes back what an execution that did not complete published outside
 * its outputs (see mp_io_undo), then removes its staging folder. */
static void discard_staging(const char *staging)
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
static int prepare_staging(node *n, mp_err *err)
{
	size_t i;
	int rc;

	discard_staging(n->staging); /* an earlier attempt's */
	if ((rc = mp_rmtree(n->staging, err)) != 0)
		return rc;
	for (i = 0; i < n->c->noutputs; i++) {
		char *d = staging_output(n, i);

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

/* In the child: runs the component and leaves its result (or its error) in
 * the staging folder.  Never returns. */
static void on_stop(int sig)
{
	(void)sig;
	kill(0, SIGKILL);
}

static void child_main(runner *R, node *n, pid_t parent)
{
	const mp_pl_component *c = n->c;
	mp_kv *ins = NULL, *outs = NULL, *params = NULL;
	mp_component_io io = {0};
	mp_err err = {0};
	char *path, *undo = NULL;
	size_t i;
	int fd, rc;

	setpgid(0, 0);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	/* Stopping a component stops everything it started: SIGTERM (from a
	 * timeout, a stopped run or, on Linux, the orchestrator's death) makes
	 * the component kill its whole process group. */
	signal(SIGTERM, on_stop);
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
	if (getppid() != parent)
		_exit(1); /* the orchestrator died before the line above */
	if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	if ((fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	ins = mp_calloc(c->ninputs + n->nextra + 1, sizeof(*ins));
	outs = mp_calloc(c->noutputs + 1, sizeof(*outs));
	params = mp_calloc(c->nparams + 1, sizeof(*params));
	if (!ins || !outs || !params) {
		mp_error(&err, MP_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < c->ninputs; i++) {
		int k;
		node *src = input_source(R, &c->inputs[i], &k);

		ins[i].key = c->inputs[i].name;
		ins[i].value = k >= 0 ? src->out_uris[k] : "";
	}
	for (i = 0; i < c->noutputs; i++) {
		outs[i].key = c->outputs[i].name;
		if (!(outs[i].value = staging_output(n, i))) {
			mp_error(&err, MP_ENOMEM, "out of memory");
			goto fail;
		}
	}
	for (i = 0; i < c->nparams; i++) {
		params[i].key = c->params[i].name;
		params[i].value = c->params[i].value;
	}
	for (i = 0; i < n->nextra; i++) {
		ins[c->ninputs + i].key = n->extra_names[i];
		ins[c->ninputs + i].value = n->extra_uris[i];
	}
	io.inputs = ins;
	io.ninputs = c->ninputs + n->nextra;
	io.outputs = outs;
	io.noutputs = c->noutputs;
	io.params = params;
	io.nparams = c->nparams;
	io.workdir = R->p->dir;
	io.scratch = n->scratch;
	if (!(undo = mp_asprintf("%s/.undo", n->staging))) {
		mp_error(&err, MP_ENOMEM, "out of memory");
		goto fail;
	}
	io.undo = undo;
	if (!(io.result = mp_result_new())) {
		mp_error(&err, MP_ENOMEM, "out of memory");
		goto fail;
	}
	if (chdir(R->p->dir) != 0) {
		mp_error(&err, MP_EIO, "cannot enter '%s': %s", R->p->dir, strerror(errno));
		goto fail;
	}
	rc = c->type->run(&io, &err);
	fflush(NULL);
	if (rc != 0)
		goto fail;
	if (!(path = mp_asprintf("%s/.result", n->staging)) ||
	    mp_result_write(io.result, path, &err) != 0)
		goto fail;
	_exit(0);
fail:
	fflush(NULL);
	/* the reason, through the pipe first: a full disk cannot lose it */
	if (n->errfd >= 0) {
		ssize_t w = write(n->errfd, err.msg, strlen(err.msg));

		(void)w; /* if this fails, the file below is the other way */
	}
	if ((path = mp_asprintf("%s/.error", n->staging)))
		mp_write_file_atomic(path, err.msg, strlen(err.msg), NULL);
	_exit(1);
}

static void log_note(const node *n, const char *msg);

static int launch(runner *R, node *n, mp_err *err)
{
	pid_t pid, self = getpid();
	int rc;

	struct stat sb;

	if ((rc = prepare_staging(n, err)) != 0)
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
	fflush(NULL);
	{
		/* the error channel: the child writes its reason (one write, under
		 * PIPE_BUF) into the pipe, which needs no disk */
		int fds[2];

		n->errmsg[0] = '\0';
		if (pipe(fds) != 0)
			return mp_error(err, MP_EIO, "cannot start component '%s': %s", n->c->id, strerror(errno));
		fcntl(fds[0], F_SETFD, FD_CLOEXEC);
		fcntl(fds[1], F_SETFD, FD_CLOEXEC);
		fcntl(fds[0], F_SETFL, O_NONBLOCK);
		pid = fork();
		if (pid < 0) {
			close(fds[0]);
			close(fds[1]);
			return mp_error(err, MP_EIO, "cannot start component '%s': %s", n->c->id, strerror(errno));
		}
		if (pid == 0) {
			close(fds[0]);
			n->errfd = fds[1];
			child_main(R, n, self);
		}
		close(fds[1]);
		n->errfd = fds[0];
	}
	setpgid(pid, pid); /* also in the child: whichever runs first */
	n->pid = pid;
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
static void log_note(const node *n, const char *msg)
{
	FILE *f = fopen(n->log, "a");

	if (f) {
		fprintf(f, "mlpipe: %s\n", msg);
		fclose(f);
	}
}

/* Why the child ended badly, as one line (into line) plus the log's tail. */
static void failure_reason(node *n, int status, char *line, size_t linesz,
			   mp_strbuf *full)
{
	char *path = NULL, *text = NULL;

	if (n->timed_out) {
		snprintf(line, linesz, "timed out after %d s", n->c->timeout_s);
	} else if (n->stopped) {
		snprintf(line, linesz, "stopped by signal %d (%s)", (int)got_signal, strsignal(got_signal));
	} else if (WIFSIGNALED(status)) {
		snprintf(line, linesz, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else if (n->errmsg[0]) {
		snprintf(line, linesz, "%s", n->errmsg);
	} else if ((path = mp_asprintf("%s/.error", n->staging)) &&
		   mp_read_file(path, &text, NULL, NULL) == 0 && *text) {
		snprintf(line, linesz, "%s", text);
	} else {
		snprintf(line, linesz, "exited with status %d", WEXITSTATUS(status));
	}
	free(text);
	if (path)
		free(path);
	if (n->c->retries > 0)
		mp_strbuf_addf(full, "attempt %d of %d: ", n->attempt, n->c->retries + 1);
	mp_strbuf_adds(full, line);
	log_tail(n->log, n->log_start, full);
	log_note(n, line);
}

/* Moves the staged outputs to their final place and records the execution
 * as COMPLETE.  On failure nothing stays published. */
static int publish(runner *R, node *n, mp_err *err)
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

	if (!res || (rc = alloc_outputs(n, err)) != 0) {
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

		if (!(src = staging_output(n, i)) ||
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
static int record_end(runner *R, node *n, mp_exec_state state, const char *reason, mp_err *err)
{
	mp_exec_result er = {.state = state, .exit_reason = reason};

	return mp_store_finish_execution(R->st, n->exec_id, &er, err);
}

/* The failure line, then the last few lines of the component's stderr
 * (from the reason's "stderr tail:" part), indented. */
static void print_failure(runner *R, node *n, const char *line, const char *full)
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

/* A child has ended with status: publish, retry or record the failure. */
/* What the child said through its error channel, into n->errmsg; closes it. */
static void read_errfd(node *n)
{
	ssize_t got;

	n->errmsg[0] = '\0';
	if (n->errfd < 0)
		return;
	got = read(n->errfd, n->errmsg, sizeof(n->errmsg) - 1);
	n->errmsg[got > 0 ? got : 0] = '\0';
	close(n->errfd);
	n->errfd = -1;
}

static int reaped(runner *R, node *n, int status, mp_err *err)
{
	char line[MP_ERR_MAX], d[32];
	mp_strbuf full = MP_STRBUF_INIT;
	int rc = 0;

	R->running--;
	kill(-n->pid, SIGKILL); /* anything the component left behind in its group */
	n->pid = 0;
	read_errfd(n);
	if (!n->timed_out && !n->stopped && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		mp_err perr = {0};

		if (publish(R, n, &perr) == 0) {
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
			discard_staging(n->staging);
			*err = perr;
			n->state = N_FAILED;
			R->out->failed++;
			return perr.code;
		}
		snprintf(line, sizeof(line), "%s", perr.msg);
		log_note(n, line);
		mp_strbuf_adds(&full, line);
	} else {
		failure_reason(n, status, line, sizeof(line), &full);
	}
	if (!n->stopped && !R->stopping && n->attempt <= n->c->retries) {
		print_failure(R, n, line, mp_strbuf_str(&full));
		say(R, "  %-*s retrying (attempt %d of %d)\n", R->idw, n->c->id, n->attempt + 1,
		    n->c->retries + 1);
		mp_strbuf_release(&full);
		return launch(R, n, err);
	}
	discard_staging(n->staging);
	if (n->stopped || R->stopping) {
		n->state = N_CANCELED;
		R->out->canceled++;
		say(R, "  %-*s canceled: %s\n", R->idw, n->c->id, line);
		rc = record_end(R, n, MP_EXEC_CANCELED, full.failed ? line : mp_strbuf_str(&full), err);
	} else {
		n->state = N_FAILED;
		R->out->failed++;
		print_failure(R, n, line, mp_strbuf_str(&full));
		rc = record_end(R, n, MP_EXEC_FAILED, full.failed ? line : mp_strbuf_str(&full), err);
	}
	mp_strbuf_release(&full);
	return rc;
}

/* Starts a ready component: reuse from the resumed run, reuse from the
 * cache, or run it. */
static int start(runner *R, node *n, mp_err *err)
{
	exec_args a;
	int rc, hit;

	if ((rc = compute_key(R, n, err)) != 0)
		return rc;
	if (n->resume_exec) {
		if ((hit = take_outputs(R, n, n->resume_exec, n->key, err)) < 0)
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
	if (!R->o->no_cache && n->c->cache) {
		int64_t src;

		rc = mp_store_find_cached(R->st, n->key, &src, err);
		if (rc != 0 && rc != MP_ENOTFOUND)
			return rc;
		if (rc == 0) {
			if ((hit = take_outputs(R, n, src, NULL, err)) < 0)
				return hit;
			if (hit) {
				if ((rc = exec_args_make(R, n, 1, &a, err)) != 0)
					return rc;
				rc = mp_store_record_cached(R->st, &a.spec, src, &n->exec_id, err);
				exec_args_release(&a);
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
	if ((rc = exec_args_make(R, n, 1, &a, err)) != 0)
		return rc;
	rc = mp_store_begin_execution(R->st, &a.spec, &n->exec_id, err);
	exec_args_release(&a);
	if (rc != 0)
		return rc;
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
		if (record_end(R, n, MP_EXEC_FAILED, err->msg, &ferr) != 0)
			return ferr.code;
		discard_staging(n->staging);
		return err->code == MP_ENOMEM ? rc : 0;
	}
	return 0;
}

/* Sends SIGTERM to every running child (SIGKILL after the grace period). */
static void stop_children(runner *R)
{
	int64_t grace = (int64_t)(R->o->grace_ms > 0 ? R->o->grace_ms : 5000) * 1000000;
	size_t i;

	for (i = 0; i < R->p->ncomps; i++) {
		node *n = &R->nodes[i];

		if (n->state != N_RUNNING || n->stopped)
			continue;
		n->stopped = 1;
		kill(-n->pid, SIGTERM);
		n->kill_ns = mp_monotonic_ns() + grace;
	}
}

static void check_timeouts(runner *R)
{
	int64_t now = mp_monotonic_ns();
	int64_t grace = (int64_t)(R->o->grace_ms > 0 ? R->o->grace_ms : 5000) * 1000000;
	size_t i;

	for (i = 0; i < R->p->ncomps; i++) {
		node *n = &R->nodes[i];

		if (n->state != N_RUNNING)
			continue;
		if (n->deadline_ns && !n->timed_out && !n->stopped && now >= n->deadline_ns) {
			n->timed_out = 1;
			kill(-n->pid, SIGTERM);
			n->kill_ns = now + grace;
		} else if (n->kill_ns && now >= n->kill_ns) {
			kill(-n->pid, SIGKILL);
			n->kill_ns = 0;
		}
	}
}

/* Reaps every child that has ended. */
static int reap(runner *R, mp_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < R->p->ncomps; i++) {
		node *n = &R->nodes[i];
		int status;
		pid_t w;

		if (n->state != N_RUNNING)
			continue;
		w = waitpid(n->pid, &status, WNOHANG);
		if (w == 0 || (w < 0 && errno == EINTR))
			continue;
		if (w < 0)
			status = 0x7f00; /* not ours any more: treat as failed */
		if ((rc = reaped(R, n, status, err)) != 0)
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
static void abandon_children(runner *R)
{
	size_t i;

	for (i = 0; i < R->p->ncomps; i++) {
		node *n = &R->nodes[i];

		if (n->state != N_RUNNING)
			continue;
		kill(-n->pid, SIGKILL);
		while (waitpid(n->pid, NULL, 0) < 0 && errno == EINTR)
			;
		read_errfd(n);
		discard_staging(n->staging);
		n->state = N_FAILED;
	}
	R->running = 0;
}

static int schedule(runner *R, mp_err *err)
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
			node *n = &R->nodes[R->p->order[i]];
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
				if ((rc = record_canceled(R, n, reason, err)) != 0)
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
				node *n = &R->nodes[R->p->order[i]];

				if (n->state == N_PENDING &&
				    (rc = record_canceled(R, n, "the run was stopped", err)) != 0)
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

/* Marks a run of this pipeline whose orchestrator died as FAILED, after
 * removing what its RUNNING executions had staged or half published. */
static int settle_dead_run(runner *R, int64_t run_id, mp_err *err)
{
	mp_execution_list el = {0};
	size_t i, k;
	int rc, n;

	if ((rc = mp_store_run_executions(R->st, run_id, &el, err)) != 0)
		return rc;
	for (i = 0; i < el.n; i++) {
		const mp_execution *e = &el.items[i];
		int ci;
		char *d;

		if (strcmp(e->state, "RUNNING") != 0)
			continue;
		if ((d = mp_asprintf("%s/.staging/%lld", R->pdir, (long long)e->id))) {
			discard_staging(d);
			free(d);
		}
		if ((ci = mp_pipeline_find(R->p, e->component_id)) < 0)
			continue;
		for (k = 0; k < R->p->comps[ci].noutputs; k++)
			if ((d = mp_asprintf("%s/%s/%s/%lld", R->pdir, e->component_id,
					     R->p->comps[ci].outputs[k].name, (long long)e->id))) {
				mp_rmtree(d, NULL);
				free(d);
			}
	}
	mp_execution_list_release(&el);
	if ((rc = mp_store_fail_running(R->st, run_id, "the orchestrator stopped before it finished", &n, err)) != 0)
		return rc;
	return 0;
}

/* Runs of this pipeline left RUNNING by an orchestrator that is gone are
 * closed as FAILED, so they do not look alive forever. */
static int sweep_dead_runs(runner *R, mp_err *err)
{
	mp_run_list rl = {0};
	size_t i;
	int rc;

	if ((rc = mp_store_list_runs(R->st, R->p->name, 50, &rl, err)) != 0)
		return rc;
	for (i = 0; i < rl.n && rc == 0; i++) {
		char host[256];
		int64_t pid;

		if (strcmp(rl.items[i].state, "RUNNING") != 0)
			continue;
		if ((rc = mp_store_get_run_owner(R->st, rl.items[i].id, &pid, host, sizeof(host), err)) != 0)
			break;
		if (owner_alive(pid, host) != 0)
			continue;
		mp_info("run %s was left running by process %lld, which is gone: marking it FAILED",
			rl.items[i].name, (long long)pid);
		if ((rc = settle_dead_run(R, rl.items[i].id, err)) == 0)
			rc = mp_store_end_run(R->st, rl.items[i].id, MP_EXEC_FAILED, err);
	}
	mp_run_list_release(&rl);
	return rc;
}

static int find_resume_run(runner *R, const char *which, mp_run *run, mp_err *err)
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
static char *join_sets(char *const *sets, size_t n)
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
static int check_resume_config(runner *R, const mp_run *run, mp_err *err)
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
	if (!(now = join_sets(R->p->sets, R->p->nsets))) {
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
	runner R = {0};
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

static int prepare_resume(runner *R, mp_err *err)
{
	mp_run run = {0};
	mp_execution_list el = {0};
	char host[256];
	int64_t pid;
	size_t i;
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
	if ((rc = settle_dead_run(R, run.id, err)) != 0 ||
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
	mp_execution_list_release(&el);
	mp_run_release(&run);
	return rc;
}

/* ---- the dry run ------------------------------------------------------- */

static int dry_run(runner *R, mp_err *err)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; i < R->p->ncomps && rc == 0; i++) {
		node *n = &R->nodes[R->p->order[i]];
		int changed = 0, hit = 0;
		int64_t src = 0;

		for (j = 0; j < n->c->ninputs + n->c->nafter; j++) {
			int d = j < n->c->ninputs ? n->c->inputs[j].src : n->c->after[j - n->c->ninputs];

			if (R->nodes[d].state != N_CACHED && j < n->c->ninputs)
				changed = 1;
		}
		if (!changed && R->st && !R->o->no_cache && n->c->cache) {
			if ((rc = compute_key(R, n, err)) != 0)
				break;
			rc = mp_store_find_cached(R->st, n->key, &src, err);
			if (rc == MP_ENOTFOUND) {
				rc = 0;
			} else if (rc == 0) {
				if ((hit = take_outputs(R, n, src, NULL, err)) < 0)
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

static int open_store(runner *R, mp_err *err)
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

static int begin(runner *R, mp_err *err)
{
	mp_prop *params = NULL;
	mp_run run = {0};
	char host[256] = "";
	size_t i;
	int rc;

	if ((rc = sweep_dead_runs(R, err)) != 0)
		return rc;
	if (R->o->resume) {
		if ((rc = prepare_resume(R, err)) != 0)
			return rc;
	} else {
		/* the params, and the configuration the run began with (kept out of
		 * its params by the mlpipe. prefix), recorded with the run at once */
		char *sets = join_sets(R->p->sets, R->p->nsets);

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
	runner R = {0};
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
		R.nodes[i].errfd = -1;
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
