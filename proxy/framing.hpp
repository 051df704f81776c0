// How the relay lays bytes out on a connection: a message head as bytes, and one write holding
// whatever is owed at that point (the head not yet sent, a body piece in the connection's
// framing, the end of a chunked body). Gathering these into one write keeps a small exchange at
// one system call per direction. Pure functions; no sockets.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>

namespace meter {

// Pieces of a head, appended to `out` as Beast writes them: "METHOD target HTTP/x.y", "HTTP/x.y
// code reason" (an empty reason becomes the standard one), one "Name: value" field; each with
// its CRLF.
void append_request_line(std::string& out, std::string_view method, std::string_view target,
                         unsigned version);
void append_status_line(std::string& out, unsigned version, unsigned code, std::string_view reason);
void append_field(std::string& out, std::string_view name, std::string_view value);
void append_content_length(std::string& out, std::uint64_t length);

// The status line and every field of `head` (framing and Connection included), ending with the
// blank line: the bytes Beast's serializer writes for it.
std::string serialized_head(const boost::beast::http::response_header<>& head);

// The buffers of one write: `head` (possibly empty), then `data` framed as one chunk when
// `chunked` (nothing for empty data: a zero-size chunk would end the body), then the last chunk
// when `chunked && last`. Refers to `head`, `data` and its own storage for the chunk-size line,
// which must outlive the write. Unused parts are empty buffers.
class framed_write {
public:
  framed_write(std::string_view head, boost::asio::const_buffer data, bool chunked, bool last);
  framed_write(const framed_write&) = delete;
  framed_write& operator=(const framed_write&) = delete;

  const std::array<boost::asio::const_buffer, 5>& buffers() const { return parts_; }
  std::size_t size() const;

private:
  std::array<char, 20> size_line_{}; // hex size and CRLF
  std::array<boost::asio::const_buffer, 5> parts_{};
};

} // namespace meter
