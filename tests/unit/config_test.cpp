// Unit tests of ollama-meter's configuration: flags, environment, defaults, help and errors.
#include "proxy/config.hpp"

#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "proxy/config_values.hpp"

namespace {

using namespace std::chrono_literals;
using meter::config;
using meter::exit_with;
using meter::run_with;

// The environment seen by parse_config in these tests.
std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}

const char* fake_getenv(const char* name) {
  const auto it = fake_env().find(name);
  return it == fake_env().end() ? nullptr : it->second.c_str();
}

meter::parse_outcome parse(std::vector<std::string> args,
                           std::map<std::string, std::string> env = {}) {
  fake_env() = std::move(env);
  args.insert(args.begin(), "ollama-meter");
  std::vector<const char*> argv;
  for (const std::string& arg : args) {
    argv.push_back(arg.c_str());
  }
  return meter::parse_config(static_cast<int>(argv.size()), argv.data(), fake_getenv);
}

config parsed(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  auto outcome = parse(std::move(args), std::move(env));
  const auto* run = std::get_if<run_with>(&outcome);
  INFO((run == nullptr ? std::get<exit_with>(outcome).output : std::string()));
  REQUIRE(run != nullptr);
  return run->cfg;
}

exit_with exited(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  auto outcome = parse(std::move(args), std::move(env));
  const auto* exit = std::get_if<exit_with>(&outcome);
  REQUIRE(exit != nullptr);
  return *exit;
}

// An error exit: status 2, one line on stderr naming the culprit.
std::string error_of(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  const exit_with e = exited(std::move(args), std::move(env));
  CHECK(e.status == 2);
  CHECK(e.to_stderr);
  CHECK(e.output.rfind("ollama-meter: ", 0) == 0);
  CHECK(e.output.find('\n') == e.output.size() - 1);
  return e.output;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string upstream(const std::string& text) {
  const auto parsed = meter::parse_upstream_address(text);
  if (const auto* error = std::get_if<meter::address_error>(&parsed)) {
    return "error: " + error->reason;
  }
  const auto& address = std::get<meter::endpoint_address>(parsed);
  return address.host + " " + std::to_string(address.port);
}

std::string listen(const std::string& text) {
  const auto parsed = meter::parse_listen_address(text);
  if (const auto* error = std::get_if<meter::address_error>(&parsed)) {
    return "error: " + error->reason;
  }
  const auto& address = std::get<meter::endpoint_address>(parsed);
  return address.host + " " + std::to_string(address.port);
}

} // namespace

TEST_CASE("No flags and no environment give the documented defaults") {
  const config c = parsed({});
  const config d;
  CHECK(c.listen.authority() == "127.0.0.1:11435");
  CHECK(c.upstream.authority() == "127.0.0.1:11434");
  CHECK_FALSE(c.metrics_listen);
  CHECK(c.max_fanout == d.max_fanout);
  CHECK(c.max_split_inputs == 4096);
  CHECK(c.upstream_concurrency == d.upstream_concurrency);
  CHECK(c.max_queued == d.max_queued);
  CHECK(c.max_connections == d.max_connections);
  CHECK(c.max_idle_upstream == d.max_idle_upstream);
  CHECK(c.connect_timeout == d.connect_timeout);
  CHECK(c.header_timeout == d.header_timeout);
  CHECK(c.idle_timeout == d.idle_timeout);
  CHECK(c.client_header_timeout == d.client_header_timeout);
  CHECK(c.keepalive_timeout == d.keepalive_timeout);
  CHECK(c.shutdown_grace == d.shutdown_grace);
  CHECK(c.health_timeout == d.health_timeout);
  CHECK(c.health_interval == d.health_interval);
  CHECK(c.request_body_limit == 64ull << 20);
  CHECK(c.embed_reply_limit == 256ull << 20);
  CHECK(c.header_limit == d.header_limit);
  CHECK_FALSE(c.preserve_host);
  CHECK(c.access_log);
  CHECK(c.threads == 0);
  CHECK(c.max_model_labels == d.max_model_labels);
  CHECK(c.cold_load_threshold == 500ms);
  CHECK(c.duration_buckets.empty());
  CHECK(c.token_buckets.empty());
}

