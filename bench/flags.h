// bench/flags.h: command-line parsing shared by tpbench's benchmark binaries.
//
//   FlagParser p(argc, argv);                  // after MaybeRelaunch/Bootstrap::Init
//   size_t min_bytes = ParseSize(p.Value("-b", "8"), "-b");
//   bool list = p.Has("--list");
//   p.Finish({"--benchmark_"});                // unknown flags -> UsageError naming them
//
// Flags take their value as the next argument or after '='. Names a binary does not consume
// are errors unless they start with a pass-through prefix (Google Benchmark's own flags).
#ifndef TPBENCH_BENCH_FLAGS_H_
#define TPBENCH_BENCH_FLAGS_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace tpbench {

class FlagParser {
 public:
  // `boolean` lists flags that take no value.
  FlagParser(int argc, char** argv, std::vector<std::string> boolean = {});
  bool Has(const std::string& name);
  std::string Value(const std::string& name, const std::string& def);
  // Like Value, but a flag given without a value means `implicit` ("--inplace" = "1").
  std::string ValueOr(const std::string& name, const std::string& def, const std::string& implicit);
  // Throws UsageError for any argument not consumed and not starting with a pass-through
  // prefix; returns the pass-through arguments (with argv[0] first).
  std::vector<std::string> Finish(const std::vector<std::string>& passthrough_prefixes);

 private:
  struct Arg {
    std::string name, value;
    bool has_value = false, used = false;
    std::string raw;
  };
  std::string prog_;
  std::vector<Arg> args_;
};

// "64", "8K", "1M", "2G" (powers of 1024; a trailing B is allowed) -> bytes.
size_t ParseSize(const std::string& s, const std::string& flag);
long ParseInt(const std::string& s, const std::string& flag, long lo, long hi);
double ParseDouble(const std::string& s, const std::string& flag, double lo, double hi);
// "a,b,c" -> {"a","b","c"}.
std::vector<std::string> SplitList(const std::string& s);
// 1536 -> "1.5K"-free exact form used in names: "1536", "64K", "16M".
std::string FormatBytes(size_t bytes);

}  // namespace tpbench

#endif  // TPBENCH_BENCH_FLAGS_H_
