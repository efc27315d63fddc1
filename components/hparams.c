/* Hyperparameters: the search space, values applied to a component's
 * params, and the hyperparameters file (see hparams.h).  The load-time
 * checks with positions are in hparams_check.c. */
#include "components/hparams.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 16

static const mp_name domain_kinds[] = {
	{"choice", MP_HP_CHOICE},
	{"int", MP_HP_INT},
	{"uniform", MP_HP_UNIFORM},
	{"log_uniform", MP_HP_LOG_UNIFORM},
};

static int digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* A path's segments, in place in buf (at most MAX_SEGS). */
static size_t split_path(char *buf, char **segs)
{
	size_t n = 0;
	char *p = buf, *dot;

	for (; n < MAX_SEGS; p = dot + 1) {
		segs[n++] = p;
		if (!(dot = strchr(p, '.')))
			break;
		*dot = '\0';
	}
	return n;
}

/* A number as JSON: the shortest of 15 or 17 digits that reads back. */
static void add_number(mp_strbuf *sb, double v)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	mp_strbuf_adds(sb, buf);
}

/* ---- the search space -------------------------------------------------- */

void mp_hp_space_release(mp_hp_space *s)
{
	size_t i, k;

	for (i = 0; s->d && i < s->n; i++) {
		free(s->d[i].path);
		for (k = 0; k < s->d[i].nchoices; k++)
			free(s->d[i].choices[k]);
		free(s->d[i].choices);
	}
	free(s->d);
	s->d = NULL;
	s->n = 0;
}

static int bound(const char *s, const char *path, double *v, mp_err *err)
{
	char *end;

	if (!s)
		return mp_error(err, MP_EINVAL, "search: %s: the bounds are numbers", path);
	*v = strtod(s, &end);
	if (end == s || *end || !isfinite(*v))
		return mp_error(err, MP_EINVAL, "search: %s: '%s' is not a number", path, s);
	return 0;
}

static int parse_domain(const mp_jdoc *doc, const mp_jnode *dn, mp_hp_domain *d, mp_err *err)
{
	const char *kind = mp_jnode_key(doc, dn, 0);
	const mp_jnode *v = mp_jnode_at(doc, dn, 0);
	int k;
	size_t i;

	if (!mp_jnode_is_map(dn) || mp_jnode_len(dn) != 1 || !kind)
		return mp_error(err, MP_EINVAL, "search: %s: a domain is one of {choice: [...]}, {int: [lo, hi]}, "
				"{uniform: [lo, hi]}, {log_uniform: [lo, hi]}", d->path);
	if (mp_name_lookup(domain_kinds, MP_COUNTOF(domain_kinds), kind, "domain", &k, err) != 0)
		return mp_error_wrap(err, "search: %s", d->path);
	d->kind = (mp_hp_kind)k;
	if (!mp_jnode_is_list(v))
		return mp_error(err, MP_EINVAL, "search: %s: %s takes a list", d->path, kind);
	if (d->kind == MP_HP_CHOICE) {
		if (!mp_jnode_len(v))
			return mp_error(err, MP_EINVAL, "search: %s: choice needs at least one value", d->path);
		if (!(d->choices = mp_calloc(mp_jnode_len(v), sizeof(char *))))
			return mp_error(err, MP_ENOMEM, "out of memory");
		for (i = 0; i < mp_jnode_len(v); i++) {
			mp_strbuf sb = MP_STRBUF_INIT;

			mp_jnode_json(doc, mp_jnode_at(doc, v, i), &sb);
			if (!(d->choices[d->nchoices++] = mp_strbuf_detach(&sb)))
				return mp_error(err, MP_ENOMEM, "out of memory");
		}
		return 0;
	}
	if (mp_jnode_len(v) != 2)
		return mp_error(err, MP_EINVAL, "search: %s: %s takes [lo, hi]", d->path, kind);
	if (bound(mp_jnode_str(mp_jnode_at(doc, v, 0)), d->path, &d->lo, err) != 0 ||
	    bound(mp_jnode_str(mp_jnode_at(doc, v, 1)), d->path, &d->hi, err) != 0)
		return err->code;
	if (d->kind == MP_HP_INT && (d->lo != floor(d->lo) || d->hi != floor(d->hi) || fabs(d->lo) > 1e15 ||
				     fabs(d->hi) > 1e15))
		return mp_error(err, MP_EINVAL, "search: %s: int takes whole numbers", d->path);
	if (d->kind == MP_HP_INT ? d->lo > d->hi : d->lo >= d->hi)
		return mp_error(err, MP_EINVAL, "search: %s: lo %g is not below hi %g", d->path, d->lo, d->hi);
	if (d->kind == MP_HP_LOG_UNIFORM && d->lo <= 0)
		return mp_error(err, MP_EINVAL, "search: %s: log_uniform needs lo above 0", d->path);
	return 0;
}

