/* File locks: see lock.h. */
#include "orchestrator/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

int mp_lock(const char *path, int wait, const char *what, int *fd, mp_err *err)
{
	char buf[256], host[128] = "?", when[32] = "?";
	struct tm tm;
	time_t now = time(NULL);
	ssize_t n;
	int f;

	*fd = -1;
	if ((f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return mp_error(err, MP_EIO, "cannot open the lock '%s': %s", path, strerror(errno));
	while (flock(f, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
		if (errno == EINTR && wait)
			continue;
		if (errno == EWOULDBLOCK) {
			n = pread(f, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			close(f);
			return mp_error(err, MP_EBUSY, "%s (%s)", what, *buf ? buf : "held by another process");
		}
		close(f);
		return mp_error(err, MP_EIO, "cannot lock '%s': %s", path, strerror(errno));
	}
	gethostname(host, sizeof(host) - 1);
	if (localtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(buf, sizeof(buf), "pid %ld on %s since %s\n", (long)getpid(), host, when);
	if (ftruncate(f, 0) != 0 || pwrite(f, buf, (size_t)n, 0) != n) {
		/* the lock holds all the same; only the note of who holds it is lost */
	}
	*fd = f;
	return 0;
}

void mp_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
