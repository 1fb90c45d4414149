"""Checks a tpbench results JSON against the result contract (docs/results.md).

    check_results.py RESULTS.json [--expect-wrong] [--iterations N] [--expect-inter-node]

Verifies Google Benchmark's schema (context, benchmarks[] with name, run_type, iterations,
real_time, time_unit), the tpbench context keys, every benchmark's `fields` (with a kind) when
the context names its tpbench_schema, the collective counters and their
arithmetic: algbw = size / time, busbw = algbw x the nccl-tests factor of the collective on
that many ranks, real_time = time_us. Layer results (//bench:layers, kind layer; //bench:patterns,
kind pattern) need the layer counters, real_time = step_ms, comm_frac = comm_exposed_ms / step_ms
in [0, 1], a positive peak_mem_bytes_per_rank (layers, not skeletons), max_rel_err present
(layers, not comm/... skeletons, which compute nothing) and below --max-rel-err, and
comm_bytes_per_rank == comm_bytes_model for tp1d and tp1d-sp cases (ring collectives; also
//bench:patterns' comm/tp1d/... skeletons), except on the mpi backend (field backend = mpi),
which cannot count bytes and must not report them. peak_mem_model_bytes_per_rank (the
scheme's memory model, layers/scheme.h; attention and block cases), when present, is a positive
number not above peak_mem_bytes_per_rank (it counts the tensors live at one instant of the
step, which the high-water mark cannot be below), and with --exact-peak-model equal to it (the
model is exact when the attention backward's working set is the high-water mark,
docs/schemes.md "Memory per rank"). Collective results of tpbench's own
algorithms carry the bytes the busiest rank sent to other nodes (inter_node_bytes_per_rank,
measured), the model's (inter_node_bytes_model) and the ranks whose own figure is off their
model (inter_node_ranks_off_model): when present, all three, measured == model and 0 ranks
off; the mpi backend cannot tell its library's traffic apart and must not report them (absent:
not measured, never 0). --expect-inter-node (a run across nodes, every rank sending across):
every checked non-mpi collective result must carry them, with a model above 0 (0 = 0 would
prove nothing). The fields (kind, coll, backend, scheme)
come from tpbench.schema. A collective result without `wrong` was not checked (`-c 0`): it is accepted and counted as "unchecked", never as 0 wrong elements
(--expect-wrong needs a checked result). Exits 0 when everything holds, 1 with every problem
listed otherwise.
"""

import argparse
import math
import sys

from tpbench import results, schema
from tpbench.collectives import bus_factor

CONTEXT_KEYS = ("tpbench_version", "backend", "world_size", "mesh", "ucx_version", "mpi_version",
                "nccl_version", "cuda_version", "driver_version", "cpu_model", "gpu_model",
                "machine_profile")
BENCH_KEYS = ("name", "run_type", "iterations", "real_time", "time_unit")
LAYER_COUNTERS = ("fwd_ms", "bwd_ms", "step_ms", "comm_bytes_per_rank", "comm_bytes_model",
                  "flops_per_rank", "tflops", "comm_exposed_ms", "comm_frac",
                  "peak_mem_bytes_per_rank")
# `wrong` is absent when the run did not check its results (-c 0): "unchecked", not 0.
COLL_COUNTERS = ("time_us", "algbw_GBps", "busbw_GBps", "size_bytes", "count", "ranks",
                 "in_place")


def close(a, b, rel=1e-6):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def check_layer(b, where, max_rel_err):
    """Problems of one //bench:layers result."""
    problems = []
    # The mpi backend cannot count its library's bytes: no comm_bytes_per_rank there.
    f = schema.fields(b)
    unmeasured = f.get("backend") == "mpi"
    for k in LAYER_COUNTERS:
        if unmeasured and k == "comm_bytes_per_rank":
            if k in b:
                problems.append("%s: comm_bytes_per_rank present for the mpi backend, which "
                                "cannot measure it" % where)
            continue
        if not isinstance(b.get(k), (int, float)):
            problems.append("%s: counter '%s' missing or not a number" % (where, k))
    if problems:
        return problems
    if b["step_ms"] <= 0:
        problems.append("%s: step_ms %g is not positive" % (where, b["step_ms"]))
    if not close(b["real_time"] * 1e-3, b["step_ms"], rel=1e-3):
        problems.append("%s: real_time %g us != step_ms %g" % (where, b["real_time"], b["step_ms"]))
    if not 0 <= b["comm_frac"] <= 1:
        problems.append("%s: comm_frac %g is not in [0, 1]" % (where, b["comm_frac"]))
    if b["step_ms"] > 0 and not close(b["comm_frac"], b["comm_exposed_ms"] / b["step_ms"],
                                      rel=1e-3):
        problems.append("%s: comm_frac %g != comm_exposed_ms / step_ms = %g"
                        % (where, b["comm_frac"], b["comm_exposed_ms"] / b["step_ms"]))
    scheme, skeleton = f.get("scheme"), f["kind"] == "pattern"
    if not skeleton and not b["peak_mem_bytes_per_rank"] > 0:
        problems.append("%s: peak_mem_bytes_per_rank %g is not positive"
                        % (where, b["peak_mem_bytes_per_rank"]))
    if scheme in ("tp1d", "tp1d-sp") and not unmeasured and \
            b["comm_bytes_per_rank"] != b["comm_bytes_model"]:
        problems.append("%s: comm_bytes_per_rank %g != comm_bytes_model %g"
                        % (where, b["comm_bytes_per_rank"], b["comm_bytes_model"]))
    err = b.get("max_rel_err")
    if not skeleton and not isinstance(err, (int, float)):
        # A layer result without max_rel_err was never compared with the serial reference.
        problems.append("%s: counter 'max_rel_err' missing or not a number (layer results "
                        "must be checked against the serial reference; -c 0 is not a result)"
                        % where)
    elif err is not None and not err <= max_rel_err:
        problems.append("%s: max_rel_err %g above %g" % (where, err, max_rel_err))
    return problems


