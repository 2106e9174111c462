#include "config/channel_check.hpp"

#include <fstream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "core/channels.hpp"
#include "core/orchestra_scan.hpp"
#include "core/router.hpp"

namespace csb {

namespace {

class NullSink : public RouterSink {
 public:
  void on_action(Action) override {}
  void on_score(std::string_view) override {}
};

std::string read_head(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string text(limit, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

const char* type_word(ChannelType t) {
  return t == ChannelType::string ? "string" : "control";
}

}  // namespace

std::vector<Diagnostic> check_channels(const Config& config) {
  // A config's share of the service's table.
  auto table = std::make_unique<ChannelTable>(ChannelTable::kConfigChannels);
  NullSink sink;
  std::vector<Diagnostic> diags;
  auto router = std::make_unique<Router>(config, *table, sink, &diags);
  for (const Feedback& f : config.feedback)
    if (table->add(f.channel, ChannelType::control, /*watch_only=*/true) == kNoSlot &&
        table->find(f.channel) == kNoSlot)
      diags.push_back({config.path, f.mark,
                       fmt::format("feedback from '{}': the mappings and feedback make more "
                                   "channels than the channel table holds ({})",
                                   f.channel, table->capacity())});

  const std::string csd_name = config.csound.csd;
  auto orchestra = scan_orchestra_channels(read_head(csd_name, 4u << 20));
  if (orchestra.empty()) return diags;

  // A mapping writes numbers or text; the orchestra's use says which its
  // channel holds. Once per mapping: a range could repeat it 128 times.
  const auto& slots = router->mapped_slots();
  const auto& marks = router->mapped_marks();
  Mark last{-1, -1};
  for (std::size_t k = 0; k < slots.size(); ++k) {
    const ChannelSlot& s = table->at(slots[k]);
    auto it = orchestra.find(s.name);
    if (it == orchestra.end() || it->second.type == s.type.load()) continue;
    if (marks[k].line == last.line && marks[k].col == last.col) continue;
    last = marks[k];
    const OrchestraChannel& o = it->second;
    bool mapping_string = s.type == ChannelType::string;
    diags.push_back(
        {config.path, marks[k],
         fmt::format("channel '{}' is a {} channel in the orchestra ({}:{}: {}) but this mapping "
                     "writes {} to it: {}",
                     s.name, type_word(o.type), csd_name, o.line, o.how,
                     mapping_string ? "text (type: string)" : "numbers",
                     mapping_string ? "remove 'type: string', or make the orchestra's channel a "
                                      "string one"
                                    : "add 'type: string' (lines sources), or make the "
                                      "orchestra's channel a control one")});
  }
  for (const Feedback& f : config.feedback) {
    auto it = orchestra.find(f.channel);
    if (it == orchestra.end() || it->second.type != ChannelType::string ||
        f.kind == FeedbackKind::line)
      continue;
    diags.push_back(
        {config.path, f.mark,
         fmt::format("feedback from '{}': it is a string channel in the orchestra ({}:{}: {}) "
                     "and this target sends numbers; send it to a lines device with line: "
                     "\"... {{value}}\", or feed back a control channel",
                     f.channel, csd_name, it->second.line, it->second.how)});
  }
  return diags;
}

std::vector<Diagnostic> check_channels_against(const Config& config, const ChannelTable& live) {
  // A config's share of the service's table.
  auto table = std::make_unique<ChannelTable>(ChannelTable::kConfigChannels);
  NullSink sink;
  std::vector<Diagnostic> diags;
  Router router(config, *table, sink, &diags);
  if (!diags.empty()) return diags;  // the loader said these already
  const auto& slots = router.mapped_slots();
  const auto& marks = router.mapped_marks();
  std::size_t fresh = 0;
  Mark last{-1, -1};
  for (std::size_t k = 0; k < slots.size(); ++k) {
    const ChannelSlot& s = table->at(slots[k]);
    std::uint32_t at = live.find(s.name);
    if (at == kNoSlot) {
      ++fresh;
      continue;
    }
    ChannelType have = live.at(at).type;
    if (have == s.type.load() || (marks[k].line == last.line && marks[k].col == last.col)) continue;
    last = marks[k];
    diags.push_back({config.path, marks[k],
                     fmt::format("channel '{}' is a {} channel in the running service, and a "
                                 "channel keeps its type until the service restarts",
                                 s.name, type_word(have))});
  }
  if (diags.empty() && live.size() + fresh > ChannelTable::kCapacity)
    diags.push_back({config.path,
                     {},
                     fmt::format("the mappings add {} channels to the {} the running service "
                                 "holds, more than its table holds ({}); restart the service",
                                 fresh, live.size(), ChannelTable::kCapacity)});
  return diags;
}

}  // namespace csb
