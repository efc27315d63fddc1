/* core/json: JSON and YAML in, JSON out.
 *
 * Every YAML reader (pipeline files, schemas, structured params) loads
 * through mp_yaml_load, which holds the one set of rules against hostile
 * documents.  Structured params are read as mp_jdoc trees (JSON is YAML
 * to libyaml), and mp_json streams JSON out for --json and the reports.
 */
#ifndef MP_CORE_JSON_H
#define MP_CORE_JSON_H

#include <stdio.h>

#include "core/core.h"

/* ---- loading YAML ------------------------------------------------------- */

struct yaml_document_s;
struct yaml_node_s;

/* Every YAML reader loads through here (pipeline files, schemas,
 * structured params): text into *doc (delete it with
 * yaml_document_delete), refusing, with name:line:col, a document whose
 * aliases expand past MP_YAML_MAX_EXPANSION times its nodes (a billion
 * laughs), one nested deeper than MP_YAML_MAX_DEPTH and, with check_dups,
 * a mapping with a key twice.  *doc is not to be deleted on failure. */
#define MP_YAML_MAX_EXPANSION 8
#define MP_YAML_MAX_DEPTH 64
int mp_yaml_load(struct yaml_document_s *doc, const char *text, size_t len, const char *name, int check_dups,
		 mp_err *err);

/* ---- the reader: a parsed JSON (or YAML) value, for structured params ---- */

/* A parsed JSON (or YAML) value; nodes point into the document. */
typedef struct mp_jdoc mp_jdoc;
typedef struct mp_jnode mp_jnode;

int mp_jdoc_parse(mp_jdoc **out, const char *text, const char *what, mp_err *err);
void mp_jdoc_free(mp_jdoc *d);
const mp_jnode *mp_jdoc_root(const mp_jdoc *d);
int mp_jnode_is_map(const mp_jnode *n);
int mp_jnode_is_list(const mp_jnode *n);
/* A mapping's value for key, or NULL (also when n is not a mapping). */
const mp_jnode *mp_jnode_get(const mp_jdoc *d, const mp_jnode *n, const char *key);
size_t mp_jnode_len(const mp_jnode *n);
const mp_jnode *mp_jnode_at(const mp_jdoc *d, const mp_jnode *n, size_t i);
/* A mapping's i-th key, or NULL. */
const char *mp_jnode_key(const mp_jdoc *d, const mp_jnode *n, size_t i);
/* A scalar's text, or NULL. */
const char *mp_jnode_str(const mp_jnode *n);
/* Appends the compact JSON of n, a node of d, to sb. */
void mp_jnode_json(const mp_jdoc *d, const mp_jnode *n, mp_strbuf *sb);
/* Compact JSON of any YAML text ("{name: adam}" -> {"name":"adam"}). */
int mp_yaml_to_json(const char *text, char **json, mp_err *err);

/* ---- JSON writer ------------------------------------------------------- */

/* Streams well-formed JSON to a FILE: commas and nesting are tracked, strings
 * escaped, non-finite numbers written as null. */
#define MP_JSON_DEPTH 32
typedef struct mp_json {
	FILE *out;
	int depth;
	int count[MP_JSON_DEPTH]; /* items written at each level */
	int after_key;
	int pretty;
} mp_json;

void mp_json_init(mp_json *j, FILE *out, int pretty);
void mp_json_begin_object(mp_json *j);
void mp_json_end_object(mp_json *j);
void mp_json_begin_array(mp_json *j);
void mp_json_end_array(mp_json *j);
void mp_json_key(mp_json *j, const char *key);
void mp_json_string(mp_json *j, const char *s); /* NULL writes null */
void mp_json_int(mp_json *j, int64_t v);
void mp_json_double(mp_json *j, double v);
void mp_json_bool(mp_json *j, int v);
void mp_json_null(mp_json *j);
void mp_json_finish(mp_json *j); /* newline after the top-level value */
/* Writes s as a JSON string literal (with quotes); the same appended to
 * sb, with no allocation but sb's growth. */
void mp_json_write_escaped(FILE *out, const char *s);
void mp_json_quote(mp_strbuf *sb, const char *s);

#endif
