/* Recording: runs, executions, their events, artifacts and metrics, each
 * step in one transaction (see store.h). */
#include "metadata/store_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const type_kind_names[] = {"artifact", "execution", "context"};

/* ---- recording --------------------------------------------------------- */

static const char SQL_TYPE_INSERT[] =
	"INSERT INTO type (kind, name, version) VALUES (?1, ?2, ?3)"
	" ON CONFLICT (kind, name) DO NOTHING";
static const char SQL_TYPE_SELECT[] = "SELECT id FROM type WHERE kind = ?1 AND name = ?2";

/* Runs outside any transaction so a rollback never leaves a stale cache. */
int mp_store_register_type(mp_store *st, mp_type_kind kind, const char *name,
			   const char *version, int64_t *id, mp_err *err)
{
	sqlite3_stmt *s;
	char *copy;
	int i, rc = 0;

	if (!name || !*name)
		return mp_error(err, MP_EINVAL, "a type needs a name");
	for (i = 0; i < st->ntypes; i++)
		if (st->types[i].kind == kind && strcmp(st->types[i].name, name) == 0) {
			*id = st->types[i].id;
			return 0;
		}
	if (!(s = mp__stmt(st, SQL_TYPE_INSERT, err)))
		return mp__code(err);
	sqlite3_bind_text(s, 1, type_kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	if (version)
		sqlite3_bind_text(s, 3, version, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = mp__db_error(st, err, "register a type");
	sqlite3_reset(s);
	if (rc)
		return rc;
	if (!(s = mp__stmt(st, SQL_TYPE_SELECT, err)))
		return mp__code(err);
	sqlite3_bind_text(s, 1, type_kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else
		rc = mp__db_error(st, err, "register a type");
	sqlite3_reset(s);
	if (rc == 0 && st->ntypes < MP__TYPE_CACHE && (copy = mp_strdup(name))) {
		st->types[st->ntypes].kind = kind;
		st->types[st->ntypes].name = copy;
		st->types[st->ntypes].id = *id;
		st->ntypes++;
	}
	return rc;
}

static const char SQL_ARTIFACT_PROP[] =
	"INSERT OR REPLACE INTO artifact_property (artifact_id, name, int_value, double_value, string_value)"
	" VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_EXECUTION_PROP[] =
	"INSERT OR REPLACE INTO execution_property (execution_id, name, int_value, double_value, string_value)"
	" VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_CONTEXT_PROP[] =
	"INSERT OR REPLACE INTO context_property (context_id, name, int_value, double_value, string_value)"
	" VALUES (?1, ?2, ?3, ?4, ?5)";

static int insert_props(mp_store *st, const char *sql, int64_t owner,
			const mp_prop *props, size_t n, mp_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		sqlite3_stmt *s = mp__stmt(st, sql, err);
		int rc = 0;

		if (!s)
			return mp__code(err);
		if (!props[i].name || !*props[i].name)
			return mp_error(err, MP_EINVAL, "a property needs a name");
		sqlite3_bind_int64(s, 1, owner);
		sqlite3_bind_text(s, 2, props[i].name, -1, SQLITE_STATIC);
		switch (props[i].kind) {
		case MP_PROP_INT: sqlite3_bind_int64(s, 3, props[i].i); break;
		case MP_PROP_DOUBLE: sqlite3_bind_double(s, 4, props[i].d); break;
		case MP_PROP_STRING: sqlite3_bind_text(s, 5, props[i].s ? props[i].s : "", -1, SQLITE_STATIC); break;
		}
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = mp__db_error(st, err, "record a property");
		sqlite3_reset(s);
		if (rc)
			return rc;
	}
	return 0;
}

/* Runs one statement that returns no rows; binds are (int64...) then text. */
static int run_stmt(mp_store *st, sqlite3_stmt *s, const char *what, mp_err *err)
{
	int rc = 0;

	if (sqlite3_step(s) != SQLITE_DONE)
		rc = mp__db_error(st, err, what);
	sqlite3_reset(s);
	return rc;
}

static const char SQL_CONTEXT_UPSERT[] =
	"INSERT INTO context (type_id, name, create_time_ms, update_time_ms) VALUES (?1, ?2, ?3, ?3)"
	" ON CONFLICT (type_id, name) DO UPDATE SET update_time_ms = excluded.update_time_ms";
static const char SQL_CONTEXT_ID[] = "SELECT id FROM context WHERE type_id = ?1 AND name = ?2";
static const char SQL_RUN_INSERT[] =
	"INSERT INTO context (type_id, name, state, create_time_ms, update_time_ms) VALUES (?1, ?2, 'RUNNING', ?3, ?3)";
static const char SQL_RUN_COUNT[] =
	"SELECT count(*) FROM parent_context WHERE parent_context_id = ?1";
static const char SQL_PARENT_INSERT[] =
	"INSERT INTO parent_context (context_id, parent_context_id) VALUES (?1, ?2)";

int mp_store_begin_run(mp_store *st, const char *pipeline, const char *root,
		       const mp_prop *params, size_t nparams, int64_t *run_id,
		       mp_err *err)
{
	int64_t ptype, rtype, pid = 0, rid, now = mp__now(st);
	char name[256];
	sqlite3_stmt *s;
	int rc;

	if (!pipeline || !*pipeline)
		return mp_error(err, MP_EINVAL, "a run needs a pipeline name");
	if ((rc = mp_store_register_type(st, MP_TYPE_CONTEXT, "pipeline", NULL, &ptype, err)) ||
	    (rc = mp_store_register_type(st, MP_TYPE_CONTEXT, "pipeline_run", NULL, &rtype, err)))
		return rc;
	if ((rc = mp__begin(st, err)) != 0)
		return rc;
	if (!(s = mp__stmt(st, SQL_CONTEXT_UPSERT, err)))
		goto fail_code;
	sqlite3_bind_int64(s, 1, ptype);
	sqlite3_bind_text(s, 2, pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	if ((rc = run_stmt(st, s, "record the pipeline", err)) != 0)
		goto fail;
	if (!(s = mp__stmt(st, SQL_CONTEXT_ID, err)))
		goto fail_code;
	sqlite3_bind_int64(s, 1, ptype);
	sqlite3_bind_text(s, 2, pipeline, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		pid = sqlite3_column_int64(s, 0);
	else
		rc = mp__db_error(st, err, "record the pipeline");
	sqlite3_reset(s);
	if (rc)
		goto fail;
	if (root) {
		mp_prop p = MP_PROP_S("root", root);

		if ((rc = insert_props(st, SQL_CONTEXT_PROP, pid, &p, 1, err)) != 0)
			goto fail;
	}
	/* "demo#3": the pipeline's third run.  Counted inside the write lock, so
	 * unique; '#' cannot appear in a pipeline name. */
	if (!(s = mp__stmt(st, SQL_RUN_COUNT, err)))
		goto fail_code;
	sqlite3_bind_int64(s, 1, pid);
	if (sqlite3_step(s) == SQLITE_ROW)
		snprintf(name, sizeof(name), "%s#%lld", pipeline, (long long)sqlite3_column_int64(s, 0) + 1);
	else
		rc = mp__db_error(st, err, "count runs");
	sqlite3_reset(s);
	if (rc)
		goto fail;
	if (!(s = mp__stmt(st, SQL_RUN_INSERT, err)))
		goto fail_code;
	sqlite3_bind_int64(s, 1, rtype);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	if ((rc = run_stmt(st, s, "record the run", err)) != 0)
		goto fail;
	rid = sqlite3_last_insert_rowid(st->db);
	if (!(s = mp__stmt(st, SQL_PARENT_INSERT, err)))
		goto fail_code;
	sqlite3_bind_int64(s, 1, rid);
	sqlite3_bind_int64(s, 2, pid);
	if ((rc = run_stmt(st, s, "record the run", err)) != 0 ||
	    (rc = insert_props(st, SQL_CONTEXT_PROP, rid, params, nparams, err)) != 0 ||
	    (rc = mp__commit(st, err)) != 0)
		goto fail;
	*run_id = rid;
	return 0;
fail_code:
	rc = mp__code(err);
fail:
	mp__rollback(st);
	return rc;
}

static const char SQL_RUN_END[] =
	"UPDATE context SET state = ?2, end_time_ms = ?3, update_time_ms = ?3"
	" WHERE id = ?1 AND type_id = (SELECT id FROM type WHERE kind = 'context' AND name = 'pipeline_run')";

int mp_store_end_run(mp_store *st, int64_t run_id, mp_exec_state state, mp_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (state != MP_EXEC_COMPLETE && state != MP_EXEC_FAILED && state != MP_EXEC_CANCELED)
		return mp_error(err, MP_EINVAL, "a run cannot end as %s", mp_exec_state_name(state));
	if (!(s = mp__stmt(st, SQL_RUN_END, err)))
		return mp__code(err);
	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_text(s, 2, mp_exec_state_name(state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, mp__now(st));
	if ((rc = run_stmt(st, s, "end the run", err)) != 0)
		return rc;
	if (sqlite3_changes(st->db) != 1)
		return mp_error(err, MP_ENOTFOUND, "no run %lld in '%s'", (long long)run_id, st->path);
	return 0;
}

int mp_store_set_run_owner(mp_store *st, int64_t run_id, int64_t pid, const char *host,
			   mp_err *err)
{
	mp_prop props[] = {MP_PROP_I("mlpipe.pid", pid), MP_PROP_S("mlpipe.host", host)};
	int rc;

	if ((rc = mp__begin(st, err)) != 0)
		return rc;
	if ((rc = insert_props(st, SQL_CONTEXT_PROP, run_id, props, 2, err)) != 0 ||
	    (rc = mp__commit(st, err)) != 0)
		mp__rollback(st);
	return rc;
}

int mp_store_set_execution_job(mp_store *st, int64_t exec_id, const char *executor, const char *job_id,
			       mp_err *err)
{
	mp_prop props[] = {MP_PROP_S("mlpipe.executor", executor), MP_PROP_S("mlpipe.job_id", job_id)};
	int rc;

	if ((rc = mp__begin(st, err)) != 0)
		return rc;
	if ((rc = insert_props(st, SQL_EXECUTION_PROP, exec_id, props, 2, err)) != 0 ||
	    (rc = mp__commit(st, err)) != 0)
		mp__rollback(st);
	return rc;
}

static const char SQL_EXEC_JOB[] =
	"SELECT name, string_value FROM execution_property"
	" WHERE execution_id = ?1 AND name IN ('mlpipe.executor', 'mlpipe.job_id')";

int mp_store_get_execution_job(mp_store *st, int64_t exec_id, char *executor, size_t esz, char *job_id,
			       size_t jsz, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_EXEC_JOB, err);
	int step, found = 0;

	executor[0] = job_id[0] = '\0';
	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, exec_id);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		const char *v = (const char *)sqlite3_column_text(s, 1);

		if (name && v && !strcmp(name, "mlpipe.executor"))
			snprintf(executor, esz, "%s", v);
		else if (name && v)
			snprintf(job_id, jsz, "%s", v);
		found = 1;
	}
	sqlite3_reset(s);
	if (step != SQLITE_DONE)
		return mp__db_error(st, err, "read an execution's job");
	return found && *executor && *job_id ? 0 : MP_ENOTFOUND;
}

static const char SQL_RUN_OWNER[] =
	"SELECT name, int_value, string_value FROM context_property"
	" WHERE context_id = ?1 AND name IN ('mlpipe.pid', 'mlpipe.host')";

int mp_store_get_run_owner(mp_store *st, int64_t run_id, int64_t *pid, char *host,
			   size_t hostsz, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_RUN_OWNER, err);
	int step;

	*pid = 0;
	if (hostsz)
		host[0] = '\0';
	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, run_id);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (strcmp((const char *)sqlite3_column_text(s, 0), "mlpipe.pid") == 0)
			*pid = sqlite3_column_int64(s, 1);
		else if (sqlite3_column_text(s, 2))
			snprintf(host, hostsz, "%s", (const char *)sqlite3_column_text(s, 2));
	}
	sqlite3_reset(s);
	return step == SQLITE_DONE ? 0 : mp__db_error(st, err, "read the run's owner");
}

