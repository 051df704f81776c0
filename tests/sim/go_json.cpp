// Recursive-descent JSON reader with Go's decoder semantics and error texts.
#include "tests/sim/go_json.hpp"

#include "tests/sim/go_format.hpp"

namespace meter::sim {
namespace {

constexpr std::size_t max_depth = 10000; // encoding/json's maxNestingDepth

struct failure {
  std::string message;
};

class reader {
public:
  explicit reader(std::string_view input) : in_(input) {}

  bool at_end_after_space() {
    skip_space();
    return pos_ >= in_.size();
  }

  json_value value(std::size_t depth) {
    skip_space();
    if (pos_ >= in_.size()) {
      throw failure{"unexpected EOF"};
    }
    std::size_t start = pos_;
    json_value v;
    char c = in_[pos_];
    if (c == '{') {
      if (depth + 1 > max_depth) {
        throw error_at(c, "exceeded max depth");
      }
      v.type = json_value::kind::object;
      object(v, depth + 1);
    } else if (c == '[') {
      if (depth + 1 > max_depth) {
        throw error_at(c, "exceeded max depth");
      }
      v.type = json_value::kind::array;
      array(v, depth + 1);
    } else if (c == '"') {
      v.type = json_value::kind::string;
      v.text = string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.type = json_value::kind::number;
      number();
      v.text.assign(in_.substr(start, pos_ - start));
    } else if (c == 't') {
      literal("true");
      v.type = json_value::kind::boolean;
      v.boolean = true;
    } else if (c == 'f') {
      literal("false");
      v.type = json_value::kind::boolean;
    } else if (c == 'n') {
      literal("null");
    } else {
      throw error_at(c, "looking for beginning of value");
    }
    v.raw = in_.substr(start, pos_ - start);
    return v;
  }

private:
  static failure error_at(char c, std::string_view context) {
    return failure{"invalid character " + go_quote_char(static_cast<unsigned char>(c)) + " " +
                   std::string(context)};
  }

  char next_or_eof() {
    if (pos_ >= in_.size()) {
      throw failure{"unexpected EOF"};
    }
    return in_[pos_];
  }

  void skip_space() {
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
        return;
      }
      ++pos_;
    }
  }

  void object(json_value& v, std::size_t depth) {
    ++pos_; // '{'
    skip_space();
    char c = next_or_eof();
    if (c == '}') {
      ++pos_;
      return;
    }
    for (;;) {
      if (c != '"') {
        throw error_at(c, "looking for beginning of object key string");
      }
      std::string key = string();
      skip_space();
      c = next_or_eof();
      if (c != ':') {
        throw error_at(c, "after object key");
      }
      ++pos_;
      json_value member = value(depth);
      v.members.emplace_back(std::move(key), std::move(member));
      skip_space();
      c = next_or_eof();
      if (c == '}') {
        ++pos_;
        return;
      }
      if (c != ',') {
        throw error_at(c, "after object key:value pair");
      }
      ++pos_;
      skip_space();
      c = next_or_eof();
    }
  }

  void array(json_value& v, std::size_t depth) {
    ++pos_; // '['
    skip_space();
    if (next_or_eof() == ']') {
      ++pos_;
      return;
    }
    for (;;) {
      v.items.push_back(value(depth));
      skip_space();
      char c = next_or_eof();
      if (c == ']') {
        ++pos_;
        return;
      }
      if (c != ',') {
        throw error_at(c, "after array element");
      }
      ++pos_;
    }
  }

