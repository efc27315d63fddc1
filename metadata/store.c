/* The metadata store: opening, the schema and its migrations, and the
 * helpers the recording (record.c) and query (query.c) files share. */
#include "metadata/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 'mlpp': marks a database as an mlpipe store (PRAGMA application_id). */
#define MP_APPLICATION_ID 0x6d6c7070

/* Migration N brings the schema from version N to N + 1.  Never edit one that
 * has shipped: add the next. */
static const char *const migrations[] = {
	/* 0 -> 1: the initial schema; see docs/metadata.md */
	"CREATE TABLE type ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('artifact', 'execution', 'context')),"
	"  name TEXT NOT NULL,"
	"  version TEXT,"
	"  UNIQUE (kind, name));"
	"CREATE TABLE context ("
	"  id INTEGER PRIMARY KEY,"
	"  type_id INTEGER NOT NULL REFERENCES type(id),"
	"  name TEXT NOT NULL,"
	"  state TEXT CHECK (state IN ('RUNNING', 'COMPLETE', 'FAILED', 'CANCELED')),"
	"  create_time_ms INTEGER NOT NULL,"
	"  update_time_ms INTEGER NOT NULL,"
	"  end_time_ms INTEGER,"
	"  UNIQUE (type_id, name));"
	"CREATE TABLE parent_context ("
	"  context_id INTEGER NOT NULL REFERENCES context(id),"
	"  parent_context_id INTEGER NOT NULL REFERENCES context(id),"
	"  PRIMARY KEY (context_id, parent_context_id)) WITHOUT ROWID;"
	"CREATE INDEX parent_context_parent ON parent_context(parent_context_id);"
	"CREATE TABLE artifact ("
	"  id INTEGER PRIMARY KEY,"
	"  type_id INTEGER NOT NULL REFERENCES type(id),"
	"  uri TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('PENDING', 'LIVE', 'MARKED_FOR_DELETION', 'DELETED')),"
	"  fingerprint TEXT,"
	"  create_time_ms INTEGER NOT NULL,"
	"  update_time_ms INTEGER NOT NULL);"
	"CREATE INDEX artifact_type ON artifact(type_id);"
	"CREATE TABLE execution ("
	"  id INTEGER PRIMARY KEY,"
	"  type_id INTEGER NOT NULL REFERENCES type(id),"
	"  component_id TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('NEW', 'RUNNING', 'COMPLETE', 'FAILED', 'CACHED', 'CANCELED')),"
	"  cache_key TEXT,"
	"  cached_from INTEGER REFERENCES execution(id),"
	"  exit_reason TEXT,"
	"  start_time_ms INTEGER,"
	"  end_time_ms INTEGER,"
	"  create_time_ms INTEGER NOT NULL,"
	"  update_time_ms INTEGER NOT NULL);"
	"CREATE INDEX execution_cache_key ON execution(cache_key) WHERE cache_key IS NOT NULL;"
	"CREATE TABLE event ("
	"  id INTEGER PRIMARY KEY,"
	"  artifact_id INTEGER NOT NULL REFERENCES artifact(id),"
	"  execution_id INTEGER NOT NULL REFERENCES execution(id),"
	"  type TEXT NOT NULL CHECK (type IN ('INPUT', 'OUTPUT')),"
	"  name TEXT NOT NULL,"
	"  time_ms INTEGER NOT NULL);"
	"CREATE INDEX event_artifact ON event(artifact_id, type);"
	"CREATE INDEX event_execution ON event(execution_id, type);"
	"CREATE TABLE attribution ("
	"  context_id INTEGER NOT NULL REFERENCES context(id),"
	"  artifact_id INTEGER NOT NULL REFERENCES artifact(id),"
	"  PRIMARY KEY (context_id, artifact_id)) WITHOUT ROWID;"
	"CREATE INDEX attribution_artifact ON attribution(artifact_id);"
	"CREATE TABLE association ("
	"  context_id INTEGER NOT NULL REFERENCES context(id),"
	"  execution_id INTEGER NOT NULL REFERENCES execution(id),"
	"  PRIMARY KEY (context_id, execution_id)) WITHOUT ROWID;"
	"CREATE INDEX association_execution ON association(execution_id);"
	"CREATE TABLE artifact_property ("
	"  artifact_id INTEGER NOT NULL REFERENCES artifact(id),"
	"  name TEXT NOT NULL,"
	"  int_value INTEGER, double_value REAL, string_value TEXT,"
	"  PRIMARY KEY (artifact_id, name)) WITHOUT ROWID;"
	"CREATE TABLE execution_property ("
	"  execution_id INTEGER NOT NULL REFERENCES execution(id),"
	"  name TEXT NOT NULL,"
	"  int_value INTEGER, double_value REAL, string_value TEXT,"
	"  PRIMARY KEY (execution_id, name)) WITHOUT ROWID;"
	"CREATE TABLE context_property ("
	"  context_id INTEGER NOT NULL REFERENCES context(id),"
	"  name TEXT NOT NULL,"
	"  int_value INTEGER, double_value REAL, string_value TEXT,"
	"  PRIMARY KEY (context_id, name)) WITHOUT ROWID;"
	"CREATE TABLE metric ("
	"  execution_id INTEGER NOT NULL REFERENCES execution(id),"
	"  name TEXT NOT NULL,"
	"  step INTEGER NOT NULL,"
	"  value REAL,"
	"  PRIMARY KEY (execution_id, name, step)) WITHOUT ROWID;"
	"CREATE INDEX metric_name ON metric(name);",
};

