/* Pusher: a blessed model to serving, as destination/<version>/ with
 * versions 1, 2, 3, ...  The version folder is filled under a temporary
 * name and renamed into place, so a reader never sees a half-written
 * version, and an existing version is never overwritten.  A model is
 * pushed only when it is blessed and either nothing is served at the
 * destination yet or its blessing was judged against the model served
 * there now (the newest version); never when it is that model.  Not pushed
 * is an outcome, not a failure.  Each version holds model.sha256, the
 * content hash of the model.mlpm it came from. */
#include "components/component.h"
#include "core/tsv.h"
#include "eval/evaluation.h"
#include "export/export.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const mp_io_spec inputs[] = {
	{"model", "Model", 0, "the model"},
	{"blessing", "ModelBlessing", 0, "the Evaluator's verdict on it"},
	{"infra_blessing", "InfraBlessing", 1, "InfraValidator's verdict: when wired, only an infra-blessed model is pushed"},
};

static const mp_io_spec outputs[] = {
	{"pushed_model", "PushedModel", 0, "pushed.tsv: whether it was pushed, where, as which version"},
};

static const mp_param_spec params[] = {
	{"destination", MP_PARAM_STRING, NULL, 0, 0, "the serving folder; versions go in numbered folders below it", NULL, NULL},
	{"formats", MP_PARAM_LIST, "native", 0, 0,
	 "what to write into the version folder: native (model.mlpm), c (model.c and model.h, C99 needing only "
	 "libm), onnx (model.onnx, opset 19)", "native|c|onnx", NULL},
};

/* InfraValidator's verdict in dir: 1 blessed, 0 not (why into buf). */
static int infra_blessed(const char *dir, char *buf, size_t bufsz, mp_err *err)
{
	mp_infra_blessing v;
	int rc;

	if ((rc = mp_infra_blessing_read(&v, dir, err)) != 0)
		return rc;
	snprintf(buf, bufsz, "not infra-blessed: %.200s", v.reason);
	return v.blessed;
}

/* The content hash of the model a version folder holds: its model.sha256
 * (written by this Pusher), else the hash of its model.mlpm; "" when it
 * has neither. */