static const char SQL_RUN_CONFIG[] =
	"SELECT string_value FROM context_property WHERE context_id = ?1 AND name = 'mlpipe.' || ?2";

int mp_store_get_run_config(mp_store *st, int64_t run_id, const char *name, char **value,
			    mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_RUN_CONFIG, err);
	int step, rc = 0;

	*value = NULL;
	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(s, 0);

		if (!(*value = mp_strdup(v ? v : "")))
			rc = mp_error(err, MP_ENOMEM, "out of memory");
	} else if (step == SQLITE_DONE) {
		rc = MP_ENOTFOUND;
		mp_error(err, MP_ENOTFOUND, "run %lld recorded no %s", (long long)run_id, name);
	} else {
		rc = mp__db_error(st, err, "read the run's configuration");
	}
	sqlite3_reset(s);
	return rc;
}

static const char SQL_RUN_REOPEN[] =
	"UPDATE context SET state = 'RUNNING', end_time_ms = NULL, update_time_ms = ?2"
	" WHERE id = ?1 AND state IS NOT NULL";

int mp_store_reopen_run(mp_store *st, int64_t run_id, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_RUN_REOPEN, err);
	int rc;

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_int64(s, 2, mp__now(st));
	if ((rc = run_stmt(st, s, "reopen the run", err)) != 0)
		return rc;
	if (sqlite3_changes(st->db) != 1)
		return mp_error(err, MP_ENOTFOUND, "no run %lld in '%s'", (long long)run_id, st->path);
	return 0;
}

