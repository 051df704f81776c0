// Byte-exact reproductions of what Go's encoding/json and net/http write: float32/float64 numbers,
// escaped strings, status reason phrases, the Date header and time.Time's RFC 3339 form.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace meter::sim {

// encoding/json for a float32: the shortest digits that read back to the same float32, plain
// decimal when 1e-6 <= |x| < 1e21 (compared in float32), else d[.ddd]e-N / d[.ddd]e+NN.
// NaN and infinities are not JSON; they are written as 0 (callers never produce them).
void append_go_float32(std::string& out, float value);
// The same rules with float64 shortest digits (what /api/embeddings writes for widened float32s).
void append_go_float64(std::string& out, double value);

std::string go_float32_text(float value);

// The same, written at `out` (which must have room for the max_chars bytes); returns the end.
inline constexpr std::size_t go_float32_max_chars = 32;
inline constexpr std::size_t go_float64_max_chars = 40;
char* write_go_float32(char* out, float value);
char* write_go_float64(char* out, double value);
std::string go_float64_text(double value);

// A JSON string literal as Go writes it: ", \ and control characters escaped (\b \f \n \r \t, else
// \u00XX), <, > and & as \u003c \u003e \u0026, U+2028/U+2029 escaped, and every byte of invalid
// UTF-8 replaced by \ufffd.
void append_go_string(std::string& out, std::string_view text);
std::string go_quote(std::string_view text);

// strconv.Quote (what fmt's %q writes for a string): "\"", "\\", \n-style escapes, \xNN for other
// control bytes and invalid UTF-8.
std::string go_strconv_quote(std::string_view text);

// Replaces each invalid UTF-8 byte by U+FFFD (what Go's decoder does to JSON string contents).
std::string sanitize_utf8(std::string_view text);

// net/http's reason phrase: "OK", "Not Found", ..., or "status code N" for codes Go does not name.
std::string_view go_status_text(unsigned status);
std::string go_reason_phrase(unsigned status); // status_text, or "status code N" when unnamed

// "Mon, 02 Jan 2006 15:04:05 GMT" for the given time (http.TimeFormat).
std::string http_date(std::chrono::system_clock::time_point at);

// time.Time's MarshalJSON layout in UTC: "2006-01-02T15:04:05.999999999Z" (trailing zeros of the
// fraction trimmed, no fraction when it is zero).
std::string rfc3339_nano(std::chrono::system_clock::time_point at);

} // namespace meter::sim
