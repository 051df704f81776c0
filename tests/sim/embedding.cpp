// Deterministic vectors, the toy tokenizer and the vector text cache.
#include "tests/sim/embedding.hpp"

#include "tests/sim/go_format.hpp"

#include <cmath>
#include <cstring>

namespace meter::sim {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) {
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::vector<float> unit_edge_vector(unsigned dims) {
  static const float fixed[] = {1e-7f,        -0.0f,         0.0f,     1e-45f,
                                9.999999e-7f, 1e-6f,         1.430923e-8f, -7.227309e-33f,
                                0.000025f,    0.0001f,       0.1f,     -0.5f};
  constexpr std::size_t fixed_count = sizeof fixed / sizeof fixed[0];
  std::vector<float> v(dims);
  double used = 0;
  for (std::size_t i = 0; i < dims && i < fixed_count; ++i) {
    v[i] = fixed[i];
    used += static_cast<double>(fixed[i]) * static_cast<double>(fixed[i]);
  }
  if (dims > fixed_count) {
    float c = static_cast<float>(std::sqrt((1.0 - used) / static_cast<double>(dims - fixed_count)));
    for (std::size_t i = fixed_count; i < dims; ++i) {
      v[i] = (i % 2 == 0) ? c : -c;
    }
  }
  return v;
}

std::vector<float> large_edge_vector(unsigned dims) {
  static const float fixed[] = {3.4028235e38f, 1e21f, 1e20f, 1.5e10f, 123456789.0f, 1e8f, 1e7f,
                                -1.0f,         100.0f, 0.1f, 1e-7f,   -0.0f,        1e-45f};
  constexpr std::size_t fixed_count = sizeof fixed / sizeof fixed[0];
  std::vector<float> v(dims, 0.5f);
  for (std::size_t i = 0; i < dims && i < fixed_count; ++i) {
    v[i] = fixed[i];
  }
  return v;
}

} // namespace

std::size_t count_tokens(std::string_view text) {
  std::size_t tokens = special_tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < text.size() && !is_space(text[i])) {
      ++i;
    }
    tokens += (i - start + token_piece_bytes - 1) / token_piece_bytes;
  }
  return tokens;
}

std::string_view truncate_to_tokens(std::string_view text, std::size_t max_tokens) {
  if (max_tokens <= special_tokens) {
    return {};
  }
  std::size_t budget = max_tokens - special_tokens;
  std::size_t end = 0;
  std::size_t i = 0;
  while (i < text.size() && budget > 0) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < text.size() && !is_space(text[i])) {
      ++i;
    }
    std::size_t pieces = (i - start + token_piece_bytes - 1) / token_piece_bytes;
    if (pieces <= budget) {
      budget -= pieces;
      end = i;
    } else {
      end = start + budget * token_piece_bytes;
      budget = 0;
    }
  }
  return text.substr(0, end);
}

token_outcome fit_context(std::string_view text, std::int64_t context_tokens, bool truncate) {
  token_outcome out;
  out.tokens = count_tokens(text);
  out.text = text;
  if (context_tokens >= 0 && out.tokens <= static_cast<std::uint64_t>(context_tokens)) {
    return out;
  }
  if (!truncate) {
    out.error = "the input length exceeds the context length";
    return out;
  }
  if (context_tokens <= static_cast<std::int64_t>(special_tokens)) {
    out.error = "input after truncation exceeds maximum context length";
    return out;
  }
  out.text = truncate_to_tokens(text, static_cast<std::size_t>(context_tokens));
  out.tokens = count_tokens(out.text);
  return out;
}

void normalize(std::vector<float>& v) {
  float sum = 0;
  for (float x : v) {
    sum += x * x;
  }
  float norm = 0;
  if (sum > 0) {
    norm = static_cast<float>(1.0 / std::sqrt(static_cast<double>(sum)));
  }
  for (float& x : v) {
    x *= norm;
  }
}

std::vector<float> make_vector(const vector_spec& spec, std::string_view text) {
  std::vector<float> v;
  if (spec.edge == edge_kind::unit) {
    v = unit_edge_vector(spec.dims);
  } else if (spec.edge == edge_kind::large) {
    v = large_edge_vector(spec.dims);
  } else {
    std::uint64_t state = fnv1a(0xcbf29ce484222325ull, spec.model_key);
    state = fnv1a(state ^ 0xff, text);
    v.resize(spec.dims);
    for (float& x : v) {
      std::uint64_t r = splitmix64(state) >> 40;  // 24 bits
      x = static_cast<float>(static_cast<double>(r) / 8388608.0 - 1.0);
    }
    normalize(v);
  }
  if (spec.dimensions > 0 && static_cast<std::uint64_t>(spec.dimensions) < v.size()) {
    v.resize(static_cast<std::size_t>(spec.dimensions));
    if (spec.edge != edge_kind::large) {
      normalize(v);
    }
  }
  return v;
}

void append_vector_json(std::string& out, const std::vector<float>& v, bool as_float64) {
  out.reserve(out.size() + v.size() * 12 + 2);
  out.push_back('[');
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    if (as_float64) {
      append_go_float64(out, static_cast<double>(v[i]));
    } else {
      append_go_float32(out, v[i]);
    }
  }
  out.push_back(']');
}

std::string base64_floats(const std::vector<float>& v) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * 4, '\0');
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &v[i], 4);
    for (int k = 0; k < 4; ++k) {
      bytes[i * 4 + static_cast<std::size_t>(k)] = static_cast<char>((bits >> (8 * k)) & 0xFF);
    }
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                      (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    out.push_back(alphabet[n & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) {
      n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    }
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::shared_ptr<const std::string> vector_text_cache::get(const vector_spec& spec,
                                                          std::string_view text,
                                                          bool as_float64) {
  std::string key;
  key.reserve(spec.model_key.size() + text.size() + 32);
  key.append(spec.model_key);
  key.push_back('\x1f');
  key.append(std::to_string(spec.dims));
  key.push_back('\x1f');
  key.append(std::to_string(spec.dimensions));
  key.push_back(static_cast<char>('0' + static_cast<int>(spec.edge)));
  key.push_back(as_float64 ? 'd' : 'f');
  key.append(text);
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      return it->second;
    }
  }
  auto made = std::make_shared<std::string>();
  append_vector_json(*made, make_vector(spec, text), as_float64);
  std::shared_ptr<const std::string> result = std::move(made);
  std::size_t cost = result->size() + key.size();
  if (cost * 4 > max_bytes_) {
    return result;
  }
  std::lock_guard lock(mutex_);
  if (entries_.emplace(key, result).second) {
    order_.push_back(key);
    bytes_ += cost;
    while (bytes_ > max_bytes_ && !order_.empty()) {
      auto victim = entries_.find(order_.front());
      if (victim != entries_.end()) {
        bytes_ -= victim->second->size() + victim->first.size();
        entries_.erase(victim);
      }
      order_.pop_front();
    }
  }
  return result;
}

} // namespace meter::sim
