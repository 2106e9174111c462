// Round-trip bench over a pseudo-terminal (SPEC §8).
//
// Opens a pty, starts the host under test with the slave's path substituted
// for {tty} in a command template, waits until the host echoes a probe value,
// then sends `x=N\n` lines at a fixed rate and reads the `y=N\n` lines the host
// sends back. Reports the round trip of every value that came back (median,
// 99th percentile, max), values lost, and the host's CPU share over the
// sending window. With --floor-cmd it then runs that command (the `csound`
// command on the same CSD) alone for the same window and reports the host's
// CPU above that floor.
//
// Depends only on libc and libutil (openpty): no project code.

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using i64 = int64_t;

constexpr i64 kValueBase = 1000000;    // first value sent
constexpr i64 kProbeBase = 900000000;  // readiness probes, never mixed with values

i64 now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return i64{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void sleep_until_ns(i64 t) {
  timespec ts{static_cast<time_t>(t / 1000000000), static_cast<long>(t % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void sleep_ms(i64 ms) {
  sleep_until_ns(now_ns() + ms * 1000000);
}

struct Options {
  std::string cmd;                // host command template, {tty} substituted
  std::string floor_cmd;          // optional: command measured alone for the CPU floor
  std::string before_stop;        // optional: shell command run before the host is stopped
  std::string log = "/dev/null";  // host's stdout and stderr
  std::string tmpl_in, tmpl_out;  // optional: file copied with {tty} substituted
  std::string label = "host";
  double rate = 250;      // lines a second
  double duration = 10;   // seconds of sending
  double jitter = 0.5;    // send time offset, uniform in [0, jitter) periods
  double kperiod_us = 0;  // when set, the jitter span is a whole number of k-periods
  double ready_timeout = 30;
  double settle = 1.0;  // floor: seconds between start and measuring
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --cmd 'HOST ... {tty} ...' [--rate N] [--duration S]\n"
               "          [--label NAME] [--floor-cmd 'csound ... CSD'] [--log FILE]\n"
               "          [--before-stop 'SHELL COMMAND'] [--jitter F] [--ready-timeout S]\n"
               "          [--template IN OUT]   (OUT = IN with {tty} substituted, before start)\n"
               "Commands run through /bin/sh -c 'exec ...', so the measured pid is the host.\n",
               argv0);
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(argv[0]);
      return argv[++i];
    };
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
    } else if (a == "--kperiod-us") {
      o.kperiod_us = std::stod(next());
    } else if (a == "--ready-timeout") {
      o.ready_timeout = std::stod(next());
    } else if (a == "--settle") {
      o.settle = std::stod(next());
    } else {
      usage(argv[0]);
    }
  }
  if (o.cmd.empty() || o.rate <= 0 || o.duration <= 0 || o.jitter < 0 || o.jitter >= 1) {
    usage(argv[0]);
  }
  return o;
}

std::string substitute(std::string s, const std::string& key, const std::string& value) {
  for (size_t p = s.find(key); p != std::string::npos; p = s.find(key, p + value.size())) {
    s.replace(p, key.size(), value);
  }
  return s;
}

// ---- child processes -------------------------------------------------------

volatile sig_atomic_t g_child = 0;  // for the signal handler only

void on_fatal_signal(int sig) {
  pid_t c = g_child;
  if (c > 0) kill(c, SIGKILL);
  _exit(128 + sig);
}

