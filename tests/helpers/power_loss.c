/*
 * A power cut for tests, preloaded into a node (LD_PRELOAD). Everything the node does to the
 * files under its data directory (RAFT_POWER_LOSS_DIR) is noted in the journal named by
 * RAFT_POWER_LOSS_JOURNAL, one line per operation, so that once the node is killed the test can
 * undo what a disk would have lost with the power (tests/helpers/power_loss.ts):
 *
 *   W <ino> <offset> <length> <path>   before a write to a regular file
 *   S <ino> <path>                     after a successful fsync or fdatasync of one
 *   D <path>                           after a successful fsync of a directory (in the data
 *                                      directory, or the one holding it)
 *   C <ino> <path>                     after open() created a file
 *   M <path>                           after mkdir
 *   K <path>                           after rmdir
 *   R <seq> <backup> <old>\t<new>      before rename (<backup> 1: the file it replaces was
 *                                      hard-linked to <journal>.d/<seq> first)
 *   U <seq> <path>                     before unlink (the file hard-linked to <journal>.d/<seq>)
 *   X <seq>                            that rename or unlink failed
 *
 * Truncations are taken as durable at once (the node syncs right after each). Each sync (of a
 * file or a directory) takes RAFT_POWER_LOSS_SYNC_DELAY_US longer, as on a slow disk: written
 * data and changed directories then stay unsynced long enough for a cut to find them. Only the node process notes anything: the
 * redis child inherits the preload and passes straight through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define PATH_BYTES 4096
#define LINE_BYTES (2 * PATH_BYTES + 64)

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned int);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_mkdirat)(int, const char *, mode_t);
static int (*real_rmdir)(const char *);

static int journal_fd = -1;
static char data_dir[PATH_BYTES];
static size_t data_dir_length = 0;
static char backup_dir[PATH_BYTES];
static unsigned long next_seq = 1;
static useconds_t sync_delay_us = 0;

#define RESOLVE(name) real_##name = dlsym(RTLD_NEXT, #name)

__attribute__((constructor)) static void open_journal(void) {
  RESOLVE(write);
  RESOLVE(pwrite);
  RESOLVE(pwrite64);
  RESOLVE(fsync);
  RESOLVE(fdatasync);
  RESOLVE(open);
  RESOLVE(open64);
  RESOLVE(openat);
  RESOLVE(openat64);
  RESOLVE(rename);
  RESOLVE(renameat);
  RESOLVE(renameat2);
  RESOLVE(unlink);
  RESOLVE(unlinkat);
  RESOLVE(mkdir);
  RESOLVE(mkdirat);
  RESOLVE(rmdir);
  const char *journal = getenv("RAFT_POWER_LOSS_JOURNAL");
  const char *dir = getenv("RAFT_POWER_LOSS_DIR");
  char exe[PATH_BYTES];
  ssize_t length = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (journal == NULL || dir == NULL || dir[0] != '/' || length <= 0) return;
  exe[length] = '\0';
  const char *name = strrchr(exe, '/');
  if (strncmp(name == NULL ? exe : name + 1, "redis-", 6) == 0) return;
  data_dir_length = strlen(dir);
  while (data_dir_length > 1 && dir[data_dir_length - 1] == '/') data_dir_length--;
  if (data_dir_length >= sizeof data_dir) return;
  memcpy(data_dir, dir, data_dir_length);
  data_dir[data_dir_length] = '\0';
  snprintf(backup_dir, sizeof backup_dir, "%s.d", journal);
  real_mkdir(backup_dir, 0755);
  journal_fd = real_open(journal, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  /* A node restarted without a cut (kill -9) appends to the same journal: its changes must not
   * reuse the numbers (and backups) of the run before. Below 2^53, as the test reads them. */
  next_seq = (unsigned long)getpid() * 1000000000UL + 1;
  const char *delay = getenv("RAFT_POWER_LOSS_SYNC_DELAY_US");
  if (delay != NULL) sync_delay_us = (useconds_t)strtoul(delay, NULL, 10);
}

static int in_scope(const char *path) {
  return strncmp(path, data_dir, data_dir_length) == 0 &&
         (path[data_dir_length] == '/' || path[data_dir_length] == '\0');
}

/* The directory holding the data directory: its sync makes the data directory's entry durable. */
static int is_data_parent(const char *path) {
  const char *slash = strrchr(data_dir, '/');
  size_t length = slash == NULL ? 0 : (size_t)(slash - data_dir);
  if (length == 0) return strcmp(path, "/") == 0;
  return strlen(path) == length && strncmp(path, data_dir, length) == 0;
}

