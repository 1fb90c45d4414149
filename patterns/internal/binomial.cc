// patterns/internal/binomial.cc: binomial-tree broadcast and reduce.
#include "patterns/internal/binomial.h"

#include "patterns/internal/util.h"
#include "patterns/schedule/binomial_tree.h"

namespace tpbench {
namespace internal {

void BinomialBroadcast(P2P& p, const char* root_src, char* buf, size_t bytes, int root, int tag) {
  const BinomialNode t = BinomialTreeNode(p.rank(), p.size(), root);
  // Receive the whole message from the parent.
  if (t.parent >= 0) p.Recv(buf, bytes, t.parent, tag);
  // Forward to the children, largest subtree first.
  const char* from = t.parent >= 0 ? buf : root_src;
  RequestList sends;
  for (int i = 0; i < t.num_children; ++i) sends.Add(p.Isend(from, bytes, t.children[i].rank, tag));
  sends.WaitAll(p);
}

void BinomialReduce(P2P& p, const char* src, char* acc, size_t count, DataType t, ReduceOp op,
                    int root, int tag) {
  const BinomialNode node = BinomialTreeNode(p.rank(), p.size(), root);
  const size_t bytes = count * DataTypeSize(t);
  const char* partial = src;
  if (node.num_children > 0) {
    if (acc == nullptr) acc = p.Scratch(bytes, 1);
    char* tmp = p.Scratch(bytes, 0);
    // Combine the children's partials, smallest (nearest) subtree first.
    for (int i = node.num_children - 1; i >= 0; --i) {
      p.Recv(tmp, bytes, node.children[i].rank, tag);
      p.Reduce(acc, partial, tmp, count, t, op);
      partial = acc;
    }
  } else if (node.parent < 0) {
    CopyUnlessSame(p, acc, src, bytes);  // a lone root
  }
  // Send the subtree's partial to the parent.
  if (node.parent >= 0) p.Send(partial, bytes, node.parent, tag);
}

}  // namespace internal
}  // namespace tpbench
