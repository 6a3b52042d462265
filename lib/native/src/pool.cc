// The thread pool (pool.h): its job hand-out, its workers, and how many threads it starts.
#include "pool.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#if defined(__linux__)
#include <sched.h>
#endif

namespace gpt {
namespace {

// A hint to the core that this thread is spinning (it yields the core's resources to its sibling thread).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// The CPU quota of this process's cgroup (containers, Binder), in whole cores; 0 when there is none.
int CgroupCores() {
  long quota = -1, period = 0;
  if (FILE* f = std::fopen("/sys/fs/cgroup/cpu.max", "r")) {  // cgroup v2: "max 100000" or "200000 100000"
    char q[32] = {0};
    if (std::fscanf(f, "%31s %ld", q, &period) == 2 && std::strcmp(q, "max") != 0) quota = std::atol(q);
    std::fclose(f);
  } else if (FILE* f = std::fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r")) {  // cgroup v1
    if (std::fscanf(f, "%ld", &quota) != 1) quota = -1;
    std::fclose(f);
    if (FILE* g = std::fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r")) {
      if (std::fscanf(g, "%ld", &period) != 1) period = 0;
      std::fclose(g);
    }
  }
  if (quota <= 0 || period <= 0) return 0;
  return int(std::max(1L, quota / period));
}

int DefaultThreads() {
  if (const char* env = std::getenv("GPT_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return std::min(n, 64);
  }
  int cores = int(std::thread::hardware_concurrency());
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = CPU_COUNT(&set);
#endif
  if (const int quota = CgroupCores(); quota > 0) cores = std::min(cores, quota);
  return std::max(1, std::min(cores, 64));
}

}  // namespace

Pool::Pool(int threads) : threads_(threads) {
  for (int i = 1; i < threads_; i++) std::thread([this] { Work(); }).detach();  // lives as long as the process
}

void Pool::Run(int tasks, const std::function<void(int)>& task) {
  if (threads_ == 1 || tasks == 1) {
    for (int t = 0; t < tasks; t++) task(t);
    return;
  }
  // Two generations a job. The first closes the claim word (its next task is past any job's last), so that a worker
  // still holding the previous job's word fails its exchange, and one reading the new task while this one is set
  // claims nothing; the second publishes the job: generation in the high half, next task (0) in the low half.
  error_ = nullptr;
  const uint64_t generation = (claim_.load() >> 32) + 1;
  claim_.store((generation << 32) | kClosed);
  task_.store(&task);
  tasks_.store(tasks);
  completed_.store(0);
  claim_.store((generation + 1) << 32);
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  Drain();
  for (int spin = 0; completed_.load() < tasks; spin++) {
    if (spin < 4096) {
      CpuRelax();
    } else {
      std::this_thread::yield();  // a worker holds a task but lost its core: let it finish
    }
  }
  if (error_) std::rethrow_exception(error_);
}

// Claims and runs tasks of the current job until none are left.
void Pool::Drain() {
  for (;;) {
    uint64_t word = claim_.load();
    const std::function<void(int)>* task = task_.load();
    const int tasks = tasks_.load();
    const int next = int(word & 0xffffffffu);
    // A failed exchange means another thread claimed, or a new job began: read again. A successful one proves
    // `task` and `tasks` belong to this job (a new job is published only after this one's tasks are all claimed).
    if (next >= tasks) return;
    if (!claim_.compare_exchange_weak(word, word + 1)) continue;
    try {
      (*task)(next);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    completed_.fetch_add(1);
  }
}

void Pool::Work() {
  uint64_t seen = claim_.load() >> 32;
  for (;;) {
    // Spin up to ~2 ms: in a training step the next matmul comes sooner than a sleeping thread wakes.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
    for (int spin = 1; (claim_.load() >> 32) == seen; spin++) {
      CpuRelax();
      if (spin % 256 == 0 && std::chrono::steady_clock::now() > until) break;
    }
    if ((claim_.load() >> 32) == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return (claim_.load() >> 32) != seen; });
      sleepers_.fetch_sub(1);
    }
    seen = claim_.load() >> 32;
    Drain();
  }
}

Pool& ThePool() {
  static Pool* pool = new Pool(DefaultThreads());  // never destroyed: its workers are detached
  return *pool;
}

}  // namespace gpt
