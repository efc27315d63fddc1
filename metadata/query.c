/* The store's queries: artifacts, runs, executions, metric history (lineage
 * is in lineage.c). */
#include "metadata/store_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- artifacts --------------------------------------------------------- */

#define ARTIFACT_SELECT                                                                     \
	"SELECT a.id, t.name, ev.name, a.uri, a.state, a.fingerprint, a.create_time_ms,"   \
	" e.id, e.component_id, p.name, root.string_value"                                \
	" FROM artifact a JOIN type t ON t.id = a.type_id"                                 \
	" LEFT JOIN event ev ON ev.id = (SELECT min(id) FROM event"                        \
	"   WHERE artifact_id = a.id AND type = 'OUTPUT')"                                 \
	" LEFT JOIN execution e ON e.id = ev.execution_id"                                 \
	" LEFT JOIN context p ON p.id = (SELECT at.context_id FROM attribution at"         \
	"   JOIN context c ON c.id = at.context_id JOIN type ct ON ct.id = c.type_id"      \
	"   WHERE at.artifact_id = a.id AND ct.kind = 'context' AND ct.name = 'pipeline'"  \
	"   LIMIT 1)"                                                                      \
	" LEFT JOIN context_property root ON root.context_id = p.id AND root.name = 'root'"

static const char SQL_ARTIFACT_PROPS[] =
	"SELECT name, int_value, double_value, string_value FROM artifact_property"
	" WHERE artifact_id = ?1 ORDER BY name";

void mp_artifact_release(mp_artifact *a)
{
	if (!a)
		return;
	free(a->type);
	free(a->name);
	free(a->uri);
	free(a->state);
	free(a->fingerprint);
	free(a->producer);
	free(a->pipeline);
	free(a->root);
	mp__props_free(a->props, a->nprops);
	memset(a, 0, sizeof(*a));
}

void mp_artifact_list_release(mp_artifact_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		mp_artifact_release(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static int read_artifact(sqlite3_stmt *s, mp_artifact *a)
{
	int ok = 1;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->type = mp__col_text(s, 1, &ok);
	a->name = mp__col_text(s, 2, &ok);
	a->uri = mp__col_text(s, 3, &ok);
	a->state = mp__col_text(s, 4, &ok);
	a->fingerprint = mp__col_text(s, 5, &ok);
	a->create_time_ms = sqlite3_column_int64(s, 6);
	a->producer_id = sqlite3_column_int64(s, 7);
	a->producer = mp__col_text(s, 8, &ok);
	a->pipeline = mp__col_text(s, 9, &ok);
	a->root = mp__col_text(s, 10, &ok);
	if (!ok) {
		mp_artifact_release(a);
		return MP_ENOMEM;
	}
	return 0;
}

/* Steps s to the end, appending one artifact per row, then loads their
 * properties (after the statement is reset, since it may be reused). */
static int collect_artifacts(mp_store *st, sqlite3_stmt *s, mp_artifact_list *out,
			     mp_err *err)
{
	size_t alloc = 0, i;
	int step, rc = 0, began = mp__read_begin(st);

	memset(out, 0, sizeof(*out));
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (mp_grow((void **)&out->items, &alloc, out->n, sizeof(*out->items)) ||
		    read_artifact(s, &out->items[out->n])) {
			rc = mp_error(err, MP_ENOMEM, "out of memory listing artifacts");
			break;
		}
		out->n++;
	}
	if (!rc && step != SQLITE_DONE)
		rc = mp__db_error(st, err, "list artifacts");
	sqlite3_reset(s);
	for (i = 0; !rc && i < out->n; i++)
		rc = mp__load_props(st, SQL_ARTIFACT_PROPS, out->items[i].id,
				    &out->items[i].props, &out->items[i].nprops, err);
	mp__read_end(st, began);
	if (rc)
		mp_artifact_list_release(out);
	return rc;
}

/* Moves the single artifact of a list into out, or reports none. */
static int take_one(mp_artifact_list *l, mp_artifact *out, int rc)
{
	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	if (l->n == 0)
		return MP_ENOTFOUND;
	*out = l->items[0];
	l->n = 0;
	mp_artifact_list_release(l);
	return 0;
}

static const char SQL_ARTIFACT_BY_ID[] = ARTIFACT_SELECT " WHERE a.id = ?1";

int mp_store_get_artifact(mp_store *st, int64_t id, mp_artifact *out, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_ARTIFACT_BY_ID, err);
	mp_artifact_list l;
	int rc;

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, id);
	rc = take_one(&l, out, collect_artifacts(st, s, &l, err));
	if (rc == MP_ENOTFOUND)
		return mp_error(err, rc, "no artifact %lld in '%s'", (long long)id, st->path);
	return rc;
}

