/* Structured params: every JSON param of every component type, checked as
 * `--set` and `mlpipe component --param` check them, then the type's own
 * load-time check on the result. */
#include "fuzz/fuzz.h"
#include "components/component.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	const mp_component_type *const *types;
	size_t nt, t, p;
	char *text;

	if (memchr(data, 0, n))
		return 0;
	text = fuzz_text(data, n);
	types = mp_component_types(&nt);
	for (t = 0; t < nt; t++)
		for (p = 0; p < types[t]->nparams; p++) {
			const mp_param_spec *spec = &types[t]->params[p];
			char *canon = NULL;
			mp_err err;

			if (spec->type != MP_PARAM_JSON && spec->type != MP_PARAM_LIST && spec->type != MP_PARAM_PATH_MAP)
				continue;
			if (mp_param_check(spec, text, &canon, &err) == 0 && types[t]->check) {
				/* the other params take their defaults, as a loaded pipeline's do */
				mp_kv all[64];
				mp_component_io io = {0};
				size_t k, m = 0;

				for (k = 0; k < types[t]->nparams && m < 64; k++)
					all[m++] = (mp_kv){types[t]->params[k].name,
							   k == p ? canon : types[t]->params[k].def ? types[t]->params[k].def : ""};
				io.params = all;
				io.nparams = m;
				types[t]->check(&io, &err);
			}
			free(canon);
		}
	free(text);
	return 0;
}
