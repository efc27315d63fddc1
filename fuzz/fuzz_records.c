/* Record shards and the blocks in them, decoded for three feature layouts. */
#include "fuzz/fuzz.h"
#include "data/records.h"
#include "data/examples.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static const mp_feature layouts[3][3] = {
		{{"a", MP_FEAT_FLOAT}, {"s", MP_FEAT_STRING}, {"b", MP_FEAT_FLOAT}},
		{{"a", MP_FEAT_FLOAT}, {"b", MP_FEAT_FLOAT}, {"c", MP_FEAT_FLOAT}},
		{{"s", MP_FEAT_STRING}, {"t", MP_FEAT_STRING}, {"a", MP_FEAT_FLOAT}},
	};
	char path[64];
	int fd = fuzz_file(data, n, path, sizeof(path));
	mp_rec_reader r;
	mp_err err;
	int l;

	/* the bytes as a block, and as a shard of blocks */
	for (l = 0; l < 3; l++) {
		mp_block b;

		if (mp_block_init(&b, layouts[l], 3, 1, &err) == 0) {
			mp_block_decode(&b, data, n, "fuzz", &err);
			mp_block_release(&b);
		}
	}
	if (mp_rec_reader_open(&r, path, &err) == 0) {
		const uint8_t *rec;
		size_t len;
		int k = 0;

		while (k++ < 1000 && mp_rec_read(&r, &rec, &len, &err) == 1)
			for (l = 0; l < 3; l++) {
				mp_block b;

				if (mp_block_init(&b, layouts[l], 3, 1, &err) == 0) {
					mp_block_decode(&b, rec, len, "fuzz", &err);
					mp_block_release(&b);
				}
			}
		mp_rec_reader_close(&r);
	}
	close(fd);
	return 0;
}