static const char SQL_FAIL_RUNNING[] =
	"UPDATE execution SET state = 'FAILED', exit_reason = ?2, end_time_ms = ?3, update_time_ms = ?3"
	" WHERE state = 'RUNNING' AND id IN (SELECT execution_id FROM association WHERE context_id = ?1)";

int mp_store_fail_running(mp_store *st, int64_t run_id, const char *reason, int *n,
			  mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_FAIL_RUNNING, err);
	int rc;

	if (n)
		*n = 0;
	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_text(s, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, mp__now(st));
	if ((rc = run_stmt(st, s, "mark stale executions", err)) != 0)
		return rc;
	if (n)
		*n = sqlite3_changes(st->db);
	return 0;
}

static const char SQL_RUN_PIPELINE[] =
	"SELECT pc.parent_context_id, r.state FROM context r"
	" JOIN parent_context pc ON pc.context_id = r.id WHERE r.id = ?1";

/* The pipeline context of a RUNNING run. */
static int running_run(mp_store *st, int64_t run_id, int64_t *pipeline_id, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_RUN_PIPELINE, err);
	int rc = 0, step;

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, run_id);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 1);

		*pipeline_id = sqlite3_column_int64(s, 0);
		if (!state || strcmp(state, "RUNNING") != 0)
			rc = mp_error(err, MP_EINVAL, "run %lld has ended (%s)", (long long)run_id,
				      state ? state : "no state");
	} else if (step == SQLITE_DONE) {
		rc = mp_error(err, MP_ENOTFOUND, "no run %lld in '%s'", (long long)run_id, st->path);
	} else {
		rc = mp__db_error(st, err, "find the run");
	}
	sqlite3_reset(s);
	return rc;
}

