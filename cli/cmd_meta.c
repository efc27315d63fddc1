/* `mlpipe meta`: questions about past runs, answered from the metadata store.
 * Tables for people by default; --json for scripts. */
#include "cli/meta.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "data/examples.h"
#include "data/stats.h"
#include "metadata/store.h"

const char mp_meta_usage[] =
	"usage: mlpipe meta --db PATH [--json] COMMAND [ARGS]\n"
	"\n"
	"Answers questions about past runs from the metadata store (the database a\n"
	"pipeline's 'metadata:' names; $MLPIPE_DB when --db is not given).\n"
	"\n"
	"commands:\n"
	"  runs [--pipeline P] [--limit N]      runs, newest first, with their counts\n"
	"                                       (the newest 20 unless --limit; 0 for all)\n"
	"  run RUN [--pipeline P]               one run: its executions, outputs, metrics\n"
	"  artifacts [--type T] [--run ID] [--pipeline P] [--all] [--limit N]\n"
	"                                       artifacts, oldest first (--all: deleted ones\n"
	"                                       too; the newest 50 unless --limit; 0 for all)\n"
	"  lineage ARTIFACT_ID [--up|--down] [--depth N] [--limit N]\n"
	"                                       what an artifact came from and what came of it\n"
	"                                       (12 levels and 1000 nodes each way unless\n"
	"                                       --depth and --limit say otherwise; 0 for all)\n"
	"  metrics [--name M] [--pipeline P] [--component C] [--all-steps] [--limit N]\n"
	"                                       a metric across runs, oldest first (the\n"
	"                                       newest 100 values unless --limit; 0 for all)\n"
	"  diff RUN_A RUN_B [--all]             params and metrics side by side (--all:\n"
	"                                       unchanged ones too)\n"
	"  (RUN is a run id, a run name such as demo#3, or 'last')\n"
	"  gc --older-than DAYS [--dry-run]     delete old artifacts that were never pushed\n"
	"  stats ARTIFACT_ID [--split S]        the statistics a StatisticsGen artifact holds\n"
	"  trials [ARTIFACT_ID] [--pipeline P]  a Tuner's trials: each one's values, budget and\n"
	"                                       objective (the newest search unless an id)\n"
	"\n"
	"options:\n"
	"  --db PATH     the metadata store\n"
	"  --json        print JSON instead of a table\n";

/* ---- runs -------------------------------------------------------------- */

/* Listings show a page, as `gh run list` does, and say when there is more:
 * a store of years of scheduled runs has tens of thousands. */
#define DEFAULT_ROWS 20
#define DEFAULT_POINTS 100 /* metric values: a run history or a training curve */
#define DEFAULT_ARTIFACTS 50

/* --limit (def when not given; 0: everything) into *limit; returns how many
 * to ask the store for: one more than the page, to know whether there are
 * more (0: all). */
static int page_limit(const meta_ctx *c, int64_t def, int64_t *limit, int64_t *fetch, mp_err *err)
{
	int rc;

	*limit = def;
	if (c->limit && (rc = mp_parse_i64(c->limit, 0, INT64_MAX - 1, limit, "--limit", err)) != 0)
		return rc;
	*fetch = *limit ? *limit + 1 : 0;
	return 0;
}

/* How many of n fetched items are beyond the page: 0 when it holds them. */
static size_t page_beyond(size_t n, int64_t limit)
{
	return limit && n > (size_t)limit ? n - (size_t)limit : 0;
}

static void page_note(int64_t limit, const char *what)
{
	printf("(the newest %lld %s: --limit N shows more, --limit 0 shows all)\n", (long long)limit, what);
}

