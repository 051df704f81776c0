// The upstream side: one Ollama server, its pool of idle keep-alive connections and the limiter
// of embed calls in flight. A pool of several Ollama servers would be several `upstream` objects
// behind a chooser; the fan-out only asks for "an upstream" and never names its address.
//
// Thread safety: every member function may be called from any thread, except that connect() and
// give_back() run on the I/O thread whose executor they are given (or the connection has). A
// borrowed connection is used by one coroutine at a time, on the executor it was borrowed for.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/system/result.hpp>

#include "metrics/recorder.hpp"
#include "proxy/config.hpp"
#include "proxy/io_threads.hpp"
#include "proxy/net.hpp"
#include "proxy/parsers.hpp"

namespace meter {

// The free capacity given to a connection's buffer before reading a response head: room for a
// whole small answer in the first read (Beast reads into the free capacity, at least 512 bytes).
inline constexpr std::size_t upstream_first_read_size = 16 * 1024;

// While a connection waits in the pool, one peeking receive is pending on it: any completion
// (the upstream closed it, reset it or sent bytes nobody asked for) makes it unusable. Shared with
// that receive's handler, which may run after the connection is gone.
struct idle_watch {
  unsigned generation = 0; // of the current stay in the pool; a handler of an earlier one is stale
  bool watching = false;
  bool broken = false;
  char peeked = 0;
};

// A connection to the upstream, borrowed from the pool or freshly connected.
struct upstream_connection {
  explicit upstream_connection(tcp_stream s) : stream(std::move(s)) {}

  tcp_stream stream;
  beast::flat_buffer buffer; // bytes read past the previous response stay with the connection
  bool reused = false;       // it served an earlier exchange (a failure before any byte may retry)
  std::shared_ptr<idle_watch> idle = std::make_shared<idle_watch>();
};

// Connections are handed around by pointer: moving a Beast stream allocates a new one.
using upstream_lease = std::unique_ptr<upstream_connection>;

class upstream {
public:
  upstream(io_threads& threads, const config& cfg, metrics::recorder& rec);
  ~upstream();
  upstream(const upstream&) = delete;
  upstream& operator=(const upstream&) = delete;

  const std::string& authority() const { return authority_; }

  // Borrows an idle connection of `ex`'s I/O thread, or connects a new one on `ex` within the
  // connect timeout. Errors: errc::upstream_unreachable, errc::upstream_connect_timeout (both
  // counted as upstream failures), operation_aborted when the calling coroutine is cancelled.
  awaitable<boost::system::result<upstream_lease>> connect(executor ex);

  // Returns a connection whose last exchange ended cleanly with keep-alive to its I/O thread's
  // idle list; it is closed instead when --max-idle-upstream are idle or the proxy is stopping.
  void give_back(upstream_lease conn);

  // Waits for one of the --upstream-concurrency slots. Errors: errc::server_busy when
  // --max-queued callers already wait; operation_aborted when the calling coroutine is cancelled.
  // Every success must be paired with release_slot().
  awaitable<error_code> acquire_slot();
  void release_slot();
  std::size_t queued() const { return queued_.load(std::memory_order_relaxed); }

  // Closes idle connections and refuses to pool more (shutdown).
  void close_idle();

private:
  using slot_channel = net::experimental::concurrent_channel<void(error_code)>;

  const config& cfg_;
  metrics::recorder& rec_;
  std::string authority_;
  io_threads& threads_;
  slot_channel slots_;
  std::atomic<std::size_t> queued_{0};

  // Idle connections, one list per I/O thread, each touched only on its own thread: a pooled
  // connection keeps its registration with the reactor it was opened on.
  std::vector<std::vector<upstream_lease>> idle_;
  std::atomic<std::size_t> idle_count_{0};
  std::atomic<bool> closed_{false};
};

// How far reading a response got. `response_started` tells whether any response byte arrived,
// which decides if a reused connection may be retried.
struct head_outcome {
  error_code ec;
  bool response_started = false;
};

// The most interim (1xx) answers skipped before one response's final head.
inline constexpr int max_interim_responses = 5;

// What the parser of a response head is given.
struct response_head_limits {
  boost::optional<std::uint64_t> body; // the largest body accepted (none: unlimited)
  bool skip_body = false;              // the answer to a HEAD request: no body follows
};

// Reads the head of the upstream's final answer into `parser` (made anew for each head) within
// --header-timeout. Interim answers (1xx) are skipped, as Go's Transport skips them: taken for the
// answer, they would leave the real one in the connection for whoever borrows it next. A status
// below 100, a 101 (the proxy never asks for an upgrade) or more than max_interim_responses
// interim answers are a bad response. Errors come back as errc values (see
// classify_upstream_error).
// Instantiated for http::buffer_body (the relay) and http::string_body (exchange).
template <typename Body>
awaitable<head_outcome> read_response_head(upstream_connection& conn,
                                           std::optional<response_parser<Body>>& parser,
                                           const response_head_limits& limits, const config& cfg);

// Writes a complete request (its bytes, head and body) and reads the whole response (its head as
// read_response_head does, then each body piece within --idle-timeout), its body no larger than
// `body_limit`. Transport failures come back as errc values (timeouts, reset, bad response).
struct exchange_outcome {
  error_code ec;
  bool response_started = false;
  http::response<http::string_body> response; // when !ec
};
awaitable<exchange_outcome> exchange(upstream_connection& conn, std::string_view request,
                                     std::uint64_t body_limit, const config& cfg);

// Maps a transport error of an upstream exchange to the proxy's error values.
error_code classify_upstream_error(error_code ec, bool waiting_for_header);

// The `kind` an upstream failure is counted under, for an error from classify_upstream_error or
// connect().
metrics::upstream_failure upstream_failure_kind(error_code ec);

} // namespace meter
