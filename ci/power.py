"""//ci:power: the gate's guarantees at the noise measured in a baseline, as a Markdown table.

    bazel run //ci:power [-- --baseline B.json] [--runs N] [--trials N] [--seed S]

Default: ci/testdata/noise_amd_epyc_quick.json, the quick sweep measured on the development
machine (x86_64-amd-epyc-2c-24g, 10 repetitions; formerly its stored baseline); --baseline
takes any baseline, e.g. a stored one under ci/baselines/. Prints, per noise
class, the baseline's robust CVs and the gate's threshold, and the slowdown of one benchmark
caught in >= 95% of simulated trials at the whole run's smallest Benjamini-Hochberg cut-off
(q / m), for a typical benchmark of the class (its median CV) and over all its benchmarks (each
with its own CV); then the share of simulated whole A/A runs with any regression, and a
bootstrap A/A from the baseline itself. The model is ci/noise_sim.py's (every parameter
measured on the baseline). docs/ci.md quotes this output.
"""

import argparse
import os
import random
import sys

from ci import gate_evaluate, noise_sim
from tpbench import results, stats


def main(argv):
    ap = argparse.ArgumentParser(prog="power", description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", help="baseline JSON (default: ci/testdata/"
                                       "noise_amd_epyc_quick.json)")
    ap.add_argument("--runs", type=int, default=1000, help="simulated whole A/A runs")
    ap.add_argument("--trials", type=int, default=1000, help="trials per class and slowdown")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    path = (results.user_path(args.baseline) if args.baseline else
            os.path.join(results.workspace_dir(), "ci", "testdata", "noise_amd_epyc_quick.json"))
    try:
        base = results.load(path)
    except results.UsageError as e:
        print("power: error: %s" % e, file=sys.stderr)
        return 2
    model = noise_sim.measured_model(base)
    noise = gate_evaluate.estimate_noise(base)
    meta = base["context"].get("tpbench_baseline") or {}
    m = noise_sim.comparisons(model)
    print("Baseline `%s` (commit %s, recorded %s); %d benchmarks, %d distinct timing "
          "comparisons (busbw_GBps counts with time_us), repetitions %d; spikes (beyond the "
          "outlier cut) in %.1f%% of the baseline's repetitions. Drift allowance %g%%, FDR q = "
          "%g, smallest cut-off q / m = %.2g. %d trials per class and slowdown, seed %d."
          % (os.path.relpath(path, results.workspace_dir()) if path.startswith(
              results.workspace_dir()) else path, meta.get("tpbench_version", "?"),
             meta.get("created", "?"), len(model["cases"]), m, gate_evaluate.DEFAULT_REPETITIONS,
             100 * model["spike_rate"], stats.DRIFT_PCT, stats.FDR_Q, stats.FDR_Q / m,
             args.trials, args.seed))
    print("")
    print("| class | benchmark metrics | robust CV median (90th pct) | threshold | detectable "
          "slowdown, typical (median CV) | detectable slowdown, all benchmarks |")
    print("|---|---|---|---|---|---|")
    for cls in noise_sim.classes(model):
        n = noise[cls]
        row = []
        for typical in (True, False):
            s, p = noise_sim.detectable_slowdown(model, cls, noise, args.trials, args.seed,
                                                 typical=typical)
            row.append("%d%% (%.1f%% caught)" % (s, 100 * p) if s is not None
                       else "> 200%% (%.1f%% at best)" % (100 * p))
        print("| %s | %d | %.1f%% (%.1f%%) | %.1f%% | %s | %s |" % (
            cls, n["benchmarks"], n["cv_pct"], n["p90_cv_pct"], n["threshold_pct"], row[0],
            row[1]))
    print("")
    rate, total = noise_sim.whole_run_false_alarm(model, args.runs, args.seed)
    print("Simulated whole A/A runs with any timing regression: %.1f%% of %d (%d regressions "
          "in all)." % (100 * rate, args.runs, total))
    rng = random.Random(args.seed)
    boot, boot_total = 0, 0
    runs = max(1, args.runs // 10)
    for _ in range(runs):
        res, b = noise_sim.bootstrap_run(rng, base)
        v = gate_evaluate.evaluate(res, b)
        boot += bool(v["regressions"])
        boot_total += len(v["regressions"])
    print("Bootstrap A/A (the baseline against its own repetitions redrawn with replacement): "
          "%d of %d runs with any regression (%d in all)." % (boot, runs, boot_total))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