static const char SQL_EXEC_INSERT[] =
	"INSERT INTO execution (type_id, component_id, state, cache_key, cached_from,"
	" start_time_ms, end_time_ms, create_time_ms, update_time_ms)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?6)";
static const char SQL_EVENT_INSERT[] =
	"INSERT INTO event (artifact_id, execution_id, type, name, time_ms) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_ASSOCIATION_INSERT[] =
	"INSERT OR IGNORE INTO association (context_id, execution_id) VALUES (?1, ?2)";
static const char SQL_ATTRIBUTION_INSERT[] =
	"INSERT OR IGNORE INTO attribution (context_id, artifact_id) VALUES (?1, ?2)";
static const char SQL_ARTIFACT_EXISTS[] = "SELECT state FROM artifact WHERE id = ?1";

static int link2(mp_store *st, const char *sql, int64_t a, int64_t b, const char *what, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, sql, err);

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, a);
	sqlite3_bind_int64(s, 2, b);
	return run_stmt(st, s, what, err);
}

static int add_event(mp_store *st, int64_t artifact, int64_t exec, int output,
		     const char *name, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_EVENT_INSERT, err);

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, artifact);
	sqlite3_bind_int64(s, 2, exec);
	sqlite3_bind_text(s, 3, output ? "OUTPUT" : "INPUT", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, mp__now(st));
	return run_stmt(st, s, "record an event", err);
}