#define ARTIFACT_FILTER                                   \
	" (?1 IS NULL OR t.name = ?1)"                    \
	" AND (?2 IS NULL OR p.name = ?2)"                \
	" AND (?4 OR a.state <> 'DELETED')"
static const char SQL_ARTIFACTS[] =
	ARTIFACT_SELECT " WHERE" ARTIFACT_FILTER " AND a.id < ?5 ORDER BY a.id DESC LIMIT ?6";
static const char SQL_ARTIFACTS_OF_RUN[] =
	ARTIFACT_SELECT " WHERE a.id IN (SELECT artifact_id FROM attribution WHERE context_id = ?3)"
	" AND" ARTIFACT_FILTER " AND a.id < ?5 ORDER BY a.id DESC LIMIT ?6";

int mp_store_list_artifacts(mp_store *st, const mp_artifact_filter *f,
			    mp_artifact_list *out, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, f->run_id ? SQL_ARTIFACTS_OF_RUN : SQL_ARTIFACTS, err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!s)
		return mp__code(err);
	if (f->type)
		sqlite3_bind_text(s, 1, f->type, -1, SQLITE_STATIC);
	if (f->pipeline)
		sqlite3_bind_text(s, 2, f->pipeline, -1, SQLITE_STATIC);
	if (f->run_id)
		sqlite3_bind_int64(s, 3, f->run_id);
	sqlite3_bind_int(s, 4, f->include_deleted != 0);
	sqlite3_bind_int64(s, 5, f->before_id > 0 ? f->before_id : INT64_MAX);
	sqlite3_bind_int64(s, 6, f->limit > 0 ? f->limit : -1);
	if ((rc = collect_artifacts(st, s, out, err)) == 0) /* read newest first; listed oldest first */
		mp_reverse(out->items, out->n, sizeof(*out->items));
	return rc;
}

static const char SQL_ARTIFACT_LATEST[] =
	ARTIFACT_SELECT " WHERE t.name = ?1 AND p.name = ?2 AND a.state = 'LIVE'"
	" AND (?3 IS NULL OR EXISTS (SELECT 1 FROM artifact_property ap"
	"   WHERE ap.artifact_id = a.id AND ap.name = ?3"
	"   AND ((?4 IS NOT NULL AND ap.int_value = ?4) OR (?5 IS NOT NULL AND ap.double_value = ?5)"
	"     OR (?6 IS NOT NULL AND ap.string_value = ?6))))"
	" ORDER BY a.id DESC LIMIT 1";

