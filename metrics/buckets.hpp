// Histogram bucket boundaries: the defaults, sized for embedding work, and their validation.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace meter::metrics {

// Seconds, from 0.5 ms to 10 min, never more than x2 apart (x2 or finer up to 120 s): per-input
// embedding calls take from under a millisecond to tens of seconds, and a cold load minutes.
std::vector<double> default_duration_buckets();

// Tokens, powers of two from 1 to 131072 (the largest contexts).
std::vector<double> default_token_buckets();

// Inputs per /api/embed request, powers of two from 1 to 16384. Not configurable.
std::vector<double> request_input_buckets();

// Why `bounds` cannot be a histogram's buckets (empty, not finite, not > 0, not strictly
// increasing), or nullopt when it can. The +Inf bucket is implied and must not be listed.
std::optional<std::string> check_buckets(std::span<const double> bounds);

} // namespace meter::metrics
