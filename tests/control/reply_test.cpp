// The control socket's reply lines, pure.

#include "control/reply.hpp"

#include <gtest/gtest.h>

namespace csb {
namespace {

using json = nlohmann::json;

TEST(Reply, OneLineOfJsonWithInvalidUtf8Replaced) {
  std::string line = reply_line(json{{"value", std::string("a\xff"
                                                           "b\nc")}});
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;  // a newline in text is escaped
  EXPECT_EQ(json::parse(line)["value"],
            "a\xEF\xBF\xBD"
            "b\nc");
}

TEST(Reply, ErrorAndOkCarryTheirFields) {
  EXPECT_EQ(json::parse(error_reply("no channel 'x'")),
            (json{{"ok", false}, {"error", "no channel 'x'"}}));
  EXPECT_EQ(json::parse(ok_reply({{"state", "paused"}})),
            (json{{"ok", true}, {"state", "paused"}}));
  EXPECT_EQ(json::parse(ok_reply()), (json{{"ok", true}}));
}

}  // namespace
}  // namespace csb