/* One path inside another would set the same value twice. */
static int nested(const mp_hp_space *s, mp_err *err)
{
	size_t i, j, n;

	for (i = 0; i < s->n; i++)
		for (j = 0; j < s->n; j++) {
			n = strlen(s->d[i].path);
			if (i != j && !strncmp(s->d[i].path, s->d[j].path, n) && s->d[j].path[n] == '.')
				return mp_error(err, MP_EINVAL, "search: '%s' lies inside '%s'", s->d[j].path,
						s->d[i].path);
		}
	return 0;
}

int mp_hp_space_parse(mp_hp_space *s, const char *text, mp_err *err)
{
	const mp_jnode *root;
	mp_jdoc *doc;
	size_t i;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if ((rc = mp_jdoc_parse(&doc, text, "search", err)) != 0)
		return rc;
	root = mp_jdoc_root(doc);
	if (!mp_jnode_is_map(root) || !mp_jnode_len(root)) {
		mp_jdoc_free(doc);
		return mp_error(err, MP_EINVAL, "search: needs a mapping of params to domains ({optimizer.lr: "
				"{log_uniform: [0.0001, 0.1]}})");
	}
	if (!(s->d = mp_calloc(mp_jnode_len(root), sizeof(*s->d))))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; rc == 0 && i < mp_jnode_len(root); i++) {
		mp_hp_domain *d = &s->d[s->n++];

		if (!(d->path = mp_strdup(mp_jnode_key(doc, root, i))))
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		else
			rc = parse_domain(doc, mp_jnode_at(doc, root, i), d, err);
	}
	mp_jdoc_free(doc);
	return rc ? rc : nested(s, err);
}

uint64_t mp_hp_domain_size(const mp_hp_domain *d)
{
	if (d->kind == MP_HP_CHOICE)
		return d->nchoices;
	if (d->kind == MP_HP_INT)
		return (uint64_t)(d->hi - d->lo) + 1;
	return 0;
}

char *mp_hp_domain_value(const mp_hp_domain *d, double u)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	uint64_t size = mp_hp_domain_size(d), k = 0;
	char buf[40];
	double v;

	if (size) {
		k = u < 0 ? (uint64_t)(-1 - u) : (uint64_t)(u * (double)size);
		if (k >= size)
			k = size - 1;
		if (d->kind == MP_HP_CHOICE)
			return mp_strdup(d->choices[k]);
		add_number(&sb, d->lo + (double)k);
		return mp_strbuf_detach(&sb);
	}
	if (d->kind == MP_HP_LOG_UNIFORM)
		v = exp(log(d->lo) + u * (log(d->hi) - log(d->lo)));
	else
		v = d->lo + u * (d->hi - d->lo);
	/* six digits: what a person reads and writes back, applied exactly */
	snprintf(buf, sizeof(buf), "%.6g", v < d->lo ? d->lo : v > d->hi ? d->hi : v);
	return mp_strdup(buf);
}

/* ---- applying values ----------------------------------------------------- */

/* The JSON of a value at segs[0..n) below a place that has none. */
static int build(char **segs, size_t n, const char *value, const char *path, mp_strbuf *sb, mp_err *err)
{
	if (!n) {
		mp_strbuf_adds(sb, value);
		return 0;
	}
	if (digits(segs[0]))
		return mp_error(err, MP_EINVAL, "%s: there is no list to take item %s of", path, segs[0]);
	mp_strbuf_adds(sb, "{");
	mp_json_quote(sb, segs[0]);
	mp_strbuf_adds(sb, ":");
	if (build(segs + 1, n - 1, value, path, sb, err) != 0)
		return err->code;
	mp_strbuf_adds(sb, "}");
	return 0;
}

