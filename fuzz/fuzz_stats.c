/* statistics.tsv, then what the validator and the Transform do with it. */
#include "fuzz/fuzz.h"
#include "data/stats.h"
#include "data/schema.h"
#include "data/transform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char *text = fuzz_text(data, n);
	mp_stats s;
	mp_err err;

	if (mp_stats_parse(&s, text, "statistics.tsv", &err) == 0) {
		mp_schema sc;
		mp_transform t;

		if (mp_schema_infer(&sc, &s, "train", 1, 100, &err) == 0)
			mp_schema_release(&sc);
		if (mp_transform_fit(&t, &s, "train", NULL, MP_TX_ZSCORE, 1, NULL, 0, &err) == 0)
			mp_transform_release(&t);
		mp_stats_release(&s);
	}
	free(text);
	return 0;
}
