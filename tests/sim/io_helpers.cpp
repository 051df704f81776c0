// Exchange helpers: body reading, framed replies, watched waits and line streams.
#include "tests/sim/io.hpp"

#include "tests/sim/go_format.hpp"
#include "tests/sim/wire.hpp"

#include <array>
#include <cerrno>
#include <sys/socket.h>

namespace meter::sim {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::uint64_t unread_body_drain_limit = 256 * 1024; // net/http's maxPostHandlerReadBytes

awaitable<bool> write_all(exchange& ex, std::string_view bytes) {
  auto [ec, n] = co_await net::async_write(ex.stream.socket(), net::buffer(bytes), use_tuple);
  if (ec) {
    ex.closed_early = true;
    ex.close_after = true;
    co_return false;
  }
  co_return true;
}

void close_now(exchange& ex) {
  error_code ignored;
  ex.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  ex.stream.socket().close(ignored);
  ex.close_after = true;
}

std::string encode_chunked(std::string_view body, std::optional<std::uint32_t> chunks) {
  std::string out;
  if (!chunks) {
    append_chunk(out, body);
    append_last_chunk(out);
    return out;
  }
  std::size_t pieces = std::min<std::size_t>(*chunks, body.size());
  std::size_t offset = 0;
  for (std::size_t i = 0; i < pieces; ++i) {
    std::size_t size = body.size() / pieces + (i < body.size() % pieces ? 1 : 0);
    append_chunk(out, body.substr(offset, size), i == 0 ? ";foo=bar" : "");
    offset += size;
  }
  append_last_chunk(out, {{"X-Sim-Trailer", "1"}});
  return out;
}

} // namespace

awaitable<bool> send_interim(exchange& ex, std::uint32_t count) {
  std::string heads;
  for (std::uint32_t i = 0; i < count; ++i) {
    heads += "HTTP/1.1 102 Processing\r\n\r\n";
  }
  co_return heads.empty() || co_await write_all(ex, heads);
}

void finish_exchange(exchange& ex) {
  if (ex.seq == 0) {
    return;
  }
  if (!ex.finished) {
    ex.finished = true;
    ex.ctx.state.end_request(ex.seq, ex.is_embed, ex.closed_early);
  } else if (ex.closed_early) {
    ex.ctx.state.mark_closed_early(ex.seq);
    ex.seq = 0;
  }
}

awaitable<bool> read_body(exchange& ex) {
  if (ex.body_read) {
    co_return !ex.closed_early;
  }
  ex.body_read = true;
  if (ex.parser.is_done()) {
    ex.ctx.state.set_body(ex.seq, {}, 0);
    co_return true;
  }
  if (ex.expect_continue && !co_await write_all(ex, continue_line)) {
    co_return false;
  }
  http::request_parser<http::string_body> parser{std::move(ex.parser)};
  parser.body_limit(ex.ctx.cfg.body_limit_mb << 20);
  ex.stream.expires_after(std::chrono::milliseconds(ex.ctx.cfg.idle_timeout_ms));
  auto [ec, n] = co_await http::async_read(ex.stream, ex.buffer, parser, use_tuple);
  ex.stream.expires_never();
  if (ec == http::error::body_limit) {
    ex.close_after = true;
    co_await send_reply(ex, plain_reply(413, "http: request body too large"));
    co_return false;
  }
  if (ec) {
    ex.closed_early = true;
    ex.close_after = true;
    co_return false;
  }
  ex.body = std::move(parser.get().body());
  ex.ctx.state.set_body(ex.seq, ex.body, ex.body.size());
  co_return true;
}

namespace {

// What net/http does with a body the handler left unread before it writes the head: drain up to
// 256 KiB and keep the connection, else (or after Expect: 100-continue) close it.
awaitable<void> drain_unread_body(exchange& ex) {
  ex.body_read = true;
  auto length = ex.parser.content_length();
  if (ex.expect_continue || (length && *length >= unread_body_drain_limit)) {
    ex.close_after = true;
    ex.body_left_unread = true;
    co_return;
  }
  http::request_parser<http::string_body> parser{std::move(ex.parser)};
  parser.body_limit(unread_body_drain_limit);
  ex.stream.expires_after(std::chrono::milliseconds(ex.ctx.cfg.idle_timeout_ms));
  auto [ec, n] = co_await http::async_read(ex.stream, ex.buffer, parser, use_tuple);
  ex.stream.expires_never();
  if (ec) {
    ex.close_after = true;
    ex.body_left_unread = ec == http::error::body_limit;
    co_return;
  }
  ex.ctx.state.set_body(ex.seq, parser.get().body(), parser.get().body().size());
}

} // namespace