TEST_CASE("Every flag sets its field") {
  const config c = parsed({"--listen",
                           "0.0.0.0:8080",
                           "--upstream",
                           "http://ollama:11434",
                           "--metrics-listen",
                           ":9090",
                           "--max-fanout",
                           "3",
                           "--max-split-inputs",
                           "100",
                           "--upstream-concurrency",
                           "2",
                           "--max-queued",
                           "0",
                           "--max-connections",
                           "10",
                           "--max-idle-upstream",
                           "5",
                           "--connect-timeout",
                           "500ms",
                           "--header-timeout",
                           "10m",
                           "--idle-timeout",
                           "1h",
                           "--client-header-timeout",
                           "1m30s",
                           "--keepalive-timeout",
                           "7",
                           "--shutdown-grace",
                           "2.5s",
                           "--health-timeout",
                           "3s",
                           "--health-interval",
                           "1m",
                           "--request-body-limit",
                           "1GiB",
                           "--embed-reply-limit",
                           "4MiB",
                           "--header-limit",
                           "64KiB",
                           "--preserve-host",
                           "--no-access-log",
                           "--threads",
                           "4",
                           "--max-model-labels",
                           "20",
                           "--cold-load-threshold",
                           "2s",
                           "--duration-buckets",
                           "0.1,1,10",
                           "--token-buckets",
                           "1, 10 ,100"});
  CHECK(c.listen.authority() == "0.0.0.0:8080");
  CHECK(c.upstream.authority() == "ollama:11434");
  REQUIRE(c.metrics_listen);
  CHECK(c.metrics_listen->authority() == "127.0.0.1:9090");
  CHECK(c.max_fanout == 3);
  CHECK(c.max_split_inputs == 100);
  CHECK(c.upstream_concurrency == 2);
  CHECK(c.max_queued == 0);
  CHECK(c.max_connections == 10);
  CHECK(c.max_idle_upstream == 5);
  CHECK(c.connect_timeout == 500ms);
  CHECK(c.header_timeout == 10min);
  CHECK(c.idle_timeout == 1h);
  CHECK(c.client_header_timeout == 90s);
  CHECK(c.keepalive_timeout == 7s);
  CHECK(c.shutdown_grace == 2500ms);
  CHECK(c.health_timeout == 3s);
  CHECK(c.health_interval == 1min);
  CHECK(c.request_body_limit == 1ull << 30);
  CHECK(c.embed_reply_limit == 4ull << 20);
  CHECK(c.header_limit == 64u << 10);
  CHECK(c.preserve_host);
  CHECK_FALSE(c.access_log);
  CHECK(c.threads == 4);
  CHECK(c.max_model_labels == 20);
  CHECK(c.cold_load_threshold == 2s);
  CHECK(c.duration_buckets == std::vector<double>{0.1, 1, 10});
  CHECK(c.token_buckets == std::vector<double>{1, 10, 100});
}

TEST_CASE("Flags also take the --name=value form, and the last repetition wins") {
  const config c = parsed({"--max-fanout=4", "--listen=:1", "--listen", ":2"});
  CHECK(c.max_fanout == 4);
  CHECK(c.listen.authority() == "127.0.0.1:2");
}

TEST_CASE("Environment variables set fields, and the command line wins over them") {
  const std::map<std::string, std::string> env = {
      {"OLLAMA_METER_LISTEN", "[::1]:7000"},      {"OLLAMA_METER_UPSTREAM", "'http://h:1'"},
      {"OLLAMA_METER_MAX_FANOUT", "5"},           {"OLLAMA_METER_UPSTREAM_CONCURRENCY", "6"},
      {"OLLAMA_METER_HEADER_TIMEOUT", "45s"},     {"OLLAMA_METER_REQUEST_BODY_LIMIT", "2M"},
      {"OLLAMA_METER_PRESERVE_HOST", "true"},     {"OLLAMA_METER_NO_ACCESS_LOG", "1"},
      {"OLLAMA_METER_DURATION_BUCKETS", "0.5,2"}, {"OLLAMA_METER_METRICS_LISTEN", "127.0.0.1:0"},
  };
  const config from_env = parsed({}, env);
  CHECK(from_env.listen.authority() == "[::1]:7000");
  CHECK(from_env.upstream.authority() == "h:1");
  CHECK(from_env.max_fanout == 5);
  CHECK(from_env.upstream_concurrency == 6);
  CHECK(from_env.header_timeout == 45s);
  CHECK(from_env.request_body_limit == 2u << 20);
  CHECK(from_env.preserve_host);
  CHECK_FALSE(from_env.access_log);
  CHECK(from_env.duration_buckets == std::vector<double>{0.5, 2});
  REQUIRE(from_env.metrics_listen);
  CHECK(from_env.metrics_listen->port == 0);

  const config both = parsed({"--max-fanout", "9", "--listen", ":8000"}, env);
  CHECK(both.max_fanout == 9);
  CHECK(both.listen.authority() == "127.0.0.1:8000");
  CHECK(both.upstream_concurrency == 6);
}

