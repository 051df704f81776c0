// The standard process_* metrics, read from /proc/self at scrape time. Parsing is pure (over
// the files' text) so it is testable; read_process_sample() is the thin reader.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace meter::metrics {

// One sample; a field is empty when its source could not be read or parsed.
struct process_sample {
  std::optional<double> cpu_seconds;        // user + system
  std::optional<double> start_time_seconds; // since the Unix epoch
  std::optional<double> resident_memory_bytes;
  std::optional<double> virtual_memory_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds; // the soft limit; empty when unlimited
};

// The text of the files a sample comes from.
struct proc_texts {
  std::string_view self_stat;          // /proc/self/stat
  std::string_view self_status;        // /proc/self/status
  std::string_view self_limits;        // /proc/self/limits
  std::string_view system_stat;        // /proc/stat (for btime)
  std::optional<std::size_t> open_fds; // entries of /proc/self/fd
};

// `ticks_per_second` is sysconf(_SC_CLK_TCK).
process_sample parse_process_sample(const proc_texts& texts, double ticks_per_second);

// Reads /proc for the calling process. Never throws; unreadable parts stay empty.
process_sample read_process_sample();

// The sample as Prometheus text exposition (HELP, TYPE and one line per present field).
std::string render_process_metrics(const process_sample& sample);

} // namespace meter::metrics