#define NMIGRATIONS ((int)MP_COUNTOF(migrations))

_Static_assert(NMIGRATIONS == MP_STORE_SCHEMA_VERSION,
	       "one migration per schema version");

static const char *const exec_state_names[] = {
	"NEW", "RUNNING", "COMPLETE", "FAILED", "CACHED", "CANCELED",
};

const char *mp_exec_state_name(mp_exec_state s)
{
	return (unsigned)s < 6 ? exec_state_names[s] : "UNKNOWN";
}

int mp_exec_state_parse(const char *name, mp_exec_state *out)
{
	int i;

	for (i = 0; i < 6; i++)
		if (strcmp(name, exec_state_names[i]) == 0) {
			*out = (mp_exec_state)i;
			return 0;
		}
	return MP_EINVAL;
}

/* ---- helpers shared in metadata/ -------------------------------------- */

int64_t mp__now(mp_store *st)
{
	return st->clock ? st->clock(st->clock_ud) : mp_now_ms();
}

int mp__db_error(mp_store *st, mp_err *err, const char *what)
{
	int rc = sqlite3_errcode(st->db);
	int primary = rc & 0xff;

	if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
		return mp_error(err, MP_EBUSY,
				"cannot %s: metadata store '%s' stayed locked by another process for %d ms",
				what, st->path, st->busy_ms);
	if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
		return mp_error(err, MP_ECORRUPT, "cannot %s: metadata store '%s' is damaged: %s",
				what, st->path, sqlite3_errmsg(st->db));
	if (primary == SQLITE_NOMEM)
		return mp_error(err, MP_ENOMEM, "cannot %s: out of memory", what);
	if (primary == SQLITE_IOERR && sqlite3_system_errno(st->db))
		/* "disk I/O error" alone hides a full disk */
		return mp_error(err, MP_EDB, "cannot %s in metadata store '%s': %s (%s)", what, st->path,
				sqlite3_errmsg(st->db), strerror(sqlite3_system_errno(st->db)));
	return mp_error(err, MP_EDB, "cannot %s in metadata store '%s': %s", what,
			st->path, sqlite3_errmsg(st->db));
}

sqlite3_stmt *mp__stmt(mp_store *st, const char *sql, mp_err *err)
{
	sqlite3_stmt *s = NULL;
	int i;

	for (i = 0; i < st->nstmts; i++)
		if (st->stmts[i].sql == sql) {
			s = st->stmts[i].stmt;
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			return s;
		}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		mp__db_error(st, err, "prepare a query");
		sqlite3_finalize(s);
		return NULL;
	}
	if (st->nstmts < MP__STMT_CACHE) {
		st->stmts[st->nstmts].sql = sql;
		st->stmts[st->nstmts].stmt = s;
		st->nstmts++;
	} else {
		/* The cache is sized for every statement in metadata/. */
		MP_NEVER(1);
		sqlite3_finalize(s);
		mp_error(err, MP_EDB, "statement cache is full");
		return NULL;
	}
	return s;
}

