/* data/idx: IDX files (the MNIST format), plain or gzip. */
#ifndef MP_DATA_IDX_H
#define MP_DATA_IDX_H

#include <stddef.h>
#include <stdint.h>
#include "core/core.h"

/* ---- IDX (the MNIST format), plain or gzip ----------------------------- */

typedef struct mp_idx {
	void *gz;
	char *path;
	int dims;
	uint32_t shape[4];
	int64_t count;	  /* shape[0] */
	size_t item_size; /* bytes per item: the product of the other dimensions */
	uint64_t offset;  /* of the next byte */
	int64_t read;	  /* items read */
} mp_idx;

/* Opens an unsigned-byte IDX file with dims dimensions (3 for images, 1
 * for labels). */
int mp_idx_open(mp_idx *x, const char *path, int dims, mp_err *err);
/* Reads up to n items into buf (n * item_size bytes); *got gets how many.
 * A file shorter than its header says, or longer, is MP_ECORRUPT. */
int mp_idx_read(mp_idx *x, uint8_t *buf, size_t n, size_t *got, mp_err *err);
void mp_idx_close(mp_idx *x);

#endif
