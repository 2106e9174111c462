#include "core/scaling.hpp"

#include <algorithm>
#include <cmath>

namespace csb {

double Scaler::normalise(double raw) const {
  double x = (raw - in_lo) / (in_hi - in_lo);
  x = std::clamp(x, 0.0, 1.0);
  return invert ? 1.0 - x : x;
}

double Scaler::shape(double x) const {
  switch (curve) {
    case Curve::exp:
      return out_lo * std::pow(out_hi / out_lo, x);
    case Curve::log:
      // The mirror of exp: fast at first, then flattening.
      x = std::log10(1.0 + 9.0 * x);
      break;
    case Curve::power:
      x = std::pow(x, power);
      break;
    case Curve::lin:
      break;
  }
  return out_lo + (out_hi - out_lo) * x;
}

bool source_raw_range(SourceKind kind, double& lo, double& hi) {
  const SourceKindInfo& s = source_kind_info(kind);
  if (!s.has_raw_range) return false;
  lo = s.raw_lo, hi = s.raw_hi;
  return true;
}

Scaler make_scaler(const Mapping& m) {
  Scaler s;
  s.curve = m.curve;
  s.power = m.power;
  s.invert = m.invert;
  s.out_lo = m.range.first;
  s.out_hi = m.range.second;
  if (m.range_raw) {
    s.pass = true;
    return s;
  }
  if (m.in) {
    s.in_lo = m.in->first;
    s.in_hi = m.in->second;
  } else if (!source_raw_range(m.from.kind, s.in_lo, s.in_hi)) {
    s.pass = true;
  }
  return s;
}

double feedback_position(const Feedback& f, double value) {
  if (std::isnan(value)) return value;
  const auto [lo, hi] = f.range;
  const double x = hi != lo ? (value - lo) / (hi - lo) : (value >= hi ? 1.0 : 0.0);
  return std::clamp(x, 0.0, 1.0);
}

}  // namespace csb
