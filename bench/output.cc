#include "bench/output.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

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

namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

// The fields of the entry named `name`: its own, or those of the registered name it extends.
const BenchFields* FieldsOf(const std::string& name,
                            const std::map<std::string, BenchFields>& by_name) {
  auto it = by_name.find(name);
  if (it != by_name.end()) return &it->second;
  for (const char* cut : {"/iterations:", "/manual_time", "/real_time"}) {
    const size_t p = name.find(cut);
    if (p != std::string::npos && (it = by_name.find(name.substr(0, p))) != by_name.end()) {
      return &it->second;
    }
  }
  const size_t u = name.rfind('_');
  if (u != std::string::npos && name.find('/', u) == std::string::npos &&
      (it = by_name.find(name.substr(0, u))) != by_name.end()) {
    return &it->second;
  }
  return nullptr;
}

}  // namespace

std::string AddFieldsToJson(const std::string& json,
                            const std::map<std::string, BenchFields>& by_name) {
  static const std::string kName = "\"name\": \"";
  std::istringstream in(json);
  std::string out, line;
  while (std::getline(in, line)) {
    out += line + "\n";
    const size_t at = line.find(kName);
    if (at == std::string::npos || line.find_first_not_of(' ') != at) continue;
    const size_t end = line.rfind('"');
    if (end <= at + kName.size()) continue;
    const BenchFields* f =
        FieldsOf(line.substr(at + kName.size(), end - at - kName.size()), by_name);
    if (f == nullptr) continue;
    std::string obj;
    for (const auto& [k, v] : *f)
      obj += (obj.empty() ? "" : ", ") + JsonString(k) + ": " + JsonString(v);
    out += line.substr(0, at) + "\"fields\": {" + obj + "},\n";
  }
  return out;
}

void ResultsOutput::Commit() {
  if (!writer_ || tmp_.empty()) return;
  if (!fields_.empty()) {
    std::ifstream f(tmp_, std::ios::binary);
    if (!f) throw UsageError("cannot read '" + tmp_ + "': " + std::strerror(errno));
    std::ostringstream text;
    text << f.rdbuf();
    f.close();
    WriteFileAtomically(path_, AddFieldsToJson(text.str(), fields_));
    std::remove(tmp_.c_str());
    committed_ = true;
    return;
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    throw UsageError("cannot rename '" + tmp_ + "' to '" + path_ + "': " + std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace tpbench
