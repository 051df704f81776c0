// ollama-sim: deterministic vectors, normalisation, dimensions, edge vectors, tokens, prefixes.
#include "tests/sim/controls.hpp"
#include "tests/sim/embedding.hpp"
#include "tests/sim/go_format.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

using namespace meter::sim;

namespace {

double norm(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) {
    sum += static_cast<double>(x) * static_cast<double>(x);
  }
  return std::sqrt(sum);
}

vector_spec spec(unsigned dims, std::int64_t dimensions = 0, edge_kind edge = edge_kind::none) {
  vector_spec s;
  s.model_key = "all-minilm:latest";
  s.dims = dims;
  s.dimensions = dimensions;
  s.edge = edge;
  return s;
}

} // namespace

TEST_CASE("sim: vectors depend only on model and text and are unit length", "[sim]") {
  auto a = make_vector(spec(384), "hello");
  auto b = make_vector(spec(384), "hello");
  auto c = make_vector(spec(384), "hello!");
  vector_spec other = spec(384);
  other.model_key = "bge-m3:latest";
  auto d = make_vector(other, "hello");
  REQUIRE(a.size() == 384);
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  CHECK(a != c);
  CHECK(a != d);
  CHECK(norm(a) == Approx(1.0).margin(1e-6));
  CHECK(norm(make_vector(spec(768), "")) == Approx(1.0).margin(1e-6));
}

TEST_CASE("sim: dimensions truncates and renormalises only when 0 < d < dims", "[sim]") {
  auto full = make_vector(spec(384), "text");
  auto cut = make_vector(spec(384, 16), "text");
  REQUIRE(cut.size() == 16);
  CHECK(norm(cut) == Approx(1.0).margin(1e-6));
  std::vector<float> prefix(full.begin(), full.begin() + 16);
  normalize(prefix);
  CHECK(prefix == cut);
  CHECK(make_vector(spec(384, 384), "text").size() == 384);
  CHECK(make_vector(spec(384, -3), "text").size() == 384);
  CHECK(make_vector(spec(384, 0), "text").size() == 384);
}

TEST_CASE("sim: the @edge vector carries tiny values, negative zero and subnormals", "[sim]") {
  auto v = make_vector(spec(384, 0, edge_kind::unit), "@edge;x");
  std::string text;
  append_vector_json(text, v, false);
  CHECK(text.rfind("[1e-7,-0,0,1e-45,9.999999e-7,0.000001,1.430923e-8,-7.227309e-33,0.000025,"
                   "0.0001,0.1,-0.5,",
                   0) == 0);
  CHECK(norm(v) == Approx(1.0).margin(1e-6));
}

TEST_CASE("sim: the @edge=large vector carries large magnitudes unnormalised", "[sim]") {
  auto v = make_vector(spec(32, 0, edge_kind::large), "@edge=large;x");
  std::string f32;
  append_vector_json(f32, v, false);
  CHECK(f32.rfind("[3.4028235e+38,1e+21,100000000000000000000,15000000000,123456790,100000000,"
                  "10000000,-1,100,0.1,1e-7,-0,1e-45,0.5,",
                  0) == 0);
  std::string f64;
  append_vector_json(f64, v, true);
  CHECK(f64.rfind("[3.4028234663852886e+38,1.0000000200408773e+21,100000002004087730000,"
                  "15000000512,123456792,100000000,10000000,-1,100,0.10000000149011612,"
                  "1.0000000116860974e-7,-0,1.401298464324817e-45,0.5,",
                  0) == 0);
  CHECK(make_vector(spec(32, 4, edge_kind::large), "x") ==
        std::vector<float>{3.4028235e38f, 1e21f, 1e20f, 1.5e10f});
}

TEST_CASE("sim: tokens are 8-byte pieces of words plus two special tokens", "[sim]") {
  CHECK(count_tokens("") == 2);
  CHECK(count_tokens("hello") == 3);
  CHECK(count_tokens("  hello   world \n") == 4);
  CHECK(count_tokens("abcdefgh") == 3);
  CHECK(count_tokens("abcdefghi") == 4);
  CHECK(truncate_to_tokens("one two three four", 4) == "one two");
  CHECK(truncate_to_tokens("abcdefghijklmnopq", 4) == "abcdefghijklmnop");
  CHECK(truncate_to_tokens("one two", 2).empty());
}

