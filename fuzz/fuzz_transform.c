/* A fitted transform's text (transform.tsv, and inside every model file):
 * read, written back, read again. */
#include "fuzz/fuzz.h"
#include "data/transform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char *text = fuzz_text(data, n);
	mp_transform t, t2;
	mp_err err;

	if (mp_transform_from_text(&t, text, "transform.tsv", &err) == 0) {
		mp_strbuf sb = MP_STRBUF_INIT;
		char name[256];

		if (mp_transform_width(&t))
			mp_transform_output_name(&t, mp_transform_width(&t) - 1, name, sizeof(name));
		if (mp_transform_to_text(&t, &sb) == 0 && mp_transform_from_text(&t2, sb.buf, "again", &err) == 0)
			mp_transform_release(&t2);
		mp_strbuf_release(&sb);
		mp_transform_release(&t);
	}
	free(text);
	return 0;
}
