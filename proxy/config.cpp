// Command line and environment parsing for ollama-meter (see config.hpp). CLI11 reads argv; every
// value, from argv or the environment, then goes through the same checks below.
#include "proxy/config.hpp"

#include <cctype>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "proxy/config_values.hpp"

namespace meter {
namespace {

using namespace config_values;
using reason = std::optional<std::string>; // a value check's complaint, or nullopt when fine

// One option: how it is documented and how its text (from argv or the environment) is applied.
struct option_spec {
  const char* name;       // without the leading dashes
  const char* value_name; // empty for a flag
  const char* help;
  std::string default_text;
  std::function<reason(config&, std::string_view)> apply;
};

template <typename T, typename F>
reason assign(F&& parse_result, T& field) {
  if (auto* error = std::get_if<std::string>(&parse_result)) {
    return *error;
  }
  field = static_cast<T>(std::get<0>(parse_result));
  return std::nullopt;
}

reason assign_address(std::variant<endpoint_address, address_error> parsed,
                      endpoint_address& field) {
  if (auto* error = std::get_if<address_error>(&parsed)) {
    return error->reason;
  }
  field = std::get<endpoint_address>(parsed);
  return std::nullopt;
}

std::function<reason(config&, std::string_view)> count_option(std::size_t config::*field,
                                                              std::uint64_t min) {
  return [field, min](config& c, std::string_view s) {
    return assign(parse_count(s, min, std::numeric_limits<std::uint32_t>::max()), c.*field);
  };
}

std::function<reason(config&, std::string_view)>
duration_option(std::chrono::milliseconds config::*field) {
  return [field](config& c, std::string_view s) { return assign(parse_duration(s), c.*field); };
}

std::vector<option_spec> option_specs() {
  const config d;
  std::vector<option_spec> specs = {
      {"listen", "HOST:PORT", "Address for clients. \":PORT\" means 127.0.0.1; IPv6 as [::1]:PORT.",
       d.listen.authority(),
       [](config& c, std::string_view s) {
         return assign_address(parse_listen_address(s), c.listen);
       }},
      {"upstream", "ADDRESS",
       "Ollama's address, read like OLLAMA_HOST: host, host:port, http://host[:port], [::1], "
       ":PORT. The default port is 11434 (80 with http://). https:// is not supported.",
       d.upstream.authority(),
       [](config& c, std::string_view s) {
         return assign_address(parse_upstream_address(s), c.upstream);
       }},
      {"metrics-listen", "HOST:PORT", "A separate address serving /metrics.", "none",
       [](config& c, std::string_view s) {
         c.metrics_listen.emplace();
         return assign_address(parse_listen_address(s), *c.metrics_listen);
       }},
      {"max-fanout", "N", "Sub-calls of one /api/embed request in flight at once (at least 1).",
       std::to_string(d.max_fanout), count_option(&config::max_fanout, 1)},
      {"max-split-inputs", "N",
       "Largest /api/embed batch that is split and timed; a larger one goes to Ollama whole, "
       "without embedding_durations (its merged reply would be held in memory).",
       std::to_string(d.max_split_inputs), count_option(&config::max_split_inputs, 1)},
      {"upstream-concurrency", "N",
       "Embed sub-calls in flight to Ollama across all clients (at least 1).",
       std::to_string(d.upstream_concurrency), count_option(&config::upstream_concurrency, 1)},
      {"max-queued", "N",
       "Embed sub-calls waiting for a slot; beyond this the request gets 503 (0: no waiting).",
       std::to_string(d.max_queued), count_option(&config::max_queued, 0)},
      {"max-connections", "N",
       "Client connections served at once; further connections are accepted and closed.",
       std::to_string(d.max_connections), count_option(&config::max_connections, 1)},
      {"max-idle-upstream", "N", "Idle keep-alive connections to Ollama kept for reuse.",
       std::to_string(d.max_idle_upstream), count_option(&config::max_idle_upstream, 0)},
      {"connect-timeout", "DURATION", "Time allowed to connect to Ollama.",
       format_duration(d.connect_timeout), duration_option(&config::connect_timeout)},
      {"header-timeout", "DURATION",
       "Time allowed for Ollama's response header (model loads can take minutes).",
       format_duration(d.header_timeout), duration_option(&config::header_timeout)},
      {"idle-timeout", "DURATION", "Time allowed between body bytes, in either direction.",
       format_duration(d.idle_timeout), duration_option(&config::idle_timeout)},
      {"client-header-timeout", "DURATION", "Time allowed for a client to send its request header.",
       format_duration(d.client_header_timeout), duration_option(&config::client_header_timeout)},
      {"keepalive-timeout", "DURATION", "How long an idle client connection is kept open.",
       format_duration(d.keepalive_timeout), duration_option(&config::keepalive_timeout)},
      {"shutdown-grace", "DURATION", "After SIGTERM or SIGINT, time left to requests in flight.",
       format_duration(d.shutdown_grace), duration_option(&config::shutdown_grace)},
      {"health-timeout", "DURATION", "Time allowed for a health probe of Ollama (GET /).",
       format_duration(d.health_timeout), duration_option(&config::health_timeout)},
      {"health-interval", "DURATION",
       "How often Ollama is probed in the background for the upstream_up metric.",
       format_duration(d.health_interval), duration_option(&config::health_interval)},
      {"request-body-limit", "SIZE",
       "Largest /api/embed body read whole; a larger one gets 413. Other bodies are streamed.",
       format_size(d.request_body_limit),
       [](config& c, std::string_view s) { return assign(parse_size(s), c.request_body_limit); }},
      {"embed-reply-limit", "SIZE",
       "Largest reply of one /api/embed sub-call, read whole to splice its vector into the merged "
       "reply; a larger one fails the batch with 502.",
       format_size(d.embed_reply_limit),
       [](config& c, std::string_view s) { return assign(parse_size(s), c.embed_reply_limit); }},
      {"header-limit", "SIZE", "Largest request or response header.", format_size(d.header_limit),
       [](config& c, std::string_view s) {
         auto parsed = parse_size(s);
         if (const auto* n = std::get_if<std::uint64_t>(&parsed);
             n != nullptr && *n > std::numeric_limits<std::uint32_t>::max()) {
           return reason("header limit must be below 4GiB");
         }
         if (const auto* n = std::get_if<std::uint64_t>(&parsed); n != nullptr && *n < 1024) {
           return reason("header limit must be at least 1KiB: no request head fits in less");
         }
         return assign(std::move(parsed), c.header_limit);
       }},
      {"preserve-host", "",
       "Forward the client's Host header unchanged instead of Ollama's address.", "off",
       [](config& c, std::string_view s) { return assign(parse_bool(s), c.preserve_host); }},
      {"no-access-log", "", "Do not log one line per request on stderr.", "off (access log on)",
       [](config& c, std::string_view s) {
         auto parsed = parse_bool(s);
         if (const auto* off = std::get_if<bool>(&parsed)) {
           c.access_log = !*off;
           return reason();
         }
         return reason(std::get<std::string>(parsed));
       }},
      {"threads", "N", "I/O threads (0: one per hardware thread).", std::to_string(d.threads),
       [](config& c, std::string_view s) { return assign(parse_count(s, 0, 1024), c.threads); }},
      {"max-model-labels", "N", "Most distinct model names used as metric label values.",
       std::to_string(d.max_model_labels), count_option(&config::max_model_labels, 1)},
      {"cold-load-threshold", "DURATION",
       "An upstream load_duration at least this long counts as a cold load "
       "(ollama_meter_cold_loads_total).",
       format_duration(d.cold_load_threshold), duration_option(&config::cold_load_threshold)},
      {"duration-buckets", "LIST",
       "Histogram bounds in seconds for duration metrics, comma-separated, increasing.", "built-in",
       [](config& c, std::string_view s) { return assign(parse_buckets(s), c.duration_buckets); }},
      {"token-buckets", "LIST",
       "Histogram bounds for token-count metrics, comma-separated, increasing.", "built-in",
       [](config& c, std::string_view s) { return assign(parse_buckets(s), c.token_buckets); }},
  };
  return specs;
}

std::string env_name(std::string_view option) {
  std::string name = "OLLAMA_METER_";
  for (const char c : option) {
    name.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return name;
}

// Appends `text` as lines of at most `width` columns, each indented by six spaces.
void append_wrapped(std::string& out, std::string_view text, std::size_t width = 96) {
  std::size_t column = 0;
  while (!text.empty()) {
    const auto space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    if (column != 0 && column + 1 + word.size() > width) {
      out += '\n';
      column = 0;
    }
    if (column == 0) {
      out += "      ";
      column = 6;
    } else {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
  }
  out += '\n';
}

std::string help_text(const std::vector<option_spec>& specs) {
  std::string out =
      "Usage: ollama-meter [OPTIONS]\n"
      "\n"
      "A reverse proxy in front of Ollama. It splits POST /api/embed batches into concurrent\n"
      "single-input calls, adds each input's time as embedding_durations (ns) to the reply,\n"
      "passes every other route through unchanged and serves Prometheus metrics at /metrics.\n"
      "\n"
      "Every option can also be set with an environment variable: OLLAMA_METER_ and the option\n"
      "name upper-cased with dashes as underscores. The command line wins; empty variables are\n"
      "ignored. Flags take true/false, 1/0, yes/no or on/off in the environment.\n"
      "DURATION: Go syntax (500ms, 10s, 1m30s, 2h) or a number of seconds; at least 1ms.\n"
      "SIZE: bytes, or a number with K/KiB, M/MiB or G/GiB (multiples of 1024).\n"
      "\n"
      "Options:\n";
  for (const option_spec& spec : specs) {
    out += fmt::format("  --{}{}{}\n", spec.name, *spec.value_name != '\0' ? " " : "",
                       spec.value_name);
    append_wrapped(out, spec.help);
    append_wrapped(
        out, fmt::format("Default: {}. Environment: {}.", spec.default_text, env_name(spec.name)));
  }
  out += "  -h, --help\n      Print this help and exit.\n"
         "  --version\n      Print the version and exit.\n";
  return out;
}

exit_with usage_error(const std::string& message) {
  return exit_with{2, "ollama-meter: " + message + " (see --help)\n", true};
}

} // namespace

parse_outcome parse_config(int argc, const char* const* argv, const char* (*getenv)(const char*)) {
  if (getenv == nullptr) {
    getenv = [](const char* name) -> const char* { return std::getenv(name); };
  }
  const std::vector<option_spec> specs = option_specs();

  CLI::App app{"ollama-meter", "ollama-meter"};
  app.set_help_flag(); // help is rendered from `specs` below
  bool help = false;
  bool version = false;
  app.add_flag("-h,--help", help);
  app.add_flag("--version", version);
  std::vector<std::string> cli_values(specs.size());
  const std::unique_ptr<bool[]> cli_flags(new bool[specs.size()]{});
  std::vector<CLI::Option*> cli_options(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::string flag = std::string("--") + specs[i].name;
    if (*specs[i].value_name == '\0') {
      cli_options[i] = app.add_flag(flag, cli_flags[i]);
    } else {
      cli_options[i] = app.add_option(flag, cli_values[i])
                           ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }
  if (help) {
    return exit_with{0, help_text(specs), false};
  }
  if (version) {
    return exit_with{0, "ollama-meter " METER_VERSION "\n", false};
  }

  config cfg;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const option_spec& spec = specs[i];
    std::string source;
    std::string value;
    if (cli_options[i]->count() > 0) {
      source = std::string("--") + spec.name;
      value = *spec.value_name != '\0' ? cli_values[i] : (cli_flags[i] ? "true" : "false");
    } else {
      source = env_name(spec.name);
      const char* env = getenv(source.c_str());
      if (env == nullptr || *env == '\0') {
        continue;
      }
      value = env;
    }
    if (auto error = spec.apply(cfg, value)) {
      return usage_error(fmt::format("invalid {} {}: {}", source, shown(value), *error));
    }
  }
  if (cfg.metrics_listen && cfg.metrics_listen->port != 0 &&
      cfg.metrics_listen->authority() == cfg.listen.authority()) {
    return usage_error("--metrics-listen must differ from --listen (" + cfg.listen.authority() +
                       ")");
  }
  return run_with{std::move(cfg)};
}

} // namespace meter
