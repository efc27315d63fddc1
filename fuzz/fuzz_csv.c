/* CSV (plain or gzip), row by row, and each row split into fields. */
#include "fuzz/fuzz.h"
#include "data/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char path[64];
	int fd = fuzz_file(data, n, path, sizeof(path));
	mp_csv *c;
	mp_err err;

	if (mp_csv_open(&c, path, n && data[0] == ';' ? ';' : ',', &err) == 0) {
		const char *row;
		size_t len;
		int quoted, k = 0;

		while (k++ < 100000 && mp_csv_next_raw(c, &row, &len, &quoted, &err) == 1)
			if (quoted)
				mp_csv_split(c, &err);
		mp_csv_close(c);
	}
	close(fd);
	return 0;
}
