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

#include "bench_util.hpp"

namespace {

using namespace bench;

constexpr i64 kValueBase = 1000000;    // first value sent
constexpr i64 kProbeBase = 900000000;  // readiness probes, never mixed with values

struct Options : HostOptions {  // cmd and template: {tty} substituted
  Options() { rate = 250; }     // lines a second
  double kperiod_us = 0;        // when set, the jitter span is a whole number of k-periods
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
    if (parse_host_option(o, a, next)) continue;
    if (a == "--kperiod-us") {
      o.kperiod_us = std::stod(next());
    } else {
      usage(argv[0]);
    }
  }
  if (!host_options_valid(o)) usage(argv[0]);
  return o;
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

// CPU share (% of one core) of the floor command alone over `seconds`.
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
