// The Prometheus test harness declared in prometheus_harness.hpp.
#include "tests/integration/prometheus_harness.hpp"

#include "tests/support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace meter::test {
namespace {

// `label_values(SELECTOR, LABEL)` as `count by (LABEL) (SELECTOR)`; other definitions unchanged.
std::string variable_query_as_promql(const std::string& definition) {
  const std::string prefix = "label_values(";
  if (!definition.starts_with(prefix) || !definition.ends_with(")")) {
    return definition;
  }
  const std::string inner = definition.substr(prefix.size(), definition.size() - prefix.size() - 1);
  const std::size_t comma = inner.rfind(',');
  if (comma == std::string::npos) {
    return "count by (" + inner + ") ({" + inner + "!=\"\"})";
  }
  std::string label = inner.substr(comma + 1);
  label.erase(0, label.find_first_not_of(' '));
  return "count by (" + label + ") (" + inner.substr(0, comma) + ")";
}

void collect_panel_queries(const nlohmann::json& panels, std::vector<dashboard_query>& out) {
  for (const auto& panel : panels) {
    if (panel.contains("panels")) {
      collect_panel_queries(panel["panels"], out);
    }
    if (!panel.contains("targets")) {
      continue;
    }
    for (const auto& target : panel["targets"]) {
      out.push_back({"panel '" + panel.value("title", std::string{}) + "' target " +
                         target.value("refId", std::string{}),
                     target.value("expr", std::string{})});
    }
  }
}

// Children that print no `listening on` line: start them and return at once.
start_options spawn_only() {
  start_options options;
  options.wait_ready = false;
  return options;
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path.string());
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

std::filesystem::path dashboard_path() {
  return std::filesystem::path(METER_SOURCE_DIR) / "docker/grafana/dashboards/ollama-meter.json";
}

std::filesystem::path prometheus_config_path() {
  return std::filesystem::path(METER_SOURCE_DIR) / "docker/prometheus/prometheus.yml";
}

nlohmann::json load_json_file(const std::filesystem::path& path) {
  return nlohmann::json::parse(read_file(path));
}

std::vector<dashboard_query> dashboard_queries(const nlohmann::json& dashboard) {
  std::vector<dashboard_query> queries;
  collect_panel_queries(dashboard.value("panels", nlohmann::json::array()), queries);
  const auto variables = dashboard.value("templating", nlohmann::json::object())
                             .value("list", nlohmann::json::array());
  for (const auto& variable : variables) {
    if (variable.value("type", std::string{}) != "query") {
      continue;
    }
    const auto& query = variable["query"];
    const std::string definition =
        query.is_object() ? query.value("query", std::string{}) : query.get<std::string>();
    queries.push_back({"variable " + variable.value("name", std::string{}),
                       variable_query_as_promql(definition)});
  }
  return queries;
}

std::string substitute_grafana_variables(std::string expr, std::string_view rate_window,
                                         std::string_view range) {
  replace_all(expr, "${__rate_interval}", rate_window);
  replace_all(expr, "$__rate_interval", rate_window);
  replace_all(expr, "${__interval}", rate_window);
  replace_all(expr, "$__interval", rate_window);
  replace_all(expr, "${__range}", range);
  replace_all(expr, "$__range", range);
  for (const std::string_view name : {"model", "instance"}) {
    replace_all(expr, "${" + std::string(name) + "}", ".*");
    replace_all(expr, "$" + std::string(name), ".*");
  }
  return expr;
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
  return out;
}

bool poll_until(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& ready,
                std::chrono::milliseconds interval) {
  for (;;) {
    if (ready()) {
      return true;
    }
    if (std::chrono::steady_clock::now() + interval > deadline) {
      return ready();
    }
    std::this_thread::sleep_for(interval);
  }
}

temp_dir::temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/ollama-meter-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  }
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

