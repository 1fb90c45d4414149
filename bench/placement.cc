// bench/placement.cc: see placement.h.
#include "bench/placement.h"

#include "comm/bootstrap.h"
#include "comm/error.h"

namespace tpbench {

NodeOf WorldNodes() {
  if (!Bootstrap::initialized()) return {};
  return [](int64_t r) { return Bootstrap::node_of(static_cast<int>(r)); };
}

Placement ParsePlacement(FlagParser& p, int64_t world) {
  Placement pl;
  pl.dp = ParseInt(p.Value("--dp", "1"), "--dp", 1, 1 << 20);
  if (world > 0 && world % pl.dp != 0) {
    throw UsageError("--dp " + std::to_string(pl.dp) + " does not divide the world size " +
                     std::to_string(world));
  }
  const std::string inner = p.Value("--inner-axes", "");
  if (!inner.empty()) pl.inner = SplitList(inner);
  return pl;
}

MeshShape PlacedMeshFor(const TpScheme& s, int64_t P, const SchemeOptions& opt,
                        const Placement& pl) {
  MeshShape axes = s.MeshFor(P / pl.dp, opt);
  if (pl.dp > 1) axes.insert(axes.begin(), MeshAxis{"dp", pl.dp});
  return axes;
}

AxisOrder PlacedOrder(const MeshShape& axes, const Placement& pl) {
  try {
    return InnerAxesLast(axes, pl.inner);
  } catch (const Error& e) {
    throw UsageError(std::string("--inner-axes: ") + e.what());
  }
}

void CheckPlacement(const MeshShape& axes, const Placement& pl, const NodeOf& node_of) {
  const AxisOrder order = PlacedOrder(axes, pl);
  if (!node_of) return;
  std::string list;
  for (const std::string& a : pl.inner) list += (list.empty() ? "" : ",") + a;
  try {
    CheckInnerAxes(axes, order, pl.inner, node_of);
  } catch (const Error& e) {
    throw UsageError("--inner-axes " + list + ": " + e.what());
  }
}

std::string PlacementTag(const Placement& pl) {
  std::string tag = pl.dp > 1 ? "/dp:" + std::to_string(pl.dp) : "";
  std::string inner;
  for (const std::string& a : pl.inner) inner += (inner.empty() ? "" : ",") + a;
  return inner.empty() ? tag : tag + "/inner:" + inner;
}

void AddPlacementFields(const CommPlan& plan, const MeshShape& axes, const AxisOrder& order,
                        const Placement& pl, const NodeOf& node_of, BenchFields* f) {
  std::string o;
  for (const std::string& a : order) o += (o.empty() ? "" : ",") + a;
  (*f)["dp"] = std::to_string(pl.dp);
  (*f)["axis_order"] = o;
  for (const auto& [name, varying] : plan.groups) {
    (*f)["group_" + name + "_size"] = std::to_string(PlanGroupSize(plan, axes, name));
    (*f)["group_" + name + "_nodes"] = std::to_string(GroupNodes(axes, order, varying, node_of));
  }
}

std::string CheckedSpans(Mesh& mesh, const CommPlan& plan, const NodeOf& node_of) {
  std::string out;
  for (const auto& [name, varying] : plan.groups) {
    Communicator& g = mesh.Group(varying);
    const int64_t measured =
        static_cast<int64_t>(Bootstrap::MaxOverRanks(static_cast<double>(CommNodes(g, node_of))));
    CheckGroupNodes(name, mesh.GroupNodes(varying, node_of), measured);
    out += (out.empty() ? "" : ", ") + name + " " + std::to_string(g.size()) + " ranks on " +
           std::to_string(measured) + (measured == 1 ? " node" : " nodes (crosses nodes)");
  }
  return out;
}

}  // namespace tpbench
