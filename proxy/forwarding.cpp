// Header forwarding rules; see forwarding.hpp.
#include "proxy/forwarding.hpp"

#include <array>
#include <chrono>
#include <ctime>
#include <iterator>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include "proxy/framing.hpp"

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

namespace {

// Calls emit(field, name, value) for each end-to-end field of `from`, in order. Fields named in
// Connection are hop-by-hop too (RFC 9110 §7.6.1).
template <typename Emit>
void for_each_end_to_end_field(const http::fields& from, Emit&& emit) {
  const auto [first_connection, end_connection] = from.equal_range(http::field::connection);
  const auto listed = [&](std::string_view name) {
    for (auto it = first_connection; it != end_connection; ++it) {
      for (auto token : http::token_list{it->value()}) {
        if (boost::beast::iequals(token, name)) {
          return true;
        }
      }
    }
    return false;
  };
  const bool any_listed = first_connection != end_connection;
  for (const auto& f : from) {
    if (!is_hop_by_hop(f.name()) && (!any_listed || !listed(f.name_string()))) {
      emit(f.name(), f.name_string(), f.value());
    }
  }
}

// Calls emit(field, name, value) for each field of the request sent upstream for `client`, in
// order: its end-to-end fields but Expect, then Host, X-Forwarded-For, -Proto and -Host as set by
// the proxy (see upstream_request_head).
template <typename Emit>
void for_each_forwarded_field(const http::request_header<>& client, const forward_context& ctx,
                              Emit&& emit) {
  const auto client_host = client[http::field::host];
  const bool replace_host = !ctx.preserve_host || client_host.empty();
  bool has_proto = false;
  bool has_forwarded_host = false;
  for_each_end_to_end_field(
      client, [&](http::field f, std::string_view name, std::string_view value) {
        if (f == http::field::expect || (f == http::field::host && replace_host) ||
            boost::beast::iequals(name, "X-Forwarded-For")) {
          return;
        }
        has_proto = has_proto || boost::beast::iequals(name, "X-Forwarded-Proto");
        has_forwarded_host = has_forwarded_host || boost::beast::iequals(name, "X-Forwarded-Host");
        emit(f, name, value);
      });
  if (replace_host) {
    emit(http::field::host, "Host", ctx.upstream_authority);
  }
  // Earlier hops, from every X-Forwarded-For field in order, then the client.
  std::string hops;
  for (auto [it, last] = client.equal_range("X-Forwarded-For"); it != last; ++it) {
    if (!it->value().empty()) {
      hops.append(hops.empty() ? "" : ", ").append(it->value());
    }
  }
  if (!ctx.client_ip.empty()) {
    hops.append(hops.empty() ? "" : ", ").append(ctx.client_ip);
  }
  if (!hops.empty()) {
    emit(http::field::unknown, "X-Forwarded-For", hops);
  }
  if (!has_proto) {
    emit(http::field::unknown, "X-Forwarded-Proto", "http");
  }
  if (!has_forwarded_host && !client_host.empty()) {
    emit(http::field::unknown, "X-Forwarded-Host", client_host);
  }
}

} // namespace

void copy_end_to_end_fields(const http::fields& from, http::fields& to) {
  for_each_end_to_end_field(from, [&](http::field f, std::string_view name,
                                      std::string_view value) { to.insert(f, name, value); });
}

std::string upstream_request_head(const http::request_header<>& client, const forward_context& ctx,
                                  std::string_view framing) {
  std::string out;
  out.reserve(512);
  append_request_line(out, client.method_string(), client.target(), 11);
  for_each_forwarded_field(client, ctx,
                           [&](http::field, std::string_view name, std::string_view value) {
                             append_field(out, name, value);
                           });
  out.append(framing).append("\r\n");
  return out;
}

std::string relayed_response_head(const http::response_header<>& upstream, unsigned version,
                                  std::string_view framing, bool keep_alive) {
  std::string out;
  out.reserve(512);
  append_status_line(out, version, upstream.result_int(), upstream.reason());
  for_each_end_to_end_field(upstream,
                            [&](http::field, std::string_view name, std::string_view value) {
                              append_field(out, name, value);
                            });
  out.append(framing);
  if (version >= 11 && !keep_alive) {
    append_field(out, "Connection", "close");
  } else if (version < 11 && keep_alive) {
    append_field(out, "Connection", "keep-alive");
  }
  out.append("\r\n");
  return out;
}

bool keeps_alive(const http::fields& fields, unsigned version) {
  bool close = false;
  bool keep_alive = false;
  auto [first, last] = fields.equal_range(http::field::connection);
  for (auto it = first; it != last; ++it) {
    for (auto token : http::token_list{it->value()}) {
      close = close || boost::beast::iequals(token, "close");
      keep_alive = keep_alive || boost::beast::iequals(token, "keep-alive");
    }
  }
  return !close && (version >= 11 || keep_alive);
}

bool has_unsupported_transfer_encoding(const http::request_header<>& request) {
  auto [first, last] = request.equal_range(http::field::transfer_encoding);
  if (first == last) {
    return false;
  }
  return std::next(first) != last || !boost::beast::iequals(first->value(), "chunked");
}

bool response_has_body(http::verb method, unsigned status) {
  if (method == http::verb::head) {
    return false;
  }
  return !(status / 100 == 1 || status == 204 || status == 304);
}

std::string_view http_date_now() {
  // Formatted once a second per thread: every response of the proxy's own carries it.
  thread_local std::time_t formatted_at = -1;
  thread_local char text[40];
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  if (now == formatted_at) {
    return text;
  }
  formatted_at = now;
  static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

} // namespace meter
