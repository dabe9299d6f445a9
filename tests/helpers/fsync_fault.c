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

static int fault_now(void) {
  const char *path = getenv("RAFT_FSYNC_FAULT_FILE");
  return path != NULL && access(path, F_OK) == 0;
}

int fsync(int fd) {
  static int (*real_fsync)(int);
  if (fault_now()) {
    errno = EIO;
    return -1;
  }
  if (real_fsync == NULL) real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  return real_fsync(fd);
}

int fdatasync(int fd) {
  static int (*real_fdatasync)(int);
  if (fault_now()) {
    errno = EIO;
    return -1;
  }
  if (real_fdatasync == NULL) real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  return real_fdatasync(fd);
}
