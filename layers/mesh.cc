// layers/mesh.cc: see mesh.h.
#include "layers/mesh.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "comm/error.h"

namespace tpbench {

std::string MeshShapeString(const MeshShape& axes) {
  std::string s = "{";
  for (size_t i = 0; i < axes.size(); ++i) {
    s += (i ? ", " : "") + axes[i].name + ": " + std::to_string(axes[i].size);
  }
  return s + "}";
}

void CheckMeshShape(const MeshShape& axes, int64_t P) {
  int64_t n = 1;
  for (const MeshAxis& a : axes) {
    if (a.size < 1) {
      throw UsageError("mesh " + MeshShapeString(axes) + ": axis '" + a.name + "' has size " +
                       std::to_string(a.size) + "; P = " + std::to_string(P));
    }
    n *= a.size;
  }
  if (n != P) {
    throw UsageError("mesh " + MeshShapeString(axes) + " needs " + std::to_string(n) +
                     " ranks; P = " + std::to_string(P));
  }
}

std::vector<int64_t> MeshCoords(const MeshShape& axes, int64_t r) {
  std::vector<int64_t> c(axes.size());
  for (size_t i = axes.size(); i-- > 0;) {
    c[i] = r % axes[i].size;
    r /= axes[i].size;
  }
  return c;
}

int64_t MeshRank(const MeshShape& axes, const std::vector<int64_t>& coords) {
  int64_t r = 0;
  for (size_t i = 0; i < axes.size(); ++i) r = r * axes[i].size + coords[i];
  return r;
}

namespace {
size_t AxisIndex(const MeshShape& axes, const std::string& name) {
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i].name == name) return i;
  }
  throw UsageError("mesh " + MeshShapeString(axes) + " has no axis '" + name + "'");
}
}  // namespace

int64_t AxisSize(const MeshShape& axes, const std::string& name) {
  return axes[AxisIndex(axes, name)].size;
}

int64_t AxisCoord(const MeshShape& axes, const std::vector<int64_t>& coords,
                  const std::string& name) {
  return coords[AxisIndex(axes, name)];
}

AxisOrder NaturalOrder(const MeshShape& axes) {
  AxisOrder o;
  for (const MeshAxis& a : axes) o.push_back(a.name);
  return o;
}

namespace {
std::string Joined(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}
}  // namespace

AxisOrder InnerAxesLast(const MeshShape& axes, const std::vector<std::string>& inner) {
  for (const std::string& n : inner) {
    AxisIndex(axes, n);  // names the mesh if absent
    if (std::count(inner.begin(), inner.end(), n) > 1) {
      throw UsageError("inner axes " + Joined(inner) + ": axis '" + n + "' repeated");
    }
  }
  AxisOrder o;
  for (const MeshAxis& a : axes) {
    if (std::find(inner.begin(), inner.end(), a.name) == inner.end()) o.push_back(a.name);
  }
  o.insert(o.end(), inner.begin(), inner.end());
  return o;
}

void CheckAxisOrder(const MeshShape& axes, const AxisOrder& order) {
  const std::string what = "axis order " + Joined(order) + " of mesh " + MeshShapeString(axes);
  for (const std::string& n : order) {
    if (std::count(order.begin(), order.end(), n) > 1) {
      throw UsageError(what + " repeats axis '" + n + "'");
    }
    AxisIndex(axes, n);
  }
  for (const MeshAxis& a : axes) {
    if (std::find(order.begin(), order.end(), a.name) == order.end()) {
      throw UsageError(what + " lacks axis '" + a.name + "'");
    }
  }
}

std::vector<int64_t> PlacedCoords(const MeshShape& axes, const AxisOrder& order, int64_t r) {
  std::vector<int64_t> c(axes.size());
  for (size_t k = order.size(); k-- > 0;) {
    const size_t i = AxisIndex(axes, order[k]);
    c[i] = r % axes[i].size;
    r /= axes[i].size;
  }
  return c;
}

int64_t PlacedRank(const MeshShape& axes, const AxisOrder& order,
                   const std::vector<int64_t>& coords) {
  int64_t r = 0;
  for (const std::string& n : order) {
    const size_t i = AxisIndex(axes, n);
    r = r * axes[i].size + coords[i];
  }
  return r;
}

namespace {
int64_t NumRanks(const MeshShape& axes) {
  int64_t n = 1;
  for (const MeshAxis& a : axes) n *= a.size;
  return n;
}
}  // namespace

