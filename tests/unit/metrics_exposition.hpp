// A small reader of Prometheus text exposition for the metrics unit tests: finds a sample by
// metric name and exact label set, and lists the HELP/TYPE lines per family.
#pragma once

#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace meter::test {

using label_set = std::map<std::string, std::string>;

struct exposition_sample {
  std::string name;
  label_set labels;
  double value = 0;
};

// Parses one sample line (`name{a="x",b="y"} 1.5`); nullopt when the line is malformed.
inline std::optional<exposition_sample> parse_sample_line(std::string_view line) {
  exposition_sample s;
  std::size_t i = line.find_first_of("{ ");
  if (i == std::string_view::npos || i == 0) {
    return std::nullopt;
  }
  s.name = std::string(line.substr(0, i));
  if (line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t eq = line.find("=\"", i);
      if (eq == std::string_view::npos) {
        return std::nullopt;
      }
      std::string key(line.substr(i, eq - i));
      std::string value;
      std::size_t k = eq + 2;
      for (; k < line.size() && line[k] != '"'; ++k) {
        if (line[k] == '\\' && k + 1 < line.size()) {
          ++k;
          value += line[k] == 'n' ? '\n' : line[k];
        } else {
          value += line[k];
        }
      }
      if (k >= line.size()) {
        return std::nullopt;
      }
      s.labels.emplace(std::move(key), std::move(value));
      i = k + 1;
      if (i < line.size() && line[i] == ',') {
        ++i;
      }
    }
    if (i >= line.size()) {
      return std::nullopt;
    }
    ++i;
  }
  if (i >= line.size() || line[i] != ' ') {
    return std::nullopt;
  }
  std::istringstream in{std::string(line.substr(i + 1))};
  std::string number;
  in >> number;
  if (number == "+Inf") {
    s.value = std::numeric_limits<double>::infinity();
    return s;
  }
  try {
    std::size_t used = 0;
    s.value = std::stod(number, &used);
    if (used != number.size()) {
      return std::nullopt;
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return s;
}

// Every sample line of `text`; a malformed line is returned with an empty name.
inline std::vector<exposition_sample> parse_samples(const std::string& text) {
  std::vector<exposition_sample> samples;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.front() == '#') {
      continue;
    }
    samples.push_back(parse_sample_line(line).value_or(exposition_sample{}));
  }
  return samples;
}

// The value of the sample with exactly this name and label set.
inline std::optional<double> sample_value(const std::string& text, std::string_view name,
                                          const label_set& labels = {}) {
  for (const auto& s : parse_samples(text)) {
    if (s.name == name && s.labels == labels) {
      return s.value;
    }
  }
  return std::nullopt;
}

// Number of samples of `name` (any labels).
inline std::size_t sample_count(const std::string& text, std::string_view name) {
  std::size_t n = 0;
  for (const auto& s : parse_samples(text)) {
    n += s.name == name ? 1 : 0;
  }
  return n;
}

} // namespace meter::test
