/* The schema: what the data is expected to look like, as YAML a person can
 * read, edit and pin:
 *
 *   features:
 *     - name: age
 *       type: float
 *       required: true
 *       min: 0
 *       max: 120
 *     - name: species
 *       type: string
 *       required: true
 *       values: [setosa, versicolor, virginica]
 */
#include "core/json.h"
#include "data/examples.h"
#include "data/stats.h"
#include "data/schema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void mp_schema_release(mp_schema *sc)
{
	size_t i, v;

	for (i = 0; i < sc->nfeatures; i++) {
		for (v = 0; v < sc->features[i].nvalues; v++)
			free(sc->features[i].values[v]);
		free(sc->features[i].values);
		free(sc->features[i].name);
	}
	free(sc->features);
	mp_name_index_release(&sc->ix);
	memset(sc, 0, sizeof(*sc));
}

const mp_schema_feature *mp_schema_find(const mp_schema *sc, const char *name)
{
	size_t i;

	if (sc->ix.n == sc->nfeatures && sc->nfeatures) {
		long k = mp_name_index_find(&sc->ix, name);

		return k < 0 ? NULL : &sc->features[k];
	}
	for (i = 0; i < sc->nfeatures; i++)
		if (strcmp(sc->features[i].name, name) == 0)
			return &sc->features[i];
	return NULL;
}

int mp_schema_infer(mp_schema *out, const mp_stats *s, const char *split, int ranges, int max_values,
		    mp_err *err)
{
	const mp_split_stats *ss = split ? mp_stats_split(s, split) : NULL;
	size_t i, v;

	memset(out, 0, sizeof(*out));
	if (!ss && s->nsplits)
		ss = &s->splits[0];
	if (!ss)
		return mp_error(err, MP_EINVAL, "the statistics have no split '%s'", split ? split : "?");
	if (!(out->features = mp_calloc(ss->nfeats + 1, sizeof(*out->features))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < ss->nfeats; i++) {
		const mp_feat_stats *fs = &ss->feats[i];
		mp_schema_feature *sf = &out->features[i];

		out->nfeatures++;
		if (!(sf->name = mp_strdup(fs->name)))
			goto oom;
		sf->type = fs->type;
		sf->required = fs->missing == 0;
		if (fs->type == MP_FEAT_FLOAT && ranges && fs->count) {
			sf->has_range = 1;
			sf->min = fs->min;
			sf->max = fs->max;
		}
		if (fs->type == MP_FEAT_STRING && fs->all_values && fs->unique <= max_values) {
			sf->has_values = 1;
			if (fs->nvalues && !(sf->values = mp_calloc(fs->nvalues, sizeof(*sf->values))))
				goto oom;
			for (v = 0; v < fs->nvalues; v++, sf->nvalues++)
				if (!(sf->values[v] = mp_strdup(fs->values[v].value)))
					goto oom;
		}
		if (mp_name_index_add(&out->ix, sf->name, i, NULL) < 0)
			goto oom;
	}
	return 0;
oom:
	mp_schema_release(out);
	return mp_error(err, MP_ENOMEM, "out of memory");
}

/* A YAML double-quoted scalar. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int mp_schema_write(const mp_schema *sc, const char *path, const char *header, mp_err *err)
{
	mp_afile af;
	size_t i, v;
	int rc;

	if ((rc = mp_afile_open(&af, path, err)) != 0)
		return rc;
	if (header)
		fprintf(af.fp, "# %s\n", header);
	fprintf(af.fp, "# Edit freely: types (float, string), required, min and max for numbers,\n"
		       "# values for strings (the whole vocabulary).  Pin an edited copy with\n"
		       "# SchemaGen's 'schema:' param.\n"
		       "features:\n");
	for (i = 0; i < sc->nfeatures; i++) {
		const mp_schema_feature *sf = &sc->features[i];

		fputs("  - name: ", af.fp);
		put_quoted(af.fp, sf->name);
		fprintf(af.fp, "\n    type: %s\n    required: %s\n", sf->type == MP_FEAT_FLOAT ? "float" : "string",
			sf->required ? "true" : "false");
		if (sf->has_range)
			fprintf(af.fp, "    min: %.9g\n    max: %.9g\n", sf->min, sf->max);
		if (sf->has_values) {
			fputs("    values: [", af.fp);
			for (v = 0; v < sf->nvalues; v++) {
				if (v)
					fputs(", ", af.fp);
				put_quoted(af.fp, sf->values[v]);
			}
			fputs("]\n", af.fp);
		}
	}
	return mp_afile_commit(&af, err);
}

/* ---- reading ----------------------------------------------------------- */

typedef struct reader {
	const char *path;
	yaml_document_t *doc;
	mp_err *err;
	int failed;
} reader;

static int bad(reader *R, yaml_node_t *n, const char *fmt, ...) MP_PRINTF(3, 4);
static int bad(reader *R, yaml_node_t *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!R->failed)
		mp_error(R->err, MP_EINVAL, "%s:%d:%d: %s", R->path, n ? (int)n->start_mark.line + 1 : 1,
			 n ? (int)n->start_mark.column + 1 : 1, msg);
	R->failed = 1;
	return MP_EINVAL;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int read_number(reader *R, yaml_node_t *n, const char *what, double *out)
{
	const char *s = scalar(n);
	char *end;

	if (!s || !*s)
		return bad(R, n, "'%s' must be a number", what);
	*out = strtod(s, &end);
	if (*end || isnan(*out))
		return bad(R, n, "'%s' must be a number, not '%s'", what, s);
	return 0;
}

static int read_bool(reader *R, yaml_node_t *n, const char *what, int *out)
{
	const char *s = scalar(n);

	if (s && (!strcmp(s, "true") || !strcmp(s, "yes")))
		*out = 1;
	else if (s && (!strcmp(s, "false") || !strcmp(s, "no")))
		*out = 0;
	else
		return bad(R, n, "'%s' must be true or false", what);
	return 0;
}

static int read_feature(reader *R, yaml_node_t *node, mp_schema_feature *sf, int *has_min, int *has_max)
{
	yaml_node_pair_t *pr;

	if (node->type != YAML_MAPPING_NODE)
		return bad(R, node, "a feature must be a mapping (name, type, ...)");
	sf->required = 0;
	sf->type = (mp_feat_type)-1;
	for (pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(R->doc, pr->key), *v = yaml_document_get_node(R->doc, pr->value);
		const char *key = scalar(k);

		if (!key)
			return bad(R, k, "keys must be names");
		if (!strcmp(key, "name")) {
			if (!scalar(v) || !*scalar(v))
				return bad(R, v, "'name' must be a non-empty string");
			free(sf->name);
			if (!(sf->name = mp_strdup(scalar(v))))
				return mp_error(R->err, MP_ENOMEM, "out of memory");
		} else if (!strcmp(key, "type")) {
			const char *t = scalar(v);

			if (t && !strcmp(t, "float"))
				sf->type = MP_FEAT_FLOAT;
			else if (t && !strcmp(t, "string"))
				sf->type = MP_FEAT_STRING;
			else
				return bad(R, v, "'type' must be float or string");
		} else if (!strcmp(key, "required")) {
			if (read_bool(R, v, "required", &sf->required))
				return MP_EINVAL;
		} else if (!strcmp(key, "min")) {
			if (read_number(R, v, "min", &sf->min))
				return MP_EINVAL;
			*has_min = 1;
		} else if (!strcmp(key, "max")) {
			if (read_number(R, v, "max", &sf->max))
				return MP_EINVAL;
			*has_max = 1;
		} else if (!strcmp(key, "values")) {
			yaml_node_item_t *it;
			size_t n;

			if (v->type != YAML_SEQUENCE_NODE)
				return bad(R, v, "'values' must be a list");
			n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
			if (!(sf->values = mp_calloc(n + 1, sizeof(*sf->values))))
				return mp_error(R->err, MP_ENOMEM, "out of memory");
			for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
				yaml_node_t *item = yaml_document_get_node(R->doc, *it);

				if (!scalar(item))
					return bad(R, item, "a value must be a string");
				if (!(sf->values[sf->nvalues++] = mp_strdup(scalar(item))))
					return mp_error(R->err, MP_ENOMEM, "out of memory");
			}
			sf->has_values = 1;
		} else {
			return bad(R, k, "unknown key '%s' in a feature (name, type, required, min, max, values)", key);
		}
	}
	if (!sf->name)
		return bad(R, node, "a feature needs a 'name'");
	if (sf->type != MP_FEAT_FLOAT && sf->type != MP_FEAT_STRING)
		return bad(R, node, "feature '%s' needs a 'type' (float or string)", sf->name);
	return 0;
}