TEST_CASE("sim: the context limit truncates by default and fails with truncate:false", "[sim]") {
  auto fits = fit_context("a b c", 5, false);
  CHECK(fits.error == nullptr);
  CHECK(fits.tokens == 5);
  auto cut = fit_context("a b c d", 5, true);
  CHECK(cut.error == nullptr);
  CHECK(cut.tokens == 5);
  CHECK(cut.text == "a b c");
  auto refused = fit_context("a b c d", 5, false);
  REQUIRE(refused.error != nullptr);
  CHECK(std::string(refused.error) == "the input length exceeds the context length");
  auto no_room = fit_context("a b c d", 2, true);
  REQUIRE(no_room.error != nullptr);
  CHECK(std::string(no_room.error) == "input after truncation exceeds maximum context length");
}

TEST_CASE("sim: base64 encoding is of little-endian float32 bytes with padding", "[sim]") {
  CHECK(base64_floats({1.0f}) == "AACAPw==");
  CHECK(base64_floats({1.0f, -2.0f, 0.5f}) == "AACAPwAAAMAAAAA/");
  CHECK(base64_floats({}).empty());
}

TEST_CASE("sim: the preformatted vector text is exactly Go's text of the vector", "[sim]") {
  for (unsigned dims : {2u, 8u, 384u, 768u}) {
    INFO(dims);
    vector_spec s = spec(dims);
    REQUIRE(fast_vector_text(s, false));
    std::string fast;
    append_embedding_json(fast, s, "same text", false);
    std::string formatted;
    append_vector_json(formatted, make_vector(s, "same text"), false);
    CHECK(fast == formatted);
  }
  CHECK_FALSE(fast_vector_text(spec(384), true));
  CHECK_FALSE(fast_vector_text(spec(384, 16), false));
  CHECK_FALSE(fast_vector_text(spec(385), false));
  CHECK_FALSE(fast_vector_text(spec(384, 0, edge_kind::unit), false));
  CHECK(norm(make_vector(spec(385), "odd")) == Approx(1.0).margin(1e-6));
}

TEST_CASE("sim: the vector text cache appends the same text as a fresh computation", "[sim]") {
  vector_text_cache cache(1 << 20);
  for (vector_spec s : {spec(64), spec(64, 8), spec(63)}) {
    std::string first;
    cache.append(first, s, "cached", false);
    std::string second;
    cache.append(second, s, "cached", false);
    std::string fresh;
    append_vector_json(fresh, make_vector(s, "cached"), false);
    CHECK(first == fresh);
    CHECK(second == fresh);
  }
  vector_text_cache disabled(0);
  std::string wide;
  disabled.append(wide, spec(64), "cached", true);
  std::string fresh;
  append_vector_json(fresh, make_vector(spec(64), "cached"), true);
  CHECK(wide == fresh);
}

TEST_CASE("sim: control prefixes chain at the start of an input", "[sim]") {
  auto c = parse_controls("@hdrdelay=50;@sleep=10;@drop;@chunked=3;text");
  CHECK(c.hdrdelay_ms == 50u);
  CHECK(c.sleep_ms == 10u);
  CHECK(c.drop);
  CHECK(c.chunks == 3u);
  CHECK(c.prefix_length == std::string("@hdrdelay=50;@sleep=10;@drop;@chunked=3;").size());

  auto s = parse_controls("@sleep=5;@status=503;busy; really");
  CHECK(s.sleep_ms == 5u);
  CHECK(s.status == 503u);
  CHECK(s.status_message == "busy; really");

  auto g = parse_controls("@gap=75000;@streamerror=pull model manifest: file does not exist;x");
  CHECK(g.gap_ms == 75000u);
  CHECK(g.stream_error == "pull model manifest: file does not exist");

  CHECK(parse_controls("@edge;x").edge == edge_kind::unit);
  CHECK(parse_controls("@edge=large;x").edge == edge_kind::large);
}

TEST_CASE("sim: text that merely starts with @ is not a control", "[sim]") {
  CHECK_FALSE(parse_controls("@user hello").any());
  CHECK_FALSE(parse_controls("@sleep=abc;x").any());
  CHECK_FALSE(parse_controls("@status=9999;x").status.has_value());
  CHECK_FALSE(parse_controls("hello @sleep=5;").any());
  auto partial = parse_controls("@sleep=5;@unknown=1;x");
  CHECK(partial.sleep_ms == 5u);
  CHECK(partial.prefix_length == 9);
}
