/* ExampleValidator: the statistics checked against the schema, and against
 * the previous span's statistics for drift.
 *
 * Anomaly kinds: missing_feature, unexpected_feature, type_changed,
 * missing_values, out_of_range, unseen_values, drift; and from the
 * statistics alone, bad_values (cells of a numeric column that were not
 * numbers, read as missing) and numeric_strings (a string feature whose
 * values are mostly numbers, as TFDV flags).  Drift between spans
 * is the L-infinity distance between value frequencies for strings and, for
 * numbers, the difference of the means in units of their pooled standard
 * deviation.
 */
#include "components/component.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/examples.h"
#include "data/stats.h"
#include "data/schema.h"

static const mp_io_spec inputs[] = {
	{"statistics", "ExampleStatistics", 0, "the statistics to check"},
	{"schema", "Schema", 0, "what the data should look like"},
	{"baseline", "ExampleStatistics", 1,
	 "statistics of the previous span; the orchestrator finds them in the metadata store "
	 "when the pipeline does not wire this input"},
};

static const mp_resolve_spec resolves[] = {
	{"baseline", MP_RESOLVE_PREVIOUS_SPAN, "statistics", NULL, 0},
};

static const mp_io_spec outputs[] = {
	{"anomalies", "ExampleAnomalies", 0, "anomalies.tsv: split, feature, kind, detail"},
};

static const mp_param_spec params[] = {
	{"fail_on_anomalies", MP_PARAM_BOOL, "false", 0, 0, "fail the run when anything is found", NULL, NULL},
	{"drift_numeric", MP_PARAM_FLOAT, "0.5", 0, 1e9,
	 "drift of a number: |mean - previous mean| / pooled std above this", NULL, NULL},
	{"drift_categorical", MP_PARAM_FLOAT, "0.1", 0, 1,
	 "drift of a string: largest change of a value's frequency above this", NULL, NULL},
};

typedef struct finding {
	mp_strbuf list; /* one anomaly per line: split, feature, kind, detail */
	int n;
	mp_strbuf first; /* the first few, for an error message */
} finding;

static void add(finding *fd, const char *split, const char *feature, const char *kind, const char *fmt, ...)
	MP_PRINTF(5, 6);
static void add(finding *fd, const char *split, const char *feature, const char *kind, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	mp_strbuf_addf(&fd->list, "%s\t%s\t%s\t%s\n", split, feature, kind, detail);
	if (fd->n < 3)
		mp_strbuf_addf(&fd->first, "%s%s/%s %s (%s)", fd->n ? "; " : "", split, feature, kind, detail);
	fd->n++;
}

static int value_known(const mp_schema_feature *sf, const char *v)
{
	size_t i;

	for (i = 0; i < sf->nvalues; i++)
		if (strcmp(sf->values[i], v) == 0)
			return 1;
	return 0;
}

static void check_split(finding *fd, const mp_split_stats *ss, const mp_schema *sc)
{
	size_t i, v;

	for (i = 0; i < sc->nfeatures; i++)
		if (!mp_stats_feature(ss, sc->features[i].name))
			add(fd, ss->name, sc->features[i].name, "missing_feature", "in the schema but not in the data");
	for (i = 0; i < ss->nfeats; i++) {
		const mp_feat_stats *fs = &ss->feats[i];
		const mp_schema_feature *sf = mp_schema_find(sc, fs->name);

		if (fs->type == MP_FEAT_FLOAT && fs->bad_values > 0)
			add(fd, ss->name, fs->name, "bad_values",
			    "%lld cells were not numbers and were read as missing (on_bad_value: missing)",
			    (long long)fs->bad_values);
		if (fs->type == MP_FEAT_STRING && fs->count && fs->numeric * 2 > fs->count)
			add(fd, ss->name, fs->name, "numeric_strings",
			    "a string feature, but %lld of its %lld values are numbers (a column of numbers with stray "
			    "words? see ExampleGen's on_bad_value and string_columns)",
			    (long long)fs->numeric, (long long)fs->count);
		if (!sf) {
			add(fd, ss->name, fs->name, "unexpected_feature", "in the data but not in the schema");
			continue;
		}
		if (sf->type != fs->type) {
			add(fd, ss->name, fs->name, "type_changed", "the schema says %s, the data has %s",
			    sf->type == MP_FEAT_FLOAT ? "float" : "string", fs->type == MP_FEAT_FLOAT ? "float" : "string");
			continue;
		}
		if (sf->required && fs->missing > 0)
			add(fd, ss->name, fs->name, "missing_values", "%lld of %lld examples lack it",
			    (long long)fs->missing, (long long)(fs->missing + fs->count));
		if (fs->type == MP_FEAT_FLOAT && sf->has_range && fs->count && (fs->min < sf->min || fs->max > sf->max))
			add(fd, ss->name, fs->name, "out_of_range", "values from %g to %g, the schema allows %g to %g",
			    fs->min, fs->max, sf->min, sf->max);
		if (fs->type == MP_FEAT_STRING && sf->has_values) {
			mp_strbuf unseen = MP_STRBUF_INIT;
			int n = 0;

			for (v = 0; v < fs->nvalues; v++)
				if (!value_known(sf, fs->values[v].value)) {
					if (n < 5)
						mp_strbuf_addf(&unseen, "%s'%s'", n ? ", " : "", fs->values[v].value);
					n++;
				}
			if (n)
				add(fd, ss->name, fs->name, "unseen_values", "%d value%s not in the schema: %s%s", n,
				    n == 1 ? "" : "s", mp_strbuf_str(&unseen), n > 5 ? ", ..." : "");
			mp_strbuf_release(&unseen);
		}
	}
}