static int served_fingerprint(const char *version_dir, char fp[MP_HASH_HEX], mp_err *err)
{
	char *path = mp_asprintf("%s/model.sha256", version_dir), *text = NULL;
	int rc = 0;

	fp[0] = '\0';
	if (!path)
		return mp_error(err, MP_ENOMEM, "out of memory");
	if (mp_path_exists(path)) {
		if ((rc = mp_read_file(path, &text, NULL, err)) == 0) {
			if (strlen(text) >= MP_HASH_HEX - 1)
				snprintf(fp, MP_HASH_HEX, "%.*s", MP_HASH_HEX - 1, text);
			free(text);
		}
	} else {
		free(path);
		if (!(path = mp_asprintf("%s/model.mlpm", version_dir)))
			return mp_error(err, MP_ENOMEM, "out of memory");
		if (mp_path_exists(path))
			rc = mp_hash_file(path, fp, err);
	}
	free(path);
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

/* Whether the candidate (content hash fp, judged by v) may replace what
 * is served at dest: the newest version there.  A model reaches a
 * destination only when nothing is served there yet, or when its blessing
 * was judged against the model served there now; never when it is that
 * model.  *why gets the reason it may not (static or in buf). */
static int may_push(const char *dest, const char *fp, const mp_blessing *v, long *served, const char **why,
		    char *buf, size_t bufsz, mp_err *err)
{
	char sfp[MP_HASH_HEX], *vdir;
	int rc;

	*why = NULL;
	if (!v->blessed) {
		*why = "the model is not blessed";
		return 0;
	}
	if (!(*served = highest_version(dest)))
		return 0;
	if (!(vdir = mp_asprintf("%s/%ld", dest, *served)))
		return mp_error(err, MP_ENOMEM, "out of memory");
	rc = served_fingerprint(vdir, sfp, err);
	free(vdir);
	if (rc != 0)
		return rc;
	if (!*sfp)
		snprintf(buf, bufsz, "version %ld at the destination has no model.sha256 or model.mlpm: "
			 "which model it is cannot be told", *served);
	else if (!strcmp(sfp, fp))
		snprintf(buf, bufsz, "same as version %ld", *served);
	else if (strcmp(sfp, v->baseline_fp) != 0)
		snprintf(buf, bufsz, "the blessing was judged against %s, not against version %ld served at the "
			 "destination now", !*v->baseline_fp ? "an unrecorded baseline" :
			 !strcmp(v->baseline_fp, "none") ? "no baseline" : "another model", *served);
	else
		return 0;
	*why = buf;
	return 0;
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

/* Temporary folders (.push-PID) of pushes whose process is gone: never
 * versions, and removed here whatever left them. */
static void remove_stale_pushes(const char *dest)
{
	DIR *d = opendir(dest);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end, *path;
		long pid;

		if (strncmp(e->d_name, ".push-", 6) != 0)
			continue;
		pid = strtol(e->d_name + 6, &end, 10);
		if (*end || mp_process_alive(pid))
			continue;
		if ((path = mp_asprintf("%s/%s", dest, e->d_name))) {
			mp_rmtree(path, NULL);
			free(path);
		}
	}
	closedir(d);
}

/* For the tests of a push killed half way (MLPIPE_TEST_KILL_PUSHER names
 * the moment): dies there as a SIGKILL would make it. */
static void test_kill(const char *moment)
{
	const char *want = getenv("MLPIPE_TEST_KILL_PUSHER"), *ready = getenv("MLPIPE_TEST_PUSHER_READY");
	size_t n = strlen(moment);

	if (!want || strncmp(want, moment, n) != 0)
		return;
	if (!strcmp(want + n, "-wait") && ready) {
		/* wait there to be killed with the orchestrator */
		mp_write_file_atomic(ready, "", 0, NULL);
		for (;;)
			pause();
	}
	if (!want[n])
		raise(SIGKILL);
}

/* Whether the model (content hash fp) may go to dest: may_push's rule,
 * then InfraValidator's verdict when wired.  *why is NULL when it may. */
static int judge(const mp_component_io *io, const char *dest, const char *fp, const mp_blessing *v, long *served,
		 const char **why, char *buf, size_t bufsz, mp_err *err)
{
	int rc;

	if ((rc = may_push(dest, fp, v, served, why, buf, bufsz, err)) != 0 || *why || !mp_io_input(io, "infra_blessing"))
		return rc;
	if ((rc = infra_blessed(mp_io_input(io, "infra_blessing"), buf, bufsz, err)) < 0)
		return rc;
	*why = rc ? NULL : buf;
	return 0;
}

static int run_pusher(const mp_component_io *io, mp_err *err)
{
	const char *model = mp_io_input(io, "model"), *blessing = mp_io_input(io, "blessing");
	const char *dest_param = mp_io_param(io, "destination"), *formats = mp_io_param(io, "formats");
	char *dest = NULL, *tmp = NULL, *final = NULL, *from = NULL, *report = NULL, *fbuf = NULL, **fl = NULL;
	char *fppath = NULL, fp[MP_HASH_HEX], whybuf[256];
	const char *why = NULL;
	mp_strbuf out = MP_STRBUF_INIT;
	mp_blessing v = {0};
	size_t nf = 0, i;
	long version = 0, served = 0;
	int pushed = 0, rc;

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
	if (!(from = mp_asprintf("%s/model.mlpm", model))) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mp_blessing_read(&v, blessing, err)) != 0 || (rc = mp_hash_file(from, fp, err)) != 0 ||
	    (rc = judge(io, dest, fp, &v, &served, &why, whybuf, sizeof(whybuf), err)) != 0)
		goto out;
	if (why) {
		mp_strbuf_addf(&out, "mlpipe-pushed 1\npushed\tno\nreason\t%s\n", why);
		fprintf(stderr, "mlpipe: not pushed: %s\n", why);
	} else {
		if ((rc = mp_mkdirs(dest, 0755, err)) != 0)
			goto out;
		remove_stale_pushes(dest);
		if (!(tmp = mp_asprintf("%s/.push-%ld", dest, (long)getpid())) ||
		    !(fppath = mp_asprintf("%s/model.sha256", tmp))) {
			rc = mp_error(err, MP_ENOMEM, "out of memory");
			goto out;
		}
		mp_rmtree(tmp, NULL);
		if ((rc = mp_mkdirs(tmp, 0755, err)) != 0 || (rc = write_formats(from, tmp, fl, nf, err)) != 0)
			goto out;
		fp[MP_HASH_HEX - 1] = '\n';
		rc = mp_write_file_atomic(fppath, fp, MP_HASH_HEX, err);
		fp[MP_HASH_HEX - 1] = '\0';
		/* if this push does not complete, the orchestrator takes back the
		 * temporary folder, and the version if it was renamed into place
		 * (only a folder holding this model: never another push's) */
		if (rc != 0 || (rc = mp_io_undo(io, tmp, "model.sha256", fp, err)) != 0)
			goto out;
		test_kill("before-rename");
		/* the next free version; rename never replaces a version with files */
		for (version = highest_version(dest) + 1;; version++) {
			free(final);
			if (!(final = mp_asprintf("%s/%ld", dest, version))) {
				rc = mp_error(err, MP_ENOMEM, "out of memory");
				goto out;
			}
			if (mp_path_exists(final))
				continue; /* taken (by another pusher too) */
			if ((rc = mp_io_undo(io, final, "model.sha256", fp, err)) != 0)
				goto out;
			if (rename(tmp, final) == 0)
				break;
			if (errno != EEXIST && errno != ENOTEMPTY) {
				rc = mp_error(err, MP_EIO, "cannot publish '%s': %s", final, strerror(errno));
				goto out;
			}
		}
		test_kill("after-rename");
		pushed = 1;
		mp_strbuf_addf(&out, "mlpipe-pushed 1\npushed\tyes\nversion\t%ld\npath\t%s\nformats", version, final);
		for (i = 0; i < nf; i++)
			mp_strbuf_addf(&out, "\t%s", fl[i]);
		mp_strbuf_adds(&out, "\n");
		if (served)
			mp_strbuf_addf(&out, "replaces\t%ld\n", served);
		fprintf(stderr, "mlpipe: pushed as version %ld: %s\n", version, final);
	}
	mp_strbuf_addf(&out, "model_fingerprint\t%s\n", fp);
	if (out.failed) {
		rc = mp_error(err, MP_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mp_write_file_atomic(report, out.buf, out.len, err)) != 0)
		goto out;
	if (mp_result_prop_int(io->result, "pushed_model", "pushed", pushed) != 0 ||
	    (why && mp_result_prop_string(io->result, "pushed_model", "reason", why) != 0) ||
	    (pushed && (mp_result_prop_int(io->result, "pushed_model", "version", version) != 0 ||
			 mp_result_prop_string(io->result, "pushed_model", "path", final) != 0)) ||
	    mp_result_metric(io->result, "pushed", 0, pushed) != 0)
		rc = mp_error(err, MP_ENOMEM, "out of memory");
out:
	if (tmp && rc != 0)
		mp_rmtree(tmp, NULL);
	mp_strbuf_release(&out);
	mp_blessing_release(&v);
	free(fl);
	free(fbuf);
	free(dest);
	free(tmp);
	free(final);
	free(from);
	free(fppath);
	free(report);
	return rc;
}

const mp_component_type mp_pusher_component = {
	.name = "Pusher",
	.version = "2",
	.summary = "copies a blessed model to destination/<version>/, atomically, never overwriting",
	.inputs = inputs,
	.ninputs = MP_COUNTOF(inputs),
	.outputs = outputs,
	.noutputs = MP_COUNTOF(outputs),
	.params = params,
	.nparams = MP_COUNTOF(params),
	.run = run_pusher,
};
