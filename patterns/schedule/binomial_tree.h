// patterns/schedule/binomial_tree.h: the binomial tree rooted at any rank (broadcast, reduce,
// scatter).
//
// Ranks are renumbered relative to the root, v = (r - root) mod n. The parent of v != 0 is
// v minus its lowest set bit; its children are v + m for every power of two m below that bit
// (below n for the root) with v + m < n. Child v + m roots the subtree of relative ranks
// [v + m, min(v + 2m, n)).
//
//   BinomialNode t = BinomialTreeNode(r, n, root);
//   if (t.parent >= 0) recv from t.parent;
//   for (int i = 0; i < t.num_children; ++i) send to t.children[i].rank;  // largest first
#ifndef TPBENCH_PATTERNS_SCHEDULE_BINOMIAL_TREE_H_
#define TPBENCH_PATTERNS_SCHEDULE_BINOMIAL_TREE_H_

namespace tpbench {

struct BinomialChild {
  int rank;   // real rank
  int vrank;  // relative rank (first of its subtree)
  int vend;   // one past the last relative rank of its subtree
};

struct BinomialNode {
  int vrank = 0;
  int parent = -1;  // real rank, -1 at the root
  int vend = 1;     // this node's subtree is relative ranks [vrank, vend)
  int num_children = 0;
  BinomialChild children[32];  // largest subtree first (broadcast order)
};

BinomialNode BinomialTreeNode(int r, int n, int root);

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_SCHEDULE_BINOMIAL_TREE_H_
