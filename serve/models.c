/* The served models and their versions: see models.h. */
#include "serve/models.h"
#include "core/json.h"
#include "serve/metrics.h"

#include <dirent.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct refusal {
	long version;
	char *why;
} refusal;

typedef struct smodel {
	mp_model_config c; /* its name, base folder, version policy and labels (a copy) */
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
	mp_serve_metrics *metrics;
	int threads;
	long batch_timeout_us;
	int batch_threads;
};

void mp_models_set_threads(mp_models *M, int threads)
{
	M->threads = threads > 0 ? threads : 1;
}

void mp_models_set_batching(mp_models *M, long timeout_us, int batch_threads)
{
	M->batch_timeout_us = timeout_us;
	M->batch_threads = batch_threads > 0 ? batch_threads : 1;
}

void mp_models_set_metrics(mp_models *M, mp_serve_metrics *metrics)
{
	M->metrics = metrics;
}

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

static void slots_free(mp_sversion *v)
{
	int i;

	for (i = 0; v->slots && i < v->nslots; i++) {
		mp_sslot *t = &v->slots[i];

		mp_block_release(&t->blk);
		free(t->pred);
		mp_served_release(&t->s);
		pthread_mutex_destroy(&t->mu);
	}
	free(v->slots);
	v->slots = NULL;
}

int mp_sversion_make_slots(mp_sversion *v, int n, mp_err *err)
{
	int i, rc;

	if (!(v->slots = mp_calloc((size_t)n, sizeof(*v->slots))))
		return mp_error(err, MP_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		mp_sslot *t = &v->slots[i];

		pthread_mutex_init(&t->mu, NULL);
		v->nslots = i + 1;
		if ((rc = mp_served_view(&t->s, &v->s, err)) != 0 ||
		    (rc = mp_served_block(&v->s, &t->blk, (size_t)v->s.max_batch, err)) != 0)
			return rc;
		if (!(t->pred = mp_malloc((size_t)v->s.max_batch * v->s.nout * sizeof(float))))
			return mp_error(err, MP_ENOMEM, "out of memory");
	}
	return 0;
}

mp_sslot *mp_sversion_slot(mp_sversion *v)
{
	static atomic_int next;
	static _Thread_local int mine = -1;
	mp_sslot *t;

	if (mine < 0)
		mine = atomic_fetch_add(&next, 1) & 0xffff;
	t = &v->slots[mine % v->nslots];
	pthread_mutex_lock(&t->mu);
	mp_block_clear(&t->blk);
	return t;
}

void mp_sversion_unslot(mp_sslot *slot)
{
	pthread_mutex_unlock(&slot->mu);
}

static void version_free(mp_sversion *v)
{
	if (!v)
		return;
	mp_batcher_free(v->batch);
	slots_free(v);
	free(v->model);
	mp_served_release(&v->s);
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
	M->threads = 1;
	M->batch_threads = 1;
	M->log = log;
	*out = M;
	return 0;
}

static void free_model(smodel *m)
{
	size_t k;

	for (k = 0; k < m->nrefused; k++)
		free(m->refused[k].why);
	free(m->refused);
	free(m->v);
	mp_model_config_release(&m->c);
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
		free_model(m);
	}
	free(M->m);
	pthread_mutex_destroy(&M->mu);
	free(M);
}

