// layers/tp2d/tp2d_case.h: the cases and the communication plan shared by the "2d" and "2.5d"
// scheme registrations (layers/tp2d/tp2d_scheme.cc, layers/tp2p5d/tp2p5d_scheme.cc).
//
//   std::unique_ptr<TpCase> c = MakeTp2dCase(&compute, &mesh, cfg, "block", opt);
//   CommPlan plan = Tp2dPlan(cfg, "block", q, /*depth=*/0, /*allgather=*/false);   // 2D
//   CommPlan plan25 = Tp2dPlan(cfg, "block", q, /*depth=*/2, false);               // 2.5D
//
// A mesh with a "dep" axis ({dep, row, col}) makes the 2.5D variant of Tp2d (DEP and XZ groups).
// Plan groups: ROW (varies col), COL (varies row); 2.5D also DEP (varies dep) and XZ (varies
// dep and row). Per linear: SUMMA's q broadcasts / reduces (or one all-gather / reduce-scatter
// per panel with allgather) of X over ROW and W over COL; 2D bias all-gather / reduce-scatter
// over COL; 2.5D: dW all-reduced over DEP, dbias over XZ. Per LayerNorm: two all-reduces of
// the row statistics over ROW forward and two backward; 2D gathers gamma/beta over COL and
// reduce-scatters their gradients, 2.5D all-reduces the gradients over XZ.
#ifndef TPBENCH_LAYERS_TP2D_TP2D_CASE_H_
#define TPBENCH_LAYERS_TP2D_TP2D_CASE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "layers/compute.h"
#include "layers/mesh.h"
#include "layers/reference.h"
#include "layers/scheme.h"

namespace tpbench {

std::unique_ptr<TpCase> MakeTp2dCase(Compute* c, Mesh* mesh, const LayerConfig& cfg,
                                     const std::string& kind, const SchemeOptions& opt);
// depth 0: 2D; depth d >= 1: 2.5D with d layers.
CommPlan Tp2dPlan(const LayerConfig& cfg, const std::string& kind, int64_t q, int64_t depth,
                  bool allgather);

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_TP2D_TP2D_CASE_H_