static void json_run_fields(mp_json *j, const mp_run *r)
{
	int64_t d = mp__meta_run_duration(r);

	mp_json_key(j, "id");
	mp_json_int(j, r->id);
	mp_json_key(j, "name");
	mp_json_string(j, r->name);
	mp_json_key(j, "pipeline");
	mp_json_string(j, r->pipeline);
	mp_json_key(j, "state");
	mp_json_string(j, r->state);
	mp__meta_json_time(j, "start_time", r->start_ms);
	mp__meta_json_time(j, "end_time", r->end_ms);
	mp_json_key(j, "duration_s");
	if (d >= 0)
		mp_json_double(j, (double)d / 1000.0);
	else
		mp_json_null(j);
	mp_json_key(j, "executed");
	mp_json_int(j, r->executed);
	mp_json_key(j, "cached");
	mp_json_int(j, r->cached);
	mp_json_key(j, "failed");
	mp_json_int(j, r->failed);
	mp_json_key(j, "canceled");
	mp_json_int(j, r->canceled);
	mp_json_key(j, "params");
	mp__meta_json_props(j, r->params, r->nparams);
}

static int cmd_runs(meta_ctx *c, mp_err *err)
{
	static const char *const heads[] = {">RUN", "PIPELINE", "STARTED", ">DURATION", "STATE",
					    ">EXECUTED", ">CACHED", ">FAILED"};
	int64_t limit, fetch;
	mp_run_list l;
	size_t i, more;
	int rc;

	if ((rc = page_limit(c, DEFAULT_ROWS, &limit, &fetch, err)) != 0 ||
	    (rc = mp_store_list_runs(c->st, c->pipeline, fetch, &l, err)) != 0)
		return rc;
	/* newest first: the ones beyond the page are at the end */
	for (more = page_beyond(l.n, limit), i = 0; i < more; i++)
		mp_run_release(&l.items[--l.n]);
	if (c->json) {
		mp_json j;

		mp_json_init(&j, stdout, 1);
		mp_json_begin_array(&j);
		for (i = 0; i < l.n; i++) {
			mp_json_begin_object(&j);
			json_run_fields(&j, &l.items[i]);
			mp_json_end_object(&j);
		}
		mp_json_end_array(&j);
		mp_json_finish(&j);
	} else {
		mp_table *t = mp_table_new(8, heads);

		for (i = 0; t && i < l.n; i++) {
			const mp_run *r = &l.items[i];
			char id[24], start[32], dur[32], ex[16], ca[16], fa[16];
			const char *row[8] = {id, r->pipeline, start, dur, r->state, ex, ca, fa};

			snprintf(id, sizeof(id), "%lld", (long long)r->id);
			mp_format_time(start, sizeof(start), r->start_ms);
			mp_format_duration(dur, sizeof(dur), mp__meta_run_duration(r));
			snprintf(ex, sizeof(ex), "%d", r->executed);
			snprintf(ca, sizeof(ca), "%d", r->cached);
			snprintf(fa, sizeof(fa), "%d", r->failed + r->canceled);
			if (mp_table_add(t, row))
				break;
		}
		if (l.n == 0)
			printf("no runs in '%s'\n", c->db);
		else
			mp__meta_print_table(t);
		mp_table_free(t);
		if (more)
			page_note(limit, "runs");
	}
	mp_run_list_release(&l);
	return 0;
}

/* ---- run --------------------------------------------------------------- */

static const char *cache_word(const mp_execution *e)
{
	if (strcmp(e->state, "CACHED") == 0)
		return "hit";
	return e->cache_key ? "miss" : "off";
}

static int64_t exec_duration(const mp_execution *e)
{
	return e->end_ms && e->start_ms ? e->end_ms - e->start_ms : -1;
}

static void json_events(mp_json *j, const mp_execution *e, int outputs)
{
	size_t i;

	mp_json_begin_array(j);
	for (i = 0; i < e->nevents; i++) {
		const mp_event_row *ev = &e->events[i];

		if (ev->is_output != outputs)
			continue;
		mp_json_begin_object(j);
		mp_json_key(j, "name");
		mp_json_string(j, ev->name);
		mp_json_key(j, "id");
		mp_json_int(j, ev->artifact_id);
		mp_json_key(j, "type");
		mp_json_string(j, ev->artifact_type);
		mp_json_key(j, "uri");
		mp_json_string(j, ev->uri);
		mp_json_end_object(j);
	}
	mp_json_end_array(j);
}

