/* The store's queries: artifacts, runs, executions, metric history, lineage. */
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
	int step, rc = 0;

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
static const char SQL_ARTIFACTS[] = ARTIFACT_SELECT " WHERE" ARTIFACT_FILTER " ORDER BY a.id";
static const char SQL_ARTIFACTS_OF_RUN[] =
	ARTIFACT_SELECT " WHERE a.id IN (SELECT artifact_id FROM attribution WHERE context_id = ?3)"
	" AND" ARTIFACT_FILTER " ORDER BY a.id";

int mp_store_list_artifacts(mp_store *st, const mp_artifact_filter *f,
			    mp_artifact_list *out, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, f->run_id ? SQL_ARTIFACTS_OF_RUN : SQL_ARTIFACTS, err);

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
	return collect_artifacts(st, s, out, err);
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

#define RUN_COUNT(state)                                                             \
	" (SELECT count(*) FROM association x JOIN execution e ON e.id = x.execution_id" \
	"   WHERE x.context_id = r.id AND e.state = '" state "')"
#define RUN_SELECT                                                                   \
	"SELECT r.id, r.name, p.name, r.state, r.create_time_ms, r.end_time_ms,"         \
	RUN_COUNT("COMPLETE") "," RUN_COUNT("CACHED") "," RUN_COUNT("FAILED") ","        \
	RUN_COUNT("CANCELED")                                                            \
	" FROM context r"                                                                \
	" JOIN type rt ON rt.id = r.type_id AND rt.kind = 'context' AND rt.name = 'pipeline_run'" \
	" JOIN parent_context pc ON pc.context_id = r.id"                                \
	" JOIN context p ON p.id = pc.parent_context_id"

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

static int collect_runs(mp_store *st, sqlite3_stmt *s, mp_run_list *out, mp_err *err)
{
	size_t alloc = 0, i;
	int step, rc = 0;

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
		r->executed = sqlite3_column_int(s, 6);
		r->cached = sqlite3_column_int(s, 7);
		r->failed = sqlite3_column_int(s, 8);
		r->canceled = sqlite3_column_int(s, 9);
		if (!ok) {
			rc = mp_error(err, MP_ENOMEM, "out of memory listing runs");
			break;
		}
	}
	if (!rc && step != SQLITE_DONE)
		rc = mp__db_error(st, err, "list runs");
	sqlite3_reset(s);
	for (i = 0; !rc && i < out->n; i++)
		rc = mp__load_props(st, SQL_CONTEXT_PROPS, out->items[i].id,
				    &out->items[i].params, &out->items[i].nparams, err);
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
	int step, rc = 0;

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

static const char SQL_METRIC_HISTORY[] =
	"SELECT r.id, m.execution_id, r.create_time_ms, p.name, e.component_id, m.name, m.step, m.value"
	" FROM execution e"
	" JOIN association x ON x.execution_id = e.id"
	" JOIN parent_context pc ON pc.context_id = x.context_id"
	" JOIN context r ON r.id = x.context_id"
	" JOIN context p ON p.id = pc.parent_context_id"
	" JOIN metric m ON m.execution_id = coalesce(e.cached_from, e.id)"
	" WHERE e.state IN ('COMPLETE', 'CACHED')"
	" AND (?1 IS NULL OR m.name = ?1) AND (?2 IS NULL OR p.name = ?2)"
	" AND (?3 IS NULL OR e.component_id = ?3)"
	" AND (?4 OR m.step = (SELECT CASE WHEN min(m2.step) = 0 THEN 0 ELSE max(m2.step) END FROM metric m2"
	"   WHERE m2.execution_id = m.execution_id AND m2.name = m.name))"
	" ORDER BY r.id, e.id, m.name, m.step";

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

int mp_store_metric_history(mp_store *st, const mp_metric_filter *f,
			    mp_metric_history *out, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_METRIC_HISTORY, err);
	size_t alloc = 0;
	int step, ok = 1, rc = 0;

	memset(out, 0, sizeof(*out));
	if (!s)
		return mp__code(err);
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
	if (rc)
		mp_metric_history_release(out);
	return rc;
}

/* ---- lineage ----------------------------------------------------------- */

/* Neighbours of a node: executions of an artifact (producers going up,
 * consumers going down) or artifacts of an execution (inputs up, outputs
 * down).  ?2 is the event type to follow. */
static const char SQL_ARTIFACT_EXECS[] =
	"SELECT e.id, e.component_id, t.name, e.state, ev.name FROM event ev"
	" JOIN execution e ON e.id = ev.execution_id JOIN type t ON t.id = e.type_id"
	" WHERE ev.artifact_id = ?1 AND ev.type = ?2"
	" AND (?2 = 'INPUT' OR e.state = 'COMPLETE') ORDER BY e.id";
static const char SQL_EXEC_ARTIFACTS[] =
	"SELECT a.id, t.name, a.uri, a.state, ev.name FROM event ev"
	" JOIN artifact a ON a.id = ev.artifact_id JOIN type t ON t.id = a.type_id"
	" WHERE ev.execution_id = ?1 AND ev.type = ?2 ORDER BY ev.id";
static const char SQL_LINEAGE_ROOT[] =
	"SELECT a.id, t.name, a.uri, a.state, NULL FROM artifact a"
	" JOIN type t ON t.id = a.type_id WHERE a.id = ?1";

typedef struct lineage_walk {
	mp_store *st;
	mp_lineage *out;
	size_t alloc;
	mp_lineage_dir dir;
	int max_depth;
	int64_t *seen; /* open addressing: key = id * 2 + is_execution, 0 empty */
	size_t seen_cap, seen_n;
	mp_err *err;
} lineage_walk;

