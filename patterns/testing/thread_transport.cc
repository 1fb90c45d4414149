// patterns/testing/thread_transport.cc: mailboxes, matching, deadlines and context ids of
// RunRanks and RunCommunicators.
#include "patterns/testing/thread_transport.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>

#include "comm/error.h"
#include "patterns/p2p_communicator.h"

namespace tpbench {
namespace {

struct Req {
  bool is_send = false;
  int peer = -1;
  int tag = 0;
  size_t bytes = 0;
  void* recv_buf = nullptr;        // receive
  const void* send_buf = nullptr;  // rendezvous send
  std::vector<char> eager;         // eager send payload
  bool done = false;
  std::string error;  // set on a size mismatch
};

// Messages and posted receives from src to dst (world ranks) with one tag in one context,
// each in order.
struct Channel {
  std::deque<Req*> sends;
  std::deque<Req*> recvs;
};

class World {
 public:
  World(int n, const ThreadTransportOptions& o) : n_(n), opts_(o), stats_(n), next_ctx_(n, 1) {}

  std::mutex mu;
  std::condition_variable cv;
  bool aborted = false;

  int n() const { return n_; }
  const ThreadTransportOptions& opts() const { return opts_; }
  std::vector<RankStats>& stats() { return stats_; }
  Channel& Chan(uint32_t ctx, int src, int dst, int tag) {
    return chans_[std::make_tuple(ctx, src, dst, tag)];
  }
  // Next free context id of each world rank (the world's is 0). Caller holds mu.
  uint32_t& next_ctx(int world_rank) { return next_ctx_[world_rank]; }
  Req* NewReq(int rank) {
    std::lock_guard<std::mutex> l(pool_mu_);
    pool_.push_back(std::make_unique<Req>());
    (void)rank;
    return pool_.back().get();
  }

  // Copies every matchable (send, receive) pair of the channel. Caller holds mu.
  void Match(Channel& c) {
    if (aborted) return;  // a failed rank's buffers may be gone
    bool any = false;
    while (!c.sends.empty() && !c.recvs.empty()) {
      Req* s = c.sends.front();
      Req* r = c.recvs.front();
      c.sends.pop_front();
      c.recvs.pop_front();
      if (s->bytes != r->bytes) {
        r->error = "message of " + std::to_string(s->bytes) + " bytes from rank " +
                   std::to_string(r->peer) + " (tag " + std::to_string(r->tag) +
                   ") matched a receive of " + std::to_string(r->bytes) + " bytes";
      } else {
        std::memcpy(r->recv_buf, opts_.rendezvous ? s->send_buf : s->eager.data(), s->bytes);
      }
      r->done = s->done = true;
      any = true;
    }
    if (any) cv.notify_all();
  }

 private:
  int n_;
  ThreadTransportOptions opts_;
  std::vector<RankStats> stats_;
  std::vector<uint32_t> next_ctx_;
  std::map<std::tuple<uint32_t, int, int, int>, Channel> chans_;
  std::mutex pool_mu_;
  std::deque<std::unique_ptr<Req>> pool_;
};

class ThreadP2P : public Transport {
 public:
  ThreadP2P(World* w, int rank, std::vector<int> world_ranks, uint32_t ctx)
      : w_(w), rank_(rank), world_ranks_(std::move(world_ranks)), ctx_(ctx) {}
  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(world_ranks_.size()); }

  Request Isend(const void* buf, size_t bytes, int peer, int tag) override {
    Check(peer, tag, "Isend");
    if (bytes == 0) return Request{nullptr, peer, true};
    Req* q = w_->NewReq(rank_);
    q->is_send = true, q->peer = peer, q->tag = tag, q->bytes = bytes;
    if (w_->opts().rendezvous) {
      q->send_buf = buf;
    } else {
      q->eager.assign(static_cast<const char*>(buf), static_cast<const char*>(buf) + bytes);
    }
    if (op_.owner) op_.owner->op_counters().Add(op_.kind, bytes, node(peer) != node(rank_));
    std::lock_guard<std::mutex> l(w_->mu);
    RankStats& s = w_->stats()[me()];
    s.bytes += bytes, s.msgs += 1;
    if (node(peer) != node(rank_)) s.inter_node_bytes += bytes;
    Channel& c = w_->Chan(ctx_, me(), world_ranks_[peer], Key(tag));
    c.sends.push_back(q);
    w_->Match(c);
    // Eager sends complete at once: the payload is copied.
    if (!w_->opts().rendezvous) return Request{nullptr, peer, true};
    return Request{q, peer, true};
  }

  Request Irecv(void* buf, size_t bytes, int peer, int tag) override {
    Check(peer, tag, "Irecv");
    if (bytes == 0) return Request{nullptr, peer, false};
    Req* q = w_->NewReq(rank_);
    q->peer = peer, q->tag = tag, q->bytes = bytes, q->recv_buf = buf;
    std::lock_guard<std::mutex> l(w_->mu);
    Channel& c = w_->Chan(ctx_, world_ranks_[peer], me(), Key(tag));
    c.recvs.push_back(q);
    w_->Match(c);
    return Request{q, peer, false};
  }

