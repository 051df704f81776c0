// Control-prefix parser.
#include "tests/sim/controls.hpp"

#include <algorithm>
#include <charconv>

namespace meter::sim {
namespace {

std::optional<std::uint32_t> parse_count(std::string_view digits) {
  if (digits.empty() || digits.size() > 10) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(value, max_control_delay_ms));
}

} // namespace

controls parse_controls(std::string_view text) {
  controls c;
  std::size_t pos = 0;
  while (pos < text.size() && text[pos] == '@') {
    std::size_t semicolon = text.find(';', pos);
    if (semicolon == std::string_view::npos) {
      break;
    }
    std::string_view item = text.substr(pos + 1, semicolon - pos - 1);
    std::size_t eq = item.find('=');
    std::string_view name = item.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    bool has_value = eq != std::string_view::npos;
    std::size_t next = semicolon + 1;

    if (name == "drop" && !has_value) {
      c.drop = true;
    } else if (name == "edge" && !has_value) {
      c.edge = edge_kind::unit;
    } else if (name == "edge" && value == "large") {
      c.edge = edge_kind::large;
    } else if (name == "streamerror" && has_value) {
      c.stream_error = std::string(value);
    } else if (name == "status" && has_value) {
      auto code = parse_count(value);
      if (!code || *code < 100 || *code > 999) {
        break;
      }
      c.status = *code;
      c.status_message = std::string(text.substr(next));
      c.prefix_length = text.size();
      return c;
    } else if (has_value && (name == "sleep" || name == "hdrdelay" || name == "gap" ||
                             name == "chunked" || name == "interim")) {
      auto number = parse_count(value);
      if (!number) {
        break;
      }
      if (name == "sleep") {
        c.sleep_ms = number;
      } else if (name == "hdrdelay") {
        c.hdrdelay_ms = number;
      } else if (name == "gap") {
        c.gap_ms = number;
      } else if (name == "interim") {
        c.interim = std::min<std::uint32_t>(*number, max_control_interim);
      } else {
        c.chunks = std::clamp<std::uint32_t>(*number, 1, max_control_chunks);
      }
    } else {
      break;
    }
    pos = next;
    c.prefix_length = pos;
  }
  return c;
}

} // namespace meter::sim
