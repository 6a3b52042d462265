// The thread pool every kernel runs on, and how the kernels cut their work into its tasks. The cuts depend on the
// shape alone, never on the number of threads, so a kernel gives the same bits on any thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>

namespace gpt {

// The calling (JavaScript) thread and n-1 workers share the tasks of one job. Tasks are claimed one at a time, and the
// caller waits only for tasks a worker has claimed: a worker the OS has not scheduled (the machine is busy) takes
// nothing, and the caller does the work alone. Idle workers spin for up to 2 ms (a training step calls the matmul
// every few hundred microseconds), then sleep.
class Pool {
 public:
  explicit Pool(int threads);
  int threads() const { return threads_; }

  // Runs task(0 .. tasks-1) across the pool; returns when all are done. An exception a task throws (std::bad_alloc
  // from a scratch buffer) is rethrown here, on the calling thread, once every task has finished: a worker never
  // lets one escape (that would abort the process).
  void Run(int tasks, const std::function<void(int)>& task);

 private:
  void Drain();
  void Work();

  static constexpr uint64_t kClosed = 0x7fffffffu;
  const int threads_;
  std::atomic<const std::function<void(int)>*> task_{nullptr};
  std::atomic<int> tasks_{0};
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> completed_{0}, sleepers_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::mutex error_mutex_;
  std::exception_ptr error_;  // the first exception of the current job
};

// The process's pool: GPT_THREADS threads, or as many as the cores this process may use (affinity, cgroup quota).
Pool& ThePool();

// Row kernels: tasks of about kWork elements, at most 256.
constexpr long kWork = 1 << 15;

inline int RowTasks(long rows, long cols, long work = kWork) {
  const long perTask = std::max(1L, work / std::max(1L, cols));
  return int(std::min<long>(256, (rows + perTask - 1) / perTask));
}

// For kernels whose rows are independent (no sum across rows, or one added in row order afterwards): the task count
// does not change their results, so they split finer, and model A's (512, 64) rows take both cores, not one.
inline int IndependentRowTasks(long rows, long cols) { return RowTasks(rows, cols, kWork / 4); }

// Runs body(task, begin, end) over [0, rows) in `tasks` tasks of consecutive rows.
template <typename Body>
void ForRows(long rows, int tasks, const Body& body) {
  const long per = (rows + tasks - 1) / tasks;
  auto task = [&](int t) { body(t, std::min(rows, t * per), std::min(rows, (t + 1) * per)); };
  if (tasks <= 1) {
    task(0);
  } else {
    ThePool().Run(tasks, task);
  }
}

// Element-wise kernels: tasks of kElementChunk elements (model A's (512, 64) activations in 4).
constexpr long kElementChunk = 1 << 13;

// Runs body(begin, end) over [0, n) in chunks of kElementChunk.
template <typename Body>
void ForChunks(long n, const Body& body) {
  const int tasks = int((n + kElementChunk - 1) / kElementChunk);
  auto task = [&](int t) { body(t * kElementChunk, std::min(n, (t + 1) * kElementChunk)); };
  if (tasks <= 1) {
    body(0, n);
  } else {
    ThePool().Run(tasks, task);
  }
}

}  // namespace gpt
