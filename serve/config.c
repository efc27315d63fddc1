/* TF Serving's model config file, protobuf text format: see config.h.
 * A small recursive-descent reader over the few messages the file uses. */
#include "serve/config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODELS 1000
#define MAX_LIST 10000

typedef struct lexer {
	const char *p, *end, *path;
	int line, col;
	mp_err *err;
	/* the current token */
	enum { T_END, T_NAME, T_STRING, T_NUMBER, T_PUNCT } kind;
	char text[1024];
	int tline, tcol;
} lexer;

static int fail(lexer *L, const char *fmt, const char *a)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, a);
	return mp_error(L->err, MP_EINVAL, "%s:%d:%d: %s", L->path, L->tline, L->tcol, msg);
}

static void advance(lexer *L)
{
	if (*L->p == '\n') {
		L->line++;
		L->col = 1;
	} else {
		L->col++;
	}
	L->p++;
}

/* The next token into L (0, or MP_EINVAL for a bad one). */
static int next(lexer *L)
{
	size_t n = 0;

	for (;;) {
		while (L->p < L->end && isspace((unsigned char)*L->p))
			advance(L);
		if (L->p < L->end && *L->p == '#') {
			while (L->p < L->end && *L->p != '\n')
				advance(L);
			continue;
		}
		break;
	}
	L->tline = L->line;
	L->tcol = L->col;
	L->text[0] = '\0';
	if (L->p >= L->end) {
		L->kind = T_END;
		return 0;
	}
	if (*L->p == '"' || *L->p == '\'') {
		char q = *L->p;

		advance(L);
		while (L->p < L->end && *L->p != q && *L->p != '\n') {
			if (*L->p == '\\' && L->p + 1 < L->end)
				advance(L);
			if (n + 1 >= sizeof(L->text))
				return fail(L, "a string longer than %s bytes", "1023");
			L->text[n++] = *L->p;
			advance(L);
		}
		if (L->p >= L->end || *L->p != q)
			return fail(L, "a string that does not end%s", "");
		advance(L);
		L->text[n] = '\0';
		L->kind = T_STRING;
		return 0;
	}
	if (isalnum((unsigned char)*L->p) || *L->p == '_' || *L->p == '-') {
		int digits = 1;

		while (L->p < L->end && (isalnum((unsigned char)*L->p) || *L->p == '_' || *L->p == '-' || *L->p == '.')) {
			if (n + 1 >= sizeof(L->text))
				return fail(L, "a name longer than %s bytes", "1023");
			digits &= isdigit((unsigned char)*L->p) || (n == 0 && *L->p == '-');
			L->text[n++] = *L->p;
			advance(L);
		}
		L->text[n] = '\0';
		L->kind = digits ? T_NUMBER : T_NAME;
		return 0;
	}
	if (strchr("{}:", *L->p)) {
		L->text[0] = *L->p;
		L->text[1] = '\0';
		L->kind = T_PUNCT;
		advance(L);
		return 0;
	}
	L->text[0] = *L->p;
	L->text[1] = '\0';
	return fail(L, "unexpected '%s'", L->text);
}

static int expect_punct(lexer *L, char c)
{
	char want[2] = {c, '\0'};
	int rc;

	if ((rc = next(L)) != 0)
		return rc;
	if (L->kind != T_PUNCT || L->text[0] != c)
		return fail(L, "expected '%s'", want);
	return 0;
}

/* After a field name: ':' and a scalar (kind), or '{' for a message. */
static int scalar(lexer *L, int kind, const char *field)
{
	int rc;

	if ((rc = expect_punct(L, ':')) != 0 || (rc = next(L)) != 0)
		return rc;
	if ((int)L->kind != kind)
		return fail(L, kind == T_STRING ? "'%s' takes a quoted string" : "'%s' takes a whole number", field);
	return 0;
}

static int number(lexer *L, const char *field, long lo, long hi, long *out)
{
	char *end;
	long v;
	int rc;

	if ((rc = scalar(L, T_NUMBER, field)) != 0)
		return rc;
	v = strtol(L->text, &end, 10);
	if (*end || v < lo || v > hi)
		return fail(L, "'%s' is out of range", field);
	*out = v;
	return 0;
}

static int grow(lexer *L, void **items, size_t *n, size_t size)
{
	size_t alloc = *n;

	if (*n >= MAX_LIST)
		return fail(L, "more than %s entries", "10000");
	if (mp_grow(items, &alloc, *n, size) != 0)
		return mp_error(L->err, MP_ENOMEM, "out of memory");
	memset((char *)*items + *n * size, 0, size);
	(*n)++;
	return 0;
}

/* The body of a message up to its '}': calls field for each field name. */
typedef int (*field_fn)(lexer *L, void *ud);

