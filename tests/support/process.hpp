// Child processes for integration tests: start ollama-sim / ollama-meter on an ephemeral port,
// wait for their ready line, capture their output, stop them reliably.
//
// Use:
//   auto sim = meter::test::start_sim({"--runner", "serial", "--call-cost-ms", "50"});
//   auto meter = meter::test::start_meter(sim.authority(), {"--max-fanout", "4"});
//   auto r = meter::test::request(meter.authority(), "POST", "/api/embed", body);
//   INFO(meter.stderr_text());
//
// The child runs in its own process group with stdout and stderr on pipes that a background
// thread drains, so a chatty child never blocks. The constructor waits for the one line
// `listening on http://HOST:PORT` on stdout and throws std::runtime_error (carrying the captured
// stderr) when the child exits first or the deadline passes. The destructor sends SIGTERM, waits up
// to 5 s, then SIGKILLs the group. Nothing here uses fixed ports.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace meter::test {

struct start_options {
  bool wait_ready = true;                               // false: return right after spawning
  std::chrono::milliseconds ready_timeout{15'000};      // deadline for the ready line
  std::vector<std::pair<std::string, std::string>> env; // added to (or replacing in) environ
};

// Options for a child that is not expected to print a ready line (--help, bad flags).
inline start_options no_wait() {
  start_options options;
  options.wait_ready = false;
  return options;
}

class child_process {
public:
  child_process(std::string binary, std::vector<std::string> args, start_options options = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  const std::string& host() const { return host_; } // as printed, IPv6 without brackets
  std::uint16_t port() const { return port_; }
  std::string authority() const; // "127.0.0.1:PORT" or "[::1]:PORT"
  int pid() const { return pid_; }

  std::string stdout_text() const; // thread-safe snapshots of everything captured so far
  std::string stderr_text() const;
  long rss_kib() const; // VmRSS from /proc/PID/status; -1 when gone

  // Waits for the ready line (only needed with wait_ready = false). Throws like the constructor.
  void wait_ready(std::chrono::milliseconds timeout);
  // Blocks until stderr contains `needle` or the timeout passes; returns whether it appeared.
  bool wait_stderr(const std::string& needle, std::chrono::milliseconds timeout) const;

  void send_signal(int signal) const; // to the child only (not its group); no-op once reaped
  // Exit status once the child ended within `timeout`: the exit code, or 128 + signal number.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

private:
  void drain();
  void stop();
  std::optional<int> try_reap();

  std::string binary_;
  int pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::optional<int> exit_status_;
  std::string host_;
  std::uint16_t port_ = 0;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::string out_;
  std::string err_;
  bool pipes_closed_ = false;
  std::thread reader_;
};

// ollama-sim (SIM_BINARY) with `--listen 127.0.0.1:0` followed by `extra_args`.
child_process start_sim(std::vector<std::string> extra_args = {}, start_options options = {});

// ollama-meter (METER_BINARY) with `--listen 127.0.0.1:0 --upstream http://<upstream_authority>`
// followed by `extra_args`.
child_process start_meter(std::string upstream_authority, std::vector<std::string> extra_args = {},
                          start_options options = {});

} // namespace meter::test
