/* The largest difference between the weights of two model files of the
 * same shape, for the tests that compare trainings (one rank against two).
 *
 *   modeldiff A B      prints it (%.9g); exit 1 when the shapes differ
 */
#include <math.h>
#include <stdio.h>

#include "nn/nn.h"

int main(int argc, char **argv)
{
	mp_model a, b;
	mp_err err;
	double worst = 0;
	size_t i;

	if (argc != 3) {
		fputs("usage: modeldiff A B\n", stderr);
		return 2;
	}
	if (mp_model_load(&a, argv[1], 1, &err) != 0) {
		fprintf(stderr, "modeldiff: %s\n", err.msg);
		return 2;
	}
	if (mp_model_load(&b, argv[2], 1, &err) != 0) {
		fprintf(stderr, "modeldiff: %s\n", err.msg);
		mp_model_release(&a);
		return 2;
	}
	if (a.net.nparams != b.net.nparams || a.net.nin != b.net.nin) {
		fprintf(stderr, "modeldiff: %zu and %zu parameters\n", a.net.nparams, b.net.nparams);
		mp_model_release(&a);
		mp_model_release(&b);
		return 1;
	}
	for (i = 0; i < a.net.nparams; i++) {
		double d = fabs((double)a.net.params[i] - (double)b.net.params[i]);

		if (d > worst || isnan(d))
			worst = d;
	}
	printf("%.9g\n", worst);
	mp_model_release(&a);
	mp_model_release(&b);
	return 0;
}
