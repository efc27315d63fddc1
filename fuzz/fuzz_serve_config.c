/* mlpipe serve's --model_config_file (TF Serving's text format) */
#include "fuzz/fuzz.h"
#include "serve/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	mp_serve_config c;
	mp_err err;

	if (mp_serve_config_parse(&c, (const char *)data, n, "models.config", &err) == 0)
		mp_serve_config_release(&c);
	return 0;
}
