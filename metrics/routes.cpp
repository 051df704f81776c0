// Route classification for the `route` label: Ollama's known paths, matched exactly as Ollama's
// router would (case-sensitive, no trailing slash), or `other`. Never the raw path.
#include "metrics/recorder.hpp"

#include <array>

namespace meter::metrics {
namespace {

// Label text of every route, indexed by the enum's value.
constexpr std::array<std::string_view, route_count> route_labels{
    "/",
    "/api/version",
    "/api/status",
    "/api/tags",
    "/api/ps",
    "/api/show",
    "/api/pull",
    "/api/push",
    "/api/create",
    "/api/delete",
    "/api/copy",
    "/api/blobs",
    "/api/generate",
    "/api/chat",
    "/api/embed",
    "/api/embeddings",
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/models",
    "/v1/responses",
    "/v1/messages",
    "/metrics",
    "/healthz",
    "other",
};

// True when `path` is `prefix` followed by one non-empty path segment (a gin `:param`).
bool is_one_segment_under(std::string_view path, std::string_view prefix) noexcept {
  if (!path.starts_with(prefix)) {
    return false;
  }
  const std::string_view rest = path.substr(prefix.size());
  return !rest.empty() && rest.find('/') == std::string_view::npos;
}

} // namespace

route classify_route(std::string_view path) noexcept {
  for (std::size_t i = 0; i + 1 < route_count; ++i) {
    if (path == route_labels[i]) {
      const auto r = static_cast<route>(i);
      // `/api/blobs` alone is not a route: Ollama only has `/api/blobs/:digest`.
      return r == route::api_blobs ? route::other : r;
    }
  }
  if (is_one_segment_under(path, "/api/blobs/")) {
    return route::api_blobs;
  }
  if (is_one_segment_under(path, "/v1/models/")) {
    return route::v1_models;
  }
  return route::other;
}

std::string_view route_label(route r) noexcept {
  const auto i = static_cast<std::size_t>(r);
  return i < route_count ? route_labels[i] : route_labels[route_count - 1];
}

} // namespace meter::metrics
