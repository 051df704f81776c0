// Message heads and gathered writes; see framing.hpp.
#include "proxy/framing.hpp"

#include <charconv>

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>

namespace meter {

namespace http = boost::beast::http;
namespace net = boost::asio;

namespace {

template <bool isRequest>
std::string head_bytes(const http::header<isRequest>& head) {
  http::message<isRequest, http::empty_body> message{head};
  http::serializer<isRequest, http::empty_body> serializer{message};
  serializer.split(true);
  std::string out;
  boost::system::error_code ec;
  while (!ec && !serializer.is_header_done()) {
    serializer.next(ec, [&](boost::system::error_code&, const auto& buffers) {
      std::size_t n = 0;
      for (auto b : boost::beast::buffers_range_ref(buffers)) {
        out.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      serializer.consume(n);
    });
  }
  return out;
}

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view last_chunk = "0\r\n\r\n";

} // namespace

std::string serialized_head(const http::request_header<>& head) {
  return head_bytes(head);
}

std::string serialized_head(const http::response_header<>& head) {
  return head_bytes(head);
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
