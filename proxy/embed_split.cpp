// Recognises a plain /api/embed body and cuts it around its `input` value (see embed_split.hpp).
#include "proxy/embed_split.hpp"

#include <utility>

#include "proxy/json_text.hpp"

namespace meter {
namespace {

using namespace json_text;

char32_t hex4(const char* p) noexcept {
  char32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    const char32_t digit = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
    value = value << 4 | digit;
  }
  return value;
}

// Decodes the next rune of a validated string's contents as Go's decoder does: escapes resolved,
// a lone surrogate read as U+FFFD. Advances p.
char32_t next_rune(const char*& p) noexcept {
  const auto c = static_cast<unsigned char>(*p);
  if (c == '\\') {
    const char escaped = p[1];
    p += 2;
    switch (escaped) {
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'u':
      break;
    default:
      return static_cast<unsigned char>(escaped);
    }
    const char32_t unit = hex4(p);
    p += 4;
    if (unit >= 0xD800 && unit < 0xDC00 && p[0] == '\\' && p[1] == 'u') {
      const char32_t low = hex4(p + 2);
      if (low >= 0xDC00 && low < 0xE000) {
        p += 6;
        return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
      }
    }
    return (unit >= 0xD800 && unit < 0xE000) ? 0xFFFD : unit;
  }
  if (c < 0x80) {
    ++p;
    return c;
  }
  const int length = c >= 0xF0 ? 4 : (c >= 0xE0 ? 3 : 2);
  char32_t rune = c & (0x7Fu >> length);
  for (int i = 1; i < length; ++i) {
    rune = rune << 6 | (static_cast<unsigned char>(p[i]) & 0x3Fu);
  }
  p += length;
  return rune;
}

// Go's foldName (encoding/json) maps each rune to the smallest rune of its simple case-folding
// orbit. Compared against an ASCII letter, only ASCII letters and two runes can match: the Kelvin
// sign (orbit K, k) and the long s (orbit S, s). Every other rune folds to itself for our purpose.
char32_t fold(char32_t r) noexcept {
  if (r >= 'a' && r <= 'z') {
    return r - ('a' - 'A');
  }
  if (r == 0x212A) {
    return 'K';
  }
  if (r == 0x017F) {
    return 'S';
  }
  return r;
}

// Reads the value of `input` into split.inputs; returns the end of the value, or nullptr when the
// value is not a non-empty string or a non-empty array of strings.
const char* read_input(od::value& value, embed_split& split) {
  const std::string_view token = rtrim(value.raw_json_token());
  if (token.empty()) {
    return nullptr;
  }
  if (token.front() == '"') {
    if (token.size() == 2 || !valid_string_token(token) || !consume_string(value)) {
      return nullptr;
    }
    split.inputs.push_back(token);
    return token.data() + token.size();
  }
  od::array array;
  if (token.front() != '[' || value.get_array().get(array) != simdjson::SUCCESS) {
    return nullptr;
  }
  split.input_was_array = true;
  for (auto element_result : array) {
    od::value element;
    if (std::move(element_result).get(element) != simdjson::SUCCESS) {
      return nullptr;
    }
    const std::string_view element_token = rtrim(element.raw_json_token());
    if (element_token.empty() || element_token.front() != '"' ||
        !valid_string_token(element_token) || !consume_string(element)) {
      return nullptr;
    }
    split.inputs.push_back(element_token);
  }
  if (split.inputs.empty()) {
    return nullptr;
  }
  // The array iteration ended cleanly, so only whitespace separates the last element from `]`.
  const std::string_view last = split.inputs.back();
  const char* close = last.data() + last.size();
  while (*close != ']') {
    ++close;
  }
  return close + 1;
}

std::optional<embed_split> split_with(od::parser& parser, const std::string& body) {
  od::document doc;
  od::object root;
  if (parser.iterate(body).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(root) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  embed_split split;
  const char* input_begin = nullptr;
  const char* input_end = nullptr;
  for (auto field_result : root) {
    od::field field;
    if (std::move(field_result).get(field) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    const char* key = field.key().raw();
    const std::string_view key_text(key, static_cast<std::size_t>(string_end(key) - key));
    if (!valid_string_token(std::string_view(key - 1, key_text.size() + 2))) {
      return std::nullopt;
    }
    od::value& value = field.value();
    switch (match_field_name(key_text, "input")) {
    case field_match::none:
      if (match_field_name(key_text, "model") != field_match::none) {
        // Go binds the last matching key; null leaves the field as it was.
        const std::string_view token = rtrim(value.raw_json_token());
        if (token != "null") {
          split.model = token.size() >= 2 && token.front() == '"'
                            ? token.substr(1, token.size() - 2)
                            : std::string_view{};
        }
      }
      if (!validate_value(value, 1)) {
        return std::nullopt;
      }
      break;
    case field_match::folded:
      return std::nullopt;
    case field_match::exact:
      if (input_begin != nullptr) {
        return std::nullopt;
      }
      input_begin = value.raw_json_token().data();
      input_end = read_input(value, split);
      if (input_end == nullptr) {
        return std::nullopt;
      }
      break;
    }
  }
  if (input_begin == nullptr || !at_document_end(doc)) {
    return std::nullopt;
  }
  const std::string_view all(body);
  split.head = all.substr(0, static_cast<std::size_t>(input_begin - body.data()));
  split.tail = all.substr(static_cast<std::size_t>(input_end - body.data()));
  return split;
}

} // namespace

std::optional<embed_split> split_embed_request(const std::string& body) {
  return with_parser(body.size(), [&](od::parser& parser) { return split_with(parser, body); });
}

void reserve_padding(std::string& body) {
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  }
}

field_match match_field_name(std::string_view key, std::string_view field) noexcept {
  const char* p = key.data();
  const char* const end = key.data() + key.size();
  bool exact = true;
  std::size_t i = 0;
  while (p < end) {
    if (i == field.size()) {
      return field_match::none;
    }
    const char32_t rune = next_rune(p);
    const auto expected = static_cast<char32_t>(static_cast<unsigned char>(field[i++]));
    if (fold(rune) != fold(expected)) {
      return field_match::none;
    }
    exact = exact && rune == expected;
  }
  if (i != field.size()) {
    return field_match::none;
  }
  return exact ? field_match::exact : field_match::folded;
}

std::string sub_request_body(const embed_split& split, std::size_t i) {
  const std::string_view input = split.inputs.at(i);
  std::string out;
  out.reserve(split.head.size() + input.size() + 2 + split.tail.size());
  out.append(split.head).append(1, '[').append(input).append(1, ']').append(split.tail);
  return out;
}

} // namespace meter
