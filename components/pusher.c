/* Pusher: a blessed model to serving, as destination/<version>/ with
 * versions 1, 2, 3, ...  The version folder is filled under a temporary
 * name and renamed into place, so a reader never sees a half-written
 * version, and an existing version is never overwritten.  A model that is
 * not blessed is not pushed (an outcome, not a failure). */
#include "components/component.h"
#include "components/export/export.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const mp_io_spec inputs[] = {
	{"model", "Model", 0, "the model"},
	{"blessing", "ModelBlessing", 0, "the Evaluator's verdict on it"},
};

static const mp_io_spec outputs[] = {
	{"pushed_model", "PushedModel", 0, "pushed.tsv: whether it was pushed, where, as which version"},
};

static const mp_param_spec params[] = {
	{"destination", MP_PARAM_STRING, NULL, 0, 0, "the serving folder; versions go in numbered folders below it"},
	{"formats", MP_PARAM_LIST, "native", 0, 0,
	 "what to write into the version folder: native (model.mlpm), c (model.c and model.h, C99 needing only "
	 "libm), onnx (model.onnx, opset 19)"},
};

/* Whether the blessing says yes. */
static int is_blessed(const char *dir, int *blessed, mp_err *err)
{
	char *path = mp_asprintf("%s/blessing.tsv", dir), *text = NULL;
	int rc;

	if (!path)
		return mp_error(err, MP_ENOMEM, "out of memory");
	rc = mp_read_file(path, &text, NULL, err);
	free(path);
	if (rc != 0)
		return rc;
	if (strncmp(text, "mlpipe-blessing 1\n", 18) != 0)
		rc = mp_error(err, MP_ECORRUPT, "'%s' is not a blessing", dir);
	else
		*blessed = strstr(text, "\nblessed\tyes\n") != NULL;
	free(text);
	return rc;
}

/* The highest version number below dest (0 when none). */
static long highest_version(const char *dest)
{
	DIR *d = opendir(dest);
	struct dirent *e;
	long best = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *end;
		long v = strtol(e->d_name, &end, 10);

		if (*e->d_name && !*end && v > best)
			best = v;
	}
	closedir(d);
	return best;
}

static int copy_file(const char *from, const char *to, mp_err *err)
{
	char *data;
	size_t n;
	int rc;

	if ((rc = mp_read_file(from, &data, &n, err)) != 0)
		return rc;
	rc = mp_write_file_atomic(to, data, n, err);
	free(data);
	return rc;
}

/* Writes the model at from into dir in each format named. */
static int write_formats(const char *from, const char *dir, char **fl, size_t nf, mp_err *err)
{
	mp_served s = {0};
	char *to = NULL;
	size_t i;
	int rc = 0, loaded = 0;

	for (i = 0; i < nf && rc == 0; i++) {
		int native = !strcmp(fl[i], "native"), c = !strcmp(fl[i], "c");

		if (!native && !loaded) {
			if ((rc = mp_served_load(&s, from, 1, err)) != 0)
				break;
			loaded = 1;
		}
		if (!(to = mp_asprintf(native ? "%s/model.mlpm" : c ? "%s/model" : "%s/model.onnx", dir)))
			rc = mp_error(err, MP_ENOMEM, "out of memory");
		else
			rc = native ? copy_file(from, to, err) : c ? mp_export_c(&s, to, err) : mp_export_onnx(&s, to, err);
		free(to);
	}
	if (loaded)
		mp_served_release(&s);
	return rc;
}