static double freq_of(const mp_feat_stats *fs, const char *v, int *known)
{
	size_t i;

	for (i = 0; i < fs->nvalues; i++)
		if (strcmp(fs->values[i].value, v) == 0)
			return fs->count ? (double)fs->values[i].count / (double)fs->count : 0;
	*known = fs->all_values;
	return 0;
}

static void check_drift(finding *fd, const mp_split_stats *cur, const mp_split_stats *base, double dn, double dc)
{
	size_t i, v;

	for (i = 0; i < cur->nfeats; i++) {
		const mp_feat_stats *a = &cur->feats[i], *b = mp_stats_feature(base, a->name);

		if (!b || b->type != a->type || !a->count || !b->count)
			continue;
		if (a->type == MP_FEAT_FLOAT) {
			double pooled = sqrt((a->std * a->std + b->std * b->std) / 2), d;

			if (pooled <= 0)
				d = a->mean == b->mean ? 0 : INFINITY;
			else
				d = fabs(a->mean - b->mean) / pooled;
			if (d > dn)
				add(fd, cur->name, a->name, "drift", "mean %g, previous span %g: %.3g pooled std apart (limit %g)",
				    a->mean, b->mean, d, dn);
		} else {
			double worst = 0;
			const char *at = NULL;
			int pass;

			for (pass = 0; pass < 2; pass++) {
				const mp_feat_stats *x = pass ? b : a, *y = pass ? a : b;

				for (v = 0; v < x->nvalues; v++) {
					int known = 1;
					double fy = freq_of(y, x->values[v].value, &known);
					double fx = (double)x->values[v].count / (double)x->count;

					if (known && fabs(fx - fy) > worst) {
						worst = fabs(fx - fy);
						at = x->values[v].value;
					}
				}
			}
			if (worst > dc)
				add(fd, cur->name, a->name, "drift", "the frequency of '%s' changed by %.3g (limit %g)", at,
				    worst, dc);
		}
	}
}

static int run_validator(const mp_component_io *io, mp_err *err)
{
	const char *stats_dir = mp_io_input(io, "statistics"), *schema_dir = mp_io_input(io, "schema");
	const char *base_dir = mp_io_input(io, "baseline");
	char *schema_path = NULL, *out = NULL;
	finding fd = {MP_STRBUF_INIT, 0, MP_STRBUF_INIT};
	mp_stats st = {0}, base = {0};
	mp_schema sc = {0};
	size_t i;
	int rc;

	if (!stats_dir || !schema_dir)
		return mp_error(err, MP_EINVAL, "ExampleValidator needs 'statistics' and 'schema' inputs");
	if (!(schema_path = mp_asprintf("%s/schema.yaml", schema_dir)) ||
	    !(out = mp_asprintf("%s/anomalies.tsv", mp_io_output(io, "anomalies")))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = mp_stats_read(&st, stats_dir, err)) != 0 || (rc = mp_schema_read(&sc, schema_path, err)) != 0)
		goto done;
	if (base_dir && (rc = mp_stats_read(&base, base_dir, err)) != 0)
		goto done;
	for (i = 0; i < st.nsplits; i++) {
		check_split(&fd, &st.splits[i], &sc);
		if (base_dir && mp_stats_split(&base, st.splits[i].name))
			check_drift(&fd, &st.splits[i], mp_stats_split(&base, st.splits[i].name),
				    atof(mp_io_param(io, "drift_numeric")), atof(mp_io_param(io, "drift_categorical")));
	}
	if (fd.list.failed || fd.first.failed) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto done;
	}
	{
		mp_strbuf file = MP_STRBUF_INIT;

		mp_strbuf_adds(&file, "mlpipe-anomalies 1\n");
		mp_strbuf_adds(&file, mp_strbuf_str(&fd.list));
		rc = file.failed ? mp_error(err, MP_ENOMEM, "out of memory")
				 : mp_write_file_atomic(out, file.buf, file.len, err);
		mp_strbuf_release(&file);
	}
	if (rc == 0 && (mp_result_metric(io->result, "anomalies", 0, fd.n) != 0 ||
			mp_result_prop_int(io->result, "anomalies", "count", fd.n) != 0 ||
			mp_result_prop_string(io->result, "anomalies", "drift_checked", base_dir ? "yes" : "no") != 0))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0 && fd.n) {
		fputs(mp_strbuf_str(&fd.list), stderr); /* the whole list, in the log */
		if (!strcmp(mp_io_param(io, "fail_on_anomalies"), "true"))
			rc = mp_error(err, MP_EINVAL, "%d anomal%s: %s%s", fd.n, fd.n == 1 ? "y" : "ies",
				      mp_strbuf_str(&fd.first), fd.n > 3 ? "; ..." : "");
	}
done:
	mp_strbuf_release(&fd.list);
	mp_strbuf_release(&fd.first);
	mp_stats_release(&st);
	mp_stats_release(&base);
	mp_schema_release(&sc);
	free(schema_path);
	free(out);
	return rc;
}

const mp_component_type mp_example_validator_component = {
	.name = "ExampleValidator",
	.version = "2",
	.summary = "checks statistics against the schema and the previous span (drift)",
	.inputs = inputs,
	.ninputs = MP_COUNTOF(inputs),
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.resolves = resolves,
	.nresolves = MP_COUNTOF(resolves),
	.run = run_validator,
};
