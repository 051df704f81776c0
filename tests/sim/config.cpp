// Command-line parsing for ollama-sim; --help documents every flag and control prefix.
#include "tests/sim/config.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <sstream>

namespace meter::sim {
namespace {

constexpr const char* description =
    R"(ollama-sim: a deterministic Ollama simulator for ollama-meter's tests and benchmarks.

Serves POST /api/embed, /api/embeddings, /v1/embeddings, /api/generate, /api/chat, /api/pull,
GET /api/tags, /api/ps, /api/version, POST /api/show, DELETE /api/delete, POST /api/copy,
POST|HEAD /api/blobs/:digest (bodies are streamed and counted, the sha256 is NOT verified), GET|HEAD /,
with Ollama's decoding, error texts, framing (Content-Length up to 2048 bytes, chunked above), CORS,
404/405 and redirects. When ready it prints `listening on http://HOST:PORT` on stdout.

Control prefixes at the start of an input string (also of a generate prompt, the last chat message,
a pull model name); several may be chained, e.g. "@hdrdelay=50;@sleep=10;text":
  @sleep=MS;         wait MS ms before answering, outside the runner slot
  @hdrdelay=MS;      wait MS ms before the status line (streams: before the first byte)
  @status=CODE;msg   answer CODE with {"error":"msg"}
  @drop;             send the head and part of the body, then close (streams: after the first line)
  @chunked=N;        force chunked framing in N chunks, with a chunk extension and a trailer
  @interim=N;        send N interim answers (HTTP/1.1 102 Processing) at once, before the real one
  @gap=MS;           streams: pause between lines (pull: one pause after the first progress line)
  @streamerror=msg;  streams: {"error":"msg"} after the first line, status stays 200
  @edge;             embed: a unit vector with 1e-7, -0, 1e-45, 9.999999e-7, ... (formatting cases)
  @edge=large;       embed: an unnormalised vector with 3.4028235e+38, 1e+21, 123456790, ...
Vectors depend only on (model, full input text). Tokens: one per started 8 bytes of each
whitespace-separated word, plus 2.

Test endpoints (not logged or counted): GET /_sim/stats, GET /_sim/log[?since=SEQ],
POST /_sim/reset.
)";

bool parse_number(std::string_view text, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

} // namespace

bool parse_listen(std::string_view text, std::string& host, std::uint16_t& port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  std::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string_view::npos) {
    return false;
  }
  std::uint64_t p = 0;
  if (!parse_number(text.substr(colon + 1), p) || p > 65535) {
    return false;
  }
  host = h.empty() ? "0.0.0.0" : std::string(h);
  port = static_cast<std::uint16_t>(p);
  return true;
}