static int exec_sql(mp_store *st, const char *sql, const char *what, mp_err *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return mp__db_error(st, err, what);
	return 0;
}

int mp__begin(mp_store *st, mp_err *err)
{
	return exec_sql(st, "BEGIN IMMEDIATE", "start a transaction", err);
}

int mp__commit(mp_store *st, mp_err *err)
{
	int rc = exec_sql(st, "COMMIT", "commit", err);

	if (rc)
		mp__rollback(st);
	return rc;
}

int mp__read_begin(mp_store *st)
{
	return sqlite3_get_autocommit(st->db) && sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
}

void mp__read_end(mp_store *st, int began)
{
	if (began && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

void mp__rollback(mp_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

char *mp__col_text(sqlite3_stmt *s, int col, int *ok)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	char *d;

	if (!t)
		return NULL;
	d = mp_strdup((const char *)t);
	if (!d)
		*ok = 0;
	return d;
}

void mp__props_free(mp_prop *props, size_t n)
{
	size_t i;

	for (i = 0; i < n && props; i++) {
		free((char *)props[i].name);
		free((char *)props[i].s);
	}
	free(props);
}

int mp__load_props(mp_store *st, const char *sql, int64_t owner, mp_prop **props,
		   size_t *n, mp_err *err)
{
	sqlite3_stmt *s = mp__stmt(st, sql, err);
	mp_prop *v = NULL;
	size_t cnt = 0, alloc = 0;
	int rc = 0, step, ok = 1;

	*props = NULL;
	*n = 0;
	if (!s)
		return err ? err->code : MP_EDB;
	sqlite3_bind_int64(s, 1, owner);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		mp_prop *p;

		if (cnt == alloc) {
			size_t na = alloc ? alloc * 2 : 8;
			mp_prop *nv = mp_realloc(v, na * sizeof(*nv));

			if (!nv) {
				ok = 0;
				break;
			}
			v = nv;
			alloc = na;
		}
		p = &v[cnt++];
		memset(p, 0, sizeof(*p));
		p->name = mp__col_text(s, 0, &ok);
		if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
			p->kind = MP_PROP_INT;
			p->i = sqlite3_column_int64(s, 1);
		} else if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
			p->kind = MP_PROP_DOUBLE;
			p->d = sqlite3_column_double(s, 2);
		} else {
			p->kind = MP_PROP_STRING;
			p->s = mp__col_text(s, 3, &ok);
			if (!p->s && ok && !(p->s = mp_strdup("")))
				ok = 0;
		}
		if (!ok)
			break;
	}
	if (!ok)
		rc = mp_error(err, MP_ENOMEM, "out of memory reading properties");
	else if (step != SQLITE_DONE)
		rc = mp__db_error(st, err, "read properties");
	sqlite3_reset(s);
	if (rc) {
		mp__props_free(v, cnt);
		return rc;
	}
	*props = v;
	*n = cnt;
	return 0;
}

const char *mp_prop_format(const mp_prop *p, char *buf, size_t n)
{
	switch (p->kind) {
	case MP_PROP_INT: snprintf(buf, n, "%lld", (long long)p->i); break;
	case MP_PROP_DOUBLE: snprintf(buf, n, "%.6g", p->d); break;
	case MP_PROP_STRING: snprintf(buf, n, "%s", p->s ? p->s : ""); break;
	}
	return buf;
}

const mp_prop *mp_prop_find(const mp_prop *props, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(props[i].name, name) == 0)
			return &props[i];
	return NULL;
}

/* ---- opening ----------------------------------------------------------- */

static int pragma_int(mp_store *st, const char *sql, int *out, mp_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		goto fail;
	*out = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return 0;
fail:
	rc = mp__db_error(st, err, "read the schema version");
	sqlite3_finalize(s);
	return rc;
}