command_result run_promtool(const std::vector<std::string>& args,
                            const std::optional<std::filesystem::path>& stdin_file,
                            std::chrono::milliseconds timeout) {
  // child_process gives its child /dev/null as stdin; a shell redirect supplies the file.
  std::string command = "exec ";
  command += promtool_binary;
  for (const auto& arg : args) {
    command += " '" + arg + "'";
  }
  if (stdin_file) {
    command += " < '" + stdin_file->string() + "'";
  }
  child_process child("/bin/sh", {"-c", command}, spawn_only());
  command_result result;
  result.status = child.wait_exit(timeout);
  result.out = child.stdout_text();
  result.err = child.stderr_text();
  return result;
}

std::uint16_t pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int error = errno;
    ::close(fd);
    throw std::runtime_error(std::string("bind/getsockname: ") + std::strerror(error));
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string prometheus_scrape_config(std::string_view job, std::string_view target,
                                     std::string_view scrape_interval) {
  std::string text;
  text += "global:\n";
  text += "  scrape_interval: " + std::string(scrape_interval) + "\n";
  text += "  scrape_timeout: " + std::string(scrape_interval) + "\n";
  text += "  evaluation_interval: " + std::string(scrape_interval) + "\n";
  text += "scrape_configs:\n";
  text += "  - job_name: " + std::string(job) + "\n";
  text += "    metrics_path: /metrics\n";
  text += "    static_configs:\n";
  text += "      - targets: [\"" + std::string(target) + "\"]\n";
  return text;
}

prometheus_server::prometheus_server(std::string job, const std::string& target,
                                     std::string scrape_interval,
                                     std::chrono::steady_clock::time_point deadline)
    : config_path_(dir_.path() / "prometheus.yml"), job_(std::move(job)) {
  write_file(config_path_, prometheus_scrape_config(job_, target, scrape_interval));
  std::string last_log;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = pick_free_port();
    const auto data = dir_.path() / ("data-" + std::to_string(attempt));
    process_ = std::make_unique<child_process>(
        prometheus_binary,
        std::vector<std::string>{
            "--config.file=" + config_path_.string(), "--storage.tsdb.path=" + data.string(),
            "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
        spawn_only());
    bool exited = false;
    const bool ready = poll_until(deadline, [&] {
      if (process_->wait_exit(std::chrono::milliseconds(0))) {
        exited = true;
        return true;
      }
      try {
        return request(authority(), "GET", "/-/ready", {}, {}, std::chrono::seconds(2)).status ==
               200;
      } catch (const std::exception&) {
        return false;
      }
    });
    if (!ready) {
      break; // the deadline passed
    }
    if (!exited && serves_job()) {
      return;
    }
    // It exited (most likely the port was taken meanwhile), or another server answers there.
    last_log = process_->stderr_text();
    process_.reset();
  }
  if (process_) {
    last_log = process_->stderr_text();
    process_.reset();
  }
  throw std::runtime_error("prometheus did not become ready on 127.0.0.1:" + std::to_string(port_) +
                           "; its log:\n" + last_log);
}

prometheus_server::~prometheus_server() = default;

bool prometheus_server::serves_job() const {
  try {
    const auto status =
        request(authority(), "GET", "/api/v1/status/config", {}, {}, std::chrono::seconds(5));
    return status.status == 200 && status.body.find("job_name: " + job_) != std::string::npos;
  } catch (const std::exception&) {
    return false;
  }
}

std::string prometheus_server::authority() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::string prometheus_server::log() const {
  return process_ ? process_->stderr_text() : "";
}

nlohmann::json prometheus_server::query(const std::string& expr) const {
  const auto response = request(authority(), "GET", "/api/v1/query?query=" + url_encode(expr), {},
                                {}, std::chrono::seconds(10));
  return nlohmann::json::parse(response.body);
}

nlohmann::json prometheus_server::query_result(const std::string& expr) const {
  const auto answer = query(expr);
  if (answer.value("status", "") != "success") {
    return nlohmann::json::array();
  }
  return answer["data"].value("result", nlohmann::json::array());
}

bool has_numeric_sample(const nlohmann::json& result) {
  if (!result.is_array()) {
    return false;
  }
  for (const auto& sample : result) {
    if (!sample.contains("value") || !sample["value"].is_array() || sample["value"].size() != 2) {
      continue;
    }
    const std::string value = sample["value"][1].get<std::string>();
    if (value != "NaN") {
      return true;
    }
  }
  return false;
}

} // namespace meter::test
