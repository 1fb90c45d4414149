// patterns/schedule/hierarchy.h: a group seen as nodes of ranks, for hierarchical algorithms
// (patterns/allreduce_hierarchical.cc). Pure arithmetic on the node of every group rank.
//
//   Hierarchy h = HierarchyOf({0, 0, 1, 1}, /*me=*/3);
//   // h.regular, h.nodes == 2, h.per_node == 2, h.local == 1, h.node_index == 1,
//   // h.local_ranks == {2, 3}, h.cross_ranks == {1, 3}
#ifndef TPBENCH_PATTERNS_SCHEDULE_HIERARCHY_H_
#define TPBENCH_PATTERNS_SCHEDULE_HIERARCHY_H_

#include <algorithm>
#include <utility>
#include <vector>

namespace tpbench {

struct Hierarchy {
  bool regular = false;  // every node holds the same number of ranks
  int nodes = 0, per_node = 0;
  int node_index = 0;                     // this rank's node, numbered by each node's lowest rank
  int local = 0;                          // this rank's position among its node's ranks
  std::vector<int> local_ranks;           // group ranks on this rank's node, ascending
  std::vector<int> cross_ranks;           // the rank at position `local` on every node, node order
  std::vector<std::vector<int>> members;  // members[k][j]: group rank at position j of node k

  // Worth a hierarchical algorithm: several nodes of equal size, more than one rank each.
  bool TwoLevel() const { return regular && nodes > 1 && per_node > 1; }
};

// node_of[r] is the node of group rank r (any integer ids).
inline Hierarchy HierarchyOf(const std::vector<int>& node_of, int me) {
  Hierarchy h;
  std::vector<int> ids;  // node ids in order of their lowest rank
  std::vector<std::vector<int>> members;
  for (int r = 0; r < static_cast<int>(node_of.size()); ++r) {
    auto it = std::find(ids.begin(), ids.end(), node_of[r]);
    if (it == ids.end()) {
      ids.push_back(node_of[r]);
      members.emplace_back();
      it = ids.end() - 1;
    }
    members[it - ids.begin()].push_back(r);
  }
  h.nodes = static_cast<int>(ids.size());
  h.per_node = h.nodes ? static_cast<int>(members[0].size()) : 0;
  h.regular = std::all_of(members.begin(), members.end(), [&](const std::vector<int>& m) {
    return static_cast<int>(m.size()) == h.per_node;
  });
  for (int k = 0; k < h.nodes; ++k) {
    auto pos = std::find(members[k].begin(), members[k].end(), me);
    if (pos == members[k].end()) continue;
    h.node_index = k;
    h.local = static_cast<int>(pos - members[k].begin());
    h.local_ranks = members[k];
  }
  if (h.regular) {
    for (int k = 0; k < h.nodes; ++k) h.cross_ranks.push_back(members[k][h.local]);
  }
  h.members = std::move(members);
  return h;
}

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_SCHEDULE_HIERARCHY_H_