/* `path` made absolute against `dirfd` (AT_FDCWD: the working directory); 0 if out of scope. */
static int scoped_path(int dirfd, const char *path, char *out) {
  if (journal_fd < 0 || path == NULL) return 0;
  if (path[0] == '/') {
    if (strlen(path) >= PATH_BYTES) return 0;
    strcpy(out, path);
  } else {
    char base[PATH_BYTES];
    if (dirfd == AT_FDCWD) {
      if (getcwd(base, sizeof base) == NULL) return 0;
    } else {
      char link[64];
      snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
      ssize_t length = readlink(link, base, sizeof base - 1);
      if (length <= 0) return 0;
      base[length] = '\0';
    }
    if ((size_t)snprintf(out, PATH_BYTES, "%s/%s", base, path) >= PATH_BYTES) return 0;
  }
  return in_scope(out);
}

/* The path of `fd` if it is in scope, with whether it is a directory and its inode. */
static int scoped_fd(int fd, char *path, int *is_dir, unsigned long long *ino) {
  if (journal_fd < 0) return 0;
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t length = readlink(link, path, PATH_BYTES - 1);
  if (length <= 0) return 0;
  path[length] = '\0';
  int parent = is_data_parent(path);
  if (!parent && !in_scope(path)) return 0;
  struct stat st;
  if (fstat(fd, &st) != 0) return 0;
  *is_dir = S_ISDIR(st.st_mode);
  *ino = (unsigned long long)st.st_ino;
  return S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && !parent);
}

/* One write(2) per line on an O_APPEND file: lines from several threads do not interleave. */
static void note(const char *format, ...) {
  char line[LINE_BYTES];
  va_list args;
  va_start(args, format);
  int length = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (length > 0 && length < (int)sizeof line) real_write(journal_fd, line, length);
}

