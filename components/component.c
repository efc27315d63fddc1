/* The component registry, param checking and the result of a run. */
#include "components/component.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const mp_component_type *const registry[] = {
	&mp_command_component,
	&mp_example_gen_component,
	&mp_statistics_gen_component,
	&mp_schema_gen_component,
	&mp_example_validator_component,
	&mp_transform_component,
	&mp_trainer_component,
	&mp_evaluator_component,
	&mp_pusher_component,
};

#define NREGISTRY MP_COUNTOF(registry)
#define MAX_TYPES 64

/* The built-in types, then those a program embedding mlpipe registered. */
static const mp_component_type *types[MAX_TYPES];
static size_t ntypes;

static void init_types(void)
{
	size_t i;

	if (ntypes)
		return;
	for (i = 0; i < NREGISTRY; i++)
		types[ntypes++] = registry[i];
}

int mp_component_register(const mp_component_type *t, mp_err *err)
{
	init_types();
	if (!t->name || !t->version || !t->run)
		return mp_error(err, MP_EINVAL, "a component type needs a name, a version and a run function");
	if (mp_component_find(t->name))
		return mp_error(err, MP_EEXIST, "component type '%s' is already registered", t->name);
	if (ntypes == MAX_TYPES)
		return mp_error(err, MP_EINVAL, "too many component types (at most %d)", MAX_TYPES);
	types[ntypes++] = t;
	return 0;
}

const mp_component_type *mp_component_find(const char *name)
{
	size_t i;

	init_types();
	for (i = 0; i < ntypes; i++)
		if (strcmp(types[i]->name, name) == 0)
			return types[i];
	return NULL;
}

const mp_component_type *const *mp_component_types(size_t *n)
{
	init_types();
	*n = ntypes;
	return types;
}

const mp_param_spec *mp_component_param(const mp_component_type *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nparams; i++)
		if (strcmp(t->params[i].name, name) == 0)
			return &t->params[i];
	return NULL;
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

static const char *kv_find(const mp_kv *kv, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(kv[i].key, name) == 0)
			return kv[i].value;
	return NULL;
}

const char *mp_io_param(const mp_component_io *io, const char *name)
{
	return kv_find(io->params, io->nparams, name);
}

const char *mp_io_input(const mp_component_io *io, const char *name)
{
	return kv_find(io->inputs, io->ninputs, name);
}

const char *mp_io_output(const mp_component_io *io, const char *name)
{
	return kv_find(io->outputs, io->noutputs, name);
}

void mp_component_print_help(const mp_component_type *t, FILE *out)
{
	size_t i;

	fprintf(out, "usage: mlpipe component %s [--input NAME=DIR]... [--output NAME=DIR]... [--param NAME=VALUE]...\n\n",
		t->name);
	fprintf(out, "%s (version %s)\n", t->summary, t->version);
	fprintf(out, "\ninputs:%s\n", t->any_inputs ? " any names" : t->ninputs ? "" : " none");
	for (i = 0; i < t->ninputs; i++)
		fprintf(out, "  %-16s %s%s  %s\n", t->inputs[i].name, t->inputs[i].type ? t->inputs[i].type : "any",
			t->inputs[i].optional ? " (optional)" : "", t->inputs[i].help);
	fprintf(out, "\noutputs:%s\n", t->declared_outputs ? " named in the pipeline file ('outputs:')" : "");
	for (i = 0; i < t->noutputs; i++)
		fprintf(out, "  %-16s %s  %s\n", t->outputs[i].name, t->outputs[i].type, t->outputs[i].help);
	fprintf(out, "\nparams:%s\n", t->any_params ? " (others are accepted as strings)" : "");
	for (i = 0; i < t->nparams; i++) {
		const mp_param_spec *p = &t->params[i];

		fprintf(out, "  %-16s %-7s %s", p->name, mp_param_type_name(p->type), p->help);
		if (p->def)
			fprintf(out, " (default: %s)", *p->def ? p->def : "\"\"");
		else
			fprintf(out, " (required)");
		fputc('\n', out);
	}
}

/* ---- results ----------------------------------------------------------- */

struct mp_result {
	mp_result_metric_row *metrics;
	size_t nmetrics, ametrics;
	mp_result_prop_row *props;
	size_t nprops, aprops;
};

