/* A training step split across threads; see team.h.
 *
 * Each member takes a range of every wide layer's units (a narrow layer is
 * member 0's) and runs the step's pieces on it, on the network itself:
 *   forward, layer by layer: its columns of z and a; a barrier after each
 *   layer, since the next one reads all of a;
 *   the loss (member 0), then a barrier;
 *   backward, from the top: its columns of d through the activation, its
 *   rows of dW and db, a barrier (the layer below reads all of d), then its
 *   columns of the layer below's d;
 *   with an optimizer, after a barrier (the weights are read until then),
 *   the update of its own rows of the weights.
 * No member's gradients overlap another's, so nothing is added up, and no
 * member reads a gradient another core wrote.  The barriers spin briefly
 * before they yield: a step is a few hundred microseconds, and a sleeping
 * thread takes tens of them to wake. */
#include "nn/team.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Below this many rows a batch runs in the caller alone. */
#define MIN_ROWS 8
/* A layer is split when each member gets at least this many units. */
#define MIN_UNITS 32
#define SPINS 4000

typedef struct member {
	struct mp_step_team *team;
	int k;
	uint64_t rng; /* its dropout stream for the step */
	int sense;    /* the barrier's, as this member last saw it */
} member;

struct mp_step_team {
	mp_net *net;
	int n;
	member *m;
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
	double loss;
	int correct;
};

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

/* Member k's units of layer l: [*u0, *u1), empty for all but member 0 on
 * a layer too narrow to split; ranges start on multiples of 16. */
static void units_of(const struct mp_step_team *t, int l, int k, int *u0, int *u1)
{
	int u = t->net->layers[l].units;

	if (u < MIN_UNITS * t->n || t->net->layers[l].kind != MP_LAYER_DENSE) {
		*u0 = 0;
		*u1 = k == 0 ? u : 0;
		return;
	}
	*u0 = k == 0 ? 0 : (u * k / t->n) & ~15;
	*u1 = k + 1 == t->n ? u : (u * (k + 1) / t->n) & ~15;
}

/* Whether any layer is wide enough to split, or an image layer (split by
 * examples). */
static int splits(const struct mp_step_team *t)
{
	int l;

	for (l = 0; l < t->net->nlayers; l++)
		if (t->net->layers[l].units >= MIN_UNITS * t->n || t->net->layers[l].kind != MP_LAYER_DENSE)
			return 1;
	return 0;
}

/* The update of member k's rows of every layer's weights and biases. */
static void update_own(struct mp_step_team *t, int k)
{
	mp_net *n = t->net;
	int l, u0, u1;

	for (l = 0; l < n->nlayers; l++) {
		size_t prev = (size_t)(l ? n->layers[l - 1].units : n->nin);

		units_of(t, l, k, &u0, &u1);
		if (u1 <= u0)
			continue;
		if (n->layers[l].kind != MP_LAYER_DENSE) { /* member 0's, whole */
			mp_optimizer_apply(t->opt, n->params, n->grads, t->lr, n->woff[l],
					   n->boff[l] + (size_t)mp__layer_biases(&n->layers[l]));
			continue;
		}
		mp_optimizer_apply(t->opt, n->params, n->grads, t->lr, n->woff[l] + (size_t)u0 * prev,
				   n->woff[l] + (size_t)u1 * prev);
		mp_optimizer_apply(t->opt, n->params, n->grads, t->lr, n->boff[l] + (size_t)u0, n->boff[l] + (size_t)u1);
	}
}

/* Member k's share [*a0, *a1) of n things (examples of a batch, filters). */
static void share_of(const struct mp_step_team *t, int n, int k, int *a0, int *a1)
{
	*a0 = (int)((int64_t)n * k / t->n);
	*a1 = (int)((int64_t)n * (k + 1) / t->n);
}

static int is_image(const mp_net *n, int l)
{
	return n->layers[l].kind != MP_LAYER_DENSE;
}

/* Backward through image layer l: this member's examples through the
 * activation, and once every member's are, its filters' gradients. */
