// Passthrough notes on their own: every message goes to Csound, and a port
// that goes away releases what it held, in order, and only its own.

#include "app/passthrough.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace csb {
namespace {

MidiMessage msg(std::uint8_t status, std::uint8_t d1, std::uint8_t d2) {
  return MidiMessage::make(status, d1, d2);
}

std::vector<std::vector<int>> bytes(const std::vector<MidiMessage>& ms) {
  std::vector<std::vector<int>> out;
  for (const auto& m : ms) out.push_back({m.status(), m.data1(), m.data2()});
  return out;
}

class PassthroughTest : public ::testing::Test {
 protected:
  std::vector<MidiMessage> sent;
  Passthrough pass{[this](const MidiMessage& m) { sent.push_back(m); }};
};

TEST_F(PassthroughTest, EveryMessageGoesToCsoundAndAGonePortReleasesWhatItHeldInOrder) {
  pass.reset(2);
  pass.pass(1, 0, msg(0x90, 64, 100));  // ch 1 note 64
  pass.pass(1, 0, msg(0x90, 60, 90));   // ch 1 note 60
  pass.pass(1, 0, msg(0x99, 36, 127));  // ch 10 note 36
  pass.pass(1, 0, msg(0xB0, 64, 127));  // ch 1 sustain down
  pass.pass(1, 0, msg(0x90, 64, 0));    // note 64 let go (velocity 0)
  pass.pass(1, 1, msg(0x90, 70, 80));   // another port of the same device
  EXPECT_EQ(sent.size(), 6u);
  sent.clear();

  pass.release(1, 0, "keys");
  EXPECT_EQ(bytes(sent),
            (std::vector<std::vector<int>>{{0x80, 60, 0}, {0xB0, 64, 0}, {0x89, 36, 0}}));
  sent.clear();
  pass.release(1, 0, "keys");  // let go already
  EXPECT_TRUE(sent.empty());
  pass.release(1, 1, "keys");  // the other port's note, only now
  EXPECT_EQ(bytes(sent), (std::vector<std::vector<int>>{{0x80, 70, 0}}));
}

TEST_F(PassthroughTest, AReloadForgetsWhatTheOldDevicesHeldAndAnUnknownDeviceIsOnlyPassed) {
  pass.reset(1);
  pass.pass(0, 0, msg(0x90, 60, 100));
  pass.reset(1);  // another configuration: its devices start with nothing held
  sent.clear();
  pass.release(0, 0, "keys");
  EXPECT_TRUE(sent.empty());
  pass.pass(5, 0, msg(0x90, 61, 100));  // no such device now: passed, not kept
  EXPECT_EQ(sent.size(), 1u);
  sent.clear();
  pass.release(5, 0, "gone");
  EXPECT_TRUE(sent.empty());
}

}  // namespace
}  // namespace csb
