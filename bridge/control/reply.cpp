#include "control/reply.hpp"

namespace csb {

using json = nlohmann::json;

std::string reply_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_reply(const std::string& message) {
  return reply_line(json{{"ok", false}, {"error", message}});
}

std::string ok_reply(json fields) {
  fields["ok"] = true;
  return reply_line(fields);
}

}  // namespace csb
