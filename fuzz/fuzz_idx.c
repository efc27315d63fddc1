/* IDX files (the MNIST format, plain or gzip): images and labels. */
#include "fuzz/fuzz.h"
#include "data/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char path[64];
	int fd = fuzz_file(data, n, path, sizeof(path)), dims;
	mp_err err;

	for (dims = 1; dims <= 3; dims += 2) {
		mp_idx x;

		memset(&x, 0, sizeof(x));
		if (mp_idx_open(&x, path, dims, &err) == 0) {
			uint8_t *buf = malloc(16 * (x.item_size ? x.item_size : 1));
			size_t got;
			int k = 0;

			while (buf && k++ < 1000 && mp_idx_read(&x, buf, 16, &got, &err) == 0 && got)
				;
			free(buf);
			mp_idx_close(&x);
		}
	}
	close(fd);
	return 0;
}
