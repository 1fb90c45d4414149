#include "comm/ucx/ucx_communicator.h"

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "comm/bootstrap.h"
#include "comm/error.h"
#include "comm/ucx/ucx_context.h"
#include "comm/ucx/ucx_transport.h"
#include "patterns/registry.h"

namespace tpbench {
namespace {

// Clears the SIGTERM handler's in-flight note when an op ends, however it ends.
struct InFlightScope {
  ~InFlightScope() { ClearInFlight(); }
};

}  // namespace

constexpr int UcxCommunicator::kScratchSlots;

std::unique_ptr<Communicator> CreateUcxWorld() {
  std::shared_ptr<UcxContext> ctx = UcxContext::Create();
  const int n = ctx->world_size();
  if (n > ucx_tag::kMaxGroupSize) {
    throw UsageError("ucx: " + std::to_string(n) + " ranks exceed the backend's limit of " +
                     std::to_string(ucx_tag::kMaxGroupSize));
  }
  std::vector<int> world(n);
  for (int r = 0; r < n; ++r) world[r] = r;
  const int rank = ctx->world_rank();
  auto executor = std::make_shared<Executor>();
  auto comm = std::make_unique<UcxCommunicator>(ctx, /*context_id=*/0, rank, n, "world",
                                                std::move(world), executor);
  // While this rank waits in a Bootstrap agreement (MPI), keep the worker moving so that
  // acknowledgements a peer still needs are sent (UcxContext::ProgressIdle); never while an
  // op of this process is running on the worker.
  std::weak_ptr<UcxContext> weak_ctx = ctx;
  std::weak_ptr<Executor> weak_exec = executor;
  comm->progress_hook_ = Bootstrap::AddProgressHook([weak_ctx, weak_exec] {
    auto c = weak_ctx.lock();
    auto e = weak_exec.lock();
    if (c && e) e->TryRunIdle([&] { c->ProgressIdle(); });
  });
  return comm;
}

UcxCommunicator::UcxCommunicator(std::shared_ptr<UcxContext> ctx, uint32_t context_id, int rank,
                                 int size, std::string name, std::vector<int> world_ranks,
                                 std::shared_ptr<Executor> executor)
    : CommBase(rank, size, std::move(name), std::move(world_ranks), std::move(executor)),
      ctx_(std::move(ctx)),
      context_id_(context_id),
      send_seq_(size, 0),
      recv_seq_(size, 0) {}

UcxCommunicator::~UcxCommunicator() {
  if (progress_hook_ >= 0) Bootstrap::RemoveProgressHook(progress_hook_);
  // Members (the UCX context among them) go before the base class and its executor: let
  // queued async ops finish first (each is bounded by its deadline).
  if (executor()) executor()->RunInline([] {});
  for (Buffer& b : scratch_) std::free(b.data);
}

char* UcxCommunicator::ScratchBuffer(size_t bytes, int slot) {
  TP_CHECK_MSG(slot >= 0 && slot < kScratchSlots, "scratch slot out of range 0..3");
  Buffer& b = scratch_[slot];
  if (bytes > b.capacity || !b.data) {
    const size_t cap = std::max<size_t>((bytes + 63) / 64 * 64, 64);
    char* p = static_cast<char*>(std::aligned_alloc(64, cap));
    if (!p) throw BackendError("ucx: cannot allocate " + std::to_string(cap) + " bytes of scratch");
    std::free(b.data);
    b.data = p;
    b.capacity = cap;
  }
  return b.data;
}

std::vector<std::string> UcxCommunicator::Algorithms(OpKind k) const {
  std::vector<std::string> names = {"auto"};
  if (k == OpKind::kBarrier || k == OpKind::kSendRecv || k == OpKind::kInternal) return names;
  for (std::string& s : AlgorithmNames(k)) names.push_back(std::move(s));
  return names;
}

void UcxCommunicator::CheckAlgorithm(OpKind kind, const std::string& algo) const {
  if (algo == "auto" || FindAlgorithm(kind, algo) != nullptr) return;
  ResolveAlgorithm(kind, algo, 0, size());  // throws UsageError listing the valid names
  throw UsageError(std::string("ucx: unknown algorithm '") + algo + "' for " + OpKindName(kind));
}

void UcxCommunicator::Execute(const CollArgs& a, const std::string& algo) {
  InFlightScope in_flight;
  switch (a.kind) {
    case OpKind::kBarrier: {
      UcxTransport t(*this, a.kind, ucx_tag::Collective(context_id_, NextSeq()), deadline());
      DisseminationBarrier(t);
      return;
    }
    case OpKind::kSendRecv: {
      UcxTransport t(*this, a.kind, ucx_tag::PointToPoint(context_id_), deadline());
      SendRecvOp(t, a);
      return;
    }
    default: {
      const Algorithm& alg = ResolveAlgorithm(a.kind, algo, AlgorithmBytes(a), size());
      UcxTransport t(*this, a.kind, ucx_tag::Collective(context_id_, NextSeq()), deadline());
      alg.run(t, a);
      return;
    }
  }
}

void UcxCommunicator::SendRecvOp(UcxTransport& t, const CollArgs& a) {
  const size_t bytes = a.count * a.elem_size();
  Request r[2];
  int n = 0;
  if (a.peer_recv >= 0) r[n++] = t.Irecv(a.recv, bytes, a.peer_recv, 0);
  if (a.peer_send >= 0) r[n++] = t.Isend(a.send, bytes, a.peer_send, 0);
  t.WaitAll(r, n);
}

// Dissemination barrier: in round k every rank signals rank + 2^k and waits for rank - 2^k;
// after ceil(log2 n) rounds every rank has heard, transitively, from every other.
void UcxCommunicator::DisseminationBarrier(UcxTransport& t) {
  const int n = size(), me = rank();
  static const char kToken = 1;
  char sink[2];
  for (int d = 1, step = 0; d < n; d <<= 1, ++step) {
    Request r[2] = {t.Irecv(&sink[step & 1], 1, (me - d + n) % n, step),
                    t.Isend(&kToken, 1, (me + d) % n, step)};
    t.WaitAll(r, 2);
  }
}

std::unique_ptr<Communicator> UcxCommunicator::Split(int color, int key) {
  std::unique_ptr<Communicator> out;
  // Through the executor, so the split keeps its place among queued async ops.
  executor()->RunInline([&] { out = DoSplit(color, key); });
  return out;
}

std::unique_ptr<Communicator> UcxCommunicator::DoSplit(int color, int key) {
  InFlightScope in_flight;
  struct Entry {
    int32_t color, key;
    uint32_t next_ctx;
  };
  const int n = size(), me = rank();
  const std::string op = "split(color=" + std::to_string(color) + ", key=" + std::to_string(key) +
                         ") on group '" + name() + "' (" + std::to_string(n) +
                         " ranks, this is rank " + std::to_string(me) + ")";
  // All-gather (color, key, next free context id) over this group, counted as internal.
  std::vector<Entry> all(n);
  const Entry mine{color, key, ctx_->next_free_context_id()};
  all[me] = mine;
  {
    UcxTransport t(*this, OpKind::kInternal, ucx_tag::Collective(context_id_, NextSeq()),
                   Clock::now() + timeout(), op);
    std::vector<Request> reqs;
    reqs.reserve(2 * n);
    for (int p = 0; p < n; ++p) {
      if (p == me) continue;
      reqs.push_back(t.Irecv(&all[p], sizeof(Entry), p, 0));
      reqs.push_back(t.Isend(&mine, sizeof(Entry), p, 0));
    }
    t.WaitAll(reqs.data(), static_cast<int>(reqs.size()));
  }
  // Every member of a new group took part in creating every communicator it belongs to, so
  // an id above every member's used ids is free for all of them.
  uint32_t id = 0;
  for (const Entry& e : all) id = std::max(id, e.next_ctx);
  if (id >= ucx_tag::kMaxContexts) {
    throw BackendError("ucx: out of communicator context ids (" +
                       std::to_string(ucx_tag::kMaxContexts) + ") in " + op);
  }
  ctx_->UseContextIdsUpTo(id);
  if (color < 0) return nullptr;

  std::vector<int> members;  // parent ranks, ordered by (key, parent rank)
  for (int p = 0; p < n; ++p) {
    if (all[p].color == color) members.push_back(p);
  }
  std::sort(members.begin(), members.end(), [&](int x, int y) {
    return std::make_tuple(all[x].key, x) < std::make_tuple(all[y].key, y);
  });
  std::vector<int> world(members.size());
  int new_rank = -1;
  for (size_t i = 0; i < members.size(); ++i) {
    world[i] = world_ranks()[members[i]];
    if (members[i] == me) new_rank = static_cast<int>(i);
  }
  auto child = std::make_unique<UcxCommunicator>(
      ctx_, id, new_rank, static_cast<int>(members.size()),
      name() + "/split(color=" + std::to_string(color) + ")", std::move(world), executor());
  child->set_timeout(timeout());
  return child;
}

}  // namespace tpbench
