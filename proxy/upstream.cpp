// Upstream connections, the idle pool and the embed-call limiter; see upstream.hpp.
#include "proxy/upstream.hpp"

#include "proxy/errors.hpp"

namespace meter {

namespace {

// Arms the pool's watch on an idle connection: a peeking receive, tried at once (one system call
// that finds nothing) and then queued with the reactor. A wait for readability would cost the
// same: Asio re-arms the descriptor with epoll_ctl for a wait it does not try at once.
void watch_idle(upstream_connection& conn) {
  auto& w = *conn.idle;
  w.watching = true;
  w.broken = false;
  conn.stream.socket().async_receive(
      net::buffer(&w.peeked, 1), tcp_socket::message_peek,
      [w = conn.idle, generation = ++w.generation](error_code, std::size_t) {
        if (w->watching && w->generation == generation) {
          w->watching = false;
          w->broken = true;
        }
      });
}

// Ends the watch of a connection leaving the pool: whether it may still be used.
bool unwatch_idle(upstream_connection& conn) {
  if (conn.idle->broken) {
    return false;
  }
  conn.idle->watching = false;
  error_code ec;
  conn.stream.socket().cancel(ec);
  return !ec;
}

} // namespace

upstream::upstream(io_threads& threads, const config& cfg, metrics::recorder& rec)
    : cfg_(cfg), rec_(rec), authority_(cfg.upstream.authority()), threads_(threads),
      slots_(threads.main().get_executor(), cfg.upstream_concurrency), idle_(threads.size()) {}

upstream::~upstream() = default; // the I/O threads have stopped: idle connections close here

awaitable<boost::system::result<upstream_lease>> upstream::connect(executor ex) {
  auto& idle = idle_[threads_.index_of(ex)];
  while (!idle.empty()) {
    upstream_lease conn = std::move(idle.back());
    idle.pop_back();
    idle_count_.fetch_sub(1, std::memory_order_relaxed);
    if (unwatch_idle(*conn)) {
      conn->reused = true;
      co_return conn;
    }
  }

  error_code ec;
  tcp_resolver::results_type endpoints;
  auto address = net::ip::make_address(cfg_.upstream.host, ec);
  if (!ec) {
    endpoints =
        tcp_resolver::results_type::create(tcp::endpoint{address, cfg_.upstream.port},
                                           cfg_.upstream.host, std::to_string(cfg_.upstream.port));
  } else {
    tcp_resolver resolver{ex};
    auto [rec, results] = co_await resolver.async_resolve(
        cfg_.upstream.host, std::to_string(cfg_.upstream.port), use_tuple);
    if (rec == net::error::operation_aborted) {
      co_return rec; // the caller was cancelled (its client left): not the upstream's failure
    }
    if (rec) {
      rec_.upstream_failed(metrics::upstream_failure::connect);
      co_return make_error_code(errc::upstream_unreachable);
    }
    endpoints = std::move(results);
  }

  tcp_stream stream{ex};
  stream.expires_after(cfg_.connect_timeout);
  auto [cec, ep] = co_await stream.async_connect(endpoints, use_tuple);
  if (cec == net::error::operation_aborted) {
    co_return cec; // the caller was cancelled (its client left): not the upstream's failure
  }
  if (cec) {
    bool timed_out = cec == beast::error::timeout;
    rec_.upstream_failed(timed_out ? metrics::upstream_failure::timeout
                                   : metrics::upstream_failure::connect);
    co_return make_error_code(timed_out ? errc::upstream_connect_timeout
                                        : errc::upstream_unreachable);
  }
  stream.socket().set_option(tcp::no_delay{true}, ec);
  co_return std::make_unique<upstream_connection>(std::move(stream));
}

void upstream::give_back(upstream_lease conn) {
  if (!conn->stream.socket().is_open() || conn->buffer.size() != 0) {
    return; // leftover bytes mean the framing went wrong: never reuse
  }
  if (closed_.load(std::memory_order_relaxed)) {
    return; // the stream's destructor closes it
  }
  if (idle_count_.fetch_add(1, std::memory_order_relaxed) >= cfg_.max_idle_upstream) {
    idle_count_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  conn->stream.expires_never();
  if (conn->buffer.capacity() > upstream_first_read_size) {
    conn->buffer.shrink_to_fit(); // an idle connection keeps only a small buffer
  }
  auto& idle = idle_[threads_.index_of(conn->stream.get_executor())];
  auto dropped = std::erase_if(idle, [](const upstream_lease& c) { return c->idle->broken; });
  idle_count_.fetch_sub(dropped, std::memory_order_relaxed);
  watch_idle(*conn);
  idle.push_back(std::move(conn));
}

awaitable<error_code> upstream::acquire_slot() {
  if (slots_.try_send(error_code{})) {
    co_return error_code{};
  }
  if (queued_.fetch_add(1, std::memory_order_relaxed) >= cfg_.max_queued) {
    queued_.fetch_sub(1, std::memory_order_relaxed);
    co_return make_error_code(errc::server_busy);
  }
  rec_.queue_length_changed(1);
  // The channel's capacity is the number of slots: a send completes once release_slot() has
  // taken a token out. Waiters are served first come, first served.
  auto [ec] = co_await slots_.async_send(error_code{}, use_tuple);
  queued_.fetch_sub(1, std::memory_order_relaxed);
  rec_.queue_length_changed(-1);
  co_return ec;
}

void upstream::release_slot() {
  slots_.try_receive([](error_code) {});
}

void upstream::close_idle() {
  closed_.store(true, std::memory_order_relaxed);
  for (std::size_t i = 0; i < idle_.size(); ++i) {
    net::post(threads_.at(i), [this, i] {
      idle_count_.fetch_sub(idle_[i].size(), std::memory_order_relaxed);
      idle_[i].clear();
    });
  }
}

error_code classify_upstream_error(error_code ec, bool waiting_for_header) {
  if (ec == beast::error::timeout) {
    return make_error_code(waiting_for_header ? errc::upstream_header_timeout
                                              : errc::upstream_idle_timeout);
  }
  if (ec == http::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::broken_pipe ||
      ec == http::error::partial_message) {
    return make_error_code(errc::upstream_reset);
  }
  if (ec.category() == make_error_code(http::error::bad_target).category() ||
      ec == http::error::header_limit || ec == http::error::body_limit) {
    return make_error_code(errc::upstream_bad_response);
  }
  return ec;
}

metrics::upstream_failure upstream_failure_kind(error_code ec) {
  if (ec == errc::upstream_header_timeout || ec == errc::upstream_idle_timeout ||
      ec == errc::upstream_connect_timeout) {
    return metrics::upstream_failure::timeout;
  }
  if (ec == errc::upstream_unreachable) {
    return metrics::upstream_failure::connect;
  }
  return metrics::upstream_failure::reset;
}

template <typename Body>
awaitable<head_outcome> read_response_head(upstream_connection& conn,
                                           std::optional<response_parser<Body>>& parser,
                                           const response_head_limits& limits, const config& cfg) {
  conn.buffer.reserve(upstream_first_read_size);
  conn.stream.expires_after(cfg.header_timeout); // one deadline for the interim heads and the final
  for (int interim = 0;; ++interim) {
    parser.emplace();
    parser->header_limit(cfg.header_limit);
    parser->body_limit(limits.body);
    parser->skip(limits.skip_body);
    auto [ec, n] = co_await http::async_read_header(conn.stream, conn.buffer, *parser, use_tuple);
    if (ec) {
      bool started = interim > 0 || n > 0 || conn.buffer.size() > 0;
      co_return head_outcome{classify_upstream_error(ec, true), started};
    }
    unsigned status = parser->get().result_int();
    if (status >= 200) {
      co_return head_outcome{{}, true};
    }
    if (status < 100 || status == 101 || interim == max_interim_responses) {
      co_return head_outcome{make_error_code(errc::upstream_bad_response), true};
    }
  }
}

template awaitable<head_outcome>
read_response_head<http::buffer_body>(upstream_connection&,
                                      std::optional<response_parser<http::buffer_body>>&,
                                      const response_head_limits&, const config&);
template awaitable<head_outcome>
read_response_head<http::string_body>(upstream_connection&,
                                      std::optional<response_parser<http::string_body>>&,
                                      const response_head_limits&, const config&);

awaitable<exchange_outcome> exchange(upstream_connection& conn, std::string_view request,
                                     std::uint64_t body_limit, const config& cfg) {
  conn.stream.expires_after(cfg.idle_timeout);
  auto [wec, written] = co_await net::async_write(conn.stream, net::buffer(request), use_tuple);
  if (wec) {
    co_return exchange_outcome{classify_upstream_error(wec, false), false, {}};
  }
  std::optional<response_parser<http::string_body>> head;
  auto [hec, started] = co_await read_response_head(conn, head, {.body = body_limit}, cfg);
  if (hec) {
    co_return exchange_outcome{hec, started, {}};
  }
  auto& parser = *head;
  while (!parser.is_done()) {
    conn.stream.expires_after(cfg.idle_timeout);
    auto [bec, n] = co_await http::async_read_some(conn.stream, conn.buffer, parser, use_tuple);
    if (bec) {
      co_return exchange_outcome{classify_upstream_error(bec, false), true, {}};
    }
  }
  conn.stream.expires_never();
  co_return exchange_outcome{{}, true, parser.release()};
}

} // namespace meter
