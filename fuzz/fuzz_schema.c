/* A schema file, as SchemaGen reads a curated one. */
#include "fuzz/fuzz.h"
#include "data/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	mp_schema sc;
	mp_err err;

	if (mp_schema_parse(&sc, (const char *)data, n, "fuzz.yaml", &err) == 0) {
		mp_schema_find(&sc, "x");
		mp_schema_release(&sc);
	}
	return 0;
}
