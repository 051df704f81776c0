// The simulated model runner: admission of requests (beyond slots + max_queue: 503) and FIFO slots
// that embedded inputs hold while they "compute" (1 slot in serial mode, like Ollama's embedding
// runner; N in parallel mode). Waiting for a slot can be cancelled (the client went away).
#pragma once

#include "tests/sim/sim_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

namespace meter::sim {

class runner_pool;

// Holds one runner slot; gives it back (to the next waiter, FIFO) when destroyed.
class slot_guard {
public:
  explicit slot_guard(runner_pool* pool) : pool_(pool) {}
  slot_guard(slot_guard&& other) noexcept : pool_(other.pool_) { other.pool_ = nullptr; }
  slot_guard& operator=(slot_guard&&) = delete;
  ~slot_guard();

private:
  runner_pool* pool_;
};

class runner_pool {
public:
  runner_pool(std::size_t slots, std::size_t max_queue, sim_state& state);

  bool try_admit(); // false: the queue is full (503)
  void leave();

  // A slot, or nullopt when the wait was cancelled.
  boost::asio::awaitable<std::optional<slot_guard>> acquire();
  void release();

private:
  using channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;
  struct waiter {
    explicit waiter(const boost::asio::any_io_executor& ex) : ready(ex, 1) {}
    channel ready;
    bool granted = false; // guarded by mutex_
  };

  std::size_t slots_;
  std::size_t max_queue_;
  sim_state& state_;
  std::mutex mutex_;
  std::size_t free_;
  std::size_t admitted_ = 0;
  std::deque<std::shared_ptr<waiter>> waiters_;
};

} // namespace meter::sim
