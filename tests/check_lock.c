/* orchestrator/lock: one holder at a time across processes, the holder
 * named to whoever is refused, and a lock that dies with its process. */
#include "testutil.h"

#include <sys/wait.h>

#include "orchestrator/lock.h"

/* In a child: tries the lock without waiting; exits 0 when it got it, 1
 * when refused with the holder named, 2 otherwise. */
static int try_in_child(const char *path, pid_t holder)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char want[32];
		mp_err err;
		int fd, rc = mp_lock(path, 0, "the test", &fd, &err);

		snprintf(want, sizeof(want), "%ld", (long)holder);
		if (rc == 0)
			_exit(0);
		_exit(rc == MP_EBUSY && strstr(err.msg, "the test") && strstr(err.msg, want) ? 1 : 2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(one_holder_at_a_time)
{
	char *path = tu_at("run.lock");
	mp_err err;
	int fd, fd2;

	ck_assert_int_eq(mp_lock(path, 0, "the test", &fd, &err), 0);
	ck_assert_int_eq(try_in_child(path, getpid()), 1);
	mp_unlock(fd);
	ck_assert_int_eq(try_in_child(path, getpid()), 0);
	/* taken again after release, and waiting for a free lock returns */
	ck_assert_int_eq(mp_lock(path, 1, "the test", &fd2, &err), 0);
	mp_unlock(fd2);
	mp_unlock(-1);
	free(path);
}
END_TEST

/* A holder killed with SIGKILL leaves no lock behind. */
START_TEST(a_lock_dies_with_its_process)
{
	char *path = tu_at("run.lock");
	int pipefd[2], status, fd;
	char c;
	pid_t pid;
	mp_err err;

	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		if (mp_lock(path, 0, "the child", &fd, &err) != 0)
			_exit(2);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	ck_assert_int_eq(mp_lock(path, 0, "the test", &fd, &err), MP_EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "the test"));
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(mp_lock(path, 0, "the test", &fd, &err), 0);
	mp_unlock(fd);
	free(path);
}
END_TEST

/* A lock in a folder that does not exist is an error naming it. */
START_TEST(a_lock_where_none_can_be_is_an_error)
{
	char *path = tu_at("no/such/folder/run.lock");
	mp_err err;
	int fd;

	ck_assert_int_ne(mp_lock(path, 0, "the test", &fd, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "run.lock"));
	free(path);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("lock");
	TCase *tc = tcase_create("lock");

	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, one_holder_at_a_time);
	tcase_add_test(tc, a_lock_dies_with_its_process);
	tcase_add_test(tc, a_lock_where_none_can_be_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