int mp_store_latest_artifact(mp_store *st, const char *pipeline, const char *type,
			     const mp_prop *prop, mp_artifact *out, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_ARTIFACT_LATEST, err);
	mp_artifact_list l;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!s)
		return mp__code(err);
	sqlite3_bind_text(s, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, pipeline, -1, SQLITE_STATIC);
	if (prop) {
		sqlite3_bind_text(s, 3, prop->name, -1, SQLITE_STATIC);
		if (prop->kind == MP_PROP_INT)
			sqlite3_bind_int64(s, 4, prop->i);
		else if (prop->kind == MP_PROP_DOUBLE)
			sqlite3_bind_double(s, 5, prop->d);
		else
			sqlite3_bind_text(s, 6, prop->s ? prop->s : "", -1, SQLITE_STATIC);
	}
	rc = take_one(&l, out, collect_artifacts(st, s, &l, err));
	if (rc == MP_ENOTFOUND)
		return mp_error(err, rc, "no %s artifact of pipeline '%s'%s%s", type, pipeline,
				prop ? " with property " : "", prop ? prop->name : "");
	return rc;
}

static const char SQL_GC_CANDIDATES[] =
	ARTIFACT_SELECT " WHERE a.state IN ('LIVE', 'MARKED_FOR_DELETION') AND a.create_time_ms < ?1"
	" AND t.name <> 'PushedModel'"
	" AND NOT EXISTS (SELECT 1 FROM event ev2 JOIN execution e2 ON e2.id = ev2.execution_id"
	"   JOIN type et ON et.id = e2.type_id"
	"   WHERE ev2.artifact_id = a.id AND ev2.type = 'INPUT'"
	"   AND ((et.name = 'Pusher' AND e2.state = 'COMPLETE') OR e2.state = 'RUNNING'))"
	" ORDER BY a.id";

int mp_store_gc_candidates(mp_store *st, int64_t cutoff_ms, mp_artifact_list *out,
			   mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_GC_CANDIDATES, err);

	memset(out, 0, sizeof(*out));
	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, cutoff_ms);
	return collect_artifacts(st, s, out, err);
}

/* ---- runs -------------------------------------------------------------- */

#define RUN_SELECT                                                                   \
	"SELECT r.id, r.name, p.name, r.state, r.create_time_ms, r.end_time_ms"          \
	" FROM context r"                                                                \
	" JOIN type rt ON rt.id = r.type_id AND rt.kind = 'context' AND rt.name = 'pipeline_run'" \
	" JOIN parent_context pc ON pc.context_id = r.id"                                \
	" JOIN context p ON p.id = pc.parent_context_id"

/* Counted per run, after the page of runs is chosen: as columns of the
 * query, they were counted for every run before ORDER BY ... LIMIT. */
static const char SQL_RUN_COUNTS[] =
	"SELECT e.state, count(*) FROM association x JOIN execution e ON e.id = x.execution_id"
	" WHERE x.context_id = ?1 GROUP BY e.state";

static const char SQL_RUNS[] =
	RUN_SELECT " WHERE (?1 IS NULL OR p.name = ?1) ORDER BY r.id DESC LIMIT ?2";
static const char SQL_RUN_BY_ID[] = RUN_SELECT " WHERE r.id = ?1";
static const char SQL_CONTEXT_PROPS[] =
	"SELECT name, int_value, double_value, string_value FROM context_property"
	" WHERE context_id = ?1 AND name NOT LIKE 'mlpipe.%' ORDER BY name";

void mp_run_release(mp_run *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->pipeline);
	free(r->state);
	mp__props_free(r->params, r->nparams);
	memset(r, 0, sizeof(*r));
}

void mp_run_list_release(mp_run_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		mp_run_release(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* Fills a run's counts of executions by state. */
static int count_executions(mp_store *st, mp_run *r, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_RUN_COUNTS, err);
	int step;

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, r->id);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 0);
		int n = sqlite3_column_int(s, 1);

		if (!state)
			continue;
		if (!strcmp(state, "COMPLETE"))
			r->executed = n;
		else if (!strcmp(state, "CACHED"))
			r->cached = n;
		else if (!strcmp(state, "FAILED"))
			r->failed = n;
		else if (!strcmp(state, "CANCELED"))
			r->canceled = n;
	}
	sqlite3_reset(s);
	return step == SQLITE_DONE ? 0 : mp__db_error(st, err, "count a run's executions");
}

