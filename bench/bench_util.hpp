#pragma once
// What the round-trip benches share: the monotonic clock, child processes
// stopped by pid (and killed with the bench on a fatal signal), CPU time of a
// process from /proc, percentiles, the host options and the CPU floor.
// Header-only; each bench is one program.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>

namespace bench {

using i64 = int64_t;

inline i64 now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return i64{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

inline void sleep_until_ns(i64 t) {
  timespec ts{static_cast<time_t>(t / 1000000000), static_cast<long>(t % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

inline void sleep_ms(i64 ms) {
  sleep_until_ns(now_ns() + ms * 1000000);
}

inline std::string substitute(std::string s, const std::string& key, const std::string& value) {
  for (size_t p = s.find(key); p != std::string::npos; p = s.find(key, p + value.size())) {
    s.replace(p, key.size(), value);
  }
  return s;
}

// ---- child processes ----

inline volatile sig_atomic_t g_child = 0;  // for the signal handler only

inline void on_fatal_signal(int sig) {
  pid_t c = g_child;
  if (c > 0) kill(c, SIGKILL);
  _exit(128 + sig);
}

inline pid_t spawn(const std::string& command, const std::string& log) {
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(1);
  }
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    std::string exec_cmd = "exec " + command;
    execl("/bin/sh", "sh", "-c", exec_cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  g_child = pid;
  return pid;
}

// SIGTERM, then SIGKILL after 2 s; always reaps. Returns a description.
inline std::string stop_child(pid_t pid) {
  int status = 0;
  std::string how = "SIGTERM";
  kill(pid, SIGTERM);
  i64 deadline = now_ns() + 2000000000LL;
  pid_t r = 0;
  while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ns() < deadline) sleep_ms(10);
  if (r == 0) {
    how = "SIGKILL after 2 s";
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  g_child = 0;
  char buf[96];
  if (WIFEXITED(status)) {
    std::snprintf(buf, sizeof buf, "%s, exit %d", how.c_str(), WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    std::snprintf(buf, sizeof buf, "%s, killed by signal %d", how.c_str(), WTERMSIG(status));
  } else {
    std::snprintf(buf, sizeof buf, "%s", how.c_str());
  }
  return buf;
}

// Runs a shell command to completion (at most 10 s), output inherited.
inline void run_shell(const std::string& command) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid < 0) return;
  int status = 0;
  i64 deadline = now_ns() + 10000000000LL;
  pid_t r = 0;
  while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ns() < deadline) sleep_ms(10);
  if (r == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
}

// utime + stime of a process (all its threads, live and ended), in ns.
// Resolution: one clock tick (10 ms at USER_HZ 100).
inline i64 cpu_ns_stat(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t p = s.rfind(')');  // comm may hold spaces
  if (p == std::string::npos) return -1;
  std::istringstream in(s.substr(p + 2));
  std::string field;
  // Fields after comm start at field 3 (state); utime is 14, stime is 15.
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && (in >> field); ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  static const long hz = sysconf(_SC_CLK_TCK);
  return static_cast<i64>((utime + stime) * (1000000000ULL / hz));
}

// Time on CPU of every live thread of a process, in ns, from
// /proc/PID/task/TID/schedstat (nanosecond resolution; a thread that ends
// takes its share with it, so compare with cpu_ns_stat). -1 if unavailable.
inline i64 cpu_ns_sched(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return -1;
  i64 sum = 0;
  bool any = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(dir + "/" + e->d_name + "/schedstat");
    long long ns = 0;
    if (f >> ns) {
      sum += ns;
      any = true;
    }
  }
  closedir(d);
  return any ? sum : -1;
}

struct Cpu {
  i64 sched = -1, stat = -1;
};

Cpu cpu_now(pid_t pid) {
  return {cpu_ns_sched(pid), cpu_ns_stat(pid)};
}

// % of one core between two readings over wall_ns: the nanosecond figure when
// it is available and agrees with the tick-based one within two ticks.
inline double cpu_pct(const Cpu& a, const Cpu& b, i64 wall_ns) {
  static const i64 tick = 1000000000LL / sysconf(_SC_CLK_TCK);
  i64 ds = b.stat - a.stat, dn = b.sched - a.sched;
  i64 used = (a.sched >= 0 && b.sched >= 0 && std::llabs(dn - ds) <= 2 * tick) ? dn : ds;
  return 100.0 * static_cast<double>(used) / static_cast<double>(wall_ns);
}

// Idle time of the whole machine (all cores, idle + iowait), in clock ticks.
// On a tickless kernel idle time is measured, not sampled, so "busy" is best
// taken as cores x wall time minus idle.
inline i64 machine_idle_ticks() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0;
  f >> cpu >> user >> nice >> system >> idle >> iowait;
  return idle + iowait;
}

inline bool alive(pid_t pid) {
  int status;
  return waitpid(pid, &status, WNOHANG) == 0;
}

inline double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// ---- what both benches take on the command line ------------------------------

/// The host under test and how it is measured.
struct HostOptions {
  std::string cmd;                // host command template
  std::string floor_cmd;          // optional: command measured alone for the CPU floor
  std::string before_stop;        // optional: shell command run before the host is stopped
  std::string log = "/dev/null";  // host's stdout and stderr
  std::string tmpl_in, tmpl_out;  // optional: file copied with the template keys substituted
  std::string label = "host";
  double rate = 0;       // values a second
  double duration = 10;  // seconds of sending
  double jitter = 0.5;   // send time offset, uniform in [0, jitter) periods
  double ready_timeout = 30;
  double settle = 1.0;  // floor: seconds between start and measuring
};

/// Takes option `a` when it is one of HostOptions' (its value from next());
/// false for any other.
template <class Next>
bool parse_host_option(HostOptions& o, const std::string& a, Next&& next) {
  if (a == "--cmd") {
    o.cmd = next();
  } else if (a == "--floor-cmd") {
    o.floor_cmd = next();
  } else if (a == "--before-stop") {
    o.before_stop = next();
  } else if (a == "--template") {
    o.tmpl_in = next();
    o.tmpl_out = next();
  } else if (a == "--log") {
    o.log = next();
  } else if (a == "--label") {
    o.label = next();
  } else if (a == "--rate") {
    o.rate = std::stod(next());
  } else if (a == "--duration") {
    o.duration = std::stod(next());
  } else if (a == "--jitter") {
    o.jitter = std::stod(next());
  } else if (a == "--ready-timeout") {
    o.ready_timeout = std::stod(next());
  } else if (a == "--settle") {
    o.settle = std::stod(next());
  } else {
    return false;
  }
  return true;
}

/// A host command to run at all, with sane numbers.
inline bool host_options_valid(const HostOptions& o) {
  return !o.cmd.empty() && o.rate > 0 && o.duration > 0 && o.jitter >= 0 && o.jitter < 1;
}

/// Runs the floor command alone for the sending window (after `settle`) and
/// returns its CPU share; `how` says how it ended.
inline double measure_floor(const HostOptions& o, std::string& how) {
  pid_t pid = spawn(o.floor_cmd, o.log);
  sleep_ms(static_cast<i64>(o.settle * 1000));
  if (!alive(pid)) {
    how = "floor command exited early";
    g_child = 0;
    return NAN;
  }
  i64 t0 = now_ns();
  Cpu c0 = cpu_now(pid);
  sleep_until_ns(t0 + static_cast<i64>(o.duration * 1e9));
  i64 t1 = now_ns();
  Cpu c1 = cpu_now(pid);
  how = stop_child(pid);
  return cpu_pct(c0, c1, t1 - t0);
}

}  // namespace bench
