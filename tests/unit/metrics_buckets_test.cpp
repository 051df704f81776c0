// Default histogram buckets and bucket validation.
#include "metrics/buckets.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace meter::metrics;

TEST_CASE("default duration buckets run from 0.5 ms to at least 120 s in steps of at most x2") {
  const auto b = default_duration_buckets();
  REQUIRE_FALSE(check_buckets(b));
  CHECK(b.front() == Approx(0.0005));
  CHECK(b.back() >= 120);
  for (std::size_t i = 1; i < b.size() && b[i - 1] < 120; ++i) {
    CHECK(b[i] / b[i - 1] <= 2.0 + 1e-9);
  }
  std::size_t below_100ms = 0;
  for (double x : b) {
    below_100ms += x < 0.1 ? 1 : 0;
  }
  CHECK(below_100ms >= 8); // sub-100 ms embeddings must not all share one bucket
}

TEST_CASE("default token buckets are powers of two from 1 to 131072") {
  const auto b = default_token_buckets();
  REQUIRE(b.size() == 18);
  for (std::size_t i = 0; i < b.size(); ++i) {
    CHECK(b[i] == std::ldexp(1.0, static_cast<int>(i)));
  }
  CHECK(b.back() == 131072);
}

TEST_CASE("inputs-per-request buckets start at one input and reach large batches") {
  const auto b = request_input_buckets();
  REQUIRE_FALSE(check_buckets(b));
  CHECK(b.front() == 1);
  CHECK(b.back() >= 4096);
}

TEST_CASE(
    "bucket lists that are empty, unsorted, repeated, non-positive or infinite are rejected") {
  CHECK(check_buckets(std::vector<double>{}));
  CHECK(check_buckets(std::vector<double>{0.1, 0.05}));
  CHECK(check_buckets(std::vector<double>{0.1, 0.1}));
  CHECK(check_buckets(std::vector<double>{0, 1}));
  CHECK(check_buckets(std::vector<double>{-1, 1}));
  CHECK(check_buckets(std::vector<double>{1, std::numeric_limits<double>::infinity()}));
  CHECK(check_buckets(std::vector<double>{std::nan(""), 1}));
  CHECK_FALSE(check_buckets(std::vector<double>{0.001, 1, 60}));
}
