/* evaluation.tsv, blessing.tsv and infra_blessing.tsv (the first byte
 * picks which) */
#include "fuzz/fuzz.h"
#include "eval/evaluation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char *text;
	mp_err err;

	if (n < 1)
		return 0;
	text = fuzz_text(data + 1, n - 1);
	if (data[0] & 2) {
		mp_infra_blessing b;

		if (mp_infra_blessing_parse(&b, text, "infra_blessing.tsv", &err) == 0) {
			mp_strbuf sb = MP_STRBUF_INIT;

			mp_infra_blessing_format(&b, &sb);
			mp_strbuf_release(&sb);
		}
	} else if (data[0] & 1) {
		mp_blessing b;

		if (mp_blessing_parse(&b, text, "blessing.tsv", &err) == 0) {
			mp_strbuf sb = MP_STRBUF_INIT;

			mp_blessing_format(&b, &sb);
			mp_strbuf_release(&sb);
			mp_blessing_release(&b);
		}
	} else {
		mp_evaluation e;

		if (mp_evaluation_parse(&e, text, "evaluation.tsv", &err) == 0) {
			mp_strbuf sb = MP_STRBUF_INIT;

			mp_evaluation_format(&e, &sb);
			mp_evaluation_metric(&e, "accuracy");
			mp_strbuf_release(&sb);
			mp_evaluation_release(&e);
		}
	}
	free(text);
	return 0;
}
