// Firmata bytes (SPEC §3.5): the framer at each end of the line, fed in
// every split a serial port can produce; the sysex replies a host parses;
// the bytes each encoder writes, against the messages of the protocol's
// documentation (firmata/protocol, protocol.md, version 2.5) and what
// StandardFirmata 2.5 answers on an Arduino Uno.

#include "core/firmata.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace csb::firmata {
namespace {

using Bytes = std::vector<std::uint8_t>;

/// What a decoder emitted, in order: a message as "command index: data",
/// a sysex as "sysex ID: payload", all in hex.
struct Decoded {
  std::vector<std::string> items;
  std::uint64_t messages = 0, errors = 0, sysex_dropped = 0;
  bool operator==(const Decoded&) const = default;
};

/// Appends " xx" (the byte in hex) to s.
void add_hex(std::string& s, std::uint8_t b) {
  static const char* digits = "0123456789abcdef";
  s.push_back(' ');
  s.push_back(digits[b >> 4]);
  s.push_back(digits[b & 15]);
}

/// Feeds `bytes` in pieces cut at `cuts` (ascending offsets) into one decoder.
Decoded decode(End end, const Bytes& bytes, const std::vector<std::size_t>& cuts = {}) {
  Decoder d(end);
  Decoded out;
  auto on_message = [&](const Message& m) {
    std::string s;
    add_hex(s, m.command);
    s.push_back(' ');
    s += std::to_string(m.index);
    s.push_back(':');
    for (int i = 0; i < m.size; ++i) add_hex(s, m.data[i]);
    s.erase(0, 1);  // add_hex's leading space
    out.items.push_back(s);
  };
  auto on_sysex = [&](std::uint8_t id, std::span<const std::uint8_t> payload) {
    std::string s = "sysex";
    add_hex(s, id);
    s.push_back(':');
    for (std::uint8_t b : payload) add_hex(s, b);
    out.items.push_back(s);
  };
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    d.feed(bytes.data() + at, cut - at, on_message, on_sysex);
    at = cut;
  }
  d.feed(bytes.data() + at, bytes.size() - at, on_message, on_sysex);
  out.messages = d.messages();
  out.errors = d.errors();
  out.sysex_dropped = d.sysex_dropped();
  return out;
}

/// The same stream decoded whole, one byte a read, and cut once at each offset.
void expect_same_in_every_split(End end, const Bytes& bytes) {
  const Decoded whole = decode(end, bytes);
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < bytes.size(); ++i) every.push_back(i);
  EXPECT_EQ(decode(end, bytes, every), whole) << "one byte a read";
  for (std::size_t i = 1; i < bytes.size(); ++i) EXPECT_EQ(decode(end, bytes, {i}), whole) << i;
}

