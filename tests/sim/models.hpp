// The simulator's installed models: name parsing and matching like Ollama's (trimmed,
// case-insensitive, implied ":latest"), made-up but stable metadata for /api/tags, /api/show and
// /api/ps, and the per-model cold-load state.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace meter::sim {

// Outcome of parsing a request's `model` string.
struct model_missing {}; // empty or whitespace only: 404 "model '<raw>' not found"
struct model_invalid {}; // bad characters or lengths: 400 "invalid model name"
struct model_name {
  std::string canonical; // lower-cased "name:tag" without the default registry/namespace
};
using parsed_model = std::variant<model_name, model_missing, model_invalid>;

parsed_model parse_model_name(std::string_view raw);

struct model_info {
  std::string name; // canonical, e.g. "all-minilm:latest"
  bool embedding_only = false;
  std::string family;
  std::string parameter_size;
  std::string quantization;
  std::string digest; // 64 hex digits
  std::uint64_t size = 0;
};

// Embedding-only models are recognised by name (embed, minilm, bge, e5, gte, ...); the rest are
// generative (they also serve /api/embed, as Ollama allows).
model_info describe_model(std::string canonical);

class model_catalog {
public:
  explicit model_catalog(const std::vector<std::string>& names);

  std::optional<model_info> find(std::string_view canonical) const;
  std::vector<model_info> list() const;
  void add(std::string_view canonical);
  bool remove(std::string_view canonical);

  // Marks the model used at `now`; returns when it is (or was) ready: now + cold_load for the
  // first use, else the earlier ready time. Loaded models are listed by loaded().
  std::chrono::steady_clock::time_point use(std::string_view canonical,
                                            std::chrono::steady_clock::duration cold_load,
                                            std::chrono::steady_clock::time_point now);
  std::vector<model_info> loaded() const;

private:
  mutable std::mutex mutex_;
  std::vector<model_info> models_;
  std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> ready_at_;
};

} // namespace meter::sim