static void image_backward(struct mp_step_team *t, member *me, int l)
{
	mp_net *n = t->net;
	int s0, s1, f0, f1;

	share_of(t, t->batch, me->k, &s0, &s1);
	mp__net_image_deactivate(n, l, s0, s1);
	barrier(t, me);
	share_of(t, n->layers[l].kind == MP_LAYER_CONV ? n->layers[l].filters : 1, me->k, &f0, &f1);
	mp__net_image_grads(n, l, l ? n->a[l - 1] : t->x, t->batch, f0, f1);
}

static void run_step(struct mp_step_team *t, member *me)
{
	mp_net *n = t->net;
	const float *in = t->x;
	uint64_t *rng = me->k ? &me->rng : &n->rng;
	int l, u0, u1, p0, p1, s0, s1;

	share_of(t, t->batch, me->k, &s0, &s1);
	for (l = 0; l < n->nlayers; l++) {
		units_of(t, l, me->k, &u0, &u1);
		if (is_image(n, l))
			mp__net_image_forward(n, l, in, s0, s1, 1, rng);
		else if (u1 > u0)
			mp__net_forward_units(n, l, in, t->batch, u0, u1, 1, rng);
		barrier(t, me);
		in = n->a[l];
	}
	if (me->k == 0) {
		n->grad_rows = t->grad_rows;
		mp__net_loss(n, t->y, t->batch, &t->loss, &t->correct);
		n->grad_rows = 0;
	}
	barrier(t, me);
	for (l = n->nlayers - 1; l >= 0; l--) {
		units_of(t, l, me->k, &u0, &u1);
		if (is_image(n, l))
			image_backward(t, me, l);
		else if (u1 > u0)
			mp__net_backward_units(n, l, l ? n->a[l - 1] : t->x, t->batch, u0, u1);
		if (l == 0)
			break;
		barrier(t, me);
		if (is_image(n, l)) {
			/* by examples: the layer below is an image layer too, and
			 * goes on with the same examples */
			mp__net_image_down(n, l, s0, s1);
			continue;
		}
		/* the layer below's d, in the columns this member works on next;
		 * below a dense layer that is an image layer (a flatten), whose
		 * backward goes by examples: a barrier first */
		units_of(t, l - 1, me->k, &p0, &p1);
		if (is_image(n, l - 1))
			share_of(t, n->layers[l - 1].units, me->k, &p0, &p1);
		if (p1 > p0)
			mp__net_down_units(n, l, t->batch, p0, p1);
		if (is_image(n, l - 1))
			barrier(t, me);
	}
	if (t->opt) {
		/* every member has read the weights it passes gradients down
		 * through before any of them changes */
		barrier(t, me);
		update_own(t, me->k);
	}
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
		if (k) {
			if (pthread_create(&t->th[k], NULL, member_main, &t->m[k]) != 0)
				rc = mp_error(err, MP_EIO, "cannot start a training thread");
			else
				t->started = k;
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
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->go);
	}
	free(t->th);
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
	int k;

	if (t->n == 1 || batch < MIN_ROWS || !splits(t)) {
		t->net->grad_rows = grad_rows;
		mp_net_train_step(t->net, x, y, batch, loss, correct);
		t->net->grad_rows = 0;
		if (opt)
			mp_optimizer_step(opt, t->net->params, t->net->grads, lr);
		return;
	}
	if (opt)
		opt->t++; /* the members update their slices at this step count */
	t->x = x;
	t->y = y;
	t->batch = batch;
	t->grad_rows = grad_rows;
	t->opt = opt;
	t->lr = lr;
	/* the members' dropout streams come from the network's at this step,
	 * which a checkpoint keeps: a resumed training draws the same masks */
	for (k = 1; k < t->n; k++) {
		uint64_t seed = t->net->rng + (uint64_t)k;

		t->m[k].rng = mp_splitmix64(&seed);
	}
	pthread_mutex_lock(&t->mu);
	atomic_fetch_add(&t->gen, 1);
	pthread_cond_broadcast(&t->go);
	pthread_mutex_unlock(&t->mu);
	run_step(t, &t->m[0]);
	*loss = t->loss;
	*correct = t->correct;
}
