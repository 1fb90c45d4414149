// patterns/internal/ring_phases.cc: ring reduce-scatter (segmented) and ring all-gather.
#include "patterns/internal/ring_phases.h"

#include <algorithm>
#include <vector>

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
      // The last step's output is final and large outputs leave the cache anyway: stream it.
      const bool stream = last && len * es >= kStreamingMinBytes;
      p.Reduce(dst + e * es, mine + e * es, tmp + (i % kRingInflight) * seg * es, m, a.dtype, a.op,
               stream);
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
  const size_t seg = SegmentElems(kRingAllGatherSegmentBytes, elem);
  // Post every segment's receive first: all come from the left and are matched in order.
  std::vector<Request> recvs;
  std::vector<size_t> first(n, 0);  // index in recvs of step k's first segment
  if (!has_all) {
    for (int k = 0; k < n - 1; ++k) {
      const int b = RingAllGatherStep(r, n, k).recv_block;
      const size_t len = part.Size(b);
      char* base = buf + part.Offset(b) * elem;
      first[k] = recvs.size();
      for (size_t e = 0; e < len; e += seg) {
        recvs.push_back(p.Irecv(base + e * elem, std::min(seg, len - e) * elem, left, tag));
      }
    }
  }
  RequestList sends;
  for (int k = 0; k < n - 1; ++k) {
    // Step k: forward the block received at step k-1 (this rank's own block at step 0),
    // each segment as soon as it has arrived.
    const int b = RingAllGatherStep(r, n, k).send_block;
    const size_t len = part.Size(b);
    const char* base = buf + part.Offset(b) * elem;
    for (size_t e = 0, i = 0; e < len; e += seg, ++i) {
      if (k > 0 && !has_all) p.Wait(recvs[first[k - 1] + i]);
      if (!skip_send)
        sends.Add(p.Isend(base + e * elem, std::min(seg, len - e) * elem, right, tag));
    }
  }
  // The last step's segments are not forwarded.
  if (!has_all)
    p.WaitAll(recvs.data() + first[n - 2], static_cast<int>(recvs.size() - first[n - 2]));
  sends.WaitAll(p);
}

void RingAllGatherPieces(P2P& p, const std::vector<std::vector<Piece>>& bundles, size_t elem, int r,
                         int n, int left, int right, int tag) {
  if (n <= 1) return;
  const size_t seg = SegmentElems(kRingAllGatherSegmentBytes, elem) * elem;
  // Calls fn(at, bytes) for every segment of bundle b, in order.
  auto segments = [&](int b, auto&& fn) {
    for (const Piece& pc : bundles[static_cast<size_t>(b)]) {
      for (size_t o = 0; o < pc.bytes; o += seg) fn(pc.at + o, std::min(seg, pc.bytes - o));
    }
  };
  // Post every segment's receive first: all come from the left and are matched in order.
  std::vector<Request> recvs;
  std::vector<size_t> first(static_cast<size_t>(n), 0);  // step k's first receive in recvs
  for (int k = 0; k < n - 1; ++k) {
    first[k] = recvs.size();
    segments(RingAllGatherStep(r, n, k).recv_block,
             [&](char* at, size_t len) { recvs.push_back(p.Irecv(at, len, left, tag)); });
  }
  RequestList sends;
  for (int k = 0; k < n - 1; ++k) {
    // Step k: forward the bundle received at step k-1 (this rank's own at step 0), each
    // segment once it has arrived.
    size_t i = 0;
    segments(RingAllGatherStep(r, n, k).send_block, [&](char* at, size_t len) {
      if (k > 0) p.Wait(recvs[first[k - 1] + i++]);
      sends.Add(p.Isend(at, len, right, tag));
    });
  }
  // The last step's segments are not forwarded.
  p.WaitAll(recvs.data() + first[n - 2], static_cast<int>(recvs.size() - first[n - 2]));
  sends.WaitAll(p);
}

}  // namespace internal
}  // namespace tpbench
