// Generation statistics from a relayed body; see generation_tap.hpp.
#include "proxy/generation_tap.hpp"

#include <simdjson.h>

namespace meter {

void generation_tap::feed(std::string_view piece) {
  while (!piece.empty()) {
    auto newline = piece.find('\n');
    if (newline == std::string_view::npos) {
      if (!overflow_ && partial_.size() + piece.size() <= max_line_) {
        partial_.append(piece);
      } else {
        overflow_ = true;
        partial_.clear();
      }
      return;
    }
    auto head = piece.substr(0, newline);
    if (partial_.empty() && !overflow_) {
      take_line(head);
    } else if (!overflow_ && partial_.size() + head.size() <= max_line_) {
      partial_.append(head);
      take_line(partial_);
    }
    partial_.clear();
    overflow_ = false;
    piece.remove_prefix(newline + 1);
  }
}

void generation_tap::finish() {
  if (!overflow_ && !partial_.empty()) {
    take_line(partial_);
  }
  partial_.clear();
  overflow_ = false;
}

void generation_tap::take_line(std::string_view line) {
  // Only the final object says done:true (Ollama writes compact JSON); skip every other line.
  if (line.find("\"done\":true") == std::string_view::npos) {
    return;
  }
  if (auto stats = parse_final_chunk(line)) {
    stats_ = std::move(stats);
  }
}

std::optional<generation_stats> parse_final_chunk(std::string_view line) {
  simdjson::padded_string padded{line};
  // One parser per thread: it keeps its buffers, sized for the largest chunk so far.
  static thread_local simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) {
    return std::nullopt;
  }
  simdjson::ondemand::object object;
  if (doc.get_object().get(object)) {
    return std::nullopt;
  }
  generation_stats stats;
  bool done = false;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) {
      return std::nullopt;
    }
    auto value = field.value();
    auto read_int = [&](std::int64_t& out) {
      std::int64_t v;
      if (!value.get_int64().get(v)) {
        out = v;
      }
    };
    if (key == "done") {
      bool b = false;
      done = !value.get_bool().get(b) && b;
    } else if (key == "model") {
      std::string_view m;
      if (!value.get_string().get(m)) {
        stats.model = m;
      }
    } else if (key == "total_duration") {
      read_int(stats.total_duration);
    } else if (key == "load_duration") {
      read_int(stats.load_duration);
    } else if (key == "prompt_eval_count") {
      read_int(stats.prompt_eval_count);
    } else if (key == "prompt_eval_duration") {
      read_int(stats.prompt_eval_duration);
    } else if (key == "eval_count") {
      read_int(stats.eval_count);
    } else if (key == "eval_duration") {
      read_int(stats.eval_duration);
    }
  }
  if (!done) {
    return std::nullopt;
  }
  return stats;
}

} // namespace meter
