// Go formatting rules. Shortest digits come from fmt's Dragonbox (exact, and about three times
// faster than std::to_chars here); the layout around them is Go's.
#include "tests/sim/go_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fmt/format.h>

namespace meter::sim {
namespace {

constexpr char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

constexpr std::uint64_t powers_of_ten[] = {1ull,
                                           10ull,
                                           100ull,
                                           1000ull,
                                           10000ull,
                                           100000ull,
                                           1000000ull,
                                           10000000ull,
                                           100000000ull,
                                           1000000000ull,
                                           10000000000ull,
                                           100000000000ull,
                                           1000000000000ull,
                                           10000000000000ull,
                                           100000000000000ull,
                                           1000000000000000ull,
                                           10000000000000000ull,
                                           100000000000000000ull,
                                           1000000000000000000ull,
                                           10000000000000000000ull};

// Decimal digits of v (v > 0): log10 estimated from the bit length, then corrected.
int digit_count(std::uint64_t v) {
  int bits = 64 - __builtin_clzll(v | 1);
  int estimate = (bits * 1233) >> 12;
  return estimate + (v >= powers_of_ten[estimate] ? 1 : 0);
}

// Writes the `count` decimal digits of v at p[0..count).
template <typename Uint>
void write_digits(char* p, Uint v, int count) {
  char* q = p + count;
  while (v >= 100) {
    unsigned pair = static_cast<unsigned>(v % 100) * 2;
    v /= 100;
    *--q = digit_pairs[pair + 1];
    *--q = digit_pairs[pair];
  }
  if (v >= 10) {
    unsigned pair = static_cast<unsigned>(v) * 2;
    *--q = digit_pairs[pair + 1];
    *--q = digit_pairs[pair];
  } else {
    *--q = static_cast<char>('0' + v);
  }
}

// Lays out significand * 10^exponent the way strconv.AppendFloat(x, 'f' or 'e', -1, bits) does,
// with encoding/json's clean-up of "e-07" to "e-7". Writes at `p`, returns the end.
template <typename Uint>
char* layout(char* p, bool negative, Uint significand, int exponent, bool exponent_form) {
  if (negative) {
    *p++ = '-';
  }
  int count = digit_count(significand);
  if (exponent_form) {
    write_digits(p + 1, significand, count);
    p[0] = p[1];
    if (count > 1) {
      p[1] = '.';
      p += count + 1;
    } else {
      p += 1;
    }
    int e = exponent + count - 1;
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    int magnitude = e < 0 ? -e : e;
    if (e >= 0 && magnitude < 10) {
      *p++ = '0';
    }
    int width = digit_count(static_cast<std::uint64_t>(magnitude));
    write_digits(p, static_cast<unsigned>(magnitude), width);
    return p + width;
  }
  int point = count + exponent; // digits before the decimal point
  if (point <= 0) {
    *p++ = '0';
    *p++ = '.';
    for (int i = 0; i < -point; ++i) {
      *p++ = '0';
    }
    write_digits(p, significand, count);
    return p + count;
  }
  write_digits(p, significand, count);
  if (point >= count) {
    p += count;
    for (int i = count; i < point; ++i) {
      *p++ = '0';
    }
    return p;
  }
  for (int i = count; i > point; --i) {
    p[i] = p[i - 1];
  }
  p[point] = '.';
  return p + count + 1;
}

// Length of a valid UTF-8 sequence at s[i] by Go's utf8.DecodeRuneInString rules, or 0 if the
// byte there starts no valid sequence (then it decodes to RuneError with width 1).
std::size_t valid_utf8_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) {
    return 1;
  }
  std::size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (i + need >= s.size()) {
    return 0;
  }
  unsigned char second = byte(i + 1);
  if (second < lo || second > hi) {
    return 0;
  }
  for (std::size_t k = 2; k <= need; ++k) {
    unsigned char cont = byte(i + k);
    if (cont < 0x80 || cont > 0xBF) {
      return 0;
    }
  }
  return need + 1;
}

constexpr char hex_digits[] = "0123456789abcdef";

} // namespace

char* write_go_float32(char* out, float value) {
  if (!std::isfinite(value)) {
    *out = '0';
    return out + 1;
  }
  bool negative = std::signbit(value);
  float magnitude = std::fabs(value);
  if (magnitude == 0.0f) {
    if (negative) {
      *out++ = '-';
    }
    *out = '0';
    return out + 1;
  }
  auto decimal = fmt::detail::dragonbox::to_decimal(magnitude);
  bool exponent_form = magnitude < 1e-6f || magnitude >= 1e21f;
  return layout(out, negative, decimal.significand, decimal.exponent, exponent_form);
}

char* write_go_float64(char* out, double value) {
  if (!std::isfinite(value)) {
    *out = '0';
    return out + 1;
  }
  bool negative = std::signbit(value);
  double magnitude = std::fabs(value);
  if (magnitude == 0.0) {
    if (negative) {
      *out++ = '-';
    }
    *out = '0';
    return out + 1;
  }
  auto decimal = fmt::detail::dragonbox::to_decimal(magnitude);
  bool exponent_form = magnitude < 1e-6 || magnitude >= 1e21;
  return layout(out, negative, decimal.significand, decimal.exponent, exponent_form);
}