static int collect_runs(mp_store *st, sqlite3_stmt *s, mp_run_list *out, mp_err *err)
{
	size_t alloc = 0, i;
	int step, rc = 0, began = mp__read_begin(st);

	memset(out, 0, sizeof(*out));
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		mp_run *r;
		int ok = 1;

		if (mp_grow((void **)&out->items, &alloc, out->n, sizeof(*out->items))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory listing runs");
			break;
		}
		r = &out->items[out->n++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(s, 0);
		r->name = mp__col_text(s, 1, &ok);
		r->pipeline = mp__col_text(s, 2, &ok);
		r->state = mp__col_text(s, 3, &ok);
		r->start_ms = sqlite3_column_int64(s, 4);
		r->end_ms = sqlite3_column_int64(s, 5);
		if (!ok) {
			rc = mp_error(err, MP_ENOMEM, "out of memory listing runs");
			break;
		}
	}
	if (!rc && step != SQLITE_DONE)
		rc = mp__db_error(st, err, "list runs");
	sqlite3_reset(s);
	for (i = 0; !rc && i < out->n; i++)
		if ((rc = count_executions(st, &out->items[i], err)) == 0)
			rc = mp__load_props(st, SQL_CONTEXT_PROPS, out->items[i].id,
					    &out->items[i].params, &out->items[i].nparams, err);
	mp__read_end(st, began);
	if (rc)
		mp_run_list_release(out);
	return rc;
}

int mp_store_list_runs(mp_store *st, const char *pipeline, int64_t limit,
		       mp_run_list *out, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_RUNS, err);

	memset(out, 0, sizeof(*out));
	if (!s)
		return mp__code(err);
	if (pipeline)
		sqlite3_bind_text(s, 1, pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
	return collect_runs(st, s, out, err);
}

static const char SQL_RUN_BY_NAME[] =
	"SELECT r.id FROM context r JOIN type t ON t.id = r.type_id"
	" WHERE t.kind = 'context' AND t.name = 'pipeline_run' AND r.name = ?1";

int mp_store_find_run(mp_store *st, const char *name, int64_t *id, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_RUN_BY_NAME, err);
	int step, rc = 0;

	if (!s)
		return mp__code(err);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else if (step == SQLITE_DONE)
		rc = mp_error(err, MP_ENOTFOUND, "no run named '%s' in '%s'", name, st->path);
	else
		rc = mp__db_error(st, err, "find the run");
	sqlite3_reset(s);
	return rc;
}

int mp_store_get_run(mp_store *st, int64_t id, const char *pipeline, mp_run *out,
		     mp_err *err)
{
	mp_run_list l;
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (id == 0) {
		rc = mp_store_list_runs(st, pipeline, 1, &l, err);
	} else {
		if (!(s = mp__stmt(st, SQL_RUN_BY_ID, err)))
			return mp__code(err);
		sqlite3_bind_int64(s, 1, id);
		rc = collect_runs(st, s, &l, err);
	}
	if (rc)
		return rc;
	if (l.n == 0) {
		mp_run_list_release(&l);
		if (id)
			return mp_error(err, MP_ENOTFOUND, "no run %lld in '%s'", (long long)id, st->path);
		return mp_error(err, MP_ENOTFOUND, "no runs%s%s in '%s'", pipeline ? " of pipeline " : "",
				pipeline ? pipeline : "", st->path);
	}
	*out = l.items[0];
	l.n = 0;
	mp_run_list_release(&l);
	return 0;
}

/* ---- executions -------------------------------------------------------- */

#define EXEC_SELECT                                                                    \
	"SELECT e.id, (SELECT x.context_id FROM association x"                           \
	"   JOIN parent_context pc ON pc.context_id = x.context_id"                      \
	"   WHERE x.execution_id = e.id LIMIT 1),"                                       \
	" e.component_id, t.name, e.state, e.cache_key, e.exit_reason, e.cached_from,"   \
	" e.start_time_ms, e.end_time_ms"                                                \
	" FROM execution e JOIN type t ON t.id = e.type_id"

