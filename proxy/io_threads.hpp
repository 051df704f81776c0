// The I/O threads: one io_context per thread, each run by that thread alone. A client connection
// lives on one context for its whole life, so its handlers need no strand, and the upstream
// connections it borrows stay registered with that context's reactor.
//
// Thread safety: next() is for the accept loop (one thread); index_of() and stop() may be called
// from any thread.
#pragma once

#include <memory>
#include <vector>

#include "proxy/net.hpp"

namespace meter {

class io_threads {
public:
  explicit io_threads(unsigned count);
  // Destroys the handlers left on every context before it destroys any context: a handler of one
  // context may hold an I/O object of another (an accept on context 0 holds the socket it was
  // opening for another thread).
  ~io_threads();
  io_threads(const io_threads&) = delete;
  io_threads& operator=(const io_threads&) = delete;

  std::size_t size() const { return contexts_.size(); }
  net::io_context& main() { return *contexts_.front(); } // listeners, signals, health probe
  net::io_context& next();                               // round-robin, for a new connection
  net::io_context& at(std::size_t i) { return *contexts_[i]; }

  // The index of the context `ex` belongs to (0 for an executor of none of them).
  std::size_t index_of(const executor& ex) const;

  // Runs every context, context 0 on the calling thread; returns after stop() once all are done.
  // An exception escaping context 0's handlers stops the others and is rethrown once they ended
  // (one escaping another thread's handlers ends the process: std::terminate).
  void run();
  void stop();

private:
  // Each run by one thread (concurrency hint 1); its pending handlers can be destroyed early.
  class context : public net::io_context {
  public:
    context() : net::io_context(1) {}
    void destroy_pending_handlers() { shutdown(); } // the io_context destructor repeats it
  };

  using work_guard = net::executor_work_guard<net::io_context::executor_type>;
  std::vector<std::unique_ptr<context>> contexts_;
  std::vector<work_guard> guards_;
  std::size_t next_ = 0;
};

} // namespace meter
