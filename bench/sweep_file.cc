#include "bench/sweep_file.h"

#include <fstream>
#include <sstream>

#include "bench/flags.h"
#include "comm/error.h"

namespace tpbench {

std::vector<SweepLine> ReadSweepFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw UsageError("cannot read sweep file '" + path + "'");
  std::vector<SweepLine> out;
  std::string line, pending;
  int lineno = 0, start = 0;
  while (std::getline(f, line)) {
    ++lineno;
    size_t hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    if (pending.empty()) start = lineno;
    bool cont = false;
    size_t end = line.find_last_not_of(" \t\r");
    if (end != std::string::npos && line[end] == '\\') {
      line = line.substr(0, end);
      cont = true;
    }
    pending += " " + line;
    if (cont) continue;
    std::istringstream words(pending);
    pending.clear();
    SweepLine s;
    s.origin = path + ":" + std::to_string(start);
    if (!(words >> s.binary)) continue;  // blank or comment
    if (s.binary != "collectives" && s.binary != "layers" && s.binary != "patterns") {
      throw UsageError(s.origin + ": unknown benchmark '" + s.binary +
                       "'; valid: collectives, layers, patterns");
    }
    for (std::string w; words >> w;) {
      if (w.rfind("ranks=", 0) == 0) {
        for (const std::string& r : SplitList(w.substr(6))) {
          s.ranks.push_back(static_cast<int>(ParseInt(r, s.origin + ": ranks=", 1, 4096)));
        }
      } else if (w == "--np" || w.rfind("--np=", 0) == 0 || w.rfind("--sweep", 0) == 0 ||
                 w.rfind("--benchmark_", 0) == 0) {
        throw UsageError(s.origin + ": '" + w +
                         "' belongs on the sweep runner's command line, not in an entry");
      } else {
        s.args.push_back(w);
      }
    }
    if (s.ranks.empty()) throw UsageError(s.origin + ": the entry has no ranks=N[,M...]");
    out.push_back(s);
  }
  return out;
}

}  // namespace tpbench
