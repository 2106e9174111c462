// MIDI round-trip bench over JACK (SPEC §8, MIDI flavour). See bench/README.md.
//
// A test controller on the JACK server named by $JACK_DEFAULT_SERVER, made
// with RtMidi's JACK API: a virtual output port and a virtual input port of
// clients named "csbench" (JACK calls the second one "csbench-01"). It starts
// the host under test with the two full port names substituted for
// {ctl_out} (the port the host reads CC 1 from) and {ctl_in} (the port the
// host sends CC 2 to) in a command template, waits until a probe value comes
// back, then sends CC 1 on channel 1 at a fixed rate and timestamps every
// CC 2 on channel 1 that comes back. Reports the round trip of every value
// that came back (median, 99th percentile, max), values lost, and the host's
// CPU share over the sending window (all threads), plus the JACK server's.
// With --floor-cmd it then runs that command (Csound alone on the same CSD)
// for the same window and reports the host's CPU above that floor.
//
// Matching returns to sends: value i is sent as i mod 128. Returns arrive in
// send order (latest wins: a host may skip values, never go back), so a
// return v at time t matches an index j with j ≡ v (mod 128), j after the
// index matched by the previous return, and j sent before t. The bench counts
// those candidates for every return: exactly one means the match is certain;
// none means the value was never sent, or came back out of order, or twice;
// more than one (only when no value came back for 128 sends, 128 ms at
// 1000/s) is counted as ambiguous. All three count as lost, and so does the
// last value sent if it never came back, and any value that stayed the newest
// for --hold-us (default two JACK periods) without coming back: skipping
// values is coalescing (latest wins, SPEC §8) only while newer ones follow
// within the same JACK cycle or k-cycle.
//
// Uses no project code: RtMidi and libc only.

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <RtMidi.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.hpp"

namespace {

using namespace bench;

constexpr unsigned char kCcOut = 1;   // the controller sends CC 1 ...
constexpr unsigned char kCcBack = 2;  // ... and expects CC 2 back, both on channel 1
constexpr unsigned char kProbeA = 126, kProbeB = 127;  // readiness probes

struct Options : HostOptions {  // cmd and template: {ctl_out} {ctl_in} substituted
  Options() { rate = 1000; }    // CC messages a second
  std::string client = "csbench";
  double phase_us = 0;  // when set and the jitter span exceeds it: a whole number of these
  double hold_us = -1;  // a value newest for this long must come back (default 2 phase_us)
  pid_t jackd = 0;      // optional: the JACK server's pid, its CPU is reported too
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --cmd 'HOST ... {ctl_out} {ctl_in}' [--rate N] [--duration S]\n"
               "          [--label NAME] [--floor-cmd 'csound ... CSD'] [--log FILE]\n"
               "          [--before-stop 'SHELL COMMAND'] [--jitter F] [--phase-us US]\n"
               "          [--hold-us US]\n"
               "          [--ready-timeout S] [--settle S] [--jackd-pid PID] [--client NAME]\n"
               "          [--template IN OUT]   (OUT = IN with {ctl_out} {ctl_in} substituted)\n"
               "JACK_DEFAULT_SERVER names the JACK server. Commands run through\n"
               "/bin/sh -c 'exec ...', so the measured pid is the host.\n",
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
    if (a == "--client") {
      o.client = next();
    } else if (a == "--phase-us") {
      o.phase_us = std::stod(next());
    } else if (a == "--hold-us") {
      o.hold_us = std::stod(next());
    } else if (a == "--jackd-pid") {
      o.jackd = static_cast<pid_t>(std::stol(next()));
    } else {
      usage(argv[0]);
    }
  }
  if (o.hold_us < 0) o.hold_us = 2 * o.phase_us;
  if (!host_options_valid(o)) usage(argv[0]);
  return o;
}

// ---- the controller's receiving side ---------------------------------------

struct Arrival {
  int value;
  i64 t_ns;
};

// Filled by RtMidi's JACK process thread; read by the main thread only after
// the count (release/acquire) says an entry is complete. Preallocated: the
// callback never allocates.
struct Returns {
  std::vector<Arrival> buf;
  std::atomic<size_t> count{0};
  std::atomic<int> last{-1};   // the last CC 2 value seen
  std::atomic<long> other{0};  // anything else received
  std::atomic<long> overflow{0};
  std::atomic<long> merged{0};  // JACK events that held more than one message
};

