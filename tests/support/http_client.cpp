// The blocking test HTTP client: sockets with poll deadlines and an incremental response parser.
#include "tests/support/http_client.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace meter::test {
namespace {

using clock = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) {
      return false;
    }
  }
  return true;
}

int remaining_ms(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Bytes come either from a socket (fd >= 0) or only from `buffer` (fd < 0, e.g. parse_response).
struct byte_source {
  int fd = -1;
  clock::time_point deadline;
  std::string buffer;
  bool eof = false;

  // Appends at least one byte to `buffer`; false at EOF. Throws on timeout or socket errors.
  bool fill() {
    if (fd < 0 || eof) {
      eof = true;
      return false;
    }
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      int n = ::poll(&p, 1, remaining_ms(deadline));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n == 0) {
        throw std::runtime_error("timeout waiting for response bytes (received so far: " +
                                 std::to_string(buffer.size()) + " unparsed bytes)");
      }
      char chunk[65536];
      ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
        continue;
      }
      if (got < 0 && errno == ECONNRESET) {
        eof = true;
        return false;
      }
      if (got < 0) {
        throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
      }
      if (got == 0) {
        eof = true;
        return false;
      }
      buffer.append(chunk, static_cast<std::size_t>(got));
      return true;
    }
  }

  // Returns one CRLF- (or LF-) terminated line without its terminator.
  std::string line(const char* what) {
    for (;;) {
      std::size_t at = buffer.find('\n');
      if (at != std::string::npos) {
        std::string out = buffer.substr(0, at);
        buffer.erase(0, at + 1);
        if (!out.empty() && out.back() == '\r') {
          out.pop_back();
        }
        return out;
      }
      if (!fill()) {
        throw std::runtime_error(std::string("connection closed while reading ") + what);
      }
    }
  }
};

using piece_callback = std::function<void(std::string_view)>;

void read_head(byte_source& src, http_response& r) {
  for (;;) {
    std::string status_line = src.line("the status line");
    // "HTTP/1.1 200 OK"
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
      throw std::runtime_error("malformed status line: " + status_line);
    }
    r.version = status_line[7] == '0' ? 10 : 11;
    r.status = static_cast<unsigned>(std::stoul(status_line.substr(9, 3)));
    r.reason = status_line.size() > 13 ? status_line.substr(13) : std::string{};
    r.headers.clear();
    for (;;) {
      std::string field = src.line("headers");
      if (field.empty()) {
        break;
      }
      std::size_t colon = field.find(':');
      if (colon == std::string::npos) {
        throw std::runtime_error("malformed header line: " + field);
      }
      std::string value = field.substr(colon + 1);
      std::size_t b = value.find_first_not_of(" \t");
      std::size_t e = value.find_last_not_of(" \t");
      value = b == std::string::npos ? std::string{} : value.substr(b, e - b + 1);
      r.headers.emplace_back(field.substr(0, colon), std::move(value));
    }
    if (r.status >= 100 && r.status < 200 && r.status != 101) {
      continue; // interim response (100 Continue): the real one follows
    }
    return;
  }
}

void read_body(byte_source& src, http_response& r, bool head_request, const piece_callback& piece) {
  r.body.clear();
  if (head_request || (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304) {
    return;
  }
  auto te = r.header("transfer-encoding");
  if (te && te->find("chunked") != std::string::npos) {
    r.chunked = true;
    for (;;) {
      std::string size_line = src.line("a chunk size");
      std::size_t size = std::stoul(size_line, nullptr, 16); // stops at ';' extensions
      if (size == 0) {
        break;
      }
      while (src.buffer.size() < size + 2) {
        if (!src.fill()) {
          throw std::runtime_error("connection closed inside a chunk; body so far: " + r.body);
        }
      }
      std::string_view data(src.buffer.data(), size);
      r.body.append(data);
      if (piece) {
        piece(data);
      }
      src.buffer.erase(0, size + 2);
    }
    for (;;) {
      std::string trailer = src.line("trailers");
      if (trailer.empty()) {
        break;
      }
      std::size_t colon = trailer.find(':');
      std::string value = colon == std::string::npos ? std::string{} : trailer.substr(colon + 1);
      std::size_t b = value.find_first_not_of(" \t");
      r.trailers.emplace_back(trailer.substr(0, colon),
                              b == std::string::npos ? std::string{} : value.substr(b));
    }
    return;
  }
  if (auto cl = r.header("content-length")) {
    std::size_t size = std::stoull(*cl);
    std::size_t reported = std::min(size, src.buffer.size());
    if (piece && reported > 0) {
      piece(std::string_view(src.buffer).substr(0, reported));
    }
    while (src.buffer.size() < size) {
      if (!src.fill()) {
        throw std::runtime_error("connection closed after " + std::to_string(src.buffer.size()) +
                                 " of " + std::to_string(size) + " body bytes");
      }
      std::size_t now = std::min(size, src.buffer.size());
      if (piece) {
        piece(std::string_view(src.buffer).substr(reported, now - reported));
      }
      reported = now;
    }
    r.body = src.buffer.substr(0, size);
    src.buffer.erase(0, size);
    return;
  }
  r.close_delimited = true;
  if (piece && !src.buffer.empty()) {
    piece(src.buffer);
  }
  for (;;) {
    std::size_t before = src.buffer.size();
    if (!src.fill()) {
      break;
    }
    if (piece) {
      piece(std::string_view(src.buffer).substr(before));
    }
  }
  r.body = std::move(src.buffer);
  src.buffer.clear();
}

void send_all(int fd, std::string_view data, clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) == 0) {
        throw std::runtime_error("timeout while sending the request");
      }
      continue;
    }
    throw std::runtime_error(std::string("send: ") + std::strerror(errno));
  }
}

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

