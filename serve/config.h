/* serve/config: TF Serving's model config file (--model_config_file), in
 * its protobuf text format, so the same file works with either server:
 *
 *   model_config_list {
 *     config {
 *       name: "penguins"
 *       base_path: "/srv/penguins"
 *       model_platform: "mlpipe"              # accepted, not checked
 *       model_version_policy { specific { versions: 1 versions: 2 } }
 *       version_labels { key: "stable" value: 1 }
 *       version_labels { key: "canary" value: 2 }
 *     }
 *   }
 *
 * Policies: latest { num_versions: N } (the default, N = 1), all {},
 * specific { versions: N ... }.  Every problem names the file, line and
 * column.
 */
#ifndef MP_SERVE_CONFIG_H
#define MP_SERVE_CONFIG_H

#include <stddef.h>

#include "core/core.h"

typedef enum { MP_POLICY_LATEST, MP_POLICY_ALL, MP_POLICY_SPECIFIC } mp_version_policy;

typedef struct mp_version_label {
	char *label;
	long version;
} mp_version_label;

typedef struct mp_model_config {
	char *name, *base_path;
	mp_version_policy policy;
	int num_versions;   /* latest */
	long *versions;	    /* specific */
	size_t nversions;
	mp_version_label *labels;
	size_t nlabels;
} mp_model_config;

typedef struct mp_serve_config {
	mp_model_config *models;
	size_t nmodels;
} mp_serve_config;

/* Parses text (len bytes; path names it in errors). */
int mp_serve_config_parse(mp_serve_config *out, const char *text, size_t len, const char *path, mp_err *err);
int mp_serve_config_read(mp_serve_config *out, const char *path, mp_err *err);
void mp_serve_config_release(mp_serve_config *c);
/* A deep copy of src into dst: 0, or MP_ENOMEM with dst left empty. */
int mp_model_config_copy(mp_model_config *dst, const mp_model_config *src);
void mp_model_config_release(mp_model_config *c);

#endif