TEST_CASE("Empty environment variables are ignored and false flags stay off") {
  const config c = parsed({}, {{"OLLAMA_METER_MAX_FANOUT", ""},
                               {"OLLAMA_METER_PRESERVE_HOST", "false"},
                               {"OLLAMA_METER_NO_ACCESS_LOG", "off"}});
  CHECK(c.max_fanout == config{}.max_fanout);
  CHECK_FALSE(c.preserve_host);
  CHECK(c.access_log);
}

TEST_CASE("Durations take Go syntax or seconds and must be at least a millisecond") {
  const std::pair<const char*, std::chrono::milliseconds> good[] = {
      {"500ms", 500ms},
      {"10s", 10s},
      {"10m", 10min},
      {"1h", 1h},
      {"1m30s", 90s},
      {"1.5h", 90min},
      {"2", 2s},
      {"0.25", 250ms},
      {"1500us", 2ms},
      {"1000000ns", 1ms},
      {"1h1m1s1ms", 3'661'001ms},
      {" 3s ", 3s},
  };
  for (const auto& [text, expected] : good) {
    INFO(text);
    CHECK(parsed({"--connect-timeout", text}).connect_timeout == expected);
  }
  for (const char* bad : {"0", "0s", "-1s", "-5", "10x", "s", "1m30", "100us", "0.5ms", "999us",
                          "abc", "1e400", "nan", "100000h", "1s-2s"}) {
    INFO(bad);
    const std::string error = error_of({"--idle-timeout", bad});
    CHECK(contains(error, "--idle-timeout"));
  }
}

TEST_CASE("Sizes take bytes or K, M and G suffixes in multiples of 1024") {
  const std::pair<const char*, std::uint64_t> good[] = {
      {"1024", 1024},     {"64MiB", 64ull << 20}, {"64M", 64ull << 20}, {"1GiB", 1ull << 30},
      {"1g", 1ull << 30}, {"1KiB", 1024},         {"3k", 3072},         {"8kib", 8192},
  };
  for (const auto& [text, expected] : good) {
    INFO(text);
    CHECK(parsed({"--request-body-limit", text}).request_body_limit == expected);
  }
  for (const char* bad :
       {"0", "1TB", "-1", "MiB", "1.5M", "1 M", "99999999999999999999", "20000000000G", "1KB"}) {
    INFO(bad);
    CHECK(contains(error_of({"--request-body-limit", bad}), "--request-body-limit"));
  }
  CHECK(contains(error_of({"--header-limit", "4GiB"}), "header limit must be below 4GiB"));
  CHECK(parsed({"--header-limit", "4095M"}).header_limit == 4095u << 20);
  CHECK(contains(error_of({"--header-limit", "10"}), "at least 1KiB"));
  CHECK(parsed({"--header-limit", "1K"}).header_limit == 1024);
}

TEST_CASE("Counts are range-checked per flag") {
  CHECK(contains(error_of({"--max-fanout", "0"}), "--max-fanout"));
  CHECK(contains(error_of({"--upstream-concurrency", "0"}), "--upstream-concurrency"));
  CHECK(contains(error_of({"--max-connections", "0"}), "--max-connections"));
  CHECK(contains(error_of({"--max-model-labels", "0"}), "--max-model-labels"));
  CHECK(contains(error_of({"--threads", "2000"}), "--threads"));
  CHECK(contains(error_of({"--max-fanout", "-1"}), "--max-fanout"));
  CHECK(contains(error_of({"--max-fanout", "two"}), "\"two\""));
  CHECK(contains(error_of({"--max-queued", "1.5"}), "--max-queued"));
  CHECK(parsed({"--max-idle-upstream", "0"}).max_idle_upstream == 0);
  CHECK(parsed({"--threads", "0"}).threads == 0);
}

