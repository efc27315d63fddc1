/* serve/rest: TF Serving's REST bodies, over a loaded version.
 *
 *   :predict   {"instances": [ROW, ...]} or {"inputs": {FEATURE: [...], ...}}
 *              -> {"predictions": [...]}: per row of a classifier
 *              {"probabilities": [...], "label": K, "class": "NAME"}, of a
 *              regression its value
 *   :classify  {"examples": [{FEATURE: VALUE, ...}, ...]}
 *              -> {"results": [[["NAME", SCORE], ...], ...]}
 *   :regress   {"examples": [...]} -> {"results": [VALUE, ...]}
 *
 * A ROW is a list of values in the model's input order (metadata's
 * "inputs") or an object keyed by feature name.  Values are raw, as for
 * mlpipe predict: numbers for numeric features, strings for string ones,
 * null for missing; the transform stored with the model runs inside.
 *
 * Each function returns the HTTP status and fills out with the JSON body
 * (an {"error": "..."} one when the status is not 200).
 */
#ifndef MP_SERVE_REST_H
#define MP_SERVE_REST_H

#include "core/core.h"
#include "serve/models.h"

typedef enum { MP_REST_PREDICT, MP_REST_CLASSIFY, MP_REST_REGRESS } mp_rest_verb;

/* *rows gets the request's rows (0 when it had none that were read). */
int mp_rest_infer(mp_sversion *v, mp_rest_verb verb, const char *body, size_t len, mp_strbuf *out, size_t *rows);
/* The version's inputs (raw and as the transform makes them), outputs,
 * class names and transform. */
int mp_rest_metadata(mp_sversion *v, const char *name, mp_strbuf *out);
/* {"error": msg} as the body of status. */
int mp_rest_error(int status, const char *msg, mp_strbuf *out);

#endif
