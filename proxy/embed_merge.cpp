// Reads single-input /api/embed replies and splices them into the batch reply (see
// embed_merge.hpp). Vectors are checked once, then copied as bytes.
#include "proxy/embed_merge.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <charconv>
#include <cstring>
#include <utility>

#include "proxy/json_text.hpp"

namespace meter {
namespace {

using namespace json_text;

static_assert(std::endian::native == std::endian::little, "skip_digits reads little-endian words");

// Skips a run of ASCII digits, eight bytes per step. It may read up to seven bytes past the byte
// that ends the run, which simdjson's padding after every body makes safe.
const char* skip_digits(const char* p) noexcept {
  constexpr std::uint64_t high_nibbles = 0xF0F0F0F0F0F0F0F0ull;
  constexpr std::uint64_t threes = 0x3030303030303030ull;
  constexpr std::uint64_t sixes = 0x0606060606060606ull;
  while (true) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, sizeof word);
    // A byte is a digit when it is 0x3_ and stays 0x3_ after adding 6. A carry out of a byte
    // happens only for bytes >= 0xFA, which already end the run.
    const std::uint64_t non_digits =
        ((word & high_nibbles) ^ threes) | (((word + sixes) & high_nibbles) ^ threes);
    if (non_digits != 0) {
      return p + (std::countr_zero(non_digits) >> 3);
    }
    p += sizeof word;
  }
}

// Scans one number that is followed, somewhere, by a byte that cannot continue it, which spares
// a bounds check per byte. Returns the first byte after the number, or nullptr.
const char* scan_terminated_number(const char* p) noexcept {
  if (*p == '-') {
    ++p;
  }
  if (*p == '0') {
    ++p;
  } else if (is_digit(*p)) {
    p = skip_digits(p + 1);
  } else {
    return nullptr;
  }
  if (*p == '.') {
    if (!is_digit(*++p)) {
      return nullptr;
    }
    p = skip_digits(p + 1);
  }
  if (*p == 'e' || *p == 'E') {
    ++p;
    if (*p == '+' || *p == '-') {
      ++p;
    }
    if (!is_digit(*p)) {
      return nullptr;
    }
    p = skip_digits(p + 1);
  }
  return p;
}

// True when `text` is `[` number (`,` number)* `]` or `[]`, whitespace allowed between tokens.
// This is the only per-number work of a merge, and it never converts a number.
bool is_number_array(std::string_view text) noexcept {
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') {
    return false;
  }
  // The final `]` stops every scan below, so none of them needs a bounds check.
  const char* const last = text.data() + text.size() - 1;
  const char* p = text.data() + 1;
  while (is_space(*p)) {
    ++p;
  }
  if (p == last) {
    return true;
  }
  while (true) {
    p = scan_terminated_number(p);
    if (p == nullptr) {
      return false;
    }
    while (is_space(*p)) {
      ++p;
    }
    if (*p != ',') {
      return p == last;
    }
    ++p;
    while (is_space(*p)) {
      ++p;
    }
  }
}

// `embeddings` must hold exactly one array of numbers; its text goes to part.vector.
bool read_embeddings(od::value& value, embed_part& part) noexcept {
  od::array outer;
  if (rtrim(value.raw_json_token()).substr(0, 1) != "[" ||
      value.get_array().get(outer) != simdjson::SUCCESS) {
    return false;
  }
  std::size_t count = 0;
  for (auto element_result : outer) {
    od::value element;
    od::array inner;
    std::string_view text;
    if (std::move(element_result).get(element) != simdjson::SUCCESS || ++count > 1 ||
        rtrim(element.raw_json_token()).substr(0, 1) != "[" ||
        element.get_array().get(inner) != simdjson::SUCCESS ||
        inner.raw_json().get(text) != simdjson::SUCCESS) {
      return false;
    }
    // raw_json() only balanced the brackets; the scan checks every byte in between.
    part.vector = rtrim(text);
    if (!is_number_array(part.vector)) {
      return false;
    }
  }
  return count == 1;
}

bool read_count(od::value& value, std::int64_t& out) noexcept {
  return value.get_int64().get(out) == simdjson::SUCCESS;
}

