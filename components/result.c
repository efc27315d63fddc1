/* The result of a run: metrics and output properties, written to a file
 * the orchestrator reads back (only it writes the store). */
#include "components/component.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