// "StandardFirmata" in the firmware report's 7-bit halves.
Bytes name_halves(const std::string& name) {
  Bytes b;
  for (unsigned char c : name) {
    b.push_back(c & 0x7F);
    b.push_back(c >> 7);
  }
  return b;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// What StandardFirmata 2.5 says of an Uno's 20 pins: 0 and 1 are the
// serial port (no modes); 2..19 digital in, pull-up, out and servo; PWM on
// 3 5 6 9 10 11; 14..19 are A0..A5 (10 bits); I2C on 18 and 19.
Bytes uno_capability_payload() {
  Bytes b;
  for (int pin = 0; pin < 20; ++pin) {
    if (pin >= 2) b.insert(b.end(), {0x00, 0x01, 0x0B, 0x01, 0x01, 0x01});
    if (pin >= 14) b.insert(b.end(), {0x02, 0x0A});
    if (pin == 3 || pin == 5 || pin == 6 || pin == 9 || pin == 10 || pin == 11)
      b.insert(b.end(), {0x03, 0x08});
    if (pin >= 2) b.insert(b.end(), {0x04, 0x0E});
    if (pin == 18 || pin == 19) b.insert(b.end(), {0x06, 0x01});
    b.push_back(0x7F);
  }
  return b;
}

Bytes uno_mapping_payload() {
  Bytes b(14, 0x7F);
  for (std::uint8_t a = 0; a < 6; ++a) b.push_back(a);
  return b;
}

// ---- Framing ----

TEST(FirmataDecoder, AHostReadsWhatABoardSendsInAnySplit) {
  const Bytes stream = cat({
      {0xF9, 0x02, 0x05},  // protocol version 2.5
      {0xF0, 0x79, 0x02, 0x05},
      name_halves("StandardFirmata"),
      {0xF7},                                      // firmware
      {0xE0, 0x7F, 0x07},                          // A0 = 1023
      {0xE5, 0x00, 0x00},                          // A5 = 0
      {0x90, 0x04, 0x00},                          // port 0: pin 2 high
      {0x91, 0x00, 0x01},                          // port 1: pin 15 high
      {0xF0, 0x71, 0x68, 0x00, 0x69, 0x00, 0xF7},  // string "hi"
      {0xF0, 0x6A, 0x7F, 0x00, 0xF7},              // analog mapping
  });
  const Decoded d = decode(End::kHost, stream);
  ASSERT_EQ(d.items.size(), 8u);
  EXPECT_EQ(d.items[0], "f9 0: 02 05");
  EXPECT_EQ(d.items[1].substr(0, 20), "sysex 79: 02 05 53 0");
  EXPECT_EQ(d.items[2], "e0 0: 7f 07");
  EXPECT_EQ(d.items[3], "e0 5: 00 00");
  EXPECT_EQ(d.items[4], "90 0: 04 00");
  EXPECT_EQ(d.items[5], "90 1: 00 01");
  EXPECT_EQ(d.items[6], "sysex 71: 68 00 69 00");
  EXPECT_EQ(d.items[7], "sysex 6a: 7f 00");
  EXPECT_EQ(d.messages, 8u);
  EXPECT_EQ(d.errors, 0u);
  EXPECT_EQ(d.sysex_dropped, 0u);
  expect_same_in_every_split(End::kHost, stream);
}

TEST(FirmataDecoder, MessageValuesReadAsTheProtocolSays) {
  Decoder d(End::kHost);
  std::vector<Message> got;
  const Bytes stream = {0xE3, 0x7F, 0x07, 0x91, 0x7F, 0x01};
  d.feed(
      stream.data(), stream.size(), [&](const Message& m) { got.push_back(m); },
      [](std::uint8_t, std::span<const std::uint8_t>) {});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].command, kAnalogMessage);
  EXPECT_EQ(got[0].index, 3);
  EXPECT_EQ(got[0].value(), 1023);
  EXPECT_EQ(got[1].command, kDigitalMessage);
  EXPECT_EQ(got[1].index, 1);
  EXPECT_EQ(got[1].value(), 0xFF);  // pins 8..15 all high
}

TEST(FirmataDecoder, ABoardReadsAVersionQueryAsOneByteAndTheHostsCommands) {
  const Bytes stream = {
      0xF9,                          // version query
      0xF0, 0x79, 0xF7,              // firmware query
      0xF0, 0x6B, 0xF7,              // capability query
      0xF0, 0x69, 0xF7,              // analog mapping query
      0xF4, 0x0D, 0x01,              // pin 13 output
      0xF4, 0x02, 0x0B,              // pin 2 input pull-up
      0xC0, 0x01,                    // report A0
      0xD1, 0x01,                    // report port 1
      0xF5, 0x0D, 0x01,              // pin 13 high
      0xF0, 0x7A, 0x13, 0x00, 0xF7,  // sampling 19 ms
      0xFF,                          // system reset
  };
  const Decoded d = decode(End::kBoard, stream);
  const std::vector<std::string> want = {
      "f9 0:",    "sysex 79:", "sysex 6b:",   "sysex 69:",       "f4 0: 0d 01", "f4 0: 02 0b",
      "c0 0: 01", "d0 1: 01",  "f5 0: 0d 01", "sysex 7a: 13 00", "ff 0:",
  };
  EXPECT_EQ(d.items, want);
  EXPECT_EQ(d.errors, 0u);
  expect_same_in_every_split(End::kBoard, stream);
}

TEST(FirmataDecoder, AVersionQueryAtTheHostEndIsAMessageCutShort) {
  // A host never receives F9 alone: it waits for the two version bytes.
  const Decoded d = decode(End::kHost, {0xF9, 0xE0, 0x01, 0x00});
  EXPECT_EQ(d.items, std::vector<std::string>{"e0 0: 01 00"});
  EXPECT_EQ(d.errors, 1u);
}

