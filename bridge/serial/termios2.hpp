#pragma once
// Serial line settings through termios2, so any baud rate the driver accepts
// (31250 for DIN MIDI, 250000, ...) works, not only the Bxxx constants.
// Kept apart because <asm/termbits.h> clashes with <termios.h>.

#include <string>

namespace csb {

/// Raw 8N1 at `baud`, RTS/CTS when `rtscts`, DTR low when !dtr. Returns an
/// empty string, or what failed. Errors from line ioctls a pseudo-terminal
/// does not support (DTR, exclusive mode) are ignored.
std::string configure_serial(int fd, unsigned baud, bool rtscts, bool dtr);

}  // namespace csb
