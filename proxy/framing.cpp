// Message heads and gathered writes; see framing.hpp.
#include "proxy/framing.hpp"

#include <charconv>

#include <boost/beast/http/status.hpp>

namespace meter {

namespace http = boost::beast::http;
namespace net = boost::asio;

namespace {

// Beast's field container already holds every field the connection needs (framing, Connection):
// a head is the start line and those fields, as Beast's serializer writes them, without copying
// the header into a message first.
void append_fields(std::string& out, const http::fields& fields) {
  for (const auto& f : fields) {
    out.append(f.name_string());
    out.append(": ");
    out.append(f.value());
    out.append("\r\n");
  }
  out.append("\r\n");
}

void append_version(std::string& out, unsigned version) {
  out.append("HTTP/");
  out.push_back(static_cast<char>('0' + version / 10));
  out.push_back('.');
  out.push_back(static_cast<char>('0' + version % 10));
}

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view last_chunk = "0\r\n\r\n";

} // namespace

std::string serialized_head(const http::request_header<>& head) {
  std::string out;
  out.reserve(256);
  out.append(head.method_string());
  out.push_back(' ');
  out.append(head.target());
  out.push_back(' ');
  append_version(out, head.version());
  out.append("\r\n");
  append_fields(out, head);
  return out;
}

std::string serialized_head(const http::response_header<>& head) {
  std::string out;
  out.reserve(256);
  append_version(out, head.version());
  char code[4];
  auto [end, ec] = std::to_chars(code, code + sizeof code, head.result_int());
  out.push_back(' ');
  out.append(code, end);
  out.push_back(' ');
  auto reason = head.reason();
  out.append(reason.empty() ? http::obsolete_reason(head.result()) : reason);
  out.append("\r\n");
  append_fields(out, head);
  return out;
}

framed_write::framed_write(std::string_view head, net::const_buffer data, bool chunked, bool last) {
  parts_[0] = net::buffer(head);
  if (!chunked) {
    parts_[2] = data;
    return;
  }
  if (data.size() > 0) {
    auto [end, ec] = std::to_chars(size_line_.data(), size_line_.data() + size_line_.size() - 2,
                                   data.size(), 16);
    *end++ = '\r';
    *end++ = '\n';
    parts_[1] = net::buffer(size_line_.data(), static_cast<std::size_t>(end - size_line_.data()));
    parts_[2] = data;
    parts_[3] = net::buffer(crlf);
  }
  if (last) {
    parts_[4] = net::buffer(last_chunk);
  }
}

std::size_t framed_write::size() const {
  return net::buffer_size(parts_);
}

} // namespace meter
