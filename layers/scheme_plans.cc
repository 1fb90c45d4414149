// layers/scheme_plans.cc: //layers:scheme_plans prints every registered scheme's communication
// plan (layers/scheme.h) for a shape and world size as markdown tables: the plan tables of
// docs/schemes.md come from here, so they are the same data the layers, the skeleton and the
// model bytes use.
//
//   bazel run //layers:scheme_plans -- --np 8 --batch 12 --seq 48 --hidden 144 --heads 24
//       (continued:) [--case block] [--depth 2] [--dtype f32]
//
// Schemes whose mesh does not fit P, or that cannot split the shape, are listed as skipped.
#include <cstdio>
#include <string>
#include <vector>

#include "comm/error.h"
#include "layers/scheme.h"

namespace tpbench {
namespace {

int Main(int argc, char** argv) {
  LayerConfig cfg{/*batch=*/12, /*seq=*/48, /*hidden=*/144, /*heads=*/24};
  int64_t P = 8, depth = 2;
  std::string kind = "block";
  DataType dt = DataType::kF32;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw UsageError(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--np") {
      P = std::stoll(v);
    } else if (a == "--batch") {
      cfg.batch = std::stoll(v);
    } else if (a == "--seq") {
      cfg.seq = std::stoll(v);
    } else if (a == "--hidden") {
      cfg.hidden = std::stoll(v);
    } else if (a == "--heads") {
      cfg.heads = std::stoll(v);
    } else if (a == "--depth") {
      depth = std::stoll(v);
    } else if (a == "--case") {
      kind = v;
    } else if (a == "--dtype") {
      dt = v == "f64" ? DataType::kF64 : DataType::kF32;
    } else {
      throw UsageError(
          "unknown flag '" + a +
          "'; valid: --np, --batch, --seq, --hidden, --heads, --depth, --case, --dtype");
    }
  }
  for (const TpScheme* s : AllSchemes()) {
    SchemeOptions opt;
    opt.depth = depth;
    MeshShape axes;
    try {
      axes = s->MeshFor(P, opt);
      s->Validate(cfg, axes);
    } catch (const Error& e) {
      std::printf("### %s, P = %lld: skipped (%s)\n\n", s->name().c_str(),
                  static_cast<long long>(P), e.what());
      continue;
    }
    std::printf("### %s, mesh %s, %s, %s\n\n%s\n", s->name().c_str(), MeshShapeString(axes).c_str(),
                kind.c_str(), DataTypeName(dt),
                PlanTable(s->Plan(cfg, kind, axes, opt), axes, dt).c_str());
  }
  return 0;
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
