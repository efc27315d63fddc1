/* nn/team: one training step split across threads.  Each member (the
 * caller's thread is the first) takes a range of every wide layer's units
 * and runs forward, backward and the update on those units of the network
 * itself; a narrow layer (under 32 units a member) is the first member's.
 * Conv, pool, flatten and embedding layers are split by examples instead
 * (a conv's weight gradients by filters; an embedding's table is the
 * first member's).
 * The members' gradients never overlap, so nothing is added up, and a step
 * gives one thread's result to within the rounding of the products' blocks.
 * OpenBLAS runs one thread per member: at the seed MLP's shapes (64 x 784
 * x 128) its own threading was slower than one thread, and erratic.
 */
#ifndef MP_NN_TEAM_H
#define MP_NN_TEAM_H

#include "nn/nn.h"

typedef struct mp_step_team mp_step_team;

/* A team of members threads (1: no threads, the step runs in the caller)
 * for net, which must outlive it. */
int mp_step_team_create(mp_step_team **out, mp_net *net, int members, mp_err *err);
void mp_step_team_free(mp_step_team *t); /* accepts NULL */
int mp_step_team_size(const mp_step_team *t);

/* mp_net_train_step over the members: net->grads gets the gradient of the
 * batch's mean loss, or with grad_rows > 0 of its sum over grad_rows (an
 * MPI rank's share, see mp_net.grad_rows); *loss is the batch's mean.
 * With opt, the step's update too (at learning rate lr), each member
 * updating its slice of the weights; without (the gradients are to be
 * summed over ranks first), the caller runs the optimizer. */
void mp_step_team_train(mp_step_team *t, const float *x, const float *y, int batch, int grad_rows, mp_optimizer *opt,
			float lr, double *loss, int *correct);

#endif