TEST(FirmataDecoder, AStatusByteCutsAMessageShortAndTheNextOneStillDecodes) {
  const Bytes stream = {0xE0, 0x10, 0x91, 0x01, 0x00};
  const Decoded d = decode(End::kHost, stream);
  EXPECT_EQ(d.items, std::vector<std::string>{"90 1: 01 00"});
  EXPECT_EQ(d.errors, 1u);
  expect_same_in_every_split(End::kHost, stream);
}

TEST(FirmataDecoder, DataBytesNoStatusAskedForCountOnceARun) {
  // Firmata has no running status: the second analog value has no command.
  const Bytes stream = {0x05, 0x06, 0x07, 0xE0, 0x01, 0x00, 0x02, 0x00, 0x03, 0xE1, 0x04, 0x00};
  const Decoded d = decode(End::kHost, stream);
  EXPECT_EQ(d.items, (std::vector<std::string>{"e0 0: 01 00", "e0 1: 04 00"}));
  EXPECT_EQ(d.errors, 2u);  // the run before, the run after the first message
  expect_same_in_every_split(End::kHost, stream);
}

TEST(FirmataDecoder, CommandsFirmataDoesNotHaveCountOnceWithTheirDataSkipped) {
  const Bytes stream = {0xB0, 0x07, 0x7F,  // a MIDI cc
                        0x80, 0x3C, 0x00,  // a MIDI note-off
                        0xF7,              // a stray sysex end
                        0xF8, 0xFE,        // MIDI realtime
                        0xE2, 0x00, 0x04};
  const Decoded d = decode(End::kHost, stream);
  EXPECT_EQ(d.items, std::vector<std::string>{"e0 2: 00 04"});
  EXPECT_EQ(d.errors, 5u);
  expect_same_in_every_split(End::kHost, stream);
}

TEST(FirmataDecoder, AnUnterminatedSysexEndsAtTheNextStatusByte) {
  const Bytes stream = {0xF0, 0x79, 0x02, 0x05, 0x53,  // a firmware report cut short
                        0xE0, 0x7F, 0x07,              // A0 still arrives
                        0xF0, 0x6A, 0x00};             // cut by the end of the stream: pending
  const Decoded d = decode(End::kHost, stream);
  EXPECT_EQ(d.items, std::vector<std::string>{"e0 0: 7f 07"});
  EXPECT_EQ(d.sysex_dropped, 1u);
  EXPECT_EQ(d.errors, 0u);
  expect_same_in_every_split(End::kHost, stream);
}

TEST(FirmataDecoder, AnEmptySysexIsAnErrorAndAnOverlongOneIsDropped) {
  Bytes stream = {0xF0, 0xF7, 0xF0, 0x71};
  stream.insert(stream.end(), Decoder::kMaxSysex, 0x41);  // ID and payload over the bound
  stream.insert(stream.end(), {0xF7, 0xF0, 0x71, 0x41, 0x00, 0xF7});
  const Decoded d = decode(End::kHost, stream);
  EXPECT_EQ(d.items, std::vector<std::string>{"sysex 71: 41 00"});
  EXPECT_EQ(d.errors, 1u);
  EXPECT_EQ(d.sysex_dropped, 1u);

  // The longest that fits is kept whole.
  Bytes longest = {0xF0, 0x71};
  longest.insert(longest.end(), Decoder::kMaxSysex - 1, 0x00);
  longest.push_back(0xF7);
  const Decoded l = decode(End::kHost, longest);
  ASSERT_EQ(l.items.size(), 1u);
  EXPECT_EQ(l.items[0].size(), std::string("sysex 71:").size() + 3 * (Decoder::kMaxSysex - 1));
}

TEST(FirmataDecoder, ResetForgetsWhatWasInProgress) {
  Decoder d(End::kHost);
  int messages = 0, sysex = 0;
  auto on_message = [&](const Message&) { ++messages; };
  auto on_sysex = [&](std::uint8_t, std::span<const std::uint8_t>) { ++sysex; };
  const Bytes half = {0xE0, 0x01, 0xF0, 0x79, 0x02};
  d.feed(half.data(), 2, on_message, on_sysex);  // half an analog message
  d.reset();
  const Bytes rest = {0x00, 0xE1, 0x05, 0x00};  // its second byte, then a whole message
  d.feed(rest.data(), rest.size(), on_message, on_sysex);
  EXPECT_EQ(messages, 1);
  d.feed(half.data() + 2, 3, on_message, on_sysex);  // a sysex begun
  d.reset();
  const Bytes end = {0xF7};
  d.feed(end.data(), end.size(), on_message, on_sysex);  // now a stray F7
  EXPECT_EQ(sysex, 0);
  EXPECT_EQ(d.sysex_dropped(), 0u);
}

