// bench/accept_verdict.cc: see accept_verdict.h.
#include "bench/accept_verdict.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "bench/output.h"
#include "comm/bootstrap.h"

namespace tpbench {
namespace {

std::string Escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

std::string Xml(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  char b[64];
  std::snprintf(b, sizeof(b), "%.6g", v);
  return b;
}

std::string Str(const std::string& s) { return "\"" + Escape(s) + "\""; }

std::string Matrix(const std::vector<std::vector<double>>& m) {
  std::string s = "[";
  for (size_t r = 0; r < m.size(); ++r) {
    s += r ? ",\n    [" : "\n    [";
    for (size_t c = 0; c < m[r].size(); ++c) s += (c ? ", " : "") + Num(m[r][c]);
    s += "]";
  }
  return s + "]";
}

std::string ChecksJson(const Verdict& v) {
  std::string s;
  for (const CheckOutcome& c : v.checks) {
    s += std::string(s.empty() ? "\n" : ",\n") + "    {\"name\": " + Str(c.name) +
         ", \"status\": " + Str(c.passed ? "pass" : "fail") + ", \"measured\": " + Num(c.measured) +
         ", \"expected\": " + Num(c.expected) + ", \"unit\": " + Str(c.unit) +
         ", \"bound\": " + Str(c.is_max ? "max" : "min") + ", \"spec_line\": " + Str(c.origin) +
         ", \"detail\": " + Str(c.detail) + "}";
  }
  return "[" + s + "]";
}

std::string RanksJson(const Verdict& v) {
  std::string s;
  for (const RankStats& r : v.ranks) {
    s += std::string(s.empty() ? "\n" : ",\n") + "    {\"rank\": " + std::to_string(r.rank) +
         ", \"host\": " + Str(r.host) + ", \"gemm_flops\": " + Num(r.gemm_flops) +
         ", \"copy_Bps\": " + Num(r.copy_Bps) + ", \"p50_s\": " + Num(r.p50_s) +
         ", \"p95_s\": " + Num(r.p95_s) + ", \"max_s\": " + Num(r.max_s) +
         ", \"late_fraction\": " + Num(r.late_fraction) +
         ", \"median_wait_s\": " + Num(r.median_wait_s) + "}";
  }
  return "[" + s + "]";
}

}  // namespace

bool Verdict::passed() const {
  if (wrong != 0) return false;
  for (const CheckOutcome& c : checks) {
    if (!c.passed) return false;
  }
  return true;
}

void Verdict::AddSuspect(int rank, const std::string& why) {
  for (Suspect& s : suspects) {
    if (s.rank != rank) continue;
    if (s.why.find(why) == std::string::npos) s.why += "; " + why;
    return;
  }
  suspects.push_back({rank, Bootstrap::hostname_of(rank), why});
}

std::string Verdict::SuspectList() const {
  std::string s;
  for (const Suspect& x : suspects) {
    s += (s.empty() ? "" : ", ") + std::string("rank ") + std::to_string(x.rank) + " (" + x.host +
         ")";
  }
  return s;
}

std::string VerdictJson(const Verdict& v) {
  std::string suspects, links;
  for (const Suspect& x : v.suspects) {
    suspects += std::string(suspects.empty() ? "" : ", ") + "{\"rank\": " + std::to_string(x.rank) +
                ", \"host\": " + Str(x.host) + ", \"why\": " + Str(x.why) + "}";
  }
  for (const auto& [a, b] : v.bad_links) {
    links += std::string(links.empty() ? "" : ", ") + "[" + std::to_string(a) + ", " +
             std::to_string(b) + "]";
  }
  return "{\n  \"verdict\": " + Str(v.passed() ? "pass" : "fail") +
         ",\n  \"spec\": " + Str(v.spec) + ",\n  \"spec_profile\": " + Str(v.profile) +
         ",\n  \"machine_profile\": " + Str(v.machine_profile) +
         ",\n  \"spec_source\": " + Str(v.source) + ",\n  \"backend\": " + Str(v.backend) +
         ",\n  \"fault_mode\": " + Str(v.fault_mode) +
         ",\n  \"world_size\": " + std::to_string(v.world_size) +
         ",\n  \"wrong\": " + std::to_string(v.wrong) + ",\n  \"checks\": " + ChecksJson(v) +
         ",\n  \"suspects\": [" + suspects + "],\n  \"bad_links\": [" + links +
         "],\n  \"latency_s\": " + Matrix(v.latency_s) +
         ",\n  \"bandwidth_Bps\": " + Matrix(v.bandwidth_Bps) + ",\n  \"ranks\": " + RanksJson(v) +
         "\n}\n";
}

std::string VerdictMarkdown(const Verdict& v) {
  std::string s = "# tpbench acceptance: " + std::string(v.passed() ? "PASS" : "FAIL") + "\n\n" +
                  "Spec `" + v.spec + "` (profile " + v.profile + "; " + v.source + ") on " +
                  std::to_string(v.world_size) + " ranks, backend " + v.backend + ", machine " +
                  v.machine_profile + ".\n\n";
  if (!v.suspects.empty() || !v.bad_links.empty()) {
    s += "**Pull:**\n\n";
    for (const Suspect& x : v.suspects) {
      s += "- rank " + std::to_string(x.rank) + " on host `" + x.host + "`: " + x.why + "\n";
    }
    for (const auto& [a, b] : v.bad_links) {
      s += "- the link between rank " + std::to_string(a) + " (`" + Bootstrap::hostname_of(a) +
           "`) and rank " + std::to_string(b) + " (`" + Bootstrap::hostname_of(b) +
           "`): below spec in the pairwise test\n";
    }
    s += "\n";
  }
  s += "| check | status | measured | required | spec line | detail |\n|---|---|---|---|---|---|\n";
  for (const CheckOutcome& c : v.checks) {
    s += "| " + c.name + " | " + (c.passed ? "PASS" : "**FAIL**") + " | " + Num(c.measured) + " " +
         c.unit + " | " + (c.is_max ? "<= " : ">= ") + Num(c.expected) + " " + c.unit + " | " +
         c.origin + " | " + c.detail + " |\n";
  }
  s += "| correctness (wrong elements) | " + std::string(v.wrong == 0 ? "PASS" : "**FAIL**") +
       " | " + std::to_string(v.wrong) + " | 0 | | |\n";
  return s;
}

std::string VerdictJUnit(const Verdict& v) {
  int failures = v.wrong != 0;
  std::string cases;
  for (const CheckOutcome& c : v.checks) {
    cases += "  <testcase classname=\"tpbench.accept\" name=\"" + Xml(c.name) + "\">";
    if (!c.passed) {
      ++failures;
      cases += "<failure message=\"" +
               Xml("measured " + Num(c.measured) + " " + c.unit + ", required " +
                   (c.is_max ? "<= " : ">= ") + Num(c.expected) + "; " + c.detail) +
               "\"/>";
    }
    cases += "</testcase>\n";
  }
  cases +=
      "  <testcase classname=\"tpbench.accept\" name=\"correctness\">" +
      std::string(v.wrong ? "<failure message=\"" + std::to_string(v.wrong) + " wrong elements\"/>"
                          : "") +
      "</testcase>\n";
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"tpbench.accept\" tests=\"" +
         std::to_string(v.checks.size() + 1) + "\" failures=\"" + std::to_string(failures) +
         "\">\n" + cases + "</testsuite>\n";
}

void WriteVerdict(const Verdict& v, const std::string& dir) {
  WriteFileAtomically(dir + "/verdict.json", VerdictJson(v));
  WriteFileAtomically(dir + "/summary.md", VerdictMarkdown(v));
  WriteFileAtomically(dir + "/junit.xml", VerdictJUnit(v));
}

}  // namespace tpbench