void record(Returns* r, int v, i64 t) {
  size_t n = r->count.load(std::memory_order_relaxed);
  if (n < r->buf.size()) {
    r->buf[n] = {v, t};
    r->count.store(n + 1, std::memory_order_release);
  } else {
    r->overflow.fetch_add(1, std::memory_order_relaxed);
  }
  r->last.store(v, std::memory_order_release);
}

// One JACK MIDI event should hold one message, but Csound's JACK MIDI output
// writes everything its ring buffer holds in a cycle as one event (several
// messages, with running status). So the event is parsed as a byte stream:
// every CC 2 on channel 1 in it counts, and `merged` counts such events.
void on_midi(double /*delta*/, std::vector<unsigned char>* msg, void* user) {
  i64 t = now_ns();
  auto* r = static_cast<Returns*>(user);
  unsigned char status = 0;
  unsigned char data[2];
  int have = 0, messages = 0;
  for (unsigned char b : *msg) {
    if (b >= 0xF8) continue;  // real-time bytes may sit anywhere
    if (b & 0x80) {
      status = b < 0xF0 ? b : 0;  // system common cancels running status
      have = 0;
      continue;
    }
    if (status == 0) continue;
    data[have++] = b;
    int need = ((status & 0xF0) == 0xC0 || (status & 0xF0) == 0xD0) ? 1 : 2;
    if (have < need) continue;
    have = 0;
    ++messages;
    if (status == 0xB0 && data[0] == kCcBack) {
      record(r, data[1], t);
    } else {
      r->other.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (messages > 1) r->merged.fetch_add(1, std::memory_order_relaxed);
}

// Full JACK name of our own port: the port of `client` (or `client-NN`) that
// RtMidi lists, whose name ends in ":port".
template <class Rt>
std::string find_own_port(Rt& rt, const std::string& client, const std::string& port) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    unsigned n = rt.getPortCount();
    for (unsigned i = 0; i < n; ++i) {
      std::string name = rt.getPortName(i);
      if (name.rfind(client, 0) == 0 && name.size() > port.size() + 1 &&
          name.compare(name.size() - port.size() - 1, std::string::npos, ":" + port) == 0) {
        return name;
      }
    }
    sleep_ms(20);
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  signal(SIGINT, on_fatal_signal);
  signal(SIGTERM, on_fatal_signal);
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_TIMERSLACK, 1UL);  // wake from clock_nanosleep on time
  if (!std::getenv("JACK_DEFAULT_SERVER")) {
    std::fprintf(stderr, "%s: JACK_DEFAULT_SERVER is not set (which JACK server?)\n",
                 o.label.c_str());
  }

  const size_t count = static_cast<size_t>(std::llround(o.rate * o.duration));
  Returns rx;
  rx.buf.resize(count * 2 + 100000);

  std::unique_ptr<RtMidiOut> out;
  std::unique_ptr<RtMidiIn> in;
  std::string ctl_out, ctl_in;
  try {
    out = std::make_unique<RtMidiOut>(RtMidi::UNIX_JACK, o.client);
    out->openVirtualPort("out");
    in = std::make_unique<RtMidiIn>(RtMidi::UNIX_JACK, o.client, 4096);
    in->ignoreTypes(true, true, true);
    in->setCallback(on_midi, &rx);
    in->openVirtualPort("in");
    ctl_out = find_own_port(*in, o.client, "out");  // an input lists readable ports
    ctl_in = find_own_port(*out, o.client, "in");
  } catch (const RtMidiError& e) {
    std::fprintf(stderr, "%s: RtMidi/JACK: %s\n", o.label.c_str(), e.getMessage().c_str());
    std::printf("RESULT label=%s rate=%g error=no_jack\n", o.label.c_str(), o.rate);
    return 1;
  }
  if (ctl_out.empty() || ctl_in.empty()) {
    std::fprintf(stderr, "%s: cannot find our own JACK ports (out '%s', in '%s')\n",
                 o.label.c_str(), ctl_out.c_str(), ctl_in.c_str());
    std::printf("RESULT label=%s rate=%g error=no_ports\n", o.label.c_str(), o.rate);
    return 1;
  }
  std::fprintf(stderr, "%s: controller ports %s (CC %d out), %s (CC %d back)\n", o.label.c_str(),
               ctl_out.c_str(), kCcOut, ctl_in.c_str(), kCcBack);

  auto subst = [&](std::string s) {
    return substitute(substitute(s, "{ctl_out}", ctl_out), "{ctl_in}", ctl_in);
  };
  if (!o.tmpl_in.empty()) {
    std::ifstream tin(o.tmpl_in);
    std::string text((std::istreambuf_iterator<char>(tin)), std::istreambuf_iterator<char>());
    std::ofstream tout(o.tmpl_out, std::ios::trunc);
    tout << subst(text);
    if (!tin || !tout) {
      std::fprintf(stderr, "cannot write %s from %s\n", o.tmpl_out.c_str(), o.tmpl_in.c_str());
      return 1;
    }
  }
  pid_t host = spawn(subst(o.cmd), o.log);

  unsigned char msg[3] = {0xB0, kCcOut, 0};
  auto send = [&](unsigned char v) {
    msg[2] = v;
    out->sendMessage(msg, 3);
  };

  // ---- wait until the host returns a probe ----
  i64 t_start = now_ns();
  i64 ready_deadline = t_start + static_cast<i64>(o.ready_timeout * 1e9);
  bool ready = false;
  unsigned char probe = kProbeA;
  while (now_ns() < ready_deadline && alive(host)) {
    probe = probe == kProbeA ? kProbeB : kProbeA;
    send(probe);
    i64 until = now_ns() + 50000000;  // 50 ms
    while (now_ns() < until && rx.last.load() != probe) sleep_ms(1);
    if (rx.last.load() == probe) {
      ready = true;
      break;
    }
  }
  if (!ready) {
    std::fprintf(stderr, "%s: host not ready after %.1f s (%s); see %s\n", o.label.c_str(),
                 (now_ns() - t_start) / 1e9, alive(host) ? "no probe came back" : "host exited",
                 o.log.c_str());
    if (g_child) stop_child(host);
    std::printf("RESULT label=%s rate=%g error=not_ready\n", o.label.c_str(), o.rate);
    return 1;
  }
  double ready_s = (now_ns() - t_start) / 1e9;
  sleep_ms(300);  // late probe returns and start-up settle

  // ---- send ----
  std::vector<i64> sent_at(count, 0);
  const double period_ns = 1e9 / o.rate;
  std::mt19937_64 rng(12345);
  // The jitter makes the arrival phase against the JACK cycle (and k-cycle)
  // even: at low rates it spans a whole number of --phase-us (one JACK period
  // is a whole number of k-periods too); at high rates, where that would let
  // sends overtake each other, half a period, and the rate itself walks the
  // phase across the cycle.
  double span_ns = o.jitter * period_ns;
  if (o.phase_us > 0 && span_ns >= o.phase_us * 1e3) {
    span_ns = std::floor(span_ns / (o.phase_us * 1e3)) * o.phase_us * 1e3;
  }
  std::uniform_real_distribution<double> jitter(0.0, std::max(span_ns, 1.0));

  const size_t first_return = rx.count.load(std::memory_order_acquire);
  i64 t0 = now_ns() + 10000000;
  Cpu cpu0 = cpu_now(host);
  Cpu jack0 = o.jackd > 0 ? cpu_now(o.jackd) : Cpu{};
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
    sent_at[i] = now_ns();
    send(static_cast<unsigned char>(i % 128));
  }
  i64 wall1 = now_ns();
  Cpu cpu1 = cpu_now(host);
  Cpu jack1 = o.jackd > 0 ? cpu_now(o.jackd) : Cpu{};
  i64 idle1 = machine_idle_ticks();
  const int last_value = static_cast<int>((count - 1) % 128);

  // ---- wait for the last value (1 s at most) ----
  i64 drain_deadline = now_ns() + 1000000000;
  while (now_ns() < drain_deadline && rx.last.load() != last_value) sleep_ms(1);
  sleep_ms(50);

  if (!o.before_stop.empty()) run_shell(o.before_stop);
  bool host_alive = alive(host);
  std::string host_stop = host_alive ? stop_child(host) : "had exited";
  in->cancelCallback();
  const size_t n_returns = rx.count.load(std::memory_order_acquire);

  // ---- match returns to sends (see the top of this file) ----
  std::vector<double> rtt_us;
  rtt_us.reserve(n_returns);
  long unmatched = 0, ambiguous = 0, duplicates = 0;
  size_t max_gap = 0;
  long long prev = -1;  // index matched by the previous return
  std::vector<bool> came_back(count, false);
  for (size_t k = first_return; k < n_returns; ++k) {
    const Arrival a = rx.buf[k];
    if (prev < 0 && a.t_ns < sent_at[0]) continue;  // a late probe return
    long long j0 = prev + 1 + ((a.value - (prev + 1)) % 128 + 128) % 128;
    long long chosen = -1;
    int candidates = 0;
    for (long long j = j0; j < static_cast<long long>(count) && sent_at[j] <= a.t_ns; j += 128) {
      chosen = j;
      ++candidates;
    }
    if (candidates == 0) {
      if (prev >= 0 && a.value == static_cast<int>(prev % 128)) {
        ++duplicates;
      } else {
        ++unmatched;
      }
      continue;
    }
    if (candidates > 1) ++ambiguous;
    max_gap = std::max(max_gap, static_cast<size_t>(chosen - prev));
    prev = chosen;
    came_back[static_cast<size_t>(chosen)] = true;
    rtt_us.push_back(static_cast<double>(a.t_ns - sent_at[chosen]) / 1e3);
  }
  const bool last_back = prev == static_cast<long long>(count) - 1;
  // Coalescing is fine (latest wins), but a value that stayed the newest for
  // --hold-us (two JACK periods: the next one went out in a later JACK cycle
  // and reached the host at least a cycle later) must have come back.
  long missed = 0, held = 0;
  const i64 hold_ns = static_cast<i64>(o.hold_us * 1e3);
  for (size_t i = 0; hold_ns > 0 && i + 1 < count; ++i) {
    if (sent_at[i + 1] - sent_at[i] < hold_ns) continue;
    ++held;
    if (!came_back[i]) ++missed;
  }
  const long lost = (last_back ? 0 : 1) + unmatched + ambiguous + missed;
  std::sort(rtt_us.begin(), rtt_us.end());
  double med = percentile(rtt_us, 0.5), p99 = percentile(rtt_us, 0.99);
  double mx = rtt_us.empty() ? NAN : rtt_us.back();
  double window_s = static_cast<double>(wall1 - wall0) / 1e9;
  double cpu = cpu_pct(cpu0, cpu1, wall1 - wall0);
  double jack = o.jackd > 0 ? cpu_pct(jack0, jack1, wall1 - wall0) : NAN;
  double idle_s = static_cast<double>(idle1 - idle0) / static_cast<double>(sysconf(_SC_CLK_TCK));
  double others =
      100.0 * (static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)) * window_s - idle_s) / window_s -
      cpu;
  double achieved = static_cast<double>(count) / window_s;

  std::printf(
      "%s @ %g CC/s: sent %zu in %.2f s (%.0f/s, %ld late), back %zu (%.1f%%, largest step %zu), "
      "round trip median %.3f ms, p99 %.3f ms, max %.3f ms; lost %ld (last %s, unmatched %ld, "
      "ambiguous %ld, held but missed %ld of %ld), duplicates %ld, other messages %ld, merged "
      "events %ld, overflow %ld; CPU %.2f%% of a core, "
      "jackd %.2f%%; others %.1f%%; ready after %.2f s; stop: %s\n",
      o.label.c_str(), o.rate, count, window_s, achieved, late, rtt_us.size(),
      100.0 * static_cast<double>(rtt_us.size()) / static_cast<double>(count), max_gap, med / 1e3,
      p99 / 1e3, mx / 1e3, lost, last_back ? "back" : "MISSING", unmatched, ambiguous, missed, held,
      duplicates, rx.other.load(), rx.merged.load(), rx.overflow.load(), cpu, jack, others, ready_s,
      host_stop.c_str());

  double floor = NAN;
  if (!o.floor_cmd.empty()) {
    std::string how;
    floor = measure_floor(o, how);
    std::printf("%s floor (alone, %.1f s): CPU %.2f%% of a core (%s); host above floor %.2f%%\n",
                o.label.c_str(), o.duration, floor, how.c_str(), cpu - floor);
  }
  std::printf(
      "RESULT label=%s rate=%g sent=%zu back=%zu median_us=%.1f p99_us=%.1f max_us=%.1f "
      "lost=%ld last_back=%d unmatched=%ld ambiguous=%ld missed=%ld held=%ld duplicates=%ld "
      "max_step=%zu merged=%ld "
      "cpu_pct=%.3f floor_pct=%.3f above_floor_pct=%.3f jackd_pct=%.3f late=%ld "
      "others_pct=%.1f\n",
      o.label.c_str(), o.rate, count, rtt_us.size(), med, p99, mx, lost, last_back ? 1 : 0,
      unmatched, ambiguous, missed, held, duplicates, max_gap, rx.merged.load(), cpu, floor,
      cpu - floor, jack, late, others);
  std::fflush(stdout);
  // RtMidi's JACK clients close in the destructors.
  return 0;
}
