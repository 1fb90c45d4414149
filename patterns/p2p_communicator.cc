// patterns/p2p_communicator.cc: ops, barrier and split over a comm/p2p.h Transport.
#include "patterns/p2p_communicator.h"

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "comm/bootstrap.h"
#include "comm/error.h"
#include "patterns/registry.h"

namespace tpbench {

std::unique_ptr<Communicator> CreateP2PWorld(const std::string& backend,
                                             std::shared_ptr<Transport> transport) {
  auto executor = std::make_shared<Executor>();
  auto comm = std::make_unique<P2PCommunicator>(backend, transport, "world", executor);
  // While this rank waits in a Bootstrap agreement (MPI), keep the transport moving so that
  // acknowledgements a peer still needs are sent (Transport::ProgressIdle); never while an
  // op of this process is running on it.
  std::weak_ptr<Transport> weak_transport = transport;
  std::weak_ptr<Executor> weak_exec = executor;
  comm->progress_hook_ = Bootstrap::AddProgressHook([weak_transport, weak_exec] {
    auto t = weak_transport.lock();
    auto e = weak_exec.lock();
    if (t && e) e->TryRunIdle([&] { t->ProgressIdle(); });
  });
  return comm;
}

P2PCommunicator::P2PCommunicator(std::string backend, std::shared_ptr<Transport> transport,
                                 std::string name, std::shared_ptr<Executor> executor)
    : CommBase(transport->rank(), transport->size(), std::move(name), transport->world_ranks(),
               std::move(executor)),
      backend_(std::move(backend)),
      transport_(std::move(transport)) {
  std::vector<int> nodes;
  for (int r = 0; r < size(); ++r) nodes.push_back(transport_->node(r));
  std::sort(nodes.begin(), nodes.end());
  nodes_ = static_cast<int>(std::unique(nodes.begin(), nodes.end()) - nodes.begin());
  counters_.inter_node_measured = transport_->counts_inter_node();
}

P2PCommunicator::~P2PCommunicator() {
  if (progress_hook_ >= 0) Bootstrap::RemoveProgressHook(progress_hook_);
  DrainOps();  // queued async ops still use the transport (each is bounded by its deadline)
}

std::vector<std::string> P2PCommunicator::Algorithms(OpKind k) const {
  std::vector<std::string> names = {"auto"};
  if (k == OpKind::kBarrier || k == OpKind::kSendRecv || k == OpKind::kInternal) return names;
  for (std::string& s : AlgorithmNames(k)) names.push_back(std::move(s));
  return names;
}

void P2PCommunicator::CheckAlgorithm(OpKind kind, const std::string& algo) const {
  if (algo == "auto" || FindAlgorithm(kind, algo) != nullptr) return;
  ResolveAlgorithm(kind, algo, 0, size());  // throws UsageError listing the valid names
  throw UsageError(backend_ + ": unknown algorithm '" + algo + "' for " + OpKindName(kind));
}

void P2PCommunicator::Begin(OpKind kind, bool point_to_point, Clock::time_point deadline) {
  TransportOp op;
  op.kind = kind;
  op.point_to_point = point_to_point;
  op.deadline = deadline;
  op.owner = this;
  transport_->BeginOp(op);
}

void P2PCommunicator::Execute(const CollArgs& a, const std::string& algo) {
  switch (a.kind) {
    case OpKind::kBarrier:
      Begin(a.kind, /*point_to_point=*/false, deadline());
      DisseminationBarrier();
      return;
    case OpKind::kSendRecv:
      Begin(a.kind, /*point_to_point=*/true, deadline());
      SendRecvOp(a);
      return;
    default: {
      const Algorithm& alg = ResolveAlgorithm(a.kind, algo, AlgorithmBytes(a), size(), nodes_);
      Begin(a.kind, /*point_to_point=*/false, deadline());
      alg.run(*transport_, a);
      return;
    }
  }
}

void P2PCommunicator::SendRecvOp(const CollArgs& a) {
  const size_t bytes = a.count * a.elem_size();
  Request r[2];
  int n = 0;
  if (a.peer_recv >= 0) r[n++] = transport_->Irecv(a.recv, bytes, a.peer_recv, 0);
  if (a.peer_send >= 0) r[n++] = transport_->Isend(a.send, bytes, a.peer_send, 0);
  transport_->WaitAll(r, n);
}

// Dissemination barrier: in round k every rank signals rank + 2^k and waits for rank - 2^k;
// after ceil(log2 n) rounds every rank has heard, transitively, from every other.
void P2PCommunicator::DisseminationBarrier() {
  const int n = size(), me = rank();
  static const char kToken = 1;
  char sink[2];
  for (int d = 1, step = 0; d < n; d <<= 1, ++step) {
    Request r[2] = {transport_->Irecv(&sink[step & 1], 1, (me - d + n) % n, step),
                    transport_->Isend(&kToken, 1, (me + d) % n, step)};
    transport_->WaitAll(r, 2);
  }
}

std::unique_ptr<CommBase> P2PCommunicator::SplitGroup(int color, int key, std::string name) {
  struct Entry {
    int32_t color, key;
    uint32_t next_ctx;
  };
  const int n = size(), me = rank();
  // All-gather (color, key, next free context id) over this group, counted as internal.
  std::vector<Entry> all(n);
  const Entry mine{color, key, transport_->next_free_context_id()};
  all[me] = mine;
  Begin(OpKind::kInternal, /*point_to_point=*/false, deadline());
  std::vector<Request> reqs;
  reqs.reserve(2 * n);
  for (int p = 0; p < n; ++p) {
    if (p == me) continue;
    reqs.push_back(transport_->Irecv(&all[p], sizeof(Entry), p, 0));
    reqs.push_back(transport_->Isend(&mine, sizeof(Entry), p, 0));
  }
  transport_->WaitAll(reqs.data(), static_cast<int>(reqs.size()));
  uint32_t id = 0;
  for (const Entry& e : all) id = std::max(id, e.next_ctx);
  if (id >= transport_->max_context_ids()) {
    throw BackendError(backend_ + ": out of communicator context ids (" +
                       std::to_string(transport_->max_context_ids()) + ") in " + current_op());
  }
  std::vector<int> members;  // parent ranks, ordered by (key, parent rank); none if color < 0
  for (int p = 0; p < n && color >= 0; ++p) {
    if (all[p].color == color) members.push_back(p);
  }
  std::sort(members.begin(), members.end(), [&](int x, int y) {
    return std::make_tuple(all[x].key, x) < std::make_tuple(all[y].key, y);
  });
  // Every rank takes the id, in a new group or not, so that the ids stay agreed.
  std::shared_ptr<Transport> t = transport_->Split(id, members);
  if (!t) return nullptr;
  return std::make_unique<P2PCommunicator>(backend_, std::move(t), std::move(name), executor());
}

}  // namespace tpbench
