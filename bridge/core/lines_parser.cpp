#include "core/lines_parser.hpp"

#include "core/text.hpp"

namespace csb::detail {

bool parse_number_token(std::string_view t, double& out) {
  auto v = parse_number(t);
  if (!v) return false;
  out = *v;
  return true;
}

}  // namespace csb::detail
