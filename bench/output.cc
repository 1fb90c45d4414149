#include "bench/output.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "comm/error.h"

namespace tpbench {

std::string ResolveUserPath(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  if (const char* wd = std::getenv("BUILD_WORKING_DIRECTORY")) return std::string(wd) + "/" + p;
  return p;
}

void MakeParentDirs(const std::string& file) {
  size_t slash = file.rfind('/');
  if (slash == std::string::npos || slash == 0) return;
  std::string dir = file.substr(0, slash);
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      std::string part = dir.substr(0, i);
      if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
        throw UsageError("cannot create folder '" + part + "': " + std::strerror(errno));
      }
    }
  }
}

void WriteFileAtomically(const std::string& path, const std::string& content) {
  MakeParentDirs(path);
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw UsageError("cannot write '" + tmp + "': " + std::strerror(errno));
    f << content;
    f.flush();
    if (!f) throw UsageError("cannot write '" + tmp + "': " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw UsageError("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  }
}

ResultsOutput::ResultsOutput(std::vector<std::string>* args, bool writer) : writer_(writer) {
  std::vector<std::string> kept;
  for (const std::string& a : *args) {
    if (a.rfind("--benchmark_out=", 0) == 0) {
      path_ = ResolveUserPath(a.substr(std::strlen("--benchmark_out=")));
      continue;
    }
    if (!writer && a.rfind("--benchmark_out_format=", 0) == 0) continue;
    kept.push_back(a);
  }
  if (!path_.empty() && writer_) {
    MakeParentDirs(path_);
    tmp_ = path_ + ".tmp." + std::to_string(getpid());
    kept.push_back("--benchmark_out=" + tmp_);
  }
  *args = kept;
}

ResultsOutput::~ResultsOutput() {
  if (writer_ && !tmp_.empty() && !committed_) std::remove(tmp_.c_str());
}

void ResultsOutput::Commit() {
  if (!writer_ || tmp_.empty()) return;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    throw UsageError("cannot rename '" + tmp_ + "' to '" + path_ + "': " + std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace tpbench
