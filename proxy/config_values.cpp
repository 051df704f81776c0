// Parsers for configuration value text (see config_values.hpp).
#include "proxy/config_values.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace meter::config_values {

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim_space(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

namespace {

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

std::string shown(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

parsed<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const std::string_view s = trim_space(text);
  if (s.empty()) {
    return std::string("empty duration");
  }
  const auto bad = [&] {
    return "invalid duration " + shown(s) + " (expected e.g. 500ms, 10s, 1m30s, 2h or seconds)";
  };
  double total_ms = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    double number = 0;
    const auto [end, ec] = std::from_chars(s.data() + i, s.data() + s.size(), number);
    if (ec != std::errc{} || s[i] == '-' || s[i] == '+' || !std::isfinite(number)) {
      return s[i] == '-' ? std::string("duration must be positive") : bad();
    }
    i = static_cast<std::size_t>(end - s.data());
    const std::string_view rest = s.substr(i);
    double unit_ms = 0;
    std::size_t unit_size = 0;
    for (const auto& [name, ms] : {std::pair{"ns", 1e-6},
                                   {"us", 1e-3},
                                   {"\xC2\xB5s", 1e-3},
                                   {"\xCE\xBCs", 1e-3},
                                   {"ms", 1.0},
                                   {"s", 1e3},
                                   {"m", 6e4},
                                   {"h", 3.6e6}}) {
      const std::string_view unit(name);
      if (rest.substr(0, unit.size()) == unit && unit.size() > unit_size) {
        unit_ms = ms;
        unit_size = unit.size();
      }
    }
    if (unit_size == 0) {
      if (i == s.size() && total_ms == 0) {
        unit_ms = 1e3; // a bare number: seconds
      } else {
        return bad();
      }
    }
    total_ms += number * unit_ms;
    i += unit_size;
  }
  constexpr double max_ms = 366.0 * 24 * 3600 * 1000;
  if (total_ms > max_ms) {
    return "duration " + shown(s) + " is too long (at most 8784h)";
  }
  if (total_ms < 1) {
    return "duration " + shown(s) + " must be at least 1ms";
  }
  return std::chrono::milliseconds(std::llround(total_ms));
}

parsed<std::uint64_t> parse_size(std::string_view text) {
  const std::string_view s = trim_space(text);
  const auto digits_end =
      std::find_if(s.begin(), s.end(), [](char c) { return c < '0' || c > '9'; });
  const std::string_view digits = s.substr(0, static_cast<std::size_t>(digits_end - s.begin()));
  const std::string_view suffix = s.substr(digits.size());
  std::uint64_t multiplier = 0;
  if (suffix.empty()) {
    multiplier = 1;
  } else if (iequals(suffix, "k") || iequals(suffix, "kib")) {
    multiplier = 1ull << 10;
  } else if (iequals(suffix, "m") || iequals(suffix, "mib")) {
    multiplier = 1ull << 20;
  } else if (iequals(suffix, "g") || iequals(suffix, "gib")) {
    multiplier = 1ull << 30;
  }
  const auto number = parse_unsigned<std::uint64_t>(digits);
  if (!number || multiplier == 0) {
    return "invalid size " + shown(s) + " (expected bytes, or a number with K, M or G)";
  }
  if (*number == 0) {
    return std::string("size must be positive");
  }
  if (*number > std::numeric_limits<std::uint64_t>::max() / multiplier) {
    return "size " + shown(s) + " is too large";
  }
  return *number * multiplier;
}

parsed<std::uint64_t> parse_count(std::string_view text, std::uint64_t min, std::uint64_t max) {
  const std::string_view s = trim_space(text);
  const auto value = parse_unsigned<std::uint64_t>(s);
  if (!value || *value < min || *value > max) {
    if (max == std::numeric_limits<std::uint32_t>::max()) {
      return fmt::format("expected a whole number of at least {}, got {}", min, shown(s));
    }
    return fmt::format("expected a whole number from {} to {}, got {}", min, max, shown(s));
  }
  return *value;
}

parsed<std::vector<double>> parse_buckets(std::string_view text) {
  std::vector<double> bounds;
  std::string_view rest = text;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = trim_space(rest.substr(0, comma));
    double value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc{} || end != item.data() + item.size() ||
        !std::isfinite(value) || value <= 0) {
      return "invalid bucket bound " + shown(item) + " (expected positive numbers, e.g. 0.1,1,10)";
    }
    if (!bounds.empty() && value <= bounds.back()) {
      return fmt::format("bucket bounds must increase, {} follows {}", value, bounds.back());
    }
    bounds.push_back(value);
    if (comma == std::string_view::npos) {
      return bounds;
    }
    rest.remove_prefix(comma + 1);
  }
}

parsed<bool> parse_bool(std::string_view text) {
  const std::string_view s = trim_space(text);
  for (const char* yes : {"1", "true", "yes", "on"}) {
    if (iequals(s, yes)) {
      return true;
    }
  }
  for (const char* no : {"0", "false", "no", "off"}) {
    if (iequals(s, no)) {
      return false;
    }
  }
  return "expected true or false, got " + shown(s);
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 3'600'000 == 0) {
    return fmt::format("{}h", ms / 3'600'000);
  }
  if (ms % 60'000 == 0) {
    return fmt::format("{}m", ms / 60'000);
  }
  if (ms % 1000 == 0) {
    return fmt::format("{}s", ms / 1000);
  }
  return fmt::format("{}ms", ms);
}

std::string format_size(std::uint64_t bytes) {
  for (const auto& [unit, shift] : {std::pair{"GiB", 30}, {"MiB", 20}, {"KiB", 10}}) {
    if (bytes != 0 && bytes % (1ull << shift) == 0) {
      return fmt::format("{}{}", bytes >> shift, unit);
    }
  }
  return std::to_string(bytes);
}

} // namespace meter::config_values
