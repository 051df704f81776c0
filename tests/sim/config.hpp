// ollama-sim's configuration: one plain struct filled from the command line (CLI11).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace meter::sim {

enum class runner_mode { serial, parallel };

struct sim_config {
  std::string listen_host = "127.0.0.1"; // IPv6 without brackets
  std::uint16_t listen_port = 11434;
  std::vector<std::string> models{"all-minilm", "nomic-embed-text", "llama3.2", "bge-m3"};
  unsigned dims = 384;
  std::int64_t context = 512; // tokens, special tokens included
  runner_mode runner = runner_mode::serial;
  unsigned slots = 4;          // parallel mode only; serial is 1
  std::size_t max_queue = 512; // admitted requests beyond the slots before 503
  double call_cost_ms = 0;     // per input embedded (one runner call each)
  double token_cost_us = 0;    // per token of an embedded input
  double cold_load_ms = 0;     // first use of each model
  double token_ms = 20;        // generation: delay between streamed tokens
  unsigned gen_tokens = 8;     // generation length unless options.num_predict says otherwise
  bool host_check = false;
  std::vector<std::string> origins; // extra CORS origins (OLLAMA_ORIGINS)
  double error_rate = 0;
  double drop_rate = 0;
  unsigned error_status = 500;
  std::uint64_t seed = 1;
  unsigned threads = 2;
  std::size_t cache_mb = 64;               // vector text cache
  std::uint64_t idle_timeout_ms = 600'000; // idle keep-alive connections are closed after this
  std::uint64_t body_limit_mb = 256;       // bodies read whole (everything but blob uploads)
  std::string ollama_version = "0.33.0";
  bool verbose = false; // one stderr line per request

  unsigned effective_slots() const { return runner == runner_mode::serial ? 1u : slots; }
};

struct sim_exit {
  int status = 0;
  std::string output;
  bool to_stderr = false;
};

// Parses argv; --help and --version (and errors, status 2) come back as sim_exit.
std::variant<sim_config, sim_exit> parse_sim_args(int argc, const char* const* argv);

// "HOST:PORT", "[V6]:PORT" or ":PORT" (all interfaces).
bool parse_listen(std::string_view text, std::string& host, std::uint16_t& port);

} // namespace meter::sim
