// patterns/internal/ring_phases.cc: ring reduce-scatter (segmented) and ring all-gather.
#include "patterns/internal/ring_phases.h"

#include <vector>

#include "comm/reduce.h"
#include "patterns/internal/util.h"
#include "patterns/schedule/ring.h"
#include "patterns/segments.h"

namespace tpbench {
namespace internal {

void RingReduceScatter(P2P& p, const RingReduceScatterArgs& a) {
  const int n = a.n;
  const size_t es = DataTypeSize(a.dtype);
  const size_t seg = SegmentElems(kRingSegmentBytes, es);
  const size_t max_blk = a.part.MaxSize();
  if (max_blk == 0) return;
  char* tmp = p.Scratch(kRingInflight * seg * es, 0);
  char* stage = a.partial ? nullptr : p.Scratch(2 * max_blk * es, 1);
  // Sends of the previous and current step; a staged partial must stay valid until sent.
  RequestList sends[2];

  // Step 0's send: this rank's own contribution to the first block, segment by segment.
  {
    const int b = RingReduceScatterStep(a.r, n, 0).send_block;
    const size_t len = a.part.Size(b);
    const char* base = a.src + a.part.Offset(b) * es;
    for (size_t s = 0; s < len; s += seg) {
      sends[0].Add(p.Isend(base + s * es, std::min(seg, len - s) * es, a.right, a.tag));
    }
  }
  for (int k = 0; k < n - 1; ++k) {
    // Step k: receive block b's partial from the left in segments, combine each with this
    // rank's contribution, and forward it to the right at once (it is step k+1's send).
    const bool last = k == n - 2;
    const int b = RingReduceScatterStep(a.r, n, k).recv_block;
    const size_t len = a.part.Size(b);
    const size_t off = a.part.Offset(b) * es;
    char* dst = last ? a.out : a.partial ? a.partial + off : stage + (k % 2) * max_blk * es;
    const char* mine = a.src + off;
    RequestList& out_sends = sends[(k + 1) % 2];
    const size_t nseg = NumSegments(len, seg);
    Request rr[kRingInflight];
    auto post = [&](size_t i) {
      rr[i % kRingInflight] = p.Irecv(tmp + (i % kRingInflight) * seg * es,
                                      std::min(seg, len - i * seg) * es, a.left, a.tag);
    };
    for (size_t i = 0; i < nseg && i < static_cast<size_t>(kRingInflight); ++i) post(i);
    for (size_t i = 0; i < nseg; ++i) {
      const size_t e = i * seg, m = std::min(seg, len - e);
      p.Wait(rr[i % kRingInflight]);
      ReduceInto(dst + e * es, mine + e * es, tmp + (i % kRingInflight) * seg * es, m, a.dtype,
                 a.op);
      if (!last) out_sends.Add(p.Isend(dst + e * es, m * es, a.right, a.tag));
      if (i + kRingInflight < nseg) post(i + kRingInflight);
    }
    // Sends posted during step k-1 (from the other stage buffer) must finish before step k+1
    // overwrites that buffer.
    sends[k % 2].WaitAll(p);
  }
  sends[0].WaitAll(p);
  sends[1].WaitAll(p);
}

void RingAllGather(P2P& p, char* buf, const BlockPartition& part, size_t elem, int r, int n,
                   int left, int right, int tag, bool has_all, bool skip_send) {
  if (n <= 1) return;
  // Post every receive first: they all come from the left and are matched in order.
  std::vector<Request> recvs(has_all ? 0 : n - 1);
  for (size_t k = 0; k < recvs.size(); ++k) {
    const int b = RingAllGatherStep(r, n, static_cast<int>(k)).recv_block;
    recvs[k] = p.Irecv(buf + part.Offset(b) * elem, part.Size(b) * elem, left, tag);
  }
  RequestList sends;
  for (int k = 0; k < n - 1; ++k) {
    // Step k: forward the block received at step k-1 (this rank's own block at step 0).
    if (k > 0 && !has_all) p.Wait(recvs[k - 1]);
    const int b = RingAllGatherStep(r, n, k).send_block;
    if (!skip_send) {
      sends.Add(p.Isend(buf + part.Offset(b) * elem, part.Size(b) * elem, right, tag));
    }
  }
  if (!has_all) p.Wait(recvs[n - 2]);
  sends.WaitAll(p);
}

}  // namespace internal
}  // namespace tpbench
