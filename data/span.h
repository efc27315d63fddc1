/* data/span: {SPAN} and {VERSION} file patterns (TFX's spans). */
#ifndef MP_DATA_SPAN_H
#define MP_DATA_SPAN_H

#include <stdint.h>
#include "core/core.h"

/* A path that may hold {SPAN} and {VERSION} (data/span-{SPAN}/v{VERSION}.csv):
 * the existing file with the highest span, then the highest version.
 * Relative patterns start at workdir (NULL: the current folder).  *path is
 * owned by the caller; *span and *version get -1 when the pattern has none.
 * A pattern without them is returned as it is, whether or not it exists. */
int mp_resolve_span(const char *pattern, const char *workdir, char **path, int64_t *span,
		    int64_t *version, mp_err *err);

#endif