static void json_execution(mp_json *j, const mp_execution *e)
{
	int64_t d = exec_duration(e);
	size_t i;

	mp_json_begin_object(j);
	mp_json_key(j, "id");
	mp_json_int(j, e->id);
	mp_json_key(j, "component");
	mp_json_string(j, e->component_id);
	mp_json_key(j, "type");
	mp_json_string(j, e->type);
	mp_json_key(j, "state");
	mp_json_string(j, e->state);
	mp__meta_json_time(j, "start_time", e->start_ms);
	mp__meta_json_time(j, "end_time", e->end_ms);
	mp_json_key(j, "duration_s");
	if (d >= 0)
		mp_json_double(j, (double)d / 1000.0);
	else
		mp_json_null(j);
	mp_json_key(j, "cache");
	mp_json_string(j, cache_word(e));
	mp_json_key(j, "cache_key");
	mp_json_string(j, e->cache_key);
	mp_json_key(j, "cached_from");
	if (e->cached_from)
		mp_json_int(j, e->cached_from);
	else
		mp_json_null(j);
	mp_json_key(j, "exit_reason");
	mp_json_string(j, e->exit_reason);
	mp_json_key(j, "params");
	mp__meta_json_props(j, e->params, e->nparams);
	mp_json_key(j, "inputs");
	json_events(j, e, 0);
	mp_json_key(j, "outputs");
	json_events(j, e, 1);
	mp_json_key(j, "metrics");
	mp_json_begin_array(j);
	for (i = 0; i < e->nmetrics; i++) {
		mp_json_begin_object(j);
		mp_json_key(j, "name");
		mp_json_string(j, e->metrics[i].name);
		mp_json_key(j, "step");
		mp_json_int(j, e->metrics[i].step);
		mp_json_key(j, "value");
		mp_json_double(j, e->metrics[i].value);
		mp_json_end_object(j);
	}
	mp_json_end_array(j);
	mp_json_end_object(j);
}

