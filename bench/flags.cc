#include "bench/flags.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "comm/error.h"

namespace tpbench {

FlagParser::FlagParser(int argc, char** argv, std::vector<std::string> boolean) {
  prog_ = argc > 0 ? argv[0] : "tpbench";
  for (int i = 1; i < argc; ++i) {
    Arg a;
    a.raw = argv[i];
    std::string s = argv[i];
    if (s.size() < 2 || s[0] != '-') {
      a.name = s;  // a stray positional argument: reported by Finish
      args_.push_back(a);
      continue;
    }
    size_t eq = s.find('=');
    if (eq != std::string::npos) {
      a.name = s.substr(0, eq);
      a.value = s.substr(eq + 1);
      a.has_value = true;
    } else {
      a.name = s;
      bool is_bool = std::find(boolean.begin(), boolean.end(), s) != boolean.end();
      bool passthrough = s.rfind("--benchmark_", 0) == 0;
      // The next argument is this flag's value unless it looks like a flag itself.
      bool next_is_flag = i + 1 < argc && argv[i + 1][0] == '-' && argv[i + 1][1] != 0 &&
                          !(argv[i + 1][1] >= '0' && argv[i + 1][1] <= '9');
      if (!is_bool && !passthrough && i + 1 < argc && !next_is_flag) {
        a.value = argv[++i];
        a.has_value = true;
        a.raw += std::string(" ") + argv[i];
      }
    }
    args_.push_back(a);
  }
}

bool FlagParser::Has(const std::string& name) {
  bool found = false;
  for (Arg& a : args_) {
    if (a.name == name) a.used = found = true;
  }
  return found;
}

std::string FlagParser::Value(const std::string& name, const std::string& def) {
  std::string v = def;
  for (Arg& a : args_) {
    if (a.name != name) continue;
    a.used = true;
    if (!a.has_value) throw UsageError("flag " + name + " needs a value");
    v = a.value;  // the last one wins
  }
  return v;
}

std::string FlagParser::ValueOr(const std::string& name, const std::string& def,
                                const std::string& implicit) {
  std::string v = def;
  for (Arg& a : args_) {
    if (a.name != name) continue;
    a.used = true;
    v = a.has_value ? a.value : implicit;
  }
  return v;
}

std::vector<std::string> FlagParser::Finish(const std::vector<std::string>& prefixes) {
  std::vector<std::string> rest = {prog_};
  for (const Arg& a : args_) {
    if (a.used) continue;
    bool pass = std::any_of(prefixes.begin(), prefixes.end(),
                            [&](const std::string& p) { return a.name.rfind(p, 0) == 0; });
    if (!pass) throw UsageError("unknown flag '" + a.raw + "' (see --help)");
    rest.push_back(a.has_value ? a.name + "=" + a.value : a.name);
  }
  return rest;
}

size_t ParseSize(const std::string& s, const std::string& flag) {
  if (s.empty()) throw UsageError(flag + ": empty size");
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string suffix = end ? std::string(end) : "";
  if (!suffix.empty() && (suffix.back() == 'B' || suffix.back() == 'b')) suffix.pop_back();
  double mult = 1;
  if (suffix == "K" || suffix == "k")
    mult = 1024.0;
  else if (suffix == "M" || suffix == "m")
    mult = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "g")
    mult = 1024.0 * 1024 * 1024;
  else if (!suffix.empty())
    mult = -1;
  if (errno || end == s.c_str() || mult < 0 || v < 0 || v * mult > 64.0 * (1ull << 30)) {
    throw UsageError(flag + ": '" + s + "' is not a size (e.g. 8, 64K, 16M, 1G; at most 64G)");
  }
  return static_cast<size_t>(v * mult);
}

long ParseInt(const std::string& s, const std::string& flag, long lo, long hi) {
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || errno || *end || v < lo || v > hi) {
    throw UsageError(flag + ": '" + s + "' is not an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  }
  return v;
}

double ParseDouble(const std::string& s, const std::string& flag, double lo, double hi) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || errno || *end || !(v >= lo && v <= hi)) {
    throw UsageError(flag + ": '" + s + "' is not a number in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  }
  return v;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string FormatBytes(size_t b) {
  if (b >= (1u << 30) && b % (1u << 30) == 0) return std::to_string(b >> 30) + "G";
  if (b >= (1u << 20) && b % (1u << 20) == 0) return std::to_string(b >> 20) + "M";
  if (b >= (1u << 10) && b % (1u << 10) == 0) return std::to_string(b >> 10) + "K";
  return std::to_string(b);
}

}  // namespace tpbench