// ---- Replies ----

TEST(FirmataReplies, TheFirmwareReportGivesVersionAndName) {
  Firmware f;
  const Bytes payload = cat({{0x02, 0x05}, name_halves("StandardFirmata.ino")});
  ASSERT_TRUE(parse_firmware(payload, f));
  EXPECT_EQ(f.major, 2);
  EXPECT_EQ(f.minor, 5);
  EXPECT_EQ(f.name(), "StandardFirmata.ino");

  EXPECT_TRUE(parse_firmware(Bytes{0x02, 0x03}, f));  // no name
  EXPECT_EQ(f.name(), "");
  EXPECT_FALSE(parse_firmware(Bytes{0x02}, f));
  EXPECT_FALSE(parse_firmware(Bytes{0x02, 0x05, 0x53}, f));  // half a character

  ASSERT_TRUE(parse_firmware(Bytes{0x02, 0x05, 0x07, 0x00, 0x41, 0x01}, f));
  EXPECT_EQ(f.name(), "??");  // a bell, and 0xC1
  ASSERT_TRUE(parse_firmware(cat({{0x02, 0x05}, name_halves(std::string(100, 'x'))}), f));
  EXPECT_EQ(f.name(), std::string(63, 'x'));
}

TEST(FirmataReplies, AnUnosCapabilitiesAndAnalogMappingGiveItsPins) {
  Board b;
  ASSERT_TRUE(parse_capability(uno_capability_payload(), b));
  ASSERT_TRUE(parse_analog_mapping(uno_mapping_payload(), b));
  EXPECT_EQ(b.pin_count, 20);
  EXPECT_EQ(b.mapping_count, 20);
  EXPECT_EQ(b.pins[0].modes, 0u);
  EXPECT_EQ(b.pins[1].modes, 0u);
  EXPECT_TRUE(b.pins[13].supports(Mode::kOutput));
  EXPECT_TRUE(b.pins[2].supports(Mode::kPullup));
  EXPECT_FALSE(b.pins[13].supports(Mode::kPwm));
  EXPECT_TRUE(b.pins[9].supports(Mode::kPwm));
  EXPECT_EQ(b.pins[9].bits(Mode::kPwm), 8);
  EXPECT_EQ(b.pins[9].bits(Mode::kServo), 14);
  EXPECT_TRUE(b.pins[14].supports(Mode::kAnalog));
  EXPECT_EQ(b.pins[14].bits(Mode::kAnalog), 10);
  EXPECT_FALSE(b.pins[13].supports(Mode::kAnalog));
  EXPECT_TRUE(b.pins[19].supports(Mode::kI2c));
  EXPECT_EQ(b.analog_pin(0), 14);
  EXPECT_EQ(b.analog_pin(5), 19);
  EXPECT_EQ(b.analog_pin(6), -1);
  EXPECT_EQ(b.analog_pin(-1), -1);
  EXPECT_EQ(b.pins[20].modes, 0u);
  EXPECT_EQ(b.pins[20].analog, kNone);
}

