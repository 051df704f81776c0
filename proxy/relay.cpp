// The transparent relay; see relay.hpp.
#include "proxy/relay.hpp"

#include <memory>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "proxy/client_io.hpp"
#include "proxy/errors.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/generation_tap.hpp"
#include "proxy/upstream.hpp"

namespace meter {

namespace {

using namespace net::experimental::awaitable_operators;
using clock = std::chrono::steady_clock;

// Large enough for blob uploads at full speed, small enough that streams are passed on at once:
// a read returns whatever has arrived, however little.
constexpr std::size_t relay_buffer_size = 64 * 1024;

// Where the request body comes from: the client connection, or bytes the proxy already holds.
struct body_source {
  http::request_parser<http::buffer_body>* streaming = nullptr;
  std::string_view buffered;
};

// Counts the exchange as an upstream call in flight for as long as it lives.
class upstream_call_scope {
public:
  explicit upstream_call_scope(metrics::recorder& rec) : rec_(rec) { rec_.upstream_call_started(); }
  ~upstream_call_scope() { rec_.upstream_call_finished(); }
  upstream_call_scope(const upstream_call_scope&) = delete;
  upstream_call_scope& operator=(const upstream_call_scope&) = delete;

private:
  metrics::recorder& rec_;
};

// Streams the client's request body upstream, re-framed for the upstream connection.
awaitable<error_code> send_streamed_body(client_side& client, upstream_connection& conn,
                                         http::request_parser<http::buffer_body>& parser,
                                         bool chunked, const config& cfg, std::uint64_t& bytes_in,
                                         bool& client_failed) {
  auto buffer = std::make_unique<char[]>(relay_buffer_size);
  // Beast reads at most the free capacity of the flat buffer (at least 512 bytes): give it room
  // for large reads while the body streams, and hand the memory back afterwards.
  client.buffer.reserve(relay_buffer_size);
  while (!parser.is_done()) {
    parser.get().body().data = buffer.get();
    parser.get().body().size = relay_buffer_size;
    client.stream.expires_after(cfg.idle_timeout);
    auto [rec, n] = co_await http::async_read_some(client.stream, client.buffer, parser, use_tuple);
    if (rec && rec != http::error::need_buffer) {
      client_failed = true;
      co_return rec;
    }
    std::size_t got = relay_buffer_size - parser.get().body().size;
    if (got == 0) {
      continue;
    }
    bytes_in += got;
    conn.stream.expires_after(cfg.idle_timeout);
    auto data = net::buffer(buffer.get(), got);
    auto [wec, w] = chunked
                        ? co_await net::async_write(conn.stream, http::make_chunk(data), use_tuple)
                        : co_await net::async_write(conn.stream, data, use_tuple);
    if (wec) {
      co_return classify_upstream_error(wec, false);
    }
  }
  if (chunked) {
    conn.stream.expires_after(cfg.idle_timeout);
    auto [wec, w] = co_await net::async_write(conn.stream, http::make_chunk_last(), use_tuple);
    if (wec) {
      co_return classify_upstream_error(wec, false);
    }
  }
  co_return error_code{};
}

// What the response phase needs to know about the request.
struct response_plan {
  http::verb method;
  unsigned client_version;
  bool client_keep_alive;
  metrics::route r;
};

// Reads the upstream response and streams it to the client. Runs while the client is watched for
// a disconnect, which closes the upstream connection under it.
// Fills `out` as it goes, so that a disconnect noticed by the watch keeps what was already sent.
awaitable<void> relay_response(client_side& client, services& svc, upstream_connection& conn,
                               response_plan plan, request_outcome& out, bool& response_complete,
                               bool& upstream_released) {
  co_await net::this_coro::throw_if_cancelled(false);
  const config& cfg = svc.cfg;
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(cfg.header_limit);
  parser.body_limit(boost::none);
  if (plan.method == http::verb::head) {
    parser.skip(true);
  }

  conn.stream.expires_after(cfg.header_timeout);
  auto [hec, hn] = co_await http::async_read_header(conn.stream, conn.buffer, parser, use_tuple);
  if (hec) {
    auto ec = classify_upstream_error(hec, true);
    svc.rec.upstream_failed(upstream_failure_kind(ec));
    auto written = co_await write_error(client, plan.client_version, false, ec, cfg);
    out.status = written.status;
    out.bytes_out = written.bytes_out;
    out.client_gone = written.client_gone;
    co_return;
  }

  const auto& upstream_res = parser.get();
  unsigned status = upstream_res.result_int();
  if (status >= 500) {
    svc.rec.upstream_failed(metrics::upstream_failure::status_5xx);
  }
  http::response<http::empty_body> res;
  res.version(plan.client_version);
  res.result(status);
  res.reason(upstream_res.reason());
  copy_end_to_end_fields(upstream_res, res);

  bool body = response_has_body(plan.method, status);
  bool chunked = false;
  bool close_delimited = false;
  if (!body) {
    if (auto length = upstream_res[http::field::content_length]; !length.empty()) {
      res.set(http::field::content_length, length); // HEAD answers keep the upstream's length
    }
  } else if (auto length = parser.content_length()) {
    res.content_length(*length);
  } else if (plan.client_version >= 11) {
    chunked = true;
    res.chunked(true);
  } else {
    close_delimited = true; // HTTP/1.0: the body ends when the connection closes
  }
  out.keep_alive =
      plan.client_keep_alive && !close_delimited && !svc.stopping.load(std::memory_order_relaxed);
  res.keep_alive(out.keep_alive);
  out.status = status;

  http::response_serializer<http::empty_body> serializer{res};
  client.stream.expires_after(cfg.idle_timeout);
  auto [whec, whn] = co_await http::async_write_header(client.stream, serializer, use_tuple);
  if (whec) {
    out.client_gone = true;
    out.keep_alive = false;
    co_return;
  }

  bool tap_generation =
      plan.r == metrics::route::api_generate || plan.r == metrics::route::api_chat;
  generation_tap tap;
  clock::time_point first_byte{};
  auto buffer = std::make_unique<char[]>(relay_buffer_size);
  conn.buffer.reserve(relay_buffer_size);
  // The upstream connection goes back to the pool as soon as its response is read, before the
  // last piece reaches the client, so the client's next request finds it there.
  auto release_upstream = [&] {
    if (!upstream_released && parser.is_done() && parser.keep_alive()) {
      upstream_released = true;
      svc.up.give_back(std::move(conn));
    }
  };
  while (!parser.is_done()) {
    parser.get().body().data = buffer.get();
    parser.get().body().size = relay_buffer_size;
    conn.stream.expires_after(cfg.idle_timeout);
    auto [rec, n] = co_await http::async_read_some(conn.stream, conn.buffer, parser, use_tuple);
    if (rec && rec != http::error::need_buffer) {
      // Headers are gone: all that is left is to end the response early, so the client sees a
      // truncated body rather than a complete-looking one.
      if (rec != net::error::operation_aborted) {
        svc.rec.upstream_failed(upstream_failure_kind(classify_upstream_error(rec, false)));
      }
      out.keep_alive = false;
      co_return;
    }
    release_upstream();
    std::size_t got = relay_buffer_size - parser.get().body().size;
    if (got == 0) {
      continue;
    }
    if (first_byte == clock::time_point{}) {
      first_byte = clock::now();
    }
    auto data = net::buffer(buffer.get(), got);
    client.stream.expires_after(cfg.idle_timeout);
    auto [wec, w] =
        chunked ? co_await net::async_write(client.stream, http::make_chunk(data), use_tuple)
                : co_await net::async_write(client.stream, data, use_tuple);
    if (wec) {
      out.client_gone = true;
      out.keep_alive = false;
      co_return;
    }
    out.bytes_out += got;
    if (tap_generation) {
      tap.feed({buffer.get(), got});
    }
  }
  if (chunked) {
    client.stream.expires_after(cfg.idle_timeout);
    auto [wec, w] = co_await net::async_write(client.stream, http::make_chunk_last(), use_tuple);
    if (wec) {
      out.client_gone = true;
      out.keep_alive = false;
      co_return;
    }
  }
  response_complete = true;
  release_upstream();

  if (tap_generation && status == 200) {
    tap.finish();
    if (const auto& stats = tap.stats()) {
      auto now = clock::now();
      auto ns = [](std::int64_t v) { return std::chrono::duration<double>(v / 1e9); };
      metrics::generation_event e;
      e.model = stats->model;
      e.via = plan.r;
      e.streamed = beast::iequals(upstream_res[http::field::content_type], "application/x-ndjson");
      e.duration = now - client.request_start;
      e.time_to_first_token = e.streamed ? first_byte - client.request_start : e.duration;
      e.prompt_eval_count = stats->prompt_eval_count;
      e.eval_count = stats->eval_count;
      e.prompt_eval_duration = ns(stats->prompt_eval_duration);
      e.eval_duration = ns(stats->eval_duration);
      e.load_duration = ns(stats->load_duration);
      svc.rec.generation(e);
    }
  }
}

awaitable<request_outcome> relay(client_side& client, services& svc,
                                 const http::request<http::empty_body>& header, body_source source,
                                 metrics::route r) {
  const config& cfg = svc.cfg;
  bool streaming_body = source.streaming != nullptr && !source.streaming->is_done();
  bool client_keep_alive = header.keep_alive();

  forward_context ctx{client.ip, svc.up.authority(), cfg.preserve_host};
  http::request<http::empty_body> upstream_req{upstream_request_header(header, ctx)};
  bool chunked_upload = false;
  if (source.streaming == nullptr) {
    if (!source.buffered.empty() || header.has_content_length() || header.chunked()) {
      upstream_req.content_length(source.buffered.size());
    }
  } else if (auto length = source.streaming->content_length()) {
    upstream_req.content_length(*length);
  } else if (streaming_body) {
    chunked_upload = true;
    upstream_req.chunked(true);
  }

  upstream_call_scope in_flight{svc.rec};
  auto connected = co_await svc.up.connect(client.stream.get_executor());
  if (!connected) {
    // An unread request body leaves the connection out of step: close it after the reply.
    co_return co_await write_error(client, header.version(), client_keep_alive && !streaming_body,
                                   connected.error(), cfg);
  }
  upstream_connection conn = std::move(*connected);

  request_outcome out;
  if (streaming_body) {
    if (auto ec = co_await continue_if_expected(client, header, cfg)) {
      out.client_gone = true;
      co_return out;
    }
  }

  http::request_serializer<http::empty_body> serializer{upstream_req};
  conn.stream.expires_after(cfg.idle_timeout);
  auto [hec, hn] = co_await http::async_write_header(conn.stream, serializer, use_tuple);
  error_code send_ec = hec ? classify_upstream_error(hec, false) : error_code{};
  bool client_failed = false;
  if (!send_ec && streaming_body) {
    send_ec = co_await send_streamed_body(client, conn, *source.streaming, chunked_upload, cfg,
                                          out.bytes_in, client_failed);
  } else if (!send_ec && !source.buffered.empty()) {
    conn.stream.expires_after(cfg.idle_timeout);
    auto [bec, bn] =
        co_await net::async_write(conn.stream, net::buffer(source.buffered), use_tuple);
    send_ec = bec ? classify_upstream_error(bec, false) : error_code{};
    out.bytes_in = source.buffered.size();
  }
  if (client_failed) {
    out.client_gone = true;
    co_return out;
  }
  if (send_ec && streaming_body && !source.streaming->is_done()) {
    // The rest of the client's body stays unread: this connection cannot serve another request.
    client_keep_alive = false;
  }
  // Even when sending failed, the upstream may have answered before reading the whole body (Ollama
  // does for a blob it already has): read and relay that answer. With none, the response phase
  // answers with the proxy's own error.

  bool client_gone = false;
  bool response_complete = false;
  bool upstream_released = false; // given back to the pool: `conn` is no longer ours
  response_plan plan{header.method(), header.version(), client_keep_alive, r};
  co_await (relay_response(client, svc, conn, plan, out, response_complete, upstream_released) ||
            watch_for_disconnect(client.stream.socket(), [&] {
              // A client that closes right after reading the whole answer did not leave early.
              if (response_complete) {
                return;
              }
              client_gone = true;
              if (!upstream_released) {
                conn.stream.close();
              }
            }));
  if (client_gone) {
    out.client_gone = true;
    out.keep_alive = false;
  }
  co_return out;
}

} // namespace

awaitable<request_outcome> relay_streaming(client_side& client, services& svc,
                                           http::request_parser<http::empty_body>& parser,
                                           metrics::route r) {
  http::request<http::empty_body> header = parser.get();
  http::request_parser<http::buffer_body> body_parser{std::move(parser)};
  auto out = co_await relay(client, svc, header, body_source{&body_parser, {}}, r);
  client.buffer.shrink_to_fit(); // idle keep-alive connections keep only a small buffer
  co_return out;
}

awaitable<request_outcome> relay_buffered(client_side& client, services& svc,
                                          const http::request<http::empty_body>& header,
                                          std::string body, metrics::route r) {
  co_return co_await relay(client, svc, header, body_source{nullptr, body}, r);
}

} // namespace meter
