#include "comm/comm_base.h"

#include <cstdlib>

#include "comm/bootstrap.h"
#include "comm/error.h"
#include "comm/reduce.h"

namespace tpbench {

std::chrono::milliseconds DefaultTimeout() {
  const char* env = std::getenv("TPBENCH_TIMEOUT_S");
  double s = env ? std::atof(env) : 0;
  if (s <= 0) s = 300;
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

OpCount Counters::Total() const {
  OpCount t;
  for (int i = 0; i < kNumOpKinds; ++i) {
    if (i == static_cast<int>(OpKind::kInternal)) continue;
    t.bytes += by_op_[i].bytes;
    t.msgs += by_op_[i].msgs;
    t.inter_node_bytes += by_op_[i].inter_node_bytes;
  }
  return t;
}

// ---- Executor ---------------------------------------------------------------------------

Executor::~Executor() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Executor::RunInline(const std::function<void()>& fn) {
  {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return queue_.empty() && !busy_; });
    busy_ = true;
  }
  struct Release {
    Executor* e;
    ~Release() {
      {
        std::lock_guard<std::mutex> l(e->mu_);
        e->busy_ = false;
      }
      e->cv_.notify_all();
    }
  } release{this};
  fn();
}

bool Executor::TryRunIdle(const std::function<void()>& fn) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (busy_ || !queue_.empty()) return false;
    busy_ = true;
  }
  fn();
  {
    std::lock_guard<std::mutex> l(mu_);
    busy_ = false;
  }
  cv_.notify_all();
  return true;
}

void Executor::Enqueue(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> l(mu_);
    queue_.push_back(std::move(fn));
    if (!worker_.joinable()) worker_ = std::thread([this] { Loop(); });
  }
  cv_.notify_all();
}

void Executor::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stop_ || (!queue_.empty() && !busy_); });
    if (queue_.empty() && stop_) return;
    std::function<void()> fn = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    l.unlock();
    fn();  // tasks catch their own exceptions
    l.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

// ---- CommBase ---------------------------------------------------------------------------

CommBase::CommBase(int rank, int size, std::string name, std::vector<int> world_ranks,
                   std::shared_ptr<Executor> executor)
    : rank_(rank),
      size_(size),
      name_(std::move(name)),
      world_ranks_(std::move(world_ranks)),
      executor_(std::move(executor)),
      timeout_(DefaultTimeout()) {}

std::string CommBase::DescribePeers(const std::vector<int>& g) const {
  std::string s = g.size() == 1 ? "rank " : "ranks ";
  std::string w = " (world ";
  for (size_t i = 0; i < g.size(); ++i) {
    if (i) s += ", ", w += ", ";
    s += std::to_string(g[i]);
    w += std::to_string(g[i] >= 0 && g[i] < size_ ? world_ranks_[g[i]] : -1);
  }
  return s + w + ")";
}

const std::string& CommBase::current_op() const {
  std::lock_guard<std::mutex> l(current_mu_);
  if (!current_op_ready_) {
    current_op_ = Describe(current_args_, current_algo_);
    current_op_ready_ = true;
  }
  return current_op_;
}

std::string CommBase::Describe(const CollArgs& a, const std::string& algo) const {
  std::string s = OpKindName(a.kind);
  if (a.kind != OpKind::kBarrier && a.kind != OpKind::kSendRecv) s += "/" + algo;
  s += " of " + std::to_string(a.count) + " x " + DataTypeName(a.dtype);
  if (a.kind == OpKind::kSendRecv) {
    s += " (send to " + std::to_string(a.peer_send) + ", recv from " + std::to_string(a.peer_recv) +
         ")";
  }
  s += " on group '" + name_ + "' (" + std::to_string(size_) + " ranks, this is rank " +
       std::to_string(rank_) + ")";
  return s;
}

void CommBase::Validate(const CollArgs& a) const {
  const std::string op = OpKindName(a.kind);
  if (a.root < 0 || a.root >= size_) {
    throw UsageError(op + ": root " + std::to_string(a.root) + " is out of range for group '" +
                     name_ + "' of " + std::to_string(size_) + " ranks");
  }
  if (a.kind == OpKind::kSendRecv) {
    if (a.peer_send < -1 || a.peer_send >= size_ || a.peer_recv < -1 || a.peer_recv >= size_) {
      throw UsageError(op + ": peer out of range for group '" + name_ + "' of " +
                       std::to_string(size_) + " ranks");
    }
    if (a.count > 0 && ((a.peer_send >= 0 && !a.send) || (a.peer_recv >= 0 && !a.recv))) {
      throw UsageError(op + ": null buffer");
    }
    return;
  }
  if (a.count == 0 || a.kind == OpKind::kBarrier) return;
  bool needs_send = !(a.kind == OpKind::kBroadcast && rank_ != a.root);
  bool needs_recv = !(a.kind == OpKind::kReduce && rank_ != a.root);
  if ((needs_send && !a.send) || (needs_recv && !a.recv)) {
    throw UsageError(op + ": null buffer for a non-empty op");
  }
}

