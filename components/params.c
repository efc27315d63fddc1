/* Param specs: checking a value against its spec (ranges, choices, lists
 * and maps) and its canonical text. */
#include "components/component.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const mp_param_spec *mp_component_param(const mp_component_type *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nparams; i++)
		if (strcmp(t->params[i].name, name) == 0)
			return &t->params[i];
	return NULL;
}

int mp_param_bind(const mp_component_type *t, const char *name, const char *value, const mp_param_spec **spec,
		  char **canon, mp_err *err)
{
	char near[128];

	*canon = NULL;
	if (!(*spec = mp_component_param(t, name))) {
		if (t->any_params)
			return 0;
		return mp_error(err, MP_ENOTFOUND, "%s has no param '%s'%s", t->name, name,
				mp_did_you_mean(mp_closest_in(name, t->params, t->nparams, sizeof(*t->params)), near,
						sizeof(near)));
	}
	return mp_param_check(*spec, value, canon, err);
}

const char *mp_param_type_name(mp_param_type t)
{
	static const char *const names[] = {"int", "float", "bool", "string", "path", "paths", "list", "map", "yaml"};

	return (unsigned)t < 9 ? names[t] : "?";
}

int mp_param_lines(const char *value, char **buf, char ***items, size_t *n, mp_err *err)
{
	size_t alloc = 0;
	char *p, *nl;

	*items = NULL;
	*n = 0;
	if (!(*buf = mp_strdup(value)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (p = *buf; *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (!*p)
			continue;
		if (mp_grow((void **)items, &alloc, *n, sizeof(**items)) != 0) {
			free(*items);
			free(*buf);
			*items = NULL;
			*buf = NULL;
			return mp_error(err, MP_ENOMEM, "out of memory");
		}
		(*items)[(*n)++] = p;
		if (!nl)
			break;
	}
	return 0;
}

/* A map: "name=path" items separated by newlines (from the file) or commas
 * (from --set); canonical form has one per line. */
static int check_map(const mp_param_spec *spec, const char *value, char **canon, mp_err *err)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	const char *p = value;
	int sep = strchr(value, '\n') ? '\n' : ',';

	if (*value == '{') {
		/* a YAML flow mapping, as --set gives it: {train: a.csv, eval: b.csv} */
		mp_strbuf lines = MP_STRBUF_INIT;
		mp_jdoc *d = NULL;
		const mp_jnode *root;
		size_t i;
		int rc;

		if ((rc = mp_jdoc_parse(&d, value, spec->name, err)) != 0)
			return rc;
		root = mp_jdoc_root(d);
		for (i = 0; mp_jnode_is_map(root) && i < mp_jnode_len(root); i++) {
			const char *v = mp_jnode_str(mp_jnode_at(d, root, i));

			if (!v) {
				const char *key = mp_jnode_key(d, root, i);

				rc = mp_error(err, MP_EINVAL, "%s: the value of '%s' must be a path", spec->name,
					      key ? key : "?");
				mp_jdoc_free(d);
				mp_strbuf_release(&lines);
				return rc;
			}
			if (!mp_jnode_key(d, root, i)) {
				mp_jdoc_free(d);
				mp_strbuf_release(&lines);
				return mp_error(err, MP_EINVAL, "%s: a name must be text", spec->name);
			}
			mp_strbuf_addf(&lines, "%s%s=%s", i ? "\n" : "", mp_jnode_key(d, root, i), v);
		}
		mp_jdoc_free(d);
		if (lines.failed)
			return mp_error(err, MP_ENOMEM, "out of memory");
		rc = lines.len ? check_map(spec, lines.buf, canon, err)
			       : mp_error(err, MP_EINVAL, "%s: expected a mapping of names to paths", spec->name);
		mp_strbuf_release(&lines);
		return rc;
	}

	while (*p) {
		const char *end = strchr(p, sep), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p), k;

		eq = memchr(p, '=', len);
		if (!eq || eq == p || eq == p + len - 1) {
			mp_strbuf_release(&sb);
			return mp_error(err, MP_EINVAL, "%s: expected NAME: PATH entries, got '%.*s'", spec->name,
					(int)len, p);
		}
		for (k = 0; p + k < eq; k++)
			if (!isalnum((unsigned char)p[k]) && p[k] != '_' && p[k] != '-') {
				mp_strbuf_release(&sb);
				return mp_error(err, MP_EINVAL, "%s: name '%.*s': use letters, digits, '_' and '-'",
						spec->name, (int)(eq - p), p);
			}
		if (sb.len)
			mp_strbuf_adds(&sb, "\n");
		mp_strbuf_add(&sb, p, len);
		p += len + (end ? 1 : 0);
	}
	if (!sb.len) {
		mp_strbuf_release(&sb);
		return mp_error(err, MP_EINVAL, "%s: expected at least one NAME: PATH entry", spec->name);
	}
	if (!(*canon = mp_strbuf_detach(&sb)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}

/* A list written as a YAML flow sequence ("[a, b]", as --set gives it)
 * into the one-item-per-line form. */
static int flow_list(const mp_param_spec *spec, const char *value, char **canon, mp_err *err)
{
	char *json = NULL;
	mp_jdoc *d = NULL;
	const mp_jnode *root;
	mp_strbuf sb = MP_STRBUF_INIT;
	size_t i;
	int rc;

	if ((rc = mp_yaml_to_json(value, &json, err)) != 0 || (rc = mp_jdoc_parse(&d, json, spec->name, err)) != 0) {
		free(json);
		return mp_error_wrap(err, "%s", spec->name);
	}
	root = mp_jdoc_root(d);
	for (i = 0; rc == 0 && i < mp_jnode_len(root); i++) {
		const char *item = mp_jnode_str(mp_jnode_at(d, root, i));

		if (!mp_jnode_is_list(root) || !item || strchr(item, '\n'))
			rc = mp_error(err, MP_EINVAL, "%s: expected a list of strings", spec->name);
		else
			mp_strbuf_addf(&sb, "%s%s", i ? "\n" : "", item);
	}
	mp_jdoc_free(d);
	free(json);
	if (rc == 0 && !(*canon = mp_strbuf_detach(&sb)))
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	mp_strbuf_release(&sb);
	return rc;
}

/* value is one of spec->choices ("a|b|c"). */
int mp_param_check_choice(const mp_param_spec *spec, const char *value, mp_err *err)
{
	char buf[512], list[512];
	const char *near;

	if (mp_choice_match(spec->choices, value))
		return 0;
	near = mp_choice_closest(spec->choices, value, buf, sizeof(buf));
	mp_choice_list(spec->choices, list, sizeof(list));
	if (near)
		return mp_error(err, MP_EINVAL, "%s: '%s' is not one of %s (did you mean '%s'?)", spec->name, value, list,
				near);
	return mp_error(err, MP_EINVAL, "%s: '%s' is not one of %s", spec->name, value, list);
}

/* Each line of a LIST's text is one of spec->choices. */
static int check_list_choices(const mp_param_spec *spec, const char *text, mp_err *err)
{
	char *buf = NULL, **items = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = mp_param_lines(text, &buf, &items, &n, err)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		rc = mp_param_check_choice(spec, items[i], err);
	free(items);
	free(buf);
	return rc;
}

int mp_param_check(const mp_param_spec *spec, const char *value, char **canon, mp_err *err)
{
	char buf[64];
	int64_t i;
	double d;
	int rc;

	*canon = NULL;
	switch (spec->type) {
	case MP_PARAM_INT:
		if ((rc = mp_parse_i64(value, spec->min < spec->max ? (int64_t)ceil(spec->min) : INT64_MIN,
				       spec->min < spec->max ? (int64_t)floor(spec->max) : INT64_MAX, &i,
				       spec->name, err)) != 0)
			return rc;
		snprintf(buf, sizeof(buf), "%lld", (long long)i);
		break;
	case MP_PARAM_FLOAT:
		if ((rc = mp_parse_double(value, spec->min < spec->max ? spec->min : -HUGE_VAL,
					  spec->min < spec->max ? spec->max : HUGE_VAL, &d, spec->name, err)) != 0)
			return rc;
		snprintf(buf, sizeof(buf), "%.17g", d);
		/* the shortest form that reads back the same */
		for (int p = 1; p <= 17; p++) {
			char t[64];

			snprintf(t, sizeof(t), "%.*g", p, d);
			if (strtod(t, NULL) == d) {
				memcpy(buf, t, strlen(t) + 1);
				break;
			}
		}
		break;
	case MP_PARAM_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "on"))
			snprintf(buf, sizeof(buf), "true");
		else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "off"))
			snprintf(buf, sizeof(buf), "false");
		else
			return mp_error(err, MP_EINVAL, "%s: '%s' is not true or false", spec->name, value);
		break;
	case MP_PARAM_PATH:
		if (!*value)
			return mp_error(err, MP_EINVAL, "%s: expected a path, got nothing", spec->name);
		if (strchr(value, '\n'))
			return mp_error(err, MP_EINVAL, "%s: expected one path, got a list", spec->name);
		/* fall through */
	case MP_PARAM_PATHS:
	case MP_PARAM_LIST:
		if (value[0] == '[' && spec->type != MP_PARAM_PATH) {
			if ((rc = flow_list(spec, value, canon, err)) == 0 && spec->choices &&
			    (rc = check_list_choices(spec, *canon, err)) != 0) {
				free(*canon);
				*canon = NULL;
			}
			return rc;
		}
		if (spec->type == MP_PARAM_LIST && spec->choices && (rc = check_list_choices(spec, value, err)) != 0)
			return rc;
		/* fall through */
	case MP_PARAM_STRING:
		if (spec->type == MP_PARAM_STRING && spec->choices && (rc = mp_param_check_choice(spec, value, err)) != 0)
			return rc;
		if (!(*canon = mp_strdup(value)))
			return mp_error(err, MP_ENOMEM, "out of memory");
		return 0;
	case MP_PARAM_PATH_MAP:
		return check_map(spec, value, canon, err);
	case MP_PARAM_JSON:
		if (mp_yaml_to_json(value, canon, err) != 0)
			return mp_error_wrap(err, "%s", spec->name);
		if ((rc = mp_shape_check_text(spec->shape, value, spec->name, err)) != 0) {
			free(*canon);
			*canon = NULL;
			return rc;
		}
		return 0;
	}
	if (!(*canon = mp_strdup(buf)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	return 0;
}
