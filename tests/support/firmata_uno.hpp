#pragma once
// An Arduino Uno as StandardFirmata 2.5 describes its pins, for the tests
// and benches that play a board: 20 pins, 0 and 1 the serial port (no
// modes); 2..19 digital in, pull-up, out and servo; PWM on 3 5 6 9 10 11;
// A0..A5 on 14..19 (10 bits). (tests/core/firmata_test.cpp keeps the same
// board as the bytes of its replies, written out by hand.)

#include <cstdint>

#include "core/firmata.hpp"

namespace csb::test {

/// `pullup`: false for a Firmata older than 2.5, which has no INPUT_PULLUP.
inline firmata::Board standard_firmata_uno(bool pullup = true) {
  using firmata::Mode;
  firmata::Board b;
  b.pin_count = b.mapping_count = 20;
  for (int p = 2; p < 20; ++p) {
    auto add = [&](Mode m, int bits) {
      b.pins[p].modes |= 1u << static_cast<unsigned>(m);
      b.pins[p].resolution[static_cast<unsigned>(m)] = static_cast<std::uint8_t>(bits);
    };
    add(Mode::kInput, 1);
    if (pullup) add(Mode::kPullup, 1);
    add(Mode::kOutput, 1);
    if (p >= 14) add(Mode::kAnalog, 10);
    if (p == 3 || p == 5 || p == 6 || p == 9 || p == 10 || p == 11) add(Mode::kPwm, 8);
    add(Mode::kServo, 14);
    if (p >= 14) b.pins[p].analog = static_cast<std::uint8_t>(p - 14);
  }
  return b;
}

}  // namespace csb::test
