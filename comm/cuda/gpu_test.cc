// comm/cuda/gpu_test.cc: the skip report of GPU tests. See gpu_test.h.
#include "comm/cuda/gpu_test.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "comm/cuda/cuda_device.h"

namespace tpbench {
namespace {

std::string XmlEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

}  // namespace

void WriteSkippedJunit(const std::string& test_name, const std::string& reason) {
  const char* path = std::getenv("XML_OUTPUT_FILE");
  if (path == nullptr || *path == '\0') return;
  FILE* f = std::fopen(path, "w");
  if (f == nullptr) return;
  const std::string n = XmlEscape(test_name), r = XmlEscape("no GPU (" + reason + ")");
  std::fprintf(f,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\">\n"
               "  <testsuite name=\"%s\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\">\n"
               "    <testcase name=\"%s\" classname=\"%s\">\n"
               "      <skipped message=\"%s\"/>\n"
               "    </testcase>\n"
               "  </testsuite>\n"
               "</testsuites>\n",
               n.c_str(), n.c_str(), n.c_str(), r.c_str());
  std::fclose(f);
}

bool SkipWithoutGpu(const std::string& test_name) {
  std::string why;
  if (GpuAvailable(&why)) return false;
  std::printf("SKIPPED: no GPU (%s)\n", why.c_str());
  std::fflush(stdout);
  WriteSkippedJunit(test_name, why);
  return true;
}

}  // namespace tpbench