static int message(lexer *L, field_fn field, void *ud)
{
	int rc;

	for (;;) {
		if ((rc = next(L)) != 0)
			return rc;
		if (L->kind == T_PUNCT && L->text[0] == '}')
			return 0;
		if (L->kind == T_END)
			return fail(L, "a '{' without its '}'%s", "");
		if (L->kind != T_NAME)
			return fail(L, "expected a field name, not '%s'", L->text);
		if ((rc = field(L, ud)) != 0)
			return rc;
	}
}

static int unknown(lexer *L, const char *const *known, size_t n)
{
	char near[128], msg[256];

	snprintf(msg, sizeof(msg), "unknown field '%.100s'%s", L->text,
		 mp_did_you_mean(mp_closest(L->text, known, n), near, sizeof(near)));
	return fail(L, "%s", msg);
}

static int specific_field(lexer *L, void *ud)
{
	static const char *const known[] = {"versions"};
	mp_model_config *m = ud;
	long v;
	int rc;

	if (strcmp(L->text, "versions"))
		return unknown(L, known, 1);
	if ((rc = number(L, "versions", 1, 1L << 40, &v)) != 0 ||
	    (rc = grow(L, (void **)&m->versions, &m->nversions, sizeof(*m->versions))) != 0)
		return rc;
	m->versions[m->nversions - 1] = v;
	return 0;
}

static int latest_field(lexer *L, void *ud)
{
	static const char *const known[] = {"num_versions"};
	mp_model_config *m = ud;
	long v;
	int rc;

	if (strcmp(L->text, "num_versions"))
		return unknown(L, known, 1);
	if ((rc = number(L, "num_versions", 1, 1000, &v)) != 0)
		return rc;
	m->num_versions = (int)v;
	return 0;
}

static int no_field(lexer *L, void *ud)
{
	(void)ud;
	return fail(L, "'all' takes no fields, not '%s'", L->text);
}

static int policy_field(lexer *L, void *ud)
{
	static const char *const known[] = {"latest", "all", "specific"};
	mp_model_config *m = ud;
	int rc;

	if (!strcmp(L->text, "latest"))
		m->policy = MP_POLICY_LATEST;
	else if (!strcmp(L->text, "all"))
		m->policy = MP_POLICY_ALL;
	else if (!strcmp(L->text, "specific"))
		m->policy = MP_POLICY_SPECIFIC;
	else
		return unknown(L, known, 3);
	if ((rc = expect_punct(L, '{')) != 0)
		return rc;
	return message(L, m->policy == MP_POLICY_LATEST ? latest_field : m->policy == MP_POLICY_ALL ? no_field
												     : specific_field,
		       m);
}

static int label_field(lexer *L, void *ud)
{
	static const char *const known[] = {"key", "value"};
	mp_version_label *l = ud;
	int rc;

	if (!strcmp(L->text, "key")) {
		if ((rc = scalar(L, T_STRING, "key")) != 0)
			return rc;
		free(l->label);
		return (l->label = mp_strdup(L->text)) ? 0 : mp_error(L->err, MP_ENOMEM, "out of memory");
	}
	if (!strcmp(L->text, "value"))
		return number(L, "value", 1, 1L << 40, &l->version);
	return unknown(L, known, 2);
}

/* A string field into *dst. */
static int string_field(lexer *L, const char *field, char **dst)
{
	int rc;

	if ((rc = scalar(L, T_STRING, field)) != 0)
		return rc;
	free(*dst);
	return (*dst = mp_strdup(L->text)) ? 0 : mp_error(L->err, MP_ENOMEM, "out of memory");
}

static int config_field(lexer *L, void *ud)
{
	static const char *const known[] = {"name", "base_path", "model_platform", "model_version_policy",
					    "version_labels"};
	mp_model_config *m = ud;
	char *ignored = NULL;
	int rc, line = L->tline, col = L->tcol;

	if (!strcmp(L->text, "name"))
		return string_field(L, "name", &m->name);
	if (!strcmp(L->text, "base_path"))
		return string_field(L, "base_path", &m->base_path);
	if (!strcmp(L->text, "model_platform")) {
		rc = string_field(L, "model_platform", &ignored);
		free(ignored);
		return rc;
	}
	if (!strcmp(L->text, "model_version_policy")) {
		if ((rc = expect_punct(L, '{')) != 0)
			return rc;
		return message(L, policy_field, m);
	}
	if (!strcmp(L->text, "version_labels")) {
		mp_version_label *l;

		if ((rc = expect_punct(L, '{')) != 0 ||
		    (rc = grow(L, (void **)&m->labels, &m->nlabels, sizeof(*m->labels))) != 0)
			return rc;
		l = &m->labels[m->nlabels - 1];
		if ((rc = message(L, label_field, l)) != 0)
			return rc;
		if (!l->label || !l->version) {
			L->tline = line;
			L->tcol = col;
			return fail(L, "a version label needs a key and a value%s", "");
		}
		return 0;
	}
	return unknown(L, known, MP_COUNTOF(known));
}

