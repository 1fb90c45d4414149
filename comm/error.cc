#include "comm/error.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

namespace tpbench {
namespace {
int g_rank = -1;

std::string RankPrefix() { return g_rank >= 0 ? "rank " + std::to_string(g_rank) + ": " : ""; }
}  // namespace

void SetProcessRank(int rank) { g_rank = rank; }
int ProcessRank() { return g_rank; }

namespace {
void (*g_exit_observer)(int) = nullptr;

int RunBody(const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "tpbench: error: %s\n", e.what());
    std::fflush(stderr);
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tpbench: error: %sout of memory\n", RankPrefix().c_str());
    std::fflush(stderr);
    return static_cast<int>(ExitCode::kBackend);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tpbench: error: unexpected exception: %s\n", e.what());
    std::fflush(stderr);
    return static_cast<int>(ExitCode::kBackend);
  }
}
}  // namespace

void SetExitObserver(void (*observer)(int code)) { g_exit_observer = observer; }

int RunMain(const std::function<int()>& body) {
  const int rc = RunBody(body);
  if (g_exit_observer) g_exit_observer(rc);
  return rc;
}

void CheckFailed(const char* file, int line, const char* cond, const std::string& msg) {
  std::fprintf(stderr, "tpbench: %sinternal check failed at %s:%d: %s %s\n", RankPrefix().c_str(),
               file, line, cond, msg.c_str());
  std::fflush(stderr);
  std::abort();
}

void BackendCallFailed(const char* file, int line, const std::string& what,
                       const std::string& status) {
  throw BackendError(RankPrefix() + what + " failed at " + file + ":" + std::to_string(line) +
                     ": " + status);
}

void OutOfMemory(size_t bytes, const std::string& what) {
  throw BackendError(RankPrefix() + "out of memory: cannot allocate " + std::to_string(bytes) +
                     " bytes for " + what);
}

void* AlignedAllocOrThrow(size_t alignment, size_t bytes, const std::string& what) {
  const size_t n = (std::max<size_t>(bytes, 1) + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, n);
  if (p == nullptr) OutOfMemory(n, what);
  return p;
}

}  // namespace tpbench
