// Unit tests of the proxy's error category, its HTTP replies and Go-style JSON escaping.
#include "proxy/errors.hpp"

#include <string>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace {

using meter::errc;
using meter::error_body;
using meter::to_error_reply;
namespace asio_error = boost::asio::error;
namespace http = boost::beast::http;

struct expected_reply {
  unsigned status;
  std::string message;
};

void check_reply(const boost::system::error_code& ec, const expected_reply& expected) {
  INFO(ec.category().name() << ":" << ec.value() << " " << ec.message());
  const meter::error_reply reply = to_error_reply(ec);
  CHECK(reply.status == expected.status);
  CHECK(reply.body == error_body(expected.message));
  CHECK(nlohmann::json::parse(reply.body) == nlohmann::json{{"error", expected.message}});
}

} // namespace

TEST_CASE("The error category is named ollama-meter and converts from errc") {
  const boost::system::error_code ec = errc::server_busy;
  CHECK(ec.category() == meter::meter_category());
  CHECK(std::string(ec.category().name()) == "ollama-meter");
  CHECK(ec.value() == static_cast<int>(errc::server_busy));
  CHECK(ec == meter::make_error_code(errc::server_busy));
  CHECK(ec != meter::make_error_code(errc::shutting_down));
  CHECK(ec.message() == "server busy, please try again.  maximum pending requests exceeded");
  CHECK(meter::make_error_code(errc::client_gone).message() == "request canceled");
  CHECK(boost::system::error_code(0, meter::meter_category()).message() ==
        "unknown ollama-meter error");
  CHECK(boost::system::error_code(99, meter::meter_category()).message() ==
        "unknown ollama-meter error");
}

TEST_CASE("Every own failure has its status and a fixed, clear message") {
  check_reply(errc::body_too_large, {413, "request body exceeds the proxy's --request-body-limit"});
  check_reply(errc::upstream_unreachable, {502, "upstream Ollama is unreachable"});
  check_reply(errc::upstream_connect_timeout,
              {504, "upstream Ollama did not accept the connection in time"});
  check_reply(errc::upstream_header_timeout,
              {504, "upstream Ollama sent no response header in time"});
  check_reply(errc::upstream_idle_timeout, {504, "upstream Ollama stopped sending data in time"});
  check_reply(errc::upstream_reset, {502, "upstream Ollama closed the connection"});
  check_reply(errc::upstream_bad_response, {502, "upstream Ollama sent an invalid response"});
  check_reply(errc::shutting_down, {503, "ollama-meter is shutting down"});
  check_reply(errc::client_gone, {499, "request canceled"});
}

TEST_CASE("A full queue answers with Ollama's exact busy text, two spaces included") {
  const meter::error_reply reply = to_error_reply(errc::server_busy);
  CHECK(reply.status == 503);
  CHECK(reply.body ==
        R"({"error":"server busy, please try again.  maximum pending requests exceeded"})");
}

TEST_CASE("Transport errors map to unreachable, timeout, closed or bad response") {
  const expected_reply unreachable{502, "upstream Ollama is unreachable"};
  const expected_reply closed{502, "upstream Ollama closed the connection"};
  const expected_reply bad{502, "upstream Ollama sent an invalid response"};
  const expected_reply timeout{504, "upstream Ollama did not answer in time"};

  check_reply(asio_error::connection_refused, unreachable);
  check_reply(asio_error::host_unreachable, unreachable);
  check_reply(asio_error::network_unreachable, unreachable);
  check_reply(asio_error::network_down, unreachable);
  check_reply(asio_error::host_not_found, unreachable);
  check_reply(asio_error::host_not_found_try_again, unreachable);
  check_reply(asio_error::no_data, unreachable);
  check_reply(asio_error::service_not_found, unreachable);

  check_reply(asio_error::timed_out, timeout);
  check_reply(boost::beast::error::timeout, timeout);

  check_reply(asio_error::eof, closed);
  check_reply(asio_error::connection_reset, closed);
  check_reply(asio_error::connection_aborted, closed);
  check_reply(asio_error::broken_pipe, closed);
  check_reply(http::error::end_of_stream, closed);
  check_reply(http::error::partial_message, closed);

  check_reply(http::error::bad_version, bad);
  check_reply(http::error::bad_status, bad);
  check_reply(http::error::bad_chunk, bad);
  check_reply(http::error::bad_content_length, bad);
  check_reply(http::error::header_limit, bad);
  check_reply(http::error::body_limit, bad);
}

TEST_CASE("Unknown error codes give 502") {
  const expected_reply failed{502, "upstream Ollama request failed"};
  check_reply(asio_error::operation_aborted, failed);
  check_reply(make_error_code(boost::system::errc::permission_denied), failed);
  check_reply(boost::system::error_code(99, meter::meter_category()), failed);
}

TEST_CASE("error_body escapes like Go's encoder") {
  CHECK(error_body("plain") == R"({"error":"plain"})");
  CHECK(error_body("") == R"({"error":""})");
  CHECK(error_body(R"(say "hi" \ bye)") == R"({"error":"say \"hi\" \\ bye"})");
  CHECK(error_body("a\nb\rc\td") == R"({"error":"a\nb\rc\td"})");
  CHECK(error_body("\b\f") == R"({"error":"\b\f"})");
  CHECK(error_body(std::string("\x00\x01\x1f\x7f", 4)) ==
        "{\"error\":\"\\u0000\\u0001\\u001f\x7f\"}");
  CHECK(error_body("<a> & b") == R"({"error":"\u003ca\u003e \u0026 b"})");
  CHECK(error_body("line\xE2\x80\xA8para\xE2\x80\xA9") == R"({"error":"line\u2028para\u2029"})");
  CHECK(error_body("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") ==
        "{\"error\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"}");
  CHECK(error_body("/ '") == R"({"error":"/ '"})");
}

TEST_CASE("error_body writes each invalid UTF-8 byte as U+FFFD, as Go does") {
  CHECK(error_body("a\xFFz") == R"({"error":"a\ufffdz"})");
  CHECK(error_body("\xC3") == R"({"error":"\ufffd"})");
  CHECK(error_body("\xC3z") == R"({"error":"\ufffdz"})");
  CHECK(error_body("\xC0\xAF") == R"({"error":"\ufffd\ufffd"})");
  CHECK(error_body("\xED\xA0\x80") == R"({"error":"\ufffd\ufffd\ufffd"})");
  CHECK(error_body("\xF4\x90\x80\x80") == R"({"error":"\ufffd\ufffd\ufffd\ufffd"})");
  CHECK(error_body("\xE2\x82") == R"({"error":"\ufffd\ufffd"})");
  CHECK(nlohmann::json::parse(error_body("x\xFE\xC3")).at("error") == "x\xEF\xBF\xBD\xEF\xBF\xBD");
}
