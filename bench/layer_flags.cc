// bench/layer_flags.cc: see layer_flags.h.
#include "bench/layer_flags.h"

#include <algorithm>

#include "comm/error.h"

namespace tpbench {

std::vector<std::string> ParseNames(const std::string& flag, const std::string& value,
                                    const std::vector<std::string>& valid) {
  std::vector<std::string> out = value == "all" ? valid : SplitList(value);
  for (const std::string& s : out) {
    if (std::find(valid.begin(), valid.end(), s) == valid.end()) {
      std::string list;
      for (const std::string& x : valid) list += x + ", ";
      throw UsageError(flag + ": unknown name '" + s + "'; valid: " + list + "all");
    }
  }
  return out;
}

LayerConfig ParseLayerShape(FlagParser& p) {
  LayerConfig c;
  c.batch = ParseInt(p.Value("--batch", "2"), "--batch", 1, 1 << 20);
  c.seq = ParseInt(p.Value("--seq", "64"), "--seq", 1, 1 << 20);
  c.hidden = ParseInt(p.Value("--hidden", "256"), "--hidden", 1, 1 << 20);
  c.heads = ParseInt(p.Value("--heads", "8"), "--heads", 1, 1 << 20);
  c.ffn_factor = ParseInt(p.Value("--ffn", "4"), "--ffn", 1, 64);
  c.causal = p.Has("--causal");
  c.Validate();
  return c;
}

std::vector<DataType> ParseFloatTypes(FlagParser& p) {
  std::vector<DataType> out;
  for (const std::string& s : SplitList(p.Value("--dtype", "f32"))) {
    if (s == "f32") {
      out.push_back(DataType::kF32);
    } else if (s == "f64") {
      out.push_back(DataType::kF64);
    } else if (s == "f16") {
      out.push_back(DataType::kF16);
    } else if (s == "bf16") {
      out.push_back(DataType::kBF16);
    } else {
      throw UsageError("--dtype: '" + s + "' is not f32, f64, f16 or bf16");
    }
  }
  return out;
}

std::string ShapeName(const LayerConfig& s) {
  return "b:" + std::to_string(s.batch) + ",s:" + std::to_string(s.seq) +
         ",h:" + std::to_string(s.hidden) + ",nh:" + std::to_string(s.heads) +
         (s.ffn_factor != 4 ? ",ffn:" + std::to_string(s.ffn_factor) : "") +
         (s.causal ? ",causal" : "");
}

}  // namespace tpbench
