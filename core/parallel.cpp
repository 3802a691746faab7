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

// At least 1; at most 4096 (a job's chunk count is kept in 16 bits beside its generation).
int clamp_threads(int n) {
  return n < 1 ? 1 : n > 4096 ? 4096 : n;
}

int default_threads() {
  if (const char* env = std::getenv("RECUR_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return clamp_threads(n);
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return clamp_threads(CPU_COUNT(&set));
  unsigned hw = std::thread::hardware_concurrency();
  return clamp_threads(static_cast<int>(hw));
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

  // Runs `body` over [0, n) in `chunks` chunks on a pool of `workers` threads plus the caller;
  // workers with an id of at least `chunks` sit the job out. The pool is resized only when the
  // thread count changes, never for a job of fewer chunks than threads: that joined and spawned
  // threads twice per recurrent step wherever a small job (6 panels of a 256-wide W, 12 rows of
  // cell math) fell between large ones on a many-core machine.
  void run(int workers, int chunks, int64_t n, const std::function<void(int64_t, int64_t)>& body) {
    std::lock_guard<std::mutex> serial(run_mutex_);  // one job at a time
    if (static_cast<int>(workers_.size()) != workers) resize(workers);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      n_ = n;
      chunks_ = chunks;
      pending_.store(chunks - 1, std::memory_order_relaxed);
      error_ = nullptr;
      const uint64_t generation = (job_.load(std::memory_order_relaxed) >> kChunkBits) + 1;
      job_.store(generation << kChunkBits | static_cast<uint64_t>(chunks),
                 std::memory_order_release);  // publishes the job to spinners
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

  // Threads the pool has started since the process began (tests: a job must not resize it).
  int64_t threads_started() const { return started_.load(std::memory_order_relaxed); }

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
    uint64_t seen = 0, job = 0;
    for (;;) {
      auto news = [&] {
        job = job_.load(std::memory_order_acquire);
        return stop_.load(std::memory_order_acquire) || job != seen;
      };
      if (!spin_until(news)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, news);
      }
      if (stop_.load(std::memory_order_acquire)) return;
      seen = job;  // generation and chunk count read at once: a job this worker sits out may be
                   // followed by the next before this line, and that one is then not missed
      if (id >= static_cast<int>(job & kChunkMask)) continue;
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
    job_.store(0, std::memory_order_release);
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this, i] { worker(i + 1); });
    started_.fetch_add(workers, std::memory_order_relaxed);
  }

  std::mutex run_mutex_, mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t n_ = 0;
  int chunks_ = 1;
  std::atomic<int> pending_{0};
  // The job: its generation in the high bits, its chunk count in the low kChunkBits.
  static constexpr int kChunkBits = 16;
  static constexpr uint64_t kChunkMask = (uint64_t{1} << kChunkBits) - 1;
  std::atomic<uint64_t> job_{0};
  std::atomic<int64_t> started_{0};
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
  g_threads.store(clamp_threads(n));
}
int64_t pool_threads_started() {
  return pool().threads_started();
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (n <= 0) return;
  int threads = num_threads();
  if (n <= grain || threads <= 1 || t_inside_job) {
    body(0, n);
    return;
  }
  pool().run(threads - 1, n < threads ? static_cast<int>(n) : threads, n, body);
}

}  // namespace recur