TEST_CASE("Bucket lists must be increasing positive numbers") {
  CHECK(parsed({"--duration-buckets", "0.005,0.01,2.5,60"}).duration_buckets ==
        std::vector<double>{0.005, 0.01, 2.5, 60});
  CHECK(parsed({"--token-buckets", "1e3"}).token_buckets == std::vector<double>{1000});
  for (const char* bad : {"1,0.5", "0,1", "1,1", "1,,2", "a", "", ",", "1,", "-1", "inf", "1;2"}) {
    INFO(bad);
    CHECK(contains(error_of({"--duration-buckets", bad}), "--duration-buckets"));
  }
}

TEST_CASE("Bad values name the flag or the environment variable and quote the value") {
  const std::string from_flag = error_of({"--upstream", "https://ollama.com"});
  CHECK(contains(from_flag, "--upstream \"https://ollama.com\""));
  CHECK(contains(from_flag, "https:// is not supported"));

  const std::string from_env = error_of({}, {{"OLLAMA_METER_SHUTDOWN_GRACE", "soon"}});
  CHECK(contains(from_env, "OLLAMA_METER_SHUTDOWN_GRACE \"soon\""));

  const std::string bool_env = error_of({}, {{"OLLAMA_METER_PRESERVE_HOST", "maybe"}});
  CHECK(contains(bool_env, "OLLAMA_METER_PRESERVE_HOST"));

  const std::string control = error_of({"--listen", "a\nb:1"});
  CHECK(contains(control, "\\x0a"));
}

TEST_CASE("Unknown flags, stray arguments and missing values are usage errors") {
  CHECK(contains(error_of({"--bogus"}), "--bogus"));
  CHECK(contains(error_of({"stray"}), "stray"));
  error_of({"--listen"});
  error_of({"--max-fanout", "2", "--upstream"});
}

TEST_CASE("The metrics address must differ from the main one") {
  CHECK(contains(error_of({"--listen", ":9000", "--metrics-listen", "127.0.0.1:9000"}),
                 "--metrics-listen"));
  CHECK(parsed({"--listen", ":0", "--metrics-listen", ":0"}).metrics_listen->port == 0);
}

