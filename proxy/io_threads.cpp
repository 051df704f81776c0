// One io_context per I/O thread; see io_threads.hpp.
#include "proxy/io_threads.hpp"

#include <thread>

namespace meter {

io_threads::io_threads(unsigned count) {
  for (unsigned i = 0; i < std::max(1u, count); ++i) {
    contexts_.push_back(std::make_unique<context>());
    guards_.push_back(net::make_work_guard(*contexts_.back()));
  }
}

io_threads::~io_threads() {
  guards_.clear();
  for (auto& ctx : contexts_) {
    ctx->destroy_pending_handlers();
  }
}

net::io_context& io_threads::next() {
  auto& ctx = *contexts_[next_];
  next_ = (next_ + 1) % contexts_.size();
  return ctx;
}

std::size_t io_threads::index_of(const executor& ex) const {
  const auto* ctx = &ex.context();
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    if (ctx == contexts_[i].get()) {
      return i;
    }
  }
  return 0;
}

void io_threads::run() {
  std::vector<std::jthread> others;
  for (std::size_t i = 1; i < contexts_.size(); ++i) {
    others.emplace_back([ctx = contexts_[i].get()] { ctx->run(); });
  }
  try {
    contexts_.front()->run();
  } catch (...) {
    stop(); // the other threads must end too, or joining them would wedge the process
    throw;
  }
}

void io_threads::stop() {
  for (auto& guard : guards_) {
    guard.reset();
  }
  for (auto& ctx : contexts_) {
    ctx->stop();
  }
}

} // namespace meter
