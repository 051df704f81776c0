// Internal to meter_core: JSON token checks shared by the embed splitter and merger. simdjson's
// stage 1 has already proven the document is valid UTF-8 with closed strings and no raw control
// characters; these checks cover what ondemand does not validate on its own (scalar grammar,
// escapes, values that are only skipped).
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>
#include <utility>

#include <simdjson.h>

namespace meter::json_text {

namespace od = simdjson::ondemand;

// Nesting deeper than this is not inspected (the body is then not split). ondemand keeps no depth
// limit of its own, and the walk below recurses once per level.
inline constexpr int max_depth = 512;

inline bool is_space(char c) noexcept {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

inline const char* skip_space(const char* p, const char* end) noexcept {
  while (p < end && is_space(*p)) {
    ++p;
  }
  return p;
}

// simdjson's raw tokens run up to the next structural character, trailing whitespace included.
inline std::string_view rtrim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

inline bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

inline bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Scans one JSON number starting at p; returns the first byte after it, or nullptr.
inline const char* scan_number(const char* p, const char* end) noexcept {
  if (p < end && *p == '-') {
    ++p;
  }
  if (p == end || !is_digit(*p)) {
    return nullptr;
  }
  if (*p++ != '0') {
    while (p < end && is_digit(*p)) {
      ++p;
    }
  }
  if (p < end && *p == '.') {
    ++p;
    if (p == end || !is_digit(*p)) {
      return nullptr;
    }
    while (p < end && is_digit(*p)) {
      ++p;
    }
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) {
      ++p;
    }
    if (p == end || !is_digit(*p)) {
      return nullptr;
    }
    while (p < end && is_digit(*p)) {
      ++p;
    }
  }
  return p;
}

inline bool valid_number_token(std::string_view t) noexcept {
  return scan_number(t.data(), t.data() + t.size()) == t.data() + t.size();
}

// A string token, quotes included, whose escapes are all valid JSON escapes. Lone surrogates are
// accepted, as Go accepts them.
inline bool valid_string_token(std::string_view t) noexcept {
  if (t.size() < 2 || t.front() != '"' || t.back() != '"') {
    return false;
  }
  const char* p = t.data() + 1;
  const char* const end = t.data() + t.size() - 1;
  while (p < end) {
    const void* slash = std::memchr(p, '\\', static_cast<std::size_t>(end - p));
    if (slash == nullptr) {
      return true;
    }
    p = static_cast<const char*>(slash) + 1;
    if (p == end) {
      return false;
    }
    switch (*p) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
      ++p;
      break;
    case 'u':
      if (end - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4])) {
        return false;
      }
      p += 5;
      break;
    default:
      return false;
    }
  }
  return true;
}

// The closing quote of a string whose contents start at p (just after the opening quote).
inline const char* string_end(const char* p) noexcept {
  while (*p != '"') {
    p += (*p == '\\') ? 2 : 1;
  }
  return p;
}

// Moves past a string value. A string left unconsumed would be skipped by ondemand, and its skip
// also swallows a following ':' (it takes the string for a key), hiding a syntax error.
inline bool consume_string(od::value& value) noexcept {
  od::raw_json_string raw;
  return value.get_raw_json_string().get(raw) == simdjson::SUCCESS;
}

inline bool validate_value(od::value& value, int depth) noexcept;

inline bool validate_object(od::object object, int depth) noexcept {
  for (auto field_result : object) {
    od::field field;
    if (std::move(field_result).get(field) != simdjson::SUCCESS) {
      return false;
    }
    const char* key = field.key().raw();
    if (!valid_string_token(std::string_view(key - 1, string_end(key) - key + 2))) {
      return false;
    }
    if (!validate_value(field.value(), depth)) {
      return false;
    }
  }
  return true;
}

inline bool validate_array(od::array array, int depth) noexcept {
  for (auto element_result : array) {
    od::value element;
    if (std::move(element_result).get(element) != simdjson::SUCCESS ||
        !validate_value(element, depth)) {
      return false;
    }
  }
  return true;
}

// Walks a value completely, so that nothing inside it is merely skipped: ondemand validates
// structure only where it iterates, and scalars are checked here by their raw tokens.
inline bool validate_value(od::value& value, int depth) noexcept {
  const std::string_view token = rtrim(value.raw_json_token());
  if (token.empty()) {
    return false;
  }
  switch (token.front()) {
  case '{': {
    od::object object;
    return depth < max_depth && value.get_object().get(object) == simdjson::SUCCESS &&
           validate_object(object, depth + 1);
  }
  case '[': {
    od::array array;
    return depth < max_depth && value.get_array().get(array) == simdjson::SUCCESS &&
           validate_array(array, depth + 1);
  }
  case '"':
    return valid_string_token(token) && consume_string(value);
  case 't':
    return token == "true";
  case 'f':
    return token == "false";
  case 'n':
    return token == "null";
  default:
    return valid_number_token(token);
  }
}

// True when nothing but whitespace follows the root value that has just been read completely.
inline bool at_document_end(od::document& doc) noexcept {
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

// Runs f(parser). Small documents reuse one parser per thread; a large one gets its own, so no
// thread keeps the index buffers of the largest body it ever saw.
template <typename F>
auto with_parser(std::size_t size, F&& f) {
  constexpr std::size_t reuse_limit = 1u << 20;
  if (size <= reuse_limit) {
    thread_local od::parser parser;
    return f(parser);
  }
  od::parser parser;
  return f(parser);
}

} // namespace meter::json_text
