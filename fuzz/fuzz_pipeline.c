/* The pipeline file: YAML, validated as a whole. */
#include "fuzz/fuzz.h"
#include "orchestrator/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static const char *const sets[] = {"train.epochs=3", "pipeline.seed=1"};
	mp_pipeline *p = NULL;
	mp_diags d = {0};
	mp_err err;

	if (mp_pipeline_parse("fuzz.yaml", "/nonexistent", (const char *)data, n, sets, n % 3, &p, &d, &err) == 0)
		mp_pipeline_free(p);
	mp_diags_release(&d);
	return 0;
}
