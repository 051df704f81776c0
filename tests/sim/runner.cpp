// runner_pool: admission counter and FIFO slots handed over through per-waiter channels.
#include "tests/sim/runner.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace meter::sim {

slot_guard::~slot_guard() {
  if (pool_ != nullptr) {
    pool_->release();
  }
}

runner_pool::runner_pool(std::size_t slots, std::size_t max_queue, sim_state& state)
    : slots_(std::max<std::size_t>(slots, 1)), max_queue_(max_queue), state_(state), free_(slots_) {
}

bool runner_pool::try_admit() {
  std::lock_guard lock(mutex_);
  if (admitted_ >= slots_ + max_queue_) {
    return false;
  }
  ++admitted_;
  return true;
}

void runner_pool::leave() {
  std::lock_guard lock(mutex_);
  if (admitted_ > 0) {
    --admitted_;
  }
}

boost::asio::awaitable<std::optional<slot_guard>> runner_pool::acquire() {
  auto executor = co_await boost::asio::this_coro::executor;
  std::shared_ptr<waiter> w;
  std::size_t busy = 0;
  {
    std::lock_guard lock(mutex_);
    if (free_ > 0 && waiters_.empty()) {
      --free_;
      busy = slots_ - free_;
    } else {
      w = std::make_shared<waiter>(executor);
      waiters_.push_back(w);
    }
  }
  if (!w) {
    state_.runner_busy(busy);
    co_return slot_guard(this);
  }
  auto [ec] = co_await w->ready.async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
  if (!ec) {
    co_return slot_guard(this);
  }
  bool pass_on = false;
  {
    std::lock_guard lock(mutex_);
    if (w->granted) {
      pass_on = true; // the slot arrived as we were cancelled: hand it to the next waiter
    } else {
      waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), w), waiters_.end());
    }
  }
  if (pass_on) {
    release();
  }
  co_return std::nullopt;
}

void runner_pool::release() {
  std::shared_ptr<waiter> next;
  std::size_t busy = 0;
  {
    std::lock_guard lock(mutex_);
    if (!waiters_.empty()) {
      next = waiters_.front();
      waiters_.pop_front();
      next->granted = true;
    } else {
      ++free_;
    }
    busy = slots_ - free_;
  }
  state_.runner_busy(busy);
  if (next) {
    next->ready.try_send(boost::system::error_code{});
  }
}

} // namespace meter::sim
