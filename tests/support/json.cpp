// JSON test helpers on top of nlohmann.
#include "tests/support/json.hpp"

#include <cmath>

namespace meter::test {
namespace {

// Reads "[n,n,...]" starting at `at` (which points at '['); appends the raw number texts.
std::size_t read_number_list(std::string_view s, std::size_t at, std::vector<std::string>& out) {
  ++at;
  std::string current;
  for (; at < s.size(); ++at) {
    char c = s[at];
    if (c == ',' || c == ']') {
      if (!current.empty()) {
        out.push_back(current);
        current.clear();
      }
      if (c == ']') {
        return at + 1;
      }
    } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
      current.push_back(c);
    }
  }
  return at;
}

} // namespace

ordered_json parse_json(std::string_view text) {
  return ordered_json::parse(text);
}

std::vector<std::string> top_level_keys(std::string_view object_text) {
  std::vector<std::string> keys;
  auto callback = [&](int depth, ordered_json::parse_event_t event, ordered_json& parsed) {
    if (event == ordered_json::parse_event_t::key && depth == 1) {
      keys.push_back(parsed.get<std::string>());
    }
    return true;
  };
  ordered_json parsed = ordered_json::parse(object_text, callback);
  (void)parsed;
  return keys;
}

std::vector<std::string> ndjson_lines(std::string_view body) {
  std::vector<std::string> lines;
  while (!body.empty()) {
    std::size_t nl = body.find('\n');
    if (nl == std::string_view::npos) {
      lines.emplace_back(body);
      break;
    }
    lines.emplace_back(body.substr(0, nl));
    body.remove_prefix(nl + 1);
  }
  return lines;
}

std::vector<std::vector<std::string>> raw_embedding_numbers(std::string_view body) {
  std::vector<std::vector<std::string>> out;
  std::size_t at = 0;
  for (;;) {
    std::size_t many = body.find("\"embeddings\":[", at);
    std::size_t one = body.find("\"embedding\":[", at);
    if (many == std::string_view::npos && one == std::string_view::npos) {
      break;
    }
    if (many != std::string_view::npos && (one == std::string_view::npos || many < one)) {
      std::size_t p = many + 14;
      while (p < body.size() && body[p] != ']') {
        if (body[p] == '[') {
          out.emplace_back();
          p = read_number_list(body, p, out.back());
        } else {
          ++p;
        }
      }
      at = p;
    } else {
      out.emplace_back();
      at = read_number_list(body, one + 12, out.back());
    }
  }
  return out;
}

double l2_norm(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) {
    sum += v * v;
  }
  return std::sqrt(sum);
}

} // namespace meter::test
