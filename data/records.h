/* data/records: record files in TFRecord's framing (a u64 little-endian
 * length, its masked CRC32C, the data, the data's masked CRC32C); a
 * damaged record is MP_ECORRUPT naming the file and byte offset. */
#ifndef MP_DATA_RECORDS_H
#define MP_DATA_RECORDS_H

#include <stdint.h>
#include <stdio.h>
#include "core/core.h"

/* ---- record files ------------------------------------------------------ */

typedef struct mp_rec_writer {
	FILE *fp;
	char *path;
	uint64_t bytes; /* written so far */
} mp_rec_writer;

int mp_rec_writer_open(mp_rec_writer *w, const char *path, mp_err *err);
int mp_rec_write(mp_rec_writer *w, const void *data, size_t n, mp_err *err);
/* Flushes and closes; always releases w. */
int mp_rec_writer_close(mp_rec_writer *w, mp_err *err);

typedef struct mp_rec_reader {
	FILE *fp;
	char *path;
	uint64_t offset; /* of the next record */
	uint8_t *buf;
	size_t cap;
} mp_rec_reader;

int mp_rec_reader_open(mp_rec_reader *r, const char *path, mp_err *err);
/* The next record: 1 with *data (valid until the next call) and *n, 0 at
 * the end, or MP_ECORRUPT naming the file and byte offset. */
int mp_rec_read(mp_rec_reader *r, const uint8_t **data, size_t *n, mp_err *err);
void mp_rec_reader_close(mp_rec_reader *r);

#endif
