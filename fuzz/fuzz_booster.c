/* A booster in XGBoost's JSON model format, as a model file of trees
 * holds one (the file's CRC keeps mutations of a whole model file from
 * reaching it): read into flat arrays and asked for predictions, of rows
 * with missing values too. */
#include "fuzz/fuzz.h"
#include "trees/trees.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static const mp_loss losses[] = {MP_LOSS_SOFTMAX_CE, MP_LOSS_BCE, MP_LOSS_MSE};
	mp_forest f;
	mp_err err;

	for (size_t l = 0; l < 3; l++) {
		if (mp_forest_parse(&f, (const char *)data, n, 4, losses[l], "booster.json", &err) != 0)
			continue;
		float x[2 * 4] = {0, 1, NAN, -1, 1e30f, -1e30f, 0.5f, NAN}, *out = calloc(2 * (size_t)f.ngroup, sizeof(float));

		if (out)
			mp_forest_predict(&f, x, 2, out);
		free(out);
		mp_forest_release(&f);
	}
	return 0;
}
