// Command line and environment parsing for ollama-meter (see config.hpp). CLI11 reads argv; every
// value, from argv or the environment, then goes through the same checks below.
#include "proxy/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace meter {
namespace {

using namespace std::chrono_literals;
using reason = std::optional<std::string>; // a value check's complaint, or nullopt when fine

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Go's client trims whitespace and then quotes from OLLAMA_HOST; we trim both until stable.
std::string_view trim_address(std::string_view s) noexcept {
  while (!s.empty() && (is_space(s.front()) || s.front() == '"' || s.front() == '\'')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (is_space(s.back()) || s.back() == '"' || s.back() == '\'')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view trim_space(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

// A value quoted for an error line: printable ASCII kept, anything else as \xNN.
std::string shown(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

template <typename T>
std::optional<T> parse_unsigned(std::string_view s) noexcept {
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return value;
}

bool is_ipv6(std::string_view host) {
  const std::string bare(host.substr(0, host.find('%'))); // a zone (%eth0) is not checked
  in6_addr address{};
  return inet_pton(AF_INET6, bare.c_str(), &address) == 1;
}

reason check_host_name(std::string_view host) {
  const bool ok = std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
  if (!ok) {
    return "invalid host name " + shown(host);
  }
  return std::nullopt;
}

reason parse_port(std::string_view text, std::uint16_t min, std::uint16_t& port) {
  if (text.empty()) {
    return std::string("missing port after ':'");
  }
  const auto value = parse_unsigned<std::uint32_t>(text);
  if (!value || *value < min || *value > 65535) {
    return fmt::format("invalid port {} (expected {}-65535)", shown(text), min);
  }
  port = static_cast<std::uint16_t>(*value);
  return std::nullopt;
}

// Splits "[v6]", "[v6]:port", "host", "host:port" or ":port". `port_text` is null when there is
// no port; bare IPv6 literals are left to the caller.
struct host_port {
  std::string_view host;
  std::optional<std::string_view> port;
};

std::variant<host_port, address_error> split_host_port(std::string_view s) {
  if (s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) {
      return address_error{"missing ']' after an IPv6 address"};
    }
    const std::string_view host = s.substr(1, close - 1);
    if (!is_ipv6(host)) {
      return address_error{"invalid IPv6 address " + shown(host)};
    }
    const std::string_view rest = s.substr(close + 1);
    if (rest.empty()) {
      return host_port{host, std::nullopt};
    }
    if (rest.front() != ':') {
      return address_error{"unexpected " + shown(rest) + " after ']'"};
    }
    return host_port{host, rest.substr(1)};
  }
  const auto colon = s.find(':');
  if (colon == std::string_view::npos) {
    return host_port{s, std::nullopt};
  }
  std::string_view host = s.substr(0, colon);
  if (host.empty()) {
    host = "127.0.0.1";
  }
  return host_port{host, s.substr(colon + 1)};
}

// Durations: Go syntax ("1m30s", "500ms", "1.5h") or a bare number of seconds. At least 1ms.
std::variant<std::chrono::milliseconds, std::string> parse_duration(std::string_view text) {
  const std::string_view s = trim_space(text);
  if (s.empty()) {
    return std::string("empty duration");
  }
  const auto bad = [&] {
    return "invalid duration " + shown(s) + " (expected e.g. 500ms, 10s, 1m30s, 2h or seconds)";
  };
  double total_ms = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    double number = 0;
    const auto [end, ec] = std::from_chars(s.data() + i, s.data() + s.size(), number);
    if (ec != std::errc{} || s[i] == '-' || s[i] == '+' || !std::isfinite(number)) {
      return s[i] == '-' ? std::string("duration must be positive") : bad();
    }
    i = static_cast<std::size_t>(end - s.data());
    const std::string_view rest = s.substr(i);
    double unit_ms = 0;
    std::size_t unit_size = 0;
    for (const auto& [name, ms] : {std::pair{"ns", 1e-6}, {"us", 1e-3}, {"\xC2\xB5s", 1e-3},
                                   {"\xCE\xBCs", 1e-3}, {"ms", 1.0}, {"s", 1e3}, {"m", 6e4},
                                   {"h", 3.6e6}}) {
      const std::string_view unit(name);
      if (rest.substr(0, unit.size()) == unit && unit.size() > unit_size) {
        unit_ms = ms;
        unit_size = unit.size();
      }
    }
    if (unit_size == 0) {
      if (i == s.size() && total_ms == 0) {
        unit_ms = 1e3; // a bare number: seconds
      } else {
        return bad();
      }
    }
    total_ms += number * unit_ms;
    i += unit_size;
  }
  constexpr double max_ms = 366.0 * 24 * 3600 * 1000;
  if (total_ms > max_ms) {
    return "duration " + shown(s) + " is too long (at most 8784h)";
  }
  const auto ms = std::llround(total_ms);
  if (ms < 1) {
    return "duration " + shown(s) + " must be at least 1ms";
  }
  return std::chrono::milliseconds(ms);
}

// Sizes: a byte count, optionally with K/KiB, M/MiB or G/GiB (powers of 1024, any case).
std::variant<std::uint64_t, std::string> parse_size(std::string_view text) {
  const std::string_view s = trim_space(text);
  const auto digits_end = std::find_if(s.begin(), s.end(), [](char c) { return c < '0' || c > '9'; });
  const std::string_view digits = s.substr(0, static_cast<std::size_t>(digits_end - s.begin()));
  const std::string_view suffix = s.substr(digits.size());
  std::uint64_t multiplier = 0;
  if (suffix.empty()) {
    multiplier = 1;
  } else if (iequals(suffix, "k") || iequals(suffix, "kib")) {
    multiplier = 1ull << 10;
  } else if (iequals(suffix, "m") || iequals(suffix, "mib")) {
    multiplier = 1ull << 20;
  } else if (iequals(suffix, "g") || iequals(suffix, "gib")) {
    multiplier = 1ull << 30;
  }
  const auto number = parse_unsigned<std::uint64_t>(digits);
  if (!number || multiplier == 0) {
    return "invalid size " + shown(s) + " (expected bytes, or a number with K, M or G)";
  }
  if (*number == 0) {
    return std::string("size must be positive");
  }
  if (*number > std::numeric_limits<std::uint64_t>::max() / multiplier) {
    return "size " + shown(s) + " is too large";
  }
  return *number * multiplier;
}

std::variant<std::uint64_t, std::string> parse_count(std::string_view text, std::uint64_t min,
                                                     std::uint64_t max) {
  const std::string_view s = trim_space(text);
  const auto value = parse_unsigned<std::uint64_t>(s);
  if (!value || *value < min || *value > max) {
    if (max == std::numeric_limits<std::uint32_t>::max()) {
      return fmt::format("expected a whole number of at least {}, got {}", min, shown(s));
    }
    return fmt::format("expected a whole number from {} to {}, got {}", min, max, shown(s));
  }
  return *value;
}

std::variant<std::vector<double>, std::string> parse_buckets(std::string_view text) {
  std::vector<double> bounds;
  std::string_view rest = text;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = trim_space(rest.substr(0, comma));
    double value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc{} || end != item.data() + item.size() ||
        !std::isfinite(value) || value <= 0) {
      return "invalid bucket bound " + shown(item) + " (expected positive numbers, e.g. 0.1,1,10)";
    }
    if (!bounds.empty() && value <= bounds.back()) {
      return fmt::format("bucket bounds must increase, {} follows {}", value, bounds.back());
    }
    bounds.push_back(value);
    if (comma == std::string_view::npos) {
      return bounds;
    }
    rest.remove_prefix(comma + 1);
  }
}

std::variant<bool, std::string> parse_bool(std::string_view text) {
  const std::string_view s = trim_space(text);
  for (const char* yes : {"1", "true", "yes", "on"}) {
    if (iequals(s, yes)) {
      return true;
    }
  }
  for (const char* no : {"0", "false", "no", "off"}) {
    if (iequals(s, no)) {
      return false;
    }
  }
  return "expected true or false, got " + shown(s);
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 3'600'000 == 0) {
    return fmt::format("{}h", ms / 3'600'000);
  }
  if (ms % 60'000 == 0) {
    return fmt::format("{}m", ms / 60'000);
  }
  if (ms % 1000 == 0) {
    return fmt::format("{}s", ms / 1000);
  }
  return fmt::format("{}ms", ms);
}

std::string format_size(std::uint64_t bytes) {
  for (const auto& [unit, shift] : {std::pair{"GiB", 30}, {"MiB", 20}, {"KiB", 10}}) {
    if (bytes != 0 && bytes % (1ull << shift) == 0) {
      return fmt::format("{}{}", bytes >> shift, unit);
    }
  }
  return std::to_string(bytes);
}

// One option: how it is documented and how its text (from argv or the environment) is applied.
struct option_spec {
  const char* name;        // without the leading dashes
  const char* value_name;  // empty for a flag
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
       [](config& c, std::string_view s) { return assign_address(parse_listen_address(s), c.listen); }},
      {"upstream", "ADDRESS",
       "Ollama's address, read like OLLAMA_HOST: host, host:port, http://host[:port], [::1], "
       ":PORT. The default port is 11434 (80 with http://). https:// is not supported.",
       d.upstream.authority(),
       [](config& c, std::string_view s) {
         return assign_address(parse_upstream_address(s), c.upstream);
       }},
      {"metrics-listen", "HOST:PORT",
       "A separate address serving /metrics.",
       "none",
       [](config& c, std::string_view s) {
         c.metrics_listen.emplace();
         return assign_address(parse_listen_address(s), *c.metrics_listen);
       }},
      {"max-fanout", "N", "Sub-calls of one /api/embed request in flight at once (at least 1).",
       std::to_string(d.max_fanout), count_option(&config::max_fanout, 1)},
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
      {"request-body-limit", "SIZE",
       "Largest /api/embed body read whole; a larger one gets 413. Other bodies are streamed.",
       format_size(d.request_body_limit),
       [](config& c, std::string_view s) { return assign(parse_size(s), c.request_body_limit); }},
      {"header-limit", "SIZE", "Largest request or response header.", format_size(d.header_limit),
       [](config& c, std::string_view s) {
         auto parsed = parse_size(s);
         if (const auto* n = std::get_if<std::uint64_t>(&parsed);
             n != nullptr && *n > std::numeric_limits<std::uint32_t>::max()) {
           return reason("header limit must be below 4GiB");
         }
         return assign(std::move(parsed), c.header_limit);
       }},
      {"preserve-host", "", "Forward the client's Host header unchanged instead of Ollama's address.",
       "off", [](config& c, std::string_view s) { return assign(parse_bool(s), c.preserve_host); }},
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
      {"max-model-labels", "N",
       "Most distinct model names used as metric label values.",
       std::to_string(d.max_model_labels), count_option(&config::max_model_labels, 1)},
      {"duration-buckets", "LIST",
       "Histogram bounds in seconds for duration metrics, comma-separated, increasing.",
       "built-in",
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
    append_wrapped(out, fmt::format("Default: {}. Environment: {}.", spec.default_text,
                                    env_name(spec.name)));
  }
  out += "  -h, --help\n      Print this help and exit.\n"
         "  --version\n      Print the version and exit.\n";
  return out;
}