/* Refuses anything that is not an SQLite file before SQLite touches it. */
static int check_header(const char *path, int create, int *is_new, mp_err *err)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	struct stat sb;
	FILE *fp;
	size_t got;

	*is_new = 0;
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT && create) {
			*is_new = 1;
			return 0;
		}
		return mp_error(err, errno == ENOENT ? MP_ENOTFOUND : MP_EIO,
				"cannot open metadata store '%s': %s", path, strerror(errno));
	}
	if (S_ISDIR(sb.st_mode))
		return mp_error(err, MP_EINVAL, "cannot open metadata store '%s': it is a directory", path);
	if (sb.st_size == 0) {
		if (create) {
			*is_new = 1;
			return 0;
		}
		return mp_error(err, MP_ECORRUPT, "'%s' is not an mlpipe metadata store: the file is empty", path);
	}
	if (!(fp = fopen(path, "rb")))
		return mp_error(err, MP_EIO, "cannot open metadata store '%s': %s", path, strerror(errno));
	got = fread(head, 1, sizeof(head), fp);
	fclose(fp);
	if (got < sizeof(head) || memcmp(head, magic, sizeof(magic)) != 0)
		return mp_error(err, MP_ECORRUPT, "'%s' is not an SQLite database (bad header at offset 0)", path);
	return 0;
}

/* The three facts that identify a store, read in one snapshot: a store
 * being created by another process is seen either before or after. */
static int read_identity(mp_store *st, int *version, int *appid, int *ntables, mp_err *err)
{
	static const char sql[] =
		"SELECT (SELECT user_version FROM pragma_user_version),"
		" (SELECT application_id FROM pragma_application_id),"
		" (SELECT count(*) FROM sqlite_master)";
	sqlite3_stmt *s = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		rc = mp__db_error(st, err, "read the schema version");
	} else {
		*version = sqlite3_column_int(s, 0);
		*appid = sqlite3_column_int(s, 1);
		*ntables = sqlite3_column_int(s, 2);
	}
	sqlite3_finalize(s);
	return rc;
}

static int migrate(mp_store *st, mp_err *err)
{
	int version, rc, i;

	if ((rc = mp__begin(st, err)) != 0)
		return rc;
	/* Read again inside the write lock: another process may have migrated. */
	if ((rc = pragma_int(st, "PRAGMA user_version", &version, err)) != 0)
		goto fail;
	if (version > MP_STORE_SCHEMA_VERSION) {
		rc = mp_error(err, MP_EVERSION,
			      "metadata store '%s' has schema version %d, newer than this mlpipe supports (%d): upgrade mlpipe",
			      st->path, version, MP_STORE_SCHEMA_VERSION);
		goto fail;
	}
	for (i = version; i < NMIGRATIONS; i++) {
		char what[64];

		snprintf(what, sizeof(what), "migrate the schema to version %d", i + 1);
		if ((rc = exec_sql(st, migrations[i], what, err)) != 0)
			goto fail;
	}
	if (version < NMIGRATIONS) {
		char sql[96];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; PRAGMA application_id = %d",
			 NMIGRATIONS, MP_APPLICATION_ID);
		if ((rc = exec_sql(st, sql, "set the schema version", err)) != 0)
			goto fail;
	}
	return mp__commit(st, err);
fail:
	mp__rollback(st);
	return rc;
}

/* Refuses a store holding schema objects mlpipe did not create (a trigger
 * that rewrites artifacts' paths, a view in place of a table): the
 * expected ones are those the migrations make in an empty database, each
 * with the same SQL.  SQLite's own (sqlite_sequence, sqlite_stat1) are
 * allowed. */
