// Ollama's routing and middleware decisions, without sockets: Go ServeMux path cleaning, gin's
// route table (404, 405 with Allow, trailing-slash redirects), CORS (gin-contrib/cors v1.7.2 with
// Ollama's configuration) and the allowed-hosts check.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meter::sim {

using header_list = std::vector<std::pair<std::string, std::string>>;

enum class route_id {
  root,
  version,
  status,
  pull,
  push,
  tags,
  show,
  delete_model,
  me,
  signout,
  user_keys,
  create,
  blobs,
  copy,
  web_search,
  web_fetch,
  recommendations,
  ps,
  generate,
  chat,
  embed,
  embeddings,
  v1_chat,
  v1_completions,
  v1_embeddings,
  v1_models,
  v1_model,
  v1_responses,
  v1_audio,
  v1_messages,
  sim_stats,
  sim_log,
  sim_reset
};

struct route_decision {
  enum class kind { handler, not_found, method_not_allowed, redirect, bad_request };
  kind what = kind::not_found;
  route_id id = route_id::root;
  std::string param;           // :digest, :model, ...
  std::string allow;           // 405 (and leaked into CORS answers): "HEAD, GET"
  unsigned status = 0;         // redirect: 301 or 307
  std::string location;        // redirect target
  bool runs_middleware = true; // redirects skip CORS and the Host check, like gin's
  bool sim_internal = false;   // /_sim/ endpoints
};

// `target` is the raw request-target; `forwarded_prefix` is X-Forwarded-Prefix (or empty).
route_decision route_request(std::string_view method, std::string_view target,
                             std::string_view forwarded_prefix);

// The query string of a target ("a=1&b=2"), or empty.
std::string_view target_query(std::string_view target);
// The value of `name` in a query string, if present (no percent-decoding).
std::optional<std::string> query_value(std::string_view query, std::string_view name);

// Body http.Redirect writes for GET: "<a href=\"/x\">Moved Permanently</a>.\n\n".
std::string redirect_body(unsigned status, std::string_view location);

struct cors_policy {
  bool allow_all = false;
  std::vector<std::string> exact;                             // lower-cased
  std::vector<std::pair<std::string, std::string>> wildcards; // prefix, suffix ("*" = any)
};

// Ollama's default origins plus `extra` (OLLAMA_ORIGINS entries).
cors_policy make_cors_policy(const std::vector<std::string>& extra);

struct cors_outcome {
  enum class kind { pass, forbidden, preflight } what = kind::pass;
  header_list headers; // to add to the response (pass) or the 204 (preflight)
};

cors_outcome apply_cors(const cors_policy& policy, std::string_view method,
                        std::optional<std::string_view> origin, std::string_view host);

struct host_outcome {
  enum class kind { pass, forbidden, no_content } what = kind::pass;
};

// allowedHostsMiddleware as when bound to loopback. `hostname` is the machine's name; `local_ips`
// are the addresses of local interfaces (textual, as inet_ntop writes them).
host_outcome check_host(std::string_view method, std::string_view host_header,
                        std::string_view hostname, const std::vector<std::string>& local_ips);

} // namespace meter::sim