/* Inserts the execution row, its params, INPUT events and context links. */
static int insert_execution(mp_store *st, const mp_exec_spec *spec, int64_t type_id,
			    int64_t pipeline_id, mp_exec_state state, int64_t cached_from,
			    int64_t *exec_id, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_EXEC_INSERT, err);
	int64_t now = mp__now(st), id;
	size_t i;
	int rc;

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, type_id);
	sqlite3_bind_text(s, 2, spec->component_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, mp_exec_state_name(state), -1, SQLITE_STATIC);
	if (spec->cache_key)
		sqlite3_bind_text(s, 4, spec->cache_key, -1, SQLITE_STATIC);
	if (cached_from)
		sqlite3_bind_int64(s, 5, cached_from);
	sqlite3_bind_int64(s, 6, now);
	if (state == MP_EXEC_CACHED)
		sqlite3_bind_int64(s, 7, now);
	if ((rc = run_stmt(st, s, "record the execution", err)) != 0)
		return rc;
	id = sqlite3_last_insert_rowid(st->db);
	if ((rc = insert_props(st, SQL_EXECUTION_PROP, id, spec->params, spec->nparams, err)) != 0)
		return rc;
	for (i = 0; i < spec->ninputs; i++) {
		const mp_input *in = &spec->inputs[i];
		int step;

		if (!(s = mp__stmt(st, SQL_ARTIFACT_EXISTS, err)))
			return mp__code(err);
		sqlite3_bind_int64(s, 1, in->artifact_id);
		step = sqlite3_step(s);
		sqlite3_reset(s);
		if (step == SQLITE_DONE)
			return mp_error(err, MP_ENOTFOUND, "input '%s' of '%s': no artifact %lld",
					in->name, spec->component_id, (long long)in->artifact_id);
		if (step != SQLITE_ROW)
			return mp__db_error(st, err, "find an input artifact");
		if ((rc = add_event(st, in->artifact_id, id, 0, in->name, err)) != 0 ||
		    (rc = link2(st, SQL_ATTRIBUTION_INSERT, spec->run_id, in->artifact_id, "record an attribution", err)) != 0)
			return rc;
	}
	if ((rc = link2(st, SQL_ASSOCIATION_INSERT, spec->run_id, id, "record an association", err)) != 0 ||
	    (rc = link2(st, SQL_ASSOCIATION_INSERT, pipeline_id, id, "record an association", err)) != 0)
		return rc;
	*exec_id = id;
	return 0;
}

static int check_spec(const mp_exec_spec *spec, mp_err *err)
{
	if (!spec->component_id || !*spec->component_id)
		return mp_error(err, MP_EINVAL, "an execution needs a component id");
	if (!spec->component_type || !*spec->component_type)
		return mp_error(err, MP_EINVAL, "execution of '%s' needs a component type", spec->component_id);
	return 0;
}

int mp_store_begin_execution(mp_store *st, const mp_exec_spec *spec,
			     int64_t *exec_id, mp_err *err)
{
	int64_t type_id, pid;
	int rc;

	if ((rc = check_spec(spec, err)) != 0 ||
	    (rc = mp_store_register_type(st, MP_TYPE_EXECUTION, spec->component_type, NULL, &type_id, err)) != 0 ||
	    (rc = mp__begin(st, err)) != 0)
		return rc;
	if ((rc = running_run(st, spec->run_id, &pid, err)) != 0 ||
	    (rc = insert_execution(st, spec, type_id, pid, MP_EXEC_RUNNING, 0, exec_id, err)) != 0 ||
	    (rc = mp__commit(st, err)) != 0) {
		mp__rollback(st);
		return rc;
	}
	return 0;
}

