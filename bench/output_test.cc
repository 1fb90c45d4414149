// AddFieldsToJson: the fields of a registered name go into every entry of that name
// (repetitions and aggregates), after its "name"; other entries and the context are unchanged.
#include "bench/output.h"

#include <gtest/gtest.h>

#include <string>

namespace tpbench {
namespace {

const char kJson[] = R"({
  "context": {
    "date": "2026-12-01",
    "tpbench_schema": "2"
  },
  "benchmarks": [
    {
      "name": "all_reduce/ucx/ring/f32/sum/bytes:8/inplace:0/ranks:2/iterations:5/manual_time",
      "run_name": "all_reduce/ucx/ring/f32/sum/bytes:8/inplace:0/ranks:2/iterations:5/manual_time",
      "time_us": 1.5
    },
    {
      "name": "all_reduce/ucx/ring/f32/sum/bytes:8/inplace:0/ranks:2/iterations:5/manual_time_mean",
      "time_us": 1.5
    },
    {
      "name": "other/case/iterations:5/manual_time",
      "time_us": 2
    }
  ]
}
)";

TEST(AddFieldsToJson, EveryEntryOfTheNameGetsItsFields) {
  const std::string out = AddFieldsToJson(
      kJson, {{"all_reduce/ucx/ring/f32/sum/bytes:8/inplace:0/ranks:2",
               {{"kind", "collective"}, {"coll", "all_reduce"}, {"note", "a \"b\""}}}});
  const std::string fields =
      R"(      "fields": {"coll": "all_reduce", "kind": "collective", "note": "a \"b\""},)";
  size_t first = out.find(fields);
  ASSERT_NE(first, std::string::npos) << out;
  EXPECT_NE(out.find(fields, first + 1), std::string::npos) << "aggregate entry: " << out;
  EXPECT_EQ(out.find(fields, out.find(fields, first + 1) + 1), std::string::npos) << out;
  // Right after the name line; the unknown case and the context untouched.
  EXPECT_NE(out.find("manual_time\",\n" + fields + "\n      \"run_name\""), std::string::npos);
  EXPECT_NE(out.find("\"name\": \"other/case/iterations:5/manual_time\",\n      \"time_us\""),
            std::string::npos);
  EXPECT_NE(out.find("\"context\": {\n    \"date\""), std::string::npos);
}

TEST(AddFieldsToJson, NoFieldsNoChange) { EXPECT_EQ(AddFieldsToJson(kJson, {}), kJson); }

}  // namespace
}  // namespace tpbench