int64_t GroupNodes(const MeshShape& axes, const AxisOrder& order,
                   const std::vector<std::string>& varying, const NodeOf& node_of) {
  std::map<int64_t, std::set<int>> nodes;  // group (its fixed coordinates) -> nodes
  for (int64_t r = 0; r < NumRanks(axes); ++r) {
    std::vector<int64_t> fixed = PlacedCoords(axes, order, r);
    for (const std::string& a : varying) fixed[AxisIndex(axes, a)] = 0;
    nodes[MeshRank(axes, fixed)].insert(node_of(r));
  }
  size_t most = 0;
  for (const auto& [g, n] : nodes) most = std::max(most, n.size());
  return static_cast<int64_t>(most);
}

int64_t CommNodes(const Communicator& comm, const NodeOf& node_of_world) {
  std::set<int> nodes;
  for (int w : comm.world_ranks()) nodes.insert(node_of_world(w));
  return static_cast<int64_t>(nodes.size());
}

void CheckGroupNodes(const std::string& group, int64_t predicted, int64_t measured) {
  if (predicted == measured) return;
  throw WrongError("group " + group + ": its members are on " + std::to_string(measured) +
                   " node(s); the placement says " + std::to_string(predicted));
}

void CheckInnerAxes(const MeshShape& axes, const AxisOrder& order,
                    const std::vector<std::string>& inner, const NodeOf& node_of) {
  if (inner.empty()) return;
  const int64_t spans = GroupNodes(axes, order, inner, node_of);
  if (spans <= 1) return;
  int64_t group = 1;
  for (const std::string& a : inner) group *= AxisSize(axes, a);
  std::map<int, int64_t> per_node;
  for (int64_t r = 0; r < NumRanks(axes); ++r) ++per_node[node_of(r)];
  std::set<int64_t> sizes;
  for (const auto& [n, k] : per_node) sizes.insert(k);
  std::string held;
  for (int64_t k : sizes) held += (held.empty() ? "" : " or ") + std::to_string(k);
  throw UsageError((inner.size() > 1 ? "axes " : "axis ") + Joined(inner) + " (groups of " +
                   std::to_string(group) + " ranks in mesh " + MeshShapeString(axes) + ", order " +
                   Joined(order) + ") spans " + std::to_string(spans) + " nodes; a node holds " +
                   held + " ranks");
}

Mesh::Mesh(Communicator* comm, MeshShape axes, AxisOrder order)
    : comm_(comm), axes_(std::move(axes)), order_axes_(std::move(order)) {
  TP_CHECK(comm != nullptr);
  CheckMeshShape(axes_, comm_->size());
  if (order_axes_.empty()) order_axes_ = NaturalOrder(axes_);
  CheckAxisOrder(axes_, order_axes_);
  coords_ = PlacedCoords(axes_, order_axes_, comm_->rank());
}

Communicator& Mesh::Group(const std::vector<std::string>& varying) {
  std::string key;
  for (const std::string& a : varying) key += a + ",";
  if (varying.size() == axes_.size()) {
    // Every axis varies: the communicator itself if its rank order is the local one (the
    // placement's order).
    if (varying == order_axes_) return *comm_;
  }
  auto it = groups_.find(key);
  if (it != groups_.end()) return *it->second;
  // Color: the fixed coordinates (varying ones zeroed); key: the varying ones, in order.
  std::vector<int64_t> fixed = coords_;
  int64_t local = 0;
  for (const std::string& a : varying) {
    const size_t i = AxisIndex(axes_, a);
    local = local * axes_[i].size + coords_[i];
    fixed[i] = 0;
  }
  const int color = static_cast<int>(MeshRank(axes_, fixed));
  std::unique_ptr<Communicator> g = comm_->Split(color, static_cast<int>(local));
  TP_CHECK(g != nullptr && g->rank() == local);
  Communicator& ref = *g;
  order_.push_back(g.get());
  groups_[key] = std::move(g);
  return ref;
}

int64_t Mesh::GroupNodes(const std::vector<std::string>& varying,
                         const NodeOf& node_of_world) const {
  const std::vector<int>& world = comm_->world_ranks();
  return ::tpbench::GroupNodes(axes_, order_axes_, varying, [&](int64_t r) {
    return node_of_world(world.at(static_cast<size_t>(r)));
  });
}

std::vector<Communicator*> Mesh::groups() const { return order_; }

void Mesh::ResetCounters() {
  comm_->ResetCounters();
  for (auto& [k, g] : groups_) g->ResetCounters();
}

}  // namespace tpbench
