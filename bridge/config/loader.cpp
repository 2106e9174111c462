#include "config/loader.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "config/channel_check.hpp"
#include "core/names.hpp"
#include "core/placeholder.hpp"
#include "core/text.hpp"

namespace csb {
namespace {

namespace fs = std::filesystem;

// yaml-cpp marks are 0-based; files and editors count from 1.
Mark to_mark(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

/// Where each document's first node starts, for the first few documents.
/// yaml-cpp 0.7's LoadAll never returns, allocating until memory runs out, on
/// a token no rule consumes (a `,` at the top: yaml-cpp#1040): each call then
/// gives another null document at the same place. Reading a bounded number of
/// documents with this handler, and seeing two start at one place, catches it.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark&) override { in_new_doc_ = true; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(m);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& m) {
    if (in_new_doc_) starts.push_back(m);
    in_new_doc_ = false;
  }
  bool in_new_doc_ = false;
};

/// Line and column (1-based) of byte `at` of `text`.
Mark mark_of(std::string_view text, std::size_t at) {
  Mark m{1, 1};
  for (std::size_t i = 0; i < at && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++m.line;
      m.col = 1;
    } else {
      ++m.col;
    }
  }
  return m;
}

/// A value read from the file, with the dotted path used in messages ("map[2].range").
struct Field {
  YAML::Node value;
  std::string path;
  Mark key;  ///< where the key is (for a list element: where the list is)

  // yaml-cpp gives an empty value the position of the next token, which may be
  // lines away, so a missing value is reported at its key.
  Mark at() const { return value.IsNull() ? key : to_mark(value.Mark()); }
  bool is_plain_scalar() const { return value.IsScalar() && value.Tag() == "?"; }
};

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar: {
      std::string s = n.Scalar();
      if (s.size() > 40) s = s.substr(0, 37) + "...";
      // A quoted "true" or "5" is a string to YAML; say so, or the message looks wrong.
      return (n.Tag() == "!" ? "a quoted string '" : "'") + s + "'";
    }
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

std::string join(const std::vector<std::string>& words, std::string_view sep = ", ") {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += sep;
    out += w;
  }
  return out;
}

std::vector<std::string> split_ws(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t b = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > b) out.emplace_back(s.substr(b, i - b));
  }
  return out;
}