awaitable<void> send_reply(exchange& ex, reply r, send_options options) {
  if (!ex.body_read && !ex.parser.is_done()) {
    co_await drain_unread_body(ex);
  }
  header_list headers = std::move(r.headers);
  headers.insert(headers.end(), ex.extra_headers.begin(), ex.extra_headers.end());
  framing frame = framing_for_body(ex.head_request, r.status, ex.http11, r.body.size(),
                                   options.chunks.has_value());
  bool forced = options.chunks && frame == framing::chunked;
  if (forced) {
    headers.emplace_back("Trailer", "X-Sim-Trailer");
  }
  if (frame == framing::close_delimited || !ex.client_keep_alive) {
    ex.close_after = true;
  }
  head_spec head;
  head.status = r.status;
  head.http11 = ex.http11;
  head.headers = std::move(headers);
  head.frame = frame;
  head.content_length = r.body.size();
  head.connection_close = ex.http11 && ex.close_after;
  head.connection_keep_alive = !ex.http11 && !ex.close_after;
  head.date = http_date(std::chrono::system_clock::now());
  // The body goes out as its own buffer of a gathered write: large bodies are never copied.
  std::string prefix = serialize_head(head);
  std::string suffix;
  std::string_view body;
  if (frame == framing::chunked && (forced || options.drop)) {
    prefix += encode_chunked(r.body, forced ? options.chunks : std::nullopt);
  } else if (frame == framing::chunked) {
    append_chunk_header(prefix, r.body.size());
    body = r.body;
    suffix = r.body.empty() ? "0\r\n\r\n" : "\r\n0\r\n\r\n";
  } else if (frame == framing::content_length || frame == framing::close_delimited) {
    if (!ex.head_request) {
      body = r.body;
    }
  }
  ex.status_sent = r.status;
  ex.ctx.state.set_status(ex.seq, r.status);
  if (options.drop) {
    std::string all = prefix;
    all.append(body);
    std::size_t head_size = serialize_head(head).size();
    co_await write_all(ex,
                       std::string_view(all).substr(0, head_size + (all.size() - head_size) / 2));
    close_now(ex);
    co_return;
  }
  finish_exchange(ex);
  std::array<net::const_buffer, 3> buffers{net::buffer(prefix), net::buffer(body),
                                           net::buffer(suffix)};
  auto [ec, n] = co_await net::async_write(ex.stream.socket(), buffers, use_tuple);
  if (ec) {
    ex.closed_early = true;
    ex.close_after = true;
    finish_exchange(ex);
  }
}

awaitable<bool> peer_closed(exchange& ex) {
  auto& socket = ex.stream.socket();
  for (;;) {
    auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, use_tuple);
    if (ec == net::error::operation_aborted) {
      co_return false;
    }
    if (ec) {
      co_return true;
    }
    char c;
    ssize_t n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
      co_return true;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        continue;
      }
      co_return true;
    }
    // Pipelined bytes: the client is still there and EOF cannot be seen behind them.
    net::steady_timer forever(socket.get_executor(), net::steady_timer::time_point::max());
    co_await forever.async_wait(use_tuple);
    co_return false;
  }
}

awaitable<bool> wait_watching(exchange& ex, std::chrono::nanoseconds delay) {
  if (delay.count() <= 0) {
    co_return !ex.closed_early;
  }
  net::steady_timer timer(co_await net::this_coro::executor, delay);
  auto result = co_await (timer.async_wait(use_tuple) || peer_closed(ex));
  if (result.index() == 1 && std::get<1>(result)) {
    ex.closed_early = true;
    ex.close_after = true;
    co_return false;
  }
  co_return true;
}

awaitable<bool> wait_until_watching(exchange& ex, std::chrono::steady_clock::time_point at) {
  co_return co_await wait_watching(ex, at - std::chrono::steady_clock::now());
}

line_stream::line_stream(exchange& ex, std::string content_type)
    : ex_(ex), content_type_(std::move(content_type)) {}

awaitable<bool> line_stream::write(std::string_view line) {
  std::string out;
  if (!started_) {
    started_ = true;
    head_spec head;
    head.status = 200;
    head.http11 = ex_.http11;
    head.headers = {{"Content-Type", content_type_}};
    head.headers.insert(head.headers.end(), ex_.extra_headers.begin(), ex_.extra_headers.end());
    head.frame = framing_for_stream(false, 200, ex_.http11);
    if (head.frame == framing::close_delimited || !ex_.client_keep_alive) {
      ex_.close_after = true;
    }
    head.connection_close = ex_.http11 && ex_.close_after;
    head.date = http_date(std::chrono::system_clock::now());
    out = serialize_head(head);
    ex_.status_sent = 200;
    ex_.ctx.state.set_status(ex_.seq, 200);
  }
  if (ex_.http11) {
    append_chunk(out, line);
  } else {
    out.append(line);
  }
  co_return co_await write_all(ex_, out);
}

awaitable<bool> line_stream::finish() {
  if (!started_ && !co_await write("")) {
    co_return false;
  }
  if (ex_.http11) {
    std::string out;
    append_last_chunk(out);
    finish_exchange(ex_);
    if (!co_await write_all(ex_, out)) {
      finish_exchange(ex_);
      co_return false;
    }
  }
  co_return true;
}

void line_stream::abort() {
  close_now(ex_);
}

} // namespace meter::sim
