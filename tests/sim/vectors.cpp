// Deterministic vectors and their JSON text (see embedding.hpp for the construction).
#include "tests/sim/embedding.hpp"

#include "tests/sim/go_format.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>

namespace meter::sim {
namespace {

constexpr std::size_t angle_bits = 12;
constexpr std::size_t angles = std::size_t{1} << angle_bits;

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

std::uint64_t seed_for(const vector_spec& spec, std::string_view text) {
  return fnv1a(fnv1a(0xcbf29ce484222325ull, spec.model_key) ^ 0xff, text);
}

// The magnitudes of (cos t, sin t) * sqrt(2/dims) for each angle, with their Go float32 text.
struct pair_table {
  explicit pair_table(unsigned dims) {
    double scale = std::sqrt(2.0 / static_cast<double>(dims));
    for (std::size_t k = 0; k < angles; ++k) {
      double t =
          (static_cast<double>(k) + 0.5) * (std::numbers::pi / 2) / static_cast<double>(angles);
      first[k] = static_cast<float>(std::cos(t) * scale);
      second[k] = static_cast<float>(std::sin(t) * scale);
      store(first_text[k], first[k]);
      store(second_text[k], second[k]);
    }
  }

  struct text_slot {
    std::array<char, go_float32_max_chars> bytes;
    std::uint8_t size;
  };

  static void store(text_slot& slot, float value) {
    slot.size =
        static_cast<std::uint8_t>(write_go_float32(slot.bytes.data(), value) - slot.bytes.data());
  }

  std::array<float, angles> first;
  std::array<float, angles> second;
  std::array<text_slot, angles> first_text;
  std::array<text_slot, angles> second_text;
};

const pair_table& table_for(unsigned dims) {
  static std::mutex mutex;
  static std::map<unsigned, std::unique_ptr<pair_table>> tables;
  std::lock_guard lock(mutex);
  auto& slot = tables[dims];
  if (!slot) {
    slot = std::make_unique<pair_table>(dims);
  }
  return *slot;
}

struct pair_choice {
  std::size_t angle;
  bool first_negative;
  bool second_negative;
};

pair_choice next_pair(std::uint64_t& state) {
  std::uint64_t r = splitmix64(state);
  return {static_cast<std::size_t>(r >> (64 - angle_bits)), ((r >> 1) & 1) != 0, (r & 1) != 0};
}

std::vector<float> unit_edge_vector(unsigned dims) {
  static const float fixed[] = {1e-7f,        -0.0f,   0.0f,         1e-45f,
                                9.999999e-7f, 1e-6f,   1.430923e-8f, -7.227309e-33f,
                                0.000025f,    0.0001f, 0.1f,         -0.5f};
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
  static const float fixed[] = {3.4028235e38f, 1e21f,  1e20f, 1.5e10f, 123456789.0f, 1e8f,  1e7f,
                                -1.0f,         100.0f, 0.1f,  1e-7f,   -0.0f,        1e-45f};
  constexpr std::size_t fixed_count = sizeof fixed / sizeof fixed[0];
  std::vector<float> v(dims, 0.5f);
  for (std::size_t i = 0; i < dims && i < fixed_count; ++i) {
    v[i] = fixed[i];
  }
  return v;
}

std::vector<float> hashed_vector(const vector_spec& spec, std::string_view text) {
  std::uint64_t state = seed_for(spec, text);
  std::vector<float> v(spec.dims);
  if (spec.dims % 2 == 0) {
    const pair_table& table = table_for(spec.dims);
    for (std::size_t j = 0; j < spec.dims / 2; ++j) {
      pair_choice c = next_pair(state);
      v[2 * j] = c.first_negative ? -table.first[c.angle] : table.first[c.angle];
      v[2 * j + 1] = c.second_negative ? -table.second[c.angle] : table.second[c.angle];
    }
    return v;
  }
  for (float& x : v) {
    std::uint64_t r = splitmix64(state) >> 40; // 24 bits
    x = static_cast<float>(static_cast<double>(r) / 8388608.0 - 1.0);
  }
  normalize(v);
  return v;
}

} // namespace

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
    v = hashed_vector(spec, text);
  }
  if (spec.dimensions > 0 && static_cast<std::uint64_t>(spec.dimensions) < v.size()) {
    v.resize(static_cast<std::size_t>(spec.dimensions));
    if (spec.edge != edge_kind::large) {
      normalize(v);
    }
  }
  return v;
}

bool fast_vector_text(const vector_spec& spec, bool as_float64) {
  bool truncated = spec.dimensions > 0 && static_cast<std::uint64_t>(spec.dimensions) < spec.dims;
  return !as_float64 && spec.edge == edge_kind::none && !truncated && spec.dims % 2 == 0;
}

void append_embedding_json(std::string& out, const vector_spec& spec, std::string_view text,
                           bool as_float64) {
  if (!fast_vector_text(spec, as_float64)) {
    append_vector_json(out, make_vector(spec, text), as_float64);
    return;
  }
  const pair_table& table = table_for(spec.dims);
  std::uint64_t state = seed_for(spec, text);
  std::size_t start = out.size();
  out.resize(start + 2 + static_cast<std::size_t>(spec.dims) * (go_float32_max_chars + 2));
  char* p = out.data() + start;
  *p++ = '[';
  for (std::size_t j = 0; j < spec.dims / 2; ++j) {
    pair_choice c = next_pair(state);
    if (j > 0) {
      *p++ = ',';
    }
    if (c.first_negative) {
      *p++ = '-';
    }
    const auto& a = table.first_text[c.angle];
    std::memcpy(p, a.bytes.data(), a.bytes.size());
    p += a.size;
    *p++ = ',';
    if (c.second_negative) {
      *p++ = '-';
    }
    const auto& b = table.second_text[c.angle];
    std::memcpy(p, b.bytes.data(), b.bytes.size());
    p += b.size;
  }
  *p++ = ']';
  out.resize(static_cast<std::size_t>(p - out.data()));
}

void append_vector_json(std::string& out, const std::vector<float>& v, bool as_float64) {
  // Written into a reused scratch buffer first: resizing `out` would zero-fill it.
  thread_local std::vector<char> scratch;
  std::size_t per_value = (as_float64 ? go_float64_max_chars : go_float32_max_chars) + 1;
  if (scratch.size() < v.size() * per_value + 2) {
    scratch.resize(v.size() * per_value + 2);
  }
  char* p = scratch.data();
  *p++ = '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) {
      *p++ = ',';
    }
    p = as_float64 ? write_go_float64(p, static_cast<double>(v[i])) : write_go_float32(p, v[i]);
  }
  *p++ = ']';
  out.append(scratch.data(), static_cast<std::size_t>(p - scratch.data()));
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

} // namespace meter::sim