/// A non-negative decimal integer, digits only (no sign, no exponent).
std::optional<int> parse_uint(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

/// `N` or an inclusive `N..M`; nullopt when it is neither.
std::optional<std::pair<int, int>> parse_span(std::string_view s) {
  auto dots = s.find("..");
  if (dots == std::string_view::npos) {
    auto n = parse_uint(s);
    if (!n) return std::nullopt;
    return std::pair{*n, *n};
  }
  auto lo = parse_uint(s.substr(0, dots));
  auto hi = parse_uint(s.substr(dots + 2));
  if (!lo || !hi) return std::nullopt;
  return std::pair{*lo, *hi};
}

std::string span_text(int lo, int hi, std::string_view prefix = "") {
  if (lo == hi) return fmt::format("{}{}", prefix, lo);
  return fmt::format("{}{}..{}{}", prefix, lo, prefix, hi);
}

/// The MIDI source words as a message lists them: "cc, cc14, ..., clock".
std::string midi_source_list() {
  std::string out;
  for (const SourceKindInfo& k : kSourceKinds) {
    if (k.family != SourceFamily::midi) continue;
    if (!out.empty()) out += ", ";
    out += k.word;
  }
  return out;
}

std::string source_word(SourceKind k) {
  return std::string(source_kind_info(k).description);
}

/// The text of `from` that names the numbers, as in "cc 0..7" or "A0..A5".
std::string source_span_text(const Source& s) {
  switch (s.kind) {
    case SourceKind::analog:
      return span_text(s.lo, s.hi, "A");
    case SourceKind::digital:
      return span_text(s.lo, s.hi, "D");
    case SourceKind::positional:
      return "index " + span_text(s.lo, s.hi);
    default:
      return source_word(s.kind) + " " + span_text(s.lo, s.hi);
  }
}

/// `{name}` placeholders of a template, in order. Sets `unclosed` on a `{` without `}`.
std::vector<std::string> find_placeholders(std::string_view t, bool& unclosed,
                                           std::string* literal = nullptr) {
  std::vector<std::string> out;
  unclosed = for_each_template_piece(t, [&](const TemplatePiece& p) {
               if (p.kind == TemplatePiece::Kind::placeholder)
                 out.emplace_back(p.text);
               else if (literal)
                 *literal += p.text;
             }) != std::string_view::npos;
  return out;
}

/// Why `path` is not a CSD Csound can read (empty when it is one): it cannot
/// be opened, or its first 64 KiB hold no <CsoundSynthesizer> element.
std::string not_a_csd(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fmt::format("cannot read the CSD {}: {}", path, std::strerror(errno));
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  if (head.find("<CsoundSynthesizer>") != std::string::npos) return {};
  return fmt::format(
      "{} is not a CSD: it has no <CsoundSynthesizer> element (csound.csd names a .csd file "
      "holding <CsInstruments>)",
      path);
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

/// Edits (insert, delete, replace, swap two neighbours) from a to b, ignoring case.
std::size_t typo_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// The word of `words` that `typo` most likely misspells; empty when none is close.
std::string closest_word(std::string_view typo, const std::vector<std::string>& words) {
  std::string best;
  std::size_t best_d = 0;
  for (const auto& w : words) {
    std::size_t d = typo_distance(typo, w);
    // One slip in any word; two in long words, where two slips still leave most of it.
    std::size_t limit = std::min(typo.size(), w.size()) >= 5 ? 2 : 1;
    if (d <= limit && (best.empty() || d < best_d)) {
      best = w;
      best_d = d;
    }
  }
  return best;
}

/// Walks the YAML tree once, filling a Config and collecting every problem on the way.
class Loader {
 public:
  Loader(std::string file, std::string base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  /// Parses and validates; throws ConfigError with every diagnostic found.
  Config load(std::string_view text) {
    Config cfg;
    cfg.path = file_;
    cfg.base_dir = base_dir_;
    YAML::Node root;
    std::optional<YAML::Mark> second_doc;
    if (text.size() > kMaxConfigBytes) {
      error({1, 1}, fmt::format("the file is {} bytes; a config may be at most {} (1 MiB)",
                                text.size(), kMaxConfigBytes));
    } else if (auto nul = text.find('\0'); nul != std::string_view::npos) {
      error(mark_of(text, nul),
            "the file holds a NUL byte: it is not a text file (a config is YAML text)");
    }
    if (diags_.empty()) try {
        // Not YAML::LoadAll: see DocumentStarts. Three documents are enough
        // to tell a second one from a token yaml-cpp is stuck on.
        std::string yaml(text);
        std::istringstream in(yaml);
        YAML::Parser parser(in);
        DocumentStarts docs;
        while (docs.starts.size() < 3 && parser.HandleNextDocument(docs)) {
        }
        const auto& st = docs.starts;
        auto stuck = std::adjacent_find(
            st.begin(), st.end(), [](const auto& a, const auto& b) { return a.pos == b.pos; });
        if (stuck != st.end()) {
          auto at = static_cast<std::size_t>(stuck->pos);
          char c = at < yaml.size() ? yaml[at] : '\0';
          error(to_mark(*stuck), std::isprint(static_cast<unsigned char>(c))
                                     ? fmt::format("YAML syntax error: unexpected '{}'", c)
                                     : std::string("YAML syntax error: unexpected character"));
        } else if (!st.empty()) {
          root = YAML::Load(yaml);
          if (st.size() > 1) second_doc = st[1];
        }
      } catch (const YAML::DeepRecursion& e) {
        error(to_mark(e.mark),
              "YAML nested too deeply here (lists and maps inside each other, more levels than "
              "yaml-cpp takes): a config needs four at most; look for a '[' or '{' repeated or "
              "never closed");
      } catch (const YAML::ParserException& e) {
        error(to_mark(e.mark), "YAML syntax error: " + e.msg);
      } catch (const YAML::Exception& e) {
        // yaml-cpp's guard against deep nesting, among others.
        error(to_mark(e.mark), "YAML error: " + e.msg);
      }
    if (diags_.empty()) {
      if (root.IsNull()) {
        error({1, 1}, "the file is empty; expected a map with at least 'csound:'");
      } else {
        if (second_doc)
          error(to_mark(*second_doc), "only one YAML document is allowed (remove the '---')");
        read_top(root, cfg);
        // What the channels of the entries that are right come to.
        for (auto& d : check_channels(cfg)) diags_.push_back(std::move(d));
      }
    }
    if (!diags_.empty()) {
      std::stable_sort(diags_.begin(), diags_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::pair(a.mark.line, a.mark.col) < std::pair(b.mark.line, b.mark.col);
      });
      throw ConfigError(std::move(diags_));
    }
    return cfg;
  }

  void error(Mark m, std::string msg) { diags_.push_back({file_, m, std::move(msg)}); }

 private:
  void fail(const Field& f, std::string_view msg) {
    error(f.at(), fmt::format("{}: {}", f.path, msg));
  }
  void fail_key(const Field& f, std::string_view msg) {
    error(f.key, fmt::format("{}: {}", f.path, msg));
  }

  // ---- maps ---------------------------------------------------------------

  /// The keys of one YAML map, checked against the keys allowed there. Unknown and
  /// duplicate keys are reported here, so readers only look up what they know.
  struct Section {
    bool is_map = false;
    Mark mark;
    std::string path;
    std::vector<std::pair<std::string, Field>> fields;  // in file order
    /// Allowed keys an unknown key was taken for ("did you mean"): a missing
    /// one of these was reported already, with the typo.
    std::vector<std::string> suggested;

    const Field* get(std::string_view key) const {
      for (const auto& [k, f] : fields)
        if (k == key) return &f;
      return nullptr;
    }
    bool suggests(std::string_view key) const { return contains(suggested, key); }
  };

  Section section(const Field& f, std::string_view where,
                  std::initializer_list<std::string_view> allowed) {
    Section s;
    s.path = f.path;
    s.mark = f.at();
    if (!f.value.IsMap()) {
      std::vector<std::string> keys(allowed.begin(), allowed.end());
      error(f.at(),
            fmt::format("{}expected a map of settings ({}), got {}",
                        f.path.empty() ? "" : f.path + ": ", join(keys), describe(f.value)));
      return s;
    }
    s.is_map = true;
    std::vector<std::pair<std::string, Mark>> unknown;
    for (auto it = f.value.begin(); it != f.value.end(); ++it) {
      // A copy: the iterator hands out a temporary pair, which a reference would outlive.
      const YAML::Node k = it->first;
      Mark km = to_mark(k.Mark());
      if (!k.IsScalar()) {
        error(km, fmt::format("keys must be words, got {} {}", describe(k), where));
        continue;
      }
      std::string name = k.Scalar();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        unknown.emplace_back(name, km);
        continue;
      }
      if (s.get(name)) {
        error(km, fmt::format("duplicate key '{}' {}", name, where));
        continue;
      }
      std::string path = f.path.empty() ? name : f.path + "." + name;
      s.fields.emplace_back(name, Field{it->second, path, km});
    }
    // Once every key is known: a typo is taken for a key the map does not have.
    std::vector<std::string> absent;
    for (std::string_view a : allowed)
      if (!s.get(a)) absent.emplace_back(a);
    for (const auto& [name, km] : unknown) {
      std::string guess = closest_word(name, absent);
      if (!guess.empty()) {
        s.suggested.push_back(guess);
        error(km, fmt::format("unknown key '{}' {}: did you mean '{}'?", name, where, guess));
      } else {
        std::vector<std::string> keys(allowed.begin(), allowed.end());
        error(km,
              fmt::format("unknown key '{}' {} (expected one of: {})", name, where, join(keys)));
      }
    }
    return s;
  }

  // ---- scalars --------------------------------------------------------------

  std::optional<std::string> string(const Field& f) {
    if (!f.value.IsScalar()) {
      fail(f, fmt::format("expected a string, got {}", describe(f.value)));
      return std::nullopt;
    }
    return f.value.Scalar();
  }

  std::optional<std::string> nonempty_string(const Field& f) {
    auto s = string(f);
    if (s && s->empty()) {
      fail(f, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<bool> boolean(const Field& f) {
    if (f.is_plain_scalar()) {
      std::string s = f.value.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    fail(f, fmt::format("expected true or false, got {}", describe(f.value)));
    return std::nullopt;
  }

  /// A finite number, written unquoted; `what` completes "expected ...".
  std::optional<double> number(const Field& f, std::string_view what = "a number") {
    if (f.is_plain_scalar())
      if (auto v = parse_number(f.value.Scalar())) return v;
    fail(f, fmt::format("expected {}, got {}", what, describe(f.value)));
    return std::nullopt;
  }

  /// A whole number in lo..hi, written unquoted.
  std::optional<long long> integer(const Field& f, long long lo, long long hi) {
    std::string what = fmt::format("a whole number {}..{}", lo, hi);
    if (f.is_plain_scalar()) {
      const std::string& s = f.value.Scalar();
      long long v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) {
        if (v >= lo && v <= hi) return v;
        fail(f, fmt::format("{} is out of range {}..{}", v, lo, hi));
        return std::nullopt;
      }
    }
    fail(f, fmt::format("expected {}, got {}", what, describe(f.value)));
    return std::nullopt;
  }

  /// A positive duration with a unit ("500us", "20ms", "1s", "1.5s", "2m").
  std::optional<std::chrono::nanoseconds> duration(const Field& f) {
    if (!f.value.IsScalar()) {
      fail(f, fmt::format("expected a duration like '500ms' or '1s', got {}", describe(f.value)));
      return std::nullopt;
    }
    const std::string& s = f.value.Scalar();
    if (auto d = parse_duration(s)) {
      if (d->count() > 0) return d;
      fail(f, fmt::format("must be longer than 0, got '{}'", s));
      return std::nullopt;
    }
    if (parse_number(s))
      fail(f, fmt::format("a duration needs a unit (us, ms, s, m): '{}ms' or '{}s'? got '{}'", s, s,
                          s));
    else
      fail(f, fmt::format("expected a duration like '500ms' or '1s', got '{}'", s));
    return std::nullopt;
  }

  /// One word out of a fixed set, mapped to its enum value.
  template <typename E>
  std::optional<E> choice(const Field& f,
                          std::initializer_list<std::pair<std::string_view, E>> words) {
    if (f.value.IsScalar())
      for (const auto& [w, e] : words)
        if (f.value.Scalar() == w) return e;
    std::vector<std::string> names;
    for (const auto& [w, e] : words) names.emplace_back(w);
    fail(f, fmt::format("expected one of {}, got {}", join(names, " | "), describe(f.value)));
    return std::nullopt;
  }

  /// The elements of a list (an empty value counts as an empty list).
  std::optional<std::vector<Field>> list(const Field& f, std::string_view what) {
    std::vector<Field> out;
    if (f.value.IsNull()) return out;
    if (!f.value.IsSequence()) {
      fail(f, fmt::format("expected a list of {}, got {}", what, describe(f.value)));
      return std::nullopt;
    }
    std::size_t i = 0;
    for (const auto& item : f.value) {
      // An empty element has no position of its own; yaml-cpp's is the nearest we have.
      Mark where = to_mark(item.Mark());
      out.push_back({item, fmt::format("{}[{}]", f.path, i++), where.line ? where : f.at()});
    }
    return out;
  }

  std::optional<std::vector<std::string>> string_list(const Field& f) {
    auto items = list(f, "strings");
    if (!items) return std::nullopt;
    std::vector<std::string> out;
    bool ok = true;
    for (const auto& it : *items) {
      if (auto s = string(it))
        out.push_back(*s);
      else
        ok = false;
    }
    if (!ok) return std::nullopt;
    return out;
  }

  /// `[lo, hi]`: two finite numbers.
  std::optional<std::pair<double, double>> number_pair(const Field& f) {
    const char* what = "a list of two numbers [lo, hi]";
    if (!f.value.IsSequence() || f.value.size() != 2) {
      fail(f, fmt::format("expected {}, got {}", what, describe(f.value)));
      return std::nullopt;
    }
    Field a{f.value[0], f.path, f.at()}, b{f.value[1], f.path, f.at()};
    auto lo = number(a, what);
    auto hi = number(b, what);
    if (!lo || !hi) return std::nullopt;
    return std::pair{*lo, *hi};
  }

  std::string resolve(const std::string& p) const {
    return (fs::path(base_dir_) / fs::path(p)).lexically_normal().string();
  }

  /// Reports a list over kMaxConfigEntries.
  bool too_many(const Field& f, std::size_t n, std::string_view what) {
    if (n <= kMaxConfigEntries) return false;
    fail(f, fmt::format("{} {}; a config may have at most {}", n, what, kMaxConfigEntries));
    return true;
  }

  // ---- sections -------------------------------------------------------------

  void read_top(const YAML::Node& root, Config& cfg) {
    Field top{root, "", to_mark(root.Mark())};
    if (!root.IsMap()) {
      error(top.at(), fmt::format("expected a map with at least 'csound:' at top level, got {}",
                                  describe(root)));
      return;
    }
    Section s = section(top, "at top level",
                        {"csound", "control", "scan", "midi", "devices", "map", "feedback"});
    if (auto f = s.get("csound"))
      read_csound(*f, cfg.csound);
    else if (!s.suggests("csound"))
      error(top.at(), "missing required section 'csound:' (with at least 'csd:')");
    if (auto f = s.get("control")) read_control(*f, cfg.control);
    if (auto f = s.get("scan"))
      if (auto d = duration(*f)) {
        // Looking for devices is a glob per device: a few times a second at most.
        if (*d < std::chrono::milliseconds(10))
          fail(*f, fmt::format("must be at least 10ms, got '{}'", f->value.Scalar()));
        else
          cfg.scan = *d;
      }
    if (auto f = s.get("midi")) {
      Section m = section(*f, "in midi section", {"api"});
      if (auto a = m.get("api"))
        if (auto v = choice<MidiApi>(
                *a,
                {{"auto", MidiApi::automatic}, {"alsa", MidiApi::alsa}, {"jack", MidiApi::jack}}))
          cfg.midi_api = *v;
    }
    if (auto f = s.get("devices")) read_devices(*f, cfg);
    if (auto f = s.get("map")) read_map(*f, cfg);
    if (auto f = s.get("feedback")) read_feedback(*f, cfg);
    check_firmata_pins(cfg);
  }

  /// A firmata pin is read (map) or written (feedback), not both: the
  /// board sets one mode a pin.
  void check_firmata_pins(const Config& cfg) {
    for (std::size_t k = 0; k < cfg.feedback.size(); ++k) {
      const Feedback& fb = cfg.feedback[k];
      if (fb.kind != FeedbackKind::firmata_digital && fb.kind != FeedbackKind::firmata_pwm &&
          fb.kind != FeedbackKind::firmata_servo)
        continue;
      bool clash = false;
      for (const Mapping& m : cfg.map) {
        const Source& src = m.from;
        if (src.device != fb.device || src.kind != SourceKind::digital || fb.number < src.lo ||
            fb.number > src.hi)
          continue;
        error(fb.mark, fmt::format("feedback[{}].to: pin {} of '{}' is read by the mapping at "
                                   "line {}: a firmata pin is an input or an output, not both",
                                   k, fb.number, fb.device, m.mark.line));
        clash = true;
        break;
      }
      for (std::size_t j = 0; j < k && !clash; ++j) {
        const Feedback& other = cfg.feedback[j];
        if (other.device != fb.device || other.number != fb.number || other.kind == fb.kind ||
            (other.kind != FeedbackKind::firmata_digital &&
             other.kind != FeedbackKind::firmata_pwm && other.kind != FeedbackKind::firmata_servo))
          continue;
        error(fb.mark,
              fmt::format("feedback[{}].to: pin {} of '{}' is written another way by the "
                          "feedback entry at line {}: a pin has one mode (D, PWM or SERVO)",
                          k, fb.number, fb.device, other.mark.line));
        clash = true;
      }
    }
  }

  void read_csound(const Field& f, CsoundConfig& cs) {
    Section s = section(f, "in csound section",
                        {"csd", "options", "on_exit", "restart_delay", "watch", "pacing"});
    if (!s.is_map) return;
    if (auto c = s.get("csd")) {
      if (auto p = nonempty_string(*c)) {
        cs.csd = resolve(*p);
        std::error_code ec;
        if (!fs::exists(cs.csd, ec))
          fail(*c, "CSD not found: " + cs.csd);
        else if (fs::is_directory(cs.csd, ec))
          fail(*c, "CSD is a directory, not a file: " + cs.csd);
        else if (auto why = not_a_csd(cs.csd); !why.empty())
          fail(*c, why);
      }
    } else if (!s.suggests("csd")) {
      error(f.key, "csound: missing required key 'csd' (the orchestra file)");
    }
    if (auto o = s.get("options")) read_options(*o, cs);
    if (auto o = s.get("on_exit"))
      if (auto v = choice<OnExit>(
              *o, {{"restart", OnExit::restart}, {"stop", OnExit::stop}, {"exit", OnExit::exit}}))
        cs.on_exit = *v;
    if (auto o = s.get("restart_delay"))
      if (auto d = duration(*o)) cs.restart_delay = *d;
    if (auto o = s.get("watch"))
      if (auto b = boolean(*o)) cs.watch = *b;
    if (auto o = s.get("pacing"))
      if (auto v = choice<bool>(*o, {{"auto", true}, {"none", false}})) cs.pace = *v;
  }

  /// Each entry one Csound flag: "-odac -b128" as one entry would make Csound
  /// write audio to a file named "dac -b128".
  void read_options(const Field& f, CsoundConfig& cs) {
    auto items = list(f, "Csound flags");
    if (!items) return;
    bool ok = true;
    for (const auto& it : *items) {
      auto s = string(it);
      if (!s) {
        ok = false;
        continue;
      }
      auto words = split_ws(*s);
      if (words.size() > 1) {
        std::vector<std::string> quoted;
        for (const auto& w : words) quoted.push_back(w);
        fail(it, fmt::format("'{}' is {} flags in one entry; write one flag an entry: [{}]", *s,
                             words.size(), join(quoted)));
        ok = false;
      } else if (words.empty() || (*s)[0] != '-') {
        fail(it, fmt::format("expected a Csound flag starting with '-' (like -odac or -b128), "
                             "got '{}'",
                             *s));
        ok = false;
      } else if (s->size() < 2) {
        fail(it, "a lone '-' is not a Csound flag");
        ok = false;
      } else {
        cs.options.push_back(*s);
        cs.option_marks.push_back(it.at());
      }
    }
    if (!ok) {
      cs.options.clear();
      cs.option_marks.clear();
    }
  }

  void read_control(const Field& f, ControlConfig& cc) {
    Section s = section(f, "in control section", {"socket", "mode"});
    if (auto o = s.get("socket"))
      if (auto p = nonempty_string(*o)) {
        cc.socket = resolve(*p);
        // sockaddr_un holds 108 bytes, its NUL included.
        if (cc.socket.size() > kMaxSocketPath)
          fail(*o, fmt::format("the socket path {} is {} bytes, and a Unix socket's path may be "
                               "at most {}: choose a shorter one (e.g. under /run)",
                               cc.socket, cc.socket.size(), kMaxSocketPath));
      }
    if (auto o = s.get("mode")) {
      // Always octal, quoted or not: YAML 1.2 would read a bare 0660 as decimal 660.
      if (o->value.IsScalar()) {
        const std::string& t = o->value.Scalar();
        bool octal = !t.empty() && t.size() <= 4 &&
                     std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '7'; });
        if (octal && t.size() == 4 && t[0] != '0') {
          // setuid, setgid and sticky bits mean nothing on a socket.
          fail(*o, fmt::format("'{}' sets setuid, setgid or sticky bits; a socket takes "
                               "permission bits only, 0..0777 like \"0660\"",
                               t));
          return;
        }
        if (octal) {
          cc.mode = static_cast<unsigned>(std::stoul(t, nullptr, 8));
          return;
        }
      }
      // A quoted mode is normal here, so don't call it "a quoted string".
      std::string got = o->value.IsScalar() ? "'" + o->value.Scalar() + "'" : describe(o->value);
      fail(*o, fmt::format("expected an octal file mode 0..0777 like \"0660\", got {}", got));
    }
  }

  void read_devices(const Field& f, Config& cfg) {
    if (f.value.IsNull()) return;
    if (!f.value.IsMap()) {
      fail(f, fmt::format("expected a map of device name -> settings, got {}", describe(f.value)));
      return;
    }
    if (too_many(f, f.value.size(), "devices")) return;
    std::set<std::string> seen;
    for (auto it = f.value.begin(); it != f.value.end(); ++it) {
      Mark km = to_mark(it->first.Mark());
      if (!it->first.IsScalar()) {
        error(km,
              fmt::format("devices: a device name must be a word, got {}", describe(it->first)));
        continue;
      }
      std::string name = it->first.Scalar();
      if (!seen.insert(name).second) {
        error(km, fmt::format("devices: duplicate device '{}'", name));
        continue;
      }
      if (!valid_device_name(name)) {
        error(km, fmt::format("devices: bad device name '{}' ({})", name, kDeviceNameRule));
        broken_devices_.insert(name);
        continue;
      }
      Field d{it->second, "devices." + name, km};
      if (auto dev = read_device(d, name))
        cfg.devices.push_back(std::move(*dev));
      else
        broken_devices_.insert(name);
    }
  }

  /// nullopt when the device kind is unknown (then mappings on it are not checked).
  std::optional<DeviceConfig> read_device(const Field& f, const std::string& name) {
    Section s = section(f, fmt::format("in device '{}'", name),
                        {"midi", "serial", "passthrough", "baud", "format", "columns", "max_line",
                         "flow", "dtr", "sampling"});
    if (!s.is_map) return std::nullopt;
    DeviceConfig d;
    d.name = name;
    d.mark = f.key;
    const Field* midi = s.get("midi");
    const Field* serial = s.get("serial");
    if (!midi && !serial) {
      if (!s.suggests("midi") && !s.suggests("serial"))
        error(f.key,
              fmt::format("{}: needs either 'midi:' (port-name glob) or 'serial:' (path glob)",
                          f.path));
      return std::nullopt;
    }
    if (midi && serial) {
      const Field* second = midi->key.line > serial->key.line ? midi : serial;
      fail_key(*second, "a device is either 'midi:' or 'serial:', not both");
      return std::nullopt;
    }
    bool ok = true;
    bool glob_ok = true;
    const Field& glob = midi ? *midi : *serial;
    d.kind = midi ? DeviceKind::midi : DeviceKind::serial;
    if (auto g = nonempty_string(glob)) {
      // fnmatch and glob(3) take a broken pattern without a word, and match
      // nothing or a literal '[': a device that never appears, and no reason why.
      if (auto why = glob_problem(*g); !why.empty()) {
        fail(glob, fmt::format("invalid glob '{}': {}", *g, why));
        glob_ok = false;
      } else {
        d.glob = midi ? *g : resolve(*g);
      }
    }
    // The format decides which other keys apply, so read it first.
    if (auto o = s.get("format")) {
      if (midi) {
        fail_key(*o, "only for serial devices");
      } else if (auto v = choice<SerialFormat>(*o, {{"lines", SerialFormat::lines},
                                                    {"midi", SerialFormat::midi},
                                                    {"firmata", SerialFormat::firmata}})) {
        d.format = *v;
      } else {
        ok = false;  // unknown format: the format-specific checks would only mislead
      }
    }
    bool lines = serial && d.format == SerialFormat::lines;
    for (const char* key : {"baud", "flow", "dtr"})
      if (auto o = s.get(key); o && midi) fail_key(*o, "only for serial devices");
    if (auto o = s.get("passthrough")) {
      if (!d.speaks_midi() && ok)
        fail_key(*o, "only for MIDI devices and serial devices with format: midi");
      else if (auto b = boolean(*o))
        d.passthrough = *b;
    }
    if (serial && d.format == SerialFormat::firmata) d.baud = 57600;  // StandardFirmata's
    if (auto o = s.get("baud"); o && serial)
      if (auto v = integer(*o, 1, 4000000)) d.baud = static_cast<unsigned>(*v);
    if (auto o = s.get("sampling")) {
      if (!(serial && d.format == SerialFormat::firmata) && ok) {
        fail_key(*o, "only for serial devices with format: firmata");
      } else if (auto v = duration(*o)) {
        // Firmata carries whole milliseconds, 14 bits of them.
        const auto ms = std::chrono::round<std::chrono::milliseconds>(*v).count();
        if (ms < 1 || ms > 16383)
          fail(*o, fmt::format("must be 1ms..16383ms (what Firmata carries), got '{}'",
                               o->value.Scalar()));
        else
          d.sampling_ms = static_cast<unsigned>(ms);
      }
    }
    if (auto o = s.get("flow"); o && serial)
      if (auto v = choice<Flow>(*o, {{"none", Flow::none}, {"rtscts", Flow::rtscts}})) d.flow = *v;
    if (auto o = s.get("dtr"); o && serial)
      if (auto b = boolean(*o)) d.dtr = *b;
    if (auto o = s.get("columns")) {
      if (!lines && ok) {
        fail_key(*o, "only for serial devices with format: lines");
      } else if (auto items = list(*o, "column names")) {
        std::set<std::string> names;
        for (const auto& it : *items) {
          auto c = string(it);
          if (!c) continue;
          if (!valid_value_name(*c))
            fail(it, fmt::format("bad column name '{}' ({})", *c, kValueNameRule));
          else if (!names.insert(*c).second)
            fail(it, fmt::format("duplicate column name '{}'", *c));
          else
            d.columns.push_back(*c);
        }
      }
    }
    if (auto o = s.get("max_line")) {
      if (!lines && ok)
        fail_key(*o, "only for serial devices with format: lines");
      else if (auto v = integer(*o, 16, 65536))
        d.max_line = static_cast<std::size_t>(*v);
    }
    if (!ok || !glob_ok) return std::nullopt;
    return d;
  }

  // ---- map ------------------------------------------------------------------

  void read_map(const Field& f, Config& cfg) {
    auto items = list(f, "mappings");
    if (!items || too_many(f, items->size(), "mappings")) return;
    for (const auto& it : *items)
      if (auto m = read_mapping(it, cfg)) cfg.map.push_back(std::move(*m));
  }

  /// Finds the device of a `from`/`to`; reports an unknown one at the value.
  const DeviceConfig* lookup_device(const Config& cfg, const Field& f, const std::string& name) {
    if (auto d = cfg.find_device(name)) return d;
    // A device with errors of its own was reported already; don't pile on.
    if (broken_devices_.count(name)) return nullptr;
    std::vector<std::string> names;
    for (const auto& d : cfg.devices) names.push_back(d.name);
    fail(f, fmt::format("unknown device '{}' (devices: {})", name,
                        names.empty() ? "none defined" : join(names)));
    return nullptr;
  }

  /// `DEVICE SOURCE [ch N | ch N..M]` (SPEC §3.1). nullopt after reporting a problem.
  std::optional<Source> parse_source(const Field& f, const Config& cfg) {
    auto text = string(f);
    if (!text) return std::nullopt;
    auto tok = split_ws(*text);
    if (tok.size() < 2) {
      fail(f, fmt::format("expected 'DEVICE SOURCE [ch N]', got '{}'", *text));
      return std::nullopt;
    }
    const DeviceConfig* dev = lookup_device(cfg, f, tok[0]);
    if (!dev) return std::nullopt;
    Source src;
    src.device = dev->name;
    if (dev->speaks_midi()) return parse_midi_source(f, *dev, tok, src);
    if (dev->format == SerialFormat::firmata) return parse_firmata_source(f, *dev, tok, src);
    return parse_lines_source(f, *dev, tok, src);
  }

  std::optional<Source> parse_midi_source(const Field& f, const DeviceConfig& dev,
                                          const std::vector<std::string>& tok, Source src) {
    const SourceKindInfo* w = find_midi_source(tok[1]);
    if (!w) {
      fail(f, fmt::format("device '{}' speaks MIDI; expected one of {}, got '{}'", dev.name,
                          midi_source_list(), tok[1]));
      return std::nullopt;
    }
    src.kind = w->kind;
    std::size_t i = 2;
    if (w->takes_number()) {
      if (i >= tok.size() || tok[i] == "ch") {
        fail(f, fmt::format("{} needs a number N or range N..M (0..{})", w->word, w->max_number));
        return std::nullopt;
      }
      auto span = parse_span(tok[i]);
      if (!span) {
        fail(f, fmt::format("expected a {} number N or range N..M, got '{}'", w->word, tok[i]));
        return std::nullopt;
      }
      if (span->first > span->second) {
        fail(f, fmt::format("range {} is backwards: the first number must not exceed the second",
                            tok[i]));
        return std::nullopt;
      }
      if (span->second > w->max_number) {
        fail(f, fmt::format("{} number {} is out of range 0..{}", w->word, span->second,
                            w->max_number));
        return std::nullopt;
      }
      src.lo = span->first;
      src.hi = span->second;
      src.has_number = true;
      ++i;
    } else if (i < tok.size() && tok[i] != "ch") {
      fail(f, fmt::format("{} takes no number, got '{}'", w->word, tok[i]));
      return std::nullopt;
    }
    if (i < tok.size() && tok[i] == "ch") {
      if (!w->has_channel) {
        fail(f, fmt::format("{} has no MIDI channel: drop 'ch'", w->word));
        return std::nullopt;
      }
      if (i + 1 >= tok.size()) {
        fail(f, "'ch' needs a channel N or range N..M (1..16)");
        return std::nullopt;
      }
      auto span = parse_span(tok[i + 1]);
      if (!span) {
        fail(f,
             fmt::format("expected a MIDI channel N or range N..M (1..16), got '{}'", tok[i + 1]));
        return std::nullopt;
      }
      if (span->first < 1 || span->second > 16 || span->first > span->second) {
        fail(f, fmt::format("MIDI channel {} is out of range 1..16", tok[i + 1]));
        return std::nullopt;
      }
      src.midi_channel_lo = span->first - 1;  // 0-based from here on
      src.midi_channel_hi = span->second - 1;
      i += 2;
    }
    if (i < tok.size()) {
      fail(f, fmt::format("unexpected '{}' after the source (expected 'DEVICE SOURCE [ch N]')",
                          tok[i]));
      return std::nullopt;
    }
    return src;
  }

  std::optional<Source> parse_lines_source(const Field& f, const DeviceConfig& dev,
                                           const std::vector<std::string>& tok, Source src) {
    const std::string& s = tok[1];
    if (tok.size() > 2) {
      if (find_midi_source(s))
        fail(f, fmt::format("device '{}' is a serial 'lines' device: its sources are NAME, INDEX "
                            "or *, not MIDI '{}'",
                            dev.name, s));
      else
        fail(f, fmt::format("unexpected '{}' after '{}' (a lines source is NAME, INDEX or *)",
                            tok[2], s));
      return std::nullopt;
    }
    if (s == "*") {
      src.kind = SourceKind::wildcard;
      return src;
    }
    if (std::isdigit(static_cast<unsigned char>(s[0]))) {
      auto span = parse_span(s);
      if (!span) {
        fail(f, fmt::format("expected a positional index N or range N..M, got '{}'", s));
        return std::nullopt;
      }
      if (span->first > span->second) {
        fail(f,
             fmt::format("range {} is backwards: the first number must not exceed the second", s));
        return std::nullopt;
      }
      const int max = source_kind_info(SourceKind::positional).max_number;
      if (span->second > max) {
        fail(f, fmt::format("positional index {} is out of range 0..{}", span->second, max));
        return std::nullopt;
      }
      src.kind = SourceKind::positional;
      src.lo = span->first;
      src.hi = span->second;
      src.has_number = true;
      return src;
    }
    if (!valid_value_name(s)) {
      fail(f, fmt::format("bad value name '{}' ({}), an index N, or *", s, kValueNameRule));
      return std::nullopt;
    }
    src.kind = SourceKind::named;
    src.name = s;
    return src;
  }

  std::optional<Source> parse_firmata_source(const Field& f, const DeviceConfig& dev,
                                             const std::vector<std::string>& tok, Source src) {
    const std::string& s = tok[1];
    auto bad = [&] {
      fail(f, fmt::format("device '{}' speaks firmata; expected A0..A15 (analog), D0..D53 "
                          "(digital) or a range like A0..A5, got '{}'",
                          dev.name, join(std::vector(tok.begin() + 1, tok.end()), " ")));
      return std::nullopt;
    };
    if (tok.size() > 2 || (s[0] != 'A' && s[0] != 'D')) return bad();
    char letter = s[0];
    std::optional<std::pair<int, int>> span;
    auto dots = s.find("..");
    if (dots == std::string::npos) {
      span = parse_span(s.substr(1));
    } else if (dots + 2 < s.size() && s[dots + 2] == letter) {
      auto lo = parse_uint(std::string_view(s).substr(1, dots - 1));
      auto hi = parse_uint(std::string_view(s).substr(dots + 3));
      if (lo && hi) span = std::pair{*lo, *hi};
    }
    if (!span) return bad();
    const SourceKind kind = letter == 'A' ? SourceKind::analog : SourceKind::digital;
    const int max = source_kind_info(kind).max_number;
    if (span->first > span->second) {
      fail(f, fmt::format("range {} is backwards: the first pin must not exceed the second", s));
      return std::nullopt;
    }
    if (span->second > max) {
      fail(f, fmt::format("pin {}{} is out of range {}0..{}{}", letter, span->second, letter,
                          letter, max));
      return std::nullopt;
    }
    src.kind = kind;
    src.lo = span->first;
    src.hi = span->second;
    src.has_number = true;
    return src;
  }

  /// Checks a template's placeholders against those this source provides.
  bool check_placeholders(const Field& f, const std::vector<std::string>& found, const Source& src,
                          std::initializer_list<std::string_view> kinds) {
    const bool has_channel = source_kind_info(src.kind).has_channel;
    std::vector<std::string> known(kinds.begin(), kinds.end());
    for (const auto& p : found) {
      std::string ph = "{" + p + "}";
      if (!contains(known, p)) {
        std::vector<std::string> list;
        for (const auto& k : known) list.push_back("{" + k + "}");
        fail(f, fmt::format("unknown placeholder '{}' (known: {})", ph, join(list, " ")));
        return false;
      }
      if ((p == "i" || p == "n") && !src.has_number) {
        fail(f, fmt::format("'{}' needs a number in from (this {} source has none)", ph,
                            source_word(src.kind)));
        return false;
      }
      if (p == "ch" && !has_channel) {
        fail(f, fmt::format("'{{ch}}' only works on MIDI sources with a channel, not on {}",
                            source_word(src.kind)));
        return false;
      }
      if (p == "name" && src.kind != SourceKind::wildcard) {
        fail(f, "'{name}' only works with a '*' source");
        return false;
      }
    }
    return true;
  }

  void check_to(const Field& f, const std::string& to, const Source* src) {
    bool unclosed = false;
    std::string literal;
    auto found = find_placeholders(to, unclosed, &literal);
    if (unclosed) {
      fail(f, fmt::format("unclosed '{{' in channel name '{}'", to));
      return;
    }
    if (!std::all_of(literal.begin(), literal.end(), is_name_char)) {
      fail(f,
           fmt::format("bad channel name '{}': letters, digits, _ . - and placeholders only", to));
      return;
    }
    if (literal.empty() && found.empty()) {
      fail(f, "channel name is empty");
      return;
    }
    // Without placeholders the name is the channel's; with them, only its
    // first character is known here.
    if ((found.empty() && !valid_channel_name(to)) ||
        (!to.empty() && to[0] != '{' && !is_name_start(to[0]))) {
      fail(f, fmt::format("bad channel name '{}': {}", to, kChannelNameRule));
      return;
    }
    if (!src) return;
    if (!check_placeholders(f, found, *src, {"i", "n", "ch", "name"})) return;
    if (src->has_number && src->hi > src->lo && !contains(found, "i") && !contains(found, "n"))
      fail(f, fmt::format("range {} would write every number into one channel '{}'; use {{i}} or "
                          "{{n}}",
                          source_span_text(*src), to));
    else if (src->kind == SourceKind::wildcard && !contains(found, "name"))
      fail(f, fmt::format("a '*' source needs '{{name}}' in to, got '{}'", to));
  }

  std::optional<Mapping> read_mapping(const Field& f, const Config& cfg) {
    Section s = section(
        f, "in map entry",
        {"from", "to", "do", "score", "in", "range", "curve", "invert", "value", "type", "mode"});
    if (!s.is_map) return std::nullopt;
    Mapping m;
    m.mark = f.at();
    std::optional<Source> src;
    if (auto from = s.get("from")) {
      src = parse_source(*from, cfg);
      if (src) m.from = *src;
    } else if (!s.suggests("from")) {
      error(m.mark, fmt::format("{}: missing required key 'from'", f.path));
    }
    // Without a valid source the rest is still checked, only less precisely (sp == nullptr).
    const Source* sp = src ? &*src : nullptr;
    bool ok = sp != nullptr;
    std::string target = read_target(s, f, sp, m, ok);
    if (auto o = s.get("mode")) {
      // pullup: a firmata digital input with the pin's pull-up on (INPUT_PULLUP).
      if (auto v = choice<bool>(*o, {{"pullup", true}})) {
        if (sp && sp->kind != SourceKind::digital) {
          fail(*o, fmt::format("pullup is only for firmata digital pins (D0..D53), not for {} "
                               "sources",
                               source_word(sp->kind)));
          ok = false;
        }
        m.pullup = *v;
      } else {
        ok = false;
      }
    }
    if (target == "do") {
      not_with(s, "do: (an action has no value)",
               {"in", "range", "curve", "invert", "value", "type"}, ok);
    } else {
      if (auto o = s.get("type")) read_type(*o, s, sp, target, m, ok);
      if (!m.is_string) read_scaling(s, sp, m, ok);
    }
    if (!ok) return std::nullopt;
    return m;
  }

  /// Reports each of `keys` present in the entry: they mean nothing together with `why`.
  void not_with(const Section& s, std::string_view why, std::initializer_list<const char*> keys,
                bool& ok) {
    for (const char* k : keys)
      if (auto o = s.get(k)) {
        fail_key(*o, fmt::format("not allowed with {}", why));
        ok = false;
      }
  }

  /// Reads the one of to / do / score the entry has; returns its key ("" if none).
  std::string read_target(const Section& s, const Field& f, const Source* sp, Mapping& m,
                          bool& ok) {
    // Exactly one target; the second one written is the one reported.
    const Field* target = nullptr;
    std::string key;
    for (const auto& [k, fld] : s.fields) {
      if (k != "to" && k != "do" && k != "score") continue;
      if (target) {
        fail_key(fld, fmt::format("use only one of to, do, score (already has '{}')", key));
        ok = false;
        continue;
      }
      target = &fld;
      key = k;
    }
    if (!target) {
      if (sp && sp->kind == SourceKind::wildcard) {
        m.to = "{name}";
      } else {
        if (!s.suggests("to") && !s.suggests("do") && !s.suggests("score"))
          error(m.mark,
                fmt::format("{}: needs one of to (a channel), do (an action) or score", f.path));
        ok = false;
      }
      return key;
    }
    if (key == "to") {
      auto t = string(*target);
      std::size_t before = diags_.size();
      if (t) {
        m.to = *t;
        check_to(*target, *t, sp);
      }
      ok = ok && t && diags_.size() == before;
      return key;
    }
    if (sp && !source_kind_info(sp->kind).rising_edge) {
      fail_key(*target, fmt::format("{} has no rising edge; {}: works on note, cc, program, "
                                    "lines values and firmata digital pins",
                                    source_word(sp->kind), key));
      ok = false;
    }
    if (key == "do") {
      auto a = choice<Action>(*target, {{"reset", Action::reset},
                                        {"reload", Action::reload},
                                        {"pause", Action::pause},
                                        {"resume", Action::resume},
                                        {"toggle_pause", Action::toggle_pause}});
      if (a) m.action = *a;
      ok = ok && a;
      return key;
    }
    auto t = nonempty_string(*target);
    if (!t) {
      ok = false;
      return key;
    }
    m.score = *t;
    bool unclosed = false;
    auto found = find_placeholders(*t, unclosed);
    if (unclosed) {
      fail(*target, "unclosed '{' in score template");
      ok = false;
    } else if (sp && !check_placeholders(*target, found, *sp, {"value", "n", "i", "ch"})) {
      ok = false;
    }
    return key;
  }

  /// `type: string`: the text as sent goes to a string channel (lines sources only).
  void read_type(const Field& o, const Section& s, const Source* sp, const std::string& target,
                 Mapping& m, bool& ok) {
    auto v = string(o);
    if (!v) {
      ok = false;
    } else if (*v != "string") {
      fail(o, fmt::format("the only type is 'string', got '{}'", *v));
      ok = false;
    } else if (sp && source_kind_info(sp->kind).family != SourceFamily::lines) {
      fail_key(o, "type: string only works on serial lines sources");
      ok = false;
    } else if (target == "score") {
      fail_key(o, "type: string needs 'to:' (a string channel)");
      ok = false;
    } else {
      m.is_string = true;
      not_with(s, "type: string (the text is passed as sent)",
               {"in", "range", "curve", "invert", "value"}, ok);
    }
  }

  /// in, range, curve, invert and value: how a number becomes the channel value.
  void read_scaling(const Section& s, const Source* sp, Mapping& m, bool& ok) {
    if (auto o = s.get("in")) {
      if (auto p = number_pair(*o)) {
        if (p->first == p->second) {
          fail(*o, "the two bounds must differ");
          ok = false;
        }
        m.in = *p;
      } else {
        ok = false;
      }
    }
    if (sp && sp->kind == SourceKind::bend) m.range = {-1.0, 1.0};
    bool range_ok = true;  // a bad range is not blamed on the curve too
    if (auto o = s.get("range")) {
      if (o->value.IsScalar() && o->value.Scalar() == "raw") {
        m.range_raw = true;
        not_with(s, "range: raw (the raw value passes unchanged)", {"in", "curve", "invert"}, ok);
      } else if (o->value.IsSequence()) {
        if (auto p = number_pair(*o))
          m.range = *p;
        else
          range_ok = false;
      } else {
        fail(*o, fmt::format("expected a list of two numbers [lo, hi] or raw, got {}",
                             describe(o->value)));
        range_ok = false;
      }
      ok = ok && range_ok;
    }
    if (auto o = s.get("curve"); o && !m.range_raw) {
      std::optional<double> p;
      if (o->is_plain_scalar()) p = parse_number(o->value.Scalar());
      if (p) {
        if (*p > 0) {
          m.curve = Curve::power;
          m.power = *p;
        } else {
          fail(*o, fmt::format("a power curve needs a number > 0, got {}", o->value.Scalar()));
          ok = false;
        }
      } else {
        std::string w = o->value.IsScalar() ? o->value.Scalar() : "";
        if (w == "lin" || w == "exp" || w == "log") {
          m.curve = w == "lin" ? Curve::lin : w == "exp" ? Curve::exp : Curve::log;
        } else {
          fail(*o, fmt::format("expected lin | exp | log, or a number p > 0 for x^p (like 2 or "
                               "0.5), got {}",
                               describe(o->value)));
          ok = false;
        }
      }
      if (m.curve == Curve::exp && range_ok && (m.range.first <= 0 || m.range.second <= 0)) {
        fail(*o, fmt::format("exp needs lo·(hi/lo)^x with both range bounds > 0, but range is "
                             "[{}, {}]",
                             format_shortest(m.range.first), format_shortest(m.range.second)));
        ok = false;
      }
    }
    if (auto o = s.get("invert"); o && !m.range_raw) {
      auto b = boolean(*o);
      if (b) m.invert = *b;
      ok = ok && b;
    }
    if (auto o = s.get("value")) {
      auto v = choice<ValueMode>(*o, {{"velocity", ValueMode::velocity},
                                      {"gate", ValueMode::gate},
                                      {"toggle", ValueMode::toggle}});
      if (!v) {
        ok = false;
        return;
      }
      m.value = *v;
      // velocity is the default for notes, so saying it on a cc is a mistake, not a no-op.
      // A lines button (a trigger word, or a value rising through 0.5) may toggle too.
      bool toggles = sp && (sp->kind == SourceKind::cc || sp->kind == SourceKind::named ||
                            sp->kind == SourceKind::positional);
      bool fits = !sp || sp->kind == SourceKind::note || (toggles && *v == ValueMode::toggle);
      if (!fits) {
        fail(*o, fmt::format("{} does not work on a {} source ({})", o->value.Scalar(),
                             source_word(sp->kind),
                             toggles ? "it takes only toggle"
                                     : "velocity, gate and toggle are for note; toggle also for "
                                       "cc and lines values"));
        ok = false;
      }
    }
  }

  // ---- feedback -------------------------------------------------------------

  void read_feedback(const Field& f, Config& cfg) {
    auto items = list(f, "feedback entries");
    if (!items || too_many(f, items->size(), "feedback entries")) return;
    for (const auto& it : *items)
      if (auto fb = read_feedback_entry(it, cfg)) cfg.feedback.push_back(std::move(*fb));
  }

  /// `to:` of a feedback entry; fills device, kind, number, midi_channel. False after reporting.
  bool parse_feedback_target(const Field& f, const Config& cfg, Feedback& fb,
                             const DeviceConfig*& dev) {
    auto text = string(f);
    if (!text) return false;
    auto tok = split_ws(*text);
    if (tok.empty()) {
      fail(f, "expected 'DEVICE cc N [ch C]', 'DEVICE note N', 'DEVICE' or 'DEVICE D13'");
      return false;
    }
    dev = lookup_device(cfg, f, tok[0]);
    if (!dev) return false;
    fb.device = dev->name;
    if (dev->speaks_midi()) {
      const char* usage =
          "expected 'DEVICE cc N [ch C]', 'DEVICE cc14 N [ch C]' or 'DEVICE note N [ch C]'";
      if (tok.size() < 3) {
        fail(f, fmt::format("device '{}' speaks MIDI: {}", dev->name, usage));
        return false;
      }
      int max = 127;
      if (tok[1] == "cc") {
        fb.kind = FeedbackKind::midi_cc;
      } else if (tok[1] == "cc14") {
        fb.kind = FeedbackKind::midi_cc14;
        max = 31;
      } else if (tok[1] == "note") {
        fb.kind = FeedbackKind::midi_note;
      } else {
        fail(f, fmt::format("device '{}' speaks MIDI: {}, got '{}'", dev->name, usage, tok[1]));
        return false;
      }
      auto n = parse_uint(tok[2]);
      if (!n || *n > max) {
        fail(f, fmt::format("{} number must be 0..{}, got '{}'", tok[1], max, tok[2]));
        return false;
      }
      fb.number = *n;
      std::size_t i = 3;
      if (i < tok.size() && tok[i] == "ch") {
        auto c = i + 1 < tok.size() ? parse_uint(tok[i + 1]) : std::nullopt;
        if (!c || *c < 1 || *c > 16) {
          fail(f, fmt::format("MIDI channel must be one number 1..16, got '{}'",
                              i + 1 < tok.size() ? tok[i + 1] : ""));
          return false;
        }
        fb.midi_channel = *c - 1;  // 0-based from here on
        i += 2;
      }
      if (i < tok.size()) {
        fail(f, fmt::format("unexpected '{}' ({})", tok[i], usage));
        return false;
      }
      return true;
    }
    if (dev->format == SerialFormat::firmata) {
      const std::string t = tok.size() == 2 ? tok[1] : "";
      std::optional<int> pin;
      if (t.rfind("PWM", 0) == 0) {
        fb.kind = FeedbackKind::firmata_pwm;
        pin = parse_uint(std::string_view(t).substr(3));
      } else if (t.rfind("SERVO", 0) == 0) {
        fb.kind = FeedbackKind::firmata_servo;
        pin = parse_uint(std::string_view(t).substr(5));
      } else if (t.rfind("D", 0) == 0) {
        fb.kind = FeedbackKind::firmata_digital;
        pin = parse_uint(std::string_view(t).substr(1));
      }
      if (!pin || *pin >= kFirmataDigitalPins) {
        fail(f, fmt::format("device '{}' speaks firmata: expected 'DEVICE D0'..'D53', "
                            "'DEVICE PWM0'..'PWM53' or 'DEVICE SERVO0'..'SERVO53', got '{}'",
                            dev->name, *text));
        return false;
      }
      fb.number = *pin;
      return true;
    }
    fb.kind = FeedbackKind::line;
    if (tok.size() != 1) {
      fail(f, fmt::format("device '{}' is a serial 'lines' device: write just 'to: {}' and a "
                          "'line:' template, got '{}'",
                          dev->name, dev->name, *text));
      return false;
    }
    return true;
  }

  std::optional<Feedback> read_feedback_entry(const Field& f, const Config& cfg) {
    Section s = section(f, "in feedback entry", {"from", "to", "range", "rate", "line"});
    if (!s.is_map) return std::nullopt;
    Feedback fb;
    fb.mark = f.at();
    bool ok = true;
    if (auto o = s.get("from")) {
      auto c = string(*o);
      if (c && !valid_channel_name(*c)) {
        fail(*o, fmt::format("bad channel name '{}': {}", *c, kChannelNameRule));
        ok = false;
      } else if (c) {
        fb.channel = *c;
      } else {
        ok = false;
      }
    } else {
      if (!s.suggests("from"))
        error(fb.mark,
              fmt::format("{}: missing required key 'from' (the channel to send)", f.path));
      ok = false;
    }
    const DeviceConfig* dev = nullptr;
    bool target_ok = false;
    if (auto o = s.get("to")) {
      target_ok = parse_feedback_target(*o, cfg, fb, dev);
    } else if (!s.suggests("to")) {
      error(fb.mark, fmt::format("{}: missing required key 'to' (the device and where)", f.path));
    }
    ok = ok && target_ok;
    bool lines = target_ok && fb.kind == FeedbackKind::line;
    if (auto o = s.get("range")) {
      if (lines) {
        fail_key(*o, "only for MIDI and firmata targets (cc, cc14, note, D, PWM, SERVO)");
        ok = false;
      } else if (auto p = number_pair(*o)) {
        if (p->first == p->second) {
          fail(*o, "the two bounds must differ");
          ok = false;
        }
        fb.range = *p;
      } else {
        ok = false;
      }
    }
    if (auto o = s.get("rate")) {
      if (auto r = number(*o, "a number of sends a second >= 0"); r && *r >= 0)
        fb.rate = *r;
      else {
        if (r) fail(*o, fmt::format("must be >= 0 (0 sends every change), got {}", *r));
        ok = false;
      }
    }
    if (auto o = s.get("line")) {
      if (target_ok && !lines) {
        fail_key(*o, "only for serial 'lines' devices");
        ok = false;
      } else if (auto t = nonempty_string(*o)) {
        fb.line = *t;
        bool unclosed = false;
        auto found = find_placeholders(*t, unclosed);
        if (unclosed) {
          fail(*o, "unclosed '{' in line template");
          ok = false;
        }
        for (const auto& p : found)
          if (p != "name" && !parse_value_placeholder(p)) {
            fail(*o, fmt::format("unknown placeholder '{{{}}}' (known: {{value}}, {{value:d}} "
                                 "rounded to an integer, {{value:.2f}} with 2 decimals, {{name}})",
                                 p));
            ok = false;
            break;
          }
      } else {
        ok = false;
      }
    } else if (lines && !s.suggests("line")) {
      error(fb.mark, fmt::format("{}: a lines device needs a 'line:' template, e.g. "
                                 "line: \"{}={{value}}\"",
                                 f.path, fb.channel.empty() ? "name" : fb.channel));
      ok = false;
    } else if (lines) {
      ok = false;
    }
    if (!ok) return std::nullopt;
    return fb;
  }

  std::string file_;
  std::string base_dir_;
  std::vector<Diagnostic> diags_;
  std::set<std::string> broken_devices_;
};

std::string absolute_dir(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir.empty() ? fs::path(".") : fs::path(dir), ec);
  return p.lexically_normal().string();
}

}  // namespace

Config load_config_text(std::string_view yaml, const std::string& file,
                        const std::string& base_dir) {
  Loader loader(file, absolute_dir(base_dir));
  return loader.load(yaml);
}

Config load_config_file(const std::string& path) {
  std::error_code ec;
  std::string problem;
  if (fs::is_directory(path, ec)) problem = "is a directory";
  std::ifstream in;
  if (problem.empty()) {
    in.open(path, std::ios::binary);
    if (!in) problem = std::strerror(errno);
  }
  std::ostringstream text;
  if (problem.empty()) {
    text << in.rdbuf();
    if (in.bad()) problem = std::strerror(errno);
  }
  if (!problem.empty())
    throw ConfigError({Diagnostic{path, {}, fmt::format("cannot read {}: {}", path, problem)}});
  fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
  return load_config_text(text.str(), path, dir.string());
}

}  // namespace csb
