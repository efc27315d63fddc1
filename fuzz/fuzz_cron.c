/* A schedule's cron expression. */
#include "fuzz/fuzz.h"
#include "orchestrator/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char *text;
	mp_cron c;
	mp_err err;
	int col;

	if (memchr(data, 0, n) || n > 256)
		return 0;
	text = fuzz_text(data, n);
	if (mp_cron_parse(&c, text, &col, &err) == 0)
		mp_cron_next(&c, (time_t)1764547200); /* 2025-12-01 */
	free(text);
	return 0;
}