mp_result *mp_result_new(void)
{
	return mp_calloc(1, sizeof(mp_result));
}

void mp_result_free(mp_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nmetrics; i++)
		free((char *)r->metrics[i].name);
	for (i = 0; i < r->nprops; i++) {
		free((char *)r->props[i].output);
		free((char *)r->props[i].name);
		free((char *)r->props[i].s);
	}
	free(r->metrics);
	free(r->props);
	free(r);
}

int mp_result_metric(mp_result *r, const char *name, int64_t step, double value)
{
	mp_result_metric_row *m;
	size_t i;

	for (i = 0; i < r->nmetrics; i++)
		if (r->metrics[i].step == step && strcmp(r->metrics[i].name, name) == 0) {
			r->metrics[i].value = value;
			return 0;
		}
	if (mp_grow((void **)&r->metrics, &r->ametrics, r->nmetrics, sizeof(*m)))
		return MP_ENOMEM;
	m = &r->metrics[r->nmetrics];
	if (!(m->name = mp_strdup(name)))
		return MP_ENOMEM;
	m->step = step;
	m->value = value;
	r->nmetrics++;
	return 0;
}

static int add_prop(mp_result *r, const char *output, const char *name, int kind,
		    int64_t i, double d, const char *s)
{
	mp_result_prop_row *p;

	if (mp_grow((void **)&r->props, &r->aprops, r->nprops, sizeof(*p)))
		return MP_ENOMEM;
	p = &r->props[r->nprops];
	memset(p, 0, sizeof(*p));
	p->output = mp_strdup(output);
	p->name = mp_strdup(name);
	p->s = s ? mp_strdup(s) : NULL;
	p->kind = kind;
	p->i = i;
	p->d = d;
	if (!p->output || !p->name || (s && !p->s)) {
		free((char *)p->output);
		free((char *)p->name);
		free((char *)p->s);
		return MP_ENOMEM;
	}
	r->nprops++;
	return 0;
}

int mp_result_prop_int(mp_result *r, const char *output, const char *name, int64_t v)
{
	return add_prop(r, output, name, 0, v, 0, NULL);
}

int mp_result_prop_double(mp_result *r, const char *output, const char *name, double v)
{
	return add_prop(r, output, name, 1, 0, v, NULL);
}

int mp_result_prop_string(mp_result *r, const char *output, const char *name, const char *v)
{
	return add_prop(r, output, name, 2, 0, 0, v);
}

const mp_result_metric_row *mp_result_metrics(const mp_result *r, size_t *n)
{
	*n = r->nmetrics;
	return r->metrics;
}

const mp_result_prop_row *mp_result_props(const mp_result *r, size_t *n)
{
	*n = r->nprops;
	return r->props;
}

/* Tabs, newlines and backslashes in a field are escaped. */
static void put_field(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\t')
			fputs("\\t", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\\')
			fputs("\\\\", f);
		else
			fputc(*s, f);
	}
}

int mp_result_write(const mp_result *r, const char *path, mp_err *err)
{
	mp_afile af;
	size_t i;
	int rc;

	if ((rc = mp_afile_open(&af, path, err)) != 0)
		return rc;
	for (i = 0; i < r->nmetrics; i++) {
		fputs("metric\t", af.fp);
		put_field(af.fp, r->metrics[i].name);
		fprintf(af.fp, "\t%lld\t%.17g\n", (long long)r->metrics[i].step, r->metrics[i].value);
	}
	for (i = 0; i < r->nprops; i++) {
		const mp_result_prop_row *p = &r->props[i];

		fputs("prop\t", af.fp);
		put_field(af.fp, p->output);
		fputc('\t', af.fp);
		put_field(af.fp, p->name);
		if (p->kind == 0)
			fprintf(af.fp, "\tint\t%lld\n", (long long)p->i);
		else if (p->kind == 1)
			fprintf(af.fp, "\tdouble\t%.17g\n", p->d);
		else {
			fputs("\tstring\t", af.fp);
			put_field(af.fp, p->s);
			fputc('\n', af.fp);
		}
	}
	return mp_afile_commit(&af, err);
}

