"""Regenerates the gate's fixtures (deterministic): PYTHONPATH=py python3 ci/testdata/make_fixtures.py
(ci/baseline.py imports the tpbench package, py/tpbench).

baseline.json: profile "test-profile", sweep "fixture.sweep", 4 benchmarks x 10 repetitions,
written by ci/baseline.py (//ci:baseline) from such a results file, as every baseline is.
same.json: other draws from the same noise (passes); slow2x.json: one large case 2x slower;
exact.json: one msgs_per_rank differs and one wrong != 0; other_profile.json: like same.json
on "other-profile"; missing.json: one benchmark dropped; few_reps.json: 1 repetition, 2x slower.
"""
import copy
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = [  # (name, world_size, size, time_us, bytes_sent, msgs)
    ("all_reduce/ucx/ring/f32/sum/bytes:8/inplace:0/ranks:2", 2, 8, 2.0, 8, 1),
    ("all_reduce/ucx/ring/f32/sum/bytes:4194304/inplace:0/ranks:2", 2, 4194304, 1800.0,
     4194304, 4),
    ("all_gather/ucx/auto/f32/none/bytes:1048576/inplace:0/ranks:4", 4, 1048576, 450.0,
     786432, 3),
    ("all_reduce/mpi/mpi/f32/sum/bytes:65536/inplace:0/ranks:2", 2, 65536, 40.0, None, None),
]


def doc(rng, profile="test-profile", reps=10, scale=None, mutate=None, drop=None):
    benches = []
    for ci, (name, world, size, t, sent, msgs) in enumerate(CASES):
        if drop == ci:
            continue
        for r in range(reps):
            tt = t * (scale or {}).get(ci, 1.0) * rng.lognormvariate(0, 0.03)
            busbw = size / tt / 1e3
            b = {"name": name + "/iterations:5/manual_time", "run_name": name +
                 "/iterations:5/manual_time", "run_type": "iteration", "repetitions": reps,
                 "repetition_index": r, "iterations": 5, "real_time": tt, "time_unit": "us",
                 "time_us": tt, "busbw_GBps": busbw, "algbw_GBps": busbw, "wrong": 0.0,
                 "size_bytes": float(size), "ranks": float(world), "world_size": world}
            if sent is not None:
                b["bytes_sent_per_rank"] = float(sent)
                b["msgs_per_rank"] = float(msgs)
            if mutate:
                mutate(ci, b)
            benches.append(b)
        agg = copy.deepcopy(benches[-1])
        agg.update({"name": name + "/iterations:5/manual_time_median", "run_type": "aggregate",
                    "aggregate_name": "median"})
        del agg["repetition_index"]
        benches.append(agg)
    return {"context": {"machine_profile": profile, "sweep": "fixture.sweep",
                        "tpbench_version": "0123456789ab", "world_size": "2,4",
                        "command": "python3 ci/testdata/make_fixtures.py (synthetic)"},
            "benchmarks": benches}


def exact_mutation(ci, b):
    if ci == 1:
        b["msgs_per_rank"] = 5.0
    if ci == 2 and b["repetition_index"] == 3:
        b["wrong"] = 2.0


def main():
    raw = os.path.join(tempfile.mkdtemp(), "results.json")
    with open(raw, "w") as f:
        json.dump(doc(random.Random(1)), f)
    target = os.path.join(HERE, "baseline.json")
    if os.path.exists(target):
        os.remove(target)  # regenerated, not updated: no "replaces"
    subprocess.check_call([sys.executable, os.path.join(os.path.dirname(HERE), "baseline.py"),
                           "--results", raw, "--out", target])
    out = {
        "same.json": doc(random.Random(2)),
        "slow2x.json": doc(random.Random(3), scale={1: 2.0}),
        "exact.json": doc(random.Random(4), mutate=exact_mutation),
        "other_profile.json": doc(random.Random(5), profile="other-profile"),
        "missing.json": doc(random.Random(6), drop=2),
        "few_reps.json": doc(random.Random(7), reps=1, scale={1: 2.0}),
    }
    for name, d in out.items():
        with open(os.path.join(HERE, name), "w") as f:
            json.dump(d, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
