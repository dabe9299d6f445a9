/*
 * A power cut for tests, preloaded into a node (LD_PRELOAD): every write to a log segment
 * (a file under log/ ending in .seg) is noted in the journal named by RAFT_POWER_LOSS_JOURNAL
 * before it is made ("W <offset> <length> <path>"), and every fsync or fdatasync of one after
 * it succeeds ("S <path>"). After the node is killed, the test zeroes what was written to each
 * segment since its last sync: what the disk would have lost with the power
 * (tests/helpers/power_loss.ts). RAFT_POWER_LOSS_SYNC_DELAY_US makes each sync of a segment
 * that much slower, as on a slow disk: written data then stays unsynced long enough for a cut to
 * find it. Only the node process notes anything: the redis child inherits the preload and passes
 * straight through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int journal_fd = -1;
static useconds_t sync_delay_us = 0;

__attribute__((constructor)) static void open_journal(void) {
  real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
  real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  const char *journal = getenv("RAFT_POWER_LOSS_JOURNAL");
  char exe[4096];
  ssize_t length = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (journal == NULL || length <= 0) return;
  exe[length] = '\0';
  const char *name = strrchr(exe, '/');
  if (strncmp(name == NULL ? exe : name + 1, "redis-", 6) == 0) return;
  journal_fd = open(journal, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const char *delay = getenv("RAFT_POWER_LOSS_SYNC_DELAY_US");
  if (delay != NULL) sync_delay_us = (useconds_t)strtoul(delay, NULL, 10);
}

/* The path of `fd` if it is a log segment. */
static int segment_path(int fd, char *path, size_t size) {
  if (journal_fd < 0) return 0;
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t length = readlink(link, path, size - 1);
  if (length <= 4) return 0;
  path[length] = '\0';
  return strstr(path, "/log/") != NULL && strcmp(path + length - 4, ".seg") == 0;
}

/* One write(2) per line on an O_APPEND file: lines from several threads do not interleave. */
static void note(const char *line, int length) {
  if (length > 0 && (size_t)length < 4200) real_write(journal_fd, line, length);
}

/* `offset` < 0: the file's current position. */
static void note_write(int fd, off_t offset, size_t count) {
  char path[4096], line[4200];
  int saved = errno;
  if (segment_path(fd, path, sizeof path)) {
    if (offset < 0) offset = lseek(fd, 0, SEEK_CUR);
    note(line, snprintf(line, sizeof line, "W %lld %zu %s\n", (long long)offset, count, path));
  }
  errno = saved;
}

ssize_t write(int fd, const void *buffer, size_t count) {
  if (journal_fd >= 0) note_write(fd, -1, count);
  return real_write(fd, buffer, count);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
  if (journal_fd >= 0) note_write(fd, offset, count);
  return real_pwrite(fd, buffer, count, offset);
}

/*
 * A sync by `real`: of a log segment, made `sync_delay_us` slower (the slow disk) and noted once
 * it succeeded; of anything else, passed through.
 */
static int sync_noted(int fd, int (*real)(int)) {
  char path[4096], line[4200];
  int saved = errno;
  int segment = segment_path(fd, path, sizeof path);
  if (segment && sync_delay_us > 0) usleep(sync_delay_us);
  errno = saved;
  int result = real(fd);
  if (result == 0 && segment) {
    saved = errno;
    note(line, snprintf(line, sizeof line, "S %s\n", path));
    errno = saved;
  }
  return result;
}

int fsync(int fd) {
  return sync_noted(fd, real_fsync);
}

int fdatasync(int fd) {
  return sync_noted(fd, real_fdatasync);
}
