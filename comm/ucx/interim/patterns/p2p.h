// patterns/p2p.h: the point-to-point view of one group that collective algorithms run on.
//
//   void AllReduceRing(P2P& p, const CollArgs& a) {
//     Request r[2] = {p.Irecv(tmp, bytes, left, step), p.Isend(blk, bytes, right, step)};
//     p.WaitAll(r, 2);  // throws TimeoutError naming the peers that never arrived
//   }
//
// Ranks are group-local. A transport is created per op by the backend (ucx, or the in-process
// ThreadTransport used by unit tests); it counts every byte it sends under the op's kind.
// Rules every algorithm can rely on:
//   - zero-byte sends and receives are no-ops on both sides (not sent, not counted);
//   - messages between one pair with the same tag are matched in the order they were posted;
//   - tags are small integers (0..4095) local to the op; use them to separate steps.
#ifndef TPBENCH_PATTERNS_P2P_H_
#define TPBENCH_PATTERNS_P2P_H_

#include <cstddef>

namespace tpbench {

struct Request {
  void* handle = nullptr;  // transport-owned; nullptr = already complete
  int peer = -1;
  bool is_send = false;
};

class P2P {
 public:
  virtual ~P2P() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  virtual Request Isend(const void* buf, size_t bytes, int peer, int tag) = 0;
  virtual Request Irecv(void* buf, size_t bytes, int peer, int tag) = 0;
  // Completes all n requests (null handles are skipped). Throws TimeoutError when the op's
  // deadline passes, naming the peers whose requests did not complete.
  virtual void WaitAll(Request* reqs, int n) = 0;

  // A buffer of at least `bytes` that lives as long as the communicator; slot selects one of
  // several independent buffers (0..3). Contents are undefined on entry.
  virtual char* Scratch(size_t bytes, int slot = 0) = 0;

  // Conveniences built on the above.
  void Wait(Request& r) { WaitAll(&r, 1); }
  void Send(const void* buf, size_t bytes, int peer, int tag) {
    Request r = Isend(buf, bytes, peer, tag);
    WaitAll(&r, 1);
  }
  void Recv(void* buf, size_t bytes, int peer, int tag) {
    Request r = Irecv(buf, bytes, peer, tag);
    WaitAll(&r, 1);
  }
  void SendRecv(const void* sbuf, size_t sbytes, int dst, void* rbuf, size_t rbytes, int src,
                int tag) {
    Request r[2] = {Irecv(rbuf, rbytes, src, tag), Isend(sbuf, sbytes, dst, tag)};
    WaitAll(r, 2);
  }
};

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_P2P_H_