TEST_CASE("config: --help documents every flag with its default and environment variable") {
  const exit_with help = exited({"--help"});
  CHECK(help.status == 0);
  CHECK_FALSE(help.to_stderr);
  const char* const flags[] = {
      "listen",
      "upstream",
      "metrics-listen",
      "max-fanout",
      "max-split-inputs",
      "upstream-concurrency",
      "max-queued",
      "max-connections",
      "max-idle-upstream",
      "connect-timeout",
      "header-timeout",
      "idle-timeout",
      "client-header-timeout",
      "keepalive-timeout",
      "shutdown-grace",
      "health-timeout",
      "health-interval",
      "request-body-limit",
      "embed-reply-limit",
      "header-limit",
      "preserve-host",
      "no-access-log",
      "threads",
      "max-model-labels",
      "cold-load-threshold",
      "duration-buckets",
      "token-buckets",
  };
  for (const std::string flag : flags) {
    INFO(flag);
    const auto at = help.output.find(
        "  --" + flag + (flag == "preserve-host" || flag == "no-access-log" ? "\n" : " "));
    REQUIRE(at != std::string::npos);
    std::string env = "OLLAMA_METER_" + flag;
    for (char& c : env) {
      c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    const auto entry_end = help.output.find("\n  -", at + 1);
    const std::string entry = help.output.substr(at, entry_end - at);
    CHECK(contains(entry, "Default: "));
    CHECK(contains(entry, "Environment: " + env + "."));
  }
  CHECK(contains(help.output, "Default: 127.0.0.1:11435."));
  CHECK(contains(help.output, "Default: 64MiB."));
  CHECK(contains(help.output, "Default: 10m."));
  CHECK(contains(help.output, "--version"));
  CHECK(exited({"-h"}).output == help.output);
}

TEST_CASE("config: --version prints the program name and version") {
  const exit_with version = exited({"--version"});
  CHECK(version.status == 0);
  CHECK_FALSE(version.to_stderr);
  CHECK(version.output == "ollama-meter " METER_VERSION "\n");
}

TEST_CASE("authority() brackets IPv6 hosts only") {
  CHECK(meter::endpoint_address{"::1", 11434}.authority() == "[::1]:11434");
  CHECK(meter::endpoint_address{"fe80::1%eth0", 1}.authority() == "[fe80::1%eth0]:1");
  CHECK(meter::endpoint_address{"localhost", 80}.authority() == "localhost:80");
  CHECK(meter::endpoint_address{"10.0.0.1", 0}.authority() == "10.0.0.1:0");
}

TEST_CASE("Upstream addresses are read the way Ollama's clients read OLLAMA_HOST") {
  CHECK(upstream("1.2.3.4") == "1.2.3.4 11434");
  CHECK(upstream("example.com:5678") == "example.com 5678");
  CHECK(upstream("http://h") == "h 80");
  CHECK(upstream("HTTP://h:81") == "h 81");
  CHECK(upstream("http://h:11434/") == "h 11434");
  CHECK(upstream("h//") == "h 11434");
  CHECK(upstream(":5678") == "127.0.0.1 5678");
  CHECK(upstream("[::1]") == "::1 11434");
  CHECK(upstream("[::1]:8080") == "::1 8080");
  CHECK(upstream("http://[::1]") == "::1 80");
  CHECK(upstream("::1") == "::1 11434");
  CHECK(upstream("fe80::1%eth0") == "fe80::1%eth0 11434");
  CHECK(upstream("  \"localhost:1\"  ") == "localhost 1");
  CHECK(upstream("'ollama'") == "ollama 11434");
  CHECK(upstream("0.0.0.0") == "0.0.0.0 11434");
  CHECK(upstream("my_host.internal-1") == "my_host.internal-1 11434");
}

TEST_CASE("Upstream addresses Ollama cannot be reached at are rejected with a reason") {
  CHECK(contains(upstream("https://h"), "https:// is not supported"));
  CHECK(contains(upstream("ftp://h"), "unsupported scheme"));
  CHECK(contains(upstream("h/api"), "path"));
  CHECK(contains(upstream("http://h:1/v1/"), "path"));
  CHECK(contains(upstream("h:0"), "invalid port"));
  CHECK(contains(upstream("h:65536"), "invalid port"));
  CHECK(contains(upstream("h:-1"), "invalid port"));
  CHECK(contains(upstream("h:x"), "invalid port"));
  CHECK(contains(upstream("h:"), "missing port"));
  CHECK(contains(upstream(""), "empty"));
  CHECK(contains(upstream("  ''  "), "empty"));
  CHECK(contains(upstream("http://"), "missing host"));
  CHECK(contains(upstream("[::1"), "missing ']'"));
  CHECK(contains(upstream("[nothex]:1"), "invalid IPv6"));
  CHECK(contains(upstream("[::1]x"), "unexpected"));
  CHECK(contains(upstream("::zz"), "invalid address"));
  CHECK(contains(upstream("user@h"), "invalid host"));
  CHECK(contains(upstream("h h"), "invalid host"));
}

TEST_CASE("Listen addresses need a port and default the host to 127.0.0.1") {
  CHECK(listen("127.0.0.1:11435") == "127.0.0.1 11435");
  CHECK(listen(":8080") == "127.0.0.1 8080");
  CHECK(listen("0.0.0.0:0") == "0.0.0.0 0");
  CHECK(listen("[::1]:9") == "::1 9");
  CHECK(listen("[::]:9") == ":: 9");
  CHECK(listen("localhost:65535") == "localhost 65535");
  CHECK(contains(listen("localhost"), "missing port"));
  CHECK(contains(listen("[::1]"), "missing port"));
  CHECK(contains(listen("::1:80"), "brackets"));
  CHECK(contains(listen("h:65536"), "invalid port"));
  CHECK(contains(listen("h:"), "missing port"));
  CHECK(contains(listen(""), "empty"));
  CHECK(contains(listen("http://h:1"), "scheme"));
}

TEST_CASE("Durations and sizes shown in the help read back to the same value") {
  using namespace meter::config_values;
  const std::chrono::milliseconds durations[] = {1ms, 250ms, 1s, 10s, 90s, 10min, 1h, 36h, 1001ms};
  for (const auto d : durations) {
    INFO(d.count());
    const std::string text = format_duration(d);
    CHECK(std::get<std::chrono::milliseconds>(parse_duration(text)) == d);
  }
  CHECK(format_duration(10min) == "10m");
  CHECK(format_duration(1500ms) == "1500ms");
  for (const std::uint64_t n :
       {1ull, 1000ull, 1024ull, 3ull << 20, 64ull << 20, 5ull << 30, (1ull << 30) + 1}) {
    INFO(n);
    CHECK(std::get<std::uint64_t>(parse_size(format_size(n))) == n);
  }
  CHECK(format_size(64ull << 20) == "64MiB");
  CHECK(format_size(1u << 20) == "1MiB");
}
