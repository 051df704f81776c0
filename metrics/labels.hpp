// The closed label sets other than `route` and `model`: HTTP method, status code, embed input
// outcome and upstream failure kind. Pure functions; the recorder caches children by index.
#pragma once

#include "metrics/recorder.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace meter::metrics {

// Methods with their own label value; anything else is `other`. Matching is case-sensitive,
// as HTTP methods are.
inline constexpr std::size_t method_count = 8; // GET HEAD POST PUT DELETE OPTIONS PATCH other
std::size_t method_index(std::string_view method) noexcept;
std::string_view method_label(std::size_t index) noexcept;

// The `code` label: "0" when no status was sent, the number for 100..999, `other` otherwise.
std::string status_label(unsigned status);

std::string_view outcome_label(input_outcome o) noexcept;    // ok, upstream_error, ...
std::string_view failure_label(upstream_failure f) noexcept; // connect, timeout, reset, 5xx

inline constexpr std::size_t outcome_count = 4;
inline constexpr std::size_t failure_count = 4;

} // namespace meter::metrics
