// Listeners, sessions and the graceful stop; see server.hpp.
#include "proxy/server.hpp"

#include <fmt/format.h>

#include "proxy/client_io.hpp"
#include "proxy/embed_fanout.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/log.hpp"
#include "proxy/own_routes.hpp"
#include "proxy/relay.hpp"
#include "proxy/upstream.hpp"

namespace meter {

using clock = std::chrono::steady_clock;

// A session as seen by stop(): its executor, its stream, and whether it waits between requests.
// Only touched on the session's I/O thread; stop() reaches it by posting there.
struct server::session_entry {
  explicit session_entry(executor ex) : home(std::move(ex)) {}
  executor home;
  tcp_stream* stream = nullptr;
  bool idle = true;
};

namespace {

constexpr std::size_t client_buffer_slack = 128 * 1024;

// How long sessions closed at the end of the grace period get to unwind.
constexpr std::chrono::seconds forced_close_wait{2};

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::optional<tcp::endpoint> resolve_listen(const endpoint_address& address, std::string& error) {
  error_code ec;
  auto ip = net::ip::make_address(address.host, ec);
  if (!ec) {
    return tcp::endpoint{ip, address.port};
  }
  net::io_context scratch;
  tcp_resolver resolver{scratch};
  auto results = resolver.resolve(address.host, std::to_string(address.port), ec);
  if (ec || results.empty()) {
    error = fmt::format("cannot resolve listen address {}: {}", address.authority(),
                        ec ? ec.message() : "no address");
    return std::nullopt;
  }
  return results.begin()->endpoint();
}

std::optional<std::string> open_acceptor(tcp_acceptor& acceptor, const endpoint_address& address) {
  std::string error;
  auto endpoint = resolve_listen(address, error);
  if (!endpoint) {
    return error;
  }
  error_code ec;
  acceptor.open(endpoint->protocol(), ec);
  if (!ec) {
    acceptor.set_option(tcp_acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor.bind(*endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return fmt::format("cannot listen on {}: {}", address.authority(), ec.message());
  }
  return std::nullopt;
}

std::string_view method_label(http::verb v) {
  switch (v) {
  case http::verb::get:
  case http::verb::head:
  case http::verb::post:
  case http::verb::put:
  case http::verb::delete_:
  case http::verb::options:
  case http::verb::patch:
    return http::to_string(v);
  default:
    return "other";
  }
}

// Go's server answers unparseable requests with a plain 400 and closes; so does the proxy.
awaitable<void> reject_request(tcp_stream& stream, http::status status, std::string_view text,
                               const config& cfg) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = text;
  res.keep_alive(false);
  res.prepare_payload();
  stream.expires_after(cfg.idle_timeout);
  co_await http::async_write(stream, res, use_tuple);
}

} // namespace

server::server(io_threads& threads, services& svc)
    : threads_(threads), svc_(svc), api_acceptor_(threads.main()) {}

std::optional<std::string> server::bind() {
  if (auto error = open_acceptor(api_acceptor_, svc_.cfg.listen)) {
    return error;
  }
  if (svc_.cfg.metrics_listen) {
    metrics_acceptor_.emplace(threads_.main());
    if (auto error = open_acceptor(*metrics_acceptor_, *svc_.cfg.metrics_listen)) {
      return error;
    }
  }
  return std::nullopt;
}

tcp::endpoint server::api_endpoint() const {
  return api_acceptor_.local_endpoint();
}

std::optional<tcp::endpoint> server::metrics_endpoint() const {
  if (!metrics_acceptor_) {
    return std::nullopt;
  }
  return metrics_acceptor_->local_endpoint();
}

void server::start() {
  auto log_failure = [](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error(fmt::format("listener stopped: {}", ex.what()));
      }
    }
  };
  net::co_spawn(api_acceptor_.get_executor(), accept_loop(api_acceptor_, listener_kind::api),
                log_failure);
  if (metrics_acceptor_) {
    net::co_spawn(metrics_acceptor_->get_executor(),
                  accept_loop(*metrics_acceptor_, listener_kind::metrics_only), log_failure);
  }
}

