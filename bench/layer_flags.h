// bench/layer_flags.h: flags shared by //bench:layers and //bench:patterns: the layer shape,
// floating dtypes, name lists, and the shape part of benchmark names.
//
//   LayerConfig shape = ParseLayerShape(p);   // --batch --seq --hidden --heads --ffn --causal
//   std::vector<DataType> dts = ParseFloatTypes(p);   // --dtype f32,f64
#ifndef TPBENCH_BENCH_LAYER_FLAGS_H_
#define TPBENCH_BENCH_LAYER_FLAGS_H_

#include <string>
#include <vector>

#include "bench/flags.h"
#include "comm/communicator.h"
#include "layers/reference.h"

namespace tpbench {

// "a,b" or "all" (= valid) -> names; UsageError naming flag and the valid names otherwise.
std::vector<std::string> ParseNames(const std::string& flag, const std::string& value,
                                    const std::vector<std::string>& valid);
// --batch (2) --seq (64) --hidden (256) --heads (8) --ffn (4) --causal (boolean flag);
// validated (LayerConfig::Validate).
LayerConfig ParseLayerShape(FlagParser& p);
// --dtype f32, f64, f16, bf16 or a list (f32). (//bench:layers takes f16/bf16 only with a
// CUDA compute backend.)
std::vector<DataType> ParseFloatTypes(FlagParser& p);
// "b:2,s:64,h:256,nh:8" (+ ",ffn:F" unless 4, + ",causal").
std::string ShapeName(const LayerConfig& s);

}  // namespace tpbench

#endif  // TPBENCH_BENCH_LAYER_FLAGS_H_
