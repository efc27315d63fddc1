/* What a component reads and writes through: its params, inputs and
 * outputs by name, its help, and taking back what it published (undo). */
#include "components/component.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *kv_find(const mp_kv *kv, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(kv[i].key, name) == 0)
			return kv[i].value;
	return NULL;
}

const char *mp_io_param(const mp_component_io *io, const char *name)
{
	return kv_find(io->params, io->nparams, name);
}

const char *mp_io_input(const mp_component_io *io, const char *name)
{
	return kv_find(io->inputs, io->ninputs, name);
}

const char *mp_io_output(const mp_component_io *io, const char *name)
{
	return kv_find(io->outputs, io->noutputs, name);
}

void mp_component_print_help(const mp_component_type *t, FILE *out)
{
	size_t i;

	fprintf(out, "usage: mlpipe component %s [--input NAME=DIR]... [--output NAME=DIR]... [--param NAME=VALUE]...\n\n",
		t->name);
	fprintf(out, "%s (version %s)\n", t->summary, t->version);
	fprintf(out, "\ninputs:%s\n", t->any_inputs ? " any names" : t->ninputs ? "" : " none");
	for (i = 0; i < t->ninputs; i++)
		fprintf(out, "  %-16s %s%s  %s\n", t->inputs[i].name, t->inputs[i].type ? t->inputs[i].type : "any",
			t->inputs[i].optional ? " (optional)" : "", t->inputs[i].help);
	fprintf(out, "\noutputs:%s\n", t->declared_outputs ? " named in the pipeline file ('outputs:')" : "");
	for (i = 0; i < t->noutputs; i++)
		fprintf(out, "  %-16s %s  %s\n", t->outputs[i].name, t->outputs[i].type, t->outputs[i].help);
	fprintf(out, "\nparams:%s\n", t->any_params ? " (others are accepted as strings)" : "");
	for (i = 0; i < t->nparams; i++) {
		const mp_param_spec *p = &t->params[i];

		fprintf(out, "  %-16s %-7s %s", p->name, mp_param_type_name(p->type), p->help);
		if (p->def)
			fprintf(out, " (default: %s)", *p->def ? p->def : "\"\"");
		else
			fprintf(out, " (required)");
		fputc('\n', out);
	}
}

/* ---- taking back what an execution published --------------------------- */

int mp_io_undo(const mp_component_io *io, const char *path, const char *check, const char *value, mp_err *err)
{
	char *line;
	int fd, rc = 0;
	size_t n;

	if (!io->undo)
		return 0;
	if (strchr(path, '\t') || strchr(path, '\n') || strchr(check, '\t') || strchr(value, '\n'))
		return mp_error(err, MP_EINVAL, "internal error: an undo entry with a tab or newline");
	if (!(line = mp_asprintf("%s\t%s\t%s\n", path, check, value)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	n = strlen(line);
	if ((fd = open(io->undo, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0 || write(fd, line, n) != (ssize_t)n ||
	    fsync(fd) != 0)
		rc = mp_error(err, MP_EIO, "cannot write '%s': %s", io->undo, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(line);
	return rc;
}

int mp_undo_apply(const char *undo_file)
{
	char *text = NULL, *cur, *line;
	mp_err err;
	int removed = 0;

	if (!mp_path_exists(undo_file) || mp_read_file(undo_file, &text, NULL, &err) != 0)
		return 0;
	for (cur = text; cur && *cur; cur = line) {
		char *path = cur, *check, *value, *got = NULL, *file;

		if ((line = strchr(cur, '\n')))
			*line++ = '\0';
		check = strchr(path, '\t');
		if (!check || !(value = strchr(check + 1, '\t')))
			continue;
		*check++ = '\0';
		*value++ = '\0';
		if (!(file = mp_asprintf("%s/%s", path, check)))
			break;
		if (mp_path_exists(file) && mp_read_file(file, &got, NULL, &err) == 0) {
			size_t n = strlen(got);

			while (n && (got[n - 1] == '\n' || got[n - 1] == '\r'))
				got[--n] = '\0';
			if (!strcmp(got, value) && mp_rmtree(path, &err) == 0) {
				mp_warn("removed '%s': it was published by an execution that did not complete", path);
				removed++;
			}
		}
		free(got);
		free(file);
	}
	free(text);
	return removed;
}