static const char SQL_EXEC_CONTEXTS[] =
	"SELECT e.state, a.context_id, pc.parent_context_id FROM execution e"
	" JOIN association a ON a.execution_id = e.id"
	" JOIN parent_context pc ON pc.context_id = a.context_id"
	" WHERE e.id = ?1";

/* The state of an execution and the run and pipeline it belongs to. */
static int exec_contexts(mp_store *st, int64_t exec_id, char *state, size_t n,
			 int64_t *run_id, int64_t *pipeline_id, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_EXEC_CONTEXTS, err);
	int step, rc = 0;

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, exec_id);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		snprintf(state, n, "%s", (const char *)sqlite3_column_text(s, 0));
		*run_id = sqlite3_column_int64(s, 1);
		*pipeline_id = sqlite3_column_int64(s, 2);
	} else if (step == SQLITE_DONE) {
		rc = mp_error(err, MP_ENOTFOUND, "no execution %lld in '%s'", (long long)exec_id, st->path);
	} else {
		rc = mp__db_error(st, err, "find the execution");
	}
	sqlite3_reset(s);
	return rc;
}

static const char SQL_EXEC_FINISH[] =
	"UPDATE execution SET state = ?2, exit_reason = ?3, end_time_ms = ?4, update_time_ms = ?4 WHERE id = ?1";
static const char SQL_ARTIFACT_INSERT[] =
	"INSERT INTO artifact (type_id, uri, state, fingerprint, create_time_ms, update_time_ms)"
	" VALUES (?1, ?2, 'LIVE', ?3, ?4, ?4)";
static const char SQL_METRIC_UPSERT[] =
	"INSERT INTO metric (execution_id, name, step, value) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT (execution_id, name, step) DO UPDATE SET value = excluded.value";

static int insert_metric(mp_store *st, int64_t exec_id, const mp_metric *m, mp_err *err)
{
	sqlite3_stmt *s;

	if (!m->name || !*m->name)
		return mp_error(err, MP_EINVAL, "a metric needs a name");
	if (!(s = mp__stmt(st, SQL_METRIC_UPSERT, err)))
		return mp__code(err);
	sqlite3_bind_int64(s, 1, exec_id);
	sqlite3_bind_text(s, 2, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, m->step);
	if (!isnan(m->value))
		sqlite3_bind_double(s, 4, m->value);
	return run_stmt(st, s, "record a metric", err);
}

static int insert_output(mp_store *st, int64_t exec_id, int64_t run_id, int64_t pipeline_id,
			 int64_t type_id, mp_output *o, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_ARTIFACT_INSERT, err);
	int rc;

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, type_id);
	sqlite3_bind_text(s, 2, o->uri, -1, SQLITE_STATIC);
	if (o->fingerprint)
		sqlite3_bind_text(s, 3, o->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, mp__now(st));
	if ((rc = run_stmt(st, s, "record an artifact", err)) != 0)
		return rc;
	o->id = sqlite3_last_insert_rowid(st->db);
	if ((rc = insert_props(st, SQL_ARTIFACT_PROP, o->id, o->props, o->nprops, err)) != 0 ||
	    (rc = add_event(st, o->id, exec_id, 1, o->name, err)) != 0 ||
	    (rc = link2(st, SQL_ATTRIBUTION_INSERT, run_id, o->id, "record an attribution", err)) != 0 ||
	    (rc = link2(st, SQL_ATTRIBUTION_INSERT, pipeline_id, o->id, "record an attribution", err)) != 0)
		return rc;
	return 0;
}

