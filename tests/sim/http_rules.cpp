// Routing decisions, reproducing Go's ServeMux and gin v1.10.0 (404, 405 + Allow, redirects).
#include "tests/sim/http_rules.hpp"

#include <algorithm>
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

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
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
    case '<':
      escaped += "&lt;";
      break;
    case '>':
      escaped += "&gt;";
      break;
    case '&':
      escaped += "&amp;";
      break;
    case '\'':
      escaped += "&#39;";
      break;
    case '"':
      escaped += "&#34;";
      break;
    default:
      escaped.push_back(c);
    }
  }
  return "<a href=\"" + escaped + "\">" +
         (status == 301 ? "Moved Permanently" : "Temporary Redirect") + "</a>.\n\n";
}

} // namespace meter::sim
