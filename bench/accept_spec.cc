// bench/accept_spec.cc: see accept_spec.h.
#include "bench/accept_spec.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "comm/error.h"
#include "comm/types.h"

namespace tpbench {
namespace {

struct Unit {
  const char* name;
  double scale;
};

// Units per dimension; the first is the one reports use.
const std::map<std::string, std::vector<Unit>>& Units() {
  static const std::map<std::string, std::vector<Unit>> units = {
      {"size", {{"B", 1}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}}},
      {"time", {{"us", 1e-6}, {"ns", 1e-9}, {"ms", 1e-3}, {"s", 1}}},
      {"rate", {{"GB/s", 1e9}, {"MB/s", 1e6}}},
      {"flops", {{"GFLOP/s", 1e9}, {"TFLOP/s", 1e12}}},
      {"fraction", {{"%", 0.01}}},
  };
  return units;
}

// The dimension of each key of each statement.
const std::map<std::string, std::map<std::string, std::string>>& Keys() {
  static const std::map<std::string, std::map<std::string, std::string>> keys = {
      {"link latency", {{"size", "size"}, {"max", "time"}, {"tol", "fraction"}}},
      {"link bandwidth", {{"size", "size"}, {"min", "rate"}, {"tol", "fraction"}}},
      {"collective",
       {{"size", "size"}, {"min_busbw", "rate"}, {"tol", "fraction"}, {"groups", "list"}}},
      {"gemm", {{"n", "count"}, {"min", "flops"}, {"tol", "fraction"}}},
      {"copy", {{"size", "size"}, {"min", "rate"}, {"tol", "fraction"}}},
      {"straggler", {{"size", "size"}, {"max_wait", "time"}}},
  };
  return keys;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

// Sets the key of a check statement.
void SetKey(SpecCheck* c, const std::string& key, const std::string& value, const std::string& dim,
            const std::string& where) {
  if (dim == "list") {
    c->groups.clear();
    std::stringstream in(value);
    for (std::string g; std::getline(in, g, ',');) {
      if (g != "world" && g != "rows" && g != "cols") {
        throw UsageError(where + ": groups: unknown group '" + g + "'; valid: world, rows, cols");
      }
      c->groups.push_back(g);
    }
    return;
  }
  if (dim == "count") {
    char* end = nullptr;
    const long n = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end || n < 1 || n > 65536) {
      throw UsageError(where + ": " + key + ": '" + value + "' is not a size 1..65536");
    }
    c->size = static_cast<double>(n);
    return;
  }
  std::string unit;
  double scale = 1;
  const double v = ParseQuantity(value, dim, where + ": " + key, &unit, &scale);
  if (key == "size") {
    c->size = v;
  } else if (key == "tol") {
    if (v > 10) throw UsageError(where + ": tol: '" + value + "' must be at most 1000%");
    c->tol = v;
  } else {
    c->limit = v;
    c->unit = unit;
    c->unit_scale = scale;
    c->is_max = key.rfind("max", 0) == 0;
  }
}

SpecCheck ParseCheck(const std::vector<std::string>& w, const std::string& where) {
  SpecCheck c;
  c.kind = w[0];
  size_t first = 1;
  std::string statement = c.kind;
  if (c.kind == "link" || c.kind == "collective") {
    if (w.size() < 2) throw UsageError(where + ": '" + c.kind + "' needs what it checks");
    c.op = w[1];
    first = 2;
    if (c.kind == "link") statement += " " + c.op;
    OpKind k;
    if (c.kind == "collective" && (!ParseOpKind(c.op, &k) || k == OpKind::kSendRecv)) {
      throw UsageError(where + ": unknown collective '" + c.op + "'");
    }
  }
  auto it = Keys().find(statement);
  if (it == Keys().end()) throw UsageError(where + ": unknown check '" + statement + "'");
  for (size_t i = first; i < w.size(); ++i) {
    const size_t eq = w[i].find('=');
    const std::string key = w[i].substr(0, eq);
    auto dim = it->second.find(key);
    if (eq == std::string::npos || dim == it->second.end()) {
      std::vector<std::string> valid;
      for (const auto& [k, d] : it->second) valid.push_back(k);
      throw UsageError(where + ": unknown key '" + key + "' for " + statement +
                       "; valid: " + Join(valid));
    }
    SetKey(&c, key, w[i].substr(eq + 1), dim->second, where);
  }
  if (c.size <= 0) throw UsageError(where + ": " + statement + " needs a size");
  if (c.limit <= 0) throw UsageError(where + ": " + statement + " needs its figure (min or max)");
  if (!c.is_max && c.tol >= 1) {
    throw UsageError(where + ": tol: a minimum's tolerance must be below 100% (the bound is " +
                     "min x (1 - tol))");
  }
  c.origin = where;
  return c;
}

void ParseMesh(const std::string& v, AcceptSpec* s, const std::string& where) {
  const size_t x = v.find('x');
  char* e1 = nullptr;
  char* e2 = nullptr;
  // Named strings: e1 and e2 point into them after strtol (not into dead temporaries).
  const std::string rs = x == std::string::npos ? "" : v.substr(0, x);
  const std::string cs = x == std::string::npos ? "" : v.substr(x + 1);
  const long r = x == std::string::npos ? 0 : std::strtol(rs.c_str(), &e1, 10);
  const long c = x == std::string::npos ? 0 : std::strtol(cs.c_str(), &e2, 10);
  if (r < 1 || c < 1 || *e1 || *e2) throw UsageError(where + ": mesh '" + v + "' is not RxC");
  s->mesh_rows = static_cast<int>(r);
  s->mesh_cols = static_cast<int>(c);
}

}  // namespace