int mp_models_add(mp_models *M, const char *name, const char *base, mp_err *err)
{
	char *n = mp_strdup(name), *b = mp_strdup(base);
	smodel *m;

	pthread_mutex_lock(&M->mu);
	if (!n || !b || mp_grow((void **)&M->m, &M->alloc, M->n, sizeof(*M->m)) != 0) {
		pthread_mutex_unlock(&M->mu);
		free(n);
		free(b);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	m = &M->m[M->n++];
	memset(m, 0, sizeof(*m));
	m->c.name = n;
	m->c.base_path = b;
	m->c.num_versions = 1;
	pthread_mutex_unlock(&M->mu);
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

static int cmp_desc(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The version folders under base not refused before, highest first, into
 * *out (free it); how many. */
static size_t on_disk(const smodel *m, long **out)
{
	DIR *d = opendir(m->c.base_path);
	struct dirent *e;
	size_t n = 0, alloc = 0;

	*out = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		long v;

		if (!*e->d_name || e->d_name[strspn(e->d_name, "0123456789")] || strlen(e->d_name) > 15)
			continue; /* not a version: the Pusher's .push-PID, a stray file */
		v = strtol(e->d_name, NULL, 10);
		if (v > 0 && !refused(m, v) && mp_grow((void **)out, &alloc, n, sizeof(**out)) == 0)
			(*out)[n++] = v;
	}
	closedir(d);
	if (n)
		qsort(*out, n, sizeof(**out), cmp_desc);
	return n;
}

static const char *refuse(mp_models *M, smodel *m, long version, const char *why)
{
	refusal *r;

	say(M, "model %s: version %ld refused: %s", m->c.name, version, why);
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

static void batch_seen(void *ud, size_t rows)
{
	mp_sversion *v = ud;

	mp_serve_metrics_batch(v->metrics, v->model, rows);
}

/* Loads version want of m: the version, or NULL after refusing it. */
static mp_sversion *load(mp_models *M, smodel *m, long want)
{
	mp_sversion *v;
	mp_err err;
	char *path;

	if (!(v = mp_calloc(1, sizeof(*v))) || !(path = mp_asprintf("%s/%ld", m->c.base_path, want))) {
		free(v);
		return NULL;
	}
	v->version = want;
	v->metrics = M->metrics;
	if (!(v->model = mp_strdup(m->c.name)))
		mp_error(&err, MP_ENOMEM, "out of memory");
	if (!v->model || mp_served_load(&v->s, path, M->max_batch, &err) != 0 ||
	    mp_sversion_make_slots(v, M->threads, &err) != 0 ||
	    (M->batch_timeout_us > 0 && mp_batcher_new(&v->batch, &v->s, M->batch_threads, (size_t)M->max_batch,
						       M->batch_timeout_us, batch_seen, v, &err) != 0)) {
		refuse(M, m, want, err.msg);
		mp_serve_metrics_load(M->metrics, m->c.name, 0);
		version_free(v);
		v = NULL;
	}
	free(path);
	return v;
}

/* Whether the policy wants version v, of the n on disk (highest first)
 * of which `taken` are wanted already. */
static int wanted(const smodel *m, long v, size_t taken)
{
	size_t i;

	switch (m->c.policy) {
	case MP_POLICY_ALL:
		return 1;
	case MP_POLICY_SPECIFIC:
		for (i = 0; i < m->c.nversions; i++)
			if (m->c.versions[i] == v)
				return 1;
		return 0;
	default:
		return taken < (size_t)m->c.num_versions;
	}
}

static mp_sversion *served(const smodel *m, long v)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->v[i]->version == v)
			return m->v[i];
	return NULL;
}

/* Makes set (nset versions, highest first) what m serves: the others are
 * retired, freed now or at their last release. */
static void swap_in(mp_models *M, smodel *m, mp_sversion **set, size_t nset)
{
	mp_sversion **gone = mp_calloc(m->n + 1, sizeof(*gone));
	size_t ngone = 0, i, k;

	pthread_mutex_lock(&M->mu);
	for (i = 0; i < m->n; i++) {
		for (k = 0; k < nset && set[k] != m->v[i]; k++)
			;
		if (k < nset)
			continue;
		m->v[i]->retired = 1;
		if (m->v[i]->refs == 0 && gone)
			gone[ngone++] = m->v[i];
	}
	/* ascending, the latest last */
	for (i = 0; i < nset; i++)
		m->v[i] = set[nset - 1 - i];
	m->n = nset;
	pthread_mutex_unlock(&M->mu);
	for (i = 0; i < ngone; i++) {
		say(M, "model %s: version %ld unloaded", m->c.name, gone[i]->version);
		version_free(gone[i]);
	}
	free(gone);
}

/* Loads what the policy wants that is not loaded yet (a version that does
 * not load is passed over for the next), then swaps the set in. */
static int poll_model(mp_models *M, smodel *m)
{
	long *disk;
	size_t n = on_disk(m, &disk), i, nset = 0;
	mp_sversion **set = mp_calloc(n + 1, sizeof(*set));
	int loaded = 0, changed = 0;

	if (!set) {
		free(set);
		free(disk);
		return 0;
	}
	for (i = 0; i < n; i++) {
		mp_sversion *v;

		if (!wanted(m, disk[i], nset))
			continue;
		if (!(v = served(m, disk[i]))) {
			if (!(v = load(M, m, disk[i])))
				continue;
			say(M, "model %s: version %ld loaded (%s)", m->c.name, v->version,
			    v->s.nclass ? "a classifier" : "a regression");
			mp_serve_metrics_load(M->metrics, m->c.name, 1);
			loaded++;
		}
		set[nset++] = v;
	}
	changed = loaded || nset != m->n;
	if (changed) {
		if (nset > m->alloc) {
			mp_sversion **nv = mp_realloc(m->v, (nset + 1) * sizeof(*nv));

			if (!nv) { /* keep serving what is there */
				for (i = 0; i < nset; i++)
					if (!served(m, set[i]->version))
						version_free(set[i]);
				free(set);
				free(disk);
				return 0;
			}
			pthread_mutex_lock(&M->mu);
			m->v = nv;
			m->alloc = nset;
			pthread_mutex_unlock(&M->mu);
		}
		swap_in(M, m, set, nset);
	}
	free(set);
	free(disk);
	return loaded;
}

/* Retires every version of m (under the lock); those nobody holds go
 * into gone (room for m->n). */
static void retire_all(smodel *m, mp_sversion **gone, size_t *ngone)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		m->v[i]->retired = 1;
		if (m->v[i]->refs == 0)
			gone[(*ngone)++] = m->v[i];
	}
	m->n = 0;
}

