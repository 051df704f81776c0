// The capped model-name table.
#include "metrics/model_labels.hpp"

#include <mutex>

namespace meter::metrics {
namespace {

// Length of the UTF-8 sequence that starts at s[i] and is well formed, or 0.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead < 0x80) {
    return 1;
  } else if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    low = lead == 0xe0 ? 0xa0 : 0x80;  // no overlong forms
    high = lead == 0xed ? 0x9f : 0xbf; // no surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    low = lead == 0xf0 ? 0x90 : 0x80;
    high = lead == 0xf4 ? 0x8f : 0xbf; // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > s.size() || byte(i + 1) < low || byte(i + 1) > high) {
    return 0;
  }
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) {
      return 0;
    }
  }
  return length;
}

} // namespace

bool is_admissible_model_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_model_name_bytes || name == other_model_label) {
    return false;
  }
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) {
      return false;
    }
    const std::size_t length = utf8_sequence_length(name, i);
    if (length == 0) {
      return false;
    }
    i += length;
  }
  return true;
}

model_label_table::model_label_table(std::size_t capacity) : capacity_(capacity) {}

std::size_t model_label_table::index_of(std::string_view name) {
  {
    // Whether the table is full is read under the same lock as the lookup: read apart, a name
    // that took the last slot in between would be `other` here and its own label elsewhere.
    std::shared_lock lock(mutex_);
    if (const auto it = index_.find(name); it != index_.end()) {
      return it->second;
    }
    if (names_.size() >= capacity_) {
      return other_index();
    }
  }
  if (!is_admissible_model_name(name)) {
    return other_index();
  }
  std::unique_lock lock(mutex_);
  if (const auto it = index_.find(name); it != index_.end()) {
    return it->second;
  }
  if (names_.size() >= capacity_) {
    return other_index();
  }
  const std::size_t index = names_.size();
  names_.emplace_back(name);
  index_.emplace(names_.back(), index);
  return index;
}

std::string model_label_table::label(std::size_t index) const {
  std::shared_lock lock(mutex_);
  return index < names_.size() ? names_[index] : std::string(other_model_label);
}

} // namespace meter::metrics