static int cmd_run(meta_ctx *c, mp_err *err)
{
	static const char *const heads[] = {">EXEC", "COMPONENT", "TYPE", "STATE", ">DURATION",
					    "CACHE", "OUTPUTS", "METRICS"};
	mp_execution_list el = {0};
	mp_run r = {0};
	int64_t id;
	size_t i, k;
	int rc;

	if (c->npos != 1)
		return mp_error(err, MP_EINVAL, "'meta run' needs one run id or 'last'");
	if ((rc = mp__meta_parse_run_arg(c->st, c->pos[0], &id, err)) != 0 ||
	    (rc = mp_store_get_run(c->st, id, c->pipeline, &r, err)) != 0 ||
	    (rc = mp_store_run_executions(c->st, r.id, &el, err)) != 0)
		goto out;
	if (c->json) {
		mp_json j;

		mp_json_init(&j, stdout, 1);
		mp_json_begin_object(&j);
		json_run_fields(&j, &r);
		mp_json_key(&j, "executions");
		mp_json_begin_array(&j);
		for (i = 0; i < el.n; i++)
			json_execution(&j, &el.items[i]);
		mp_json_end_array(&j);
		mp_json_end_object(&j);
		mp_json_finish(&j);
	} else {
		mp_table *t = mp_table_new(8, heads);
		char start[32], dur[32], val[64];

		mp_format_duration(dur, sizeof(dur), mp__meta_run_duration(&r));
		printf("run %lld (%s)  %s  started %s  took %s\n", (long long)r.id, r.name, r.state,
		       mp_format_time(start, sizeof(start), r.start_ms), r.end_ms ? dur : "(running)");
		if (r.nparams) {
			printf("params:");
			for (k = 0; k < r.nparams; k++)
				printf(" %s=%s", r.params[k].name, mp_prop_format(&r.params[k], val, sizeof(val)));
			printf("\n");
		}
		printf("\n");
		for (i = 0; t && i < el.n; i++) {
			const mp_execution *e = &el.items[i];
			mp_strbuf outs = MP_STRBUF_INIT, mets = MP_STRBUF_INIT;
			char eid[24];
			const char *row[8];

			snprintf(eid, sizeof(eid), "%lld", (long long)e->id);
			mp_format_duration(dur, sizeof(dur), exec_duration(e));
			for (k = 0; k < e->nevents; k++)
				if (e->events[k].is_output)
					mp_strbuf_addf(&outs, "%s%s=#%lld", outs.len ? " " : "", e->events[k].name,
						       (long long)e->events[k].artifact_id);
			for (k = 0; k < e->nmetrics; k++)
				if (mp_execution_metric_is_summary(e, k))
					mp_strbuf_addf(&mets, "%s%s=%s", mets.len ? " " : "", e->metrics[k].name,
						       mp__meta_fmt_value(val, sizeof(val), e->metrics[k].value));
			row[0] = eid;
			row[1] = e->component_id;
			row[2] = e->type;
			row[3] = e->state;
			row[4] = dur;
			row[5] = cache_word(e);
			row[6] = outs.len ? mp_strbuf_str(&outs) : NULL;
			row[7] = mets.len ? mp_strbuf_str(&mets) : NULL;
			mp_table_add(t, row);
			mp_strbuf_release(&outs);
			mp_strbuf_release(&mets);
		}
		if (el.n)
			mp__meta_print_table(t);
		else
			printf("no executions\n");
		mp_table_free(t);
		for (i = 0; i < el.n; i++)
			if (el.items[i].exit_reason)
				printf("\nexecution %lld (%s) %s: %s\n", (long long)el.items[i].id,
				       el.items[i].component_id, el.items[i].state, el.items[i].exit_reason);
	}
out:
	mp_execution_list_release(&el);
	mp_run_release(&r);
	return rc;
}

/* ---- artifacts --------------------------------------------------------- */

static void json_artifact(mp_json *j, const mp_artifact *a)
{
	char buf[32];

	mp_json_begin_object(j);
	mp_json_key(j, "id");
	mp_json_int(j, a->id);
	mp_json_key(j, "type");
	mp_json_string(j, a->type);
	mp_json_key(j, "name");
	mp_json_string(j, a->name);
	mp_json_key(j, "state");
	mp_json_string(j, a->state);
	mp_json_key(j, "uri");
	mp_json_string(j, a->uri);
	mp_json_key(j, "created");
	mp_json_string(j, mp_format_iso(buf, sizeof(buf), a->create_time_ms));
	mp_json_key(j, "pipeline");
	mp_json_string(j, a->pipeline);
	mp_json_key(j, "producer");
	if (a->producer_id) {
		mp_json_begin_object(j);
		mp_json_key(j, "execution");
		mp_json_int(j, a->producer_id);
		mp_json_key(j, "component");
		mp_json_string(j, a->producer);
		mp_json_end_object(j);
	} else {
		mp_json_null(j);
	}
	mp_json_key(j, "fingerprint");
	mp_json_string(j, a->fingerprint);
	mp_json_key(j, "properties");
	mp__meta_json_props(j, a->props, a->nprops);
	mp_json_end_object(j);
}

