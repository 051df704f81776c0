// Unit tests of the /api/embed splitter: which bodies are plain, and byte-exact sub-requests.
#include "proxy/embed_split.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <simdjson.h>

namespace {

using meter::embed_split;
using meter::field_match;
using meter::match_field_name;
using meter::reserve_padding;
using meter::split_embed_request;
using meter::sub_request_body;

// A body and its split; the views point into `body`, so this never moves.
struct split_of {
  std::string body;
  std::optional<embed_split> split;

  explicit split_of(std::string text) : body(std::move(text)) {
    reserve_padding(body);
    split = split_embed_request(body);
  }
  split_of(const split_of&) = delete;
  split_of& operator=(const split_of&) = delete;

  std::vector<std::string> inputs() const { return {split->inputs.begin(), split->inputs.end()}; }
  std::vector<std::string> sub_bodies() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < split->inputs.size(); ++i) {
      out.push_back(sub_request_body(*split, i));
    }
    return out;
  }
};

bool splits(const std::string& body) {
  return split_of(body).split.has_value();
}

} // namespace

TEST_CASE("An array of strings is split into one-element arrays around unchanged members") {
  const split_of s(R"({"model":"m","input":["a","b"],"truncate":false})");
  REQUIRE(s.split);
  CHECK(s.split->head == R"({"model":"m","input":)");
  CHECK(s.split->tail == R"(,"truncate":false})");
  CHECK(s.split->input_was_array);
  CHECK(s.inputs() == std::vector<std::string>{R"("a")", R"("b")"});
  CHECK(s.sub_bodies() ==
        std::vector<std::string>{R"({"model":"m","input":["a"],"truncate":false})",
                                 R"({"model":"m","input":["b"],"truncate":false})"});
}

TEST_CASE("A non-empty string input becomes a one-element array") {
  const split_of s(R"({"model":"m","input":"hello"})");
  REQUIRE(s.split);
  CHECK_FALSE(s.split->input_was_array);
  CHECK(s.inputs() == std::vector<std::string>{R"("hello")"});
  CHECK(s.sub_bodies() == std::vector<std::string>{R"({"model":"m","input":["hello"]})"});
}

TEST_CASE("Bodies with zero inputs are not split, so Ollama still loads the model (C05)") {
  CHECK_FALSE(splits(R"({"model":"m","input":""})"));
  CHECK_FALSE(splits(R"({"model":"does-not-exist","input":""})"));
  CHECK_FALSE(splits(R"({"model":"m","keep_alive":-1})"));
  CHECK_FALSE(splits(R"({"model":"m","input":[]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":[ ]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":null})"));
  CHECK_FALSE(splits(R"({})"));
}

TEST_CASE("Inputs that are not strings are not split, so Ollama answers invalid input type") {
  CHECK_FALSE(splits(R"({"model":"m","input":["a",1]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":{"text":"a"}})"));
  CHECK_FALSE(splits(R"({"model":"m","input":[null]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a",null]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":[["a"]]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":[{"a":1}]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":[1,2]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":true})"));
  CHECK_FALSE(splits(R"({"model":"m","input":5})"));
}

TEST_CASE("An empty string inside an array is a real input and stays an array element") {
  const split_of s(R"({"model":"m","input":["hello",""]})");
  REQUIRE(s.split);
  CHECK(s.sub_bodies() == std::vector<std::string>{R"({"model":"m","input":["hello"]})",
                                                   R"({"model":"m","input":[""]})"});
  const split_of only_empty(R"({"model":"m","input":[""]})");
  REQUIRE(only_empty.split);
  CHECK(only_empty.sub_bodies() == std::vector<std::string>{R"({"model":"m","input":[""]})"});
}

TEST_CASE("A second key that Go binds to input prevents the split") {
  CHECK_FALSE(splits(R"({"model":"m","input":["a"],"input":["b"]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a"],"input":"b"})"));
  CHECK_FALSE(splits(R"({"model":"m","Input":["x"],"input":["a"]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a"],"INPUT":["x"]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a"],"iNpUt":null})"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a"],"\u0069nput":["x"]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a"],"\u0049nput":["x"]})"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a"],"inpu\u0054":1})"));
}

