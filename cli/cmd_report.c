/* mlpipe report: a run, or a pipeline's history, as one HTML file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "report/report.h"

const char mp_report_usage[] =
	"usage: mlpipe report --db PATH [RUN] [-o report.html]\n"
	"       mlpipe report --db PATH --pipeline NAME --history [-o history.html]\n"
	"\n"
	"Writes one self-contained HTML file (inline SVG and CSS, no scripts) that\n"
	"any browser opens from disk.\n"
	"\n"
	"A run report (RUN: a run id, a name such as demo#3, or 'last', the\n"
	"default): the DAG with each component's state and duration, training\n"
	"curves, the evaluation (metrics, confusion matrix, slices), the blessing,\n"
	"data statistics and anomalies, and what was pushed where.\n"
	"\n"
	"--history: each Evaluator metric across the pipeline's runs (pushed,\n"
	"blessed and not blessed runs marked), run durations and cache hits.\n"
	"\n"
	"  --db PATH        the metadata store ($MLPIPE_DB when not given)\n"
	"  --pipeline NAME  the pipeline (a run report: its newest run)\n"
	"  -o PATH          where to write (default report.html or history.html;\n"
	"                   '-' for stdout)\n";

int mp_cmd_report(int argc, char **argv)
{
	const char *db = getenv("MLPIPE_DB"), *pipeline = NULL, *out = NULL;
	int history = 0, npos, help, rc;
	const mp_opt opts[] = {
		{"--db", NULL, &db, NULL, NULL},
		{"--pipeline", NULL, &pipeline, NULL, NULL},
		{"--history", NULL, NULL, &history, NULL},
		{"--output", "-o", &out, NULL, NULL},
		{NULL, NULL, NULL, NULL, NULL},
	};
	mp_strbuf html = MP_STRBUF_INIT;
	mp_store *st = NULL;
	int64_t id = 0;
	char *pos[1];
	mp_err err;

	mp_err_clear(&err);
	if (mp_cli_parse(argc, argv, opts, pos, 1, &npos, &help, "report", &err) != 0)
		return mp_cli_fail(&err);
	if (help) {
		fputs(mp_report_usage, stdout);
		return MP_EXIT_OK;
	}
	if (!db || !*db) {
		mp_error(&err, MP_EINVAL, "report: which store? give --db PATH (or set MLPIPE_DB)");
		return mp_cli_fail(&err);
	}
	if (history && (!pipeline || npos)) {
		mp_error(&err, MP_EINVAL, "report --history takes --pipeline NAME and no run");
		return mp_cli_fail(&err);
	}
	if (!out)
		out = history ? "history.html" : "report.html";
	if (!mp_path_exists(db)) {
		mp_error(&err, MP_ENOTFOUND, "cannot read '%s': no such store", db);
		return mp_cli_fail(&err);
	}
	if ((rc = mp_store_open(&st, db, 0, &err)) != 0)
		return mp_cli_fail(&err);
	if (npos && strcmp(pos[0], "last") != 0)
		rc = strchr(pos[0], '#') ? mp_store_find_run(st, pos[0], &id, &err)
					 : mp_parse_i64(pos[0], 1, INT64_MAX, &id, "run id", &err);
	if (rc == 0)
		rc = history ? mp_report_history(st, pipeline, &html, &err) : mp_report_run(st, id, pipeline, &html, &err);
	mp_store_close(st);
	if (rc == 0) {
		if (!strcmp(out, "-"))
			rc = fwrite(html.buf, 1, html.len, stdout) == html.len && fflush(stdout) == 0
				     ? 0
				     : mp_error(&err, MP_EIO, "cannot write stdout");
		else if ((rc = mp_write_file_atomic(out, html.buf, html.len, &err)) == 0 && mp_log_get_level() > MP_LOG_QUIET)
			fprintf(stderr, "wrote %s\n", out);
	}
	mp_strbuf_release(&html);
	return rc == 0 ? MP_EXIT_OK : mp_cli_fail(&err);
}