static int cmd_artifacts(meta_ctx *c, mp_err *err)
{
	static const char *const heads[] = {">ID", "TYPE", "NAME", "STATE", "CREATED", "PRODUCER", "URI"};
	mp_artifact_filter f = {c->type, c->pipeline, 0, c->all, 0, 0};
	mp_artifact_list l;
	int64_t limit;
	size_t i, first;
	int rc;

	if (c->npos)
		return mp_error(err, MP_EINVAL, "unexpected argument '%s' for 'meta artifacts'", c->pos[0]);
	if (c->run) {
		/* as for `meta run`: an id, a name or last; the run must exist */
		mp_run r = {0};

		if ((rc = mp__meta_parse_run_arg(c->st, c->run, &f.run_id, err)) != 0 ||
		    (rc = mp_store_get_run(c->st, f.run_id, f.run_id ? NULL : c->pipeline, &r, err)) != 0)
			return rc == MP_EINVAL ? mp_error_wrap(err, "--run") : rc;
		f.run_id = r.id;
		mp_run_release(&r);
	}
	if ((rc = page_limit(c, DEFAULT_ARTIFACTS, &limit, &f.limit, err)) != 0 ||
	    (rc = mp_store_list_artifacts(c->st, &f, &l, err)) != 0)
		return rc;
	first = page_beyond(l.n, limit); /* oldest first: the ones beyond the page come first */
	if (c->json) {
		mp_json j;

		mp_json_init(&j, stdout, 1);
		mp_json_begin_array(&j);
		for (i = first; i < l.n; i++)
			json_artifact(&j, &l.items[i]);
		mp_json_end_array(&j);
		mp_json_finish(&j);
	} else if (l.n == 0) {
		printf("no artifacts\n");
	} else {
		mp_table *t = mp_table_new(7, heads);

		for (i = first; t && i < l.n; i++) {
			const mp_artifact *a = &l.items[i];
			char id[24], created[32], prod[160];
			const char *row[7] = {id, a->type, a->name, a->state, created,
					      a->producer_id ? prod : NULL, a->uri};

			snprintf(id, sizeof(id), "%lld", (long long)a->id);
			mp_format_time(created, sizeof(created), a->create_time_ms);
			snprintf(prod, sizeof(prod), "%s #%lld", a->producer ? a->producer : "?",
				 (long long)a->producer_id);
			mp_table_add(t, row);
		}
		mp__meta_print_table(t);
		mp_table_free(t);
		if (first)
			page_note(limit, "artifacts");
	}
	mp_artifact_list_release(&l);
	return 0;
}

/* ---- lineage ----------------------------------------------------------- */

#define MAX_INDENT 20
#define DEFAULT_DEPTH 12
#define DEFAULT_NODES 1000 /* each way, like ML Metadata's capped lineage queries */

/* Whether a walk limited to depth stopped with more beyond it. */
static int cut_short(const mp_lineage *l, int64_t depth)
{
	size_t i;

	for (i = 0; depth && i < l->n; i++)
		if (l->items[i].depth == depth && !l->items[i].repeated)
			return 1;
	return 0;
}

static void print_lineage(const mp_lineage *l, int up)
{
	size_t i;

	if (l->n <= 1) {
		printf("  (none)\n");
		return;
	}
	for (i = 1; i < l->n; i++) {
		const mp_lineage_node *n = &l->items[i];

		/* Past MAX_INDENT levels the depth is written out instead of drawn. */
		if (n->depth <= MAX_INDENT)
			printf("%*s%s ", n->depth * 3 - 1, "", up ? "<-" : "->");
		else
			printf("%*s(%d) %s ", MAX_INDENT * 3 - 1, "", n->depth, up ? "<-" : "->");
		if (n->is_execution)
			printf("execution #%lld %s (%s) %s", (long long)n->id, n->label, n->detail, n->state);
		else
			printf("artifact #%lld %s %s", (long long)n->id, n->label, n->detail);
		if (n->via)
			printf("  [%s]", n->via);
		if (n->repeated)
			printf("  (shown above)");
		printf("\n");
	}
}

/* Writes a walk's nodes after the root as one flat JSON array, depth-first
 * as the table shows them, each naming its parent by index (null for the
 * artifact asked about): a chain of runs can be far deeper than nested JSON
 * goes. */
