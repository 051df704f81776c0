// The toy tokenizer, the context limit and the vector text cache.
#include "tests/sim/embedding.hpp"

namespace meter::sim {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
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

void vector_text_cache::append(std::string& out, const vector_spec& spec, std::string_view text,
                               bool as_float64) {
  if (fast_vector_text(spec, as_float64)) {
    append_embedding_json(out, spec, text, as_float64);
    return;
  }
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
      out.append(*it->second);
      return;
    }
  }
  auto made = std::make_shared<std::string>();
  append_embedding_json(*made, spec, text, as_float64);
  out.append(*made);
  std::shared_ptr<const std::string> result = std::move(made);
  std::size_t cost = result->size() + key.size();
  if (cost * 4 > max_bytes_) {
    return;
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
}

} // namespace meter::sim