void append_go_float32(std::string& out, float value) {
  char buffer[go_float32_max_chars];
  out.append(buffer, write_go_float32(buffer, value));
}

void append_go_float64(std::string& out, double value) {
  char buffer[go_float64_max_chars];
  out.append(buffer, write_go_float64(buffer, value));
}

std::string go_float32_text(float value) {
  std::string out;
  append_go_float32(out, value);
  return out;
}

std::string go_float64_text(double value) {
  std::string out;
  append_go_float64(out, value);
  return out;
}

void append_go_string(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
        out.push_back(static_cast<char>(c));
      } else {
        switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\b':
          out.append("\\b");
          break;
        case '\f':
          out.append("\\f");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          out.append("\\u00");
          out.push_back(hex_digits[c >> 4]);
          out.push_back(hex_digits[c & 0xF]);
        }
      }
      ++i;
      continue;
    }
    std::size_t length = valid_utf8_length(text, i);
    if (length == 0) {
      out.append("\\ufffd");
      ++i;
      continue;
    }
    if (length == 3 && c == 0xE2 && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(text[i + 2]) & 0xFE) == 0xA8) {
      out.append(static_cast<unsigned char>(text[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  out.push_back('"');
}

std::string go_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_go_string(out, text);
  return out;
}

std::string go_strconv_quote(std::string_view text) {
  std::string out = "\"";
  std::size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      std::size_t length = valid_utf8_length(text, i);
      if (length == 0) {
        out.append("\\x");
        out.push_back(hex_digits[c >> 4]);
        out.push_back(hex_digits[c & 0xF]);
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
    case '"':
      out.append("\\\"");
      break;
    case '\\':
      out.append("\\\\");
      break;
    case '\a':
      out.append("\\a");
      break;
    case '\b':
      out.append("\\b");
      break;
    case '\f':
      out.append("\\f");
      break;
    case '\n':
      out.append("\\n");
      break;
    case '\r':
      out.append("\\r");
      break;
    case '\t':
      out.append("\\t");
      break;
    case '\v':
      out.append("\\v");
      break;
    default:
      if (c < 0x20 || c == 0x7F) {
        out.append("\\x");
        out.push_back(hex_digits[c >> 4]);
        out.push_back(hex_digits[c & 0xF]);
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    ++i;
  }
  out.push_back('"');
  return out;
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t length = valid_utf8_length(text, i);
    if (length == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

std::string_view go_status_text(unsigned status) {
  switch (status) {
  case 100:
    return "Continue";
  case 101:
    return "Switching Protocols";
  case 102:
    return "Processing";
  case 103:
    return "Early Hints";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 203:
    return "Non-Authoritative Information";
  case 204:
    return "No Content";
  case 205:
    return "Reset Content";
  case 206:
    return "Partial Content";
  case 207:
    return "Multi-Status";
  case 208:
    return "Already Reported";
  case 226:
    return "IM Used";
  case 300:
    return "Multiple Choices";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 305:
    return "Use Proxy";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 402:
    return "Payment Required";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 406:
    return "Not Acceptable";
  case 407:
    return "Proxy Authentication Required";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 411:
    return "Length Required";
  case 412:
    return "Precondition Failed";
  case 413:
    return "Request Entity Too Large";
  case 414:
    return "Request URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 416:
    return "Requested Range Not Satisfiable";
  case 417:
    return "Expectation Failed";
  case 418:
    return "I'm a teapot";
  case 421:
    return "Misdirected Request";
  case 422:
    return "Unprocessable Entity";
  case 423:
    return "Locked";
  case 424:
    return "Failed Dependency";
  case 425:
    return "Too Early";
  case 426:
    return "Upgrade Required";
  case 428:
    return "Precondition Required";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 451:
    return "Unavailable For Legal Reasons";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  case 506:
    return "Variant Also Negotiates";
  case 507:
    return "Insufficient Storage";
  case 508:
    return "Loop Detected";
  case 510:
    return "Not Extended";
  case 511:
    return "Network Authentication Required";
  default:
    return {};
  }
}

std::string go_reason_phrase(unsigned status) {
  std::string_view text = go_status_text(status);
  if (text.empty()) {
    return "status code " + std::to_string(status);
  }
  return std::string(text);
}

std::string http_date(std::chrono::system_clock::time_point at) {
  std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buffer[40];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buffer, n);
}

std::string rfc3339_nano(std::chrono::system_clock::time_point at) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
  long fraction = static_cast<long>(ns % 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buffer[48];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buffer, n);
  if (fraction != 0) {
    char digits[16];
    std::snprintf(digits, sizeof digits, "%09ld", fraction);
    std::string_view f(digits, 9);
    while (!f.empty() && f.back() == '0') {
      f.remove_suffix(1);
    }
    out.push_back('.');
    out.append(f);
  }
  out.push_back('Z');
  return out;
}

} // namespace meter::sim