int mp_schema_read(mp_schema *out, const char *path, mp_err *err)
{
	char *text;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mp_read_file(path, &text, &len, err)) != 0)
		return rc;
	rc = mp_schema_parse(out, text, len, path, err);
	free(text);
	return rc;
}

int mp_schema_parse(mp_schema *out, const char *text, size_t len, const char *path, mp_err *err)
{
	yaml_document_t doc;
	yaml_node_t *root, *list = NULL;
	yaml_node_pair_t *pr;
	reader R = {path, &doc, err, 0};
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mp_yaml_load(&doc, text, len, path, 1, err)) != 0)
		return rc;
	root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		rc = bad(&R, root, "a schema is a mapping with a 'features' list");
		goto out;
	}
	for (pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pr->key);

		if (scalar(k) && !strcmp(scalar(k), "features"))
			list = yaml_document_get_node(&doc, pr->value);
		else {
			rc = bad(&R, k, "unknown key '%s' (a schema has 'features')", scalar(k) ? scalar(k) : "?");
			goto out;
		}
	}
	if (!list || list->type != YAML_SEQUENCE_NODE) {
		rc = bad(&R, list ? list : root, "'features' must be a list");
		goto out;
	}
	len = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
	if (!(out->features = mp_calloc(len + 1, sizeof(*out->features)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < len; i++) {
		yaml_node_t *item = yaml_document_get_node(&doc, list->data.sequence.items.start[i]);
		mp_schema_feature *sf = &out->features[i];
		int has_min = 0, has_max = 0;

		out->nfeatures++;
		if ((rc = read_feature(&R, item, sf, &has_min, &has_max)) != 0)
			goto out;
		if (has_min != has_max || ((has_min || has_max) && sf->type != MP_FEAT_FLOAT)) {
			rc = bad(&R, item, "feature '%s': 'min' and 'max' go together, on a float", sf->name);
			goto out;
		}
		if (has_min && sf->min > sf->max) {
			rc = bad(&R, item, "feature '%s': min %g is above max %g", sf->name, sf->min, sf->max);
			goto out;
		}
		if (sf->has_values && sf->type != MP_FEAT_STRING) {
			rc = bad(&R, item, "feature '%s': 'values' goes with type string", sf->name);
			goto out;
		}
		sf->has_range = has_min;
		if ((rc = mp_name_index_add(&out->ix, sf->name, i, NULL)) != 0) {
			rc = rc < 0 ? mp_error(err, MP_ENOMEM, "out of memory")
				    : bad(&R, item, "feature '%s' appears twice", sf->name);
			goto out;
		}
	}
out:
	if (rc != 0)
		mp_schema_release(out);
	yaml_document_delete(&doc);
	return rc;
}
