// bench/placement.h: how //bench:layers and //bench:patterns place a scheme's mesh on the
// nodes (--dp, --inner-axes), and what they report about it: every plan group's size and the
// nodes it spans, as results fields and one line per case. Rank <-> coordinates stay in
// layers/mesh.h; this file only reads flags and reports.
//
//   Placement pl = ParsePlacement(p, world);                 // --dp 2 --inner-axes tp
//   MeshShape axes = PlacedMeshFor(scheme, world, opt, pl);  // {dp: 2, tp: 2}
//   AxisOrder order = PlacedOrder(axes, pl);                 // dp,tp: tp inside a node
//   CheckPlacement(axes, pl, Bootstrap::node_of);            // exit 2 if a TP group spans nodes
//   AddPlacementFields(plan, axes, order, pl, node_of, &fields);  // group_TP_nodes: "1", ...
//   std::string line = CheckedSpans(mesh, plan, node_of);    // "TP 2 ranks on 1 node, ..."
#ifndef TPBENCH_BENCH_PLACEMENT_H_
#define TPBENCH_BENCH_PLACEMENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/flags.h"
#include "bench/output.h"
#include "layers/mesh.h"
#include "layers/scheme.h"

namespace tpbench {

struct Placement {
  // Replicas of the scheme's mesh: D > 1 adds a leading axis "dp" (each replica runs the same
  // layer on its P/D ranks; nothing is exchanged between replicas).
  int64_t dp = 1;
  // Axes placed last (fastest: inside a node when ranks are numbered node by node), and
  // checked to fit one node; empty: the mesh's own order.
  std::vector<std::string> inner;
};

// The node of each world rank (Bootstrap::node_of); empty before Bootstrap::Init (the
// --check-sweep pass, which has no nodes to check against).
NodeOf WorldNodes();
// --dp D (default 1; must divide the world size) and --inner-axes LIST (default none).
Placement ParsePlacement(FlagParser& p, int64_t world);
// {dp: D} (when D > 1) followed by s.MeshFor(P / D, opt).
MeshShape PlacedMeshFor(const TpScheme& s, int64_t P, const SchemeOptions& opt,
                        const Placement& pl);
// The axes with pl.inner last; UsageError "--inner-axes: mesh {tp: 4} has no axis 'dp'".
AxisOrder PlacedOrder(const MeshShape& axes, const Placement& pl);
// PlacedOrder, and with node_of (world ranks; empty before the bootstrap, e.g. --check-sweep)
// a UsageError "--inner-axes tp: axis tp (groups of 4 ranks ...) spans 2 nodes; a node holds
// 2 ranks" when the inner axes' groups do not fit in a node.
void CheckPlacement(const MeshShape& axes, const Placement& pl, const NodeOf& node_of);
// "/dp:2/inner:tp" for benchmark names; "" for the default placement.
std::string PlacementTag(const Placement& pl);
// Results fields: dp, axis_order ("dp,tp") and, for every group G of the plan, group_G_size
// and group_G_nodes (the most nodes one such group spans; the mesh on the world communicator).
void AddPlacementFields(const CommPlan& plan, const MeshShape& axes, const AxisOrder& order,
                        const Placement& pl, const NodeOf& node_of, BenchFields* f);
// Collective over the mesh's communicator: every plan group split, the nodes its members are
// on (max over ranks) checked against the placement (CheckGroupNodes: exit 7 on a mismatch);
// returns "TP 2 ranks on 2 nodes (crosses nodes)" for every group, comma-separated.
std::string CheckedSpans(Mesh& mesh, const CommPlan& plan, const NodeOf& node_of);

}  // namespace tpbench

#endif  // TPBENCH_BENCH_PLACEMENT_H_