/* n's JSON with the value at segs[0..nseg) replaced by value (added to a
 * mapping that lacks it). */
static int put(const mp_jdoc *d, const mp_jnode *n, char **segs, size_t nseg, const char *value, const char *path,
	       mp_strbuf *sb, mp_err *err)
{
	size_t i, len = mp_jnode_len(n), k;
	int found = 0, rc = 0;

	if (!nseg) {
		mp_strbuf_adds(sb, value);
		return 0;
	}
	if (mp_jnode_is_list(n)) {
		k = digits(segs[0]) ? strtoull(segs[0], NULL, 10) : len;
		if (!digits(segs[0]) || k >= len)
			return mp_error(err, MP_EINVAL, "%s: the list has no item %s (it has %zu, counted from 0)", path,
					segs[0], len);
		mp_strbuf_adds(sb, "[");
		for (i = 0; i < len && rc == 0; i++) {
			if (i)
				mp_strbuf_adds(sb, ",");
			if (i == k)
				rc = put(d, mp_jnode_at(d, n, i), segs + 1, nseg - 1, value, path, sb, err);
			else
				mp_jnode_json(d, mp_jnode_at(d, n, i), sb);
		}
		mp_strbuf_adds(sb, "]");
		return rc;
	}
	if (!mp_jnode_is_map(n))
		return mp_error(err, MP_EINVAL, "%s: '%s' has no place for it (%s is a single value)", path, segs[0],
				mp_jnode_str(n) ? mp_jnode_str(n) : "it");
	mp_strbuf_adds(sb, "{");
	for (i = 0; i < len && rc == 0; i++) {
		const char *key = mp_jnode_key(d, n, i);

		if (i)
			mp_strbuf_adds(sb, ",");
		mp_json_quote(sb, key ? key : "?");
		mp_strbuf_adds(sb, ":");
		if (key && !strcmp(key, segs[0])) {
			found = 1;
			rc = put(d, mp_jnode_at(d, n, i), segs + 1, nseg - 1, value, path, sb, err);
		} else {
			mp_jnode_json(d, mp_jnode_at(d, n, i), sb);
		}
	}
	if (!found && rc == 0) {
		if (len)
			mp_strbuf_adds(sb, ",");
		if (digits(segs[0]))
			return mp_error(err, MP_EINVAL, "%s: '%s' is a list position, and this is a mapping", path, segs[0]);
		mp_json_quote(sb, segs[0]);
		mp_strbuf_adds(sb, ":");
		rc = build(segs + 1, nseg - 1, value, path, sb, err);
	}
	mp_strbuf_adds(sb, "}");
	return rc;
}

/* A JSON scalar's text ("\"relu\"" -> relu), for a param that is not JSON. */
static int scalar_text(const char *value, const char *path, char **out, mp_err *err)
{
	mp_jdoc *d;
	int rc;

	if ((rc = mp_jdoc_parse(&d, value, path, err)) != 0)
		return rc;
	if (!mp_jnode_str(mp_jdoc_root(d)))
		rc = mp_error(err, MP_EINVAL, "%s: takes a single value, not a list or a mapping", path);
	else if (!(*out = mp_strdup(mp_jnode_str(mp_jdoc_root(d)))))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	mp_jdoc_free(d);
	return rc;
}

/* text checked against spec (for JSON, its shape: text the program made,
 * so without positions); *text replaced by its canonical form. */
static int settle(const mp_param_spec *spec, char **text, mp_err *err)
{
	char *canon = NULL;
	int rc;

	if (spec->type != MP_PARAM_JSON)
		rc = mp_param_check(spec, *text, &canon, err);
	else if ((rc = mp_yaml_to_json(*text, &canon, err)) != 0)
		rc = mp_error_wrap(err, "%s", spec->name);
	else
		rc = mp_shape_check_made(spec->shape, *text, spec->name, err);
	if (rc == 0 && canon) {
		free(*text);
		*text = canon;
		canon = NULL;
	}
	free(canon);
	return rc;
}

