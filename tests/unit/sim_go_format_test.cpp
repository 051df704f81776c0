// ollama-sim: Go's float, string, status-line and time formatting, checked against Go's outputs.
#include "tests/sim/go_format.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

using namespace meter::sim;

TEST_CASE("sim: float32 numbers are written exactly as Go's encoding/json writes them", "[sim]") {
  struct sample {
    float value;
    const char* go;
  };
  const sample table[] = {
      {0.0f, "0"},
      {-0.0f, "-0"},
      {1.0f, "1"},
      {-1.0f, "-1"},
      {100.0f, "100"},
      {0.1f, "0.1"},
      {1e-6f, "0.000001"},
      {std::nextafter(1e-6f, 0.0f), "9.999999e-7"},
      {1e-7f, "1e-7"},
      {1.430923e-8f, "1.430923e-8"},
      {-7.227309e-33f, "-7.227309e-33"},
      {1e-45f, "1e-45"},
      {0.0001f, "0.0001"},
      {0.000025f, "0.000025"},
      {1e7f, "10000000"},
      {1e8f, "100000000"},
      {123456789.0f, "123456790"},
      {1.5e10f, "15000000000"},
      {1e20f, "100000000000000000000"},
      {1e21f, "1e+21"},
      {std::numeric_limits<float>::max(), "3.4028235e+38"},
      {-0.040962096f, "-0.040962096"},
  };
  for (const auto& s : table) {
    INFO("value " << s.value);
    CHECK(go_float32_text(s.value) == s.go);
  }
}

TEST_CASE("sim: float64 numbers of widened float32 values match Go's /api/embeddings text",
          "[sim]") {
  CHECK(go_float64_text(static_cast<double>(0.1f)) == "0.10000000149011612");
  CHECK(go_float64_text(static_cast<double>(1e-7f)) == "1.0000000116860974e-7");
  CHECK(go_float64_text(static_cast<double>(123456789.0f)) == "123456792");
  CHECK(go_float64_text(static_cast<double>(std::numeric_limits<float>::max())) ==
        "3.4028234663852886e+38");
  CHECK(go_float64_text(static_cast<double>(1e21f)) == "1.0000000200408773e+21");
  CHECK(go_float64_text(-0.0) == "-0");
  CHECK(go_float64_text(1e-300) == "1e-300");
  CHECK(go_float64_text(1e-6) == "0.000001");
}

TEST_CASE("sim: strings are escaped like Go's encoder, HTML characters included", "[sim]") {
  CHECK(go_quote("plain") == "\"plain\"");
  CHECK(go_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(go_quote("<a>&") == "\"\\u003ca\\u003e\\u0026\"");
  CHECK(go_quote("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
  CHECK(go_quote(std::string("\x01\x1f", 2)) == "\"\\u0001\\u001f\"");
  CHECK(go_quote("\xE2\x80\xA8\xE2\x80\xA9") == "\"\\u2028\\u2029\"");
  CHECK(go_quote("caf\xC3\xA9") == "\"caf\xC3\xA9\"");
  // Each invalid byte becomes one \ufffd; a truncated sequence is invalid byte by byte.
  CHECK(go_quote("a\xFF"
                 "b") == "\"a\\ufffdb\"");
  CHECK(go_quote("\xE2\x82") == "\"\\ufffd\\ufffd\"");
  CHECK(go_quote("\xED\xA0\x80") == "\"\\ufffd\\ufffd\\ufffd\""); // encoded surrogate
  CHECK(go_quote("\x7f") == "\"\x7f\"");
}

TEST_CASE("sim: strconv.Quote text is what %q gives in Ollama's not-found messages", "[sim]") {
  CHECK(go_strconv_quote("missing-model") == "\"missing-model\"");
  CHECK(go_strconv_quote("a\"b") == "\"a\\\"b\"");
  CHECK(go_strconv_quote("tab\there") == "\"tab\\there\"");
  CHECK(go_strconv_quote(std::string("\x01", 1)) == "\"\\x01\"");
}

TEST_CASE("sim: sanitising UTF-8 replaces each invalid byte by U+FFFD", "[sim]") {
  CHECK(sanitize_utf8("ok") == "ok");
  CHECK(sanitize_utf8("a\xC0\xAF") == "a\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("sim: status lines use Go's reason phrases", "[sim]") {
  CHECK(go_reason_phrase(200) == "OK");
  CHECK(go_reason_phrase(404) == "Not Found");
  CHECK(go_reason_phrase(405) == "Method Not Allowed");
  CHECK(go_reason_phrase(503) == "Service Unavailable");
  CHECK(go_reason_phrase(499) == "status code 499");
  CHECK(go_reason_phrase(418) == "I'm a teapot");
}

TEST_CASE("sim: Date and created_at use Go's layouts", "[sim]") {
  using namespace std::chrono;
  system_clock::time_point t{seconds(1136214245)}; // Mon Jan 2 15:04:05 UTC 2006
  CHECK(http_date(t) == "Mon, 02 Jan 2006 15:04:05 GMT");
  CHECK(rfc3339_nano(t) == "2006-01-02T15:04:05Z");
  CHECK(rfc3339_nano(t + nanoseconds(120000000)) == "2006-01-02T15:04:05.12Z");
  CHECK(rfc3339_nano(t + nanoseconds(1)) == "2006-01-02T15:04:05.000000001Z");
}
