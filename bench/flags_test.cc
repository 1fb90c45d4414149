#include "bench/flags.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "bench/output.h"
#include "comm/error.h"

namespace tpbench {
namespace {

std::vector<char*> Argv(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(&s[0]);
  return out;
}

TEST(ParseSize, SuffixesArePowersOf1024) {
  EXPECT_EQ(ParseSize("8", "-b"), 8u);
  EXPECT_EQ(ParseSize("64K", "-b"), 64u << 10);
  EXPECT_EQ(ParseSize("16M", "-e"), 16u << 20);
  EXPECT_EQ(ParseSize("1G", "-e"), 1u << 30);
  EXPECT_EQ(ParseSize("2MB", "-e"), 2u << 20);
  EXPECT_EQ(ParseSize("0", "-b"), 0u);
}

TEST(ParseSize, BadSizeNamesTheFlag) {
  try {
    ParseSize("12Q", "-e");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("-e"), std::string::npos);
  }
  EXPECT_THROW(ParseSize("", "-b"), Error);
  EXPECT_THROW(ParseSize("-5", "-b"), Error);
}

TEST(FlagParser, ValuesBooleansAndPassThrough) {
  std::vector<std::string> v = {
      "prog",   "-b",        "8", "-e=64M", "--list", "--inplace", "--benchmark_repetitions=3",
      "--coll", "all_reduce"};
  auto argv = Argv(v);
  FlagParser p(static_cast<int>(argv.size()), argv.data(), {"--list"});
  EXPECT_EQ(p.Value("-b", "1"), "8");
  EXPECT_EQ(p.Value("-e", "1"), "64M");
  EXPECT_TRUE(p.Has("--list"));
  EXPECT_EQ(p.ValueOr("--inplace", "both", "1"), "1");
  EXPECT_EQ(p.Value("--coll", "x"), "all_reduce");
  EXPECT_EQ(p.Value("-n", "0"), "0");
  auto rest = p.Finish({"--benchmark_"});
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[1], "--benchmark_repetitions=3");
}

TEST(FlagParser, UnknownFlagIsAUsageErrorNamingIt) {
  std::vector<std::string> v = {"prog", "--colls", "all_reduce"};
  auto argv = Argv(v);
  FlagParser p(static_cast<int>(argv.size()), argv.data());
  p.Value("--coll", "x");
  try {
    p.Finish({"--benchmark_"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("--colls"), std::string::npos);
  }
}

TEST(ParseInt, RangeChecked) {
  EXPECT_EQ(ParseInt("5", "-n", 0, 10), 5);
  EXPECT_THROW(ParseInt("11", "-n", 0, 10), Error);
  EXPECT_THROW(ParseInt("x", "-n", 0, 10), Error);
}

TEST(SplitList, Commas) {
  EXPECT_EQ(SplitList("a,b,,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitList("").empty());
}

TEST(Output, AtomicWriteReplacesWholeFile) {
  std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  std::string path = dir + "/sub/dir/out.json";
  WriteFileAtomically(path, "{\"a\": 1}");
  WriteFileAtomically(path, "{}");
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  EXPECT_EQ(s.str(), "{}");
}

TEST(Output, ResultsOutputRedirectsRankZeroAndDropsOthers) {
  std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  std::vector<std::string> a0 = {"prog", "--benchmark_out=" + dir + "/r/x.json"};
  std::vector<std::string> a1 = a0;
  {
    ResultsOutput w(&a0, true);
    ASSERT_EQ(a0.size(), 2u);
    EXPECT_NE(a0[1].find(".tmp."), std::string::npos);
    ResultsOutput q(&a1, false);
    EXPECT_EQ(a1.size(), 1u);
    // Simulate Google Benchmark writing the temporary file, then commit.
    std::ofstream(a0[1].substr(std::string("--benchmark_out=").size())) << "{}";
    w.Commit();
  }
  std::ifstream f(dir + "/r/x.json");
  EXPECT_TRUE(f.good());
}

}  // namespace
}  // namespace tpbench