/* params[k] (the param of path's first segment) with the value at path set. */
static int set_path(const mp_component_type *t, mp_kv *params, size_t np, const char *path, const char *value,
		    mp_err *err)
{
	char buf[512], *segs[MAX_SEGS], *text = NULL, near[128];
	const mp_param_spec *spec;
	size_t nseg, k;
	int rc = 0;

	if (strlen(path) >= sizeof(buf))
		return mp_error(err, MP_EINVAL, "%s: the path is too long", path);
	strcpy(buf, path);
	nseg = split_path(buf, segs);
	if (!(spec = mp_component_param(t, segs[0])))
		return mp_error(err, MP_EINVAL, "%s: %s has no param '%s'%s", path, t->name, segs[0],
				mp_did_you_mean(mp_closest_in(segs[0], t->params, t->nparams, sizeof(*t->params)), near,
						sizeof(near)));
	for (k = 0; k < np && strcmp(params[k].key, segs[0]); k++)
		;
	if (k == np)
		return mp_error(err, MP_EINVAL, "%s: no value for param '%s'", path, segs[0]);
	if (spec->type != MP_PARAM_JSON) {
		if (nseg > 1)
			return mp_error(err, MP_EINVAL, "%s: '%s' is a single value: nothing lies inside it", path,
					segs[0]);
		rc = scalar_text(value, path, &text, err);
	} else {
		mp_strbuf sb = MP_STRBUF_INIT;
		mp_jdoc *d;

		if ((rc = mp_jdoc_parse(&d, params[k].value, segs[0], err)) != 0)
			return rc;
		rc = put(d, mp_jdoc_root(d), segs + 1, nseg - 1, value, path, &sb, err);
		mp_jdoc_free(d);
		if (rc == 0 && !(text = mp_strbuf_detach(&sb)))
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		mp_strbuf_release(&sb);
	}
	if (rc == 0 && (rc = settle(spec, &text, err)) != 0 && nseg > 1)
		rc = mp_error_wrap(err, "with %s = %s", path, value);
	if (rc == 0) {
		free((char *)params[k].value);
		params[k].value = text;
		text = NULL;
	}
	free(text);
	return rc;
}

void mp_hp_params_free(mp_kv *p, size_t n)
{
	size_t i;

	for (i = 0; p && i < n; i++) {
		free((char *)p[i].key);
		free((char *)p[i].value);
	}
	free(p);
}

static int apply(const mp_component_type *t, mp_kv *p, size_t np, const char *const *paths,
		 const char *const *values, size_t n, mp_err *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = set_path(t, p, np, paths[i], values[i], err);
	return rc;
}