static const char SQL_EXEC_BY_ID[] = EXEC_SELECT " WHERE e.id = ?1";
static const char SQL_EXECS_OF_RUN[] =
	EXEC_SELECT " WHERE e.id IN (SELECT execution_id FROM association WHERE context_id = ?1)"
	" ORDER BY e.id";
static const char SQL_EXEC_PROPS[] =
	"SELECT name, int_value, double_value, string_value FROM execution_property"
	" WHERE execution_id = ?1 AND name NOT LIKE 'mlpipe.%' ORDER BY name";
static const char SQL_EXEC_EVENTS[] =
	"SELECT ev.type, ev.name, ev.artifact_id, t.name, a.uri FROM event ev"
	" JOIN artifact a ON a.id = ev.artifact_id JOIN type t ON t.id = a.type_id"
	" WHERE ev.execution_id = ?1 ORDER BY ev.type, ev.id";
static const char SQL_EXEC_METRICS[] =
	"SELECT name, step, value FROM metric WHERE execution_id = ?1 ORDER BY name, step";

void mp_execution_release(mp_execution *e)
{
	size_t i;

	if (!e)
		return;
	free(e->component_id);
	free(e->type);
	free(e->state);
	free(e->cache_key);
	free(e->exit_reason);
	mp__props_free(e->params, e->nparams);
	for (i = 0; i < e->nevents; i++) {
		free(e->events[i].name);
		free(e->events[i].artifact_type);
		free(e->events[i].uri);
	}
	free(e->events);
	for (i = 0; i < e->nmetrics; i++)
		free(e->metrics[i].name);
	free(e->metrics);
	memset(e, 0, sizeof(*e));
}

void mp_execution_list_release(mp_execution_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		mp_execution_release(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static int load_events(mp_store *st, mp_execution *e, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_EXEC_EVENTS, err);
	size_t alloc = 0;
	int step, ok = 1;

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, e->id);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		mp_event_row *ev;

		if (mp_grow((void **)&e->events, &alloc, e->nevents, sizeof(*e->events))) {
			ok = 0;
			break;
		}
		ev = &e->events[e->nevents++];
		memset(ev, 0, sizeof(*ev));
		ev->is_output = strcmp((const char *)sqlite3_column_text(s, 0), "OUTPUT") == 0;
		ev->name = mp__col_text(s, 1, &ok);
		ev->artifact_id = sqlite3_column_int64(s, 2);
		ev->artifact_type = mp__col_text(s, 3, &ok);
		ev->uri = mp__col_text(s, 4, &ok);
		if (!ok)
			break;
	}
	sqlite3_reset(s);
	if (!ok)
		return mp_error(err, MP_ENOMEM, "out of memory reading events");
	if (step != SQLITE_DONE)
		return mp__db_error(st, err, "read events");
	return 0;
}

static int load_metrics(mp_store *st, mp_execution *e, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_EXEC_METRICS, err);
	size_t alloc = 0;
	int step, ok = 1;

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, e->cached_from ? e->cached_from : e->id);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		mp_metric_row *m;

		if (mp_grow((void **)&e->metrics, &alloc, e->nmetrics, sizeof(*e->metrics))) {
			ok = 0;
			break;
		}
		m = &e->metrics[e->nmetrics++];
		m->name = mp__col_text(s, 0, &ok);
		m->step = sqlite3_column_int64(s, 1);
		m->value = sqlite3_column_type(s, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 2);
		if (!ok)
			break;
	}
	sqlite3_reset(s);
	if (!ok)
		return mp_error(err, MP_ENOMEM, "out of memory reading metrics");
	if (step != SQLITE_DONE)
		return mp__db_error(st, err, "read metrics");
	return 0;
}

