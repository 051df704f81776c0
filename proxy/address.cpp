// Parsing of upstream and listen addresses (see config.hpp).
#include "proxy/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "proxy/config_values.hpp"

namespace meter {
namespace {

using config_values::iequals;
using config_values::is_space;
using config_values::parse_unsigned;
using config_values::shown;
using reason = std::optional<std::string>;

// Go's client trims whitespace and then quotes from OLLAMA_HOST; we trim both until stable.
std::string_view trim_address(std::string_view s) noexcept {
  while (!s.empty() && (is_space(s.front()) || s.front() == '"' || s.front() == '\'')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (is_space(s.back()) || s.back() == '"' || s.back() == '\'')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_ipv6(std::string_view host) {
  const std::string bare(host.substr(0, host.find('%'))); // a zone (%eth0) is not checked
  in6_addr address{};
  return inet_pton(AF_INET6, bare.c_str(), &address) == 1;
}

reason check_host_name(std::string_view host) {
  const bool ok = std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
  if (!ok) {
    return "invalid host name " + shown(host);
  }
  return std::nullopt;
}

reason parse_port(std::string_view text, std::uint16_t min, std::uint16_t& port) {
  if (text.empty()) {
    return std::string("missing port after ':'");
  }
  const auto value = parse_unsigned<std::uint32_t>(text);
  if (!value || *value < min || *value > 65535) {
    return fmt::format("invalid port {} (expected {}-65535)", shown(text), min);
  }
  port = static_cast<std::uint16_t>(*value);
  return std::nullopt;
}

// Splits "[v6]", "[v6]:port", "host", "host:port" or ":port". `port_text` is null when there is
// no port; bare IPv6 literals are left to the caller.
struct host_port {
  std::string_view host;
  std::optional<std::string_view> port;
};

std::variant<host_port, address_error> split_host_port(std::string_view s) {
  if (s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) {
      return address_error{"missing ']' after an IPv6 address"};
    }
    const std::string_view host = s.substr(1, close - 1);
    if (!is_ipv6(host)) {
      return address_error{"invalid IPv6 address " + shown(host)};
    }
    const std::string_view rest = s.substr(close + 1);
    if (rest.empty()) {
      return host_port{host, std::nullopt};
    }
    if (rest.front() != ':') {
      return address_error{"unexpected " + shown(rest) + " after ']'"};
    }
    return host_port{host, rest.substr(1)};
  }
  const auto colon = s.find(':');
  if (colon == std::string_view::npos) {
    return host_port{s, std::nullopt};
  }
  std::string_view host = s.substr(0, colon);
  if (host.empty()) {
    host = "127.0.0.1";
  }
  return host_port{host, s.substr(colon + 1)};
}

} // namespace

std::string endpoint_address::authority() const {
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

std::variant<endpoint_address, address_error> parse_upstream_address(std::string_view text) {
  std::string_view s = trim_address(text);
  if (s.empty()) {
    return address_error{"empty address"};
  }
  std::uint16_t default_port = 11434;
  if (const auto scheme_end = s.find("://"); scheme_end != std::string_view::npos) {
    const std::string_view scheme = s.substr(0, scheme_end);
    if (iequals(scheme, "https")) {
      return address_error{"https:// is not supported: ollama-meter talks plain HTTP to Ollama"};
    }
    if (!iequals(scheme, "http")) {
      return address_error{"unsupported scheme " + shown(scheme) + " (use http:// or none)"};
    }
    default_port = 80;
    s.remove_prefix(scheme_end + 3);
  }
  if (const auto slash = s.find('/'); slash != std::string_view::npos) {
    const std::string_view path = s.substr(slash);
    if (path.find_first_not_of('/') != std::string_view::npos) {
      return address_error{"a path (" + shown(path) + ") is not supported"};
    }
    s = s.substr(0, slash);
  }
  if (s.empty()) {
    return address_error{"missing host"};
  }
  if (s.front() != '[' && std::count(s.begin(), s.end(), ':') > 1) {
    if (!is_ipv6(s)) {
      return address_error{"invalid address " + shown(s)};
    }
    return endpoint_address{std::string(s), default_port}; // a bare IPv6 literal, no port
  }
  auto split = split_host_port(s);
  if (auto* error = std::get_if<address_error>(&split)) {
    return *error;
  }
  const auto& [host, port_text] = std::get<host_port>(split);
  if (host.find(':') == std::string_view::npos) {
    if (auto error = check_host_name(host)) {
      return address_error{*error};
    }
  }
  endpoint_address address{std::string(host), default_port};
  if (port_text) {
    if (auto error = parse_port(*port_text, 1, address.port)) {
      return address_error{*error};
    }
  }
  return address;
}

std::variant<endpoint_address, address_error> parse_listen_address(std::string_view text) {
  const std::string_view s = trim_address(text);
  if (s.empty()) {
    return address_error{"empty address"};
  }
  if (s.find("://") != std::string_view::npos) {
    return address_error{"a listen address has no scheme (expected HOST:PORT)"};
  }
  if (s.front() != '[' && std::count(s.begin(), s.end(), ':') > 1) {
    return address_error{"put an IPv6 address in brackets, e.g. [::1]:11435"};
  }
  auto split = split_host_port(s);
  if (auto* error = std::get_if<address_error>(&split)) {
    return *error;
  }
  const auto& [host, port_text] = std::get<host_port>(split);
  if (!port_text) {
    return address_error{"missing port (expected HOST:PORT or :PORT)"};
  }
  if (host.find(':') == std::string_view::npos) {
    if (auto error = check_host_name(host)) {
      return address_error{*error};
    }
  }
  endpoint_address address{std::string(host), 0};
  if (auto error = parse_port(*port_text, 0, address.port)) {
    return address_error{*error};
  }
  return address;
}

} // namespace meter