TEST_CASE("Only a key that unescapes to exactly input is split") {
  CHECK_FALSE(splits(R"({"model":"m","Input":["a"]})"));
  CHECK_FALSE(splits(R"({"model":"m","INPUT":"a"})"));

  const split_of escaped(R"({"model":"m","\u0069nput":["a"]})");
  REQUIRE(escaped.split);
  CHECK(escaped.sub_bodies() == std::vector<std::string>{R"({"model":"m","\u0069nput":["a"]})"});
}

TEST_CASE("Keys that only look like input do not count as input") {
  // Dotless i and dotted capital I have no simple fold to i in Go; "input " has a space.
  const split_of s("{\"model\":\"m\",\"\xC4\xB1nput\":1,\"\xC4\xB0nput\":2,\"input \":3,"
                   "\"inputs\":4,\"inpu\":5,\"input\":[\"a\"]}");
  REQUIRE(s.split);
  CHECK(s.inputs() == std::vector<std::string>{R"("a")"});
  CHECK_FALSE(splits(R"({"model":"m","inputs":["a"]})"));
}

TEST_CASE("Go's field-name matching is exact first, then simple case folding") {
  CHECK(match_field_name("input", "input") == field_match::exact);
  CHECK(match_field_name(R"(\u0069nput)", "input") == field_match::exact);
  CHECK(match_field_name(R"(inpu\u0074)", "input") == field_match::exact);
  CHECK(match_field_name("Input", "input") == field_match::folded);
  CHECK(match_field_name("INPUT", "input") == field_match::folded);
  CHECK(match_field_name(R"(\u0049NPUT)", "input") == field_match::folded);
  CHECK(match_field_name("inputs", "input") == field_match::none);
  CHECK(match_field_name("inpu", "input") == field_match::none);
  CHECK(match_field_name("", "input") == field_match::none);
  CHECK(match_field_name("\xC4\xB1nput", "input") == field_match::none);
  CHECK(match_field_name(R"(\ud800nput)", "input") == field_match::none);
  // The Kelvin sign folds with k and the long s with s, raw or escaped.
  CHECK(match_field_name("\xE2\x84\xAA"
                         "eep_alive",
                         "keep_alive") == field_match::folded);
  CHECK(match_field_name(R"(\u212Aeep_alive)", "keep_alive") == field_match::folded);
  CHECK(match_field_name(R"(dimen\u017Fions)", "dimensions") == field_match::folded);
  CHECK(match_field_name("dimen\xC5\xBF"
                         "ions",
                         "dimensions") == field_match::folded);
  CHECK(match_field_name(R"(\u212Aeep_alive)", "xeep_alive") == field_match::none);
  // Escapes of other characters decode before comparing.
  CHECK(match_field_name(R"(a\"b)", "a\"b") == field_match::exact);
  CHECK(match_field_name(R"(a\nb)", "a\nb") == field_match::exact);
  CHECK(match_field_name(R"(a\/b)", "a/b") == field_match::exact);
}

TEST_CASE("Anything after the object other than whitespace prevents the split") {
  CHECK_FALSE(splits(R"({"model":"m","input":["a"]} x)"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a"]}{"model":"n"})"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a"]},)"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a"]}})"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a"]} "x")"));
  CHECK_FALSE(splits(R"({"model":"m","input":["a"]} 1)"));

  const split_of padded(" \r\n\t{\"model\":\"m\",\"input\":[\"a\"]} \n\t\r ");
  REQUIRE(padded.split);
  CHECK(padded.split->head == " \r\n\t{\"model\":\"m\",\"input\":");
  CHECK(padded.split->tail == "} \n\t\r ");
}

