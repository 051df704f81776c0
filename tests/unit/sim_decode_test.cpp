// ollama-sim: request bodies are decoded the way Ollama (gin + encoding/json v1) decodes them.
#include "tests/sim/go_json.hpp"
#include "tests/sim/requests.hpp"

#include <catch2/catch.hpp>

using namespace meter::sim;

namespace {

embed_request ok(std::string_view body) {
  auto r = decode_embed(body);
  INFO(body);
  REQUIRE(std::holds_alternative<embed_request>(r));
  return std::get<embed_request>(r);
}

std::string fails(std::string_view body) {
  auto r = decode_embed(body);
  INFO(body);
  REQUIRE(std::holds_alternative<request_error>(r));
  CHECK(std::get<request_error>(r).status == 400);
  return std::get<request_error>(r).message;
}

} // namespace

TEST_CASE("sim: keys bind case-insensitively, with Unicode folding, and the last duplicate wins",
          "[sim]") {
  CHECK(ok(R"({"MODEL":"a","Input":"x"})").model == "a");
  CHECK(ok(R"({"Model":"a","model":"b"})").model == "b");
  CHECK(ok(R"({"mod\u0065l":"esc"})").model == "esc");
  CHECK(ok("{\"dimen\xC5\xBFions\":7}").dimensions == 7); // U+017F long s
  CHECK(ok("{\"\xE2\x84\xAA"
           "eep_alive\":-1}")
            .keep_alive_set); // U+212A Kelvin sign
  CHECK(ok(R"({"model ":"a"})").model.empty());
  CHECK(ok(R"({"model":"a","model":null})").model == "a"); // null leaves a string alone
  CHECK_FALSE(ok(R"({"truncate":false,"truncate":null})").truncate.has_value());
}

TEST_CASE("sim: repeated options objects merge while a repeated input is replaced", "[sim]") {
  auto r = ok(R"({"options":{"a":1},"options":{"b":2,"a":3},"input":["x"],"input":"y"})");
  REQUIRE(r.options.size() == 2);
  CHECK(r.options[0].first == "a");
  CHECK(r.options[0].second.text == "3");
  CHECK(r.options[1].first == "b");
  REQUIRE(r.input.has_value());
  CHECK(r.input->is_string());
  CHECK(r.input->text == "y");
}

TEST_CASE("sim: only the first JSON value is read and trailing bytes are ignored", "[sim]") {
  CHECK(ok(R"({"model":"m"} garbage)").model == "m");
  CHECK(ok(R"({"model":"m"}{"model":"n"})").model == "m");
  CHECK(ok("null").model.empty());
  CHECK(ok("  null  ").model.empty());
}

TEST_CASE("sim: empty bodies, wrong top-level types and bad JSON give Go's texts", "[sim]") {
  CHECK(fails("") == "missing request body");
  CHECK(fails(" \n\t ") == "missing request body");
  CHECK(fails("[]") == "json: cannot unmarshal array into Go value of type api.EmbedRequest");
  CHECK(fails("\"x\"") == "json: cannot unmarshal string into Go value of type api.EmbedRequest");
  CHECK(fails("5") == "json: cannot unmarshal number into Go value of type api.EmbedRequest");
  CHECK(fails(R"({"model":NaN})") == "invalid character 'N' looking for beginning of value");
  CHECK(fails(R"({"model":Infinity})") == "invalid character 'I' looking for beginning of value");
  CHECK(fails(R"({"model":"m",})") ==
        "invalid character '}' looking for beginning of object key string");
  CHECK(fails("{'model':1}") ==
        "invalid character '\\'' looking for beginning of object key string");
  CHECK(fails(R"({"model":"m")") == "unexpected EOF");
  CHECK(fails(R"({"model")") == "unexpected EOF");
  CHECK(fails("\x1f\x8b") == "invalid character '\\x1f' looking for beginning of value");
  CHECK(fails(R"({"a" 1})") == "invalid character '1' after object key");
  CHECK(fails(R"({"a":1 "b":2})") == "invalid character '\"' after object key:value pair");
  CHECK(fails(R"({"a":[1 2]})") == "invalid character '2' after array element");
  CHECK(fails(R"({"a":tru})") == "invalid character '}' in literal true (expecting 'e')");
  CHECK(fails(R"({"a":-x})") == "invalid character 'x' in numeric literal");
  CHECK(fails(R"({"a":1.})") == "invalid character '}' after decimal point in numeric literal");
  CHECK(fails(R"({"a":"\q"})") == "invalid character 'q' in string escape code");
  CHECK(fails("{\"a\":\"line\nbreak\"}") == "invalid character '\\n' in string literal");
}

