/* examples.meta */
#include "fuzz/fuzz.h"
#include "data/examples.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char *text = fuzz_text(data, n);
	mp_examples_meta m;
	mp_err err;

	if (mp_examples_meta_parse(&m, text, "examples.meta", &err) == 0) {
		mp_examples_feature(&m, "label");
		mp_examples_meta_release(&m);
	}
	free(text);
	return 0;
}