TEST_CASE("Invalid JSON anywhere in the body prevents the split") {
  const char* const bodies[] = {
      "",
      " \n ",
      "null",
      R"({"model":"m","input":["a"],"x":[1 2]})",
      R"({"model":"m","input":["a"],"x":tru})",
      R"({"model":"m","input":["a"],"x":truex})",
      R"({"model":"m","input":["a"],"x":nul})",
      R"({"model":"m","input":["a"],"x":01})",
      R"({"model":"m","input":["a"],"x":1.})",
      R"({"model":"m","input":["a"],"x":.5})",
      R"({"model":"m","input":["a"],"x":-})",
      R"({"model":"m","input":["a"],"x":1e})",
      R"({"model":"m","input":["a"],"x":+1})",
      R"({"model":"m","input":["a"],"x":0x10})",
      R"({"model":"m","input":["a"],"x":NaN})",
      R"({"model":"m","input":["a"],"x":Infinity})",
      R"({"model":"m","input":["a"],"x":"\q"})",
      R"({"model":"m","input":["a"],"x":"\u12G4"})",
      R"({"model":"m","input":["a"],"x":"\u12"})",
      R"({"model":"m","input":["\x"]})",
      R"({"model":"m","input":["a",]})",
      R"({"model":"m","input":[,"a"]})",
      R"({"model":"m","input":["a" "b"]})",
      R"({"model":"m","input":["a"],})",
      R"({"model":"m",,"input":["a"]})",
      R"({"model":"m","input":['a']})",
      R"({"model":"m","input":["a"])",
      R"({"model":"m","input":["a")",
      R"({"model":"m","input":["a"]]})",
      R"({"model":"m","input"["a"]})",
      R"({"model":"m","input":})",
      R"({"model":,"input":["a"]})",
      R"({"model":"m" "input":["a"]})",
      R"({model:"m","input":["a"]})",
      R"({"model":"m":"n","input":["a"]})",
      R"({"model":"m","input":["a":"b"]})",
      R"({"model":"m","input":"a":"b"})",
      R"({"model":"m","input":["a"],"x":["a":"b"]})",
      R"({"model":"m","input":["a"],"x":{"k":"v":"w"}})",
      R"({"model":"m","input":["a"],"x":[1:2]})",
      R"({"model":"m","input":["a"],"x":[true:2]})",
      R"({1:2,"input":["a"]})",
      R"({"o":{"a":[{"b":}]},"input":["a"]})",
      R"({"o":{"a":[{"b":1,}]},"input":["a"]})",
      R"({"o":{"a":[{"b" 1}]},"input":["a"]})",
      R"({"o":{"a":[1,{"b":[1 2]}]},"input":["a"]})",
      R"({"o":{"a":[1,2},"input":["a"]})",
      R"({"o":{"\q":1},"input":["a"]})",
      "{\"model\":\"m\",\"input\":[\"a\tb\"]}",
      "{\"model\":\"m\\\x01\",\"input\":[\"a\"]}",
      "{\"model\":\"m\x01\",\"input\":[\"a\"]}",
      "{\"model\":\"m\xFF\",\"input\":[\"a\"]}",
      "{\"model\":\"m\",\"input\":[\"a\xC3\"]}",
      "{\"model\":\"m\",\"input\":[\"\xED\xA0\x80\"]}",
      "{\"model\":\"m\",\"input\":[\"a\"]}\xFF",
      "\xEF\xBB\xBF{\"model\":\"m\",\"input\":[\"a\"]}",
  };
  for (const char* body : bodies) {
    INFO(body);
    CHECK_FALSE(splits(body));
  }
}

TEST_CASE("A top-level value other than an object is not split") {
  CHECK_FALSE(splits(R"(["a","b"])"));
  CHECK_FALSE(splits(R"("input")"));
  CHECK_FALSE(splits("1"));
  CHECK_FALSE(splits("true"));
}

TEST_CASE("Whitespace anywhere is kept in head and tail, and trimmed from input tokens") {
  const split_of s("\n{ \"model\" : \"m\" ,\r\n \"input\" :\t[ \"a\" ,\n \"b\"\t] , \"x\" : 1 }\n");
  REQUIRE(s.split);
  CHECK(s.split->head == "\n{ \"model\" : \"m\" ,\r\n \"input\" :\t");
  CHECK(s.split->tail == " , \"x\" : 1 }\n");
  CHECK(s.inputs() == std::vector<std::string>{R"("a")", R"("b")"});
  CHECK(s.sub_bodies()[1] == "\n{ \"model\" : \"m\" ,\r\n \"input\" :\t[\"b\"] , \"x\" : 1 }\n");

  const split_of string_input("{\"input\" : \"a b\" \n}");
  REQUIRE(string_input.split);
  CHECK(string_input.inputs() == std::vector<std::string>{R"("a b")"});
  CHECK(string_input.split->tail == " \n}");
}