double ParseQuantity(const std::string& v, const std::string& dimension, const std::string& where,
                     std::string* unit, double* unit_scale) {
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  const std::string suffix = end ? std::string(end) : "";
  const auto& units = Units().at(dimension);
  std::vector<std::string> names;
  for (const Unit& u : units) {
    names.push_back(u.name);
    if (suffix != u.name) continue;
    const bool zero_ok = dimension == "fraction";  // tol=0% is a valid tolerance
    if (errno || end == v.c_str() || !std::isfinite(x) || x < 0 || (x == 0 && !zero_ok)) {
      throw UsageError(where + ": '" + v + "' must be a positive number");
    }
    if (unit) *unit = u.name;
    if (unit_scale) *unit_scale = u.scale;
    return x * u.scale;
  }
  throw UsageError(where + ": '" + v + "' needs a unit: " + Join(names));
}

AcceptSpec ParseAcceptSpec(const std::string& text, const std::string& path) {
  AcceptSpec s;
  s.path = path;
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    const std::string where = path + ":" + std::to_string(n);
    line = line.substr(0, line.find('#'));
    const std::vector<std::string> w = Words(line);
    if (w.empty()) continue;
    if (w[0] == "profile") {
      if (w.size() != 2) throw UsageError(where + ": profile takes one value");
      s.profile = w[1];
    } else if (w[0] == "source") {
      if (w.size() < 2) throw UsageError(where + ": source needs a text");
      s.source = line.substr(line.find(w[1]));
      while (std::isspace(static_cast<unsigned char>(s.source.back()))) s.source.pop_back();
    } else if (w[0] == "mesh") {
      if (w.size() != 2) throw UsageError(where + ": mesh takes one value, RxC");
      ParseMesh(w[1], &s, where);
    } else {
      s.checks.push_back(ParseCheck(w, where));
    }
  }
  if (s.profile.empty()) throw UsageError(path + ": no 'profile' line");
  if (s.checks.empty()) throw UsageError(path + ": no checks");
  return s;
}

AcceptSpec ReadAcceptSpec(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw UsageError("--spec: cannot read '" + path + "'");
  std::stringstream buf;
  buf << f.rdbuf();
  return ParseAcceptSpec(buf.str(), path);
}

}  // namespace tpbench
