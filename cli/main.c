/* mlpipe: one binary, git-style subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage;
} command;

static const command commands[] = {
	{"run", mp_cmd_run, "validate a pipeline file and run it, recording everything", mp_run_usage},
	{"schedule", mp_cmd_schedule, "start pipelines when their cron schedule says", mp_schedule_usage},
	{"dag", mp_cmd_dag, "draw a pipeline's components and their dependencies", mp_dag_usage},
	{"component", mp_cmd_component, "run one component alone, or list and describe them",
	 mp_component_usage},
	{"report", mp_cmd_report, "draw a run, or a pipeline's history, as one HTML file", mp_report_usage},
	{"predict", mp_cmd_predict, "run a model over a CSV or IDX file, one prediction per example",
	 mp_predict_usage},
	{"export", mp_cmd_export, "write a model as standalone C or as ONNX", mp_export_usage},
	{"serve", mp_cmd_serve, "serve the pushed versions of a model over TF Serving's REST API", mp_serve_usage},
	{"meta", mp_cmd_meta, "inspect runs, artifacts, lineage and metrics in the metadata store",
	 mp_meta_usage},
};

#define NCOMMANDS MP_COUNTOF(commands)

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: mlpipe [--quiet | --verbose] COMMAND [ARGS]\n"
		"       mlpipe --version | --help | help COMMAND\n"
		"\n"
		"mlpipe runs machine-learning pipelines and records every artifact,\n"
		"execution and metric in an SQLite metadata store.\n"
		"\n"
		"commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nSee 'mlpipe help COMMAND' for a command's options.\n");
}

static const command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	const char *near = mp_closest_in(name, commands, NCOMMANDS, sizeof(*commands));

	if (near)
		mp_log(MP_LOG_QUIET, "'%s' is not an mlpipe command (did you mean '%s'?)", name, near);
	else
		mp_log(MP_LOG_QUIET, "'%s' is not an mlpipe command (see 'mlpipe --help')", name);
	return MP_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const command *cmd;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--version") == 0) {
			printf("mlpipe %s\n", MP_VERSION);
			return MP_EXIT_OK;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return MP_EXIT_OK;
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			mp_log_set_level(MP_LOG_QUIET);
		} else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
			mp_log_set_level(MP_LOG_DEBUG);
		} else {
			mp_log(MP_LOG_QUIET, "unknown option '%s' (see 'mlpipe --help')", a);
			return MP_EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return MP_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		if (i + 1 == argc) {
			usage(stdout);
			return MP_EXIT_OK;
		}
		if (!(cmd = find_command(argv[i + 1])))
			return unknown_command(argv[i + 1]);
		fputs(cmd->usage, stdout);
		return MP_EXIT_OK;
	}
	if (strcmp(argv[i], "version") == 0) {
		printf("mlpipe %s\n", MP_VERSION);
		return MP_EXIT_OK;
	}
	if (!(cmd = find_command(argv[i])))
		return unknown_command(argv[i]);
	return cmd->fn(argc - i - 1, argv + i + 1);
}
