#include "core/parallel.h"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace recur {

namespace {

int default_threads() {
  if (const char* env = std::getenv("RECUR_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

std::atomic<int> g_threads{default_threads()};
thread_local bool t_inside_job = false;

// Workers 1..n-1 wait for a job generation to change, run their chunk, and count down. Waiting
// first polls for up to kSpinMicros, yielding the core between polls (a runnable thread, as
// OpenBLAS's, goes first), then blocks on a condition variable: a job that follows the last one
// closely (the GEMM of the next recurrent step) starts in microseconds, where waking a blocked
// thread costs ~60 us on a 2-core VM (measured); an idle pool costs nothing.
class Pool {
 public:
  static constexpr int64_t kSpinMicros = 200;

  ~Pool() { resize(0); }

  void run(int threads, int64_t n, const std::function<void(int64_t, int64_t)>& body) {
    std::lock_guard<std::mutex> serial(run_mutex_);  // one job at a time
    if (static_cast<int>(workers_.size()) != threads - 1) resize(threads - 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      n_ = n;
      chunks_ = threads;
      pending_.store(threads - 1, std::memory_order_relaxed);
      error_ = nullptr;
      generation_.fetch_add(1, std::memory_order_release);  // publishes the job to spinners
    }
    wake_.notify_all();
    run_chunk(0);
    if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    std::lock_guard<std::mutex> lock(mutex_);  // error_ was written under it
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Polls `ready` for up to kSpinMicros, yielding between polls; whether it became true.
  template <class Ready>
  static bool spin_until(Ready ready) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    while (!ready()) {
      if (std::chrono::steady_clock::now() > until) return false;
      sched_yield();
    }
    return true;
  }

  void run_chunk(int id) {
    const int64_t chunk = (n_ + chunks_ - 1) / chunks_;
    const int64_t begin = id * chunk, end = begin + chunk < n_ ? begin + chunk : n_;
    if (begin >= end) return;
    t_inside_job = true;
    try {
      (*body_)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    t_inside_job = false;
  }

  void worker(int id) {
    uint64_t seen = 0;
    for (;;) {
      auto news = [&] {
        return stop_.load(std::memory_order_acquire) ||
               generation_.load(std::memory_order_acquire) != seen;
      };
      if (!spin_until(news)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, news);
      }
      if (stop_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      run_chunk(id);
      // Under the mutex, so that run() cannot miss the notification between its check and wait.
      std::lock_guard<std::mutex> lock(mutex_);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.notify_one();
    }
  }

  void resize(int workers) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    stop_.store(false, std::memory_order_release);
    generation_.store(0, std::memory_order_release);
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this, i] { worker(i + 1); });
  }

  std::mutex run_mutex_, mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t n_ = 0;
  int chunks_ = 1;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int num_threads() {
  return g_threads.load();
}
void set_num_threads(int n) {
  g_threads.store(n > 0 ? n : 1);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (n <= 0) return;
  int threads = num_threads();
  if (n <= grain || threads <= 1 || t_inside_job) {
    body(0, n);
    return;
  }
  if (n < threads) threads = static_cast<int>(n);
  pool().run(threads, n, body);
}

}  // namespace recur
