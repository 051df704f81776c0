// Fault-injection control prefixes read from the start of an input string (or a generate prompt,
// the last chat message, a pull model name). Several may be chained: "@hdrdelay=50;@sleep=10;text".
//
//   @sleep=MS;          wait MS ms before answering, outside the runner slot
//   @hdrdelay=MS;       wait MS ms before the status line (streams: before the first byte)
//   @status=CODE;msg    answer CODE with {"error":"msg"}; msg is the rest of the string
//   @drop;              send the head and part of the body, then close the connection
//   @chunked=N;         force Transfer-Encoding: chunked in N chunks (chunk extension + trailer)
//   @gap=MS;            streams: pause between lines (pull: one silent pause after the first
//                       progress line)
//   @streamerror=msg;   streams: an {"error":"msg"} line after the first line, then the end
//   @edge;              embed: a fixed unit vector full of formatting edge cases (see
//   embedding.hpp)
//   @edge=large;        embed: an unnormalised vector of large magnitudes (see embedding.hpp)
//
// Parsing stops at the first '@' that does not start a well-formed known control, so ordinary text
// that starts with '@' is left alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meter::sim {

enum class edge_kind : std::uint8_t { none, unit, large };

struct controls {
  std::optional<std::uint32_t> sleep_ms;
  std::optional<std::uint32_t> hdrdelay_ms;
  std::optional<std::uint32_t> gap_ms;
  std::optional<std::uint32_t> chunks;
  std::optional<std::uint32_t> interim; // interim (102) answers sent before the real one
  std::optional<unsigned> status;
  std::string status_message;
  std::optional<std::string> stream_error;
  bool drop = false;
  edge_kind edge = edge_kind::none;
  std::size_t prefix_length = 0; // bytes of control text at the start

  bool any() const { return prefix_length > 0; }
};

inline constexpr std::uint32_t max_control_interim = 16;
inline constexpr std::uint32_t max_control_delay_ms = 3'600'000; // longer values are clamped
inline constexpr std::uint32_t max_control_chunks = 4096;

controls parse_controls(std::string_view text);

} // namespace meter::sim
