// Client-facing I/O steps; see client_io.hpp.
#include "proxy/client_io.hpp"

#include <array>

#include "proxy/forwarding.hpp"
#include "proxy/framing.hpp"

namespace meter {

namespace {

// Writes a head and a body in one gathered write within the idle timeout.
awaitable<request_outcome> write_head_and_body(client_side& client,
                                               const http::response_header<>& head,
                                               std::string_view body, bool keep_alive,
                                               const config& cfg) {
  request_outcome out{
      .status = head.result_int(), .bytes_out = body.size(), .keep_alive = keep_alive};
  std::string head_bytes = serialized_head(head);
  std::array<net::const_buffer, 2> buffers{net::buffer(head_bytes), net::buffer(body)};
  client.stream.expires_after(cfg.idle_timeout);
  auto [ec, n] = co_await net::async_write(client.stream, buffers, use_tuple);
  if (ec) {
    out.client_gone = true;
    out.keep_alive = false;
  }
  co_return out;
}

} // namespace

awaitable<request_outcome>
write_response(client_side& client, http::response<http::string_body> res, const config& cfg) {
  if (res.find(http::field::date) == res.end()) {
    res.set(http::field::date, http_date_now());
  }
  res.prepare_payload();
  co_return co_await write_head_and_body(client, res.base(), res.body(), res.keep_alive(), cfg);
}

awaitable<request_outcome>
write_header_only(client_side& client, http::response<http::empty_body> res, const config& cfg) {
  if (res.find(http::field::date) == res.end()) {
    res.set(http::field::date, http_date_now());
  }
  co_return co_await write_head_and_body(client, res.base(), {}, res.keep_alive(), cfg);
}

awaitable<request_outcome> write_error(client_side& client, unsigned version, bool keep_alive,
                                       error_code ec, const config& cfg) {
  auto reply = to_error_reply(ec);
  http::response<http::string_body> res{static_cast<http::status>(reply.status), version};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.body() = std::move(reply.body);
  res.keep_alive(keep_alive);
  co_return co_await write_response(client, std::move(res), cfg);
}

awaitable<error_code>
continue_if_expected(client_side& client, const http::request_header<>& header, const config& cfg) {
  if (header.version() < 11 || !beast::iequals(header[http::field::expect], "100-continue")) {
    co_return error_code{};
  }
  static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
  client.stream.expires_after(cfg.idle_timeout);
  auto [ec, n] = co_await net::async_write(client.stream, net::buffer(interim), use_tuple);
  co_return ec;
}

// The pending receive holds the state, not the watch: its handler may run after the watch (and
// the frame it lives in) is gone, and then only reads `armed`.
struct disconnect_watch::state {
  tcp_socket& socket;
  std::function<void()> on_gone;
  bool armed = true;
  char peeked = 0;
};

disconnect_watch::disconnect_watch(tcp_socket& client, std::function<void()> on_gone)
    : state_(std::make_shared<state>(client, std::move(on_gone))) {
  // A peeking receive: Asio tries it at once (one system call that usually finds nothing, and
  // sees a close that came before the watch), then queues it with the reactor; what it sees stays
  // in the socket for the next request. A wait for readability costs as much: Asio re-arms the
  // descriptor with epoll_ctl for a wait it does not try at once.
  auto& s = *state_;
  s.socket.async_receive(net::buffer(&s.peeked, 1), tcp_socket::message_peek,
                         [s = state_](error_code ec, std::size_t n) {
                           if (!s->armed) {
                             return;
                           }
                           s->armed = false;
                           if (!ec && n > 0) {
                             return; // early bytes of the next request: a close can no longer be
                                     // told apart
                           }
                           s->on_gone();
                         });
}

disconnect_watch::~disconnect_watch() {
  stop();
}

void disconnect_watch::stop() {
  if (!state_->armed) {
    return;
  }
  state_->armed = false;
  error_code ec;
  state_->socket.cancel(ec); // the caller has no other operation pending on the client socket
}

} // namespace meter
