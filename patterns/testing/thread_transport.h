// patterns/testing/thread_transport.h: an in-process transport (comm/p2p.h) for unit tests:
// n threads act as n ranks of one job.
//
//   std::vector<RankStats> stats = RunRanks(4, [&](P2P& p) {
//     FindAlgorithm(OpKind::kAllReduce, "ring")->run(p, args_for(p.rank()));
//   });
//   EXPECT_EQ(stats[1].bytes, expected);
//
//   // The same transport under the transport-agnostic communicator (the "ucx" code path
//   // above the transport: ops, barrier, send/recv, split, deadlines, counters):
//   RunCommunicators(4, [&](Communicator& c) { c.AllReduce(x, x, n, DataType::kF32, ...); });
//
// Sends are eager by default: Isend copies into the receiver's mailbox and completes at
// once. With `rendezvous` a send completes only once a matching receive has copied it, as
// large UCX messages do, which catches algorithms that reuse a send buffer too early or
// need a receive to be posted before their own sends complete. Receives match by (source,
// tag) in posting order (point-to-point ops of a communicator: by source only); sizes must
// match exactly; groups split from a communicator have their own context ids. WaitAll blocks
// on a condition variable and throws TimeoutError naming the missing peers after `timeout`
// (under a communicator: at the op's deadline, naming the op). An exception in any rank
// unblocks the others and is rethrown by RunRanks / RunCommunicators (the first one thrown).
#ifndef TPBENCH_PATTERNS_TESTING_THREAD_TRANSPORT_H_
#define TPBENCH_PATTERNS_TESTING_THREAD_TRANSPORT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "comm/communicator.h"
#include "comm/p2p.h"

namespace tpbench {

struct RankStats {
  uint64_t bytes = 0;             // bytes sent (zero-byte messages are not sent)
  uint64_t msgs = 0;              // messages sent
  uint64_t inter_node_bytes = 0;  // of them, to a rank on another node (options.nodes)
};

struct ThreadTransportOptions {
  std::chrono::milliseconds timeout{20000};
  bool rendezvous = false;
  // The node of each rank (P2P::node), to emulate several hosts; empty: all on node 0.
  std::vector<int> nodes;
};

// Runs fn(p2p) on n threads, one per rank; returns what each rank sent.
std::vector<RankStats> RunRanks(int n, const std::function<void(P2P&)>& fn,
                                const ThreadTransportOptions& options = {});

// Runs fn(world) on n threads, world being each rank's P2PCommunicator (backend "thread") over
// this transport; returns what each rank sent.
std::vector<RankStats> RunCommunicators(int n, const std::function<void(Communicator&)>& fn,
                                        const ThreadTransportOptions& options = {});

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_TESTING_THREAD_TRANSPORT_H_