TEST_CASE("Escapes and raw UTF-8 in inputs are kept byte for byte") {
  const std::vector<std::string> tokens = {
      R"("caf\u00e9")",
      "\"caf\xC3\xA9\"",
      R"("\ud83d\ude00")",
      "\"\xF0\x9F\x98\x80\"",
      R"("tab\there")",
      R"("quote \" and backslash \\")",
      R"("\/\b\f\n\r\t")",
      R"("lone \ud800 half")",
      R"("\u0000")",
      R"("\u003c\u003E")",
      R"(" ")",
      "\"\xE2\x80\xA8\"",
  };
  std::string body = R"({"model":"m","input":[)";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    body += (i == 0 ? "" : ",") + tokens[i];
  }
  body += "]}";
  const split_of s(body);
  REQUIRE(s.split);
  CHECK(s.inputs() == tokens);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    CHECK(s.sub_bodies()[i] == R"({"model":"m","input":[)" + tokens[i] + "]}");
  }
}

TEST_CASE("Every other member keeps its exact bytes and JSON type in each sub-request (C07)") {
  const std::string rest = R"(,"truncate":false,"dimensions":256,"keep_alive":-1,)"
                           R"("options":{"num_ctx":512},"x_future":{"a":[1,true,null]}})";
  const split_of s(R"({"model":"all-minilm","input":["short","@status=400;the input length )"
                   R"(exceeds the context length"])" +
                   rest);
  REQUIRE(s.split);
  const auto subs = s.sub_bodies();
  REQUIRE(subs.size() == 2);
  CHECK(subs[0] == R"({"model":"all-minilm","input":["short"])" + rest);
  for (const std::string& sub : subs) {
    const auto j = nlohmann::json::parse(sub);
    CHECK(j.at("model") == "all-minilm");
    CHECK(j.at("truncate").is_boolean());
    CHECK(j.at("truncate") == false);
    CHECK(j.at("dimensions").is_number_integer());
    CHECK(j.at("dimensions") == 256);
    CHECK(j.at("keep_alive").is_number_integer());
    CHECK(j.at("keep_alive") == -1);
    CHECK(j.at("options") == nlohmann::json{{"num_ctx", 512}});
    CHECK(j.at("x_future") == nlohmann::json::parse(R"({"a":[1,true,null]})"));
    CHECK(j.at("input").is_array());
    CHECK(j.at("input").size() == 1);
  }

  const split_of string_keep_alive(R"({"model":"m","input":["a","b"],"keep_alive":"10m"})");
  REQUIRE(string_keep_alive.split);
  for (const std::string& sub : string_keep_alive.sub_bodies()) {
    CHECK(nlohmann::json::parse(sub).at("keep_alive") == "10m");
    CHECK(sub.find(R"("keep_alive":"10m")") != std::string::npos);
  }
}

TEST_CASE("The model is kept exactly as sent, case and spelling included (C09)") {
  for (const std::string model : {R"("NOMIC-EMBED-TEXT")", R"("nomic-embed-text")",
                                  R"(" spaced:latest ")", R"("a\u003cb")"}) {
    const split_of s(R"({"model":)" + model + R"(,"input":["x","y"]})");
    REQUIRE(s.split);
    for (const std::string& sub : s.sub_bodies()) {
      CHECK(sub.find(R"({"model":)" + model + ",") == 0);
    }
  }
}