awaitable<void> server::accept_loop(tcp_acceptor& acceptor, listener_kind kind) {
  for (;;) {
    executor home = threads_.next().get_executor();
    tcp::endpoint peer; // from accept itself: a client that resets at once has no peer name later
    auto [ec, socket] = co_await acceptor.async_accept(home, peer, use_tuple);
    if (ec == net::error::operation_aborted || !acceptor.is_open()) {
      co_return;
    }
    if (ec) {
      // Out of descriptors or similar: back off instead of spinning.
      log::warn(fmt::format("accept failed: {}", ec.message()));
      steady_timer pause{acceptor.get_executor(), std::chrono::milliseconds(100)};
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (active_.load(std::memory_order_relaxed) >= svc_.cfg.max_connections) {
      log::warn("connection refused: --max-connections reached");
      continue; // the socket closes as it goes out of scope
    }
    error_code opt_ec;
    socket.set_option(tcp::no_delay{true}, opt_ec);
    auto entry = std::make_shared<session_entry>(home);
    {
      std::lock_guard lock{sessions_mutex_};
      std::erase_if(sessions_, [](const auto& weak) { return weak.expired(); });
      sessions_.push_back(entry);
    }
    active_.fetch_add(1, std::memory_order_relaxed);
    net::co_spawn(
        home, run_session(tcp_stream{std::move(socket)}, peer.address().to_string(), entry, kind),
        [this](std::exception_ptr e) {
          active_.fetch_sub(1, std::memory_order_relaxed);
          if (e) {
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& ex) {
              log::error(fmt::format("session ended by an unexpected error: {}", ex.what()));
            }
          }
        });
  }
}

