// Client-facing I/O steps; see client_io.hpp.
#include "proxy/client_io.hpp"

#include <sys/socket.h>

#include "proxy/forwarding.hpp"

namespace meter {

namespace {

awaitable<void> wait_until_cancelled(const net::any_io_executor& ex) {
  net::steady_timer forever{ex, net::steady_timer::time_point::max()};
  co_await forever.async_wait(use_tuple);
}

} // namespace

awaitable<request_outcome>
write_response(client_side& client, http::response<http::string_body> res, const config& cfg) {
  if (res.find(http::field::date) == res.end()) {
    res.set(http::field::date, http_date_now());
  }
  res.prepare_payload();
  request_outcome out{
      .status = res.result_int(), .bytes_out = res.body().size(), .keep_alive = res.keep_alive()};
  client.stream.expires_after(cfg.idle_timeout);
  auto [ec, n] = co_await http::async_write(client.stream, res, use_tuple);
  if (ec) {
    out.client_gone = true;
    out.keep_alive = false;
  }
  co_return out;
}

awaitable<request_outcome>
write_header_only(client_side& client, http::response<http::empty_body> res, const config& cfg) {
  if (res.find(http::field::date) == res.end()) {
    res.set(http::field::date, http_date_now());
  }
  request_outcome out{.status = res.result_int(), .keep_alive = res.keep_alive()};
  client.stream.expires_after(cfg.idle_timeout);
  auto [ec, n] = co_await http::async_write(client.stream, res, use_tuple);
  if (ec) {
    out.client_gone = true;
    out.keep_alive = false;
  }
  co_return out;
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

awaitable<void> watch_for_disconnect(tcp::socket& client, std::function<bool()> on_gone) {
  for (;;) {
    auto [ec] = co_await client.async_wait(tcp::socket::wait_read, use_tuple);
    if (ec == net::error::operation_aborted) {
      co_return;
    }
    char byte;
    ssize_t n = ::recv(client.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (ec || n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      if (!on_gone()) {
        co_await wait_until_cancelled(client.get_executor());
      }
      co_return;
    }
    if (n > 0) {
      co_await wait_until_cancelled(
          client.get_executor()); // the client sent more bytes (pipelining)
      co_return;
    }
  }
}

} // namespace meter
