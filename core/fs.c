/* Paths and files: joining inside a root, atomic writes, recursive removal. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mp_path_join(char *out, size_t outsz, const char *root, const char *rel,
		 mp_err *err)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	const char *p = rel;
	int rc = 0;

	if (!rel || !*rel)
		return mp_error(err, MP_EINVAL, "empty path below '%s'", root);
	if (rel[0] == '/')
		return mp_error(err, MP_EINVAL, "path '%s' must be relative to '%s'", rel, root);
	mp_strbuf_adds(&sb, root);
	while (sb.len > 1 && sb.buf[sb.len - 1] == '/')
		sb.buf[--sb.len] = '\0';
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			rc = mp_error(err, MP_EINVAL, "path '%s' climbs out of '%s'", rel, root);
			goto out;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (sb.len == 0 || sb.buf[sb.len - 1] != '/')
				mp_strbuf_adds(&sb, "/");
			mp_strbuf_add(&sb, p, n);
		}
		p += n;
		while (*p == '/')
			p++;
	}
	if (sb.failed) {
		rc = mp_error(err, MP_ENOMEM, "out of memory joining '%s' and '%s'", root, rel);
		goto out;
	}
	if (sb.len + 1 > outsz) {
		rc = mp_error(err, MP_EINVAL, "path '%s/%s' is too long", root, rel);
		goto out;
	}
	memcpy(out, mp_strbuf_str(&sb), sb.len + 1);
out:
	mp_strbuf_release(&sb);
	return rc;
}

/* Absolute, with ".", ".." and repeated slashes resolved lexically. */
static char *normalise(const char *path)
{
	mp_strbuf sb = MP_STRBUF_INIT;
	char cwd[4096];
	const char *p;

	if (path[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		mp_strbuf_adds(&sb, cwd);
	}
	for (p = path; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (sb.len > 0 && sb.buf[sb.len - 1] != '/')
				sb.len--;
			if (sb.len > 0)
				sb.len--;
			if (sb.buf)
				sb.buf[sb.len] = '\0';
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			mp_strbuf_adds(&sb, "/");
			mp_strbuf_add(&sb, p, n);
		}
		p += n;
		while (*p == '/')
			p++;
	}
	if (sb.len == 0)
		mp_strbuf_adds(&sb, "/");
	return mp_strbuf_detach(&sb);
}

int mp_path_within(const char *root, const char *path)
{
	char *r = normalise(root), *p = normalise(path);
	int ok = 0;

	if (r && p) {
		size_t n = strlen(r);

		if (strcmp(r, "/") == 0)
			ok = 1;
		else
			ok = strncmp(r, p, n) == 0 && (p[n] == '\0' || p[n] == '/');
	}
	free(r);
	free(p);
	return ok;
}

