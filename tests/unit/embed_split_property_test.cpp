// Randomised property tests of the /api/embed splitter, checked against nlohmann's parser.
#include "proxy/embed_split.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::json;

// Builds random JSON text with random whitespace. Strings never hold lone surrogates, which Go
// (and the splitter) accept but nlohmann rejects; `surrogate_pairs` false leaves out escaped pairs
// too, so that no corruption can split one into two accepted halves.
class body_maker {
public:
  body_maker(std::uint32_t seed, bool surrogate_pairs)
      : rng_(seed), piece_count_(surrogate_pairs ? std::size(pieces_) : std::size(pieces_) - 1) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string space() {
    static const char* const spaces[] = {"", "", "", " ", "\n", "\t", "\r\n", "  "};
    return spaces[pick(8)];
  }

  std::string string_token(bool allow_empty) {
    std::string token = "\"";
    const int count = allow_empty ? pick(6) : 1 + pick(5);
    for (int i = 0; i < count; ++i) {
      token += pieces_[pick(static_cast<int>(piece_count_))];
    }
    return token + "\"";
  }

  std::string value(int depth) {
    static const char* const numbers[] = {"0",
                                          "-0",
                                          "1",
                                          "-1",
                                          "256",
                                          "0.5",
                                          "1e-7",
                                          "3.4028235e+38",
                                          "1E2",
                                          "-1.25e-3",
                                          "123456789012345678901",
                                          "10"};
    switch (depth > 3 ? pick(3) : pick(6)) {
    case 0:
      return string_token(true);
    case 1:
      return numbers[pick(static_cast<int>(std::size(numbers)))];
    case 2:
      return std::vector<std::string>{"true", "false", "null"}[pick(3)];
    case 3:
    case 4: {
      std::string text = "[" + space();
      const int count = pick(4);
      for (int i = 0; i < count; ++i) {
        text += (i ? "," + space() : "") + value(depth + 1) + space();
      }
      return text + "]";
    }
    default: {
      std::string text = "{" + space();
      const int count = pick(4);
      for (int i = 0; i < count; ++i) {
        text += (i ? "," + space() : "") + "\"k" + std::to_string(i) + "\"" + space() + ":" +
                space() + value(depth + 1) + space();
      }
      return text + "}";
    }
    }
  }

  // A plain body: unique keys (none of them folds to "input") plus one `input` member.
  std::string plain_body() {
    std::vector<std::string> keys = {
        "model",  "truncate", "dimensions", "keep_alive", "options",      "x_future",     "inputs",
        "input_", "Inpu",     "\\u00e9",    "a b",        "mod\\u0065l2", "\xC4\xB1nput", "prompt"};
    std::shuffle(keys.begin(), keys.end(), rng_);
    keys.resize(static_cast<std::size_t>(pick(8)));
    keys.insert(keys.begin() + pick(static_cast<int>(keys.size()) + 1), "input");

    std::string body = space() + "{" + space();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      body += (i ? "," + space() : "") + "\"" + keys[i] + "\"" + space() + ":" + space();
      if (keys[i] == "input") {
        body += input_value();
      } else {
        body += value(0);
      }
      body += space();
    }
    return body + "}" + space();
  }

private:
  std::string input_value() {
    if (pick(4) == 0) {
      return string_token(false);
    }
    std::string text = "[" + space();
    const int count = 1 + pick(20);
    for (int i = 0; i < count; ++i) {
      text += (i ? "," + space() : "") + string_token(true) + space();
    }
    return text + "]";
  }

  static constexpr const char* pieces_[] = {"a",
                                            "Z",
                                            "0",
                                            " ",
                                            "hello",
                                            "\\\"",
                                            "\\\\",
                                            "\\/",
                                            "\\b",
                                            "\\f",
                                            "\\n",
                                            "\\r",
                                            "\\t",
                                            "\\u00e9",
                                            "\\u20AC",
                                            "\\u0000",
                                            "<&>",
                                            "@s=1;",
                                            "\xC3\xA9",
                                            "\xE2\x82\xAC",
                                            "\xF0\x9F\x98\x80",
                                            "\\ud83d\\ude00"};

  std::mt19937 rng_;
  std::size_t piece_count_;
};

// True when nlohmann finds a syntax error. Its out-of-range error (a number beyond double, such
// as 1e400) is not one: that text is valid JSON, and Go skips such a value in an unknown member.
bool is_invalid_json(const std::string& text) {
  try {
    const json parsed = json::parse(text);
    return parsed.is_discarded();
  } catch (const json::parse_error&) {
    return true;
  } catch (const json::out_of_range&) {
    return false;
  }
}

} // namespace

TEST_CASE("Random plain bodies split into sub-bodies equal to the original with one input each") {
  body_maker maker(20240611, true);
  for (int round = 0; round < 400; ++round) {
    std::string body = maker.plain_body();
    INFO("body: " << body);
    meter::reserve_padding(body);
    const auto split = meter::split_embed_request(body);
    REQUIRE(split);

    const json original = json::parse(body);
    const json& input = original.at("input");
    const json inputs = input.is_array() ? input : json::array({input});
    REQUIRE(split->input_was_array == input.is_array());
    REQUIRE(split->inputs.size() == inputs.size());

    // body == head + <input value> + tail, and the value between them is the input.
    REQUIRE(body.compare(0, split->head.size(), split->head) == 0);
    REQUIRE(body.compare(body.size() - split->tail.size(), split->tail.size(), split->tail) == 0);
    const std::string middle =
        body.substr(split->head.size(), body.size() - split->head.size() - split->tail.size());
    CHECK(json::parse(middle) == input);

    for (std::size_t i = 0; i < inputs.size(); ++i) {
      CHECK(json::parse(split->inputs[i]) == inputs[i]);
      json expected = original;
      expected["input"] = json::array({inputs[i]});
      const std::string sub = meter::sub_request_body(*split, i);
      CHECK(json::parse(sub) == expected);
    }
  }
}

TEST_CASE("Random corruptions that make a body invalid JSON are never split") {
  body_maker maker(777, false);
  int invalid_seen = 0;
  for (int round = 0; round < 300; ++round) {
    const std::string body = maker.plain_body();
    std::vector<std::string> variants;
    const auto cut = static_cast<std::size_t>(maker.pick(static_cast<int>(body.size())));
    variants.push_back(body.substr(0, cut));
    for (const char* insert : {",", ":", "[", "]", "{", "}", "\"", "x", "\\", "1"}) {
      std::string changed = body;
      changed.insert(static_cast<std::size_t>(maker.pick(static_cast<int>(body.size()) + 1)),
                     insert);
      variants.push_back(changed);
    }
    for (std::string& variant : variants) {
      if (!is_invalid_json(variant)) {
        continue;
      }
      ++invalid_seen;
      INFO("body: " << variant);
      meter::reserve_padding(variant);
      CHECK_FALSE(meter::split_embed_request(variant));
    }
  }
  CHECK(invalid_seen > 1000);
}