/* Splits line in place into at most max tab-separated, unescaped fields. */
static int split_fields(char *line, char **f, int max)
{
	int n = 0;
	char *w = line, *r = line;

	f[n++] = w;
	for (; *r; r++) {
		if (*r == '\t') {
			*w++ = '\0';
			if (n == max)
				return -1;
			f[n++] = w;
		} else if (*r == '\\' && r[1]) {
			r++;
			*w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return n;
}

int mp_result_read(mp_result *r, const char *path, mp_err *err)
{
	char *data, *line, *next;
	int lineno = 0, rc = 0;

	if ((rc = mp_read_file(path, &data, NULL, err)) != 0)
		return rc;
	for (line = data; *line && !rc; line = next) {
		char *f[6];
		int n;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		lineno++;
		n = split_fields(line, f, 6);
		if (n == 4 && strcmp(f[0], "metric") == 0) {
			int64_t step;
			double v;
			char *end;

			errno = 0;
			v = strtod(f[3], &end);
			if (mp_parse_i64(f[2], INT64_MIN, INT64_MAX, &step, "step", err) != 0 || *end || end == f[3])
				rc = mp_error(err, MP_ECORRUPT, "%s:%d: bad metric row", path, lineno);
			else if (mp_result_metric(r, f[1], step, v) != 0)
				rc = mp_error(err, MP_ENOMEM, "out of memory");
		} else if (n == 5 && strcmp(f[0], "prop") == 0) {
			int64_t i = 0;
			double d = 0;
			char *end = NULL;

			if (strcmp(f[3], "int") == 0 && mp_parse_i64(f[4], INT64_MIN, INT64_MAX, &i, "prop", err) == 0)
				rc = mp_result_prop_int(r, f[1], f[2], i);
			else if (strcmp(f[3], "double") == 0 && (d = strtod(f[4], &end), end != f[4] && !*end))
				rc = mp_result_prop_double(r, f[1], f[2], d);
			else if (strcmp(f[3], "string") == 0)
				rc = mp_result_prop_string(r, f[1], f[2], f[4]);
			else
				rc = mp_error(err, MP_ECORRUPT, "%s:%d: bad property row", path, lineno);
			if (rc == MP_ENOMEM)
				mp_error(err, rc, "out of memory");
		} else if (n > 1 || *f[0]) {
			rc = mp_error(err, MP_ECORRUPT, "%s:%d: unknown result row", path, lineno);
		}
	}
	free(data);
	return rc;
}

/* ---- taking back what an execution published --------------------------- */

int mp_io_undo(const mp_component_io *io, const char *path, const char *check, const char *value, mp_err *err)
{
	char *line;
	int fd, rc = 0;
	size_t n;

	if (!io->undo)
		return 0;
	if (strchr(path, '\t') || strchr(path, '\n') || strchr(check, '\t') || strchr(value, '\n'))
		return mp_error(err, MP_EINVAL, "internal error: an undo entry with a tab or newline");
	if (!(line = mp_asprintf("%s\t%s\t%s\n", path, check, value)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	n = strlen(line);
	if ((fd = open(io->undo, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0 || write(fd, line, n) != (ssize_t)n ||
	    fsync(fd) != 0)
		rc = mp_error(err, MP_EIO, "cannot write '%s': %s", io->undo, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(line);
	return rc;
}

int mp_undo_apply(const char *undo_file)
{
	char *text = NULL, *cur, *line;
	mp_err err;
	int removed = 0;

	if (!mp_path_exists(undo_file) || mp_read_file(undo_file, &text, NULL, &err) != 0)
		return 0;
	for (cur = text; cur && *cur; cur = line) {
		char *path = cur, *check, *value, *got = NULL, *file;

		if ((line = strchr(cur, '\n')))
			*line++ = '\0';
		check = strchr(path, '\t');
		if (!check || !(value = strchr(check + 1, '\t')))
			continue;
		*check++ = '\0';
		*value++ = '\0';
		if (!(file = mp_asprintf("%s/%s", path, check)))
			break;
		if (mp_path_exists(file) && mp_read_file(file, &got, NULL, &err) == 0) {
			size_t n = strlen(got);

			while (n && (got[n - 1] == '\n' || got[n - 1] == '\r'))
				got[--n] = '\0';
			if (!strcmp(got, value) && mp_rmtree(path, &err) == 0) {
				mp_warn("removed '%s': it was published by an execution that did not complete", path);
				removed++;
			}
		}
		free(got);
		free(file);
	}
	free(text);
	return removed;
}
