// comm/error.h: errors that cross API boundaries, with the exit code of the result contract.
//
//   throw UsageError("--algo: unknown algorithm 'foo' for all_reduce; valid: ring, ...");
//   ...
//   int main(int argc, char** argv) { return RunMain([&] { ...; return 0; }); }
//
// Invariant violations inside the code use TP_CHECK (prints file:line and the rank, aborts).
// Failed calls of a backend library (UCX_CHECK, MPI_CHECK) throw BackendError (exit 3) with
// the call, file:line and the rank; so does running out of memory (OutOfMemory, naming the
// size), everywhere: RunMain turns std::bad_alloc into the same exit code.
#ifndef TPBENCH_COMM_ERROR_H_
#define TPBENCH_COMM_ERROR_H_

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>

namespace tpbench {

// Exit codes of the result contract (docs/results.md).
enum class ExitCode : int {
  kOk = 0,
  kUsage = 2,    // bad flag, unknown name, impossible mesh or shape
  kBackend = 3,  // transport or library failure
  kTimeout = 4,  // a hang was detected: an op did not finish within its deadline
  kWrong = 7,    // wrong results, or a failed gate / acceptance threshold
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

inline Error UsageError(const std::string& m) { return Error(ExitCode::kUsage, m); }
inline Error BackendError(const std::string& m) { return Error(ExitCode::kBackend, m); }
inline Error TimeoutError(const std::string& m) { return Error(ExitCode::kTimeout, m); }
inline Error WrongError(const std::string& m) { return Error(ExitCode::kWrong, m); }

// Runs body; an Error is printed as "tpbench: error: <what>" on stderr and becomes its exit
// code; any other exception exits 3. Use in every main().
int RunMain(const std::function<int()>& body);
// Called by RunMain with the exit code just before it returns (Bootstrap records it in the
// rank's status file for the --np launcher's report). One observer; nullptr clears it.
void SetExitObserver(void (*observer)(int code));

[[noreturn]] void CheckFailed(const char* file, int line, const char* cond, const std::string& msg);

// The rank of this process in the job, for messages (set by Bootstrap::Init; -1 before).
void SetProcessRank(int rank);
int ProcessRank();

// Throws BackendError "rank R: <what> failed at <file>:<line>: <status>" (the backend
// status-check macros call it).
[[noreturn]] void BackendCallFailed(const char* file, int line, const std::string& what,
                                    const std::string& status);

// Throws BackendError "rank R: out of memory: cannot allocate N bytes for <what>".
[[noreturn]] void OutOfMemory(size_t bytes, const std::string& what);
// std::aligned_alloc of `bytes` rounded up to `alignment`; OutOfMemory when it fails.
void* AlignedAllocOrThrow(size_t alignment, size_t bytes, const std::string& what);

}  // namespace tpbench

#define TP_CHECK(cond)                                                  \
  do {                                                                  \
    if (!(cond)) ::tpbench::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)
#define TP_CHECK_MSG(cond, msg)                                            \
  do {                                                                     \
    if (!(cond)) ::tpbench::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)

#endif  // TPBENCH_COMM_ERROR_H_
