// Message heads and gathered writes; see framing.hpp.
#include "proxy/framing.hpp"

#include <charconv>

#include <boost/beast/http/status.hpp>

namespace meter {

namespace http = boost::beast::http;
namespace net = boost::asio;

namespace {

void append_version(std::string& out, unsigned version) {
  out.append("HTTP/");
  out.push_back(static_cast<char>('0' + version / 10));
  out.push_back('.');
  out.push_back(static_cast<char>('0' + version % 10));
}

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view last_chunk = "0\r\n\r\n";

} // namespace

void append_request_line(std::string& out, std::string_view method, std::string_view target,
                         unsigned version) {
  out.append(method);
  out.push_back(' ');
  out.append(target);
  out.push_back(' ');
  append_version(out, version);
  out.append(crlf);
}

void append_status_line(std::string& out, unsigned version, unsigned code,
                        std::string_view reason) {
  append_version(out, version);
  char digits[8];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, code);
  out.push_back(' ');
  out.append(digits, end);
  out.push_back(' ');
  out.append(reason.empty()
                 ? std::string_view{http::obsolete_reason(static_cast<http::status>(code))}
                 : reason);
  out.append(crlf);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append(crlf);
}

void append_content_length(std::string& out, std::uint64_t length) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, length);
  append_field(out, "Content-Length", std::string_view(digits, end));
}

std::string serialized_head(const http::response_header<>& head) {
  std::string out;
  out.reserve(256);
  append_status_line(out, head.version(), head.result_int(), head.reason());
  for (const auto& f : head) {
    append_field(out, f.name_string(), f.value());
  }
  out.append(crlf);
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
