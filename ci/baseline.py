"""//ci:baseline: stores a results file as the baseline the gate compares against.

    bazel run //ci:baseline -- --results R.json [--update] [--out B.json]

Writes ci/baselines/<context.machine_profile>/<sweep>.json in the source tree (sweep from
context.sweep without ".sweep"; "default" when absent), or --out. Refuses to overwrite an
existing baseline unless --update. The stored file keeps the context and the per-repetition
("iteration") runs; aggregates are dropped (the gate recomputes medians). It adds
context.tpbench_baseline = {"created" (UTC), "tpbench_version" (the git sha the results were
measured at), "machine_profile", "command" (the exact command that produced the results, from
the results' context.command, which //bench:sweep writes), "source", "repetitions",
"benchmarks", "replaces" (the previous baseline's sha and date when updating)}. The gate
refuses a baseline without this metadata. Results without a command, or measured at an
unknown or uncommitted ("-dirty") tree, are refused: a baseline must say how to reproduce it.
Exit codes: 0 written, 2 usage (malformed results, no command or commit, would overwrite).
"""

import argparse
import datetime
import json
import os
import sys

from tpbench import results
from tpbench.results import UsageError


# What the gate reads, plus enough of Google Benchmark's schema to stay a valid results file.
KEEP = {"name", "run_name", "run_type", "repetitions", "repetition_index", "iterations",
        "real_time", "time_unit", "world_size", "time_us", "algbw_GBps", "busbw_GBps",
        "size_bytes", "count", "ranks", "in_place", "step_ms", "fwd_ms", "bwd_ms",
        "fields"} | set(
            results.EXACT_METRICS)


class ArgParser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _provenance(rpath, ctx):
    """(commit, command) the results were measured at and with; UsageError without them."""
    sha = ctx.get("tpbench_version")
    if not isinstance(sha, str) or not sha or sha == "unknown" or sha.endswith("-dirty"):
        raise UsageError("%s: context.tpbench_version is %r: a baseline is measured at a "
                         "committed tree (commit, then run the sweep again)" % (rpath, sha))
    command = ctx.get("command")
    if not isinstance(command, str) or not command:
        raise UsageError("%s: context.command: missing: the results do not say how they "
                         "were produced; run them with //bench:sweep (bazel run "
                         "//bench:sweep -- --quick --benchmark_repetitions=10 --out DIR)"
                         % rpath)
    return sha, command


def _destination(args, ctx):
    """(baseline path, what it replaces or None); UsageError when it exists without --update."""
    sweep = ctx.get("sweep") if isinstance(ctx.get("sweep"), str) else ""
    sweep = sweep[:-len(".sweep")] if sweep.endswith(".sweep") else (sweep or "default")
    if args.out:
        out = results.user_path(args.out)
    else:
        bdir = (results.user_path(args.baselines_dir) if args.baselines_dir
                else os.path.join(results.workspace_dir(), "ci", "baselines"))
        out = os.path.join(bdir, ctx["machine_profile"], sweep + ".json")
    if not os.path.exists(out):
        return out, None
    if not args.update:
        raise UsageError("%s exists; pass --update to replace it (the gate compares "
                         "against it, so replacing it is a deliberate act)" % out)
    old = results.load(out)["context"].get("tpbench_baseline", {})
    return out, {"tpbench_version": old.get("tpbench_version"), "created": old.get("created")}


def main(argv):
    ap = ArgParser(prog="baseline", description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", required=True, help="results JSON to store")
    ap.add_argument("--update", action="store_true", help="replace an existing baseline")
    ap.add_argument("--out", help="baseline path (default: ci/baselines/<profile>/<sweep>.json)")
    ap.add_argument("--baselines-dir", help="stored baselines (default: ci/baselines in the "
                                            "source tree)")
    try:
        args = ap.parse_args(argv)
        rpath = results.user_path(args.results)
        res = results.load(rpath)  # validates what the gate needs
        ctx = dict(res["context"])
        sha, command = _provenance(rpath, ctx)
        out, replaces = _destination(args, ctx)
    except UsageError as e:
        print("baseline: error: %s" % e, file=sys.stderr)
        return 2
    runs = [{k: v for k, v in b.items() if k in KEEP}
            for b in res["raw"]["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    reps = max((b.get("repetitions", 1) for b in runs), default=1)
    ctx.pop("executable", None)  # Google Benchmark's absolute path of the binary
    ctx["tpbench_baseline"] = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tpbench_version": sha,
        "machine_profile": ctx["machine_profile"],
        "command": command,
        "source": os.path.basename(rpath),  # no machine-specific paths in the repository
        "repetitions": reps,
        "benchmarks": len(res["cases"]),
        "replaces": replaces,
    }
    # One benchmark per line: small diffs when a baseline is updated.
    text = ('{"context": %s,\n "benchmarks": [\n  %s\n ]}\n'
            % (json.dumps(ctx, indent=1, sort_keys=True),
               ",\n  ".join(json.dumps(b, sort_keys=True) for b in runs)))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    results.write_atomically(out, text)
    print("baseline: %s %s (profile %s, commit %s, %d benchmarks x %d repetitions)"
          % ("updated" if replaces else "created", out, ctx["machine_profile"],
             ctx["tpbench_baseline"]["tpbench_version"], len(res["cases"]), reps))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
