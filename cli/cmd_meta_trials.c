/* mlpipe meta trials: a Tuner's trials (the trials.tsv of a HyperParameters
 * artifact), the newest search unless an artifact id is given. */
#include "cli/meta.h"
#include "core/tsv.h"

#include <stdlib.h>
#include <string.h>

#define MAX_COLS 64

static int find_artifact(meta_ctx *c, mp_artifact *a, mp_err *err)
{
	int64_t id;
	int rc;

	if (c->npos == 1) {
		if ((rc = mp_parse_i64(c->pos[0], 1, INT64_MAX, &id, "artifact id", err)) != 0 ||
		    (rc = mp_store_get_artifact(c->st, id, a, err)) != 0)
			return rc;
		if (strcmp(a->type, "HyperParameters") != 0) {
			rc = mp_error(err, MP_EINVAL, "artifact %lld is %s, not HyperParameters (a Tuner's output)",
				      (long long)id, a->type);
			mp_artifact_release(a);
		}
		return rc;
	}
	{
		mp_artifact_filter f = {"HyperParameters", c->pipeline, 0, 0, 1, 0};
		mp_artifact_list l;

		if ((rc = mp_store_list_artifacts(c->st, &f, &l, err)) != 0)
			return rc;
		if (!l.n)
			rc = mp_error(err, MP_ENOTFOUND, "no Tuner has run%s%s", c->pipeline ? " in pipeline " : "",
				      c->pipeline ? c->pipeline : "");
		else
			rc = mp_store_get_artifact(c->st, l.items[l.n - 1].id, a, err);
		mp_artifact_list_release(&l);
	}
	return rc;
}

/* A cell as JSON: a number bare, anything else a string. */
static void json_cell(mp_json *j, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*s && !*end && strcmp(s, "nan"))
		mp_json_double(j, v);
	else
		mp_json_string(j, s);
}

static int print_trials(meta_ctx *c, const mp_artifact *a, char *text)
{
	char *cur = text, *line, *head[MAX_COLS], *f[MAX_COLS], *heads[MAX_COLS];
	size_t nh, n, i;
	mp_table *t = NULL;
	mp_json j;

	if (!(line = mp_text_line(&cur)))
		return 0;
	nh = mp_tsv_fields(line, head, MAX_COLS, 0);
	if (c->json) {
		mp_json_init(&j, stdout, 1);
		mp_json_begin_array(&j);
	} else {
		for (i = 0; i < nh; i++) /* the numbers right-aligned */
			heads[i] = mp_asprintf("%s%s", i < 3 || i == 4 ? ">" : "", head[i]);
		t = mp_table_new((int)nh, (const char *const *)heads);
		for (i = 0; i < nh; i++)
			free(heads[i]);
	}
	while ((line = mp_text_line(&cur))) {
		n = mp_tsv_fields(line, f, MAX_COLS, 0);
		for (i = n; i < nh; i++)
			f[i] = NULL;
		if (c->json) {
			mp_json_begin_object(&j);
			for (i = 0; i < nh; i++) {
				mp_json_key(&j, head[i]);
				if (f[i])
					json_cell(&j, f[i]);
				else
					mp_json_null(&j);
			}
			mp_json_end_object(&j);
		} else if (t) {
			mp_table_add(t, (const char *const *)f);
		}
	}
	if (c->json) {
		mp_json_end_array(&j);
		mp_json_finish(&j);
	} else {
		const mp_prop *best = mp_prop_find(a->props, a->nprops, "best_trial");
		const mp_prop *obj = mp_prop_find(a->props, a->nprops, "objective");
		const mp_prop *val = mp_prop_find(a->props, a->nprops, "best_objective");
		const mp_prop *vals = mp_prop_find(a->props, a->nprops, "values");

		mp__meta_print_table(t);
		if (best && obj && val && vals)
			printf("best: trial %lld, %s %.6g, with %s\n", (long long)best->i, obj->s, val->d, vals->s);
	}
	mp_table_free(t);
	return 0;
}

/* meta trials [ARTIFACT_ID] */
int mp__meta_trials(meta_ctx *c, mp_err *err)
{
	mp_artifact a = {0};
	char *path, *text = NULL;
	int rc;

	if ((rc = find_artifact(c, &a, err)) != 0)
		return rc;
	if (!(path = mp_asprintf("%s/trials.tsv", a.uri)))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	else if ((rc = mp_read_file(path, &text, NULL, err)) == 0)
		rc = print_trials(c, &a, text);
	free(text);
	free(path);
	mp_artifact_release(&a);
	return rc;
}