int mp_hp_override(const mp_component_type *t, const mp_kv *params, size_t nparams, const char *const *paths,
		   const char *const *values, size_t n, mp_kv **out, size_t *nout, mp_err *err)
{
	mp_kv *p;
	size_t i;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	if (!(p = mp_calloc(nparams ? nparams : 1, sizeof(*p))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < nparams && rc == 0; i++)
		if (!(p[i].key = mp_strdup(params[i].key)) || !(p[i].value = mp_strdup(params[i].value)))
			rc = mp_error(err, MP_ENOMEM, "out of memory");
	if (rc == 0)
		rc = apply(t, p, nparams, paths, values, n, err);
	if (rc != 0) {
		mp_hp_params_free(p, nparams);
		return rc;
	}
	*out = p;
	*nout = nparams;
	return 0;
}

/* params[] from the defaults, then the base mapping's values. */
static int from_base(const mp_component_type *t, const char *base, mp_kv *p, mp_err *err)
{
	const mp_jnode *root;
	mp_jdoc *d;
	size_t i, k;
	int rc = 0;

	for (i = 0; i < t->nparams; i++)
		if (!(p[i].key = mp_strdup(t->params[i].name)) ||
		    !(p[i].value = mp_strdup(t->params[i].def ? t->params[i].def : "")))
			return mp_error(err, MP_ENOMEM, "out of memory");
	if (!base)
		return 0;
	if ((rc = mp_jdoc_parse(&d, base, "trainer", err)) != 0)
		return rc;
	root = mp_jdoc_root(d);
	if (!mp_jnode_is_map(root) && !(mp_jnode_str(root) && !*mp_jnode_str(root)))
		rc = mp_error(err, MP_EINVAL, "the base params are not a mapping");
	for (i = 0; rc == 0 && i < mp_jnode_len(root); i++) {
		const char *key = mp_jnode_key(d, root, i);
		const mp_param_spec *spec = key ? mp_component_param(t, key) : NULL;
		mp_strbuf sb = MP_STRBUF_INIT;
		char *text;

		if (!spec) {
			rc = mp_error(err, MP_EINVAL, "%s has no param '%s'", t->name, key ? key : "?");
			break;
		}
		k = (size_t)(spec - t->params);
		mp_jnode_json(d, mp_jnode_at(d, root, i), &sb);
		if (!(text = mp_strbuf_detach(&sb))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		} else if (spec->type == MP_PARAM_JSON) {
			free((char *)p[k].value);
			p[k].value = text;
		} else {
			char *s = NULL;

			rc = scalar_text(text, key, &s, err);
			free(text);
			free((char *)p[k].value);
			p[k].value = s;
		}
		if (rc == 0 && p[k].value)
			rc = settle(spec, (char **)&p[k].value, err);
	}
	mp_jdoc_free(d);
	return rc;
}

int mp_hp_params(const mp_component_type *t, const char *base, const char *const *paths,
		 const char *const *values, size_t n, mp_kv **out, size_t *nout, mp_err *err)
{
	mp_kv *p;
	int rc;

	*out = NULL;
	*nout = 0;
	if (!(p = mp_calloc(t->nparams ? t->nparams : 1, sizeof(*p))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = from_base(t, base, p, err)) != 0 || (rc = apply(t, p, t->nparams, paths, values, n, err)) != 0) {
		mp_hp_params_free(p, t->nparams);
		return rc;
	}
	*out = p;
	*nout = t->nparams;
	return 0;
}

/* ---- the hyperparameters file ------------------------------------------- */

void mp_hp_strings_free(char **s, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
}

int mp_hp_file_read(const char *dir, char ***paths, char ***values, size_t *n, char **json, mp_err *err)
{
	char *path = mp_asprintf("%s/%s", dir, MP_HP_FILE), *text = NULL;
	const mp_jnode *vals;
	mp_strbuf sb = MP_STRBUF_INIT;
	mp_jdoc *d = NULL;
	size_t i, len = 0;
	int rc;

	*paths = *values = NULL;
	*n = 0;
	*json = NULL;
	if (!path)
		return mp_error(err, MP_ENOMEM, "out of memory");
	if ((rc = mp_read_file(path, &text, NULL, err)) != 0 || (rc = mp_jdoc_parse(&d, text, path, err)) != 0)
		goto out;
	vals = mp_jnode_get(d, mp_jdoc_root(d), "values");
	if (!mp_jnode_is_map(vals)) {
		rc = mp_error(err, MP_EINVAL, "%s: no \"values\" mapping of paths to values", path);
		goto out;
	}
	len = mp_jnode_len(vals);
	if (!(*paths = mp_calloc(len + 1, sizeof(char *))) || !(*values = mp_calloc(len + 1, sizeof(char *)))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < len; i++, (*n)++) {
		mp_strbuf v = MP_STRBUF_INIT;

		mp_jnode_json(d, mp_jnode_at(d, vals, i), &v);
		if (!((*paths)[i] = mp_strdup(mp_jnode_key(d, vals, i) ? mp_jnode_key(d, vals, i) : "?")) ||
		    !((*values)[i] = mp_strbuf_detach(&v))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto out;
		}
	}
	mp_jnode_json(d, vals, &sb);
	if (!(*json = mp_strbuf_detach(&sb)))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
out:
	if (rc != 0) {
		mp_hp_strings_free(*paths, len);
		mp_hp_strings_free(*values, len);
		*paths = *values = NULL;
		*n = 0;
	}
	mp_strbuf_release(&sb);
	mp_jdoc_free(d);
	free(text);
	free(path);
	return rc;
}