static int collect_executions(mp_store *st, sqlite3_stmt *s, mp_execution_list *out,
			      mp_err *err)
{
	size_t alloc = 0, i;
	int step, rc = 0, began = mp__read_begin(st);

	memset(out, 0, sizeof(*out));
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		mp_execution *e;
		int ok = 1;

		if (mp_grow((void **)&out->items, &alloc, out->n, sizeof(*out->items))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory listing executions");
			break;
		}
		e = &out->items[out->n++];
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(s, 0);
		e->run_id = sqlite3_column_int64(s, 1);
		e->component_id = mp__col_text(s, 2, &ok);
		e->type = mp__col_text(s, 3, &ok);
		e->state = mp__col_text(s, 4, &ok);
		e->cache_key = mp__col_text(s, 5, &ok);
		e->exit_reason = mp__col_text(s, 6, &ok);
		e->cached_from = sqlite3_column_int64(s, 7);
		e->start_ms = sqlite3_column_int64(s, 8);
		e->end_ms = sqlite3_column_int64(s, 9);
		if (!ok) {
			rc = mp_error(err, MP_ENOMEM, "out of memory listing executions");
			break;
		}
	}
	if (!rc && step != SQLITE_DONE)
		rc = mp__db_error(st, err, "list executions");
	sqlite3_reset(s);
	for (i = 0; !rc && i < out->n; i++) {
		mp_execution *e = &out->items[i];

		if ((rc = mp__load_props(st, SQL_EXEC_PROPS, e->id, &e->params, &e->nparams, err)) == 0 &&
		    (rc = load_events(st, e, err)) == 0)
			rc = load_metrics(st, e, err);
	}
	mp__read_end(st, began);
	if (rc)
		mp_execution_list_release(out);
	return rc;
}

int mp_store_get_execution(mp_store *st, int64_t id, mp_execution *out, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_EXEC_BY_ID, err);
	mp_execution_list l;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, id);
	if ((rc = collect_executions(st, s, &l, err)) != 0)
		return rc;
	if (l.n == 0) {
		mp_execution_list_release(&l);
		return mp_error(err, MP_ENOTFOUND, "no execution %lld in '%s'", (long long)id, st->path);
	}
	*out = l.items[0];
	l.n = 0;
	mp_execution_list_release(&l);
	return 0;
}

int mp_store_run_executions(mp_store *st, int64_t run_id, mp_execution_list *out,
			    mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_EXECS_OF_RUN, err);

	memset(out, 0, sizeof(*out));
	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, run_id);
	return collect_executions(st, s, out, err);
}

/* ---- metric history ---------------------------------------------------- */

/* From the association table, whose key (run, execution) is the order asked
 * for, so that SQLite walks it in order and stops at the LIMIT instead of
 * sorting every point in the store; CROSS JOIN keeps that join order. */
#define METRIC_HISTORY                                                                             \
	"SELECT r.id, m.execution_id, r.create_time_ms, p.name, e.component_id, m.name, m.step, m.value" \
	" FROM association x"                                                                      \
	" CROSS JOIN execution e ON e.id = x.execution_id"                                         \
	" CROSS JOIN parent_context pc ON pc.context_id = x.context_id"                            \
	" CROSS JOIN context r ON r.id = x.context_id"                                             \
	" CROSS JOIN context p ON p.id = pc.parent_context_id"                                     \
	" CROSS JOIN metric m ON m.execution_id = coalesce(e.cached_from, e.id)"                   \
	" WHERE e.state IN ('COMPLETE', 'CACHED')"                                                 \
	" AND (?1 IS NULL OR m.name = ?1) AND (?2 IS NULL OR p.name = ?2)"                         \
	" AND (?3 IS NULL OR e.component_id = ?3)"                                                 \
	" AND (?4 OR m.step = (SELECT CASE WHEN min(m2.step) = 0 THEN 0 ELSE max(m2.step) END"     \
	"   FROM metric m2 WHERE m2.execution_id = m.execution_id AND m2.name = m.name))"

