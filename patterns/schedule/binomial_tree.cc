// patterns/schedule/binomial_tree.cc: parent/children arithmetic of the binomial tree.
#include "patterns/schedule/binomial_tree.h"

namespace tpbench {

BinomialNode BinomialTreeNode(int r, int n, int root) {
  BinomialNode t;
  const int v = ((r - root) % n + n) % n;
  t.vrank = v;
  // The lowest set bit of v bounds its children; the root may have children up to n.
  int top = 1;
  if (v == 0) {
    while (top < n) top *= 2;
  } else {
    top = v & -v;
    t.parent = ((v - top) + root) % n;
  }
  t.vend = v == 0 ? n : (v + top < n ? v + top : n);
  for (int m = top / 2; m >= 1; m /= 2) {
    const int c = v + m;
    if (c >= n) continue;
    t.children[t.num_children++] = {(c + root) % n, c, c + m < n ? c + m : n};
  }
  return t;
}

}  // namespace tpbench