INTER_COUNTERS = schema.INTER_NODE_METRICS


def check_inter_node(b, where, expect=False):
    """Problems of one collective result's bytes across nodes (measured vs the model);
    expect: a checked non-mpi result must have them, with a positive model."""
    have = [k for k in INTER_COUNTERS if k in b]
    if expect and "wrong" in b and schema.fields(b).get("backend") != "mpi":
        if not have:
            return ["%s: no inter-node counters (--expect-inter-node)" % where]
        if b.get("inter_node_bytes_model") == 0:
            return ["%s: inter_node_bytes_model is 0 (--expect-inter-node: every result "
                    "sends across nodes)" % where]
    if not have:
        return []
    if schema.fields(b).get("backend") == "mpi":
        return ["%s: %s present for the mpi backend, which cannot measure bytes across nodes"
                % (where, ", ".join(have))]
    problems = []
    for k in INTER_COUNTERS:
        v = b.get(k)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0 or v != int(v):
            problems.append("%s: counter '%s' is %r, not a count (the inter-node counters come "
                            "together)" % (where, k, v))
    if problems:
        return problems
    if b["inter_node_bytes_per_rank"] != b["inter_node_bytes_model"]:
        problems.append("%s: inter_node_bytes_per_rank %d != inter_node_bytes_model %d (bytes "
                        "across nodes off the model)" % (where, b["inter_node_bytes_per_rank"],
                                                         b["inter_node_bytes_model"]))
    if b["inter_node_ranks_off_model"] != 0:
        problems.append("%s: inter_node_ranks_off_model %d: ranks sent other bytes across nodes "
                        "than the model" % (where, b["inter_node_ranks_off_model"]))
    return problems


def check_peak_model(b, where, exact):
    """Problems of a layer result's peak_mem_model_bytes_per_rank (none when it has none)."""
    if "peak_mem_model_bytes_per_rank" not in b:
        return []
    model, peak = b["peak_mem_model_bytes_per_rank"], b.get("peak_mem_bytes_per_rank")
    if not isinstance(model, (int, float)) or not model > 0:
        return ["%s: peak_mem_model_bytes_per_rank %r is not a positive number" % (where, model)]
    if not isinstance(peak, (int, float)):
        return []  # check_layer names the missing counter
    if model > peak:
        return ["%s: peak_mem_model_bytes_per_rank %g above the measured high-water mark "
                "peak_mem_bytes_per_rank %g (the model counts a tensor that is not live)"
                % (where, model, peak)]
    if exact and model != peak:
        return ["%s: peak_mem_model_bytes_per_rank %g != peak_mem_bytes_per_rank %g "
                "(--exact-peak-model; measured / model = %.4f)" % (where, model, peak, peak / model)]
    return []