static void json_lineage(mp_json *j, const mp_lineage *l)
{
	size_t i;

	mp_json_begin_array(j);
	for (i = 1; i < l->n; i++) {
		const mp_lineage_node *n = &l->items[i];

		mp_json_begin_object(j);
		mp_json_key(j, "kind");
		mp_json_string(j, n->is_execution ? "execution" : "artifact");
		mp_json_key(j, "id");
		mp_json_int(j, n->id);
		mp_json_key(j, n->is_execution ? "component" : "type");
		mp_json_string(j, n->label);
		mp_json_key(j, n->is_execution ? "type" : "uri");
		mp_json_string(j, n->detail);
		mp_json_key(j, "state");
		mp_json_string(j, n->state);
		mp_json_key(j, "via");
		mp_json_string(j, n->via);
		mp_json_key(j, "repeated");
		mp_json_bool(j, n->repeated);
		mp_json_key(j, "depth");
		mp_json_int(j, n->depth);
		mp_json_key(j, "parent");
		if (n->parent == 0)
			mp_json_null(j);
		else
			mp_json_int(j, (int64_t)n->parent - 1);
		mp_json_end_object(j);
	}
	mp_json_end_array(j);
}

static void json_root(mp_json *j, const mp_lineage_node *root)
{
	mp_json_key(j, "artifact");
	mp_json_begin_object(j);
	mp_json_key(j, "id");
	mp_json_int(j, root->id);
	mp_json_key(j, "type");
	mp_json_string(j, root->label);
	mp_json_key(j, "uri");
	mp_json_string(j, root->detail);
	mp_json_key(j, "state");
	mp_json_string(j, root->state);
	mp_json_end_object(j);
}

static int cmd_lineage(meta_ctx *c, mp_err *err)
{
	mp_lineage up = {0}, down = {0};
	int64_t id, depth = DEFAULT_DEPTH, limit = DEFAULT_NODES;
	int want_up = c->up || !c->down, want_down = c->down || !c->up;
	int rc;

	if (c->npos != 1)
		return mp_error(err, MP_EINVAL, "'meta lineage' needs one artifact id");
	if ((rc = mp_parse_i64(c->pos[0], 1, INT64_MAX, &id, "artifact id", err)) != 0 ||
	    (c->depth && (rc = mp_parse_i64(c->depth, 0, INT32_MAX, &depth, "--depth", err)) != 0) ||
	    (c->limit && (rc = mp_parse_i64(c->limit, 0, INT64_MAX, &limit, "--limit", err)) != 0))
		return rc;
	if ((want_up && (rc = mp_store_lineage(c->st, id, MP_LINEAGE_UP, (int)depth, (size_t)limit, &up, err)) != 0) ||
	    (want_down && (rc = mp_store_lineage(c->st, id, MP_LINEAGE_DOWN, (int)depth, (size_t)limit, &down, err)) != 0))
		goto out;
	if (c->json) {
		mp_json j;

		mp_json_init(&j, stdout, 1);
		mp_json_begin_object(&j);
		json_root(&j, want_up ? &up.items[0] : &down.items[0]);
		if (want_up) {
			mp_json_key(&j, "upstream");
			json_lineage(&j, &up);
		}
		if (want_down) {
			mp_json_key(&j, "downstream");
			json_lineage(&j, &down);
		}
		mp_json_key(&j, "truncated");
		mp_json_bool(&j, up.truncated || down.truncated);
		mp_json_end_object(&j);
		mp_json_finish(&j);
	} else {
		const mp_lineage_node *root = want_up ? &up.items[0] : &down.items[0];

		printf("artifact #%lld %s %s (%s)\n", (long long)root->id, root->label, root->detail, root->state);
		if (want_up) {
			printf("upstream (where it came from):\n");
			print_lineage(&up, 1);
		}
		if (want_down) {
			printf("downstream (what was derived from it):\n");
			print_lineage(&down, 0);
		}
		if ((want_up && cut_short(&up, depth)) || (want_down && cut_short(&down, depth)))
			printf("(cut at depth %lld: --depth N goes further, --depth 0 shows all)\n",
			       (long long)depth);
		if (up.truncated || down.truncated)
			printf("(stopped after %lld nodes each way: --limit N shows more, --limit 0 shows all)\n",
			       (long long)limit);
	}
out:
	mp_lineage_release(&up);
	mp_lineage_release(&down);
	return rc;
}

