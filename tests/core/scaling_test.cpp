// Scaling of one mapping (SPEC §3.2): raw -> normalised over `in` -> clamp ->
// invert -> curve -> `range`. Every test builds a Mapping the way the loader
// would and checks make_scaler + apply on concrete numbers.

#include "core/scaling.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace csb {
namespace {

Mapping lines_mapping(std::optional<std::pair<double, double>> in,
                      std::pair<double, double> range = {0.0, 1.0}) {
  Mapping m;
  m.from.device = "board";
  m.from.kind = SourceKind::named;
  m.from.name = "light";
  m.to = "brightness";
  m.in = in;
  m.range = range;
  return m;
}

Mapping cc_mapping(std::pair<double, double> range = {0.0, 1.0}) {
  Mapping m;
  m.from.device = "knobs";
  m.from.kind = SourceKind::cc;
  m.from.lo = m.from.hi = 16;
  m.from.has_number = true;
  m.to = "cutoff";
  m.range = range;
  return m;
}

TEST(Scaling, Lin_OverIn_MapsOntoRange) {
  // `board light` with in: [0, 1023] — an Arduino analogRead.
  Scaler s = make_scaler(lines_mapping(std::make_pair(0.0, 1023.0), {10.0, 20.0}));
  EXPECT_FALSE(s.pass);
  EXPECT_DOUBLE_EQ(s.apply(0), 10.0);
  EXPECT_DOUBLE_EQ(s.apply(1023), 20.0);
  EXPECT_DOUBLE_EQ(s.apply(511.5), 15.0);
  EXPECT_DOUBLE_EQ(s.apply(102.3), 11.0);
}

TEST(Scaling, Lin_InNotStartingAtZero) {
  // A sensor reporting 200..700: the offset must be subtracted, not only divided.
  Scaler s = make_scaler(lines_mapping(std::make_pair(200.0, 700.0)));
  EXPECT_DOUBLE_EQ(s.apply(200), 0.0);
  EXPECT_DOUBLE_EQ(s.apply(450), 0.5);
  EXPECT_DOUBLE_EQ(s.apply(700), 1.0);
}

TEST(Scaling, OutsideIn_IsClamped) {
  // Values outside `in` are clamped (SPEC §3.2), so a noisy sensor cannot
  // drive a channel beyond its range.
  Scaler s = make_scaler(lines_mapping(std::make_pair(0.0, 1023.0), {10.0, 20.0}));
  EXPECT_DOUBLE_EQ(s.apply(-50), 10.0);
  EXPECT_DOUBLE_EQ(s.apply(5000), 20.0);
  EXPECT_DOUBLE_EQ(s.normalise(-1), 0.0);
  EXPECT_DOUBLE_EQ(s.normalise(1e9), 1.0);
}

TEST(Scaling, Invert_FlipsBeforeScaling) {
  Mapping m = cc_mapping({10.0, 20.0});
  m.invert = true;
  Scaler s = make_scaler(m);
  EXPECT_DOUBLE_EQ(s.apply(0), 20.0);
  EXPECT_DOUBLE_EQ(s.apply(127), 10.0);
  EXPECT_DOUBLE_EQ(s.apply(127.0 / 4), 17.5);
  // Clamping still holds when inverted.
  EXPECT_DOUBLE_EQ(s.apply(-10), 20.0);
  EXPECT_DOUBLE_EQ(s.apply(500), 10.0);
}

TEST(Scaling, Invert_AppliesBeforeCurve) {
  // "invert flips before scaling": with x^2, raw at the bottom of `in` gives
  // the top of the range, a quarter of the way gives (3/4)^2.
  Mapping m = lines_mapping(std::make_pair(0.0, 100.0));
  m.invert = true;
  m.curve = Curve::power;
  m.power = 2;
  Scaler s = make_scaler(m);
  EXPECT_DOUBLE_EQ(s.apply(0), 1.0);
  EXPECT_DOUBLE_EQ(s.apply(25), 0.5625);
  EXPECT_DOUBLE_EQ(s.apply(100), 0.0);
}

TEST(Scaling, Exp_CutoffRange_IsGeometric) {
  // The SPEC's cutoff example: cc 16, range [100, 8000], curve exp:
  // lo·(hi/lo)^x, so the midpoint is the geometric mean sqrt(100·8000).
  Mapping m = cc_mapping({100.0, 8000.0});
  m.curve = Curve::exp;
  Scaler s = make_scaler(m);
  EXPECT_DOUBLE_EQ(s.shape(0.0), 100.0);
  EXPECT_NEAR(s.shape(0.5), std::sqrt(100.0 * 8000.0), 1e-9);
  EXPECT_NEAR(s.shape(0.5), 894.4271909999159, 1e-9);
  EXPECT_NEAR(s.shape(1.0), 8000.0, 1e-9);
  EXPECT_DOUBLE_EQ(s.apply(0), 100.0);
  EXPECT_NEAR(s.apply(127), 8000.0, 1e-9);
  EXPECT_NEAR(s.apply(63.5), 894.4271909999159, 1e-9);
  // Equal steps in x are equal ratios in the output (an octave-like feel).
  EXPECT_NEAR(s.shape(0.25) / s.shape(0.0), s.shape(0.75) / s.shape(0.5), 1e-9);
}

TEST(Scaling, Log_EndpointsExactAndFastAtFirst) {
  // `log` mirrors exp: it rises fast and then flattens. Endpoints are the
  // range ends; the midpoint pins today's definition log10(1 + 9x).
  Mapping m = cc_mapping({0.0, 10.0});
  m.curve = Curve::log;
  Scaler s = make_scaler(m);
  EXPECT_DOUBLE_EQ(s.shape(0.0), 0.0);
  EXPECT_NEAR(s.shape(1.0), 10.0, 1e-12);
  EXPECT_NEAR(s.shape(0.5), 10.0 * std::log10(5.5), 1e-12);
  EXPECT_GT(s.shape(0.5), 5.0);  // above the linear midpoint
  EXPECT_LT(s.shape(0.25), s.shape(0.5));
  EXPECT_LT(s.shape(0.5), s.shape(0.75));
}

TEST(Scaling, Power_IsXToThePower) {
  Mapping m = lines_mapping(std::make_pair(0.0, 1.0), {0.0, 100.0});
  m.curve = Curve::power;
  m.power = 2;
  Scaler s = make_scaler(m);
  EXPECT_DOUBLE_EQ(s.apply(0.5), 25.0);
  EXPECT_DOUBLE_EQ(s.apply(1.0), 100.0);

  m.power = 0.5;
  s = make_scaler(m);
  EXPECT_DOUBLE_EQ(s.apply(0.25), 50.0);
}

TEST(Scaling, RangeRaw_PassesUnchanged) {
  // `range: raw` passes the value as sent, even for a MIDI source with a raw
  // range and even with `in` given: no clamping, no curve.
  Mapping m = cc_mapping();
  m.range_raw = true;
  m.in = std::make_pair(0.0, 10.0);
  m.curve = Curve::exp;
  m.invert = true;
  Scaler s = make_scaler(m);
  EXPECT_TRUE(s.pass);
  EXPECT_DOUBLE_EQ(s.apply(100), 100.0);
  EXPECT_DOUBLE_EQ(s.apply(-3.5), -3.5);
}

TEST(Scaling, LinesSourceWithoutIn_PassesUnchanged) {
  // Lines values have no default raw range: without `in` they pass as sent,
  // even outside the default output range [0, 1].
  for (SourceKind kind : {SourceKind::named, SourceKind::positional, SourceKind::wildcard}) {
    Mapping m = lines_mapping(std::nullopt);
    m.from.kind = kind;
    Scaler s = make_scaler(m);
    EXPECT_TRUE(s.pass);
    EXPECT_DOUBLE_EQ(s.apply(512), 512.0);
    EXPECT_DOUBLE_EQ(s.apply(-3.5), -3.5);
    EXPECT_DOUBLE_EQ(s.apply(1e3), 1000.0);
  }
}

TEST(Scaling, LinesSourceWithIn_IsScaled) {
  // Giving `in` switches the pass-through off.
  Scaler s = make_scaler(lines_mapping(std::make_pair(0.0, 4.0)));
  EXPECT_FALSE(s.pass);
  EXPECT_DOUBLE_EQ(s.apply(1), 0.25);
}

TEST(Scaling, BendDefault_CentreIsExactlyZero) {
  // The loader gives bend the range [-1, 1]; the raw range is -8192..8192 so a
  // centred wheel (0) reads exactly 0, not a rounding error away from it.
  Mapping m;
  m.from.device = "knobs";
  m.from.kind = SourceKind::bend;
  m.to = "bend";
  m.range = {-1.0, 1.0};
  Scaler s = make_scaler(m);
  EXPECT_FALSE(s.pass);
  EXPECT_EQ(s.apply(0), 0.0);
  EXPECT_EQ(s.apply(-8192), -1.0);
  EXPECT_NEAR(s.apply(8191), 1.0, 1.0 / 8192 + 1e-12);
  EXPECT_LT(s.apply(8191), 1.0);
  EXPECT_DOUBLE_EQ(s.apply(4096), 0.5);
}

TEST(Scaling, CcDefault_Is0To127) {
  Scaler s = make_scaler(cc_mapping());
  EXPECT_DOUBLE_EQ(s.in_lo, 0.0);
  EXPECT_DOUBLE_EQ(s.in_hi, 127.0);
  EXPECT_DOUBLE_EQ(s.apply(0), 0.0);
  EXPECT_DOUBLE_EQ(s.apply(127), 1.0);
  EXPECT_DOUBLE_EQ(s.apply(63.5), 0.5);
  EXPECT_DOUBLE_EQ(s.apply(64), 64.0 / 127.0);
}

TEST(Scaling, SourceRawRange_PerKind) {
  double lo = -1, hi = -1;
  ASSERT_TRUE(source_raw_range(SourceKind::cc14, lo, hi));
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 16383);
  ASSERT_TRUE(source_raw_range(SourceKind::note, lo, hi));
  EXPECT_EQ(hi, 127);
  ASSERT_TRUE(source_raw_range(SourceKind::analog, lo, hi));
  EXPECT_EQ(hi, 1023);
  ASSERT_TRUE(source_raw_range(SourceKind::digital, lo, hi));
  EXPECT_EQ(hi, 1);
  // Clock is BPM as measured; lines values have no raw range.
  EXPECT_FALSE(source_raw_range(SourceKind::clock, lo, hi));
  EXPECT_FALSE(source_raw_range(SourceKind::named, lo, hi));
  EXPECT_FALSE(source_raw_range(SourceKind::positional, lo, hi));
  EXPECT_FALSE(source_raw_range(SourceKind::wildcard, lo, hi));
}

TEST(Scaling, ExplicitIn_OverridesSourceDefault) {
  // A knob that only reaches 0..100 physically: `in: [0, 100]` on a cc.
  Mapping m = cc_mapping();
  m.in = std::make_pair(0.0, 100.0);
  Scaler s = make_scaler(m);
  EXPECT_DOUBLE_EQ(s.apply(50), 0.5);
  EXPECT_DOUBLE_EQ(s.apply(127), 1.0);
}

}  // namespace
}  // namespace csb
