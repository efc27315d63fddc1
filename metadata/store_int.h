/* Shared inside metadata/: the store's layout and statement helpers. */
#ifndef MP_METADATA_STORE_INT_H
#define MP_METADATA_STORE_INT_H

#include <sqlite3.h>

#include "metadata/store.h"

#define MP__STMT_CACHE 64
#define MP__TYPE_CACHE 64

struct mp_store {
	sqlite3 *db;
	char *path;
	int64_t (*clock)(void *ud);
	void *clock_ud;
	int busy_ms;
	struct {
		const char *sql; /* a string literal: looked up by address */
		sqlite3_stmt *stmt;
	} stmts[MP__STMT_CACHE];
	int nstmts;
	struct {
		mp_type_kind kind;
		char *name;
		int64_t id;
	} types[MP__TYPE_CACHE];
	int ntypes;
};

int64_t mp__now(mp_store *st);
/* The code of an error already filled in (err may be NULL). */
static inline int mp__code(const mp_err *err)
{
	return err && err->code ? err->code : MP_EDB;
}
/* A prepared, reset statement for sql (a string literal), cached for the
 * store's life.  Reset it when done so no read transaction stays open. */
sqlite3_stmt *mp__stmt(mp_store *st, const char *sql, mp_err *err);
/* Fills err from the connection's last error; returns the code. */
int mp__db_error(mp_store *st, mp_err *err, const char *what);
int mp__begin(mp_store *st, mp_err *err);
int mp__commit(mp_store *st, mp_err *err);
void mp__rollback(mp_store *st);
/* A read transaction around a query of many statements, when none is open:
 * one snapshot, and the file lock taken once rather than once a statement
 * (which was most of a long lineage walk).  Returns whether it began one,
 * for mp__read_end; a failure to begin only loses the saving. */
int mp__read_begin(mp_store *st);
void mp__read_end(mp_store *st, int began);
/* NULL-safe text column copy; *ok cleared on allocation failure. */
char *mp__col_text(sqlite3_stmt *s, int col, int *ok);
/* Reads (name, int, double, text) rows of a property table for one owner. */
int mp__load_props(mp_store *st, const char *sql, int64_t owner, mp_prop **props,
		   size_t *n, mp_err *err);
void mp__props_free(mp_prop *props, size_t n);

#endif
