// Helpers of the ollama-meter integration tests; see meter_harness.hpp.
#include "tests/integration/meter_harness.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace meter::test {

namespace {

int remaining_ms(steady::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

} // namespace

std::string embed_body(std::string_view model, const std::vector<std::string>& inputs,
                       std::string_view extra) {
  std::string out = "{\"model\":" + nlohmann::json(std::string(model)).dump() + ",\"input\":[";
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    out += (i == 0 ? "" : ",") + nlohmann::json(inputs[i]).dump();
  }
  out += "]";
  out += extra;
  out += "}";
  return out;
}

std::vector<std::string> raw_vectors(std::string_view body) {
  std::vector<std::string> out;
  auto numbers = raw_embedding_numbers(body);
  for (const auto& vector : numbers) {
    std::string text = "[";
    for (std::size_t i = 0; i < vector.size(); ++i) {
      text += (i == 0 ? "" : ",") + vector[i];
    }
    out.push_back(text + "]");
  }
  return out;
}

std::string direct_vector(const std::string& sim_authority, std::string_view model,
                          const std::string& input) {
  auto r = request(sim_authority, "POST", "/api/embed", embed_body(model, {input}),
                   {{"Content-Type", "application/json"}});
  if (r.status != 200) {
    throw std::runtime_error("direct /api/embed answered " + std::to_string(r.status) + ": " +
                             r.body);
  }
  auto vectors = raw_vectors(r.body);
  if (vectors.size() != 1) {
    throw std::runtime_error("direct /api/embed gave " + std::to_string(vectors.size()) +
                             " vectors: " + r.body);
  }
  return vectors.front();
}

std::vector<sim_log_entry> relayed_log(const std::string& sim_authority) {
  std::vector<sim_log_entry> out;
  for (auto& e : sim_log(sim_authority)) {
    if (e.header("user-agent").value_or("").rfind("ollama-meter/", 0) != 0) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

std::vector<sim_log_entry> embed_calls(const std::string& sim_authority) {
  std::vector<sim_log_entry> out;
  for (auto& e : sim_log(sim_authority)) {
    if (e.method == "POST" && e.target.rfind("/api/embed", 0) == 0 &&
        (e.target.size() == 10 || e.target[10] == '?')) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

std::string single_input(const sim_log_entry& call) {
  auto j = parse_json(call.body);
  const auto& input = j.at("input");
  if (!input.is_array() || input.size() != 1 || !input[0].is_string()) {
    throw std::runtime_error("sub-call input is not a one-string array: " + call.body);
  }
  return input[0].get<std::string>();
}

bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& ready,
                std::chrono::milliseconds interval) {
  auto deadline = steady::now() + timeout;
  for (;;) {
    if (ready()) {
      return true;
    }
    if (steady::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(interval);
  }
}

bool stays_true(std::chrono::milliseconds window, const std::function<bool()>& holds,
                std::chrono::milliseconds interval) {
  auto end = steady::now() + window;
  for (;;) {
    if (!holds()) {
      return false;
    }
    if (steady::now() >= end) {
      return true;
    }
    std::this_thread::sleep_for(interval);
  }
}

long open_fds(int pid) {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
  if (ec) {
    return -1;
  }
  long count = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) {
      return -1;
    }
    ++count;
  }
  return count;
}

refusing_port::refusing_port() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd_);
    throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
  }
  port_ = ntohs(addr.sin_port);
}

refusing_port::~refusing_port() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::string refusing_port::authority() const {
  return "127.0.0.1:" + std::to_string(port_);
}

socket_guard::~socket_guard() {
  close();
}

void socket_guard::close() {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

bool send_bytes(int fd, std::string_view data, std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
        throw std::runtime_error("timeout while sending");
      }
      continue;
    }
    return false;
  }
  return true;
}

timed_read read_until_close(int fd, std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  timed_read out;
  char buffer[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return out;
    }
    ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (got <= 0) {
      out.eof = true;
      return out;
    }
    out.pieces.push_back({steady::now(), std::string(buffer, static_cast<std::size_t>(got))});
    out.all.append(buffer, static_cast<std::size_t>(got));
  }
}

timed_read timed_raw_exchange(const std::string& authority, std::string_view bytes,
                              std::chrono::milliseconds timeout) {
  socket_guard fd{connect_to(authority, timeout)};
  if (!send_bytes(fd.fd, bytes, timeout)) {
    throw std::runtime_error("the peer closed while the request was sent");
  }
  return read_until_close(fd.fd, timeout);
}

std::string read_until(int fd, std::string_view needle, std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  std::string out;
  char buffer[4096];
  while (out.find(needle) == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (got <= 0) {
      break;
    }
    out.append(buffer, static_cast<std::size_t>(got));
  }
  return out;
}

double ms_between(steady::time_point from, steady::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

} // namespace meter::test