TEST(FirmataReplies, AMalformedCapabilityOrMappingLeavesTheBoardAsItWas) {
  Board b;
  ASSERT_TRUE(parse_capability(uno_capability_payload(), b));
  ASSERT_TRUE(parse_analog_mapping(uno_mapping_payload(), b));

  EXPECT_FALSE(parse_capability(Bytes{0x00, 0x01, 0x01}, b));  // a mode without its resolution
  EXPECT_FALSE(parse_capability(Bytes{0x00, 0x01}, b));        // the pin not ended
  EXPECT_FALSE(parse_capability(Bytes{0x00, 0x7F}, b));        // nor here: that 7F is a resolution
  EXPECT_FALSE(parse_capability(Bytes(kMaxPins + 1, 0x7F), b));  // too many pins
  EXPECT_FALSE(parse_analog_mapping(Bytes(kMaxPins + 1, 0x7F), b));
  EXPECT_EQ(b.pin_count, 20);
  EXPECT_TRUE(b.pins[9].supports(Mode::kPwm));
  EXPECT_EQ(b.analog_pin(0), 14);

  // Modes beyond the table are skipped, their resolution too.
  ASSERT_TRUE(parse_capability(Bytes{0x40, 0x05, 0x01, 0x01, 0x7F}, b));
  EXPECT_EQ(b.pin_count, 1);
  EXPECT_EQ(b.pins[0].modes, 1u << 1);
  EXPECT_FALSE(b.pins[9].supports(Mode::kPwm));  // every pin set again
  ASSERT_TRUE(parse_capability(Bytes{}, b));
  EXPECT_EQ(b.pin_count, 0);
  ASSERT_TRUE(parse_capability(Bytes(kMaxPins, 0x7F), b));
  EXPECT_EQ(b.pin_count, kMaxPins);
}

TEST(FirmataReplies, PinStateStringExtendedAnalogAndSamplingInterval) {
  PinState s;
  ASSERT_TRUE(parse_pin_state(Bytes{0x0D, 0x01, 0x01}, s));
  EXPECT_EQ(s.pin, 13);
  EXPECT_EQ(s.mode, 1);
  EXPECT_EQ(s.state, 1u);
  ASSERT_TRUE(parse_pin_state(Bytes{0x09, 0x03, 0x7F, 0x01}, s));
  EXPECT_EQ(s.state, 255u);
  EXPECT_FALSE(parse_pin_state(Bytes{0x0D, 0x01}, s));
  EXPECT_FALSE(parse_pin_state(Bytes{0x0D, 0x01, 1, 2, 3, 4, 5}, s));

  char text[8];
  std::size_t n = 0;
  ASSERT_TRUE(parse_string(Bytes{0x68, 0x00, 0x69, 0x00}, text, sizeof text, n));
  EXPECT_EQ(std::string(text, n), "hi");
  EXPECT_FALSE(parse_string(Bytes{0x68}, text, sizeof text, n));
  ASSERT_TRUE(parse_string(name_halves("a long message"), text, sizeof text, n));
  EXPECT_EQ(std::string(text), "a long ");

  std::uint8_t pin = 0;
  std::uint32_t value = 0;
  ASSERT_TRUE(parse_extended_analog(Bytes{0x14, 0x20, 0x1C, 0x01}, pin, value));
  EXPECT_EQ(pin, 20);
  EXPECT_EQ(value, 20000u);
  EXPECT_FALSE(parse_extended_analog(Bytes{0x14}, pin, value));
  EXPECT_FALSE(parse_extended_analog(Bytes{0x14, 1, 2, 3, 4, 5}, pin, value));

  unsigned ms = 0;
  ASSERT_TRUE(parse_sampling_interval(Bytes{0x13, 0x00}, ms));
  EXPECT_EQ(ms, 19u);
  ASSERT_TRUE(parse_sampling_interval(Bytes{0x68, 0x07}, ms));
  EXPECT_EQ(ms, 1000u);
  EXPECT_FALSE(parse_sampling_interval(Bytes{0x13}, ms));
}

// ---- Encoders ----

template <class Encode>
Bytes encoded(Encode&& encode) {
  std::uint8_t out[kMaxEncoded];
  const std::size_t n = encode(out);
  EXPECT_LE(n, kMaxEncoded);
  return Bytes(out, out + n);
}

