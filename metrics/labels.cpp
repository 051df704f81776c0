// Label values of the closed sets declared in labels.hpp.
#include "metrics/labels.hpp"

#include <array>

namespace meter::metrics {
namespace {

constexpr std::array<std::string_view, method_count> method_labels{
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "other",
};
constexpr std::array<std::string_view, outcome_count> outcome_labels{
    "ok",
    "upstream_error",
    "proxy_error",
    "cancelled",
};
constexpr std::array<std::string_view, failure_count> failure_labels{
    "connect",
    "timeout",
    "reset",
    "5xx",
};

} // namespace

std::size_t method_index(std::string_view method) noexcept {
  for (std::size_t i = 0; i + 1 < method_count; ++i) {
    if (method == method_labels[i]) {
      return i;
    }
  }
  return method_count - 1;
}

std::string_view method_label(std::size_t index) noexcept {
  return method_labels[index < method_count ? index : method_count - 1];
}

std::string status_label(unsigned status) {
  if (status == 0 || (status >= 100 && status <= 999)) {
    return std::to_string(status);
  }
  return "other";
}

std::string_view outcome_label(input_outcome o) noexcept {
  const auto i = static_cast<std::size_t>(o);
  return i < outcome_count ? outcome_labels[i] : "other";
}

std::string_view failure_label(upstream_failure f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  return i < failure_count ? failure_labels[i] : "other";
}

} // namespace meter::metrics
