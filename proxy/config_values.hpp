// Internal to meter_core: parsers for the text of configuration values (from a flag or an
// environment variable) and the text helpers they share with the address parsers. A parser returns
// the value, or the reason it refused the text, worded for an error line.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace meter::config_values {

template <typename T>
using parsed = std::variant<T, std::string>;

// Go duration syntax (500ms, 10s, 1m30s, 1.5h; units ns us µs ms s m h) or a bare number of
// seconds. At least 1ms (rounded to whole milliseconds), at most 8784h.
parsed<std::chrono::milliseconds> parse_duration(std::string_view text);

// A byte count, or a number with K/KiB, M/MiB or G/GiB (powers of 1024, any case). Positive.
parsed<std::uint64_t> parse_size(std::string_view text);

// A whole number in [min, max].
parsed<std::uint64_t> parse_count(std::string_view text, std::uint64_t min, std::uint64_t max);

// Comma-separated, strictly increasing, finite, positive numbers; at least one.
parsed<std::vector<double>> parse_buckets(std::string_view text);

// true/false, 1/0, yes/no, on/off, any case.
parsed<bool> parse_bool(std::string_view text);

// The shortest exact rendering in the syntax above: 10s, 10m, 1h, 250ms; 64MiB, 1KiB, 1000.
std::string format_duration(std::chrono::milliseconds d);
std::string format_size(std::uint64_t bytes);

// Text quoted for an error line: printable ASCII kept, anything else (and " and \) as \xNN.
std::string shown(std::string_view s);

bool is_space(char c) noexcept;
std::string_view trim_space(std::string_view s) noexcept;
bool iequals(std::string_view a, std::string_view b) noexcept; // ASCII letters, any case

// Digits only, no sign, no overflow.
template <typename T>
std::optional<T> parse_unsigned(std::string_view s) noexcept {
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return value;
}

} // namespace meter::config_values
