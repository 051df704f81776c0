// Deterministic embeddings and token counts.
//
// Vectors: a function of (canonical model name, lower-cased with its tag, e.g.
// "all-minilm:latest"; the exact input text, control prefixes included), which seed a splitmix64
// stream. For an even length each pair of values is (±cos t, ±sin t) * sqrt(2/dims) with t one of
// 4096 fixed angles, so the vector has unit length by construction and its JSON text is copied
// from preformatted numbers (a 64 x 768 batch costs well under a millisecond); an odd length uses
// uniform values L2-normalised the way Ollama's normalize() does. `dimensions` (0 < d < dims)
// truncates and normalises again.
//
// Edge inputs, so float formatting is exercised on the wire:
//   "@edge;..."        a unit vector whose first 12 values are exactly
//                      1e-7, -0, 0, 1e-45, 9.999999e-7, 1e-6, 1.430923e-8, -7.227309e-33,
//                      0.000025, 0.0001, 0.1, -0.5; Go writes them as
//                      1e-7,-0,0,1e-45,9.999999e-7,0.000001,1.430923e-8,-7.227309e-33,0.000025,
//                      0.0001,0.1,-0.5. The remaining values are ±c (alternating) with c chosen so
//                      the norm is 1. It is not normalised again (that would move the values).
//   "@edge=large;..."  an unnormalised vector: 3.4028235e+38, 1e+21, 100000000000000000000,
//                      15000000000, 123456790, 100000000, 10000000, -1, 100, 0.1, 1e-7, -0,
//                      1e-45, then 0.5 repeated. `dimensions` only truncates it. /api/embeddings
//                      writes the same float32 values widened to float64 (3.4028234663852886e+38,
//                      1.0000000200408773e+21, ..., 123456792, ...).
//
// Tokens: every whitespace-separated word counts one token per started 8 bytes, plus 2 special
// tokens (BOS/EOS) per input; the empty string is 2 tokens. Truncation keeps the leading pieces.
#pragma once

#include "tests/sim/controls.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace meter::sim {

inline constexpr std::size_t special_tokens = 2;
inline constexpr std::size_t token_piece_bytes = 8;

std::size_t count_tokens(std::string_view text);

// The longest prefix of `text` that fits `max_tokens` (special tokens included), cut after the
// last whole piece. max_tokens <= special_tokens gives "".
std::string_view truncate_to_tokens(std::string_view text, std::size_t max_tokens);

struct token_outcome {
  std::size_t tokens = 0;      // after truncation, special tokens included
  std::string_view text;       // the text that gets embedded
  const char* error = nullptr; // Ollama's message when the input cannot be embedded
};

// Applies the context limit: fits as is; truncated (truncate == true); or an error
// ("the input length exceeds the context length", or "input after truncation exceeds maximum
// context length" when the limit leaves no room for any piece).
token_outcome fit_context(std::string_view text, std::int64_t context_tokens, bool truncate);

struct vector_spec {
  std::string_view model_key; // canonical, lower-cased ("all-minilm:latest")
  unsigned dims = 384;
  std::int64_t dimensions = 0; // request field; applied when 0 < d < dims
  edge_kind edge = edge_kind::none;
};

// The embedding of `text` (float32, normalised unless edge == large).
std::vector<float> make_vector(const vector_spec& spec, std::string_view text);

// Ollama's normalize(): float32 sum of squares, scale by float32(1/sqrt(sum)).
void normalize(std::vector<float>& v);

// "[v0,v1,...]" with Go's float32 text, or float64 text of the widened values.
void append_vector_json(std::string& out, const std::vector<float>& v, bool as_float64);

// The JSON text of make_vector(spec, text), from preformatted numbers when fast_vector_text().
void append_embedding_json(std::string& out, const vector_spec& spec, std::string_view text,
                           bool as_float64);
bool fast_vector_text(const vector_spec& spec, bool as_float64);

// Standard base64 (with padding) of the little-endian float32 bytes (/v1/embeddings base64).
std::string base64_floats(const std::vector<float>& v);

// A bounded, thread-safe cache of the JSON text of vectors that must be formatted number by number
// (dimensions, float64, edge and odd lengths); the fast path bypasses it.
class vector_text_cache {
public:
  explicit vector_text_cache(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  void append(std::string& out, const vector_spec& spec, std::string_view text, bool as_float64);

private:
  std::size_t max_bytes_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> entries_;
  std::deque<std::string> order_; // insertion order, for eviction
  std::size_t bytes_ = 0;
};

} // namespace meter::sim