std::optional<embed_part> parse_with(od::parser& parser, const std::string& body) noexcept {
  od::document doc;
  od::object root;
  if (parser.iterate(body).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(root) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  embed_part part;
  bool seen_model = false;
  bool seen_embeddings = false;
  bool seen_load = false;
  bool seen_count = false;
  const auto first_time = [](bool& seen) { return !std::exchange(seen, true); };
  for (auto field_result : root) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    od::value& value = field.value();
    bool ok = true;
    if (key == "model") {
      part.model = rtrim(value.raw_json_token());
      ok = first_time(seen_model) && valid_string_token(part.model) && consume_string(value);
    } else if (key == "embeddings") {
      ok = first_time(seen_embeddings) && read_embeddings(value, part);
    } else if (key == "load_duration") {
      ok = first_time(seen_load) && read_count(value, part.load_duration);
    } else if (key == "prompt_eval_count") {
      ok = first_time(seen_count) && read_count(value, part.prompt_eval_count);
    } else {
      ok = validate_value(value, 1);
    }
    if (!ok) {
      return std::nullopt;
    }
  }
  if (!seen_model || !seen_embeddings || !at_document_end(doc)) {
    return std::nullopt;
  }
  return part;
}

std::size_t decimal_length(std::int64_t n) noexcept {
  char buffer[24];
  return static_cast<std::size_t>(std::to_chars(buffer, buffer + sizeof buffer, n).ptr - buffer);
}

void append_decimal(std::string& out, std::int64_t n) {
  char buffer[24];
  out.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, n).ptr);
}

constexpr std::string_view model_open = "{\"model\":";
constexpr std::string_view embeddings_open = ",\"embeddings\":[";
constexpr std::string_view total_key = ",\"total_duration\":";
constexpr std::string_view load_key = ",\"load_duration\":";
constexpr std::string_view prompt_key = ",\"prompt_eval_count\":";
constexpr std::string_view durations_open = ",\"embedding_durations\":[";
constexpr std::string_view counts_open = ",\"embedding_prompt_eval_counts\":[";

// `,"key":N` when N is not zero (Go's omitempty), else nothing.
std::size_t optional_member_size(std::string_view key, std::int64_t n) noexcept {
  return n == 0 ? 0 : key.size() + decimal_length(n);
}

void append_optional_member(std::string& out, std::string_view key, std::int64_t n) {
  if (n != 0) {
    out.append(key);
    append_decimal(out, n);
  }
}

} // namespace

std::optional<embed_part> parse_embed_part(const std::string& body) {
  return json_text::with_parser(
      body.size(), [&](json_text::od::parser& parser) { return parse_with(parser, body); });
}

std::string merge_embed_reply(std::string_view model_token,
                              const std::vector<embed_result>& results,
                              std::int64_t total_duration_ns) {
  std::int64_t load_duration = 0;
  std::int64_t prompt_eval_count = 0;
  // Three lists, each closed by `]`, plus the final `}`.
  std::size_t size = model_open.size() + model_token.size() + embeddings_open.size() +
                     durations_open.size() + counts_open.size() + 4;
  for (const embed_result& r : results) {
    load_duration = std::max(load_duration, r.part.load_duration);
    // Summed as Go sums an int: wrapping around, never undefined behaviour.
    prompt_eval_count =
        static_cast<std::int64_t>(static_cast<std::uint64_t>(prompt_eval_count) +
                                  static_cast<std::uint64_t>(r.part.prompt_eval_count));
    // One entry in each list, each but the first of a list preceded by a comma.
    size += r.part.vector.size() + decimal_length(r.duration_ns) +
            decimal_length(r.part.prompt_eval_count) + 3;
  }
  if (!results.empty()) {
    size -= 3;
  }
  size += optional_member_size(total_key, total_duration_ns);
  size += optional_member_size(load_key, load_duration);
  size += optional_member_size(prompt_key, prompt_eval_count);

  std::string out;
  out.reserve(size);
  out.append(model_open).append(model_token).append(embeddings_open);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i != 0) {
      out.push_back(',');
    }
    out.append(results[i].part.vector);
  }
  out.push_back(']');
  append_optional_member(out, total_key, total_duration_ns);
  append_optional_member(out, load_key, load_duration);
  append_optional_member(out, prompt_key, prompt_eval_count);
  out.append(durations_open);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i != 0) {
      out.push_back(',');
    }
    append_decimal(out, results[i].duration_ns);
  }
  out.append("]").append(counts_open);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i != 0) {
      out.push_back(',');
    }
    append_decimal(out, results[i].part.prompt_eval_count);
  }
  out.append("]}");
  assert(out.size() == size);
  return out;
}

} // namespace meter