int mp_store_finish_execution(mp_store *st, int64_t exec_id, mp_exec_result *res,
			      mp_err *err)
{
	int64_t run_id = 0, pid = 0, *type_ids = NULL;
	char state[32];
	sqlite3_stmt *s;
	size_t i;
	int rc = 0;

	if (res->state != MP_EXEC_COMPLETE && res->state != MP_EXEC_FAILED &&
	    res->state != MP_EXEC_CANCELED)
		return mp_error(err, MP_EINVAL, "an execution cannot finish as %s",
				mp_exec_state_name(res->state));
	if (res->noutputs && res->state != MP_EXEC_COMPLETE)
		return mp_error(err, MP_EINVAL, "a %s execution has no outputs",
				mp_exec_state_name(res->state));
	if (res->noutputs && !(type_ids = mp_calloc(res->noutputs, sizeof(*type_ids))))
		return mp_error(err, MP_ENOMEM, "out of memory recording outputs");
	for (i = 0; i < res->noutputs; i++) {
		mp_output *o = &res->outputs[i];

		if (!o->name || !*o->name || !o->uri || !*o->uri) {
			rc = mp_error(err, MP_EINVAL, "output %zu of execution %lld needs a name and a uri",
				      i, (long long)exec_id);
			goto out;
		}
		if ((rc = mp_store_register_type(st, MP_TYPE_ARTIFACT, o->type, NULL, &type_ids[i], err)) != 0)
			goto out;
	}
	if ((rc = mp__begin(st, err)) != 0)
		goto out;
	if ((rc = exec_contexts(st, exec_id, state, sizeof(state), &run_id, &pid, err)) != 0)
		goto fail;
	if (strcmp(state, "RUNNING") != 0) {
		rc = mp_error(err, MP_EINVAL, "execution %lld is not running (%s)", (long long)exec_id, state);
		goto fail;
	}
	if (!(s = mp__stmt(st, SQL_EXEC_FINISH, err))) {
		rc = mp__code(err);
		goto fail;
	}
	sqlite3_bind_int64(s, 1, exec_id);
	sqlite3_bind_text(s, 2, mp_exec_state_name(res->state), -1, SQLITE_STATIC);
	if (res->exit_reason)
		sqlite3_bind_text(s, 3, res->exit_reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, mp__now(st));
	if ((rc = run_stmt(st, s, "finish the execution", err)) != 0)
		goto fail;
	for (i = 0; i < res->noutputs; i++)
		if ((rc = insert_output(st, exec_id, run_id, pid, type_ids[i], &res->outputs[i], err)) != 0)
			goto fail;
	for (i = 0; i < res->nmetrics; i++)
		if ((rc = insert_metric(st, exec_id, &res->metrics[i], err)) != 0)
			goto fail;
	rc = mp__commit(st, err);
	goto out;
fail:
	mp__rollback(st);
out:
	free(type_ids);
	return rc;
}

static const char SQL_COPY_OUTPUTS[] =
	"INSERT INTO event (artifact_id, execution_id, type, name, time_ms)"
	" SELECT artifact_id, ?2, 'OUTPUT', name, ?3 FROM event"
	" WHERE execution_id = ?1 AND type = 'OUTPUT' ORDER BY id";
static const char SQL_ATTRIBUTE_OUTPUTS[] =
	"INSERT OR IGNORE INTO attribution (context_id, artifact_id)"
	" SELECT ?2, artifact_id FROM event WHERE execution_id = ?1 AND type = 'OUTPUT'";
static const char SQL_EXEC_STATE[] = "SELECT state FROM execution WHERE id = ?1";

