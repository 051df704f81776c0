// Routing, CORS and Host decisions, reproducing Go's ServeMux, gin v1.10.0 and gin-contrib/cors.
#include "tests/sim/http_rules.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstring>

namespace meter::sim {
namespace {

struct route_entry {
  std::string_view method;
  std::string_view pattern;
  route_id id;
};

// Registration order matters: gin's method trees (and so the Allow header) follow the order in
// which each method was first registered in Ollama's routes.go: HEAD, GET, POST, DELETE.
constexpr std::array routes{
    route_entry{"HEAD", "/", route_id::root},
    route_entry{"GET", "/", route_id::root},
    route_entry{"HEAD", "/api/version", route_id::version},
    route_entry{"GET", "/api/version", route_id::version},
    route_entry{"GET", "/api/status", route_id::status},
    route_entry{"POST", "/api/pull", route_id::pull},
    route_entry{"POST", "/api/push", route_id::push},
    route_entry{"HEAD", "/api/tags", route_id::tags},
    route_entry{"GET", "/api/tags", route_id::tags},
    route_entry{"POST", "/api/show", route_id::show},
    route_entry{"DELETE", "/api/delete", route_id::delete_model},
    route_entry{"POST", "/api/me", route_id::me},
    route_entry{"POST", "/api/signout", route_id::signout},
    route_entry{"DELETE", "/api/user/keys/:encodedKey", route_id::user_keys},
    route_entry{"POST", "/api/create", route_id::create},
    route_entry{"POST", "/api/blobs/:digest", route_id::blobs},
    route_entry{"HEAD", "/api/blobs/:digest", route_id::blobs},
    route_entry{"POST", "/api/copy", route_id::copy},
    route_entry{"POST", "/api/experimental/web_search", route_id::web_search},
    route_entry{"POST", "/api/experimental/web_fetch", route_id::web_fetch},
    route_entry{"GET", "/api/experimental/model-recommendations", route_id::recommendations},
    route_entry{"GET", "/api/ps", route_id::ps},
    route_entry{"POST", "/api/generate", route_id::generate},
    route_entry{"POST", "/api/chat", route_id::chat},
    route_entry{"POST", "/api/embed", route_id::embed},
    route_entry{"POST", "/api/embeddings", route_id::embeddings},
    route_entry{"POST", "/v1/chat/completions", route_id::v1_chat},
    route_entry{"POST", "/v1/completions", route_id::v1_completions},
    route_entry{"POST", "/v1/embeddings", route_id::v1_embeddings},
    route_entry{"GET", "/v1/models", route_id::v1_models},
    route_entry{"GET", "/v1/models/:model", route_id::v1_model},
    route_entry{"POST", "/v1/responses", route_id::v1_responses},
    route_entry{"POST", "/v1/audio/transcriptions", route_id::v1_audio},
    route_entry{"POST", "/v1/messages", route_id::v1_messages},
};

constexpr std::array<std::string_view, 4> tree_order{"HEAD", "GET", "POST", "DELETE"};

// Matches a gin pattern; ":name" matches one non-empty segment.
bool match_pattern(std::string_view pattern, std::string_view path, std::string& param) {
  while (!pattern.empty()) {
    std::size_t colon = pattern.find(':');
    if (colon == std::string_view::npos) {
      return pattern == path;
    }
    if (path.substr(0, colon) != pattern.substr(0, colon)) {
      return false;
    }
    path.remove_prefix(colon);
    pattern.remove_prefix(colon);
    std::size_t pattern_end = pattern.find('/');
    std::size_t path_end = path.find('/');
    std::string_view value = path.substr(0, path_end);
    if (value.empty()) {
      return false;
    }
    param.assign(value);
    pattern.remove_prefix(pattern_end == std::string_view::npos ? pattern.size() : pattern_end);
    path.remove_prefix(value.size());
  }
  return path.empty();
}

const route_entry* find_route(std::string_view method, std::string_view path, std::string& param) {
  for (const auto& r : routes) {
    if (r.method == method && match_pattern(r.pattern, path, param)) {
      return &r;
    }
  }
  return nullptr;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) {
      return std::nullopt;
    }
    int hi = hex_value(in[i + 1]);
    int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// url.URL.String()'s escaping of a path.
std::string escape_path(std::string_view path) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : path) {
    unsigned char c = static_cast<unsigned char>(ch);
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                std::strchr("-_.~$&+,/:;=@!*'()", c) != nullptr;
    if (keep && c != 0) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// Go's path.Clean.
std::string clean(std::string_view p) {
  if (p.empty()) {
    return ".";
  }
  bool rooted = p.front() == '/';
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string_view::npos) {
      j = p.size();
    }
    std::string_view seg = p.substr(i, j - i);
    if (seg.empty() || seg == ".") {
      // skip
    } else if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(seg);
      }
    } else {
      parts.push_back(seg);
    }
    i = j + 1;
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) {
      out.push_back('/');
    }
    out.append(parts[k]);
  }
  if (out.empty()) {
    return ".";
  }
  return out;
}

// net/http's cleanPath: path.Clean that keeps a trailing slash.
std::string clean_path(std::string_view p) {
  if (p.empty()) {
    return "/";
  }
  std::string rooted = p.front() == '/' ? std::string(p) : "/" + std::string(p);
  std::string np = clean(rooted);
  if (rooted.back() == '/' && np != "/") {
    np.push_back('/');
  }
  return np;
}

// What http.Redirect does to a local URL: clean the path, keep a trailing slash and the query.
std::string redirect_location(std::string_view url) {
  std::string_view query;
  if (std::size_t q = url.find('?'); q != std::string_view::npos) {
    query = url.substr(q);
    url = url.substr(0, q);
  }
  bool trailing = url.size() > 1 && url.back() == '/';
  std::string out = clean(url);
  if (trailing && out.back() != '/') {
    out.push_back('/');
  }
  out.append(query);
  return out;
}

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

