// process_* metrics: parsing /proc text (including awkward command names) and rendering.
#include "metrics/process_stats.hpp"
#include "tests/unit/metrics_exposition.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace meter::metrics;

namespace {

// /proc/self/stat of a process named "a) b (c": fields after the last ')' start at field 3.
// utime=250, stime=50 ticks; starttime=12345 ticks after boot; vsize=987654321 bytes.
constexpr std::string_view sample_stat =
    "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 3 0 12345 987654321 "
    "2048 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";

constexpr std::string_view sample_status = "Name:\tollama-meter\n"
                                           "VmPeak:\t  100000 kB\n"
                                           "VmSize:\t   96452 kB\n"
                                           "VmRSS:\t    8192 kB\n"
                                           "Threads:\t3\n";

constexpr std::string_view sample_limits =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max open files            1024                 524288               files     \n";

constexpr std::string_view sample_system_stat = "cpu  1 2 3 4\nintr 5\nbtime 1700000000\n"
                                                "processes 10\n";

} // namespace

TEST_CASE("a process sample is parsed from /proc text, whatever the command name holds") {
  const auto s = parse_process_sample(
      {sample_stat, sample_status, sample_limits, sample_system_stat, std::size_t{17}}, 100);
  CHECK(s.cpu_seconds == Approx(3.0));
  CHECK(s.start_time_seconds == Approx(1700000123.45));
  CHECK(s.virtual_memory_bytes == 987654321.0);
  CHECK(s.resident_memory_bytes == 8192.0 * 1024);
  CHECK(s.max_fds == 1024.0);
  CHECK(s.open_fds == 17.0);
}

TEST_CASE("missing or malformed /proc text leaves the fields it feeds empty") {
  const auto s = parse_process_sample(
      {"garbage", "", "Max open files unlimited unlimited files\n", "", std::nullopt}, 100);
  CHECK_FALSE(s.cpu_seconds);
  CHECK_FALSE(s.start_time_seconds);
  CHECK_FALSE(s.virtual_memory_bytes);
  CHECK_FALSE(s.resident_memory_bytes);
  CHECK_FALSE(s.max_fds);
  CHECK_FALSE(s.open_fds);

  // Without btime the start time cannot be placed on the epoch; CPU time still can.
  const auto t = parse_process_sample({sample_stat, "VmRSS: 12 MB\n", "", "", std::nullopt}, 100);
  CHECK(t.cpu_seconds);
  CHECK_FALSE(t.start_time_seconds);
  CHECK_FALSE(t.resident_memory_bytes);
}

TEST_CASE("the live sample of this process is plausible") {
  const auto s = read_process_sample();
  REQUIRE(s.resident_memory_bytes);
  CHECK(*s.resident_memory_bytes > 1024 * 1024);
  REQUIRE(s.open_fds);
  CHECK(*s.open_fds >= 3);
  REQUIRE(s.max_fds);
  CHECK(*s.max_fds >= *s.open_fds);
  REQUIRE(s.start_time_seconds);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(*s.start_time_seconds <= now + 1);
  CHECK(*s.start_time_seconds > now - 24 * 3600);
  CHECK(s.cpu_seconds);
  CHECK(s.virtual_memory_bytes);
}

TEST_CASE("process metrics render with the standard names and types, skipping empty fields") {
  process_sample s;
  s.cpu_seconds = 1.5;
  s.open_fds = 9;
  const std::string text = render_process_metrics(s);
  CHECK(text.find("# TYPE process_cpu_seconds_total counter") != std::string::npos);
  CHECK(text.find("# TYPE process_open_fds gauge") != std::string::npos);
  CHECK(meter::test::sample_value(text, "process_cpu_seconds_total") == 1.5);
  CHECK(meter::test::sample_value(text, "process_open_fds") == 9);
  CHECK(text.find("process_max_fds") == std::string::npos);
}