  void literal(std::string_view word) {
    for (std::size_t i = 0; i < word.size(); ++i) {
      char c = next_or_eof();
      if (c != word[i]) {
        throw error_at(c, "in literal " + std::string(word) + " (expecting '" +
                              std::string(1, word[i]) + "')");
      }
      ++pos_;
    }
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  // Go's number grammar; the number ends at the first byte that cannot continue it.
  void number() {
    if (in_[pos_] == '-') {
      ++pos_;
      char c = next_or_eof();
      if (!digit(c)) {
        throw error_at(c, "in numeric literal");
      }
    }
    if (in_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < in_.size() && digit(in_[pos_])) {
        ++pos_;
      }
    }
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      char c = next_or_eof();
      if (!digit(c)) {
        throw error_at(c, "after decimal point in numeric literal");
      }
      while (pos_ < in_.size() && digit(in_[pos_])) {
        ++pos_;
      }
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      char c = next_or_eof();
      if (c == '+' || c == '-') {
        ++pos_;
        c = next_or_eof();
      }
      if (!digit(c)) {
        throw error_at(c, "in exponent of numeric literal");
      }
      while (pos_ < in_.size() && digit(in_[pos_])) {
        ++pos_;
      }
    }
  }

  unsigned hex4() {
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = next_or_eof();
      unsigned d = 0;
      if (c >= '0' && c <= '9') {
        d = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<unsigned>(c - 'A' + 10);
      } else {
        throw error_at(c, "in \\u hexadecimal character escape");
      }
      value = value * 16 + d;
      ++pos_;
    }
    return value;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // Reads a string literal at pos_ (which is '"'); returns its decoded, UTF-8-sanitised text.
  std::string string() {
    ++pos_;
    std::string out;
    bool has_high_bytes = false;
    for (;;) {
      char c = next_or_eof();
      unsigned char u = static_cast<unsigned char>(c);
      if (c == '"') {
        ++pos_;
        return has_high_bytes ? sanitize_utf8(out) : out;
      }
      if (u < 0x20) {
        throw error_at(c, "in string literal");
      }
      if (c != '\\') {
        has_high_bytes |= u >= 0x80;
        out.push_back(c);
        ++pos_;
        continue;
      }
      ++pos_;
      char e = next_or_eof();
      ++pos_;
      switch (e) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '/':
        out.push_back('/');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        unsigned cp = hex4();
        if (cp >= 0xD800 && cp < 0xDC00) {
          // A high surrogate pairs only with an immediately following \uDC00-\uDFFF escape.
          if (pos_ + 6 <= in_.size() && in_[pos_] == '\\' && in_[pos_ + 1] == 'u') {
            std::size_t saved = pos_;
            pos_ += 2;
            unsigned low = hex4();
            if (low >= 0xDC00 && low < 0xE000) {
              append_utf8(out, 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00));
              break;
            }
            pos_ = saved;
          }
          append_utf8(out, 0xFFFD);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          append_utf8(out, 0xFFFD);
        } else {
          append_utf8(out, cp);
        }
        break;
      }
      default:
        --pos_;
        throw error_at(e, "in string escape code");
      }
    }
  }

  std::string_view in_;
  std::size_t pos_ = 0;
};

// Decodes one code point at s[i] (valid UTF-8 assumed, as keys are sanitised); advances i.
unsigned next_code_point(std::string_view s, std::size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
  unsigned cp = c & (0x3F >> extra);
  ++i;
  for (int k = 0; k < extra && i < s.size(); ++k, ++i) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[i]) & 0x3F);
  }
  return cp;
}

// Folds a code point to the representative Go's foldName uses for ASCII field names.
unsigned fold(unsigned cp) {
  if (cp >= 'a' && cp <= 'z') {
    return cp - 32;
  }
  if (cp == 0x017F) { // LATIN SMALL LETTER LONG S folds with 's'
    return 'S';
  }
  if (cp == 0x212A) { // KELVIN SIGN folds with 'k'
    return 'K';
  }
  return cp;
}

} // namespace

std::string_view go_kind_name(const json_value& v) {
  switch (v.type) {
  case json_value::kind::string:
    return "string";
  case json_value::kind::number:
    return "number";
  case json_value::kind::boolean:
    return "bool";
  case json_value::kind::array:
    return "array";
  case json_value::kind::object:
    return "object";
  case json_value::kind::null:
    return "null";
  }
  return "null";
}

std::variant<json_value, json_syntax_error> parse_first_json_value(std::string_view input) {
  reader r(input);
  if (r.at_end_after_space()) {
    return json_syntax_error{true, "EOF"};
  }
  try {
    return r.value(0);
  } catch (const failure& f) {
    return json_syntax_error{false, f.message};
  }
}

bool go_key_matches(std::string_view key, std::string_view field_name) {
  if (key == field_name) {
    return true;
  }
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < key.size() && j < field_name.size()) {
    unsigned a = fold(next_code_point(key, i));
    unsigned b = fold(next_code_point(field_name, j));
    if (a != b) {
      return false;
    }
  }
  return i == key.size() && j == field_name.size();
}

std::string go_quote_char(unsigned char c) {
  if (c == '\'') {
    return "'\\''";
  }
  if (c == '"') {
    return "'\"'";
  }
  // strconv.Quote(string(rune(c))) without its double quotes.
  switch (c) {
  case '\a':
    return "'\\a'";
  case '\b':
    return "'\\b'";
  case '\f':
    return "'\\f'";
  case '\n':
    return "'\\n'";
  case '\r':
    return "'\\r'";
  case '\t':
    return "'\\t'";
  case '\v':
    return "'\\v'";
  case '\\':
    return "'\\\\'";
  default:
    break;
  }
  static constexpr char hex[] = "0123456789abcdef";
  if (c < 0x20 || c == 0x7F) {
    return std::string("'\\x") + hex[c >> 4] + hex[c & 0xF] + "'";
  }
  if (c < 0x80) {
    return std::string("'") + static_cast<char>(c) + "'";
  }
  if (c < 0xA1 || c == 0xAD) { // not printable in strconv.IsPrint
    return std::string("'\\u00") + hex[c >> 4] + hex[c & 0xF] + "'";
  }
  std::string out = "'";
  out.push_back(static_cast<char>(0xC0 | (c >> 6)));
  out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  out.push_back('\'');
  return out;
}

} // namespace meter::sim
