/* mlpipe serve's request bodies (:predict, :classify, :regress; the first
 * byte picks the verb and the model: one of numbers only, which takes the
 * fast path, and one with a string feature and a transform).  The two
 * small models are written once, at the start, to a temporary folder. */
#include "fuzz/fuzz.h"
#include "nn/nn.h"
#include "serve/rest.h"

static mp_sversion versions[2];

static void make_model(mp_sversion *v, const char *dir, const char *name, int nin, const char *tx)
{
	mp_layer_spec l[2] = {{.units = 4, .act = MP_ACT_RELU, .dropout = 0, .init = MP_INIT_AUTO}, {.units = 2, .act = MP_ACT_NONE, .dropout = 0, .init = MP_INIT_AUTO}};
	char path[512];
	mp_net n;
	mp_err err;

	snprintf(path, sizeof(path), "%s/%s.mlpm", dir, name);
	if (mp_net_init(&n, nin, l, 2, MP_LOSS_SOFTMAX_CE, 4, 1, &err) != 0 || mp_model_save(&n, tx, path, &err) != 0 ||
	    mp_served_load(&v->s, path, 8, &err) != 0 || mp_sversion_make_slots(v, 1, &err) != 0) {
		fprintf(stderr, "fuzz_rest: %s\n", err.msg);
		abort();
	}
	mp_net_release(&n);
	v->version = 1;
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/fuzz_rest.XXXXXX";

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	make_model(&versions[0], dir, "numbers", 3, NULL);
	make_model(&versions[1], dir, "strings", 4,
		   "mlpipe-transform 1\nlabel\ty\ta\tb\nfeature\tc\tonehot\t0\t0\tred\tgreen\nfeature\tx\tzscore\t1\t2\n"
		   "feature\tz\tminmax\t0\t10\n");
	rmdir(dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static const mp_rest_verb verbs[] = {MP_REST_PREDICT, MP_REST_CLASSIFY, MP_REST_REGRESS};
	mp_strbuf out = MP_STRBUF_INIT;
	size_t rows;

	if (n < 1)
		return 0;
	mp_rest_infer(&versions[data[0] & 1], verbs[(data[0] >> 1) % 3], (const char *)data + 1, n - 1, &out, &rows);
	if (data[0] & 8)
		mp_rest_metadata(&versions[data[0] & 1], "m", &out);
	mp_strbuf_release(&out);
	return 0;
}
