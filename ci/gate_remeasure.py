"""The gate's --remeasure: inconclusive comparisons measured again by a user command, the new
repetitions pooled with the first ones, and the run re-evaluated."""

import os
import shlex
import subprocess
import sys

from ci.gate_evaluate import display_name, evaluate
from tpbench import results
from tpbench.results import UsageError


def merge_remeasured(res, new, keys_metrics):
    """res with the timing samples of the (key, metric) pairs in keys_metrics extended by the
    new results' repetitions (pooled, not replaced: more repetitions give the rank test the
    power the first run lacked), and the exact values of those benchmarks extended too (a
    changed exact value in a re-measured run fails like any other). Other comparisons keep
    their inputs unchanged, so re-evaluating re-tests only the re-measured ones. Returns
    (merged res, {key: True} for the benchmarks found in the new results)."""
    cases = {k: {"name": c["name"], "world_size": c["world_size"],
                 "size_bytes": c["size_bytes"],
                 "samples": {m: list(v) for m, v in c["samples"].items()},
                 "exact": {m: list(v) for m, v in c["exact"].items()}}
             for k, c in res["cases"].items()}
    found = {}
    for key in sorted({k for k, _ in keys_metrics}, key=lambda k: (k[0], k[1] or 0)):
        nc = new["cases"].get(key)
        if nc is None:
            continue
        found[key] = True
        for metric, vals in nc["exact"].items():
            cases[key]["exact"].setdefault(metric, []).extend(vals)
        for k, metric in keys_metrics:
            if k == key and nc["samples"].get(metric):
                cases[key]["samples"].setdefault(metric, []).extend(nc["samples"][metric])
    return {"context": res["context"], "cases": cases}, found


def _fresh_dir(rdir):
    """The round's folder, emptied of the files an earlier gate run left there."""
    if os.path.isdir(rdir):
        for f in os.listdir(rdir):
            p = os.path.join(rdir, f)
            if os.path.isfile(p):
                os.remove(p)
    os.makedirs(rdir, exist_ok=True)


def _measure_round(res, command, rnd, rounds, out_dir, n_pending, keys_metrics):
    """Runs the command of round rnd; returns (the path of its results, the loaded results)."""
    rdir = os.path.join(out_dir, "remeasure-%d" % rnd)
    _fresh_dir(rdir)
    rpath = os.path.join(rdir, "results.json")
    npath = os.path.join(rdir, "names.txt")
    results.write_atomically(npath, "".join(
        n + "\n" for n in sorted({display_name(k) for k, _ in keys_metrics})))
    cmd = (command.replace("{outdir}", shlex.quote(rdir))
           .replace("{out}", shlex.quote(rpath))
           .replace("{names}", shlex.quote(npath))
           .replace("{round}", str(rnd)))
    print("gate: re-measuring %d inconclusive comparisons (round %d of %d): %s"
          % (n_pending, rnd, rounds, cmd), file=sys.stderr)
    proc = subprocess.run(cmd, shell=True, cwd=os.environ.get("BUILD_WORKING_DIRECTORY"))
    if proc.returncode != 0:
        raise UsageError("--remeasure round %d: command exited with %d: %s"
                         % (rnd, proc.returncode, cmd))
    if not os.path.exists(rpath):
        raise UsageError("--remeasure round %d: the command wrote no %s (write it to {out} "
                         "or {outdir}/results.json): %s" % (rnd, rpath, cmd))
    new = results.load(rpath)
    if new["context"]["machine_profile"] != res["context"]["machine_profile"]:
        raise UsageError("%s: context.machine_profile is '%s', the results' is '%s': "
                         "re-measure on the same machine" % (
                             rpath, new["context"]["machine_profile"],
                             res["context"]["machine_profile"]))
    return rpath, new


def _round_record(rnd, rpath, v, pending, by_name, keys_metrics, found):
    statuses = {}
    for status in ("regressions", "improvements", "inconclusive"):
        for e in v[status]:
            if (e["name"], e["metric"]) in set(pending):
                statuses[(e["name"], e["metric"])] = status
    rec = {"round": rnd, "results": rpath, "remeasured": len(pending),
           "not_in_results": sorted({display_name(k) for k, _ in keys_metrics
                                     if k not in found} | {n for n, _ in pending
                                                           if n not in by_name}),
           "now": {s: sum(1 for x in statuses.values() if x == s)
                   for s in ("regressions", "improvements", "inconclusive")}}
    rec["now"]["unchanged"] = len(pending) - sum(rec["now"].values())
    return rec


def remeasure(res, base, v, command, rounds, out_dir, evaluate_args):
    """Re-measures the inconclusive comparisons of verdict v: up to rounds times, runs
    command (placeholders {out}, {outdir}, {names}, {round}; docs/ci.md), pools the new
    repetitions of the inconclusive benchmarks with the earlier ones and re-evaluates.
    Returns the final verdict with v["remeasure"] recording each round. Raises UsageError
    when the command fails or writes no valid results of the same machine profile."""
    record = {"command": command, "max_rounds": rounds, "rounds": []}
    remeasured = {}  # (name, metric) -> rounds its samples include
    for rnd in range(1, rounds + 1):
        if not v["inconclusive"]:
            break
        pending = [(e["name"], e["metric"]) for e in v["inconclusive"]]
        by_name = {display_name(k): k for k in res["cases"]}
        keys_metrics = [(by_name[n], m) for n, m in pending if n in by_name]
        rpath, new = _measure_round(res, command, rnd, rounds, out_dir, len(pending),
                                    keys_metrics)
        res, found = merge_remeasured(res, new, keys_metrics)
        for k, m in keys_metrics:
            if k in found:
                remeasured[(display_name(k), m)] = rnd
        v = evaluate(res, base, *evaluate_args)
        record["rounds"].append(_round_record(rnd, rpath, v, pending, by_name, keys_metrics,
                                              found))
    for status in ("regressions", "improvements", "inconclusive"):
        for e in v[status]:
            if (e["name"], e["metric"]) in remeasured:
                e["remeasure_rounds"] = remeasured[(e["name"], e["metric"])]
    v["remeasure"] = record
    v["notes"].append("re-measured inconclusive comparisons in %d of at most %d rounds (%s)"
                      % (len(record["rounds"]), rounds, command))
    return v
