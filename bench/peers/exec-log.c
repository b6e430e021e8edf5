/*
 * exec-log: a pass-through wrapper for iptables, ip6tables, their -save/-restore variants and ipset,
 * used by bench/peers to see what a network-policy agent hands to the kernel tools. Installed as
 * <dir>/<name> (a symlink to this binary) ahead of the real tools on PATH; it runs
 * $EXEC_LOG_REAL_DIR/<name> (default /usr/sbin) with the same arguments and appends one line to
 * $EXEC_LOG (a file opened with O_APPEND, so concurrent invocations do not interleave):
 *
 *   S <start µs> <pid> <name>                                       when the tool starts
 *   E <start µs> <end µs> <pid> <exit status> <stdin bytes> <name> <args...>   when it ended
 *
 * (CLOCK_REALTIME, microseconds; pid is the wrapper's), so a reader knows which tools are still
 * running. Restores (`*-restore`, `ipset restore`, `ipset -R`) have their
 * stdin read whole first so the byte count is exact; other commands keep their stdin untouched.
 * The wrapper costs one extra fork/exec per command, the same for every agent measured.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (long long)t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static void log_line(const char *path, const char *line, int n) {
  if (!path || !*path) return;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd >= 0) { (void)!write(fd, line, (size_t)n); close(fd); }
}

static int is_restore(const char *name, int argc, char **argv) {
  size_t n = strlen(name);
  if (n > 8 && strcmp(name + n - 8, "-restore") == 0) return 1;
  if (strcmp(name, "ipset") == 0)
    for (int i = 1; i < argc; i++)
      if (strcmp(argv[i], "restore") == 0 || strcmp(argv[i], "-R") == 0 || strcmp(argv[i], "-restore") == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  char *a0 = strdup(argv[0]);
  const char *name = basename(a0);
  const char *dir = getenv("EXEC_LOG_REAL_DIR");
  char real[4096];
  snprintf(real, sizeof real, "%s/%s", dir && *dir ? dir : "/usr/sbin", name);
  const char *logPath = getenv("EXEC_LOG");

  char *buf = NULL;
  size_t len = 0, cap = 0;
  int restore = is_restore(name, argc, argv);
  if (restore) {
    for (;;) {
      if (len == cap) {
        cap = cap ? cap * 2 : 1 << 16;
        buf = realloc(buf, cap);
        if (!buf) { perror("exec-log: realloc"); return 127; }
      }
      ssize_t r = read(0, buf + len, cap - len);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) { perror("exec-log: read stdin"); return 127; }
      if (r == 0) break;
      len += (size_t)r;
    }
  }

  long long start = now_us();
  char line[8192];
  int n = snprintf(line, sizeof line, "S %lld %d %s\n", start, (int)getpid(), name);
  log_line(logPath, line, n);
  int fds[2] = {-1, -1};
  if (restore && pipe(fds) != 0) { perror("exec-log: pipe"); return 127; }
  pid_t pid = fork();
  if (pid < 0) { perror("exec-log: fork"); return 127; }
  if (pid == 0) {
    if (restore) { dup2(fds[0], 0); close(fds[0]); close(fds[1]); }
    argv[0] = (char *)name;
    execv(real, argv);
    fprintf(stderr, "exec-log: exec %s: %s\n", real, strerror(errno));
    _exit(127);
  }
  if (restore) {
    close(fds[0]);
    size_t off = 0;
    while (off < len) {
      ssize_t w = write(fds[1], buf + off, len - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) break; /* the tool exited early; its status says why */
      off += (size_t)w;
    }
    close(fds[1]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  long long end = now_us();
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

  n = snprintf(line, sizeof line, "E %lld %lld %d %d %zu %s", start, end, (int)getpid(), code, len, name);
  for (int i = 1; i < argc && n < (int)sizeof line - 2; i++) n += snprintf(line + n, sizeof line - n, " %s", argv[i]);
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  log_line(logPath, line, n);
  return code;
}
