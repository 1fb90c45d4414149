#include "comm/error.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace tpbench {

int RunMain(const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "tpbench: error: %s\n", e.what());
    std::fflush(stderr);
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tpbench: error: unexpected exception: %s\n", e.what());
    std::fflush(stderr);
    return static_cast<int>(ExitCode::kBackend);
  }
}

void CheckFailed(const char* file, int line, const char* cond, const std::string& msg) {
  std::fprintf(stderr, "tpbench: internal check failed at %s:%d: %s %s\n", file, line, cond,
               msg.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace tpbench
