// Shared helpers of the ollama-meter integration tests (meter_*_test.cpp): request bodies, raw
// vectors, direct calls to the simulator for comparison, polling with deadlines, timed raw
// exchanges and a look at the proxy's descriptors. Everything builds on tests/support.
#pragma once

#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_client.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace meter::test {

using steady = std::chrono::steady_clock;

// {"model":<model>,"input":[<inputs as JSON strings>]<extra>}; `extra` is appended raw after the
// input member, e.g. R"(,"truncate":false)".
std::string embed_body(std::string_view model, const std::vector<std::string>& inputs,
                       std::string_view extra = {});

// The raw JSON text of every embeddings[i] of an /api/embed answer, whitespace removed.
std::vector<std::string> raw_vectors(std::string_view body);

// The raw text of embeddings[0] from a direct single call {"model":m,"input":[input]} to the sim.
std::string direct_vector(const std::string& sim_authority, std::string_view model,
                          const std::string& input);

// The sim's log without ollama-meter's own upstream health probes (GET / with a User-Agent
// starting "ollama-meter/"), which run in the background and at start.
std::vector<sim_log_entry> relayed_log(const std::string& sim_authority);

// The /api/embed calls in the sim's log, in arrival order.
std::vector<sim_log_entry> embed_calls(const std::string& sim_authority);

// The single input of one sub-call body (its `input` must be a one-string array).
std::string single_input(const sim_log_entry& call);

// Calls `ready` every `interval` until it returns true or `timeout` passes; the last result.
bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& ready,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20));

// True when `holds` stays true every `interval` for the whole `window` (an observation window,
// used to show that something does NOT happen).
bool stays_true(std::chrono::milliseconds window, const std::function<bool()>& holds,
                std::chrono::milliseconds interval = std::chrono::milliseconds(50));

// Open descriptors of a process (entries of /proc/PID/fd); -1 when it is gone.
long open_fds(int pid);

// A loopback address with nothing listening: the port stays bound (never listened on) while
// the object lives, so connections are refused and no other test can take it.
class refusing_port {
public:
  refusing_port();
  ~refusing_port();
  refusing_port(const refusing_port&) = delete;
  refusing_port& operator=(const refusing_port&) = delete;
  std::string authority() const;

private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// Bytes read from a connection with their arrival times, until EOF or the deadline.
struct timed_read {
  std::vector<timed_chunk> pieces;
  std::string all;
  bool eof = false;
};

// Sends `bytes` on a new connection and records everything the peer sends until it closes.
timed_read timed_raw_exchange(const std::string& authority, std::string_view bytes,
                              std::chrono::milliseconds timeout);

// Reads from `fd` until EOF or the deadline (no exception on timeout).
timed_read read_until_close(int fd, std::chrono::milliseconds timeout);

// Sends all of `data` on a blocking-with-deadline socket; false when the peer reset or closed.
bool send_bytes(int fd, std::string_view data, std::chrono::milliseconds timeout);

// Reads until `needle` appears in what was read (returned) or the timeout passes (then returns
// what arrived; the caller checks).
std::string read_until(int fd, std::string_view needle, std::chrono::milliseconds timeout);

// An owned socket, closed on destruction.
struct socket_guard {
  int fd = -1;
  explicit socket_guard(int f) : fd(f) {}
  ~socket_guard();
  socket_guard(const socket_guard&) = delete;
  socket_guard& operator=(const socket_guard&) = delete;
  void close();
};

// Milliseconds between two time points, as a double.
double ms_between(steady::time_point from, steady::time_point to);

} // namespace meter::test
