// ollama-meter's configuration: one plain struct, filled once from the command line and the
// OLLAMA_METER_<NAME> environment variables, validated before anything is bound.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace meter {

// A host and port to listen on or connect to. `host` has no brackets (IPv6 literals are bare).
struct endpoint_address {
  std::string host;
  std::uint16_t port = 0;

  // host:port with brackets around an IPv6 literal, e.g. "[::1]:11434".
  std::string authority() const;
};

struct config {
  endpoint_address listen{"127.0.0.1", 11435};
  endpoint_address upstream{"127.0.0.1", 11434};  // --upstream, Ollama's address
  std::optional<endpoint_address> metrics_listen; // --metrics-listen: separate /metrics port

  std::size_t max_fanout = 8;            // sub-calls of one request in flight at once
  std::size_t max_split_inputs = 4096;   // larger /api/embed batches are forwarded unsplit
  std::size_t upstream_concurrency = 32; // embed calls in flight to the upstream, all clients
  std::size_t max_queued = 4096;         // embed sub-calls waiting for a slot; beyond: 503
  std::size_t max_connections = 768;  // client connections at once; beyond: accepted, then closed
  std::size_t max_idle_upstream = 32; // idle keep-alive upstream connections kept

  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds header_timeout{600'000};       // first response byte from upstream
  std::chrono::milliseconds idle_timeout{600'000};         // between streamed chunks, either way
  std::chrono::milliseconds client_header_timeout{60'000}; // reading a client's request header
  std::chrono::milliseconds keepalive_timeout{300'000}; // idle client connection between requests
  std::chrono::milliseconds shutdown_grace{10'000};     // in-flight requests after SIGTERM
  std::chrono::milliseconds health_timeout{5'000};      // /healthz probe of the upstream
  std::chrono::milliseconds health_interval{15'000};    // background probe feeding upstream_up

  std::uint64_t request_body_limit = 64ull << 20; // bodies read whole (/api/embed); beyond: 413
  std::uint64_t embed_reply_limit = 256ull << 20; // one embed sub-call's reply; beyond: 502
  std::uint32_t header_limit = 1u << 20;          // request and response header bytes
  bool preserve_host = false;                     // forward the client's Host unchanged
  bool access_log = true;                         // one line per request on stderr
  unsigned threads = 0;                           // 0: hardware threads

  std::size_t max_model_labels = 100;                 // distinct model label values in metrics
  std::vector<double> duration_buckets;               // seconds; empty: built-in defaults
  std::vector<double> token_buckets;                  // empty: built-in defaults
  std::chrono::milliseconds cold_load_threshold{500}; // upstream load_duration this long: cold
};

// What parsing the command line asks the program to do.
struct run_with {
  config cfg;
};
// --help, --version (status 0, stdout) and errors (status 2, stderr). `output` is printed as is:
// it ends with a newline, and an error is the single line "ollama-meter: <what> (see --help)".
struct exit_with {
  int status;
  std::string output;
  bool to_stderr;
};
using parse_outcome = std::variant<run_with, exit_with>;

// Parses argv and the environment (OLLAMA_METER_LISTEN, OLLAMA_METER_UPSTREAM, ...: every flag's
// name upper-cased with dashes as underscores; a flag on the command line wins). Bad values give
// exit_with{2, "<one clear line>", true}. `getenv` is injectable for tests.
parse_outcome parse_config(int argc, const char* const* argv,
                           const char* (*getenv)(const char*) = nullptr);

// Parses an Ollama address the way clients read OLLAMA_HOST: "host", "host:port",
// "http://host:port", trailing slashes, "[::1]", "[::1]:port", "::1", ":port" (127.0.0.1);
// surrounding whitespace and quotes are trimmed. Missing port: 11434, or 80 for http:// without a
// port. https://, other schemes, paths, port 0 and bad ports give an address_error with a reason.
struct address_error {
  std::string reason;
};
std::variant<endpoint_address, address_error> parse_upstream_address(std::string_view text);

// Parses a listen address: "host:port", "[v6]:port", ":port" (all interfaces is not implied:
// ":port" means 127.0.0.1). Port 0 is allowed (ephemeral).
std::variant<endpoint_address, address_error> parse_listen_address(std::string_view text);

} // namespace meter