static const char SQL_METRIC_HISTORY[] =
	METRIC_HISTORY " ORDER BY x.context_id, x.execution_id, m.name, m.step";
static const char SQL_METRIC_NEWEST[] =
	METRIC_HISTORY " ORDER BY x.context_id DESC, x.execution_id DESC, m.name DESC, m.step DESC LIMIT ?5";
/* A name no execution recorded would otherwise walk the whole store. */
static const char SQL_METRIC_NAMED[] = "SELECT 1 FROM metric WHERE name = ?1 LIMIT 1";

int mp_execution_metric_is_summary(const mp_execution *e, size_t i)
{
	size_t first = i;

	/* rows are ordered by name, then step */
	while (first > 0 && !strcmp(e->metrics[first - 1].name, e->metrics[i].name))
		first--;
	if (e->metrics[first].step == 0)
		return i == first;
	return i + 1 == e->nmetrics || strcmp(e->metrics[i + 1].name, e->metrics[i].name) != 0;
}

void mp_metric_history_release(mp_metric_history *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++) {
		free(h->items[i].pipeline);
		free(h->items[i].component_id);
		free(h->items[i].name);
	}
	free(h->items);
	memset(h, 0, sizeof(*h));
}

/* 1 when some execution recorded a metric of that name, 0 when none did,
 * or a negative MP_E*. */
static int metric_named(mp_store *st, const char *name, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_METRIC_NAMED, err);
	int step;

	if (!s)
		return mp__code(err);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	sqlite3_reset(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return mp__db_error(st, err, "read metrics");
	return step == SQLITE_ROW;
}

int mp_store_metric_history(mp_store *st, const mp_metric_filter *f,
			    mp_metric_history *out, mp_err *err)
{
	sqlite3_stmt *s;
	size_t alloc = 0;
	int step, ok = 1, rc = 0;

	memset(out, 0, sizeof(*out));
	if (f->name && (rc = metric_named(st, f->name, err)) <= 0)
		return rc; /* none of that name (0), or the error */
	rc = 0;
	if (!(s = mp__stmt(st, f->limit > 0 ? SQL_METRIC_NEWEST : SQL_METRIC_HISTORY, err)))
		return mp__code(err);
	if (f->limit > 0)
		sqlite3_bind_int64(s, 5, f->limit);
	if (f->name)
		sqlite3_bind_text(s, 1, f->name, -1, SQLITE_STATIC);
	if (f->pipeline)
		sqlite3_bind_text(s, 2, f->pipeline, -1, SQLITE_STATIC);
	if (f->component_id)
		sqlite3_bind_text(s, 3, f->component_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, f->all_steps != 0);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		mp_metric_point *p;

		if (mp_grow((void **)&out->items, &alloc, out->n, sizeof(*out->items))) {
			ok = 0;
			break;
		}
		p = &out->items[out->n++];
		memset(p, 0, sizeof(*p));
		p->run_id = sqlite3_column_int64(s, 0);
		p->execution_id = sqlite3_column_int64(s, 1);
		p->time_ms = sqlite3_column_int64(s, 2);
		p->pipeline = mp__col_text(s, 3, &ok);
		p->component_id = mp__col_text(s, 4, &ok);
		p->name = mp__col_text(s, 5, &ok);
		p->step = sqlite3_column_int64(s, 6);
		p->value = sqlite3_column_type(s, 7) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 7);
		if (!ok)
			break;
	}
	if (!ok)
		rc = mp_error(err, MP_ENOMEM, "out of memory reading metrics");
	else if (step != SQLITE_DONE)
		rc = mp__db_error(st, err, "read metrics");
	sqlite3_reset(s);
	if (rc) {
		mp_metric_history_release(out);
		return rc;
	}
	if (f->limit > 0) /* read newest first */
		mp_reverse(out->items, out->n, sizeof(*out->items));
	return 0;
}