TEST(FirmataEncoder, WritesTheHostsMessagesAsTheProtocolDocumentsThem) {
  EXPECT_EQ(encoded(query_version), (Bytes{0xF9}));
  EXPECT_EQ(encoded(query_firmware), (Bytes{0xF0, 0x79, 0xF7}));
  EXPECT_EQ(encoded(query_capability), (Bytes{0xF0, 0x6B, 0xF7}));
  EXPECT_EQ(encoded(query_analog_mapping), (Bytes{0xF0, 0x69, 0xF7}));
  EXPECT_EQ(encoded([](auto* o) { return query_pin_state(13, o); }),
            (Bytes{0xF0, 0x6D, 0x0D, 0xF7}));
  EXPECT_EQ(encoded([](auto* o) { return set_pin_mode(13, Mode::kOutput, o); }),
            (Bytes{0xF4, 0x0D, 0x01}));
  EXPECT_EQ(encoded([](auto* o) { return set_pin_mode(2, Mode::kPullup, o); }),
            (Bytes{0xF4, 0x02, 0x0B}));
  EXPECT_EQ(encoded([](auto* o) { return report_analog(0, true, o); }), (Bytes{0xC0, 0x01}));
  EXPECT_EQ(encoded([](auto* o) { return report_analog(5, false, o); }), (Bytes{0xC5, 0x00}));
  EXPECT_EQ(encoded([](auto* o) { return report_digital(1, true, o); }), (Bytes{0xD1, 0x01}));
  EXPECT_EQ(encoded([](auto* o) { return digital_port(1, 0x20, o); }), (Bytes{0x91, 0x20, 0x00}));
  EXPECT_EQ(encoded([](auto* o) { return digital_port(0, 0x80, o); }), (Bytes{0x90, 0x00, 0x01}));
  EXPECT_EQ(encoded([](auto* o) { return set_digital_pin(13, true, o); }),
            (Bytes{0xF5, 0x0D, 0x01}));
  EXPECT_EQ(encoded([](auto* o) { return sampling_interval(19, o); }),
            (Bytes{0xF0, 0x7A, 0x13, 0x00, 0xF7}));
  EXPECT_EQ(encoded([](auto* o) { return sampling_interval(0, o); }),
            (Bytes{0xF0, 0x7A, 0x01, 0x00, 0xF7}));
  EXPECT_EQ(encoded([](auto* o) { return sampling_interval(100000, o); }),
            (Bytes{0xF0, 0x7A, 0x7F, 0x7F, 0xF7}));
  EXPECT_EQ(encoded([](auto* o) { return servo_config(9, 544, 2400, o); }),
            (Bytes{0xF0, 0x70, 0x09, 0x20, 0x04, 0x60, 0x12, 0xF7}));
  EXPECT_EQ(encoded(system_reset), (Bytes{0xFF}));
}

TEST(FirmataEncoder, AnalogWriteUsesExtendedAnalogBeyondPin15Or14Bits) {
  EXPECT_EQ(encoded([](auto* o) { return analog_write(9, 255, o); }), (Bytes{0xE9, 0x7F, 0x01}));
  EXPECT_EQ(encoded([](auto* o) { return analog_write(15, 16383, o); }), (Bytes{0xEF, 0x7F, 0x7F}));
  EXPECT_EQ(encoded([](auto* o) { return analog_write(20, 100, o); }),
            (Bytes{0xF0, 0x6F, 0x14, 0x64, 0x00, 0xF7}));
  EXPECT_EQ(encoded([](auto* o) { return analog_write(3, 20000, o); }),
            (Bytes{0xF0, 0x6F, 0x03, 0x20, 0x1C, 0x01, 0xF7}));
  EXPECT_EQ(encoded([](auto* o) { return analog_write(3, 0xFFFFFFFF, o); }),
            (Bytes{0xF0, 0x6F, 0x03, 0x7F, 0x7F, 0x7F, 0x7F, 0xF7}));
}