  void BeginOp(const TransportOp& op) override { op_ = op; }
  bool counts_inter_node() const override { return true; }
  const std::vector<int>& world_ranks() const override { return world_ranks_; }
  int node(int r) const override {
    const std::vector<int>& nodes = w_->opts().nodes;
    return nodes.empty() ? 0 : nodes.at(static_cast<size_t>(world_ranks_.at(r)));
  }
  uint32_t next_free_context_id() const override {
    std::lock_guard<std::mutex> l(w_->mu);
    return w_->next_ctx(me());
  }
  uint32_t max_context_ids() const override { return uint32_t{1} << 16; }
  std::unique_ptr<Transport> Split(uint32_t ctx, const std::vector<int>& members) override {
    {
      std::lock_guard<std::mutex> l(w_->mu);
      w_->next_ctx(me()) = std::max(w_->next_ctx(me()), ctx + 1);
    }
    if (members.empty()) return nullptr;
    std::vector<int> world(members.size());
    int new_rank = -1;
    for (size_t i = 0; i < members.size(); ++i) {
      world[i] = world_ranks_[members[i]];
      if (members[i] == rank_) new_rank = static_cast<int>(i);
    }
    return std::make_unique<ThreadP2P>(w_, new_rank, std::move(world), ctx);
  }

  void WaitAll(Request* reqs, int n) override {
    const auto deadline =
        op_.owner ? op_.deadline : std::chrono::steady_clock::now() + w_->opts().timeout;
    std::unique_lock<std::mutex> l(w_->mu);
    for (;;) {
      if (w_->aborted) throw Error(ExitCode::kBackend, "aborted: another rank failed");
      bool all = true;
      for (int i = 0; i < n; ++i) {
        Req* q = static_cast<Req*>(reqs[i].handle);
        if (q == nullptr) continue;
        if (!q->error.empty()) {
          throw BackendError("rank " + std::to_string(rank_) + ": " + q->error);
        }
        all = all && q->done;
      }
      if (all) break;
      if (w_->cv.wait_until(l, deadline) == std::cv_status::timeout) {
        std::string missing;
        for (int i = 0; i < n; ++i) {
          Req* q = static_cast<Req*>(reqs[i].handle);
          if (q == nullptr || q->done) continue;
          if (!missing.empty()) missing += ", ";
          missing += std::string(q->is_send ? "send to" : "recv from") + " rank " +
                     std::to_string(q->peer) + " (tag " + std::to_string(q->tag) + ", " +
                     std::to_string(q->bytes) + " bytes)";
        }
        if (!missing.empty()) throw Timeout(missing);
      }
    }
    for (int i = 0; i < n; ++i) reqs[i].handle = nullptr;
  }

  char* Scratch(size_t bytes, int slot) override {
    if (slot < 0 || slot >= kScratchSlots) throw BackendError("Scratch: slot out of range");
    std::vector<char>& s = scratch_[slot];
    // Contents are undefined on entry: fill new space with garbage to catch assumptions.
    if (s.size() < bytes) s.resize(bytes, static_cast<char>(0xA5));
    return s.data();
  }

 private:
  int me() const { return world_ranks_[rank_]; }
  // Point-to-point ops of a communicator match by source only (the tag is ignored).
  int Key(int tag) const { return op_.owner && op_.point_to_point ? -1 : tag; }
  Error Timeout(const std::string& missing) const {
    if (op_.owner) {
      return TimeoutError("timeout after " + std::to_string(op_.owner->op_timeout().count()) +
                          " ms in " + op_.owner->current_op() + ": waiting for " + missing);
    }
    return TimeoutError("rank " + std::to_string(rank_) + " of " + std::to_string(size()) +
                        " timed out after " + std::to_string(w_->opts().timeout.count()) +
                        " ms waiting for " + missing);
  }

  void Check(int peer, int tag, const char* what) const {
    if (peer < 0 || peer >= size() || tag < 0 || tag > kMaxTag) {
      throw BackendError(std::string(what) + " on rank " + std::to_string(rank_) + ": peer " +
                         std::to_string(peer) + " or tag " + std::to_string(tag) + " out of range");
    }
  }

  World* w_;
  int rank_;
  std::vector<int> world_ranks_;  // of this group's ranks
  uint32_t ctx_;
  TransportOp op_;  // owner == nullptr under RunRanks (no communicator)
  std::vector<char> scratch_[kScratchSlots];
};

// Runs body(rank) on n threads; the first exception thrown unblocks the others and is
// rethrown once all have ended.
std::vector<RankStats> RunThreads(int n, const ThreadTransportOptions& options,
                                  const std::function<void(World&, int)>& body) {
  World world(n, options);
  std::exception_ptr first;
  std::mutex err_mu;
  auto run = [&](int r) {
    try {
      body(world, r);
    } catch (...) {
      {
        std::lock_guard<std::mutex> l(err_mu);
        if (!first) first = std::current_exception();
      }
      std::lock_guard<std::mutex> l(world.mu);
      world.aborted = true;
      world.cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (int r = 0; r < n; ++r) threads.emplace_back(run, r);
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
  return world.stats();
}

std::vector<int> Identity(int n) {
  std::vector<int> v(n);
  for (int r = 0; r < n; ++r) v[r] = r;
  return v;
}

}  // namespace

std::vector<RankStats> RunRanks(int n, const std::function<void(P2P&)>& fn,
                                const ThreadTransportOptions& options) {
  return RunThreads(n, options, [&](World& w, int r) {
    ThreadP2P p(&w, r, Identity(n), /*ctx=*/0);
    fn(p);
  });
}

std::vector<RankStats> RunCommunicators(int n, const std::function<void(Communicator&)>& fn,
                                        const ThreadTransportOptions& options) {
  return RunThreads(n, options, [&](World& w, int r) {
    P2PCommunicator world("thread", std::make_shared<ThreadP2P>(&w, r, Identity(n), 0), "world",
                          std::make_shared<Executor>());
    world.set_timeout(options.timeout);
    fn(world);
  });
}

}  // namespace tpbench
