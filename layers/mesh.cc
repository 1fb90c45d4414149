// layers/mesh.cc: see mesh.h.
#include "layers/mesh.h"

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

Mesh::Mesh(Communicator* comm, MeshShape axes) : comm_(comm), axes_(std::move(axes)) {
  TP_CHECK(comm != nullptr);
  CheckMeshShape(axes_, comm_->size());
  coords_ = MeshCoords(axes_, comm_->rank());
}

Communicator& Mesh::Group(const std::vector<std::string>& varying) {
  std::string key;
  for (const std::string& a : varying) key += a + ",";
  if (varying.size() == axes_.size()) {
    // Every axis varies: the communicator itself (its rank order must be the mesh's).
    bool same_order = true;
    for (size_t i = 0; i < axes_.size(); ++i) same_order &= varying[i] == axes_[i].name;
    if (same_order) return *comm_;
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

std::vector<Communicator*> Mesh::groups() const { return order_; }

void Mesh::ResetCounters() {
  comm_->ResetCounters();
  for (auto& [k, g] : groups_) g->ResetCounters();
}

}  // namespace tpbench
