// Caps the `model` label: the first `capacity` distinct model names get a label value of their
// own, every later name (and any name unfit for a label) shares `other`. This bounds the number
// of series whatever clients send.
#pragma once

#include <cstddef>
#include <functional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace meter::metrics {

inline constexpr std::string_view other_model_label = "other";

// Names longer than this cannot be Ollama model names (host, namespace, model and tag together).
inline constexpr std::size_t max_model_name_bytes = 1024;

// A name fit to be a label value: non-empty, at most max_model_name_bytes, valid UTF-8, no
// control characters, and not the reserved `other`.
bool is_admissible_model_name(std::string_view name) noexcept;

// Thread-safe. Lookups of known names take a shared lock and do not allocate; a name's first
// appearance takes the exclusive lock once.
class model_label_table {
public:
  explicit model_label_table(std::size_t capacity);

  // 0..capacity-1 in order of first appearance, or other_index().
  std::size_t index_of(std::string_view name);
  std::size_t other_index() const noexcept { return capacity_; }
  std::size_t capacity() const noexcept { return capacity_; }

  // The label value of an index returned by index_of.
  std::string label(std::size_t index) const;

private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  const std::size_t capacity_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>> index_;
  std::vector<std::string> names_;
};

} // namespace meter::metrics
