/*
 * A drifting clock for tests, preloaded into a node (LD_PRELOAD): the monotonic clocks the node
 * reads (CLOCK_MONOTONIC and its variants, CLOCK_BOOTTIME) run at the rate written in the file
 * named by RAFT_CLOCK_RATE_FILE ("0.5": half speed; "1": real time), re-read at most every
 * 10 ms of real time. A change of rate takes effect from the moment it is seen, so the clock
 * stays monotonic and continuous. Everything timed in the node follows it: timers (they wait
 * until the clock says their time has come), performance.now() and so the Raft ticks. Only the
 * node process drifts: the redis child inherits the preload and passes straight through.
 * (libfaketime, which tests use to step the wall clock, applies a speed factor from the
 * process's start: changing it mid-run jumps the monotonic clock, by a second after a run of
 * two at half speed set to double. A drifting clock must not jump.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLOCK_IDS_COUNT 16
#define RATE_POLL_INTERVAL_NS 10000000LL

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static const char *rate_file = NULL;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static double rate = 1.0;
static long long rate_polled_ns = -1;
/* Per clock: the real and the reported time when the current rate took effect. */
static long long anchor_real_ns[CLOCK_IDS_COUNT];
static long long anchor_reported_ns[CLOCK_IDS_COUNT];
static int anchored[CLOCK_IDS_COUNT];

static void resolve(void) {
  if (real_clock_gettime == NULL) {
    real_clock_gettime =
        (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
  }
}

__attribute__((constructor)) static void init(void) {
  resolve();
  char exe[4096];
  ssize_t length = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (length <= 0) return;
  exe[length] = '\0';
  const char *name = strrchr(exe, '/');
  if (strncmp(name == NULL ? exe : name + 1, "redis-", 6) == 0) return;
  rate_file = getenv("RAFT_CLOCK_RATE_FILE");
}

static int drifts(clockid_t id) {
  return id == CLOCK_MONOTONIC || id == CLOCK_MONOTONIC_RAW || id == CLOCK_MONOTONIC_COARSE ||
         id == CLOCK_BOOTTIME;
}

static long long nanos(const struct timespec *t) {
  return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* The rate in the file; `current` if it cannot be read or makes no sense. */
static double read_rate(double current) {
  int fd = open(rate_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return current;
  char text[64];
  ssize_t length = read(fd, text, sizeof text - 1);
  close(fd);
  if (length <= 0) return current;
  text[length] = '\0';
  char *end;
  double value = strtod(text, &end);
  return end != text && value > 0.0 && value <= 100.0 ? value : current;
}

/* Re-anchors every clock at `real_ns[id]` before the rate changes, so none jumps. */
static void set_rate(double next) {
  for (int id = 0; id < CLOCK_IDS_COUNT; id++) {
    if (!anchored[id]) continue;
    struct timespec now;
    if (real_clock_gettime(id, &now) != 0) continue;
    long long real_ns = nanos(&now);
    anchor_reported_ns[id] += (long long)((double)(real_ns - anchor_real_ns[id]) * rate);
    anchor_real_ns[id] = real_ns;
  }
  rate = next;
}

int clock_gettime(clockid_t id, struct timespec *out) {
  resolve(); /* called before our constructor, by an earlier library's */
  int result = real_clock_gettime(id, out);
  if (result != 0 || rate_file == NULL || !drifts(id) || id < 0 || id >= CLOCK_IDS_COUNT) {
    return result;
  }
  int saved = errno;
  long long real_ns = nanos(out);
  pthread_mutex_lock(&lock);
  if (id == CLOCK_MONOTONIC &&
      (rate_polled_ns < 0 || real_ns - rate_polled_ns >= RATE_POLL_INTERVAL_NS)) {
    rate_polled_ns = real_ns;
    double next = read_rate(rate);
    if (next != rate) set_rate(next);
  }
  if (!anchored[id]) {
    anchored[id] = 1;
    anchor_real_ns[id] = real_ns;
    anchor_reported_ns[id] = real_ns;
  }
  long long reported =
      anchor_reported_ns[id] + (long long)((double)(real_ns - anchor_real_ns[id]) * rate);
  pthread_mutex_unlock(&lock);
  out->tv_sec = reported / 1000000000LL;
  out->tv_nsec = reported % 1000000000LL;
  errno = saved;
  return result;
}
