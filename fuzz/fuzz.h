/* What the fuzz targets share: a NUL-terminated copy of the input, and a
 * file in memory (memfd) for the readers that stream from a path (gzip
 * CSV and IDX, record shards), so no target touches the disk. */
#ifndef MP_FUZZ_H
#define MP_FUZZ_H

#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/core.h"

static inline char *fuzz_text(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/* The input as a file: its path (/proc/self/fd/N) into path; close fd. */
static inline int fuzz_file(const uint8_t *data, size_t n, char *path, size_t pathsz)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		abort();
	snprintf(path, pathsz, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