/* ---- metrics ----------------------------------------------------------- */

static int cmd_metrics(meta_ctx *c, mp_err *err)
{
	static const char *const heads[] = {">RUN", "PIPELINE", "STARTED", "COMPONENT", "METRIC",
					    ">STEP", ">VALUE"};
	mp_metric_filter f = {c->name, c->pipeline, c->component, c->all_steps, 0};
	mp_metric_history h;
	int64_t limit;
	size_t i, first;
	int rc;

	if (c->npos)
		return mp_error(err, MP_EINVAL, "unexpected argument '%s' for 'meta metrics'", c->pos[0]);
	if ((rc = page_limit(c, DEFAULT_POINTS, &limit, &f.limit, err)) != 0 ||
	    (rc = mp_store_metric_history(c->st, &f, &h, err)) != 0)
		return rc;
	first = page_beyond(h.n, limit); /* oldest first: the ones beyond the page come first */
	if (c->json) {
		mp_json j;
		char buf[32];

		mp_json_init(&j, stdout, 1);
		mp_json_begin_array(&j);
		for (i = first; i < h.n; i++) {
			const mp_metric_point *p = &h.items[i];

			mp_json_begin_object(&j);
			mp_json_key(&j, "run");
			mp_json_int(&j, p->run_id);
			mp_json_key(&j, "pipeline");
			mp_json_string(&j, p->pipeline);
			mp_json_key(&j, "started");
			mp_json_string(&j, mp_format_iso(buf, sizeof(buf), p->time_ms));
			mp_json_key(&j, "component");
			mp_json_string(&j, p->component_id);
			mp_json_key(&j, "execution");
			mp_json_int(&j, p->execution_id);
			mp_json_key(&j, "name");
			mp_json_string(&j, p->name);
			mp_json_key(&j, "step");
			mp_json_int(&j, p->step);
			mp_json_key(&j, "value");
			mp_json_double(&j, p->value);
			mp_json_end_object(&j);
		}
		mp_json_end_array(&j);
		mp_json_finish(&j);
	} else if (h.n == 0) {
		printf("no metrics%s%s\n", c->name ? " named " : "", c->name ? c->name : "");
	} else {
		mp_table *t = mp_table_new(7, heads);

		for (i = first; t && i < h.n; i++) {
			const mp_metric_point *p = &h.items[i];
			char run[24], start[32], step[24], val[64];
			const char *row[7] = {run, p->pipeline, start, p->component_id, p->name, step, val};

			snprintf(run, sizeof(run), "%lld", (long long)p->run_id);
			mp_format_time(start, sizeof(start), p->time_ms);
			snprintf(step, sizeof(step), "%lld", (long long)p->step);
			mp__meta_fmt_value(val, sizeof(val), p->value);
			mp_table_add(t, row);
		}
		mp__meta_print_table(t);
		mp_table_free(t);
		if (first)
			page_note(limit, "values");
	}
	mp_metric_history_release(&h);
	return 0;
}

/* ---- dispatch ---------------------------------------------------------- */

typedef struct meta_cmd {
	const char *name;
	int (*fn)(meta_ctx *c, mp_err *err);
	int maxpos;
} meta_cmd;

