/* The command line: option parsing shared by the subcommands, and the
 * subcommands themselves.  Each mp_cmd_* returns the process exit status:
 * 0 success, 1 a run or component failed, 2 bad usage or bad input. */
#ifndef MP_ORCHESTRATOR_CLI_H
#define MP_ORCHESTRATOR_CLI_H

#include "core/core.h"

enum { MP_EXIT_OK = 0, MP_EXIT_FAILED = 1, MP_EXIT_USAGE = 2 };

/* The values of a repeatable option, borrowed from argv; free(items). */
typedef struct mp_optlist {
	const char **items;
	size_t n, alloc;
} mp_optlist;

/* One option of a command.  A flag sets *flag to 1; an option with a value
 * stores the borrowed argv string in *value (the last one given wins), or
 * appends it to *list when the option is repeatable. */
typedef struct mp_opt {
	const char *name; /* "--db"; short aliases as "-j" */
	const char *alias;
	const char **value; /* NULL for a flag or a list */
	int *flag;
	mp_optlist *list; /* set for a repeatable option */
} mp_opt;

/* Parses argv[0..argc) (after the command name) against opts, options and
 * positionals in any order; "--" ends options.  Positionals are stored in
 * pos[0..*npos); more than maxpos is an error.  "--help" sets *help. */
int mp_cli_parse(int argc, char **argv, const mp_opt *opts, char **pos, int maxpos,
		 int *npos, int *help, const char *cmd, mp_err *err);

/* The exit status for an error code: 2 for bad input, 1 otherwise. */
int mp_cli_exit_code(int code);

/* Prints err's message as the one-line error and returns its exit status. */
int mp_cli_fail(const mp_err *err);

int mp_cmd_meta(int argc, char **argv);
extern const char mp_meta_usage[];
int mp_cmd_run(int argc, char **argv);
extern const char mp_run_usage[];
int mp_cmd_dag(int argc, char **argv);
extern const char mp_dag_usage[];
int mp_cmd_report(int argc, char **argv);
extern const char mp_report_usage[];
int mp_cmd_schedule(int argc, char **argv);
extern const char mp_schedule_usage[];
int mp_cmd_predict(int argc, char **argv);
extern const char mp_predict_usage[];
int mp_cmd_export(int argc, char **argv);
extern const char mp_export_usage[];
int mp_cmd_serve(int argc, char **argv);
extern const char mp_serve_usage[];
int mp_cmd_component(int argc, char **argv);
extern const char mp_component_usage[];

#endif
