/* The store's lineage walk: the tree an artifact came from, or what was
 * derived from it, depth-first, with an explicit stack. */
#include "metadata/store_int.h"

#include <stdlib.h>
#include <string.h>

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
	mp_lineage_node *todo; /* nodes still to visit, the next one last */
	size_t ntodo, todo_alloc;
	mp_lineage_dir dir;
	int max_depth;
	int64_t *seen; /* open addressing: key = id * 2 + is_execution, 0 empty */
	size_t seen_cap, seen_n;
	mp_err *err;
} lineage_walk;

static void node_release(mp_lineage_node *n)
{
	free(n->label);
	free(n->detail);
	free(n->state);
	free(n->via);
}

void mp_lineage_release(mp_lineage *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		node_release(&l->items[i]);
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

/* Appends the neighbours of one node, each at depth, to the to-do stack in
 * reverse, so that the first of them is visited first. */
static int read_neighbours(lineage_walk *w, const char *sql, int64_t id, const char *event,
			   int is_execution, int depth, size_t parent)
{
	sqlite3_stmt *s = mp__stmt(w->st, sql, w->err);
	size_t first = w->ntodo;
	int step, ok = 1;

	if (!s)
		return mp__code(w->err);
	sqlite3_bind_int64(s, 1, id);
	if (event)
		sqlite3_bind_text(s, 2, event, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		mp_lineage_node *n;

		if (mp_grow((void **)&w->todo, &w->todo_alloc, w->ntodo, sizeof(*n))) {
			ok = 0;
			break;
		}
		n = &w->todo[w->ntodo++];
		memset(n, 0, sizeof(*n));
		n->depth = depth;
		n->parent = parent;
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
	mp_reverse(w->todo + first, w->ntodo - first, sizeof(*w->todo));
	return 0;
}

/* Moves a node into the output and queues its neighbours unless it was
 * seen before (then it is marked repeated) or is at the depth limit. */
static int visit(lineage_walk *w, mp_lineage_node *node)
{
	int seen = seen_add(w, node->id * 2 + node->is_execution);
	mp_lineage_node *n;

	if (seen < 0 || mp_grow((void **)&w->out->items, &w->alloc, w->out->n, sizeof(*n))) {
		node_release(node);
		return mp_error(w->err, MP_ENOMEM, "out of memory tracing lineage");
	}
	n = &w->out->items[w->out->n++];
	*n = *node;
	n->repeated = seen;
	if (seen || (w->max_depth && n->depth >= w->max_depth))
		return 0;
	return read_neighbours(w, n->is_execution ? SQL_EXEC_ARTIFACTS : SQL_ARTIFACT_EXECS, n->id,
			       (w->dir == MP_LINEAGE_UP) == !n->is_execution ? "OUTPUT" : "INPUT",
			       !n->is_execution, n->depth + 1, w->out->n - 1);
}

int mp_store_lineage(mp_store *st, int64_t artifact_id, mp_lineage_dir dir,
		     int max_depth, size_t max_nodes, mp_lineage *out, mp_err *err)
{
	lineage_walk w;
	int rc, began;

	memset(&w, 0, sizeof(w));
	w.st = st;
	w.out = out;
	w.dir = dir;
	w.max_depth = max_depth;
	w.err = err;
	memset(out, 0, sizeof(*out));
	/* An explicit stack, not recursion: a chain of retraining runs can be
	 * hundreds of thousands of nodes deep. */
	began = mp__read_begin(st);
	rc = read_neighbours(&w, SQL_LINEAGE_ROOT, artifact_id, NULL, 0, 0, 0);
	if (!rc && w.ntodo == 0)
		rc = mp_error(err, MP_ENOTFOUND, "no artifact %lld in '%s'", (long long)artifact_id, st->path);
	while (!rc && w.ntodo > 0) {
		if (max_nodes && out->n > max_nodes) {
			out->truncated = 1;
			break;
		}
		rc = visit(&w, &w.todo[--w.ntodo]);
	}
	mp__read_end(st, began);
	while (w.ntodo > 0)
		node_release(&w.todo[--w.ntodo]);
	free(w.todo);
	free(w.seen);
	if (rc)
		mp_lineage_release(out);
	return rc;
}
