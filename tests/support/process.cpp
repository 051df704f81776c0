// child_process: posix_spawn in a new process group, pipes drained by one background thread.
#include "tests/support/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace meter::test {
namespace {

constexpr std::string_view ready_prefix = "listening on http://";

struct pipe_pair {
  int read_end = -1;
  int write_end = -1;
};

pipe_pair make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  return {fds[0], fds[1]};
}

std::vector<std::string>
build_environment(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    bool replaced = false;
    for (const auto& [name, value] : overrides) {
      if (entry.rfind(name + "=", 0) == 0) {
        replaced = true;
      }
    }
    if (!replaced) {
      env.push_back(std::move(entry));
    }
  }
  for (const auto& [name, value] : overrides) {
    env.push_back(name + "=" + value);
  }
  return env;
}

// Parses "HOST:PORT" or "[V6]:PORT" (the part after "http://" of the ready line).
bool parse_authority(std::string_view text, std::string& host, std::uint16_t& port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= text.size()) {
    return false;
  }
  std::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  unsigned long value = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + static_cast<unsigned long>(c - '0');
    if (value > 65535) {
      return false;
    }
  }
  host.assign(h);
  port = static_cast<std::uint16_t>(value);
  return true;
}

} // namespace

child_process::child_process(std::string binary, std::vector<std::string> args,
                             start_options options)
    : binary_(std::move(binary)) {
  pipe_pair out = make_pipe();
  pipe_pair err = make_pipe();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write_end, 1);
  posix_spawn_file_actions_adddup2(&actions, err.write_end, 2);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> argv_storage;
  argv_storage.push_back(binary_);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> env_storage = build_environment(options.env);
  std::vector<char*> envp;
  for (auto& e : env_storage) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, binary_.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out.write_end);
  ::close(err.write_end);
  if (rc != 0) {
    ::close(out.read_end);
    ::close(err.read_end);
    throw std::runtime_error("posix_spawn " + binary_ + ": " + std::strerror(rc));
  }
  pid_ = pid;
  out_fd_ = out.read_end;
  err_fd_ = err.read_end;
  reader_ = std::thread([this] { drain(); });
  if (options.wait_ready) {
    try {
      wait_ready(options.ready_timeout);
    } catch (...) {
      stop();
      throw;
    }
  }
}

child_process::~child_process() {
  stop();
}

void child_process::stop() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(-pid_, SIGTERM);
    if (!wait_exit(std::chrono::seconds(5))) {
      ::kill(-pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      exit_status_ = 128 + SIGKILL;
    }
  }
  if (pid_ > 0) {
    // Stray grandchildren may still hold the pipes: make sure the reader can finish.
    ::kill(-pid_, SIGKILL);
  }
  if (reader_.joinable()) {
    reader_.join();
  }
  if (out_fd_ >= 0) {
    ::close(out_fd_);
    out_fd_ = -1;
  }
  if (err_fd_ >= 0) {
    ::close(err_fd_);
    err_fd_ = -1;
  }
  pid_ = -1;
}

void child_process::drain() {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int open_count = 2;
  char buffer[16384];
  while (open_count > 0) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      std::lock_guard lock(mutex_);
      if (got <= 0) {
        fds[i].fd = -1;
        --open_count;
      } else {
        (i == 0 ? out_ : err_).append(buffer, static_cast<std::size_t>(got));
      }
      changed_.notify_all();
    }
  }
  std::lock_guard lock(mutex_);
  pipes_closed_ = true;
  changed_.notify_all();
}

void child_process::wait_ready(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    std::size_t at = out_.find(ready_prefix);
    if (at != std::string::npos) {
      std::size_t end = out_.find('\n', at);
      if (end != std::string::npos) {
        std::string_view authority(out_.data() + at + ready_prefix.size(),
                                   end - at - ready_prefix.size());
        if (!authority.empty() && authority.back() == '\r') {
          authority.remove_suffix(1);
        }
        if (!parse_authority(authority, host_, port_)) {
          throw std::runtime_error("unparsable ready line from " + binary_ + ": " + out_);
        }
        return;
      }
    }
    if (pipes_closed_ || std::chrono::steady_clock::now() >= deadline) {
      std::string why = pipes_closed_ ? " exited before it was ready" : " was not ready in time";
      throw std::runtime_error(binary_ + why + "\nstdout:\n" + out_ + "\nstderr:\n" + err_);
    }
    changed_.wait_until(lock, deadline);
  }
}

bool child_process::wait_stderr(const std::string& needle,
                                std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    return err_.find(needle) != std::string::npos || pipes_closed_;
  }) && err_.find(needle) != std::string::npos;
}

std::string child_process::authority() const {
  if (host_.find(':') != std::string::npos) {
    return "[" + host_ + "]:" + std::to_string(port_);
  }
  return host_ + ":" + std::to_string(port_);
}

std::string child_process::stdout_text() const {
  std::lock_guard lock(mutex_);
  return out_;
}

std::string child_process::stderr_text() const {
  std::lock_guard lock(mutex_);
  return err_;
}

long child_process::rss_kib() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

void child_process::send_signal(int signal) const {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, signal);
  }
}

std::optional<int> child_process::try_reap() {
  if (exit_status_ || pid_ <= 0) {
    return exit_status_;
  }
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return exit_status_;
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto status = try_reap()) {
      // Let the reader collect the last output (bounded: grandchildren may hold the pipes).
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, std::chrono::seconds(1), [&] { return pipes_closed_; });
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

child_process start_sim(std::vector<std::string> extra_args, start_options options) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return child_process(SIM_BINARY, std::move(args), std::move(options));
}

child_process start_meter(std::string upstream_authority, std::vector<std::string> extra_args,
                          start_options options) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--upstream",
                                "http://" + upstream_authority};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return child_process(METER_BINARY, std::move(args), std::move(options));
}

} // namespace meter::test
