// Response bytes the way Go's net/http writes them: status line with Go's reason phrase, the
// handler's headers sorted by canonical name, then Date, Content-Length, Connection and
// Transfer-Encoding; Content-Length for bodies up to 2048 bytes and chunked above (one chunk per
// handler write), close-delimited bodies for HTTP/1.0.
#pragma once

#include "tests/sim/http_rules.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace meter::sim {

inline constexpr std::size_t go_buffer_size = 2048; // net/http's bufferBeforeChunkingSize

enum class framing { content_length, chunked, close_delimited, none };

struct head_spec {
  unsigned status = 200;
  bool http11 = true;
  header_list headers; // set by the handler; sorted on output
  framing frame = framing::content_length;
  std::uint64_t content_length = 0;
  bool connection_close = false;      // HTTP/1.1: "Connection: close"
  bool connection_keep_alive = false; // HTTP/1.0 keep-alive: "Connection: keep-alive"
  std::string date;                   // http_date(now)
};

std::string serialize_head(const head_spec& head);

// textproto.CanonicalMIMEHeaderKey: "content-type" -> "Content-Type".
std::string canonical_header_key(std::string_view name);

// Whether a status allows a body (not 1xx, 204, 304).
bool body_allowed(unsigned status);

// Framing for a complete body of `size` bytes, as Go chooses it after the handler returns.
framing framing_for_body(bool head_request, unsigned status, bool http11, std::size_t size,
                         bool force_chunked);

// Framing for a response that flushes while the handler runs (streams).
framing framing_for_stream(bool head_request, unsigned status, bool http11);

// "<hex size>[ext]\r\n<data>\r\n"; empty data appends nothing.
void append_chunk(std::string& out, std::string_view data, std::string_view extension = {});
// "<hex size>\r\n" alone (the data and its CRLF follow separately); nothing for size 0.
void append_chunk_header(std::string& out, std::size_t size);
// "0\r\n" + trailer lines + "\r\n".
void append_last_chunk(std::string& out, const header_list& trailers = {});

} // namespace meter::sim
