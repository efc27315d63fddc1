/* Cross-process locks on files (flock): one run of a pipeline at a time,
 * and the scheduler's state.  A lock dies with the process that holds it,
 * so a killed orchestrator never leaves one behind. */
#ifndef MP_ORCHESTRATOR_LOCK_H
#define MP_ORCHESTRATOR_LOCK_H

#include "core/core.h"

/* Takes the lock at path (created when missing) and writes the holder
 * (pid, host, time) into it; *fd gets the lock.  With wait set, waits for
 * it; otherwise MP_EBUSY, with the holder in err's message after what. */
int mp_lock(const char *path, int wait, const char *what, int *fd, mp_err *err);
/* Releases a lock (fd < 0: nothing). */
void mp_unlock(int fd);

#endif
