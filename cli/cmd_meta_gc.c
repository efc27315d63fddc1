/* mlpipe meta gc: deletes the artifacts no run needs any more. */
#include "cli/meta.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/examples.h"
#include "data/stats.h"

/* ---- gc ---------------------------------------------------------------- */

/* Why gc must not delete artifact a's folder, or NULL when it may: the
 * store is a file anyone may have edited, so its paths are checked
 * against where mlpipe puts artifacts (<root>/<pipeline>/<component>/
 * <output>/<execution>), and the folder's real location (links resolved)
 * against the root's. */
static const char *unsafe_to_delete(const mp_artifact *a)
{
	char *want, *real_root, *real_uri;
	const char *why = NULL;

	if (!a->root || !*a->root || !strcmp(a->root, "/") || !a->producer || !a->pipeline || !a->name)
		return "kept: no pipeline root to check it against";
	if (!(want = mp_asprintf("%s/%s/%s/%s/%lld", a->root, a->pipeline, a->producer, a->name,
				 (long long)a->producer_id)))
		return "kept: out of memory";
	if (strcmp(want, a->uri) != 0) {
		/* or right below the root, as hand-made stores (the tests' fixture) have it */
		free(want);
		if (!(want = mp_asprintf("%s/%s/%s/%lld", a->root, a->producer, a->name, (long long)a->producer_id)))
			return "kept: out of memory";
		if (strcmp(want, a->uri) != 0) {
			free(want);
			return "kept: not where mlpipe puts its artifacts";
		}
	}
	free(want);
	real_root = realpath(a->root, NULL);
	real_uri = realpath(a->uri, NULL);
	if (!real_uri && errno == ENOENT)
		why = NULL; /* already gone: only the store is updated */
	else if (!real_root || !real_uri || !mp_path_within(real_root, real_uri) || !strcmp(real_root, real_uri))
		why = "kept: outside the pipeline root";
	free(real_root);
	free(real_uri);
	return why;
}

int mp__meta_gc(meta_ctx *c, mp_err *err)
{
	static const char *const heads[] = {">ID", "TYPE", "CREATED", "ACTION", "URI"};
	mp_artifact_list l = {0};
	mp_table *t = NULL;
	double days;
	size_t i, deleted = 0, kept = 0, nfail = 0;
	int rc;
	mp_json j;

	if (c->npos)
		return mp_error(err, MP_EINVAL, "unexpected argument '%s' for 'meta gc'", c->pos[0]);
	if (!c->older_than)
		return mp_error(err, MP_EINVAL, "'meta gc' needs a scope: --older-than DAYS");
	if ((rc = mp_parse_double(c->older_than, 0, 1e6, &days, "--older-than", err)) != 0)
		return rc;
	if ((rc = mp_store_gc_candidates(c->st, mp_now_ms() - (int64_t)(days * 86400000.0), &l, err)) != 0)
		return rc;
	if (c->json) {
		mp_json_init(&j, stdout, 1);
		mp_json_begin_array(&j);
	} else {
		t = mp_table_new(5, heads);
	}
	for (i = 0; i < l.n; i++) {
		const mp_artifact *a = &l.items[i];
		const char *action;
		char id[24], created[32];
		mp_err e2;

		/* Only an artifact's own folder below the pipeline's own root is
		 * ever removed, checked just before, whatever the store says. */
		if ((action = unsafe_to_delete(a))) {
			kept++;
		} else if (c->dry_run) {
			action = "would delete";
		} else if (mp_store_set_artifact_state(c->st, a->id, "MARKED_FOR_DELETION", &e2) != 0 ||
			   mp_rmtree(a->uri, &e2) != 0 ||
			   mp_store_set_artifact_state(c->st, a->id, "DELETED", &e2) != 0) {
			mp_warn("%s", e2.msg);
			action = "failed";
			nfail++;
		} else {
			action = "deleted";
			deleted++;
		}
		if (c->json) {
			mp_json_begin_object(&j);
			mp_json_key(&j, "id");
			mp_json_int(&j, a->id);
			mp_json_key(&j, "type");
			mp_json_string(&j, a->type);
			mp_json_key(&j, "uri");
			mp_json_string(&j, a->uri);
			mp_json_key(&j, "action");
			mp_json_string(&j, action);
			mp_json_end_object(&j);
		} else if (t) {
			const char *row[5] = {id, a->type, created, action, a->uri};

			snprintf(id, sizeof(id), "%lld", (long long)a->id);
			mp_format_time(created, sizeof(created), a->create_time_ms);
			mp_table_add(t, row);
		}
	}
	if (c->json) {
		mp_json_end_array(&j);
		mp_json_finish(&j);
	} else {
		if (l.n)
			mp__meta_print_table(t);
		if (c->dry_run)
			printf("gc: %zu artifacts older than %g days would be deleted (dry run)\n", l.n - kept, days);
		else
			printf("gc: %zu artifacts deleted, %zu kept, %zu failed\n", deleted, kept, nfail);
	}
	mp_table_free(t);
	mp_artifact_list_release(&l);
	if (nfail)
		return mp_error(err, MP_EIO, "gc could not delete %zu artifacts (see the warnings above)", nfail);
	return 0;
}