WorkPtr CommBase::Run(const CollArgs& in, const OpOptions& o) {
  CollArgs a = in;
  a.rank = rank_;
  a.size = size_;
  Validate(a);
  const bool reduces =
      a.kind == OpKind::kAllReduce || a.kind == OpKind::kReduceScatter || a.kind == OpKind::kReduce;
  const std::string algo = o.algo.empty() ? "auto" : o.algo;
  if (a.kind != OpKind::kBarrier && a.kind != OpKind::kSendRecv) CheckAlgorithm(a.kind, algo);
  const bool avg = reduces && a.op == ReduceOp::kAvg;
  if (avg) a.op = ReduceOp::kSum;
  if (a.kind == OpKind::kBroadcast && a.send == nullptr) a.send = a.recv;  // non-root

  auto work = std::make_shared<Work>([this, a, algo] { return Describe(a, algo); }, timeout_);
  auto task = [this, a, algo, avg, work]() { RunTask(a, algo, avg, *work); };
  if (o.stream.kind == Stream::Kind::kAsync) {
    executor_->Enqueue(task);
  } else if (o.stream.kind == Stream::Kind::kInline) {
    executor_->RunInline(task);
    work->Wait();  // rethrows the op's error in the caller, like a blocking call
  } else {
    throw UsageError("backend " + backend() + " runs on host memory and has no device streams");
  }
  return work;
}

void CommBase::RunTask(const CollArgs& a, const std::string& algo, bool avg, Work& work) {
  work.MarkStarted();
  try {
    deadline_ = Clock::now() + timeout_;
    {
      std::lock_guard<std::mutex> l(current_mu_);
      current_args_ = a;
      current_algo_ = algo;
      current_op_ready_ = false;
    }
    NoteOpStart(static_cast<int>(a.kind), static_cast<int>(a.dtype), a.count, algo);
    {
      OpWatch::Scope watched(executor_->watch(), *this, deadline_, timeout_);
      Execute(a, algo);
    }
    if (avg && a.count > 0 && (a.kind != OpKind::kReduce || a.rank == a.root)) {
      DivideForAvg(a.recv, a.count, a.dtype, a.size);
    }
    work.MarkFinished();
  } catch (...) {
    work.MarkFinished(std::current_exception());
  }
}

std::unique_ptr<Communicator> CommBase::Split(int color, int key) {
  const std::string child = name_ + "/split(color=" + std::to_string(color) + ")";
  std::unique_ptr<CommBase> out;
  // Through the executor, so the split keeps its place among queued async ops.
  executor_->RunInline([&] {
    deadline_ = Clock::now() + timeout_;
    {
      std::lock_guard<std::mutex> l(current_mu_);
      current_op_ = "split(color=" + std::to_string(color) + ", key=" + std::to_string(key) +
                    ") on group '" + name_ + "' (" + std::to_string(size_) +
                    " ranks, this is rank " + std::to_string(rank_) + ")";
      current_op_ready_ = true;
    }
    OpWatch::Scope watched(executor_->watch(), *this, deadline_, timeout_);
    out = SplitGroup(color, key, child);
  });
  if (out) out->set_timeout(timeout_);
  return out;
}

void CommBase::NoteWaiting(const std::string& peers) {
  executor_->watch().NoteWaiting(*this, peers);
}

namespace {
CollArgs Make(OpKind k, const void* s, void* r, size_t n, DataType t) {
  CollArgs a;
  a.kind = k;
  a.send = s;
  a.recv = r;
  a.count = n;
  a.dtype = t;
  return a;
}
}  // namespace

WorkPtr CommBase::AllReduce(const void* s, void* r, size_t n, DataType t, ReduceOp op,
                            const OpOptions& o) {
  CollArgs a = Make(OpKind::kAllReduce, s, r, n, t);
  a.op = op;
  return Run(a, o);
}
WorkPtr CommBase::AllGather(const void* s, void* r, size_t n, DataType t, const OpOptions& o) {
  return Run(Make(OpKind::kAllGather, s, r, n, t), o);
}
WorkPtr CommBase::ReduceScatter(const void* s, void* r, size_t n, DataType t, ReduceOp op,
                                const OpOptions& o) {
  CollArgs a = Make(OpKind::kReduceScatter, s, r, n, t);
  a.op = op;
  return Run(a, o);
}
WorkPtr CommBase::Broadcast(const void* s, void* r, size_t n, DataType t, int root,
                            const OpOptions& o) {
  CollArgs a = Make(OpKind::kBroadcast, s, r, n, t);
  a.root = root;
  return Run(a, o);
}
WorkPtr CommBase::Reduce(const void* s, void* r, size_t n, DataType t, ReduceOp op, int root,
                         const OpOptions& o) {
  CollArgs a = Make(OpKind::kReduce, s, r, n, t);
  a.op = op;
  a.root = root;
  return Run(a, o);
}
WorkPtr CommBase::AllToAll(const void* s, void* r, size_t n, DataType t, const OpOptions& o) {
  return Run(Make(OpKind::kAllToAll, s, r, n, t), o);
}
WorkPtr CommBase::SendRecv(const void* s, int ps, void* r, int pr, size_t n, DataType t,
                           const OpOptions& o) {
  CollArgs a = Make(OpKind::kSendRecv, s, r, n, t);
  a.peer_send = ps;
  a.peer_recv = pr;
  return Run(a, o);
}
WorkPtr CommBase::Send(const void* b, size_t n, DataType t, int peer, const OpOptions& o) {
  return SendRecv(b, peer, nullptr, -1, n, t, o);
}
WorkPtr CommBase::Recv(void* b, size_t n, DataType t, int peer, const OpOptions& o) {
  return SendRecv(nullptr, -1, b, peer, n, t, o);
}
WorkPtr CommBase::Barrier(const OpOptions& o) {
  return Run(Make(OpKind::kBarrier, nullptr, nullptr, 0, DataType::kU8), o);
}

}  // namespace tpbench
