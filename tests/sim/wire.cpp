// net/http-style response heads and chunk framing.
#include "tests/sim/wire.hpp"

#include "tests/sim/go_format.hpp"

#include <algorithm>
#include <charconv>

namespace meter::sim {

std::string canonical_header_key(std::string_view name) {
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 32);
    } else if (!upper && c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + 32);
    }
    upper = c == '-';
  }
  return out;
}

bool body_allowed(unsigned status) {
  return !(status >= 100 && status < 200) && status != 204 && status != 304;
}

framing framing_for_body(bool head_request, unsigned status, bool http11, std::size_t size,
                         bool force_chunked) {
  if (!body_allowed(status)) {
    return framing::none;
  }
  if (head_request) {
    return size <= go_buffer_size ? framing::content_length : framing::none;
  }
  if (force_chunked && http11) {
    return framing::chunked;
  }
  if (size <= go_buffer_size || force_chunked) {
    return framing::content_length;
  }
  return http11 ? framing::chunked : framing::close_delimited;
}

framing framing_for_stream(bool head_request, unsigned status, bool http11) {
  if (!body_allowed(status) || head_request) {
    return framing::none;
  }
  return http11 ? framing::chunked : framing::close_delimited;
}

std::string serialize_head(const head_spec& head) {
  std::string out;
  out.reserve(256);
  out.append(head.http11 ? "HTTP/1.1 " : "HTTP/1.0 ");
  out.append(std::to_string(head.status));
  out.push_back(' ');
  out.append(go_reason_phrase(head.status));
  out.append("\r\n");

  std::vector<std::pair<std::string, std::string>> sorted;
  sorted.reserve(head.headers.size());
  for (const auto& [k, v] : head.headers) {
    sorted.emplace_back(canonical_header_key(k), v);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [k, v] : sorted) {
    out.append(k).append(": ").append(v).append("\r\n");
  }
  out.append("Date: ").append(head.date).append("\r\n");
  if (head.frame == framing::content_length) {
    out.append("Content-Length: ").append(std::to_string(head.content_length)).append("\r\n");
  }
  if (head.connection_close && head.http11) {
    out.append("Connection: close\r\n");
  } else if (head.connection_keep_alive && !head.http11) {
    out.append("Connection: keep-alive\r\n");
  }
  if (head.frame == framing::chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  out.append("\r\n");
  return out;
}

void append_chunk(std::string& out, std::string_view data, std::string_view extension) {
  if (data.empty()) {
    return;
  }
  char size[20];
  auto end = std::to_chars(size, size + sizeof size, data.size(), 16).ptr;
  out.append(size, end);
  out.append(extension);
  out.append("\r\n");
  out.append(data);
  out.append("\r\n");
}

void append_chunk_header(std::string& out, std::size_t size) {
  if (size == 0) {
    return;
  }
  char digits[20];
  auto end = std::to_chars(digits, digits + sizeof digits, size, 16).ptr;
  out.append(digits, end);
  out.append("\r\n");
}

void append_last_chunk(std::string& out, const header_list& trailers) {
  out.append("0\r\n");
  for (const auto& [k, v] : trailers) {
    out.append(k).append(": ").append(v).append("\r\n");
  }
  out.append("\r\n");
}

} // namespace meter::sim