static int run_pusher(const mp_component_io *io, mp_err *err)
{
	const char *model = mp_io_input(io, "model"), *blessing = mp_io_input(io, "blessing");
	const char *dest_param = mp_io_param(io, "destination"), *formats = mp_io_param(io, "formats");
	char *dest = NULL, *tmp = NULL, *final = NULL, *from = NULL, *report = NULL, *fbuf = NULL, **fl = NULL;
	mp_strbuf out = MP_STRBUF_INIT;
	size_t nf = 0, i;
	long version = 0;
	int blessed = 0, rc;

	if (!model || !blessing)
		return mp_error(err, MP_EINVAL, "Pusher needs 'model' and 'blessing' inputs");
	if ((rc = mp_param_lines(formats, &fbuf, &fl, &nf, err)) != 0)
		return rc;
	if (!nf) {
		rc = mp_error(err, MP_EINVAL, "formats: name at least one (native, c, onnx)");
		goto out;
	}
	for (i = 0; i < nf; i++)
		if (strcmp(fl[i], "native") && strcmp(fl[i], "c") && strcmp(fl[i], "onnx")) {
			rc = mp_error(err, MP_EINVAL, "formats: '%s' is not a format this Pusher writes (native, c, onnx)",
				      fl[i]);
			goto out;
		}
	if (!(dest = dest_param[0] == '/' ? mp_strdup(dest_param) : mp_asprintf("%s/%s", io->workdir, dest_param)) ||
	    !(report = mp_asprintf("%s/pushed.tsv", mp_io_output(io, "pushed_model")))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = is_blessed(blessing, &blessed, err)) != 0)
		goto out;
	if (!blessed) {
		mp_strbuf_adds(&out, "mlpipe-pushed 1\npushed\tno\nreason\tthe model is not blessed\n");
		fprintf(stderr, "mlpipe: not pushed: the model is not blessed\n");
	} else {
		if ((rc = mp_mkdirs(dest, 0755, err)) != 0)
			goto out;
		if (!(tmp = mp_asprintf("%s/.push-%ld", dest, (long)getpid())) || !(from = mp_asprintf("%s/model.mlpm", model))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto out;
		}
		mp_rmtree(tmp, NULL);
		if ((rc = mp_mkdirs(tmp, 0755, err)) != 0 || (rc = write_formats(from, tmp, fl, nf, err)) != 0)
			goto out;
		/* the next free version; rename never replaces a version with files */
		for (version = highest_version(dest) + 1;; version++) {
			free(final);
			if (!(final = mp_asprintf("%s/%ld", dest, version))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				goto out;
			}
			if (mp_path_exists(final))
				continue; /* taken (by another pusher too) */
			if (rename(tmp, final) == 0)
				break;
			if (errno != EEXIST && errno != ENOTEMPTY) {
				rc = mp_error(err, MP_EIO, "cannot publish '%s': %s", final, strerror(errno));
				goto out;
			}
		}
		mp_strbuf_addf(&out, "mlpipe-pushed 1\npushed\tyes\nversion\t%ld\npath\t%s\nformats", version, final);
		for (i = 0; i < nf; i++)
			mp_strbuf_addf(&out, "\t%s", fl[i]);
		mp_strbuf_adds(&out, "\n");
		fprintf(stderr, "mlpipe: pushed as version %ld: %s\n", version, final);
	}
	if (out.failed) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mp_write_file_atomic(report, out.buf, out.len, err)) != 0)
		goto out;
	if (mp_result_prop_int(io->result, "pushed_model", "pushed", blessed) != 0 ||
	    (blessed && (mp_result_prop_int(io->result, "pushed_model", "version", version) != 0 ||
			 mp_result_prop_string(io->result, "pushed_model", "path", final) != 0)) ||
	    mp_result_metric(io->result, "pushed", 0, blessed) != 0)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
out:
	if (tmp && rc != 0)
		mp_rmtree(tmp, NULL);
	mp_strbuf_release(&out);
	free(fl);
	free(fbuf);
	free(dest);
	free(tmp);
	free(final);
	free(from);
	free(report);
	return rc;
}

const mp_component_type mp_pusher_component = {
	.name = "Pusher",
	.version = "1",
	.summary = "copies a blessed model to destination/<version>/, atomically, never overwriting",
	.inputs = inputs,
	.ninputs = 2,
	.outputs = outputs,
	.noutputs = 1,
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.run = run_pusher,
};