int mp_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int mp_mkdirs(const char *path, unsigned mode, mp_err *err)
{
	char buf[4096];
	size_t n = strlen(path), i;

	if (n == 0 || n >= sizeof(buf))
		return mp_error(err, MP_EINVAL, "cannot create directory '%s': bad path length", path);
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
			return mp_error(err, MP_EIO, "cannot create directory '%s': %s", buf, strerror(errno));
		buf[i] = i < n ? '/' : '\0';
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int mp_rmtree(const char *path, mp_err *err)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : mp_error(err, MP_EIO, "cannot remove '%s': %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) != 0)
			return mp_error(err, MP_EIO, "cannot remove '%s': %s", path, strerror(errno));
		return 0;
	}
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return mp_error(err, MP_EIO, "cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

/* ---- atomic files ------------------------------------------------------ */

static void fsync_dir_of(const char *path)
{
	char *dir = mp_strdup(path), *slash;
	int fd;

	if (!dir)
		return;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int mp_afile_open(mp_afile *af, const char *path, mp_err *err)
{
	int fd;

	memset(af, 0, sizeof(*af));
	af->path = mp_strdup(path);
	af->tmp_path = mp_asprintf("%s.tmp.XXXXXX", path);
	if (!af->path || !af->tmp_path) {
		mp_afile_abort(af);
		return mp_error(err, MP_ENOMEM, "out of memory opening '%s'", path);
	}
	fd = mkstemp(af->tmp_path);
	if (fd < 0) {
		int e = errno;

		free(af->tmp_path);
		af->tmp_path = NULL;
		mp_afile_abort(af);
		return mp_error(err, MP_EIO, "cannot write '%s': %s", path, strerror(e));
	}
	fchmod(fd, 0644);
	af->fp = fdopen(fd, "wb");
	if (!af->fp) {
		close(fd);
		mp_afile_abort(af);
		return mp_error(err, MP_EIO, "cannot write '%s': %s", path, strerror(errno));
	}
	return 0;
}

void mp_afile_abort(mp_afile *af)
{
	if (af->fp)
		fclose(af->fp);
	if (af->tmp_path)
		unlink(af->tmp_path);
	free(af->tmp_path);
	free(af->path);
	memset(af, 0, sizeof(*af));
}

int mp_afile_commit(mp_afile *af, mp_err *err)
{
	int rc = 0, bad;

	bad = ferror(af->fp) || fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0;
	if (bad)
		rc = mp_error(err, MP_EIO, "cannot write '%s': %s", af->path, strerror(errno));
	if (fclose(af->fp) != 0 && !rc)
		rc = mp_error(err, MP_EIO, "cannot write '%s': %s", af->path, strerror(errno));
	af->fp = NULL;
	if (!rc && rename(af->tmp_path, af->path) != 0)
		rc = mp_error(err, MP_EIO, "cannot replace '%s': %s", af->path, strerror(errno));
	if (!rc) {
		fsync_dir_of(af->path);
		free(af->tmp_path);
		af->tmp_path = NULL;
	}
	mp_afile_abort(af);
	return rc;
}

int mp_write_file_atomic(const char *path, const void *data, size_t n, mp_err *err)
{
	mp_afile af;
	int rc;

	if ((rc = mp_afile_open(&af, path, err)) != 0)
		return rc;
	if (n && fwrite(data, 1, n, af.fp) != n) {
		rc = mp_error(err, MP_EIO, "cannot write '%s': %s", path, strerror(errno));
		mp_afile_abort(&af);
		return rc;
	}
	return mp_afile_commit(&af, err);
}

int mp_read_file(const char *path, char **data, size_t *n, mp_err *err)
{
	FILE *fp = fopen(path, "rb");
	mp_strbuf sb = MP_STRBUF_INIT;
	char chunk[65536];
	size_t got;
	int rc = 0;

	*data = NULL;
	if (!fp)
		return mp_error(err, errno == ENOENT ? MP_ENOTFOUND : MP_EIO,
				"cannot read '%s': %s", path, strerror(errno));
	while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		mp_strbuf_add(&sb, chunk, got);
	if (ferror(fp))
		rc = mp_error(err, MP_EIO, "cannot read '%s': %s", path, strerror(errno));
	else if (sb.failed)
		rc = mp_error(err, MP_ENOMEM, "out of memory reading '%s'", path);
	fclose(fp);
	if (rc) {
		mp_strbuf_release(&sb);
		return rc;
	}
	if (n)
		*n = sb.len;
	*data = mp_strbuf_detach(&sb);
	if (!*data)
		return mp_error(err, MP_ENOMEM, "out of memory reading '%s'", path);
	return 0;
}

int mp_process_alive(long pid)
{
	char path[64], buf[512], *close_paren;
	FILE *fp;
	size_t n;

	if (pid <= 0)
		return 0;
	if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
		return 0;
	/* /proc/PID/stat: "PID (COMM) STATE ...", COMM may hold spaces and ')' */
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(fp = fopen(path, "r")))
		return 1; /* no /proc: kill said it exists */
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if (!(close_paren = strrchr(buf, ')')) || close_paren[1] != ' ')
		return 1;
	return close_paren[2] != 'Z' && close_paren[2] != 'X';
}

int mp_which(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[4096];

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	for (p = path ? path : "/usr/bin:/bin"; *p; p = *end ? end + 1 : end) {
		size_t n;

		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)(n ? n : 1), n ? p : ".", name) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return 1;
	}
	return 0;
}

int mp_self_exe(char *buf, size_t n)
{
	ssize_t got = readlink("/proc/self/exe", buf, n - 1);

	if (got <= 0 || (size_t)got >= n - 1)
		return -1;
	buf[got] = '\0';
	return 0;
}
