// Ollama's middleware decisions: CORS (gin-contrib/cors v1.7.2 with Ollama's configuration) and the
// allowed-hosts check.
#include "tests/sim/http_rules.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>

namespace meter::sim {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

} // namespace

cors_policy make_cors_policy(const std::vector<std::string>& extra) {
  std::vector<std::string> origins = extra;
  for (std::string_view host : {"localhost", "127.0.0.1", "0.0.0.0"}) {
    for (std::string_view scheme : {"http", "https"}) {
      origins.push_back(std::string(scheme) + "://" + std::string(host));
      origins.push_back(std::string(scheme) + "://" + std::string(host) + ":*");
    }
  }
  for (std::string_view o :
       {"app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"}) {
    origins.emplace_back(o);
  }
  cors_policy p;
  for (const auto& o : origins) {
    if (o == "*") {
      p.allow_all = true;
      continue;
    }
    std::size_t star = o.find('*');
    if (star == std::string::npos) {
      p.exact.push_back(lower(o));
    } else if (star == 0) {
      p.wildcards.emplace_back("*", o.substr(1));
    } else if (star == o.size() - 1) {
      p.wildcards.emplace_back(o.substr(0, star - 1), "*"); // gin-contrib drops the char before '*'
    } else {
      p.wildcards.emplace_back(o.substr(0, star), o.substr(star + 1));
    }
  }
  return p;
}

cors_outcome apply_cors(const cors_policy& policy, std::string_view method,
                        std::optional<std::string_view> origin, std::string_view host) {
  cors_outcome out;
  if (!origin || origin->empty()) {
    return out;
  }
  std::string h(host);
  if (*origin == "http://" + h || *origin == "https://" + h) {
    return out;
  }
  bool valid = policy.allow_all;
  for (const auto& e : policy.exact) {
    valid |= e == *origin;
  }
  for (const auto& [prefix, suffix] : policy.wildcards) {
    if ((prefix == "*" && ends_with(*origin, suffix)) ||
        (suffix == "*" && starts_with(*origin, prefix)) ||
        (starts_with(*origin, prefix) && ends_with(*origin, suffix))) {
      valid = true;
    }
  }
  if (!valid) {
    out.what = cors_outcome::kind::forbidden;
    return out;
  }
  std::string allow_origin = policy.allow_all ? "*" : std::string(*origin);
  if (method == "OPTIONS") {
    out.what = cors_outcome::kind::preflight;
    out.headers = {
        {"Access-Control-Allow-Headers",
         "Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,"
         "X-Stainless-Arch,X-Stainless-Async,X-Stainless-Custom-Poll-Interval,"
         "X-Stainless-Helper-Method,X-Stainless-Lang,X-Stainless-Os,"
         "X-Stainless-Package-Version,X-Stainless-Poll-Helper,X-Stainless-Retry-Count,"
         "X-Stainless-Runtime,X-Stainless-Runtime-Version,X-Stainless-Timeout"},
        {"Access-Control-Allow-Methods", "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"},
        {"Access-Control-Max-Age", "43200"},
        {"Access-Control-Allow-Origin", allow_origin},
    };
    if (!policy.allow_all) {
      out.headers.emplace_back("Vary", "Origin");
      out.headers.emplace_back("Vary", "Access-Control-Request-Method");
      out.headers.emplace_back("Vary", "Access-Control-Request-Headers");
    }
    return out;
  }
  out.headers.emplace_back("Access-Control-Allow-Origin", allow_origin);
  if (!policy.allow_all) {
    out.headers.emplace_back("Vary", "Origin");
  }
  return out;
}

host_outcome check_host(std::string_view method, std::string_view host_header,
                        std::string_view hostname, const std::vector<std::string>& local_ips) {
  // net.SplitHostPort, falling back to the whole value when it fails.
  std::string host(host_header);
  if (!host_header.empty() && host_header.front() == '[') {
    std::size_t close = host_header.find(']');
    if (close != std::string_view::npos && close + 1 < host_header.size() &&
        host_header[close + 1] == ':' &&
        host_header.find(':', close + 2) == std::string_view::npos) {
      host = std::string(host_header.substr(1, close - 1));
    }
  } else {
    std::size_t colon = host_header.find(':');
    if (colon != std::string_view::npos &&
        host_header.find(':', colon + 1) == std::string_view::npos) {
      host = std::string(host_header.substr(0, colon));
    }
  }

  std::string address = host.substr(0, host.find('%')); // netip accepts IPv6 zones
  unsigned char bytes[16];
  bool is_v4 = ::inet_pton(AF_INET, address.c_str(), bytes) == 1;
  bool is_v6 = !is_v4 && ::inet_pton(AF_INET6, address.c_str(), bytes) == 1;
  if (is_v4 || is_v6) {
    unsigned char v4[4];
    bool mapped = false;
    if (is_v6) {
      static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      mapped = std::memcmp(bytes, prefix, 12) == 0;
      if (mapped) {
        std::memcpy(v4, bytes + 12, 4);
      }
    } else {
      std::memcpy(v4, bytes, 4);
    }
    bool ok = false;
    if (is_v4 || mapped) {
      ok = v4[0] == 127 || v4[0] == 10 || (v4[0] == 172 && (v4[1] & 0xF0) == 16) ||
           (v4[0] == 192 && v4[1] == 168) || (v4[0] | v4[1] | v4[2] | v4[3]) == 0;
    } else {
      static const unsigned char loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
      static const unsigned char zero[16] = {};
      ok = std::memcmp(bytes, loopback, 16) == 0 || std::memcmp(bytes, zero, 16) == 0 ||
           (bytes[0] & 0xFE) == 0xFC;
    }
    char text[64];
    if (!ok && ::inet_ntop(is_v4 ? AF_INET : AF_INET6, bytes, text, sizeof text) != nullptr) {
      ok = std::find(local_ips.begin(), local_ips.end(), std::string(text)) != local_ips.end();
    }
    if (ok) {
      return {};
    }
  }
  std::string name = lower(host);
  bool allowed = name.empty() || name == "localhost" ||
                 (!hostname.empty() && name == lower(hostname)) || ends_with(name, ".localhost") ||
                 ends_with(name, ".local") || ends_with(name, ".internal");
  if (!allowed) {
    return {host_outcome::kind::forbidden};
  }
  if (method == "OPTIONS") {
    return {host_outcome::kind::no_content};
  }
  return {};
}

} // namespace meter::sim
