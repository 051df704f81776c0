// Header forwarding rules; see forwarding.hpp.
#include "proxy/forwarding.hpp"

#include <array>
#include <chrono>
#include <ctime>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace meter {
namespace http = boost::beast::http;

namespace {

bool is_hop_by_hop(http::field f) {
  switch (f) {
  case http::field::connection:
  case http::field::keep_alive:
  case http::field::proxy_connection:
  case http::field::te:
  case http::field::trailer:
  case http::field::transfer_encoding:
  case http::field::upgrade:
  case http::field::content_length:
    return true;
  default:
    return false;
  }
}

} // namespace

void copy_end_to_end_fields(const http::fields& from, http::fields& to) {
  // Fields named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  std::vector<std::string_view> named;
  if (auto it = from.find(http::field::connection); it != from.end()) {
    for (auto token : http::token_list{it->value()}) {
      named.emplace_back(token.data(), token.size());
    }
  }
  for (const auto& f : from) {
    if (is_hop_by_hop(f.name())) {
      continue;
    }
    std::string_view name{f.name_string().data(), f.name_string().size()};
    bool listed = false;
    for (auto n : named) {
      listed = listed || boost::beast::iequals(n, name);
    }
    if (!listed) {
      to.insert(f.name(), f.name_string(), f.value());
    }
  }
}

http::request_header<> upstream_request_header(const http::request_header<>& client,
                                               const forward_context& ctx) {
  http::request_header<> up;
  up.method_string(client.method_string());
  up.target(client.target());
  up.version(11);
  copy_end_to_end_fields(client, up);
  up.erase(http::field::expect);

  auto client_host = client[http::field::host];
  if (!ctx.preserve_host || client_host.empty()) {
    up.set(http::field::host, ctx.upstream_authority);
  }
  std::string xff{client["X-Forwarded-For"]};
  if (!ctx.client_ip.empty()) {
    xff = xff.empty() ? std::string{ctx.client_ip} : xff + ", " + std::string{ctx.client_ip};
  }
  if (!xff.empty()) {
    up.set("X-Forwarded-For", xff);
  }
  if (up.find("X-Forwarded-Proto") == up.end()) {
    up.set("X-Forwarded-Proto", "http");
  }
  if (up.find("X-Forwarded-Host") == up.end() && !client_host.empty()) {
    up.set("X-Forwarded-Host", client_host);
  }
  return up;
}

bool response_has_body(http::verb method, unsigned status) {
  if (method == http::verb::head) {
    return false;
  }
  return !(status / 100 == 1 || status == 204 || status == 304);
}

std::string http_date_now() {
  static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

} // namespace meter