int mp_store_record_cached(mp_store *st, const mp_exec_spec *spec,
			   int64_t source_exec, int64_t *exec_id, mp_err *err)
{
	int64_t type_id, pid, id;
	sqlite3_stmt *s;
	int rc, step;

	if ((rc = check_spec(spec, err)) != 0 ||
	    (rc = mp_store_register_type(st, MP_TYPE_EXECUTION, spec->component_type, NULL, &type_id, err)) != 0 ||
	    (rc = mp__begin(st, err)) != 0)
		return rc;
	if ((rc = running_run(st, spec->run_id, &pid, err)) != 0)
		goto fail;
	if (!(s = mp__stmt(st, SQL_EXEC_STATE, err)))
		goto fail_code;
	sqlite3_bind_int64(s, 1, source_exec);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(s, 0), "COMPLETE") != 0)
		rc = mp_error(err, MP_EINVAL, "execution %lld did not complete, its outputs cannot be reused",
			      (long long)source_exec);
	else if (step == SQLITE_DONE)
		rc = mp_error(err, MP_ENOTFOUND, "no execution %lld in '%s'", (long long)source_exec, st->path);
	else if (step != SQLITE_ROW)
		rc = mp__db_error(st, err, "find the cached execution");
	sqlite3_reset(s);
	if (rc)
		goto fail;
	if ((rc = insert_execution(st, spec, type_id, pid, MP_EXEC_CACHED, source_exec, &id, err)) != 0)
		goto fail;
	if (!(s = mp__stmt(st, SQL_COPY_OUTPUTS, err)))
		goto fail_code;
	sqlite3_bind_int64(s, 1, source_exec);
	sqlite3_bind_int64(s, 2, id);
	sqlite3_bind_int64(s, 3, mp__now(st));
	if ((rc = run_stmt(st, s, "record reused outputs", err)) != 0 ||
	    (rc = link2(st, SQL_ATTRIBUTE_OUTPUTS, source_exec, spec->run_id, "record an attribution", err)) != 0 ||
	    (rc = mp__commit(st, err)) != 0)
		goto fail;
	*exec_id = id;
	return 0;
fail_code:
	rc = mp__code(err);
fail:
	mp__rollback(st);
	return rc;
}

int mp_store_record_metric(mp_store *st, int64_t exec_id, const char *name,
			   int64_t step, double value, mp_err *err)
{
	mp_metric m = {name, step, value};
	sqlite3_stmt *s = mp__stmt(st, SQL_EXEC_STATE, err);
	int found, rc;

	if (!s)
		return mp__code(err);
	sqlite3_bind_int64(s, 1, exec_id);
	found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_reset(s);
	if (!found)
		return mp_error(err, MP_ENOTFOUND, "no execution %lld in '%s'", (long long)exec_id, st->path);
	rc = insert_metric(st, exec_id, &m, err);
	return rc;
}

static const char SQL_FIND_CACHED[] =
	"SELECT e.id FROM execution e WHERE e.cache_key = ?1 AND e.state = 'COMPLETE'"
	" AND NOT EXISTS (SELECT 1 FROM event ev JOIN artifact a ON a.id = ev.artifact_id"
	"   WHERE ev.execution_id = e.id AND ev.type = 'OUTPUT' AND a.state <> 'LIVE')"
	" ORDER BY e.id DESC LIMIT 1";

int mp_store_find_cached(mp_store *st, const char *cache_key, int64_t *exec_id,
			 mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, SQL_FIND_CACHED, err);
	int step, rc = 0;

	if (!s)
		return mp__code(err);
	sqlite3_bind_text(s, 1, cache_key, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		*exec_id = sqlite3_column_int64(s, 0);
	else if (step == SQLITE_DONE)
		rc = mp_error(err, MP_ENOTFOUND, "no reusable execution for cache key %s", cache_key);
	else
		rc = mp__db_error(st, err, "look up the cache");
	sqlite3_reset(s);
	return rc;
}

static const char SQL_ARTIFACT_STATE[] =
	"UPDATE artifact SET state = ?2, update_time_ms = ?3 WHERE id = ?1";

int mp_store_set_artifact_state(mp_store *st, int64_t artifact_id,
				const char *state, mp_err *err)
{
	static const char *const ok[] = {"PENDING", "LIVE", "MARKED_FOR_DELETION", "DELETED"};
	sqlite3_stmt *s;
	size_t i;
	int rc;

	for (i = 0; i < 4 && strcmp(state, ok[i]) != 0; i++)
		;
	if (i == 4)
		return mp_error(err, MP_EINVAL, "unknown artifact state '%s'", state);
	if (!(s = mp__stmt(st, SQL_ARTIFACT_STATE, err)))
		return mp__code(err);
	sqlite3_bind_int64(s, 1, artifact_id);
	sqlite3_bind_text(s, 2, ok[i], -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, mp__now(st));
	if ((rc = run_stmt(st, s, "update the artifact", err)) != 0)
		return rc;
	if (sqlite3_changes(st->db) != 1)
		return mp_error(err, MP_ENOTFOUND, "no artifact %lld in '%s'", (long long)artifact_id, st->path);
	return 0;
}
