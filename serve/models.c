/* The served models and their versions: see models.h. */
#include "serve/models.h"
#include "core/json.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct refusal {
	long version;
	char *why;
} refusal;

typedef struct smodel {
	char *name, *base;
	mp_sversion **v; /* served, ascending by version */
	size_t n, alloc;
	refusal *refused; /* versions that did not load, not tried again */
	size_t nrefused, arefused;
} smodel;

struct mp_models {
	smodel *m;
	size_t n, alloc;
	pthread_mutex_t mu;
	int max_batch;
	FILE *log;
};

static void say(mp_models *M, const char *fmt, ...) MP_PRINTF(2, 3);
static void say(mp_models *M, const char *fmt, ...)
{
	va_list ap;

	if (!M->log)
		return;
	va_start(ap, fmt);
	fputs("mlpipe serve: ", M->log);
	vfprintf(M->log, fmt, ap);
	fputc('\n', M->log);
	va_end(ap);
	fflush(M->log);
}

static void version_free(mp_sversion *v)
{
	if (!v)
		return;
	mp_served_release(&v->s);
	pthread_mutex_destroy(&v->mu);
	free(v);
}

int mp_models_new(mp_models **out, int max_batch, FILE *log, mp_err *err)
{
	mp_models *M = mp_calloc(1, sizeof(*M));

	*out = NULL;
	if (!M)
		return mp_error(err, MP_ENOMEM, "out of memory");
	pthread_mutex_init(&M->mu, NULL);
	M->max_batch = max_batch > 0 ? max_batch : 1;
	M->log = log;
	*out = M;
	return 0;
}

void mp_models_free(mp_models *M)
{
	size_t i, k;

	if (!M)
		return;
	for (i = 0; i < M->n; i++) {
		smodel *m = &M->m[i];

		for (k = 0; k < m->n; k++)
			version_free(m->v[k]);
		for (k = 0; k < m->nrefused; k++)
			free(m->refused[k].why);
		free(m->v);
		free(m->refused);
		free(m->name);
		free(m->base);
	}
	free(M->m);
	pthread_mutex_destroy(&M->mu);
	free(M);
}

int mp_models_add(mp_models *M, const char *name, const char *base, mp_err *err)
{
	smodel *m;

	if (mp_grow((void **)&M->m, &M->alloc, M->n, sizeof(*M->m)) != 0)
		return mp_error(err, MP_ENOMEM, "out of memory");
	m = &M->m[M->n];
	memset(m, 0, sizeof(*m));
	if (!(m->name = mp_strdup(name)) || !(m->base = mp_strdup(base))) {
		free(m->name);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	M->n++;
	return 0;
}

static int refused(const smodel *m, long version)
{
	size_t i;

	for (i = 0; i < m->nrefused; i++)
		if (m->refused[i].version == version)
			return 1;
	return 0;
}

/* The highest version folder under base not refused before, or 0. */
static long newest(const smodel *m)
{
	DIR *d = opendir(m->base);
	struct dirent *e;
	long best = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *end;
		long v;

		if (!*e->d_name || e->d_name[strspn(e->d_name, "0123456789")])
			continue; /* not a version: the Pusher's .push-PID, a stray file */
		v = strtol(e->d_name, &end, 10);
		if (v > best && !refused(m, v))
			best = v;
	}
	closedir(d);
	return best;
}

static const char *refuse(mp_models *M, smodel *m, long version, const char *why)
{
	refusal *r;

	say(M, "model %s: version %ld refused: %s", m->name, version, why);
	/* the status requests read the refusals: changed under the lock (only
	 * the polling thread changes them, so it reads them without) */
	pthread_mutex_lock(&M->mu);
	if (mp_grow((void **)&m->refused, &m->arefused, m->nrefused, sizeof(*m->refused)) != 0) {
		pthread_mutex_unlock(&M->mu);
		return NULL;
	}
	r = &m->refused[m->nrefused++];
	r->version = version;
	r->why = mp_strdup(why);
	pthread_mutex_unlock(&M->mu);
	return r->why;
}

/* Swaps v in as m's only served version (the latest policy); the old
 * ones are retired, freed now or at their last release. */
static int swap_in(mp_models *M, smodel *m, mp_sversion *v)
{
	mp_sversion **old = NULL;
	size_t nold = 0, i;

	pthread_mutex_lock(&M->mu);
	if (!m->alloc && !(m->v = mp_calloc(4, sizeof(*m->v)))) {
		pthread_mutex_unlock(&M->mu);
		return MP_ENOMEM;
	}
	if (!m->alloc)
		m->alloc = 4;
	old = mp_calloc(m->n + 1, sizeof(*old));
	for (i = 0; i < m->n; i++) {
		m->v[i]->retired = 1;
		if (m->v[i]->refs == 0 && old)
			old[nold++] = m->v[i];
	}
	m->v[0] = v;
	m->n = 1;
	pthread_mutex_unlock(&M->mu);
	for (i = 0; i < nold; i++) {
		say(M, "model %s: version %ld unloaded", m->name, old[i]->version);
		version_free(old[i]);
	}
	free(old);
	return 0;
}

