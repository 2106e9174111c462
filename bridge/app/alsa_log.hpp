#pragma once
// alsa-lib writes its own errors to stderr ("ALSA lib pcm.c:2666:(...) Unknown
// PCM default"): on a board without a sound card, Csound's ALSA audio module
// prints a screenful before the bridge falls back to null audio and says so
// in one line. This sends those lines to the service log instead.

namespace csb {

/// Routes alsa-lib's error messages to the log at debug level, for the whole
/// process (Csound's ALSA audio module and the MIDI transport share the one
/// libasound). Call once, from main, before anything opens ALSA. The handler
/// runs on whichever thread called into alsa-lib; the log is thread-safe.
void route_alsa_errors_to_log();

}  // namespace csb