bool has_header(const header_list& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (iequals(h.first, name)) {
      return true;
    }
  }
  return false;
}

streamed_response exchange(const std::string& authority, const std::string& method,
                           const std::string& target, const std::string& body,
                           const header_list& headers, std::chrono::milliseconds timeout,
                           bool keep_pieces) {
  auto deadline = clock::now() + timeout;
  fd_guard fd{connect_to(authority, timeout)};
  streamed_response out;
  send_all(fd.fd, build_request(authority, method, target, body, headers), deadline);
  out.sent_at = clock::now();
  byte_source src{fd.fd, deadline, {}, false};
  read_head(src, out.response);
  out.head_at = clock::now();
  piece_callback piece;
  if (keep_pieces) {
    piece = [&](std::string_view data) { out.pieces.push_back({clock::now(), std::string(data)}); };
  }
  read_body(src, out.response, method == "HEAD", piece);
  return out;
}

} // namespace

std::optional<std::string> http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) {
      return v;
    }
  }
  return std::nullopt;
}

std::vector<std::string> http_response::header_values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) {
      out.push_back(v);
    }
  }
  return out;
}

int connect_to(const std::string& authority, std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  std::size_t colon = authority.rfind(':');
  if (colon == std::string::npos) {
    throw std::runtime_error("authority without a port: " + authority);
  }
  std::string host = authority.substr(0, colon);
  std::string port = authority.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &result); rc != 0) {
    throw std::runtime_error("getaddrinfo " + authority + ": " + ::gai_strerror(rc));
  }
  int fd = ::socket(result->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    ::freeaddrinfo(result);
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  int rc = ::connect(fd, result->ai_addr, result->ai_addrlen);
  ::freeaddrinfo(result);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    } else {
      errno = ETIMEDOUT;
    }
  }
  if (rc != 0) {
    int saved = errno;
    ::close(fd);
    throw std::runtime_error("connect " + authority + ": " + std::strerror(saved));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Blocking from here on, but never for longer than the timeout per call.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

std::string build_request(const std::string& authority, const std::string& method,
                          const std::string& target, const std::string& body,
                          const header_list& headers) {
  std::string out = method + " " + target + " HTTP/1.1\r\n";
  if (!has_header(headers, "host")) {
    out += "Host: " + authority + "\r\n";
  }
  for (const auto& [k, v] : headers) {
    out += k + ": " + v + "\r\n";
  }
  bool framed = has_header(headers, "content-length") || has_header(headers, "transfer-encoding");
  if (!framed && (!body.empty() || method == "POST")) {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

http_response request(const std::string& authority, std::string method, std::string target,
                      std::string body, header_list headers, std::chrono::milliseconds timeout) {
  return exchange(authority, method, target, body, headers, timeout, false).response;
}

streamed_response stream_response(const std::string& authority, std::string method,
                                  std::string target, std::string body, header_list headers,
                                  std::chrono::milliseconds timeout) {
  return exchange(authority, method, target, body, headers, timeout, true);
}

std::vector<timed_chunk> stream_body(const std::string& authority, std::string method,
                                     std::string target, std::string body, header_list headers,
                                     std::chrono::milliseconds timeout) {
  return stream_response(authority, std::move(method), std::move(target), std::move(body),
                         std::move(headers), timeout)
      .pieces;
}

std::string raw_exchange(const std::string& authority, std::string_view bytes,
                         std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  fd_guard fd{connect_to(authority, timeout)};
  send_all(fd.fd, bytes, deadline);
  byte_source src{fd.fd, deadline, {}, false};
  try {
    while (src.fill()) {
    }
  } catch (const std::runtime_error&) {
    // timeout: return what arrived
  }
  return std::move(src.buffer);
}

http_response parse_response(std::string_view raw, bool head_request) {
  byte_source src{-1, clock::now(), std::string(raw), false};
  http_response r;
  read_head(src, r);
  read_body(src, r, head_request, {});
  return r;
}

keepalive_connection::keepalive_connection(std::string authority,
                                           std::chrono::milliseconds connect_timeout)
    : authority_(std::move(authority)), fd_(connect_to(authority_, connect_timeout)) {}

keepalive_connection::~keepalive_connection() {
  close();
}

void keepalive_connection::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void keepalive_connection::send_raw(std::string_view bytes, std::chrono::milliseconds timeout) {
  if (fd_ < 0) {
    throw std::runtime_error("keepalive_connection is closed");
  }
  send_all(fd_, bytes, clock::now() + timeout);
}

http_response keepalive_connection::read_response(bool head_request,
                                                  std::chrono::milliseconds timeout) {
  if (fd_ < 0) {
    throw std::runtime_error("keepalive_connection is closed");
  }
  byte_source src{fd_, clock::now() + timeout, std::move(pending_), false};
  pending_.clear();
  http_response r;
  read_head(src, r);
  read_body(src, r, head_request, {});
  pending_ = std::move(src.buffer);
  return r;
}

http_response keepalive_connection::request(std::string method, std::string target,
                                            std::string body, header_list headers,
                                            std::chrono::milliseconds timeout) {
  send_raw(build_request(authority_, method, target, body, headers), timeout);
  return read_response(method == "HEAD", timeout);
}

bool keepalive_connection::peer_closed(std::chrono::milliseconds wait) {
  if (fd_ < 0) {
    return true;
  }
  if (!pending_.empty()) {
    return false;
  }
  pollfd p{fd_, POLLIN, 0};
  int n = ::poll(&p, 1, static_cast<int>(wait.count()));
  if (n <= 0) {
    return false;
  }
  char c;
  ssize_t got = ::recv(fd_, &c, 1, MSG_PEEK);
  return got == 0 || (got < 0 && errno == ECONNRESET);
}

} // namespace meter::test
