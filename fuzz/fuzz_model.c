/* A model file, as predict, export and the Evaluator read one: loaded,
 * with its transform, and asked for a prediction. */
#include "fuzz/fuzz.h"
#include "export/export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char path[64];
	int fd = fuzz_file(data, n, path, sizeof(path));
	mp_model m;
	mp_served s;
	mp_err err;

	if (mp_model_parse(&m, (const char *)data, n, "model.mlpm", 4, &err) == 0)
		mp_model_release(&m);
	if (mp_served_load(&s, path, 4, &err) == 0) {
		mp_block b;

		if (mp_served_block(&s, &b, 4, &err) == 0) {
			float *out = calloc(4 * (s.nout ? s.nout : 1), sizeof(float));
			size_t f, r;

			for (r = 0; r < 2 && out; r++) {
				for (f = 0; f < s.nnum; f++)
					mp_block_set_float(&b, f, (float)r);
				for (f = s.nnum; f < s.nnum + s.nstr; f++)
					mp_block_set_string(&b, f, "a", 1, &err);
				mp_block_end_row(&b);
			}
			if (out)
				mp_served_predict(&s, &b, 0, b.rows, out, NULL);
			free(out);
			mp_block_release(&b);
		}
		mp_served_release(&s);
	}
	close(fd);
	return 0;
}
