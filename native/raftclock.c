/*
 * raftclock: the redis child's wall clock, set per command by the node, so that every node
 * decides key expiry for a log entry at the same moment: the time the leader gave the entry.
 *
 * Loaded twice into redis-server, as LD_PRELOAD (it replaces gettimeofday, clock_gettime for
 * the realtime clocks, and time) and as a module (--loadmodule, a command filter). A command
 * sent as `RAFT.AT <ms> <command...>` runs with the clock at <ms>, and so does everything it
 * triggers (a script's commands, an EXEC's queue, the clients it unblocks), and the clock stays
 * there until the next such prefix (background expiry included); the prefix is removed before
 * the command runs. Commands without a prefix leave the clock as it is. RAFT_CLOCK_START_MS,
 * when set, holds the clock from start (an RDB loads at the time of its snapshot) until the
 * first prefix.
 * The monotonic clock (Redis's timers) is untouched, and only Redis's main thread, where commands
 * run, sees the held clock: the others get the real one. jemalloc's background thread sleeps until
 * a deadline it computes from gettimeofday, and the kernel compares that with the real clock; with
 * the held one (behind, once writes stop) every sleep ended at once and the thread spun a core.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Milliseconds since the epoch the clock is held at; 0 for the real clock. */
static int64_t held_ms = 0;
static int (*real_gettimeofday)(struct timeval *, void *);
static int (*real_clock_gettime)(clockid_t, struct timespec *);
/* The main thread's id: the process id (the constructor runs before any other thread). */
static pid_t main_thread_id = 0;
/* Per thread: 1 on the main thread, 0 on another, -1 until the first call there. */
static __thread int on_main_thread __attribute__((tls_model("initial-exec"))) = -1;

/* The clock is held, and the caller runs on the main thread. */
static int held_here(void) {
  if (!held_ms) return 0;
  if (on_main_thread < 0) on_main_thread = (pid_t)syscall(SYS_gettid) == main_thread_id;
  return on_main_thread;
}

__attribute__((constructor)) static void raftclock_init(void) {
  main_thread_id = getpid();
  const char *start = getenv("RAFT_CLOCK_START_MS");
  if (start) held_ms = strtoll(start, NULL, 10);
}

int gettimeofday(struct timeval *tv, void *tz) {
  if (held_here()) {
    tv->tv_sec = held_ms / 1000;
    tv->tv_usec = (held_ms % 1000) * 1000;
    return 0;
  }
  if (!real_gettimeofday) real_gettimeofday = dlsym(RTLD_NEXT, "gettimeofday");
  return real_gettimeofday(tv, tz);
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
  if ((clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE) && held_here()) {
    ts->tv_sec = held_ms / 1000;
    ts->tv_nsec = (held_ms % 1000) * 1000000;
    return 0;
  }
  if (!real_clock_gettime) real_clock_gettime = dlsym(RTLD_NEXT, "clock_gettime");
  return real_clock_gettime(clock, ts);
}

time_t time(time_t *out) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  if (out) *out = tv.tv_sec;
  return tv.tv_sec;
}

/* The few module API calls used, declared here as redismodule.h would (it is not installed). */
typedef struct RedisModuleCtx RedisModuleCtx;
typedef struct RedisModuleString RedisModuleString;
typedef struct RedisModuleCommandFilterCtx RedisModuleCommandFilterCtx;
typedef struct RedisModuleCommandFilter RedisModuleCommandFilter;
static int (*RM_GetApi)(const char *, void *);
static void (*RM_SetModuleAttribs)(RedisModuleCtx *, const char *, int, int);
static RedisModuleCommandFilter *(*RM_RegisterCommandFilter)(
    RedisModuleCtx *, void (*)(RedisModuleCommandFilterCtx *), int);
static int (*RM_CommandFilterArgsCount)(RedisModuleCommandFilterCtx *);
static const RedisModuleString *(*RM_CommandFilterArgGet)(RedisModuleCommandFilterCtx *, int);
static int (*RM_CommandFilterArgDelete)(RedisModuleCommandFilterCtx *, int);
static const char *(*RM_StringPtrLen)(const RedisModuleString *, size_t *);

static int prefix_is(RedisModuleCommandFilterCtx *filter, const char *name) {
  size_t len;
  const char *arg = RM_StringPtrLen(RM_CommandFilterArgGet(filter, 0), &len);
  return len == strlen(name) && strncasecmp(arg, name, len) == 0;
}

static void take_prefix(RedisModuleCommandFilterCtx *filter) {
  int argc = RM_CommandFilterArgsCount(filter);
  if (argc >= 3 && prefix_is(filter, "raft.at")) {
    size_t len;
    const char *ms = RM_StringPtrLen(RM_CommandFilterArgGet(filter, 1), &len);
    char digits[24];
    if (len == 0 || len >= sizeof digits) return;
    memcpy(digits, ms, len);
    digits[len] = '\0';
    held_ms = strtoll(digits, NULL, 10);
    RM_CommandFilterArgDelete(filter, 0);
    RM_CommandFilterArgDelete(filter, 0);
  }
}

#define GET_API(name) RM_GetApi("RedisModule_" #name, (void **)&RM_##name)

int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
  (void)argv;
  (void)argc;
  RM_GetApi = (int (*)(const char *, void *))(unsigned long)((void **)ctx)[0];
  if (GET_API(SetModuleAttribs) || GET_API(RegisterCommandFilter) ||
      GET_API(CommandFilterArgsCount) || GET_API(CommandFilterArgGet) ||
      GET_API(CommandFilterArgDelete) || GET_API(StringPtrLen)) {
    return 1;
  }
  RM_SetModuleAttribs(ctx, "raftclock", 1, 1);
  return RM_RegisterCommandFilter(ctx, take_prefix, 0) ? 0 : 1;
}
