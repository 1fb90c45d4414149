// patterns/broadcast_chain.cc: broadcast "chain": a pipelined chain root -> root+1 -> ...,
// the message cut into kChainSegmentBytes segments so every link is busy at once; time
// ~ (n-2 + segments) segment transfers (large messages).
#include <vector>

#include "comm/coll.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/blocks.h"
#include "patterns/schedule/chain.h"
#include "patterns/segments.h"

namespace tpbench {
namespace {

constexpr int kTag = 0;

void BroadcastChain(P2P& p, const CollArgs& a) {
  const int n = p.size(), r = p.rank();
  const size_t es = a.elem_size(), bytes = a.count * es;
  if (bytes == 0) return;
  char* recv = static_cast<char*>(a.recv);
  const char* send = static_cast<const char*>(a.send);
  const size_t seg = SegmentElems(kChainSegmentBytes, es) * es;
  const size_t nseg = NumSegments(bytes, seg);
  const int prev = ChainPrev(r, n, a.root), next = ChainNext(r, n, a.root);
  internal::RequestList sends;
  if (prev < 0) {
    // Root: send every segment to the next rank, copy its own while they travel.
    if (next >= 0) {
      for (size_t i = 0; i < nseg; ++i) {
        sends.Add(p.Isend(send + i * seg, std::min(seg, bytes - i * seg), next, kTag));
      }
    }
    internal::CopyUnlessSame(p, recv, send, bytes);
    sends.WaitAll(p);
    return;
  }
  // Others: post every segment's receive, forward each segment as soon as it arrives.
  std::vector<Request> recvs(nseg);
  for (size_t i = 0; i < nseg; ++i) {
    recvs[i] = p.Irecv(recv + i * seg, std::min(seg, bytes - i * seg), prev, kTag);
  }
  for (size_t i = 0; i < nseg; ++i) {
    p.Wait(recvs[i]);
    if (next >= 0) sends.Add(p.Isend(recv + i * seg, std::min(seg, bytes - i * seg), next, kTag));
  }
  sends.WaitAll(p);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kBroadcast, "chain", "pipelined chain in segments (large messages)",
                           BroadcastChain);

}  // namespace tpbench
