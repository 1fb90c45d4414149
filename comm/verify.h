// comm/verify.h: exactly checkable data for every collective (nccl-tests' "verifiable").
//
//   FillInput(a, send, seed);                 // a = the CollArgs of this rank (rank, size set)
//   comm.Run(a)->Wait();
//   uint64_t wrong = CountWrong(a, recv, seed);  // 0 when every element is exact
//
// Inputs are small integers chosen per reduction so that every result (sum of up to 63 ranks,
// products of 1s and 2s, min/max, avg = sum/n rounded as the dtype rounds) is exact in every
// dtype, f16, bf16 and i8 included. The expected value of each element is computed, not
// stored, so checking needs no extra memory.
#ifndef TPBENCH_COMM_VERIFY_H_
#define TPBENCH_COMM_VERIFY_H_

#include <cstdint>

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

}  // namespace tpbench

#endif  // TPBENCH_COMM_VERIFY_H_
