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
// coordinates in the order given. A group spanning every axis is the communicator itself (no
// split), so a one-axis mesh keeps the world's counters. Split is collective: every rank must
// ask for the same groups in the same order (the first request of a group splits).
#ifndef TPBENCH_LAYERS_MESH_H_
#define TPBENCH_LAYERS_MESH_H_

#include <cstdint>
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

class Mesh {
 public:
  // comm must outlive the mesh. Throws UsageError (CheckMeshShape) on a bad shape.
  Mesh(Communicator* comm, MeshShape axes);
  const MeshShape& shape() const { return axes_; }
  Communicator& comm() const { return *comm_; }
  int64_t size(const std::string& axis) const { return AxisSize(axes_, axis); }
  int64_t coord(const std::string& axis) const { return AxisCoord(axes_, coords_, axis); }
  const std::vector<int64_t>& coords() const { return coords_; }

  // The group of ranks that differ from this one only along `varying` (cached).
  Communicator& Group(const std::vector<std::string>& varying);
  // The groups split so far (not the communicator itself), in split order.
  std::vector<Communicator*> groups() const;
  // Zeroes the byte counters of the communicator and of every cached group.
  void ResetCounters();

 private:
  Communicator* comm_;
  MeshShape axes_;
  std::vector<int64_t> coords_;
  std::map<std::string, std::unique_ptr<Communicator>> groups_;
  std::vector<Communicator*> order_;
};

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_MESH_H_