void mp_lineage_release(mp_lineage *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->items[i].label);
		free(l->items[i].detail);
		free(l->items[i].state);
		free(l->items[i].via);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* Adds key to the seen set; returns 1 if it was there, <0 on no memory. */
static int seen_add(lineage_walk *w, int64_t key)
{
	size_t i;

	if ((w->seen_n + 1) * 2 > w->seen_cap) {
		size_t cap = w->seen_cap ? w->seen_cap * 2 : 64, j;
		int64_t *n = mp_calloc(cap, sizeof(*n));

		if (!n)
			return MP_ENOMEM;
		for (j = 0; j < w->seen_cap; j++)
			if (w->seen[j]) {
				size_t k = (size_t)((uint64_t)w->seen[j] * 0x9E3779B97F4A7C15ull) & (cap - 1);

				while (n[k])
					k = (k + 1) & (cap - 1);
				n[k] = w->seen[j];
			}
		free(w->seen);
		w->seen = n;
		w->seen_cap = cap;
	}
	i = (size_t)((uint64_t)key * 0x9E3779B97F4A7C15ull) & (w->seen_cap - 1);
	while (w->seen[i]) {
		if (w->seen[i] == key)
			return 1;
		i = (i + 1) & (w->seen_cap - 1);
	}
	w->seen[i] = key;
	w->seen_n++;
	return 0;
}

/* Reads the neighbours of one node into nodes[first..] of the output (each
 * at depth), before any recursion reuses the cached statement. */
static int read_neighbours(lineage_walk *w, const char *sql, int64_t id, const char *event,
			   int is_execution, int depth)
{
	sqlite3_stmt *s = mp__stmt(w->st, sql, w->err);
	int step, ok = 1;

	if (!s)
		return mp__code(w->err);
	sqlite3_bind_int64(s, 1, id);
	if (event)
		sqlite3_bind_text(s, 2, event, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		mp_lineage_node *n;

		if (mp_grow((void **)&w->out->items, &w->alloc, w->out->n, sizeof(*n))) {
			ok = 0;
			break;
		}
		n = &w->out->items[w->out->n++];
		memset(n, 0, sizeof(*n));
		n->depth = depth;
		n->is_execution = is_execution;
		n->id = sqlite3_column_int64(s, 0);
		n->label = mp__col_text(s, 1, &ok);
		n->detail = mp__col_text(s, 2, &ok);
		n->state = mp__col_text(s, 3, &ok);
		n->via = mp__col_text(s, 4, &ok);
		if (!ok)
			break;
	}
	sqlite3_reset(s);
	if (!ok)
		return mp_error(w->err, MP_ENOMEM, "out of memory tracing lineage");
	if (step != SQLITE_DONE)
		return mp__db_error(w->st, w->err, "trace lineage");
	return 0;
}

/* Expands node index i: appends its children, then moves each child's
 * subtree directly after it so the output stays in depth-first order. */
static int expand(lineage_walk *w, size_t i)
{
	mp_lineage_node node = w->out->items[i];
	const char *sql = node.is_execution ? SQL_EXEC_ARTIFACTS : SQL_ARTIFACT_EXECS;
	const char *event = (w->dir == MP_LINEAGE_UP) == !node.is_execution ? "OUTPUT" : "INPUT";
	size_t first, nchildren, c;
	mp_lineage_node *children;
	int rc;

	if (w->max_depth && node.depth >= w->max_depth)
		return 0;
	first = w->out->n;
	if ((rc = read_neighbours(w, sql, node.id, event, !node.is_execution, node.depth + 1)) != 0)
		return rc;
	nchildren = w->out->n - first;
	if (nchildren == 0)
		return 0;
	/* Take the children out, then put each back followed by its subtree. */
	if (!(children = mp_malloc(nchildren * sizeof(*children))))
		return mp_error(w->err, MP_ENOMEM, "out of memory tracing lineage");
	memcpy(children, &w->out->items[first], nchildren * sizeof(*children));
	w->out->n = first;
	for (c = 0; c < nchildren; c++) {
		int seen = seen_add(w, children[c].id * 2 + children[c].is_execution);
		size_t at = w->out->n;

		if (seen < 0 || mp_grow((void **)&w->out->items, &w->alloc, w->out->n, sizeof(*children))) {
			rc = mp_error(w->err, MP_ENOMEM, "out of memory tracing lineage");
			break;
		}
		w->out->items[w->out->n++] = children[c];
		children[c].label = children[c].detail = children[c].state = children[c].via = NULL;
		w->out->items[at].repeated = seen;
		if (!seen && (rc = expand(w, at)) != 0)
			break;
	}
	for (; c < nchildren; c++) {
		free(children[c].label);
		free(children[c].detail);
		free(children[c].state);
		free(children[c].via);
	}
	free(children);
	return rc;
}

int mp_store_lineage(mp_store *st, int64_t artifact_id, mp_lineage_dir dir,
		     int max_depth, mp_lineage *out, mp_err *err)
{
	lineage_walk w = {st, out, 0, dir, max_depth, NULL, 0, 0, err};
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = read_neighbours(&w, SQL_LINEAGE_ROOT, artifact_id, NULL, 0, 0)) != 0)
		goto out;
	if (out->n == 0) {
		rc = mp_error(err, MP_ENOTFOUND, "no artifact %lld in '%s'", (long long)artifact_id, st->path);
		goto out;
	}
	if ((rc = seen_add(&w, artifact_id * 2)) < 0)
		rc = mp_error(err, MP_ENOMEM, "out of memory tracing lineage");
	else
		rc = expand(&w, 0);
out:
	free(w.seen);
	if (rc)
		mp_lineage_release(out);
	return rc;
}
