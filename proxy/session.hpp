// What the request handlers share with the connection they run on: the client side of one
// connection, the process-wide services, and what a handler reports back for logging, metrics
// and the keep-alive decision.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "metrics/recorder.hpp"
#include "proxy/config.hpp"
#include "proxy/net.hpp"

namespace meter {

class upstream;

// Process-wide state every request handler may use. Shared by all threads.
struct services {
  const config& cfg;
  upstream& up;
  metrics::recorder& rec;
  std::function<std::string()> render_metrics; // Prometheus text exposition
  std::atomic<bool>& stopping;                 // set on SIGINT/SIGTERM: finish, then close
};

// The client connection a request arrived on. Handlers run on its I/O thread.
struct client_side {
  tcp_stream& stream;
  beast::flat_buffer& buffer;
  std::string ip;
  std::chrono::steady_clock::time_point request_start; // when the current request's header arrived
};

// What a handler reports once the response has been written (or abandoned).
struct request_outcome {
  unsigned status = 0;         // 0: no status line was sent
  std::uint64_t bytes_in = 0;  // request body bytes read from the client
  std::uint64_t bytes_out = 0; // response body bytes written to the client
  std::size_t inputs = 0;      // /api/embed: inputs in the batch (0 when not split)
  bool keep_alive = false;     // the connection may serve another request
  bool client_gone = false;    // the client disconnected before the response was complete
};

} // namespace meter