static int check_schema(mp_store *st, mp_err *err)
{
	static const char sql[] = "SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name";
	sqlite3 *ref = NULL;
	sqlite3_stmt *a = NULL, *b = NULL;
	int rc = 0, i, sa = SQLITE_ROW, sb;

	if (sqlite3_open_v2(":memory:", &ref, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(ref);
		return mp_error(err, MP_ENOMEM, "out of memory checking '%s'", st->path);
	}
	for (i = 0; i < NMIGRATIONS && rc == 0; i++)
		if (sqlite3_exec(ref, migrations[i], NULL, NULL, NULL) != SQLITE_OK)
			rc = mp_error(err, MP_EDB, "internal error: the schema does not build (%s)", sqlite3_errmsg(ref));
	if (rc == 0 && (sqlite3_prepare_v2(ref, sql, -1, &a, NULL) != SQLITE_OK ||
			sqlite3_prepare_v2(st->db, sql, -1, &b, NULL) != SQLITE_OK))
		rc = mp__db_error(st, err, "read the schema");
	/* both lists are sorted: walk them side by side */
	if (rc == 0)
		sa = sqlite3_step(a);
	while (rc == 0 && (sb = sqlite3_step(b)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(b, 0), *name = (const char *)sqlite3_column_text(b, 1);
		int c = 1;

		if (!strncmp(name, "sqlite_", 7))
			continue;
		while (sa == SQLITE_ROW) {
			c = strcmp((const char *)sqlite3_column_text(a, 0), type);
			if (c == 0)
				c = strcmp((const char *)sqlite3_column_text(a, 1), name);
			if (c >= 0)
				break;
			sa = sqlite3_step(a);
		}
		if (sa != SQLITE_ROW || c != 0)
			rc = mp_error(err, MP_ECORRUPT, "'%s' holds a %s '%s' that mlpipe did not create: refusing the store "
				      "(remove it with sqlite3 if it is yours)", st->path, type, name);
		else if (strcmp((const char *)sqlite3_column_text(a, 2), (const char *)sqlite3_column_text(b, 2)) != 0)
			rc = mp_error(err, MP_ECORRUPT, "'%s': the %s '%s' is not the one mlpipe created: refusing the store",
				      st->path, type, name);
	}
	if (rc == 0 && sb != SQLITE_DONE)
		rc = mp__db_error(st, err, "read the schema");
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	sqlite3_close(ref);
	return rc;
}

/* The connection's journal and sync modes.  Two processes opening a new
 * store at once both ask for WAL: the one that finds the file turned to
 * WAL by the other after it last read it would need the write lock to
 * turn it again, and can be kept waiting as long as the other writes.  A
 * read just before shows the connection the WAL (the pragma is then a
 * no-op), and on a busy store it reads and asks again. */
static int configure(mp_store *st, int wal, mp_err *err)
{
	int rc, tries;

	if (!wal)
		return exec_sql(st, "PRAGMA foreign_keys = ON; PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL",
				"configure", err);
	for (tries = 0;; tries++) {
		sqlite3_exec(st->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
		rc = exec_sql(st, "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL",
			      "configure", err);
		if (rc != MP_EBUSY || tries == 1)
			return rc;
	}
}

/* Opens an existing file (or, with init, an empty one) as a store; in WAL
 * mode unless it is a new store being built (wal 0: a rollback journal, so
 * everything committed is in the file itself). */
static int open_db(mp_store **out, const char *path, int init, int wal, mp_err *err)
{
	mp_store *st;
	int rc, version = 0, appid = 0, ntables = 0;
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	*out = NULL;
	if (!(st = mp_calloc(1, sizeof(*st))) || !(st->path = mp_strdup(path))) {
		free(st);
		return mp_error(err, MP_ENOMEM, "out of memory opening '%s'", path);
	}
	st->busy_ms = 30000;
	if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
		rc = st->db ? mp__db_error(st, err, "open")
			    : mp_error(err, MP_ENOMEM, "out of memory opening '%s'", path);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, st->busy_ms);
	/* a store is a file from anywhere: no schema-level SQL is trusted to
	 * run functions, and SQL cannot corrupt the file on purpose */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if ((rc = read_identity(st, &version, &appid, &ntables, err)) != 0)
		goto fail;
	if (appid != MP_APPLICATION_ID && (appid != 0 || version != 0 || ntables != 0)) {
		rc = mp_error(err, MP_ECORRUPT, "'%s' is an SQLite database but not an mlpipe metadata store", path);
		goto fail;
	}
	if (version > MP_STORE_SCHEMA_VERSION) {
		rc = mp_error(err, MP_EVERSION,
			      "metadata store '%s' has schema version %d, newer than this mlpipe supports (%d): upgrade mlpipe",
			      path, version, MP_STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (version == 0 && !init) {
		rc = mp_error(err, MP_ECORRUPT, "'%s' is an empty SQLite database, not an mlpipe metadata store", path);
		goto fail;
	}
	/* WAL lets a scheduler write while a person reads; NORMAL sync in WAL
	 * never corrupts, a power cut may only lose the last commits. */
	if ((rc = configure(st, wal, err)) != 0)
		goto fail;
	if (version < MP_STORE_SCHEMA_VERSION && (rc = migrate(st, err)) != 0)
		goto fail;
	if ((rc = check_schema(st, err)) != 0)
		goto fail;
	*out = st;
	return 0;
fail:
	mp_store_close(st);
	return rc;
}

/* Removes a store file that was being built and what SQLite kept beside it. */
static void remove_store_files(const char *path)
{
	static const char *const sides[] = {"", "-journal", "-wal", "-shm"};
	size_t i;

	for (i = 0; i < MP_COUNTOF(sides); i++) {
		char *p = mp_asprintf("%s%s", path, sides[i]);

		if (p)
			unlink(p);
		free(p);
	}
}

/* fsyncs path (a file, or a folder so that a link in it is durable). */
static int sync_path(const char *path, int dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Builds a new store beside path and links it into place, so no process
 * ever sees a half-made one: all or nothing, also on a full disk.  The
 * schema is committed with a rollback journal (so it is in the file, not
 * in a WAL that could be left behind), the file is synced and opened
 * again to check it, and only then linked.  On any failure nothing stays.
 * Losing the race to another creator is fine. */
static int create_store_file(const char *path, mp_err *err)
{
	char *tmp = mp_asprintf("%s.new.XXXXXX", path), *dir = NULL, *slash;
	mp_store *st = NULL;
	int fd, rc = 0;

	if (!tmp)
		return mp_error(err, MP_ENOMEM, "out of memory creating '%s'", path);
	if ((fd = mkstemp(tmp)) < 0) {
		rc = mp_error(err, MP_EIO, "cannot create metadata store '%s': %s", path, strerror(errno));
		free(tmp);
		return rc;
	}
	close(fd);
	if ((rc = open_db(&st, tmp, 1, 0, err)) == 0) {
		mp_store_close(st);
		st = NULL;
		if (sync_path(tmp, 0) != 0)
			rc = mp_error(err, MP_EIO, "cannot create metadata store '%s': %s", path, strerror(errno));
	}
	if (rc == 0 && (rc = open_db(&st, tmp, 0, 0, err)) == 0) {
		/* it reads back as a store of this version */
		if (mp_store_schema_version(st) != MP_STORE_SCHEMA_VERSION)
			rc = mp_error(err, MP_ECORRUPT, "cannot create metadata store '%s': it did not read back", path);
		mp_store_close(st);
	}
	if (rc == 0 && link(tmp, path) != 0 && errno != EEXIST)
		rc = mp_error(err, MP_EIO, "cannot create metadata store '%s': %s", path, strerror(errno));
	if (rc == 0 && (dir = mp_strdup(path)) && (slash = strrchr(dir, '/'))) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		sync_path(dir, 1);
	} else if (rc == 0 && dir) {
		sync_path(".", 1);
	}
	free(dir);
	remove_store_files(tmp);
	free(tmp);
	if (rc != 0)
		mp_error_wrap(err, "the store was not created");
	return rc;
}

int mp_store_open(mp_store **out, const char *path, unsigned flags, mp_err *err)
{
	int rc, is_new;

	*out = NULL;
	if ((rc = check_header(path, flags & MP_STORE_CREATE, &is_new, err)) != 0)
		return rc;
	if (is_new && !mp_path_exists(path) && (rc = create_store_file(path, err)) != 0)
		return rc;
	/* An empty file the user made is initialised in place. */
	return open_db(out, path, flags & MP_STORE_CREATE, 1, err);
}

void mp_store_close(mp_store *st)
{
	int i;

	if (!st)
		return;
	for (i = 0; i < st->nstmts; i++)
		sqlite3_finalize(st->stmts[i].stmt);
	for (i = 0; i < st->ntypes; i++)
		free(st->types[i].name);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

int mp_store_schema_version(mp_store *st)
{
	int v = -1;

	pragma_int(st, "PRAGMA user_version", &v, NULL);
	return v;
}

const char *mp_store_path(const mp_store *st)
{
	return st->path;
}

void mp_store_set_busy_timeout(mp_store *st, int ms)
{
	st->busy_ms = ms;
	sqlite3_busy_timeout(st->db, ms);
}

void mp_store_set_clock(mp_store *st, int64_t (*now_ms)(void *ud), void *ud)
{
	st->clock = now_ms;
	st->clock_ud = ud;
}