exit_with usage_error(const std::string& message) {
  return exit_with{2, "ollama-meter: " + message + " (see --help)\n", true};
}

} // namespace

std::string endpoint_address::authority() const {
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

std::variant<endpoint_address, address_error> parse_upstream_address(std::string_view text) {
  std::string_view s = trim_address(text);
  if (s.empty()) {
    return address_error{"empty address"};
  }
  std::uint16_t default_port = 11434;
  if (const auto scheme_end = s.find("://"); scheme_end != std::string_view::npos) {
    const std::string_view scheme = s.substr(0, scheme_end);
    if (iequals(scheme, "https")) {
      return address_error{"https:// is not supported: ollama-meter talks plain HTTP to Ollama"};
    }
    if (!iequals(scheme, "http")) {
      return address_error{"unsupported scheme " + shown(scheme) + " (use http:// or none)"};
    }
    default_port = 80;
    s.remove_prefix(scheme_end + 3);
  }
  if (const auto slash = s.find('/'); slash != std::string_view::npos) {
    const std::string_view path = s.substr(slash);
    if (path.find_first_not_of('/') != std::string_view::npos) {
      return address_error{"a path (" + shown(path) + ") is not supported"};
    }
    s = s.substr(0, slash);
  }
  if (s.empty()) {
    return address_error{"missing host"};
  }
  if (s.front() != '[' && std::count(s.begin(), s.end(), ':') > 1) {
    if (!is_ipv6(s)) {
      return address_error{"invalid address " + shown(s)};
    }
    return endpoint_address{std::string(s), default_port}; // a bare IPv6 literal, no port
  }
  auto split = split_host_port(s);
  if (auto* error = std::get_if<address_error>(&split)) {
    return *error;
  }
  const auto& [host, port_text] = std::get<host_port>(split);
  if (host.find(':') == std::string_view::npos) {
    if (auto error = check_host_name(host)) {
      return address_error{*error};
    }
  }
  endpoint_address address{std::string(host), default_port};
  if (port_text) {
    if (auto error = parse_port(*port_text, 1, address.port)) {
      return address_error{*error};
    }
  }
  return address;
}

std::variant<endpoint_address, address_error> parse_listen_address(std::string_view text) {
  const std::string_view s = trim_address(text);
  if (s.empty()) {
    return address_error{"empty address"};
  }
  if (s.find("://") != std::string_view::npos) {
    return address_error{"a listen address has no scheme (expected HOST:PORT)"};
  }
  if (s.front() != '[' && std::count(s.begin(), s.end(), ':') > 1) {
    return address_error{"put an IPv6 address in brackets, e.g. [::1]:11435"};
  }
  auto split = split_host_port(s);
  if (auto* error = std::get_if<address_error>(&split)) {
    return *error;
  }
  const auto& [host, port_text] = std::get<host_port>(split);
  if (!port_text) {
    return address_error{"missing port (expected HOST:PORT or :PORT)"};
  }
  if (host.find(':') == std::string_view::npos) {
    if (auto error = check_host_name(host)) {
      return address_error{*error};
    }
  }
  endpoint_address address{std::string(host), 0};
  if (auto error = parse_port(*port_text, 0, address.port)) {
    return address_error{*error};
  }
  return address;
}

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
