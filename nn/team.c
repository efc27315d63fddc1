/* A training step split across threads; see team.h.
 *
 * A step has two phases.  In the first, each member runs forward and
 * backward on its rows.  After a barrier, each member adds up its slice
 * of the gradients (and, given an optimizer, updates that slice of the
 * weights), then a second barrier ends the step.  The barriers spin
 * briefly before they yield: a step is a few hundred microseconds, and a
 * sleeping thread takes tens of them to wake. */
#include "nn/team.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Below this many rows per member a batch runs in the caller alone: the
 * hand-over would cost more than the halved products save. */
#define MIN_ROWS 8
#define SPINS 4000

typedef struct member {
	struct mp_step_team *team;
	int k;
	mp_net *net; /* the team's network for member 0, else a view of it */
	double loss;
	int correct, rows;
	int sense; /* the barrier's, as this member last saw it */
} member;

struct mp_step_team {
	mp_net *net;
	int n;
	member *m;
	mp_net *views; /* members 1 .. n-1 */
	pthread_t *th;
	int started; /* threads running */
	pthread_mutex_t mu;
	pthread_cond_t go;
	atomic_uint_fast64_t gen; /* counts steps handed out */
	atomic_int stop;
	atomic_int arrived, sense; /* the barrier */
	/* the step in hand */
	const float *x, *y;
	int batch, grad_rows;
	mp_optimizer *opt;
	float lr;
};

/* splitmix64's finaliser: a well-spread seed from a counter. */
static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void barrier(struct mp_step_team *t, member *me)
{
	int s = !me->sense, spins = 0;

	me->sense = s;
	if (atomic_fetch_add(&t->arrived, 1) == t->n - 1) {
		atomic_store(&t->arrived, 0);
		atomic_store(&t->sense, s);
		return;
	}
	while (atomic_load(&t->sense) != s)
		if (++spins > SPINS)
			sched_yield();
}

static void run_step(struct mp_step_team *t, member *me)
{
	int lo = t->batch * me->k / t->n, hi = t->batch * (me->k + 1) / t->n, k;
	size_t ystride = t->net->loss == MP_LOSS_MSE ? (size_t)mp_net_nout(t->net) : 1;
	size_t np = t->net->nparams, from = (np * (size_t)me->k / (size_t)t->n) & ~(size_t)15, to, i;
	float *g = t->net->grads;

	me->rows = hi - lo;
	me->net->grad_rows = t->grad_rows > 0 ? t->grad_rows : t->batch;
	mp_net_train_step(me->net, t->x + (size_t)lo * (size_t)t->net->nin, t->y + (size_t)lo * ystride, hi - lo,
			  &me->loss, &me->correct);
	me->net->grad_rows = 0;
	barrier(t, me);
	/* this member's slice: the gradients added in member order, then its
	 * weights updated */
	to = me->k + 1 == t->n ? np : (np * (size_t)(me->k + 1) / (size_t)t->n) & ~(size_t)15;
	for (k = 1; k < t->n; k++) {
		const float *gk = t->views[k].grads;

		for (i = from; i < to; i++)
			g[i] += gk[i];
	}
	if (t->opt)
		mp_optimizer_apply(t->opt, t->net->params, g, t->lr, from, to);
	barrier(t, me);
}

static void *member_main(void *arg)
{
	member *me = arg;
	struct mp_step_team *t = me->team;
	uint_fast64_t seen = 0;

	for (;;) {
		int spins = 0;

		while (!atomic_load(&t->stop) && atomic_load(&t->gen) == seen && ++spins < SPINS)
			;
		if (atomic_load(&t->gen) == seen && !atomic_load(&t->stop)) {
			pthread_mutex_lock(&t->mu);
			while (!atomic_load(&t->stop) && atomic_load(&t->gen) == seen)
				pthread_cond_wait(&t->go, &t->mu);
			pthread_mutex_unlock(&t->mu);
		}
		if (atomic_load(&t->stop))
			break;
		seen = atomic_load(&t->gen);
		run_step(t, me);
	}
	return NULL;
}

int mp_step_team_create(mp_step_team **out, mp_net *net, int members, mp_err *err)
{
	struct mp_step_team *t = mp_calloc(1, sizeof(*t));
	int k, rc = 0;

	*out = NULL;
	if (members < 1)
		members = 1;
	if (!t || !(t->m = mp_calloc((size_t)members, sizeof(*t->m))) ||
	    !(t->views = mp_calloc((size_t)members, sizeof(*t->views))) ||
	    !(t->th = mp_calloc((size_t)members, sizeof(*t->th)))) {
		mp_step_team_free(t);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	t->net = net;
	t->n = members;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->go, NULL);
	for (k = 0; k < members && rc == 0; k++) {
		t->m[k].team = t;
		t->m[k].k = k;
		t->m[k].net = k ? &t->views[k] : net;
		if (k && (rc = mp_net_train_view(&t->views[k], net, k, err)) == 0) {
			if (pthread_create(&t->th[k], NULL, member_main, &t->m[k]) != 0) {
				mp_net_release(&t->views[k]);
				rc = mp_error(err, MP_EIO, "cannot start a training thread");
			} else {
				t->started = k;
			}
		}
	}
	if (rc != 0) {
		mp_step_team_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void mp_step_team_free(mp_step_team *t)
{
	int k;

	if (!t)
		return;
	if (t->th) {
		pthread_mutex_lock(&t->mu);
		atomic_store(&t->stop, 1);
		pthread_cond_broadcast(&t->go);
		pthread_mutex_unlock(&t->mu);
		for (k = 1; k <= t->started; k++)
			pthread_join(t->th[k], NULL);
		for (k = 1; k <= t->started; k++)
			mp_net_release(&t->views[k]);
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->go);
	}
	free(t->th);
	free(t->views);
	free(t->m);
	free(t);
}

int mp_step_team_size(const mp_step_team *t)
{
	return t->n;
}

void mp_step_team_train(mp_step_team *t, const float *x, const float *y, int batch, int grad_rows, mp_optimizer *opt,
			float lr, double *loss, int *correct)
{
	double total = 0;
	int k;

	if (opt)
		opt->t++;
	if (t->n == 1 || batch < MIN_ROWS * t->n) {
		t->net->grad_rows = grad_rows;
		mp_net_train_step(t->net, x, y, batch, loss, correct);
		t->net->grad_rows = 0;
		if (opt)
			mp_optimizer_apply(opt, t->net->params, t->net->grads, lr, 0, opt->n);
		return;
	}
	t->x = x;
	t->y = y;
	t->batch = batch;
	t->grad_rows = grad_rows;
	t->opt = opt;
	t->lr = lr;
	/* the members' dropout streams come from the network's at this step,
	 * which a checkpoint keeps: a resumed training draws the same masks */
	for (k = 1; k < t->n; k++)
		t->views[k].rng = mix(t->net->rng + (uint64_t)k);
	pthread_mutex_lock(&t->mu);
	atomic_fetch_add(&t->gen, 1);
	pthread_cond_broadcast(&t->go);
	pthread_mutex_unlock(&t->mu);
	run_step(t, &t->m[0]);
	*correct = 0;
	for (k = 0; k < t->n; k++) {
		total += t->m[k].loss * (double)t->m[k].rows;
		*correct += t->m[k].correct;
	}
	*loss = total / (double)batch;
}
