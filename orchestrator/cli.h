/* The command line: option parsing shared by the subcommands, and the
 * subcommands themselves.  Each mp_cmd_* returns the process exit status:
 * 0 success, 1 a run or component failed, 2 bad usage or bad input. */
#ifndef MP_ORCHESTRATOR_CLI_H
#define MP_ORCHESTRATOR_CLI_H

#include "core/core.h"

enum { MP_EXIT_OK = 0, MP_EXIT_FAILED = 1, MP_EXIT_USAGE = 2 };

/* One option of a command.  A flag sets *flag to 1; an option with a value
 * stores the borrowed argv string in *value (the last one given wins). */
typedef struct mp_opt {
	const char *name; /* "--db"; short aliases as "-j" */
	const char *alias;
	const char **value; /* NULL for a flag */
	int *flag;
} mp_opt;

/* Parses argv[0..argc) (after the command name) against opts, options and
 * positionals in any order; "--" ends options.  Positionals are stored in
 * pos[0..*npos); more than maxpos is an error.  "--help" sets *help. */
int mp_cli_parse(int argc, char **argv, const mp_opt *opts, char **pos, int maxpos,
		 int *npos, int *help, const char *cmd, mp_err *err);

/* The exit status for an error code: 2 for bad input, 1 otherwise. */
int mp_cli_exit_code(int code);

int mp_cmd_meta(int argc, char **argv);
extern const char mp_meta_usage[];

#endif
