#include "bench/sweep_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "comm/error.h"

namespace tpbench {
namespace {

std::string Write(const std::string& name, const std::string& text) {
  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(SweepFile, EntriesCommentsAndContinuations) {
  auto lines = ReadSweepFile(Write("a.sweep",
                                   "# a comment\n"
                                   "\n"
                                   "collectives ranks=2,4 --coll all_reduce \\\n"
                                   "   -b 8 -e 1M  # trailing comment\n"
                                   "collectives ranks=3 --coll all_gather\n"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].binary, "collectives");
  EXPECT_EQ(lines[0].ranks, (std::vector<int>{2, 4}));
  EXPECT_EQ(lines[0].args,
            (std::vector<std::string>{"--coll", "all_reduce", "-b", "8", "-e", "1M"}));
  EXPECT_NE(lines[0].origin.find("a.sweep:3"), std::string::npos);
  EXPECT_NE(lines[1].origin.find("a.sweep:5"), std::string::npos);
}

TEST(SweepFile, ErrorsNameTheLine) {
  for (const char* bad :
       {"collectives --coll all_reduce\n", "nccltests ranks=2\n", "collectives ranks=2 --np 4\n",
        "collectives ranks=x\n", "collectives ranks=2 --benchmark_out=x\n"}) {
    try {
      ReadSweepFile(Write("b.sweep", bad));
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
      EXPECT_NE(std::string(e.what()).find("b.sweep:1"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(ReadSweepFile("/nonexistent.sweep"), Error);
}

}  // namespace
}  // namespace tpbench
