/*
 * A failing disk for tests, preloaded into a node (LD_PRELOAD): while the file named by
 * RAFT_FSYNC_FAULT_FILE exists, fsync and fdatasync fail with EIO without syncing, as on a
 * device that lost the writes. Without the variable, or the file, they pass through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

__attribute__((constructor)) static void find_real_syncs(void) {
  real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
}

/* A sync by `real`, or EIO while the trigger file exists. */
static int sync_or_fail(int fd, int (*real)(int)) {
  const char *path = getenv("RAFT_FSYNC_FAULT_FILE");
  if (path != NULL && access(path, F_OK) == 0) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}

int fsync(int fd) {
  return sync_or_fail(fd, real_fsync);
}

int fdatasync(int fd) {
  return sync_or_fail(fd, real_fdatasync);
}