static int list_field(lexer *L, void *ud)
{
	static const char *const known[] = {"config"};
	mp_serve_config *c = ud;
	mp_model_config *m;
	int rc, line = L->tline, col = L->tcol;
	size_t i;

	if (strcmp(L->text, "config"))
		return unknown(L, known, 1);
	if (c->nmodels >= MAX_MODELS)
		return fail(L, "more than %s models", "1000");
	if ((rc = expect_punct(L, '{')) != 0 ||
	    (rc = grow(L, (void **)&c->models, &c->nmodels, sizeof(*c->models))) != 0)
		return rc;
	m = &c->models[c->nmodels - 1];
	m->num_versions = 1;
	if ((rc = message(L, config_field, m)) != 0)
		return rc;
	L->tline = line;
	L->tcol = col;
	if (!m->name || !*m->name || !m->base_path || !*m->base_path)
		return fail(L, "a config needs a name and a base_path%s", "");
	if (m->policy == MP_POLICY_SPECIFIC && !m->nversions)
		return fail(L, "model '%s': a specific policy names its versions", m->name);
	for (i = 0; i + 1 < c->nmodels; i++)
		if (!strcmp(c->models[i].name, m->name))
			return fail(L, "model '%s' is configured twice", m->name);
	return 0;
}

static int top_field(lexer *L, void *ud)
{
	static const char *const known[] = {"model_config_list"};
	int rc;

	if (strcmp(L->text, "model_config_list"))
		return unknown(L, known, 1);
	if ((rc = expect_punct(L, '{')) != 0)
		return rc;
	return message(L, list_field, ud);
}

int mp_serve_config_parse(mp_serve_config *out, const char *text, size_t len, const char *path, mp_err *err)
{
	lexer L = {text, text + len, path, 1, 1, err, T_END, "", 1, 1};
	int rc;

	memset(out, 0, sizeof(*out));
	for (;;) {
		if ((rc = next(&L)) != 0)
			break;
		if (L.kind == T_END)
			break;
		if (L.kind != T_NAME) {
			rc = fail(&L, "expected 'model_config_list', not '%s'", L.text);
			break;
		}
		if ((rc = top_field(&L, out)) != 0)
			break;
	}
	if (rc == 0 && !out->nmodels)
		rc = mp_error(err, MP_EINVAL, "%s: no model is configured (model_config_list { config { ... } })", path);
	if (rc != 0)
		mp_serve_config_release(out);
	return rc;
}

int mp_serve_config_read(mp_serve_config *out, const char *path, mp_err *err)
{
	char *text;
	size_t len;
	int rc;

	if ((rc = mp_read_file(path, &text, &len, err)) != 0)
		return rc;
	rc = mp_serve_config_parse(out, text, len, path, err);
	free(text);
	return rc;
}

int mp_model_config_copy(mp_model_config *dst, const mp_model_config *src)
{
	size_t k;

	memset(dst, 0, sizeof(*dst));
	dst->policy = src->policy;
	dst->num_versions = src->num_versions;
	if (!(dst->name = mp_strdup(src->name)) || !(dst->base_path = mp_strdup(src->base_path)) ||
	    (src->nversions && !(dst->versions = mp_calloc(src->nversions, sizeof(*dst->versions)))) ||
	    (src->nlabels && !(dst->labels = mp_calloc(src->nlabels, sizeof(*dst->labels)))))
		goto oom;
	if (src->nversions)
		memcpy(dst->versions, src->versions, src->nversions * sizeof(*dst->versions));
	dst->nversions = src->nversions;
	for (k = 0; k < src->nlabels; k++) {
		dst->labels[k].version = src->labels[k].version;
		if (!(dst->labels[k].label = mp_strdup(src->labels[k].label)))
			goto oom;
		dst->nlabels = k + 1;
	}
	return 0;
oom:
	mp_model_config_release(dst);
	return MP_ENOMEM;
}

void mp_model_config_release(mp_model_config *c)
{
	size_t k;

	free(c->name);
	free(c->base_path);
	free(c->versions);
	for (k = 0; k < c->nlabels; k++)
		free(c->labels[k].label);
	free(c->labels);
	memset(c, 0, sizeof(*c));
}

void mp_serve_config_release(mp_serve_config *c)
{
	size_t i;

	for (i = 0; i < c->nmodels; i++)
		mp_model_config_release(&c->models[i]);
	free(c->models);
	memset(c, 0, sizeof(*c));
}
