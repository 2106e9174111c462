#include "app/state_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace csb {

namespace fs = std::filesystem;

std::string StateStore::default_dir() {
  if (const char* d = std::getenv("STATE_DIRECTORY"); d && *d) {
    std::string dir(d);
    return dir.substr(0, dir.find(':'));
  }
  if (const char* d = std::getenv("XDG_STATE_HOME"); d && *d) return std::string(d) + "/csbridge";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.local/state/csbridge";
  return {};
}

StateStore::StateStore(std::string dir) : dir_(std::move(dir)) {
  if (!dir_.empty()) path_ = dir_ + "/values.json";
}

StateStore::~StateStore() {
  {
    std::lock_guard lk(mu_);
    quit_ = true;
    pending_.reset();
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

StateStore::Values StateStore::load(std::string& error) const {
  error.clear();
  auto empty = Values::object();
  if (path_.empty()) return empty;
  std::error_code ec;
  if (!fs::exists(path_, ec)) return empty;  // nothing kept yet
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    error = fmt::format("cannot read {}", path_);
    return empty;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto j = Values::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("values") || !j["values"].is_object()) {
    error = fmt::format("{} is not a csbridge values file; ignored", path_);
    return empty;
  }
  return j["values"];
}

namespace {
bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}
}  // namespace

std::string StateStore::text_of(const Values& values) {
  Values doc{{"csbridge", "channel values"}, {"values", values}};
  return doc.dump(1, ' ', false, Values::error_handler_t::replace) + "\n";
}

bool StateStore::save(const Values& values, std::string& error) {
  {
    std::lock_guard lk(mu_);
    pending_.reset();
  }
  return write(text_of(values), error);
}

void StateStore::save_async(const Values& values) {
  if (path_.empty()) return;
  std::string text = text_of(values);
  {
    std::lock_guard lk(mu_);
    pending_ = std::move(text);
    if (!writer_.joinable()) writer_ = std::thread([this] { writer_loop(); });
  }
  cv_.notify_all();
}

std::string StateStore::last_error() {
  std::lock_guard lk(mu_);
  return error_;
}

void StateStore::writer_loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return quit_ || pending_; });
    if (quit_) return;
    std::string text = std::move(*pending_);
    pending_.reset();
    lk.unlock();
    std::string error;
    write(text, error);
    lk.lock();
    error_ = error;
  }
}

bool StateStore::write(const std::string& text, std::string& error) {
  std::lock_guard wl(write_mu_);
  error.clear();
  if (path_.empty()) return true;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    error = fmt::format("cannot make {}: {}", dir_, ec.message());
    return false;
  }
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = fmt::format("cannot write {}: {}", tmp, std::strerror(errno));
    return false;
  }
  bool ok = write_all(fd, text) && ::fsync(fd) == 0;
  int saved_errno = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    if (ok) saved_errno = errno;
    error = fmt::format("cannot write {}: {}", path_, std::strerror(saved_errno));
    ::unlink(tmp.c_str());
    return false;
  }
  // The rename itself reaches the disk with the directory.
  if (int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace csb
