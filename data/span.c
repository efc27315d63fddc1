#include "data/span.h"
/* {SPAN} and {VERSION} in input paths: the newest data wins.  Patterns may
 * also use the glob wildcards '*' and '?'. */

#include <glob.h>
#include <stdlib.h>
#include <string.h>

/* Matches name against pattern, where {SPAN} and {VERSION} each match a run
 * of digits, '*' any run of characters and '?' one; 1 on a match, with the
 * numbers in *span and *version. */
static int match(const char *pat, const char *name, int64_t *span, int64_t *version)
{
	while (*pat) {
		if (*pat == '*') {
			const char *n;

			for (n = name;; n++) {
				if (match(pat + 1, n, span, version))
					return 1;
				if (!*n)
					return 0;
			}
		}
		if (*pat == '?') {
			if (!*name)
				return 0;
			pat++;
			name++;
			continue;
		}
		int64_t *slot = NULL;

		if (strncmp(pat, "{SPAN}", 6) == 0)
			slot = span;
		else if (strncmp(pat, "{VERSION}", 9) == 0)
			slot = version;
		if (slot) {
			int64_t v = 0;
			int digits = 0;

			while (*name >= '0' && *name <= '9' && digits < 18) {
				v = v * 10 + (*name++ - '0');
				digits++;
			}
			if (!digits || (*name >= '0' && *name <= '9'))
				return 0;
			*slot = v;
			pat += slot == span ? 6 : 9;
			continue;
		}
		if (*pat++ != *name++)
			return 0;
	}
	return *name == '\0';
}

int mp_resolve_span(const char *pattern, const char *workdir, char **path, int64_t *span,
		    int64_t *version, mp_err *err)
{
	mp_strbuf full = MP_STRBUF_INIT, glb = MP_STRBUF_INIT;
	const char *p;
	glob_t g;
	size_t i;
	int rc = 0, best = -1;
	int64_t bs = -1, bv = -1;

	*path = NULL;
	*span = *version = -1;
	if (pattern[0] != '/' && workdir)
		mp_strbuf_addf(&full, "%s/", workdir);
	mp_strbuf_adds(&full, pattern);
	if (full.failed)
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (!strstr(pattern, "{SPAN}") && !strstr(pattern, "{VERSION}")) {
		*path = mp_strbuf_detach(&full);
		return *path ? 0 : mp_error(err, MP_ENOMEM, "out of memory");
	}
	for (p = full.buf; *p;) {
		if (strncmp(p, "{SPAN}", 6) == 0) {
			mp_strbuf_adds(&glb, "[0-9]*");
			p += 6;
		} else if (strncmp(p, "{VERSION}", 9) == 0) {
			mp_strbuf_adds(&glb, "[0-9]*");
			p += 9;
		} else if (strchr("[\\", *p)) {
			mp_strbuf_addf(&glb, "\\%c", *p++); /* only '*' and '?' are special */
		} else {
			mp_strbuf_add(&glb, p++, 1);
		}
	}
	if (glb.failed) {
		mp_strbuf_release(&full);
		return mp_error(err, MP_ENOMEM, "out of memory");
	}
	memset(&g, 0, sizeof(g));
	if (glob(glb.buf, 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++) {
			int64_t s = -1, v = -1;

			if (!match(full.buf, g.gl_pathv[i], &s, &v))
				continue;
			if (best < 0 || s > bs || (s == bs && v > bv)) {
				best = (int)i;
				bs = s;
				bv = v;
			}
		}
	}
	if (best < 0) {
		rc = mp_error(err, MP_ENOTFOUND, "no file matches '%s'", pattern);
	} else if (!(*path = mp_strdup(g.gl_pathv[best]))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
	} else {
		*span = bs;
		*version = bv;
	}
	globfree(&g);
	mp_strbuf_release(&full);
	mp_strbuf_release(&glb);
	return rc;
}
