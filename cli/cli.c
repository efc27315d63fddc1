/* Option parsing and small helpers shared by the subcommands. */
#include "cli/cli.h"

#include <string.h>

static const mp_opt *find_opt(const mp_opt *opts, const char *name, size_t len)
{
	for (; opts && opts->name; opts++) {
		if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
			return opts;
		if (opts->alias && strlen(opts->alias) == len && strncmp(opts->alias, name, len) == 0)
			return opts;
	}
	return NULL;
}

int mp_cli_parse(int argc, char **argv, const mp_opt *opts, char **pos, int maxpos,
		 int *npos, int *help, const char *cmd, mp_err *err)
{
	int i, only_pos = 0;

	*npos = 0;
	*help = 0;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = 1;
		} else if (!only_pos && a[0] == '-' && a[1] != '\0') {
			const char *eq = strchr(a, '=');
			size_t len = eq ? (size_t)(eq - a) : strlen(a);
			const mp_opt *o;

			if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
				*help = 1;
				continue;
			}
			if (!(o = find_opt(opts, a, len)))
				return mp_error(err, MP_EINVAL, "unknown option '%.*s' for '%s' (see 'mlpipe %s --help')",
						(int)len, a, cmd, cmd);
			if (o->list) {
				const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);

				if (!v)
					return mp_error(err, MP_EINVAL, "option '%s' of '%s' needs a value", o->name, cmd);
				if (mp_grow((void **)&o->list->items, &o->list->alloc, o->list->n,
					    sizeof(*o->list->items)) != 0)
					return mp_error(err, MP_ENOMEM, "out of memory");
				o->list->items[o->list->n++] = v;
			} else if (!o->value) {
				if (eq)
					return mp_error(err, MP_EINVAL, "option '%s' of '%s' takes no value", o->name, cmd);
				*o->flag = 1;
			} else if (eq) {
				*o->value = eq + 1;
			} else if (i + 1 < argc) {
				*o->value = argv[++i];
			} else {
				return mp_error(err, MP_EINVAL, "option '%s' of '%s' needs a value", o->name, cmd);
			}
		} else {
			if (*npos >= maxpos)
				return mp_error(err, MP_EINVAL, "unexpected argument '%s' for '%s'", a, cmd);
			pos[(*npos)++] = argv[i];
		}
	}
	return 0;
}

int mp_cli_fail(const mp_err *err)
{
	mp_log(MP_LOG_QUIET, "%s", err->msg);
	return mp_cli_exit_code(err->code);
}

int mp_cli_exit_code(int code)
{
	switch (code) {
	case MP_OK: return MP_EXIT_OK;
	case MP_EINVAL:
	case MP_ENOTFOUND:
	case MP_ECORRUPT:
	case MP_EVERSION:
		return MP_EXIT_USAGE;
	}
	return MP_EXIT_FAILED;
}
