// Reads single-input /api/embed replies and splices them into the batch reply (see
// embed_merge.hpp). Vectors are checked once, then copied as bytes.
#include "proxy/embed_merge.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <utility>

#include "proxy/json_text.hpp"

namespace meter {
namespace {

using namespace json_text;

// Scans `[` number (`,` number)* `]` (or `[]`) starting at p; returns the end of the array or
// nullptr. This is the only per-number work of a merge, and it never converts a number.
const char* scan_number_array(const char* p, const char* end) noexcept {
  p = skip_space(p + 1, end);
  if (p < end && *p == ']') {
    return p + 1;
  }
  while (true) {
    p = scan_number(p, end);
    if (p == nullptr) {
      return nullptr;
    }
    if (p < end && *p == ',') {
      ++p;
    } else {
      p = skip_space(p, end);
      if (p == end) {
        return nullptr;
      }
      if (*p == ']') {
        return p + 1;
      }
      if (*p != ',') {
        return nullptr;
      }
      ++p;
    }
    p = skip_space(p, end);
  }
}

// `embeddings` must hold exactly one array of numbers; its text goes to part.vector.
bool read_embeddings(od::value& value, const char* body_end, embed_part& part) noexcept {
  od::array outer;
  if (rtrim(value.raw_json_token()).substr(0, 1) != "[" ||
      value.get_array().get(outer) != simdjson::SUCCESS) {
    return false;
  }
  std::size_t count = 0;
  for (auto element_result : outer) {
    od::value element;
    if (std::move(element_result).get(element) != simdjson::SUCCESS || ++count > 1) {
      return false;
    }
    const char* begin = element.raw_json_token().data();
    if (*begin != '[') {
      return false;
    }
    const char* end = scan_number_array(begin, body_end);
    if (end == nullptr) {
      return false;
    }
    // Left unconsumed: ondemand skips it, and the scan above has checked every byte of it.
    part.vector = std::string_view(begin, static_cast<std::size_t>(end - begin));
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
      ok = first_time(seen_embeddings) && read_embeddings(value, body.data() + body.size(), part);
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
  if (!seen_embeddings || !at_document_end(doc)) {
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

constexpr std::string_view k_model = "{\"model\":";
constexpr std::string_view k_embeddings = ",\"embeddings\":[";
constexpr std::string_view k_total = "],\"total_duration\":";
constexpr std::string_view k_load = ",\"load_duration\":";
constexpr std::string_view k_prompt = ",\"prompt_eval_count\":";
constexpr std::string_view k_durations = ",\"embedding_durations\":[";
constexpr std::string_view k_counts = "],\"embedding_prompt_eval_counts\":[";

// `"key":N` when N is not zero (Go's omitempty), else nothing.
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

std::string merge_embed_reply(std::string_view model_token, const std::vector<embed_result>& results,
                              std::int64_t total_duration_ns) {
  std::int64_t load_duration = 0;
  std::int64_t prompt_eval_count = 0;
  std::size_t size = k_model.size() + model_token.size() + k_embeddings.size() + k_durations.size() +
                     k_counts.size() + 2; // "]}"
  for (const embed_result& r : results) {
    load_duration = std::max(load_duration, r.part.load_duration);
    prompt_eval_count += r.part.prompt_eval_count;
    // One entry in each of the three lists, each preceded by a comma except the first.
    size += r.part.vector.size() + decimal_length(r.duration_ns) +
            decimal_length(r.part.prompt_eval_count) + 3;
  }
  // The k_total text carries the `]` closing embeddings; without a total it is written alone.
  size += total_duration_ns == 0 ? 1 : k_total.size() + decimal_length(total_duration_ns);
  size += optional_member_size(k_load, load_duration);
  size += optional_member_size(k_prompt, prompt_eval_count);
  if (!results.empty()) {
    size -= 3;
  }

  std::string out;
  out.reserve(size);
  out.append(k_model).append(model_token).append(k_embeddings);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i != 0) {
      out.push_back(',');
    }
    out.append(results[i].part.vector);
  }
  if (total_duration_ns != 0) {
    out.append(k_total);
    append_decimal(out, total_duration_ns);
  } else {
    out.push_back(']');
  }
  append_optional_member(out, k_load, load_duration);
  append_optional_member(out, k_prompt, prompt_eval_count);
  out.append(k_durations);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i != 0) {
      out.push_back(',');
    }
    append_decimal(out, results[i].duration_ns);
  }
  out.append(k_counts);
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
