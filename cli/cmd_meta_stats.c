/* mlpipe meta stats: the statistics an ExampleStatistics artifact holds. */
#include "cli/meta.h"

#include <stdlib.h>
#include <string.h>

#include "data/examples.h"
#include "data/stats.h"

static void stats_json(const meta_ctx *c, const mp_stats *s)
{
	size_t i, f, v;
	mp_json j;

	mp_json_init(&j, stdout, 1);
	mp_json_begin_array(&j);
	for (i = 0; i < s->nsplits; i++)
		for (f = 0; f < s->splits[i].nfeats; f++) {
			const mp_feat_stats *fs = &s->splits[i].feats[f];

			if (c->split && strcmp(c->split, s->splits[i].name))
				continue;
			mp_json_begin_object(&j);
			mp_json_key(&j, "split");
			mp_json_string(&j, s->splits[i].name);
			mp_json_key(&j, "feature");
			mp_json_string(&j, fs->name);
			mp_json_key(&j, "type");
			mp_json_string(&j, fs->type == MP_FEAT_FLOAT ? "float" : "string");
			mp_json_key(&j, "count");
			mp_json_int(&j, fs->count);
			mp_json_key(&j, "missing");
			mp_json_int(&j, fs->missing);
			if (fs->type == MP_FEAT_FLOAT) {
				int k;

				mp_json_key(&j, "mean");
				mp_json_double(&j, fs->mean);
				mp_json_key(&j, "std");
				mp_json_double(&j, fs->std);
				mp_json_key(&j, "min");
				mp_json_double(&j, fs->min);
				mp_json_key(&j, "max");
				mp_json_double(&j, fs->max);
				mp_json_key(&j, "zeros");
				mp_json_int(&j, fs->zeros);
				mp_json_key(&j, "histogram");
				mp_json_begin_array(&j);
				for (k = 0; k < MP_HIST_BINS; k++)
					mp_json_int(&j, fs->hist[k]);
				mp_json_end_array(&j);
			} else {
				mp_json_key(&j, "unique");
				mp_json_int(&j, fs->unique);
				mp_json_key(&j, "top");
				mp_json_begin_array(&j);
				for (v = 0; v < fs->nvalues && v < 10; v++) {
					mp_json_begin_object(&j);
					mp_json_key(&j, "value");
					mp_json_string(&j, fs->values[v].value);
					mp_json_key(&j, "count");
					mp_json_int(&j, fs->values[v].count);
					mp_json_end_object(&j);
				}
				mp_json_end_array(&j);
			}
			mp_json_end_object(&j);
		}
	mp_json_end_array(&j);
	mp_json_finish(&j);
}

static void stats_table(const meta_ctx *c, const mp_stats *s)
{
	static const char *const heads[] = {"SPLIT", "FEATURE", "TYPE", ">COUNT", ">MISSING", ">MEAN", ">STD",
					    ">MIN", ">MAX", "ZEROS / TOP VALUES"};
	mp_table *t = mp_table_new(10, heads);
	size_t i, f, v;


	for (i = 0; t && i < s->nsplits; i++)
		for (f = 0; f < s->splits[i].nfeats; f++) {
			const mp_feat_stats *fs = &s->splits[i].feats[f];
			char cnt[24], miss[24], mean[32], sd[32], mn[32], mx[32], last[400];
			const char *cells[10];

			if (c->split && strcmp(c->split, s->splits[i].name))
				continue;
			snprintf(cnt, sizeof(cnt), "%lld", (long long)fs->count);
			snprintf(miss, sizeof(miss), "%lld", (long long)fs->missing);
			cells[0] = s->splits[i].name;
			cells[1] = fs->name;
			cells[2] = fs->type == MP_FEAT_FLOAT ? "float" : "string";
			cells[3] = cnt;
			cells[4] = miss;
			if (fs->type == MP_FEAT_FLOAT) {
				cells[5] = mp__meta_fmt_value(mean, sizeof(mean), fs->mean);
				cells[6] = mp__meta_fmt_value(sd, sizeof(sd), fs->std);
				cells[7] = mp__meta_fmt_value(mn, sizeof(mn), fs->min);
				cells[8] = mp__meta_fmt_value(mx, sizeof(mx), fs->max);
				snprintf(last, sizeof(last), "%lld zeros", (long long)fs->zeros);
			} else {
				size_t len;

				cells[5] = cells[6] = cells[7] = cells[8] = NULL;
				len = (size_t)snprintf(last, sizeof(last), "%s%lld distinct:", fs->unique_capped ? ">=" : "",
						       (long long)fs->unique);
				for (v = 0; v < fs->nvalues && v < 5 && len < sizeof(last) - 80; v++)
					len += (size_t)snprintf(last + len, sizeof(last) - len, " %.40s (%lld)",
								fs->values[v].value, (long long)fs->values[v].count);
			}
			cells[9] = last;
			mp_table_add(t, cells);
		}
	mp__meta_print_table(t);
	mp_table_free(t);
}

/* meta stats ID */
int mp__meta_stats(meta_ctx *c, mp_err *err)
{
	mp_artifact a = {0};
	mp_stats st;
	int64_t id;
	int rc;

	if (c->npos != 1)
		return mp_error(err, MP_EINVAL, "'meta stats' needs one artifact id (an ExampleStatistics)");
	if ((rc = mp_parse_i64(c->pos[0], 1, INT64_MAX, &id, "artifact id", err)) != 0 ||
	    (rc = mp_store_get_artifact(c->st, id, &a, err)) != 0)
		return rc;
	if (strcmp(a.type, "ExampleStatistics") != 0) {
		rc = mp_error(err, MP_EINVAL, "artifact %lld is %s, not ExampleStatistics", (long long)id, a.type);
		mp_artifact_release(&a);
		return rc;
	}
	rc = mp_stats_read(&st, a.uri, err);
	mp_artifact_release(&a);
	if (rc != 0)
		return rc;
	if (c->json)
		stats_json(c, &st);
	else
		stats_table(c, &st);
	mp_stats_release(&st);
	return 0;
}
