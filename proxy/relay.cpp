// The transparent relay; see relay.hpp.
#include "proxy/relay.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include "proxy/client_io.hpp"
#include "proxy/errors.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/framing.hpp"
#include "proxy/generation_tap.hpp"
#include "proxy/upstream.hpp"

namespace meter {

namespace {

using clock = std::chrono::steady_clock;

// Large enough for blob uploads at full speed, small enough that streams are passed on at once:
// a read returns whatever has arrived, however little.
constexpr std::size_t relay_buffer_size = 64 * 1024;

// The relay buffer for a body of `length` bytes (unknown: streamed): no larger than the body.
std::size_t relay_buffer_for(boost::optional<std::uint64_t> length) {
  return length ? static_cast<std::size_t>(std::clamp<std::uint64_t>(*length, 1, relay_buffer_size))
                : relay_buffer_size;
}

// The most buffer memory an idle keep-alive client connection keeps from its last request.
constexpr std::size_t idle_client_buffer_limit = 4 * 1024;

// Where the request body comes from: the client connection, or bytes the proxy already holds.
struct body_source {
  request_parser<http::buffer_body>* streaming = nullptr;
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

// Writes `w` to the upstream within the idle timeout.
awaitable<error_code> write_upstream(upstream_connection& conn, const framed_write& w,
                                     const config& cfg) {
  conn.stream.expires_after(cfg.idle_timeout);
  auto [ec, n] = co_await net::async_write(conn.stream, w.buffers(), use_tuple);
  co_return ec ? classify_upstream_error(ec, false) : error_code{};
}

// Fills the parser's body buffer with the next piece of the client's body: parsed straight from
// the bytes already read when there are any (a small body usually arrives with its header),
// otherwise read within the idle timeout.
awaitable<error_code>
read_body_piece(client_side& client, request_parser<http::buffer_body>& parser, const config& cfg) {
  if (client.buffer.size() > 0) {
    error_code ec;
    client.buffer.consume(parser.put(client.buffer.data(), ec));
    if (!ec || ec == http::error::need_buffer) {
      co_return error_code{};
    }
    if (ec != http::error::need_more) {
      co_return ec;
    }
  }
  client.stream.expires_after(cfg.idle_timeout);
  auto [ec, n] = co_await http::async_read_some(client.stream, client.buffer, parser, use_tuple);
  co_return ec == http::error::need_buffer ? error_code{} : ec;
}

// Sends the upstream request: `head`, then the client's body streamed and re-framed for the
// upstream connection. The head travels with the first body piece when that piece has already
// arrived, and alone at once otherwise.
awaitable<error_code> send_streamed_body(client_side& client, upstream_connection& conn,
                                         request_parser<http::buffer_body>& parser,
                                         std::string head, bool chunked, const config& cfg,
                                         std::uint64_t& bytes_in, bool& client_failed) {
  if (client.buffer.size() == 0) {
    if (auto ec = co_await write_upstream(conn, framed_write{head, {}, false, false}, cfg)) {
      co_return ec;
    }
    head.clear();
  }
  std::size_t buffer_size = relay_buffer_for(parser.content_length());
  auto buffer = std::make_unique_for_overwrite<char[]>(buffer_size);
  bool large = false;
  while (!parser.is_done()) {
    parser.get().body().data = buffer.get();
    parser.get().body().size = buffer_size;
    if (auto rec = co_await read_body_piece(client, parser, cfg)) {
      client_failed = true;
      co_return rec;
    }
    std::size_t got = buffer_size - parser.get().body().size;
    bool last = parser.is_done();
    if (got == 0 && !last) {
      continue;
    }
    bytes_in += got;
    framed_write w{head, net::buffer(buffer.get(), got), chunked, last};
    if (auto ec = co_await write_upstream(conn, w, cfg)) {
      co_return ec;
    }
    head.clear();
    if (!large && !last) {
      // Beast reads at most the free capacity of the flat buffer (at least 512 bytes): give a
      // large body room for large reads. The memory goes back after the request.
      client.buffer.reserve(relay_buffer_size);
      large = true;
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

// How far one relayed exchange has got, shared between the response phase and the disconnect
// watch (both on the client connection's I/O thread).
struct relay_progress {
  upstream_lease conn;            // null once given back to the pool
  bool response_complete = false; // the write ending the response has been started
  bool client_gone = false;       // the client closed before the response was complete
};

// Reads the upstream response and streams it to the client. Runs while the client is watched for
// a disconnect, which closes the upstream connection under it.
// Fills `out` as it goes, so that a disconnect noticed by the watch keeps what was already sent.
awaitable<void> relay_response(client_side& client, services& svc, response_plan plan,
                               request_outcome& out, relay_progress& progress) {
  const config& cfg = svc.cfg;
  upstream_connection& conn = *progress.conn;
  std::optional<response_parser<http::buffer_body>> head_parser;
  auto head_read = co_await read_response_head(
      conn, head_parser, {.body = boost::none, .skip_body = plan.method == http::verb::head}, cfg);
  if (auto ec = head_read.ec) {
    if (progress.client_gone) {
      co_return; // the watch closed the connection: nobody is left to answer
    }
    svc.rec.upstream_failed(upstream_failure_kind(ec));
    auto written = co_await write_error(client, plan.client_version, false, ec, cfg);
    out.status = written.status;
    out.bytes_out = written.bytes_out;
    out.client_gone = written.client_gone;
    co_return;
  }

  auto& parser = *head_parser;
  const auto& upstream_res = parser.get();
  unsigned status = upstream_res.result_int();
  if (status >= 500) {
    svc.rec.upstream_failed(metrics::upstream_failure::status_5xx);
  }
  bool body = response_has_body(plan.method, status);
  bool chunked = false;
  bool close_delimited = false;
  auto length = parser.content_length();
  std::string framing;
  if (!body) {
    if (auto upstream_length = upstream_res[http::field::content_length];
        !upstream_length.empty()) {
      append_field(framing, "Content-Length", upstream_length); // HEAD answers keep the length
    }
  } else if (length) {
    append_content_length(framing, *length);
  } else if (plan.client_version >= 11) {
    chunked = true;
    append_field(framing, "Transfer-Encoding", "chunked");
  } else {
    close_delimited = true; // HTTP/1.0: the body ends when the connection closes
  }
  // After a CONNECT the client may already be sending tunnel bytes the proxy does not relay:
  // whatever the answer, the connection ends with it.
  out.keep_alive = plan.client_keep_alive && !close_delimited &&
                   plan.method != http::verb::connect &&
                   !svc.stopping.load(std::memory_order_relaxed);
  out.status = status;

  auto write_client = [&](const framed_write& w) -> awaitable<bool> {
    client.stream.expires_after(cfg.idle_timeout);
    auto [ec, n] = co_await net::async_write(client.stream, w.buffers(), use_tuple);
    if (ec) {
      out.client_gone = true;
      out.keep_alive = false;
    }
    co_return !ec;
  };

  // A body that is already here whole leaves with the head in one write. Otherwise the head leaves
  // at once, so that a streamed answer starts before its first piece.
  std::string head =
      relayed_response_head(upstream_res, plan.client_version, framing, out.keep_alive);
  bool whole_body_here = parser.is_done() || (length && conn.buffer.size() >= *length);
  if (!whole_body_here) {
    if (!co_await write_client(framed_write{head, {}, false, false})) {
      co_return;
    }
    head.clear();
    conn.buffer.reserve(relay_buffer_size); // room for large reads while the body streams
  }

  bool tap_generation =
      plan.r == metrics::route::api_generate || plan.r == metrics::route::api_chat;
  generation_tap tap;
  clock::time_point first_byte{};
  std::size_t buffer_size = relay_buffer_for(length);
  auto buffer = std::make_unique_for_overwrite<char[]>(buffer_size);
  for (bool last = false; !last;) {
    std::size_t got = 0;
    if (!parser.is_done()) {
      parser.get().body().data = buffer.get();
      parser.get().body().size = buffer_size;
      conn.stream.expires_after(cfg.idle_timeout);
      auto [rec, n] = co_await http::async_read_some(conn.stream, conn.buffer, parser, use_tuple);
      if (rec && rec != http::error::need_buffer) {
        // The head is gone (a body that was here whole cannot fail): all that is left is to end
        // the response early, so the client sees a truncated body rather than a complete one.
        // A client that left closed the upstream connection itself (the read then fails with
        // operation_aborted, or bad_descriptor when it started after the close): not Ollama's
        // failure.
        if (!progress.client_gone && rec != net::error::operation_aborted) {
          svc.rec.upstream_failed(upstream_failure_kind(classify_upstream_error(rec, false)));
        }
        out.keep_alive = false;
        co_return;
      }
      got = buffer_size - parser.get().body().size;
    }
    last = parser.is_done();
    if (last && parser.keep_alive() && progress.conn) {
      // Back to the pool before the last piece reaches the client, so that the client's next
      // request finds it there.
      svc.up.give_back(std::move(progress.conn));
    }
    if (got == 0 && !last) {
      continue;
    }
    if (got > 0 && first_byte == clock::time_point{}) {
      first_byte = clock::now();
    }
    // From here a client that closes has read the whole answer (or the write below fails).
    progress.response_complete = last;
    if (!co_await write_client(framed_write{head, net::buffer(buffer.get(), got), chunked, last})) {
      co_return;
    }
    head.clear();
    out.bytes_out += got;
    if (tap_generation) {
      tap.feed({buffer.get(), got});
    }
  }

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

// What the relay needs of the client's request message.
struct client_request {
  const http::request_header<>& header;
  bool keep_alive;
  bool announces_body; // Content-Length or chunked
};

template <typename Body>
client_request client_request_of(const http::request<Body>& message) {
  return {message.base(), keeps_alive(message.base()),
          message.has_content_length() || message.chunked()};
}

awaitable<request_outcome> relay(client_side& client, services& svc, client_request request,
                                 body_source source, metrics::route r) {
  const config& cfg = svc.cfg;
  const http::request_header<>& header = request.header;
  bool streaming_body = source.streaming != nullptr && !source.streaming->is_done();
  bool client_keep_alive = request.keep_alive;

  std::string framing;
  bool chunked_upload = false;
  if (source.streaming == nullptr) {
    if (!source.buffered.empty() || request.announces_body) {
      append_content_length(framing, source.buffered.size());
    }
  } else if (auto length = source.streaming->content_length()) {
    append_content_length(framing, *length);
  } else if (streaming_body) {
    chunked_upload = true;
    append_field(framing, "Transfer-Encoding", "chunked");
  }
  std::string head = upstream_request_head(
      header, forward_context{client.ip, svc.up.authority(), cfg.preserve_host}, framing);

  upstream_call_scope in_flight{svc.rec};
  auto connected = co_await svc.up.connect(client.stream.get_executor());
  if (!connected) {
    // An unread request body leaves the connection out of step: close it after the reply.
    co_return co_await write_error(client, header.version(), client_keep_alive && !streaming_body,
                                   connected.error(), cfg);
  }
  upstream_connection& conn = **connected;

  request_outcome out;
  if (streaming_body) {
    if (auto ec = co_await continue_if_expected(client, header, cfg)) {
      out.client_gone = true;
      co_return out;
    }
  }

  error_code send_ec;
  bool client_failed = false;
  if (streaming_body) {
    send_ec = co_await send_streamed_body(client, conn, *source.streaming, std::move(head),
                                          chunked_upload, cfg, out.bytes_in, client_failed);
  } else {
    send_ec = co_await write_upstream(
        conn, framed_write{head, net::buffer(source.buffered), false, true}, cfg);
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

  relay_progress progress{std::move(*connected)};
  response_plan plan{header.method(), header.version(), client_keep_alive, r};
  disconnect_watch watch{client.stream.socket(), [p = &progress] {
                           if (p->response_complete) {
                             return; // the whole answer was handed to the socket before the close
                           }
                           p->client_gone = true;
                           if (p->conn) {
                             p->conn->stream.close(); // ends the response phase
                           }
                         }};
  co_await relay_response(client, svc, plan, out, progress);
  watch.stop();
  if (progress.client_gone) {
    out.client_gone = true;
    out.keep_alive = false;
  }
  co_return out;
}

} // namespace

awaitable<request_outcome> relay_streaming(client_side& client, services& svc,
                                           request_parser<http::empty_body>& parser,
                                           metrics::route r) {
  request_parser<http::buffer_body> body_parser{std::move(parser)};
  auto out = co_await relay(client, svc, client_request_of(body_parser.get()),
                            body_source{&body_parser, {}}, r);
  if (client.buffer.capacity() > idle_client_buffer_limit) {
    client.buffer.shrink_to_fit(); // idle keep-alive connections keep only a small buffer
  }
  co_return out;
}

awaitable<request_outcome> relay_buffered(client_side& client, services& svc,
                                          const http::request<http::empty_body>& header,
                                          std::string body, metrics::route r) {
  co_return co_await relay(client, svc, client_request_of(header), body_source{nullptr, body}, r);
}

} // namespace meter