def check_collective(b, where, iterations, problems, expect_inter=False):
    """Appends the problems of one collective result; returns its `wrong` count, None when it
    has none (unchecked, -c 0), False when its counters are unusable."""
    for k in COLL_COUNTERS:
        if not isinstance(b.get(k), (int, float)):
            problems.append("%s: counter '%s' missing or not a number" % (where, k))
    if any(not isinstance(b.get(k), (int, float)) for k in COLL_COUNTERS):
        return False
    coll = schema.fields(b)["coll"]
    t, size, n = b["time_us"], b["size_bytes"], int(b["ranks"])
    if t <= 0:
        problems.append("%s: time_us %g is not positive" % (where, t))
        return False
    algbw = size / (t * 1e-6) / 1e9
    if not close(b["algbw_GBps"], algbw):
        problems.append("%s: algbw_GBps %g != size/time %g" % (where, b["algbw_GBps"], algbw))
    want_bus = b["algbw_GBps"] * bus_factor(coll, n)
    if not close(b["busbw_GBps"], want_bus):
        problems.append("%s: busbw_GBps %g != algbw x %s factor on %d ranks = %g"
                        % (where, b["busbw_GBps"], coll, n, want_bus))
    if not close(b["real_time"], t, rel=1e-3):
        problems.append("%s: real_time %g != time_us %g" % (where, b["real_time"], t))
    if iterations is not None and b["iterations"] != iterations:
        problems.append("%s: %d iterations, expected %d" % (where, b["iterations"], iterations))
    for k in ("bytes_sent_per_rank", "msgs_per_rank"):
        if k in b and (b[k] < 0 or b[k] != int(b[k])):
            problems.append("%s: %s %g is not a count" % (where, k, b[k]))
    problems += check_inter_node(b, where, expect_inter)
    if "wrong" not in b:
        return None
    if not isinstance(b["wrong"], (int, float)) or isinstance(b["wrong"], bool) or \
            not b["wrong"] >= 0:
        problems.append("%s: counter 'wrong' is %r, not a count" % (where, b["wrong"]))
        return False
    return b["wrong"]


def check(data, expect_wrong=False, iterations=None, max_rel_err=1e-4, exact_peak_model=False,
          expect_inter=False):
    problems = []
    if not isinstance(data, dict) or "context" not in data or "benchmarks" not in data:
        return ["top level: needs 'context' and 'benchmarks'"]
    ctx = data["context"]
    for k in CONTEXT_KEYS:
        if not isinstance(ctx.get(k), str) or not ctx.get(k):
            problems.append("context: missing or empty '%s'" % k)
    benches = data["benchmarks"]
    if not benches:
        problems.append("benchmarks: empty")
    wrong_total, checked, unchecked = 0, 0, 0
    # Files that name their schema version carry every benchmark's fields (tpbench.schema).
    versioned = ctx.get("tpbench_schema") is not None
    for i, b in enumerate(benches):
        where = "benchmarks[%d] (%s)" % (i, b.get("name", "?"))
        for k in BENCH_KEYS:
            if k not in b:
                problems.append("%s: missing '%s'" % (where, k))
        f = b.get("fields")
        if versioned and (not isinstance(f, dict) or f.get("kind") not in schema.KINDS):
            problems.append("%s: 'fields' missing or without a kind (context.tpbench_schema "
                            "is %r)" % (where, ctx.get("tpbench_schema")))
        if b.get("run_type") != "iteration":
            continue
        if b.get("time_unit") != "us":
            problems.append("%s: time_unit %r, expected 'us'" % (where, b.get("time_unit")))
        if not schema.is_collective(b):
            problems += check_layer(b, where, max_rel_err)
            problems += check_peak_model(b, where, exact_peak_model)
            continue
        wrong = check_collective(b, where, iterations, problems, expect_inter)
        if wrong is None:
            unchecked += 1  # -c 0: not checked, which is not "0 wrong"
        elif wrong is not False:
            checked += 1
            wrong_total += wrong
    if expect_wrong and checked == 0:
        problems.append("expected some wrong elements, but no result was checked (no 'wrong' "
                        "counter: %d unchecked)" % unchecked)
    elif expect_wrong and wrong_total == 0:
        problems.append("expected some wrong elements, found none")
    if not expect_wrong and wrong_total != 0:
        problems.append("%d wrong elements" % wrong_total)
    return problems


def unchecked_count(data):
    """Collective iteration results without a `wrong` counter (run with -c 0)."""
    return sum(1 for b in data.get("benchmarks", [])
               if b.get("run_type") == "iteration" and "wrong" not in b
               and schema.is_collective(b))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--expect-wrong", action="store_true")
    ap.add_argument("--iterations", type=int)
    ap.add_argument("--max-rel-err", type=float, default=1e-4)
    ap.add_argument("--expect-inter-node", action="store_true")
    ap.add_argument("--exact-peak-model", action="store_true",
                    help="peak_mem_model_bytes_per_rank must equal peak_mem_bytes_per_rank")
    args = ap.parse_args(argv)
    try:
        data = results.read_json(args.results)
    except results.UsageError as e:
        print("check_results: %s" % e, file=sys.stderr)
        return 1
    problems = check(data, args.expect_wrong, args.iterations, args.max_rel_err,
                     args.exact_peak_model, args.expect_inter_node)
    for p in problems:
        print("check_results: %s: %s" % (args.results, p), file=sys.stderr)
    if not problems:
        n = unchecked_count(data)
        print("check_results: %s: %d benchmarks OK%s" % (
            args.results, len(data["benchmarks"]),
            "; %d collective results unchecked (no 'wrong' counter: run with -c 0)" % n
            if n else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