static const meta_cmd meta_cmds[] = {
	{"runs", cmd_runs, 0},
	{"run", cmd_run, 1},
	{"artifacts", cmd_artifacts, 0},
	{"lineage", cmd_lineage, 1},
	{"metrics", cmd_metrics, 0},
	{"diff", mp__meta_diff, 2},
	{"gc", mp__meta_gc, 0},
	{"stats", mp__meta_stats, 1},
	{"trials", mp__meta_trials, 1},
};

#define NMETA_CMDS MP_COUNTOF(meta_cmds)

int mp_cmd_meta(int argc, char **argv)
{
	meta_ctx c;
	const mp_opt opts[] = {
		{"--db", NULL, &c.db, NULL, NULL},
		{"--json", NULL, NULL, &c.json, NULL},
		{"--pipeline", "-p", &c.pipeline, NULL, NULL},
		{"--limit", "-n", &c.limit, NULL, NULL},
		{"--type", NULL, &c.type, NULL, NULL},
		{"--run", NULL, &c.run, NULL, NULL},
		{"--name", NULL, &c.name, NULL, NULL},
		{"--component", NULL, &c.component, NULL, NULL},
		{"--depth", NULL, &c.depth, NULL, NULL},
		{"--older-than", NULL, &c.older_than, NULL, NULL},
		{"--split", NULL, &c.split, NULL, NULL},
		{"--all", NULL, NULL, &c.all, NULL},
		{"--up", NULL, NULL, &c.up, NULL},
		{"--down", NULL, NULL, &c.down, NULL},
		{"--all-steps", NULL, NULL, &c.all_steps, NULL},
		{"--dry-run", NULL, NULL, &c.dry_run, NULL},
		{NULL, NULL, NULL, NULL, NULL},
	};
	const meta_cmd *cmd = NULL;
	char *pos[4];
	int npos, help, rc;
	size_t i;
	mp_err err;

	memset(&c, 0, sizeof(c));
	mp_err_clear(&err);
	if (mp_cli_parse(argc, argv, opts, pos, 4, &npos, &help, "meta", &err) != 0)
		return mp__meta_fail(&err);
	if (help || npos == 0) {
		fputs(mp_meta_usage, help ? stdout : stderr);
		return help ? MP_EXIT_OK : MP_EXIT_USAGE;
	}
	for (i = 0; i < NMETA_CMDS; i++)
		if (strcmp(pos[0], meta_cmds[i].name) == 0)
			cmd = &meta_cmds[i];
	if (!cmd) {
		char near[128];

		mp_error(&err, MP_EINVAL, "'%s' is not a meta command%s (see 'mlpipe meta --help')", pos[0],
			 mp_did_you_mean(mp_closest_in(pos[0], meta_cmds, NMETA_CMDS, sizeof(*meta_cmds)), near,
					 sizeof(near)));
		return mp__meta_fail(&err);
	}
	c.npos = npos - 1;
	if (c.npos > cmd->maxpos) {
		mp_error(&err, MP_EINVAL, "unexpected argument '%s' for 'meta %s'", pos[cmd->maxpos + 1], cmd->name);
		return mp__meta_fail(&err);
	}
	for (i = 0; i < (size_t)c.npos; i++)
		c.pos[i] = pos[i + 1];
	if (!c.db)
		c.db = getenv("MLPIPE_DB");
	if (!c.db || !*c.db) {
		mp_error(&err, MP_EINVAL, "'meta %s' needs a metadata store: --db PATH (or $MLPIPE_DB)", cmd->name);
		return mp__meta_fail(&err);
	}
	if ((rc = mp_store_open(&c.st, c.db, 0, &err)) != 0)
		return mp__meta_fail(&err);
	rc = cmd->fn(&c, &err);
	mp_store_close(c.st);
	if (fflush(stdout) != 0 && !rc)
		rc = mp_error(&err, MP_EIO, "cannot write the output");
	return rc ? mp__meta_fail(&err) : MP_EXIT_OK;
}
