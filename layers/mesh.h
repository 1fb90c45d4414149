// layers/mesh.h: a device mesh over a communicator: named axes with sizes, rank <->
// coordinates, and the group of any set of axes, each built once with Split and cached.
//
//   Mesh mesh(world.get(), {{"row", 2}, {"col", 2}});  // rank = row*2 + col (last axis fastest)
//   int64_t i = mesh.coord("row"), j = mesh.coord("col");
//   Communicator& row_group = mesh.Group({"col"});      // same row: ranks vary along col
//   Communicator& xz = mesh.Group({"dep", "row"});      // local rank = dep*q + row
//   mesh.ResetCounters();                               // every cached group's byte counters
//
// Axes are listed slowest first: the world rank is the mixed-radix number of the coordinates
// with the last axis varying fastest. Group(varying) is the set of ranks that differ from this
// one only along `varying`; its local rank is the mixed-radix number of the varying
// coordinates in the order given. A group spanning every axis in the placement's order is the
// communicator itself (no split), so a one-axis mesh keeps the world's counters. Split is
// collective: every rank must ask for the same groups in the same order (the first request of a
// group splits).
//
// Placement on the topology: an AxisOrder lists the axes as they number the communicator's
// ranks, slowest first (default: the shape's own order). Launchers number ranks node by node
// (mpirun --host H1:R,H2:R), so the last axes of the order stay inside a node when their
// product divides the ranks of a node; the others cross nodes:
//
//   Mesh mesh(world.get(), {{"dp", 2}, {"tp", 4}}, InnerAxesLast(axes, {"tp"}));
//   CheckInnerAxes(axes, mesh.order(), {"tp"}, node_of);   // UsageError if a TP group spans nodes
//   int64_t n = GroupNodes(axes, mesh.order(), {"tp"}, node_of);  // nodes a TP group spans
//
// The shape's order stays the scheme's (coords(), Region, local ranks of groups); only the
// communicator rank <-> coordinates mapping follows the placement, here and nowhere else.
#ifndef TPBENCH_LAYERS_MESH_H_
#define TPBENCH_LAYERS_MESH_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"

namespace tpbench {

struct MeshAxis {
  std::string name;
  int64_t size = 0;
};
using MeshShape = std::vector<MeshAxis>;

// "{row: 2, col: 2}".
std::string MeshShapeString(const MeshShape& axes);
// Throws UsageError("mesh {row: 2, col: 3} needs 6 ranks; P = 4") unless every axis size is
// >= 1 and their product is P (also names an axis of size 0).
void CheckMeshShape(const MeshShape& axes, int64_t P);
// Coordinates of world rank r (slowest axis first) and the inverse.
std::vector<int64_t> MeshCoords(const MeshShape& axes, int64_t r);
int64_t MeshRank(const MeshShape& axes, const std::vector<int64_t>& coords);
// Size of an axis by name (UsageError naming the mesh if absent).
int64_t AxisSize(const MeshShape& axes, const std::string& name);
int64_t AxisCoord(const MeshShape& axes, const std::vector<int64_t>& coords,
                  const std::string& name);

// The axes in the order they number ranks, slowest first.
using AxisOrder = std::vector<std::string>;
// The shape's own order (its names).
AxisOrder NaturalOrder(const MeshShape& axes);
// `inner` last (fastest, in the order given), the other axes before them in the shape's order.
// UsageError naming an unknown or repeated axis and the mesh.
AxisOrder InnerAxesLast(const MeshShape& axes, const std::vector<std::string>& inner);
// UsageError unless order names every axis exactly once ("axis order tp of mesh {dp: 2, tp: 2}
// lacks axis 'dp'").
void CheckAxisOrder(const MeshShape& axes, const AxisOrder& order);
// Coordinates (in the shape's order) of rank r when the axes number ranks in `order`, and the
// inverse. With NaturalOrder these are MeshCoords and MeshRank.
std::vector<int64_t> PlacedCoords(const MeshShape& axes, const AxisOrder& order, int64_t r);
int64_t PlacedRank(const MeshShape& axes, const AxisOrder& order,
                   const std::vector<int64_t>& coords);

// The node of a rank (Bootstrap::node_of for world ranks; a fake in tests).
using NodeOf = std::function<int(int64_t rank)>;
// The most nodes any one group along `varying` spans, ranks placed in `order` (arithmetic
// only: every rank computes it alike, no communication).
int64_t GroupNodes(const MeshShape& axes, const AxisOrder& order,
                   const std::vector<std::string>& varying, const NodeOf& node_of);
// The nodes a communicator's members are on: distinct node_of(world rank) over world_ranks().
int64_t CommNodes(const Communicator& comm, const NodeOf& node_of_world);
// The check of a reported span: WrongError "group TP: its members are on 2 nodes; the
// placement says 1" when measured (CommNodes of the split group, max over ranks) differs from
// predicted (GroupNodes).
void CheckGroupNodes(const std::string& group, int64_t predicted, int64_t measured);
// UsageError unless every group along `inner` (all of them together) lies inside one node:
// "axis tp (groups of 4 ranks in mesh {dp: 1, tp: 4}, order dp,tp) spans 2 nodes; a node
// holds 2 ranks". No-op for an empty `inner`.
void CheckInnerAxes(const MeshShape& axes, const AxisOrder& order,
                    const std::vector<std::string>& inner, const NodeOf& node_of);

class Mesh {
 public:
  // comm must outlive the mesh. Throws UsageError (CheckMeshShape, CheckAxisOrder) on a bad
  // shape or order; order empty: the shape's own.
  Mesh(Communicator* comm, MeshShape axes, AxisOrder order = {});
  const MeshShape& shape() const { return axes_; }
  const AxisOrder& order() const { return order_axes_; }
  Communicator& comm() const { return *comm_; }
  int64_t size(const std::string& axis) const { return AxisSize(axes_, axis); }
  int64_t coord(const std::string& axis) const { return AxisCoord(axes_, coords_, axis); }
  const std::vector<int64_t>& coords() const { return coords_; }

  // The group of ranks that differ from this one only along `varying` (cached).
  Communicator& Group(const std::vector<std::string>& varying);
  // The most nodes any group along `varying` spans (GroupNodes over this mesh's placement, its
  // ranks mapped to world ranks by the communicator); no communication, no split.
  int64_t GroupNodes(const std::vector<std::string>& varying, const NodeOf& node_of_world) const;
  // The groups split so far (not the communicator itself), in split order.
  std::vector<Communicator*> groups() const;
  // Zeroes the byte counters of the communicator and of every cached group.
  void ResetCounters();

 private:
  Communicator* comm_;
  MeshShape axes_;
  AxisOrder order_axes_;
  std::vector<int64_t> coords_;
  std::map<std::string, std::unique_ptr<Communicator>> groups_;
  std::vector<Communicator*> order_;
};

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_MESH_H_
