// The listeners and one coroutine per client connection: read a request header, dispatch it to
// /api/embed, the proxy's own routes or the relay, log it, record it, and go on while the
// connection is kept alive. Also the graceful stop on SIGINT/SIGTERM.
//
// Thread safety: start(), stop() and active_sessions() may be called from any thread.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <optional>

#include "proxy/config.hpp"
#include "proxy/io_threads.hpp"
#include "proxy/net.hpp"
#include "proxy/parsers.hpp"
#include "proxy/session.hpp"

namespace meter {

class server {
public:
  server(io_threads& threads, services& svc);

  // Binds the API listener and, with --metrics-listen, the metrics-only listener. Returns a
  // message naming the address when binding fails.
  std::optional<std::string> bind();
  tcp::endpoint api_endpoint() const;
  std::optional<tcp::endpoint> metrics_endpoint() const;

  void start();

  // Stops accepting and closes idle connections; busy ones close after their current request.
  // After --shutdown-grace everything still open is closed. `on_drained` runs once no session is
  // left, or when some are still busy two seconds after that close (see active_sessions()).
  void stop(std::function<void()> on_drained);

  std::size_t active_sessions() const { return active_.load(std::memory_order_relaxed); }

private:
  struct session_entry; // touched only on its session's I/O thread
  enum class listener_kind { api, metrics_only };

  awaitable<void> accept_loop(tcp_acceptor& acceptor, listener_kind kind);
  awaitable<void> run_session(tcp_stream stream, std::string client_ip,
                              std::shared_ptr<session_entry> entry, listener_kind kind);
  awaitable<request_outcome> dispatch(client_side& client, request_parser<http::empty_body>& parser,
                                      listener_kind kind);
  awaitable<void> drain(std::function<void()> on_drained);
  void close_sessions(bool idle_only);

  io_threads& threads_;
  services& svc_;
  tcp_acceptor api_acceptor_;
  std::optional<tcp_acceptor> metrics_acceptor_;
  std::atomic<std::size_t> active_{0};

  std::mutex sessions_mutex_;
  std::list<std::weak_ptr<session_entry>> sessions_;
};

} // namespace meter
