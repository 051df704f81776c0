// The `route` label: classification of request paths into Ollama's routes or `other`.
#include "metrics/recorder.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using meter::metrics::classify_route;
using meter::metrics::route;
using meter::metrics::route_count;
using meter::metrics::route_label;

TEST_CASE("every route's label classifies back to that route") {
  std::set<std::string> labels;
  for (std::size_t i = 0; i < route_count; ++i) {
    const auto r = static_cast<route>(i);
    const auto label = std::string(route_label(r));
    labels.insert(label);
    if (r == route::api_blobs) {
      CHECK(classify_route("/api/blobs/sha256:abc") == r);
    } else if (r != route::other) {
      CHECK(classify_route(label) == r);
    }
  }
  CHECK(labels.size() == route_count);
  CHECK(route_label(route::api_embed) == "/api/embed");
  CHECK(route_label(route::root) == "/");
  CHECK(route_label(route::other) == "other");
}

TEST_CASE("a blob digest or a model name in the path maps to its route, not to the raw path") {
  CHECK(classify_route(
            "/api/blobs/sha256:29fdb92e57cf0827ded04ae6461b5931d01fa595843f55d36f5b275a52087dd2") ==
        route::api_blobs);
  CHECK(route_label(classify_route("/api/blobs/sha256:1")) == "/api/blobs");
  CHECK(classify_route("/v1/models/llama3.2:latest") == route::v1_models);
  CHECK(classify_route("/v1/models") == route::v1_models);
}

TEST_CASE("paths Ollama would not route become other") {
  CHECK(classify_route("") == route::other);
  CHECK(classify_route("/api/embed/") == route::other);
  CHECK(classify_route("/API/EMBED") == route::other);
  CHECK(classify_route("/api/blobs") == route::other);
  CHECK(classify_route("/api/blobs/") == route::other);
  CHECK(classify_route("/api/blobs/a/b") == route::other);
  CHECK(classify_route("/v1/models/library/llama3") == route::other);
  CHECK(classify_route("/v1/models/") == route::other);
  CHECK(classify_route("/api%2Fembed") == route::other);
  CHECK(classify_route("/v1/audio/transcriptions") == route::other);
  CHECK(classify_route("/api/embedx") == route::other);
  CHECK(classify_route("//api/embed") == route::other);
}

TEST_CASE("an out-of-range route value is labelled other") {
  CHECK(route_label(static_cast<route>(200)) == "other");
}