pid_t spawn(const std::string& command, const std::string& log) {
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
std::string stop_child(pid_t pid) {
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
void run_shell(const std::string& command) {
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
i64 cpu_ns_stat(pid_t pid) {
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
i64 cpu_ns_sched(pid_t pid) {
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
double cpu_pct(const Cpu& a, const Cpu& b, i64 wall_ns) {
  static const i64 tick = 1000000000LL / sysconf(_SC_CLK_TCK);
  i64 ds = b.stat - a.stat, dn = b.sched - a.sched;
  i64 used = (a.sched >= 0 && b.sched >= 0 && std::llabs(dn - ds) <= 2 * tick) ? dn : ds;
  return 100.0 * static_cast<double>(used) / static_cast<double>(wall_ns);
}

// Idle time of the whole machine (all cores, idle + iowait), in clock ticks.
// On a tickless kernel idle time is measured, not sampled, so "busy" is best
// taken as cores x wall time minus idle.
i64 machine_idle_ticks() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0;
  f >> cpu >> user >> nice >> system >> idle >> iowait;
  return idle + iowait;
}

bool alive(pid_t pid) {
  int status;
  return waitpid(pid, &status, WNOHANG) == 0;
}

// ---- the bench ---------------------------------------------------------------

struct Arrival {
  i64 value;
  i64 t_ns;
};

struct Receiver {
  int fd;
  std::atomic<bool> stop{false};
  std::atomic<i64> last_probe{-1};
  std::atomic<i64> last_value{-1};
  std::vector<Arrival> arrivals;  // values (not probes), owned by the thread until joined
  long other_lines = 0;           // lines that are not y=<integer>
  std::thread thread;

  void run() {
    std::string buf;
    char chunk[4096];
    pollfd pfd{fd, POLLIN, 0};
    while (!stop.load(std::memory_order_relaxed)) {
      int r = poll(&pfd, 1, 20);
      if (r <= 0) continue;
      ssize_t n = read(fd, chunk, sizeof chunk);
      i64 t = now_ns();
      if (n <= 0) {
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        sleep_ms(1);  // EIO: no slave open right now; keep going
        continue;
      }
      buf.append(chunk, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        handle_line(buf.substr(start, nl - start), t);
      }
      buf.erase(0, start);
    }
  }

  void handle_line(std::string line, i64 t) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.rfind("y=", 0) != 0) {
      ++other_lines;
      return;
    }
    char* end = nullptr;
    double v = std::strtod(line.c_str() + 2, &end);
    if (end == line.c_str() + 2 || *end != '\0' || v != std::floor(v)) {
      ++other_lines;
      return;
    }
    i64 value = static_cast<i64>(v);
    if (value >= kProbeBase) {
      last_probe.store(value);
    } else if (value >= kValueBase) {
      arrivals.push_back({value, t});
      last_value.store(value);
    } else {
      // y=0 and the like before the first value: the channel's start value.
      if (!arrivals.empty()) arrivals.push_back({value, t});
    }
  }
};

int open_pty(int& master, int& slave, std::string& slave_path) {
  char name[256];
  termios tio;
  std::memset(&tio, 0, sizeof tio);
  cfmakeraw(&tio);
  cfsetspeed(&tio, B115200);
  if (openpty(&master, &slave, name, &tio, nullptr) != 0) {
    std::perror("openpty");
    return -1;
  }
  // Raw on both sides (on Linux they share one termios, but say so anyway).
  tcsetattr(master, TCSANOW, &tio);
  tcsetattr(slave, TCSANOW, &tio);
  fcntl(master, F_SETFD, FD_CLOEXEC);
  fcntl(slave, F_SETFD, FD_CLOEXEC);  // kept open here so the master never sees EIO
  slave_path = name;
  return 0;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// CPU share (% of one core) of the floor command alone over `seconds`.
double measure_floor(const Options& o, std::string& how) {
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

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  signal(SIGINT, on_fatal_signal);
  signal(SIGTERM, on_fatal_signal);
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_TIMERSLACK, 1UL);  // wake from clock_nanosleep on time

  int master = -1, slave = -1;
  std::string tty;
  if (open_pty(master, slave, tty) != 0) return 1;

  if (!o.tmpl_in.empty()) {
    std::ifstream in(o.tmpl_in);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(o.tmpl_out, std::ios::trunc);
    out << substitute(text, "{tty}", tty);
    if (!in || !out) {
      std::fprintf(stderr, "cannot write %s from %s\n", o.tmpl_out.c_str(), o.tmpl_in.c_str());
      return 1;
    }
  }
  std::string command = substitute(o.cmd, "{tty}", tty);
  pid_t host = spawn(command, o.log);

  Receiver rx;
  rx.fd = master;
  rx.arrivals.reserve(static_cast<size_t>(o.rate * o.duration) + 1024);
  rx.thread = std::thread([&rx] { rx.run(); });

  // ---- wait until the host echoes a probe ----
  i64 ready_deadline = now_ns() + static_cast<i64>(o.ready_timeout * 1e9);
  i64 probe = kProbeBase;
  i64 t_start = now_ns();
  bool ready = false;
  while (now_ns() < ready_deadline) {
    if (!alive(host)) break;
    char line[64];
    int n = std::snprintf(line, sizeof line, "x=%" PRId64 "\n", ++probe);
    write_all(master, line, static_cast<size_t>(n));
    i64 until = now_ns() + 50000000;  // 50 ms
    while (now_ns() < until && rx.last_probe.load() < 0) sleep_ms(1);
    if (rx.last_probe.load() >= 0) {
      ready = true;
      break;
    }
  }
  if (!ready) {
    std::fprintf(stderr, "%s: host not ready after %.1f s (%s); see %s\n", o.label.c_str(),
                 (now_ns() - t_start) / 1e9, alive(host) ? "no probe echoed" : "host exited",
                 o.log.c_str());
    rx.stop = true;
    rx.thread.join();
    if (g_child) stop_child(host);
    std::printf("RESULT label=%s rate=%g error=not_ready\n", o.label.c_str(), o.rate);
    return 1;
  }
  double ready_s = (now_ns() - t_start) / 1e9;
  sleep_ms(300);  // let late probe echoes and start-up settle

  // ---- send ----
  const size_t count = static_cast<size_t>(std::llround(o.rate * o.duration));
  std::vector<i64> sent_at(count, 0);  // read only after the receiver is joined
  const double period_ns = 1e9 / o.rate;
  std::mt19937_64 rng(12345);
  // A value waits for the next k-cycle: for that wait to be sampled fairly
  // its arrival phase must be uniform over the k-period, so the jitter spans
  // a whole number of k-periods (at least one), whatever the send rate.
  double span_ns = o.jitter * period_ns;
  if (o.kperiod_us > 0) {
    double k = o.kperiod_us * 1e3;
    span_ns = std::max(1.0, std::floor(span_ns / k)) * k;
  }
  std::uniform_real_distribution<double> jitter(0.0, span_ns);

  i64 t0 = now_ns() + 10000000;  // start 10 ms from now
  Cpu cpu0 = cpu_now(host);
  i64 idle0 = machine_idle_ticks();
  i64 wall0 = now_ns();
  long late = 0;
  for (size_t i = 0; i < count; ++i) {
    i64 due = t0 + static_cast<i64>(static_cast<double>(i) * period_ns + jitter(rng));
    if (now_ns() < due) {
      sleep_until_ns(due);
    } else if (i > 0) {
      ++late;
    }
    char line[64];
    int n = std::snprintf(line, sizeof line, "x=%" PRId64 "\n", kValueBase + static_cast<i64>(i));
    sent_at[i] = now_ns();
    if (!write_all(master, line, static_cast<size_t>(n))) {
      std::perror("write to pty");
      break;
    }
  }
  i64 wall1 = now_ns();
  Cpu cpu1 = cpu_now(host);
  i64 idle1 = machine_idle_ticks();
  const i64 last_sent = kValueBase + static_cast<i64>(count) - 1;

  // ---- wait for the last value (1 s at most) ----
  i64 drain_deadline = now_ns() + 1000000000;
  while (now_ns() < drain_deadline && rx.last_value.load() != last_sent) sleep_ms(1);
  sleep_ms(50);  // anything after the last value (there should be nothing)

  if (!o.before_stop.empty()) run_shell(o.before_stop);
  bool host_alive = alive(host);
  std::string host_stop = host_alive ? stop_child(host) : "had exited";
  rx.stop = true;
  rx.thread.join();

  // ---- analyse ----
  std::vector<double> rtt_us;
  rtt_us.reserve(rx.arrivals.size());
  long out_of_order = 0, unknown = 0, duplicates = 0;
  i64 prev = -1;
  for (const Arrival& a : rx.arrivals) {
    if (a.value < kValueBase || a.value > last_sent) {
      ++unknown;
      continue;
    }
    if (a.value == prev) {
      ++duplicates;
      continue;
    }
    if (a.value < prev) {
      ++out_of_order;
      continue;
    }
    prev = a.value;
    rtt_us.push_back(static_cast<double>(a.t_ns - sent_at[a.value - kValueBase]) / 1e3);
  }
  bool last_back = rx.last_value.load() == last_sent && prev == last_sent;
  long lost = (last_back ? 0 : 1) + out_of_order + unknown;
  std::sort(rtt_us.begin(), rtt_us.end());
  double med = percentile(rtt_us, 0.5), p99 = percentile(rtt_us, 0.99);
  double mx = rtt_us.empty() ? NAN : rtt_us.back();
  double window_s = static_cast<double>(wall1 - wall0) / 1e9;
  double cpu = cpu_pct(cpu0, cpu1, wall1 - wall0);
  // Everything else (this bench included): the machine's busy time less the host's,
  // in % of one core. A noise indicator: other work on the machine skews a row.
  double idle_s = static_cast<double>(idle1 - idle0) / static_cast<double>(sysconf(_SC_CLK_TCK));
  double others =
      100.0 * (static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)) * window_s - idle_s) / window_s -
      cpu;
  double achieved = static_cast<double>(count) / window_s;

  std::printf(
      "%s @ %g lines/s: sent %zu in %.2f s (%.0f/s, %ld late), back %zu (%.1f%%), "
      "round trip median %.3f ms, p99 %.3f ms, max %.3f ms; lost %ld (last %s, out of "
      "order %ld, never sent %ld), duplicates %ld, other lines %ld; CPU %.2f%% of a core; "
      "others %.1f%%; ready after %.2f s; stop: %s\n",
      o.label.c_str(), o.rate, count, window_s, achieved, late, rtt_us.size(),
      100.0 * static_cast<double>(rtt_us.size()) / static_cast<double>(count), med / 1e3, p99 / 1e3,
      mx / 1e3, lost, last_back ? "back" : "MISSING", out_of_order, unknown, duplicates,
      rx.other_lines, cpu, others, ready_s, host_stop.c_str());

  double floor = NAN;
  if (!o.floor_cmd.empty()) {
    std::string how;
    floor = measure_floor(o, how);
    std::printf(
        "%s floor (csound alone, %.1f s): CPU %.2f%% of a core (%s); host above floor "
        "%.2f%%\n",
        o.label.c_str(), o.duration, floor, how.c_str(), cpu - floor);
  }
  std::printf(
      "RESULT label=%s rate=%g sent=%zu back=%zu median_us=%.1f p99_us=%.1f max_us=%.1f "
      "lost=%ld last_back=%d cpu_pct=%.3f floor_pct=%.3f above_floor_pct=%.3f late=%ld "
      "others_pct=%.1f\n",
      o.label.c_str(), o.rate, count, rtt_us.size(), med, p99, mx, lost, last_back ? 1 : 0, cpu,
      floor, cpu - floor, late, others);
  close(master);
  close(slave);
  return 0;
}