TEST(FirmataEncoder, WhatABoardSendsReadsBackThroughTheHostsParsers) {
  std::uint8_t out[4096];
  Board uno;
  ASSERT_TRUE(parse_capability(uno_capability_payload(), uno));
  ASSERT_TRUE(parse_analog_mapping(uno_mapping_payload(), uno));

  // Every reply framed and parsed again gives what it was made of.
  Bytes stream;
  auto add = [&](std::size_t n) {
    ASSERT_GT(n, 0u);
    stream.insert(stream.end(), out, out + n);
  };
  add(version_report(2, 5, out, sizeof out));
  add(firmware_report(2, 5, "StandardFirmata", out, sizeof out));
  add(capability_response(uno, out, sizeof out));
  add(analog_mapping_response(uno, out, sizeof out));
  add(analog_write(0, 1023, out));
  add(digital_port(1, 0xA5, out));

  Board read;
  Firmware firmware;
  std::vector<Message> messages;
  Decoder d(End::kHost);
  d.feed(
      stream.data(), stream.size(), [&](const Message& m) { messages.push_back(m); },
      [&](std::uint8_t id, std::span<const std::uint8_t> payload) {
        bool parsed = true;
        if (id == kReportFirmware) parsed = parse_firmware(payload, firmware);
        if (id == kCapabilityResponse) parsed = parse_capability(payload, read);
        if (id == kAnalogMappingResponse) parsed = parse_analog_mapping(payload, read);
        EXPECT_TRUE(parsed) << "sysex " << int{id};
      });
  EXPECT_EQ(d.errors(), 0u);
  EXPECT_EQ(firmware.name(), "StandardFirmata");
  EXPECT_EQ(read.pin_count, 20);
  for (int p = 0; p < kMaxPins; ++p) {
    EXPECT_EQ(read.pins[p].modes, uno.pins[p].modes) << p;
    EXPECT_EQ(read.pins[p].analog, uno.pins[p].analog) << p;
    for (int m = 0; m < 16; ++m) EXPECT_EQ(read.pins[p].resolution[m], uno.pins[p].resolution[m]);
  }
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].command, kVersion);
  EXPECT_EQ(messages[1].value(), 1023);
  EXPECT_EQ(messages[2].value(), 0xA5);
  EXPECT_EQ(messages[2].index, 1);

  // A buffer too small for the reply gets nothing.
  EXPECT_EQ(capability_response(uno, out, 10), 0u);
  EXPECT_EQ(firmware_report(2, 5, "StandardFirmata", out, 10), 0u);
  EXPECT_EQ(analog_mapping_response(uno, out, 10), 0u);
  EXPECT_EQ(version_report(2, 5, out, 2), 0u);
}

// ---- Feedback ----

Bytes feedback_bytes(FeedbackKind kind, int pin, double value,
                     std::pair<double, double> range = {0.0, 1.0}) {
  Feedback f;
  f.kind = kind;
  f.number = pin;
  f.range = range;
  std::uint8_t out[6];
  const std::size_t n = encode_feedback(f, value, out);
  return Bytes(out, out + n);
}

TEST(FirmataFeedback, EachKindMapsItsRangeOntoThePinsRawRange) {
  // A digital pin is high from the middle of the range up.
  EXPECT_EQ(feedback_bytes(FeedbackKind::firmata_digital, 13, 1.0), (Bytes{0xF5, 0x0D, 0x01}));
  EXPECT_EQ(feedback_bytes(FeedbackKind::firmata_digital, 13, 0.49), (Bytes{0xF5, 0x0D, 0x00}));
  EXPECT_EQ(feedback_bytes(FeedbackKind::firmata_digital, 13, 0.5), (Bytes{0xF5, 0x0D, 0x01}));
  EXPECT_EQ(feedback_bytes(FeedbackKind::firmata_digital, 2, 60, {0, 100}),
            (Bytes{0xF5, 0x02, 0x01}));
  // PWM onto 0..255, a servo onto 0..180 degrees, clamped.
  EXPECT_EQ(feedback_bytes(FeedbackKind::firmata_pwm, 9, 1.0), (Bytes{0xE9, 0x7F, 0x01}));
  EXPECT_EQ(feedback_bytes(FeedbackKind::firmata_pwm, 9, 0.5), (Bytes{0xE9, 0x00, 0x01}));
  EXPECT_EQ(feedback_bytes(FeedbackKind::firmata_pwm, 9, -3.0), (Bytes{0xE9, 0x00, 0x00}));
  EXPECT_EQ(feedback_bytes(FeedbackKind::firmata_servo, 10, 90, {0, 180}),
            (Bytes{0xEA, 0x5A, 0x00}));
  EXPECT_EQ(feedback_bytes(FeedbackKind::firmata_servo, 10, 7.0), (Bytes{0xEA, 0x34, 0x01}));
  // Past pin 15, the extended analog message.
  EXPECT_EQ(feedback_bytes(FeedbackKind::firmata_pwm, 44, 1.0),
            (Bytes{0xF0, 0x6F, 0x2C, 0x7F, 0x01, 0xF7}));
  // NaN and other kinds send nothing.
  EXPECT_TRUE(feedback_bytes(FeedbackKind::firmata_pwm, 9, NAN).empty());
  EXPECT_TRUE(feedback_bytes(FeedbackKind::midi_cc, 9, 1.0).empty());
  EXPECT_TRUE(feedback_bytes(FeedbackKind::line, 9, 1.0).empty());
}

}  // namespace
}  // namespace csb::firmata