/* c (name, base folder, policy and labels) into m, as a copy. */
static int set_config(smodel *m, const mp_model_config *c)
{
	mp_model_config copy;

	if (mp_model_config_copy(&copy, c) != 0)
		return MP_ENOMEM;
	if (copy.num_versions < 1)
		copy.num_versions = 1;
	mp_model_config_release(&m->c);
	m->c = copy;
	return 0;
}

int mp_models_configure(mp_models *M, const mp_serve_config *cfg, mp_err *err)
{
	mp_sversion **gone;
	size_t i, k, ngone = 0, total = 0;
	int rc = 0;

	pthread_mutex_lock(&M->mu);
	for (i = 0; i < M->n; i++)
		total += M->m[i].n;
	if (!(gone = mp_calloc(total + 1, sizeof(*gone)))) {
		pthread_mutex_unlock(&M->mu);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	/* models no longer configured go */
	for (i = 0; i < M->n;) {
		for (k = 0; k < cfg->nmodels && strcmp(cfg->models[k].name, M->m[i].c.name); k++)
			;
		if (k < cfg->nmodels) {
			i++;
			continue;
		}
		say(M, "model %s: no longer configured", M->m[i].c.name);
		retire_all(&M->m[i], gone, &ngone);
		free_model(&M->m[i]);
		memmove(&M->m[i], &M->m[i + 1], (M->n - i - 1) * sizeof(*M->m));
		M->n--;
	}
	for (k = 0; k < cfg->nmodels && rc == 0; k++) {
		const mp_model_config *c = &cfg->models[k];
		smodel *m = NULL;

		for (i = 0; i < M->n && !m; i++)
			if (!strcmp(M->m[i].c.name, c->name))
				m = &M->m[i];
		if (m && strcmp(m->c.base_path, c->base_path))
			retire_all(m, gone, &ngone); /* another folder: its versions are others */
		if (!m) {
			pthread_mutex_unlock(&M->mu);
			rc = mp_models_add(M, c->name, c->base_path, err);
			pthread_mutex_lock(&M->mu);
			if (rc != 0)
				break;
			m = &M->m[M->n - 1];
		}
		if (set_config(m, c) != 0)
			rc = mp_error(err, MP_ENOMEM, "out of memory");
	}
	pthread_mutex_unlock(&M->mu);
	for (i = 0; i < ngone; i++)
		version_free(gone[i]);
	free(gone);
	return rc;
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
		if (!strcmp(M->m[i].c.name, name))
			return &M->m[i];
	return NULL;
}

/* The version label names for m (under the lock), or 0 with err. */
static long label_version(const smodel *m, const char *label, mp_err *err)
{
	size_t i;

	for (i = 0; i < m->c.nlabels; i++)
		if (!strcmp(m->c.labels[i].label, label))
			return m->c.labels[i].version;
	mp_error(err, MP_ENOTFOUND, "model '%s' has no label '%s'", m->c.name, label);
	return 0;
}

int mp_models_acquire(mp_models *M, const char *name, long version, const char *label, mp_sversion **out,
		      mp_err *err)
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
	if (rc == 0 && label && !(version = label_version(m, label, err)))
		rc = MP_ENOTFOUND;
	for (i = 0; rc == 0 && i < m->n && !*out; i++)
		if (!version || m->v[i]->version == version)
			*out = m->v[version ? i : m->n - 1];
	if (rc == 0 && !*out && label)
		rc = mp_error(err, MP_ENOTFOUND, "label '%s' of model '%s' is version %ld, which is not being served", label,
			      name, version);
	else if (rc == 0 && !*out)
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

int mp_models_status(mp_models *M, const char *name, long version, const char *label, mp_strbuf *sb, mp_err *err)
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
	if (label && !(version = label_version(m, label, err))) {
		pthread_mutex_unlock(&M->mu);
		fclose(f);
		free(text);
		return MP_ENOTFOUND;
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
