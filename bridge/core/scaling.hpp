#pragma once
// Raw source value -> channel value (SPEC §3.2): normalise over `in`, clamp,
// invert, curve, then onto `range`. Pure and allocation-free.

#include "core/config.hpp"

namespace csb {

/// The scaling of one mapping, with the source's defaults already resolved.
struct Scaler {
  bool pass = false;  ///< value passes unchanged (`range: raw`, or a lines source without `in`)
  double in_lo = 0, in_hi = 1;
  double out_lo = 0, out_hi = 1;
  Curve curve = Curve::lin;
  double power = 1;
  bool invert = false;

  /// Normalised position 0..1 of a raw value (clamped, inverted when asked).
  double normalise(double raw) const;
  /// Maps a normalised 0..1 position through the curve onto the output range.
  double shape(double x) const;
  /// normalise then shape; `pass` returns raw unchanged.
  double apply(double raw) const { return pass ? raw : shape(normalise(raw)); }
};

/// The raw range of a source kind (SPEC §3.1); false when it has none (lines).
bool source_raw_range(SourceKind kind, double& lo, double& hi);

/// Feedback (SPEC §3.4): where a channel value stands in the entry's
/// `range`, 0..1, clamped; a range whose ends are equal gives 1 from its
/// end up. NaN stays NaN.
double feedback_position(const Feedback& f, double value);

/// Builds the scaler for a mapping from its options and its source's defaults.
Scaler make_scaler(const Mapping& m);

}  // namespace csb
