// comm/verify.h: exactly checkable data for every collective (nccl-tests' "verifiable"), and
// the corruptions a buggy algorithm produces, to prove that the check catches them.
//
//   FillInput(a, send, seed);                 // a = the CollArgs of this rank (rank, size set)
//   comm.Run(a)->Wait();
//   uint64_t wrong = CountWrong(a, recv, seed);  // 0 when every element is exact
//
// Every rank's contribution differs from every other rank's, for every collective, op and
// dtype, so a result that counts a rank twice, drops one, uses the wrong rank's block or only
// this rank's own data is counted as wrong. The values are small integers, so every partial
// sum of any reduction order is exact in the dtype and results compare bit for bit.
//
// Sums (sum, avg): rank r contributes at global element i
//   x_r(i) = 1 + (g(i) + r + seed) mod m,   g(i) = i + floor(i / m),
// with m odd, m != n, and the largest with n * m <= L (the dtype's exact-integer limit: i8 127,
// u8 255, bf16 256, f16 2048; capped at 127 for wider types); rank offsets are
// 0, 1, ..., n-2, n, so no rank's value is the mean of all (n x one rank's input is never the
// sum; an integer avg truncates and sees it only where values wrap, every m elements):
//   - x_r(i) >= 1: a dropped or doubled rank changes every element of a sum;
//   - while m > n, ranks differ at every element (so rank 0 counted in place of rank n-1 is
//     wrong everywhere) and the sum changes from every element to the next (a segment shifted
//     by one element is wrong everywhere); that holds up to 10 ranks in i8, 15 in u8 and
//     bf16, 44 in f16 and 126 in wider types; beyond, at most elements;
//   - the pattern repeats only every m^2 elements (m odd), so swapped halves or blocks are
//     seen unless their distance is a multiple of m^2.
//   When L / n < 3 (i8 beyond 42 ranks) each element instead gets a 1 from one rank and 0 from
//   the others (the sum is 1: exact for any n, and a dropped rank is seen on its elements).
// min, max: the same formula with m the smallest odd number above n: ranks differ at every
//   element and each rank holds the unique minimum and maximum once every m elements, where
//   dropping or replacing it shows. (Counting a rank twice cannot change a min or max.)
// prod: with q the smallest odd number above n, rank r contributes 2 at the elements where
//   (g(i) + seed) mod q == r, else 1: every product is 1 or 2 (exact in i8) and each rank
//   owns its own elements. Bugs show on those elements only, so they need counts of a few q.
// Non-reductions (all_gather, broadcast, all_to_all, sendrecv): the element j of send block b
//   of rank r is (31 r + 17 b + 7 j + seed) mod 101: blocks of different ranks, and of one
//   rank for different destinations, differ at every element for n < 101.
#ifndef TPBENCH_COMM_VERIFY_H_
#define TPBENCH_COMM_VERIFY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "comm/coll.h"

namespace tpbench {

// Number of elements of the send / recv buffers of a for its rank (per the conventions in
// coll.h: e.g. all_gather sends count and receives size*count).
size_t SendElements(const CollArgs& a);
size_t RecvElements(const CollArgs& a);

// Value that rank `rank` contributes at element i of its send buffer.
double InputValue(const CollArgs& a, int rank, size_t i, int seed);

// Fills this rank's send buffer (a.send, cast away const) with InputValue.
void FillInput(const CollArgs& a, void* send, int seed);

// Elements of `recv` (RecvElements(a) of them) that differ from the exact result on this rank.
// For reduce, only root checks; for broadcast every rank checks.
uint64_t CountWrong(const CollArgs& a, const void* recv, int seed);

// The bugs a collective algorithm really has, as test hooks (//bench:collectives
// --debug-corrupt KIND): Corrupt() turns a correct result in `recv` into what the bug leaves.
enum class Corruption {
  kOwnTimesN,  // reductions: n x this rank's input; others: this rank's own data everywhere
  kReplaced,   // the last rank's contribution/block replaced by rank 0's (another root/peer)
  kDropped,    // the last rank's contribution missing (its block never written)
  kDoubled,    // rank 0's contribution counted twice (reductions only)
  kPermuted,   // blocks 0 and 1 swapped (reduce_scatter: the next rank's block; else halves)
  kShifted,    // a quarter of the result takes the value of the element after it
};
const std::vector<Corruption>& AllCorruptions();
const char* CorruptionName(Corruption c);  // "own_times_n", "replaced", ...
bool ParseCorruption(const std::string& s, Corruption* out);
std::string CorruptionNames();  // "own_times_n, replaced, ..."

// Applies c to this rank's correct result in `recv`. Returns false (and leaves recv alone)
// where the bug has no meaning for this op or size (e.g. kDoubled for all_gather, kShifted of
// one element, anything on a reduce's non-root rank).
bool Corrupt(Corruption c, const CollArgs& a, void* recv, int seed);

}  // namespace tpbench

#endif  // TPBENCH_COMM_VERIFY_H_