TEST_CASE("Input may come first, last or between other members, and other keys may repeat") {
  const split_of first(R"({"input":["a"],"model":"m"})");
  REQUIRE(first.split);
  CHECK(first.sub_bodies()[0] == R"({"input":["a"],"model":"m"})");

  const split_of only(R"({"input":"a"})");
  REQUIRE(only.split);
  CHECK(only.sub_bodies()[0] == R"({"input":["a"]})");

  const split_of repeated(
      R"({"model":"a","options":{"x":1},"input":["q"],"model":"b","options":{"y":2}})");
  REQUIRE(repeated.split);
  CHECK(repeated.sub_bodies()[0] ==
        R"({"model":"a","options":{"x":1},"input":["q"],"model":"b","options":{"y":2}})");
}

TEST_CASE("Any valid JSON in other members is accepted, big and odd numbers included") {
  const split_of s(R"({"a":-0,"b":1e-7,"c":1E+2,"d":0.5,"e":123456789012345678901234567890,)"
                   R"("f":-1.5e-300,"g":1e400,"h":[],"i":{},"j":[[[]]],"k":"","l":[{"m":[null]}],)"
                   R"("n":"\ud800","mod\u0065l":"x","input":["a"]})");
  REQUIRE(s.split);
  CHECK(s.inputs() == std::vector<std::string>{R"("a")"});
}

TEST_CASE("Deep nesting in another member does not crash and is not split past the limit") {
  const std::string moderate = std::string(R"({"o":)") + std::string(100, '[') +
                               std::string(100, ']') + R"(,"input":["a"]})";
  CHECK(splits(moderate));

  const std::string deep = std::string(R"({"o":)") + std::string(200000, '[') +
                           std::string(200000, ']') + R"(,"input":["a"]})";
  CHECK_FALSE(splits(deep));
  const std::string deep_objects = [] {
    std::string body = R"({"input":["a"],"o":)";
    for (int i = 0; i < 100000; ++i) {
      body += R"({"k":)";
    }
    body += "1";
    body += std::string(100000, '}');
    return body + "}";
  }();
  CHECK_FALSE(splits(deep_objects));
}

TEST_CASE("A batch of 100000 inputs is split completely and in order") {
  std::string body = R"({"model":"m","input":[)";
  for (int i = 0; i < 100000; ++i) {
    body += (i == 0 ? "\"t" : ",\"t") + std::to_string(i) + "\"";
  }
  body += R"(],"keep_alive":-1})";
  const split_of s(body);
  REQUIRE(s.split);
  REQUIRE(s.split->inputs.size() == 100000);
  CHECK(s.split->inputs[0] == R"("t0")");
  CHECK(s.split->inputs[54321] == R"("t54321")");
  CHECK(sub_request_body(*s.split, 99999) == R"({"model":"m","input":["t99999"],"keep_alive":-1})");
}

TEST_CASE("reserve_padding leaves the contents alone and makes room for simdjson") {
  std::string body = R"({"model":"m","input":["a"]})";
  body.shrink_to_fit();
  const std::string before = body;
  reserve_padding(body);
  CHECK(body == before);
  CHECK(body.capacity() >= body.size() + simdjson::SIMDJSON_PADDING);
  const auto capacity = body.capacity();
  reserve_padding(body);
  CHECK(body.capacity() == capacity);
}

TEST_CASE("Sub-request bodies reject an index past the inputs") {
  const split_of s(R"({"input":["a"]})");
  REQUIRE(s.split);
  CHECK_THROWS_AS(sub_request_body(*s.split, 1), std::out_of_range);
}

TEST_CASE("The split names the model Go would bind, for metric labels") {
  CHECK(split_of(R"({"model":"nomic-embed-text","input":["a"]})").split->model ==
        "nomic-embed-text");
  SECTION("the last key matching model case-insensitively wins, as in Go") {
    CHECK(split_of(R"({"model":"a","input":["x"],"MODEL":"b"})").split->model == "b");
  }
  SECTION("null leaves the model bound before it, as in Go") {
    CHECK(split_of(R"({"model":"a","input":["x"],"Model":null})").split->model == "a");
  }
  SECTION("a model that is not a string names none") {
    CHECK(split_of(R"({"model":5,"input":["x"]})").split->model.empty());
    CHECK(split_of(R"({"input":["x"]})").split->model.empty());
  }
}
