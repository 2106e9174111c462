#pragma once
// The control socket's reply lines (SPEC §6): one JSON object a line.

#include <string>

#include <nlohmann/json.hpp>

namespace csb {

/// One reply line. Text from outside (board values, names, Csound's words)
/// may be any bytes: invalid UTF-8 becomes U+FFFD instead of an exception.
std::string reply_line(const nlohmann::json& j);
/// {"ok":false,"error":message}
std::string error_reply(const std::string& message);
/// {"ok":true} with `fields` added.
std::string ok_reply(nlohmann::json fields = nlohmann::json::object());

}  // namespace csb