std::string_view target_query(std::string_view target) {
  std::size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string{} : std::string(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

route_decision route_request(std::string_view method, std::string_view target,
                             std::string_view forwarded_prefix) {
  route_decision d;
  std::string_view raw_path = target.substr(0, target.find('?'));
  std::string_view raw_query = target_query(target);
  if (starts_with(raw_path, "http://") || starts_with(raw_path, "https://")) {
    std::size_t slash = raw_path.find('/', raw_path.find("//") + 2);
    raw_path = slash == std::string_view::npos ? std::string_view("/") : raw_path.substr(slash);
  }
  auto decoded = percent_decode(raw_path);
  if (!decoded || raw_path.empty() || raw_path.front() != '/') {
    d.what = raw_path == "*" ? route_decision::kind::not_found : route_decision::kind::bad_request;
    return d;
  }
  const std::string& path = *decoded;

  if (starts_with(path, "/_sim/")) {
    d.sim_internal = true;
    std::string_view want = path == "/_sim/reset" ? "POST" : "GET";
    route_id id = path == "/_sim/stats" ? route_id::sim_stats
                  : path == "/_sim/log" ? route_id::sim_log
                                        : route_id::sim_reset;
    if (path != "/_sim/stats" && path != "/_sim/log" && path != "/_sim/reset") {
      return d;
    }
    if (method != want) {
      d.what = route_decision::kind::method_not_allowed;
      d.allow = std::string(want);
      return d;
    }
    d.what = route_decision::kind::handler;
    d.id = id;
    return d;
  }

  // Go's ServeMux redirects unclean paths before gin (and its middleware) sees the request.
  if (method != "CONNECT") {
    std::string cleaned = clean_path(path);
    if (cleaned != path) {
      d.what = route_decision::kind::redirect;
      d.status = 301;
      d.location = escape_path(cleaned);
      if (!raw_query.empty()) {
        d.location += "?" + std::string(raw_query);
      }
      d.runs_middleware = false;
      return d;
    }
  }

  if (const route_entry* r = find_route(method, path, d.param)) {
    d.what = route_decision::kind::handler;
    d.id = r->id;
    return d;
  }

  // gin: a trailing-slash variant registered for this method gives a redirect, without middleware.
  if (path != "/") {
    std::string other = path.back() == '/' ? path.substr(0, path.size() - 1) : path + "/";
    std::string ignored;
    if (find_route(method, other, ignored) != nullptr) {
      std::string p = path;
      std::string prefix = clean(forwarded_prefix);
      if (prefix != ".") {
        std::string safe;
        for (char c : prefix) {
          if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '-') {
            if (!(c == '/' && !safe.empty() && safe.back() == '/')) {
              safe.push_back(c);
            }
          }
        }
        p = safe + "/" + path;
      }
      std::string next = p.size() > 1 && p.back() == '/' ? p.substr(0, p.size() - 1) : p + "/";
      std::string url = escape_path(next);
      if (!raw_query.empty()) {
        url += "?" + std::string(raw_query);
      }
      d.what = route_decision::kind::redirect;
      d.status = method == "GET" ? 301 : 307;
      d.location = redirect_location(url);
      d.runs_middleware = false;
      return d;
    }
  }

  std::string allow;
  for (std::string_view tree : tree_order) {
    if (tree == method) {
      continue;
    }
    std::string ignored;
    if (find_route(tree, path, ignored) != nullptr) {
      if (!allow.empty()) {
        allow += ", ";
      }
      allow += tree;
    }
  }
  if (!allow.empty()) {
    d.what = route_decision::kind::method_not_allowed;
    d.allow = std::move(allow);
  }
  return d;
}

std::string redirect_body(unsigned status, std::string_view location) {
  std::string escaped;
  for (char c : location) {
    switch (c) {
    case '<': escaped += "&lt;"; break;
    case '>': escaped += "&gt;"; break;
    case '&': escaped += "&amp;"; break;
    case '\'': escaped += "&#39;"; break;
    case '"': escaped += "&#34;"; break;
    default: escaped.push_back(c);
    }
  }
  return "<a href=\"" + escaped + "\">" + (status == 301 ? "Moved Permanently" : "Temporary Redirect") +
         "</a>.\n\n";
}

cors_policy make_cors_policy(const std::vector<std::string>& extra) {
  std::vector<std::string> origins = extra;
  for (std::string_view host : {"localhost", "127.0.0.1", "0.0.0.0"}) {
    for (std::string_view scheme : {"http", "https"}) {
      origins.push_back(std::string(scheme) + "://" + std::string(host));
      origins.push_back(std::string(scheme) + "://" + std::string(host) + ":*");
    }
  }
  for (std::string_view o : {"app://*", "file://*", "tauri://*", "vscode-webview://*",
                             "vscode-file://*"}) {
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
      p.wildcards.emplace_back(o.substr(0, star - 1), "*");  // gin-contrib drops the char before '*'
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
    if (colon != std::string_view::npos && host_header.find(':', colon + 1) == std::string_view::npos) {
      host = std::string(host_header.substr(0, colon));
    }
  }

  std::string address = host.substr(0, host.find('%'));  // netip accepts IPv6 zones
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
  bool allowed = name.empty() || name == "localhost" || (!hostname.empty() && name == lower(hostname)) ||
                 ends_with(name, ".localhost") || ends_with(name, ".local") ||
                 ends_with(name, ".internal");
  if (!allowed) {
    return {host_outcome::kind::forbidden};
  }
  if (method == "OPTIONS") {
    return {host_outcome::kind::no_content};
  }
  return {};
}

} // namespace meter::sim