awaitable<void> server::run_session(tcp_stream stream, std::string client_ip,
                                    std::shared_ptr<session_entry> entry, listener_kind kind) {
  const config& cfg = svc_.cfg;
  entry->stream = &stream;
  error_code ec;
  // Bytes read but not yet parsed: at most a header, or the trailers of a chunked body (which
  // Beast does not count against the header limit), plus room for one large read.
  beast::flat_buffer buffer{static_cast<std::size_t>(cfg.header_limit) + client_buffer_slack};
  client_side client{stream, buffer, std::move(client_ip), {}};

  for (bool first = true;; first = false) {
    entry->idle = true;
    if (svc_.stopping.load(std::memory_order_relaxed)) {
      break;
    }
    request_parser<http::empty_body> parser;
    parser.header_limit(cfg.header_limit);
    parser.body_limit(boost::none);
    stream.expires_after(first ? cfg.client_header_timeout : cfg.keepalive_timeout);
    auto [read_ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    entry->idle = false;
    if (read_ec) {
      if (read_ec == http::error::header_limit) {
        co_await reject_request(stream, http::status::request_header_fields_too_large,
                                "431 Request Header Fields Too Large", cfg);
      } else if (read_ec.category() == make_error_code(http::error::bad_target).category() &&
                 read_ec != http::error::end_of_stream && read_ec != http::error::partial_message) {
        co_await reject_request(stream, http::status::bad_request, "400 Bad Request", cfg);
      }
      break;
    }

    if (has_unsupported_transfer_encoding(parser.get())) {
      co_await reject_request(stream, http::status::not_implemented,
                              "Unsupported transfer encoding", cfg);
      break;
    }

    client.request_start = clock::now();
    const auto& header = parser.get();
    std::string method{header.method_string()};
    std::string path{path_of(header.target())};
    unsigned version = header.version();
    auto route = metrics::classify_route(path);
    svc_.rec.request_started(route);

    request_outcome out = co_await dispatch(client, parser, kind);

    auto elapsed = std::chrono::duration<double>(clock::now() - client.request_start);
    svc_.rec.request_finished({route, method_label(http::string_to_verb(method)), out.status,
                               elapsed, out.bytes_in, out.bytes_out});
    if (out.client_gone) {
      svc_.rec.client_disconnected(route);
    }
    if (log::access_enabled()) {
      log::access(fmt::format("{} \"{} {} HTTP/{}.{}\" {} inputs={} in={} out={} {:.3f}ms{}",
                              client.ip, method, path, version / 10, version % 10, out.status,
                              out.inputs, out.bytes_in, out.bytes_out, elapsed.count() * 1e3,
                              out.client_gone ? " client-gone" : ""));
    }
    if (!out.keep_alive) {
      break;
    }
  }
  entry->stream = nullptr;
  stream.socket().shutdown(tcp_socket::shutdown_send, ec);
  stream.close();
}

awaitable<request_outcome> server::dispatch(client_side& client,
                                            request_parser<http::empty_body>& parser,
                                            listener_kind kind) {
  const auto& header = parser.get();
  auto path = path_of(header.target());
  bool serve_own = is_own_route(path) &&
                   (kind == listener_kind::metrics_only || !svc_.cfg.metrics_listen.has_value());
  if (serve_own || kind == listener_kind::metrics_only) {
    // These answers never read a request body: with one sent, the connection closes after them
    // (and they say so).
    bool keep_alive = keeps_alive(header) && parser.is_done();
    if (serve_own) {
      co_return co_await handle_own_route(client, svc_, header, path, keep_alive);
    }
    http::response<http::string_body> res{http::status::not_found, header.version()};
    res.set(http::field::content_type, "text/plain");
    res.body() = "404 page not found";
    res.keep_alive(keep_alive);
    co_return co_await write_response(client, std::move(res), svc_.cfg);
  }
  if (header.method() == http::verb::post && path == "/api/embed") {
    co_return co_await handle_embed(client, svc_, parser);
  }
  co_return co_await relay_streaming(client, svc_, parser, metrics::classify_route(path));
}

void server::close_sessions(bool idle_only) {
  std::lock_guard lock{sessions_mutex_};
  for (auto& weak : sessions_) {
    if (auto entry = weak.lock()) {
      net::post(entry->home, [entry, idle_only] {
        if (entry->stream != nullptr && (entry->idle || !idle_only)) {
          entry->stream->close();
        }
      });
    }
  }
}

void server::stop(std::function<void()> on_drained) {
  svc_.stopping.store(true, std::memory_order_relaxed);
  net::post(api_acceptor_.get_executor(), [this] {
    error_code ec;
    api_acceptor_.close(ec);
  });
  if (metrics_acceptor_) {
    net::post(metrics_acceptor_->get_executor(), [this] {
      error_code ec;
      metrics_acceptor_->close(ec);
    });
  }
  close_sessions(true);
  net::co_spawn(threads_.main(), drain(std::move(on_drained)), net::detached);
}

awaitable<void> server::drain(std::function<void()> on_drained) {
  // Sessions end on their own threads; poll their count until none is left or time is up.
  steady_timer tick{co_await net::this_coro::executor};
  auto wait_for_sessions = [&](clock::time_point deadline) -> awaitable<void> {
    while (active_.load(std::memory_order_relaxed) > 0 && clock::now() < deadline) {
      tick.expires_after(std::chrono::milliseconds(10));
      co_await tick.async_wait(use_tuple);
    }
  };
  co_await wait_for_sessions(clock::now() + svc_.cfg.shutdown_grace);
  if (active_.load(std::memory_order_relaxed) > 0) {
    log::warn(
        fmt::format("closing {} connection(s) still busy after the grace period", active_.load()));
    close_sessions(false);
    // A closed client connection ends its request's work (the disconnect watches close the
    // upstream calls): let the sessions unwind, so that no request is left suspended when the I/O
    // contexts stop.
    co_await wait_for_sessions(clock::now() + forced_close_wait);
  }
  on_drained();
}

} // namespace meter