TEST_CASE("sim: wrong field types give Go's unmarshal texts, the first one in document order",
          "[sim]") {
  CHECK(fails(R"({"model":5})") ==
        "json: cannot unmarshal number into Go struct field EmbedRequest.model of type string");
  CHECK(fails(R"({"truncate":"no"})") ==
        "json: cannot unmarshal string into Go struct field EmbedRequest.truncate of type bool");
  CHECK(fails(R"({"dimensions":3.5})") == "json: cannot unmarshal number 3.5 into Go struct "
                                          "field EmbedRequest.dimensions of type int");
  CHECK(fails(R"({"dimensions":1e3})") == "json: cannot unmarshal number 1e3 into Go struct "
                                          "field EmbedRequest.dimensions of type int");
  CHECK(fails(R"({"options":[1]})") == "json: cannot unmarshal array into Go struct field "
                                       "EmbedRequest.options of type map[string]interface {}");
  CHECK(fails(R"({"model":{},"truncate":1})") ==
        "json: cannot unmarshal object into Go struct field EmbedRequest.model of type string");
}

TEST_CASE("sim: keep_alive accepts numbers and Go durations and rejects other types", "[sim]") {
  CHECK(ok(R"({"keep_alive":-1})").keep_alive_set);
  CHECK(ok(R"({"keep_alive":"1h30m"})").keep_alive_set);
  CHECK(ok(R"({"keep_alive":"0"})").keep_alive_set);
  CHECK_FALSE(ok(R"({"keep_alive":null})").keep_alive_set);
  CHECK(fails(R"({"keep_alive":true})") == "Unsupported type: 'bool'");
  CHECK(fails(R"({"keep_alive":{}})") == "Unsupported type: 'map[string]interface {}'");
  CHECK(fails(R"({"keep_alive":[]})") == "Unsupported type: '[]interface {}'");
  CHECK(fails(R"({"keep_alive":"forever"})") == "time: invalid duration \"forever\"");
  CHECK(fails(R"({"keep_alive":"-1"})") == "time: missing unit in duration \"-1\"");
  CHECK(fails(R"({"keep_alive":"10x"})") == "time: unknown unit \"x\" in duration \"10x\"");
  // An UnmarshalJSON error wins over a type error saved earlier.
  CHECK(fails(R"({"model":1,"keep_alive":true})") == "Unsupported type: 'bool'");
}

TEST_CASE("sim: invalid UTF-8 and lone surrogates in strings become U+FFFD", "[sim]") {
  CHECK(ok("{\"model\":\"a\xFF\"}").model == "a\xEF\xBF\xBD");
  CHECK(ok(R"({"model":"\ud800x"})").model == "\xEF\xBF\xBDx");
  CHECK(ok(R"({"model":"\ud83d\ude00"})").model == "\xF0\x9F\x98\x80");
  CHECK(ok(R"({"model":"nul\u0000"})").model == std::string("nul\0", 4));
}

TEST_CASE("sim: input keeps its JSON type for the handler to validate", "[sim]") {
  CHECK_FALSE(ok(R"({"input":null})").input.has_value());
  CHECK(ok(R"({"input":[1,"a"]})").input->is_array());
  CHECK(ok(R"({"input":{"text":"a"}})").input->is_object());
}

TEST_CASE("sim: integer options are checked like Ollama's FromMap", "[sim]") {
  auto r = ok(R"({"options":{"num_ctx":"big","num_batch":8}})");
  auto bad = int_option(r.options, "num_ctx");
  REQUIRE(std::holds_alternative<request_error>(bad));
  CHECK(std::get<request_error>(bad).status == 500);
  CHECK(std::get<request_error>(bad).message == "option \"num_ctx\" must be of type integer");
  auto good = int_option(r.options, "num_batch");
  REQUIRE(std::holds_alternative<std::optional<std::int64_t>>(good));
  CHECK(std::get<std::optional<std::int64_t>>(good) == 8);
  CHECK_FALSE(std::get<std::optional<std::int64_t>>(int_option(r.options, "absent")).has_value());
}

TEST_CASE("sim: other request structs name themselves in type errors", "[sim]") {
  auto legacy = decode_legacy_embed("[1]");
  REQUIRE(std::holds_alternative<request_error>(legacy));
  CHECK(std::get<request_error>(legacy).message ==
        "json: cannot unmarshal array into Go value of type api.EmbeddingRequest");
  auto openai = decode_openai_embed("");
  REQUIRE(std::holds_alternative<request_error>(openai));
  CHECK(std::get<request_error>(openai).message == "EOF");
  auto chat = decode_generate(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", true);
  REQUIRE(std::holds_alternative<generate_request>(chat));
  CHECK(std::get<generate_request>(chat).messages.at(0).content == "hi");
  auto pull = decode_pull(R"({"name":"old-field"})");
  REQUIRE(std::holds_alternative<pull_request>(pull));
  CHECK(std::get<pull_request>(pull).model == "old-field");
}

TEST_CASE("sim: the JSON reader keeps raw spans and member order", "[sim]") {
  auto parsed = parse_first_json_value(R"( {"b":[1, 2],"a":{"x":true}} tail)");
  REQUIRE(std::holds_alternative<json_value>(parsed));
  const auto& v = std::get<json_value>(parsed);
  REQUIRE(v.members.size() == 2);
  CHECK(v.members[0].first == "b");
  CHECK(v.members[0].second.raw == "[1, 2]");
  CHECK(v.members[1].second.raw == R"({"x":true})");
  CHECK(go_key_matches("INPUT", "input"));
  CHECK_FALSE(go_key_matches("inputs", "input"));
}
