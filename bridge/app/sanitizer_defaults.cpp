// Linked into every program of a sanitizer build (CMake option CSB_SANITIZE).
// The sanitizer runtimes call these functions at start-up, so the options and
// suppressions hold for csbridge started by a test, by hand or by systemd,
// without any environment variable. ASAN_OPTIONS, LSAN_OPTIONS,
// UBSAN_OPTIONS and TSAN_OPTIONS still add to them.
//
// Suppressions name only libraries this project does not build: their code is
// not instrumented, so what is reported inside them is theirs to fix. Every
// frame of csbridge's own code stays checked.

extern "C" {

#if defined(CSB_SANITIZE_address)
const char* __asan_default_options() {
  // Fail the run on the first error, with a stack a person can read.
  return "detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_init_order=1:"
         "detect_stack_use_after_return=1:check_initialization_order=1";
}

const char* __ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1";
}

const char* __lsan_default_suppressions() {
  // Csound keeps allocations until csoundDestroy and leaks a little per
  // csoundReset (csound#722); its plugins, ALSA's and JACK's client libraries
  // and RtMidi keep process-wide caches that are never freed.
  return "leak:libcsound64.so\n"
         "leak:libcsnd6.so\n"
         "leak:/usr/lib/x86_64-linux-gnu/csound/\n"
         "leak:libasound.so\n"
         "leak:libjack.so\n"
         "leak:libjackserver.so\n"
         "leak:librtmidi.so\n"
         "leak:libdbus-1.so\n"
         // csbridge's own, on purpose: at exit the MIDI ports still waiting
         // to be closed are left to the OS (midi_device.cpp, Closer). The
         // symbolizer names the destructor only as ~Closer, so the file is
         // named: a leak in midi_device.cpp is not reported.
         "leak:midi_device.cpp\n";
}
#endif

#if defined(CSB_SANITIZE_thread)
const char* __tsan_default_options() {
  return "halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0";
}

const char* __tsan_default_suppressions() {
  // Races whose every access is inside an uninstrumented library: Csound's
  // own threads (its performance and worker threads, its message buffer)
  // and ALSA. A race with one access in csbridge's code is still reported.
  // JACK's client library: races with one of its frames on the stack. Its
  // calls are not ignored wholesale (called_from_lib), since TSan then stops
  // the program when one of the threads it makes ends ("finished with
  // ignores enabled").
  //
  // Csound unlocks mutexes on other threads than the one that locked them by
  // design (csoundCreateThreadLock, used as a signal between the thread
  // that starts a CsoundPerformanceThread and the thread itself), and its
  // ALSA module unlocks a spinlock it never locked at csoundModuleDestroy.
  return "called_from_lib:libcsound64.so\n"
         "race:libjack.so\n"
         "called_from_lib:libasound.so\n"
         "mutex:libcsnd6.so\n"
         "mutex:libcsound64.so\n"
         "mutex:librtalsa.so\n"
         // Csound's spinlocks (channel lists, string channels) lock and unlock
         // in its own uninstrumented code, whose frames TSan cannot see, so
         // the report lands on the csbridge function that called Csound.
         // csbridge itself never uses pthread spinlocks.
         "mutex:pthread_spin_unlock\n";
}
#endif

}  // extern "C"