std::variant<sim_config, sim_exit> parse_sim_args(int argc, const char* const* argv) {
  sim_config cfg;
  CLI::App app{description, "ollama-sim"};
  app.get_formatter()->column_width(34);
  std::string listen = "127.0.0.1:11434";
  std::string runner = "serial";
  std::string models;
  std::string origins;
  bool show_version = false;

  app.add_option("--listen", listen,
                 "HOST:PORT to listen on ([::1]:PORT for IPv6; port 0 picks a free one)")
      ->capture_default_str();
  app.add_option("--models", models,
                 "comma-separated installed models, matched case-insensitively with an implied "
                 ":latest [default: all-minilm,nomic-embed-text,llama3.2,bge-m3]");
  app.add_option("--dims", cfg.dims, "embedding length")
      ->capture_default_str()
      ->check(CLI::Range(1u, 65536u));
  app.add_option("--context", cfg.context,
                 "context length in tokens (options.num_ctx may lower it)")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30));
  app.add_option("--runner", runner,
                 "serial: one input computed at a time (Ollama's embedding "
                 "runner); parallel: --slots at a time")
      ->capture_default_str()
      ->check(CLI::IsMember({"serial", "parallel"}));
  app.add_option("--slots", cfg.slots, "runner slots in parallel mode")
      ->capture_default_str()
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--max-queue", cfg.max_queue,
                 "admitted requests beyond the slots; more get 503 \"server busy, please try "
                 "again.  maximum pending requests exceeded\"")
      ->capture_default_str();
  app.add_option("--call-cost-ms", cfg.call_cost_ms,
                 "runner time per embedded input (ms, fractions allowed)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3.6e6));
  app.add_option("--token-cost-us", cfg.token_cost_us,
                 "extra runner time per token of an input (us)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3.6e9));
  app.add_option("--cold-load-ms", cfg.cold_load_ms,
                 "delay of the first request for each model (counted in load_duration)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3.6e6));
  app.add_option("--token-ms", cfg.token_ms,
                 "generate/chat/pull: delay between streamed lines (ms)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3.6e6));
  app.add_option("--gen-tokens", cfg.gen_tokens,
                 "generated tokens per answer unless options.num_predict is set")
      ->capture_default_str()
      ->check(CLI::Range(0u, 100000u));
  app.add_flag(
      "--host-check", cfg.host_check,
      "apply Ollama's allowed-hosts check (as when bound to loopback): other Host names get 403");
  app.add_option("--origins", origins,
                 "extra allowed CORS origins, comma-separated (like OLLAMA_ORIGINS; * allows all)");
  app.add_option("--error-rate", cfg.error_rate,
                 "probability that an inference request (embed, embeddings, v1/embeddings, "
                 "generate, chat) fails with --error-status")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--error-status", cfg.error_status, "status of --error-rate failures")
      ->capture_default_str()
      ->check(CLI::Range(100u, 999u));
  app.add_option(
         "--drop-rate", cfg.drop_rate,
         "probability that an inference response is cut like @drop (connection closed mid-body)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seed", cfg.seed,
                 "seed of the random faults: a request's fate depends on (seed, its "
                 "body, how many times that body was seen)")
      ->capture_default_str();
  app.add_option("--threads", cfg.threads, "I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  app.add_option("--cache-mb", cfg.cache_mb,
                 "memory for cached vector texts that need per-number formatting (dimensions, "
                 "float64, odd --dims); 0 disables")
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", cfg.idle_timeout_ms,
                 "close keep-alive connections idle this long")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
  app.add_option("--body-limit-mb", cfg.body_limit_mb,
                 "largest request body read whole (blob uploads are streamed, unlimited)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  app.add_option("--ollama-version", cfg.ollama_version, "version reported by /api/version")
      ->capture_default_str();
  app.add_flag("--verbose", cfg.verbose, "log one line per request on stderr");
  app.add_flag("--version", show_version, "print ollama-sim's version and exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return sim_exit{0, app.help(), false};
  } catch (const CLI::ParseError& e) {
    return sim_exit{2, std::string("ollama-sim: ") + e.what() + "\n", true};
  }
  if (show_version) {
    return sim_exit{0, std::string("ollama-sim ") + METER_VERSION + "\n", false};
  }
  if (!parse_listen(listen, cfg.listen_host, cfg.listen_port)) {
    return sim_exit{2, "ollama-sim: --listen: expected HOST:PORT, got \"" + listen + "\"\n", true};
  }
  cfg.runner = runner == "parallel" ? runner_mode::parallel : runner_mode::serial;
  auto split = [](const std::string& list) {
    std::vector<std::string> out;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
      if (!item.empty()) {
        out.push_back(item);
      }
    }
    return out;
  };
  if (!models.empty()) {
    cfg.models = split(models);
  }
  cfg.origins = split(origins);
  for (const auto& origin : cfg.origins) {
    // Ollama refuses to start on an origin without a scheme (other than *) or with two '*'.
    bool star = origin == "*";
    std::size_t stars = static_cast<std::size_t>(std::count(origin.begin(), origin.end(), '*'));
    if (!star && (origin.find("://") == std::string::npos || stars > 1)) {
      return sim_exit{2, "ollama-sim: --origins: bad origin \"" + origin + "\"\n", true};
    }
  }
  return cfg;
}

} // namespace meter::sim