/* `offset` < 0: the file's current position. */
static void note_write(int fd, off_t offset, size_t count) {
  char path[PATH_BYTES];
  int is_dir;
  unsigned long long ino;
  int saved = errno;
  if (scoped_fd(fd, path, &is_dir, &ino) && !is_dir) {
    if (offset < 0) offset = lseek(fd, 0, SEEK_CUR);
    note("W %llu %lld %zu %s\n", ino, (long long)offset, count, path);
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

ssize_t pwrite64(int fd, const void *buffer, size_t count, off_t offset) {
  if (journal_fd >= 0) note_write(fd, offset, count);
  return real_pwrite64(fd, buffer, count, offset);
}

/* A sync by `real`, noted once it succeeded, made `sync_delay_us` slower in scope. */
static int sync_noted(int fd, int (*real)(int)) {
  char path[PATH_BYTES];
  int is_dir = 0;
  unsigned long long ino = 0;
  int saved = errno;
  int scoped = scoped_fd(fd, path, &is_dir, &ino);
  if (scoped && sync_delay_us > 0) usleep(sync_delay_us);
  errno = saved;
  int result = real(fd);
  if (result == 0 && scoped) {
    saved = errno;
    if (is_dir) note("D %s\n", path);
    else note("S %llu %s\n", ino, path);
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

/* An open that may create: notes the file if it did not exist before and does now. */
static int open_noted(int fd_or_error, int existed, const char *absolute) {
  if (fd_or_error >= 0 && !existed) {
    int saved = errno;
    struct stat st;
    if (fstat(fd_or_error, &st) == 0) note("C %llu %s\n", (unsigned long long)st.st_ino, absolute);
    errno = saved;
  }
  return fd_or_error;
}

#define OPEN_WRAPPER(name, ...)                                                          \
  int name(__VA_ARGS__) {                                                                      \
    mode_t mode = 0;                                                                           \
    if (flags & (O_CREAT | __O_TMPFILE)) {                                                     \
      va_list args;                                                                            \
      va_start(args, flags);                                                                   \
      mode = va_arg(args, mode_t);                                                             \
      va_end(args);                                                                            \
    }                                                                                          \
    char absolute[PATH_BYTES];                                                                 \
    int scoped = (flags & O_CREAT) && scoped_path(DIRFD, path, absolute);                      \
    int existed = scoped && access(absolute, F_OK) == 0;                                       \
    int fd = CALL;                                                                             \
    return scoped ? open_noted(fd, existed, absolute) : fd;                                    \
  }

#define DIRFD AT_FDCWD
#define CALL real_open(path, flags, mode)
OPEN_WRAPPER(open, const char *path, int flags, ...)
#undef CALL
#define CALL real_open64(path, flags, mode)
OPEN_WRAPPER(open64, const char *path, int flags, ...)
#undef CALL
#undef DIRFD
#define DIRFD dirfd
#define CALL real_openat(dirfd, path, flags, mode)
OPEN_WRAPPER(openat, int dirfd, const char *path, int flags, ...)
#undef CALL
#define CALL real_openat64(dirfd, path, flags, mode)
OPEN_WRAPPER(openat64, int dirfd, const char *path, int flags, ...)
#undef CALL
#undef DIRFD

/* Hard-links `path` to the next backup; returns its sequence number (with `linked`). */
static unsigned long backup(const char *path, int *linked) {
  unsigned long seq = __sync_fetch_and_add(&next_seq, 1);
  char target[PATH_BYTES + 32];
  snprintf(target, sizeof target, "%s/%lu", backup_dir, seq);
  *linked = link(path, target) == 0;
  return seq;
}

/* Before a rename in or out of scope: keeps the file it replaces (hard link) and notes both
 * names. Returns the change's sequence number, 0 if it is out of scope. */
static unsigned long rename_begin(int olddirfd, const char *oldpath, int newdirfd,
                                  const char *newpath) {
  char old_absolute[PATH_BYTES], new_absolute[PATH_BYTES];
  int saved = errno;
  int old_scoped = scoped_path(olddirfd, oldpath, old_absolute);
  int new_scoped = scoped_path(newdirfd, newpath, new_absolute);
  unsigned long seq = 0;
  if (old_scoped || new_scoped) {
    if (!old_scoped) old_absolute[0] = '\0';
    if (!new_scoped) new_absolute[0] = '\0';
    int linked = 0;
    seq = backup(new_absolute, &linked);
    note("R %lu %d %s\t%s\n", seq, linked, old_absolute, new_absolute);
  }
  errno = saved;
  return seq;
}

/* Before a file in scope is unlinked: keeps it (hard link) and notes it. Returns the change's
 * sequence number, 0 if it is out of scope or could not be kept. */
static unsigned long unlink_begin(int dirfd, const char *path) {
  char absolute[PATH_BYTES];
  int saved = errno;
  unsigned long seq = 0;
  if (scoped_path(dirfd, path, absolute)) {
    int linked = 0;
    seq = backup(absolute, &linked);
    if (linked) note("U %lu %s\n", seq, absolute);
    else seq = 0;
  }
  errno = saved;
  return seq;
}

/* After the call that made change `seq` (0: none noted): a failure cancels it in the journal. */
static int change_ended(unsigned long seq, int result) {
  if (seq != 0 && result != 0) {
    int saved = errno;
    note("X %lu\n", seq);
    errno = saved;
  }
  return result;
}

/* After a mkdir (M) or rmdir (K) of `path`: noted if it succeeded in scope. */
static int dir_changed(char kind, int dirfd, const char *path, int result) {
  char absolute[PATH_BYTES];
  int saved = errno;
  if (result == 0 && scoped_path(dirfd, path, absolute)) note("%c %s\n", kind, absolute);
  errno = saved;
  return result;
}

int rename(const char *oldpath, const char *newpath) {
  unsigned long seq = rename_begin(AT_FDCWD, oldpath, AT_FDCWD, newpath);
  return change_ended(seq, real_rename(oldpath, newpath));
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
  unsigned long seq = rename_begin(olddirfd, oldpath, newdirfd, newpath);
  return change_ended(seq, real_renameat(olddirfd, oldpath, newdirfd, newpath));
}

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags) {
  unsigned long seq = rename_begin(olddirfd, oldpath, newdirfd, newpath);
  return change_ended(seq, real_renameat2(olddirfd, oldpath, newdirfd, newpath, flags));
}

int unlink(const char *path) {
  unsigned long seq = unlink_begin(AT_FDCWD, path);
  return change_ended(seq, real_unlink(path));
}

int unlinkat(int dirfd, const char *path, int flags) {
  if (flags & AT_REMOVEDIR) return dir_changed('K', dirfd, path, real_unlinkat(dirfd, path, flags));
  unsigned long seq = unlink_begin(dirfd, path);
  return change_ended(seq, real_unlinkat(dirfd, path, flags));
}

int rmdir(const char *path) {
  return dir_changed('K', AT_FDCWD, path, real_rmdir(path));
}

int mkdir(const char *path, mode_t mode) {
  return dir_changed('M', AT_FDCWD, path, real_mkdir(path, mode));
}

int mkdirat(int dirfd, const char *path, mode_t mode) {
  return dir_changed('M', dirfd, path, real_mkdirat(dirfd, path, mode));
}
