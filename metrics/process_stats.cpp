// Parsing /proc/self into the standard process_* metrics, and rendering them.
#include "metrics/process_stats.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace meter::metrics {
namespace {

std::optional<double> to_number(std::string_view token) {
  double value = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc{} || end != token.data() + token.size()) {
    return std::nullopt;
  }
  return value;
}

std::vector<std::string_view> split_whitespace(std::string_view text) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = text.find_first_not_of(" \t\n", i);
    if (start == std::string_view::npos) {
      break;
    }
    const std::size_t end = std::min(text.find_first_of(" \t\n", start), text.size());
    tokens.push_back(text.substr(start, end - start));
    i = end;
  }
  return tokens;
}

// The rest of the first line that starts with `key`, or empty.
std::string_view line_value(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, end - pos);
    if (line.starts_with(key)) {
      return line.substr(key.size());
    }
    pos = end + 1;
  }
  return {};
}

// The first whitespace-separated token of `text` as a number.
std::optional<double> first_number(std::string_view text) {
  const auto tokens = split_whitespace(text);
  return tokens.empty() ? std::nullopt : to_number(tokens[0]);
}

// A `VmRSS:     1234 kB` line of /proc/self/status, in bytes.
std::optional<double> status_kilobytes(std::string_view status, std::string_view key) {
  const auto tokens = split_whitespace(line_value(status, key));
  if (tokens.size() != 2 || tokens[1] != "kB") {
    return std::nullopt;
  }
  const auto kb = to_number(tokens[0]);
  return kb ? std::optional(*kb * 1024) : std::nullopt;
}

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return {std::move(name), std::move(help), type, {metric}};
}

} // namespace

process_sample parse_process_sample(const proc_texts& texts, double ticks_per_second) {
  process_sample sample;
  // The command name (field 2) is in parentheses and may hold spaces or ')': fields are counted
  // from the last ')'. Fields 14, 15 are utime and stime, 22 starttime, 23 vsize (1-based).
  const std::size_t paren = texts.self_stat.rfind(')');
  if (paren != std::string_view::npos && ticks_per_second > 0) {
    const auto fields = split_whitespace(texts.self_stat.substr(paren + 1));
    const auto field = [&](std::size_t n) -> std::optional<double> {
      return n - 3 < fields.size() ? to_number(fields[n - 3]) : std::nullopt;
    };
    if (const auto utime = field(14), stime = field(15); utime && stime) {
      sample.cpu_seconds = (*utime + *stime) / ticks_per_second;
    }
    const auto boot = first_number(line_value(texts.system_stat, "btime "));
    if (const auto start = field(22); start && boot) {
      sample.start_time_seconds = *boot + *start / ticks_per_second;
    }
    sample.virtual_memory_bytes = field(23);
  }
  sample.resident_memory_bytes = status_kilobytes(texts.self_status, "VmRSS:");
  sample.max_fds = first_number(line_value(texts.self_limits, "Max open files")); // not "unlimited"
  if (texts.open_fds) {
    sample.open_fds = static_cast<double>(*texts.open_fds);
  }
  return sample;
}

process_sample read_process_sample() {
  const std::string stat = read_file("/proc/self/stat");
  const std::string status = read_file("/proc/self/status");
  const std::string limits = read_file("/proc/self/limits");
  const std::string system_stat = read_file("/proc/stat");
  std::optional<std::size_t> fds;
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (!ec) {
    std::size_t count = 0;
    for (const auto end = std::filesystem::directory_iterator(); it != end; it.increment(ec)) {
      if (ec) {
        break;
      }
      ++count;
    }
    if (!ec && count > 0) {
      fds = count - 1; // not counting the descriptor that lists the directory
    }
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return parse_process_sample({stat, status, limits, system_stat, fds},
                              ticks > 0 ? static_cast<double>(ticks) : 0);
}

std::string render_process_metrics(const process_sample& s) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  const auto add = [&](const std::optional<double>& value, const char* name, const char* help,
                       MetricType type) {
    if (value) {
      families.push_back(family(name, help, type, *value));
    }
  };
  add(s.cpu_seconds, "process_cpu_seconds_total",
      "Total user and system CPU time spent in seconds.", MetricType::Counter);
  add(s.open_fds, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
  add(s.max_fds, "process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge);
  add(s.virtual_memory_bytes, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
      MetricType::Gauge);
  add(s.resident_memory_bytes, "process_resident_memory_bytes", "Resident memory size in bytes.",
      MetricType::Gauge);
  add(s.start_time_seconds, "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.", MetricType::Gauge);
  return prometheus::TextSerializer().Serialize(families);
}

} // namespace meter::metrics