/* Loads version want of m: the version, or NULL after refusing it. */
static mp_sversion *load(mp_models *M, smodel *m, long want)
{
	mp_sversion *v;
	mp_err err;
	char *path;

	if (!(v = mp_calloc(1, sizeof(*v))) || !(path = mp_asprintf("%s/%ld", m->base, want))) {
		free(v);
		return NULL;
	}
	v->version = want;
	pthread_mutex_init(&v->mu, NULL);
	if (mp_served_load(&v->s, path, M->max_batch, &err) != 0) {
		refuse(M, m, want, err.msg);
		pthread_mutex_destroy(&v->mu);
		mp_served_release(&v->s);
		free(v);
		v = NULL;
	}
	free(path);
	return v;
}

/* The latest policy: the highest version that loads (a refused one is
 * passed over for the next below it). */
static int poll_model(mp_models *M, smodel *m)
{
	mp_sversion *v = NULL;
	long want, have;

	pthread_mutex_lock(&M->mu);
	have = m->n ? m->v[m->n - 1]->version : 0;
	pthread_mutex_unlock(&M->mu);
	while ((want = newest(m)) && want != have && !(v = load(M, m, want)))
		;
	if (!v)
		return 0;
	if (swap_in(M, m, v) != 0) {
		version_free(v);
		return 0;
	}
	say(M, "model %s: version %ld loaded (%s)", m->name, want, v->s.nclass ? "a classifier" : "a regression");
	return 1;
}

int mp_models_poll(mp_models *M)
{
	size_t i;
	int loaded = 0;

	for (i = 0; i < M->n; i++)
		loaded += poll_model(M, &M->m[i]);
	return loaded;
}

static smodel *find(mp_models *M, const char *name)
{
	size_t i;

	for (i = 0; i < M->n; i++)
		if (!strcmp(M->m[i].name, name))
			return &M->m[i];
	return NULL;
}

int mp_models_acquire(mp_models *M, const char *name, long version, mp_sversion **out, mp_err *err)
{
	smodel *m;
	size_t i;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&M->mu);
	if (!(m = find(M, name)))
		rc = mp_error(err, MP_ENOTFOUND, "no model '%s' is served here", name);
	else if (!m->n)
		rc = mp_error(err, MP_EBUSY, "model '%s' has no version loaded yet", name);
	for (i = 0; rc == 0 && i < m->n && !*out; i++)
		if (!version || m->v[i]->version == version)
			*out = m->v[version ? i : m->n - 1];
	if (rc == 0 && !*out)
		rc = mp_error(err, MP_ENOTFOUND, "model '%s' has no version %ld being served", name, version);
	if (*out)
		(*out)->refs++;
	pthread_mutex_unlock(&M->mu);
	return rc;
}

void mp_models_release(mp_models *M, mp_sversion *v)
{
	int gone;

	if (!v)
		return;
	pthread_mutex_lock(&M->mu);
	gone = --v->refs == 0 && v->retired;
	pthread_mutex_unlock(&M->mu);
	if (gone) {
		say(M, "version %ld unloaded", v->version);
		version_free(v);
	}
}

static void status_entry(mp_json *j, long version, const char *state, const char *code, const char *msg)
{
	char v[32];

	snprintf(v, sizeof(v), "%ld", version);
	mp_json_begin_object(j);
	mp_json_key(j, "version");
	mp_json_string(j, v);
	mp_json_key(j, "state");
	mp_json_string(j, state);
	mp_json_key(j, "status");
	mp_json_begin_object(j);
	mp_json_key(j, "error_code");
	mp_json_string(j, code);
	mp_json_key(j, "error_message");
	mp_json_string(j, msg);
	mp_json_end_object(j);
	mp_json_end_object(j);
}

int mp_models_status(mp_models *M, const char *name, long version, mp_strbuf *sb, mp_err *err)
{
	char *text = NULL;
	size_t len = 0, i, n = 0;
	FILE *f = open_memstream(&text, &len);
	smodel *m;
	mp_json j;

	if (!f)
		return mp_error(err, MP_ENOMEM, "out of memory");
	mp_json_init(&j, f, 0);
	pthread_mutex_lock(&M->mu);
	if (!(m = find(M, name))) {
		pthread_mutex_unlock(&M->mu);
		fclose(f);
		free(text);
		return mp_error(err, MP_ENOTFOUND, "no model '%s' is served here", name);
	}
	mp_json_begin_object(&j);
	mp_json_key(&j, "model_version_status");
	mp_json_begin_array(&j);
	for (i = 0; i < m->n; i++)
		if (!version || m->v[i]->version == version) {
			status_entry(&j, m->v[i]->version, "AVAILABLE", "OK", "");
			n++;
		}
	for (i = 0; i < m->nrefused; i++)
		if (!version || m->refused[i].version == version) {
			status_entry(&j, m->refused[i].version, "END", "UNKNOWN",
				     m->refused[i].why ? m->refused[i].why : "");
			n++;
		}
	mp_json_end_array(&j);
	mp_json_end_object(&j);
	pthread_mutex_unlock(&M->mu);
	fclose(f);
	if (version && !n) {
		free(text);
		return mp_error(err, MP_ENOTFOUND, "model '%s' has no version %ld", name, version);
	}
	mp_strbuf_add(sb, text, len);
	free(text);
	return sb->failed ? mp_error(err, MP_ENOMEM, "out of memory") : 0;
}
