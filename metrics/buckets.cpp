// Default bucket boundaries and their validation.
#include "metrics/buckets.hpp"

#include <cmath>
#include <cstddef>

namespace meter::metrics {
namespace {

std::vector<double> powers_of_two(double first, double last) {
  std::vector<double> bounds;
  for (double b = first; b <= last; b *= 2) {
    bounds.push_back(b);
  }
  return bounds;
}

} // namespace

std::vector<double> default_duration_buckets() {
  return {0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5,
          1,      2,     3,     5,     10,    20,   30,   60,   120,  180, 300, 600};
}

std::vector<double> default_token_buckets() {
  return powers_of_two(1, 131072);
}

std::vector<double> request_input_buckets() {
  return powers_of_two(1, 16384);
}

std::optional<std::string> check_buckets(std::span<const double> bounds) {
  if (bounds.empty()) {
    return "no bucket boundaries";
  }
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || bounds[i] <= 0) {
      return "bucket boundaries must be finite and greater than 0";
    }
    if (i > 0 && bounds[i] <= bounds[i - 1]) {
      return "bucket boundaries must be strictly increasing";
    }
  }
  return std::nullopt;
}

} // namespace meter::metrics
