"""//ci:gate: compares a tpbench results file with a stored baseline and decides pass/fail.

    bazel run //ci:gate -- --results R.json [--baseline B.json] [--force] [--out DIR]
                           [--timing fail|report] [--allow-missing-baseline]
                           [--remeasure CMD [--remeasure-rounds N]]

Without --baseline the stored baseline is ci/baselines/<machine_profile>/<sweep>.json, where
machine_profile and sweep come from the results' context ("quick.sweep" -> quick.json; no
sweep -> default.json). Decision rules (docs/ci.md):

- exact metrics (wrong == 0 where checked; bytes_sent_per_rank, msgs_per_rank,
  comm_bytes_per_rank, comm_bytes_model, peak_mem_bytes_per_rank,
  peak_mem_model_bytes_per_rank equal to the baseline's) fail on any difference (the memory
  model only once the baseline has it: baselines stored before it existed lack it); a baseline benchmark missing from the results fails too (coverage must
  not shrink silently); a benchmark new in the results is listed but does not fail. A
  collective without `wrong` (run with -c 0) is listed as unchecked, never taken as 0.
- timing metrics (time_us, step_ms, fwd_ms, bwd_ms lower is better, busbw_GBps higher), per
  benchmark from the per-repetition samples. Noise classes (collectives by ranks and size
  <= / > 64 KiB; layer timings by ranks) get their robust CV from the baseline's own
  repetitions; a class's threshold is DRIFT_PCT + THRESHOLD_CVS x that CV. A regression needs
  the median change beyond the threshold and a one-sided Mann-Whitney U p (new vs the baseline
  made DRIFT_PCT worse) at or below the run's Benjamini-Hochberg cut-off (FDR q = FDR_Q over
  all timing comparisons). Beyond the threshold but not significant, or too few repetitions:
  "inconclusive". Large-effect rule: the median of the new samples' best half >= 1.5x (and
  >= 1 + 6 core CVs, the larger of the two samples', each at most 15%) worse than the
  baseline's best half, every new repetition worse than that whole best half, and a rank test
  p <= ALPHA on the best halves, is a regression too. Outliers are dropped from the baseline
  only (at most 2 of 10); a quarter or more of the new repetitions beyond the baseline's cut
  and above all of it makes an otherwise unchanged comparison inconclusive.
  With --remeasure CMD, inconclusive comparisons are measured again (CMD writes {out}), the
  new repetitions pooled with the first ones, and re-tested, at most --remeasure-rounds times.
  With --timing report, timing regressions are reported but do not fail.
- the baseline must carry the metadata //ci:baseline records (context.tpbench_baseline:
  tpbench_version, created, machine_profile, command), else exit 2.

Writes verdict.json, summary.md and junit.xml into --out (default: beside the results).
Exit codes: 0 pass, 7 fail, 2 usage (bad flag, missing/malformed file, no baseline, a baseline
without its recorded metadata, another profile's baseline without --force).
"""

import argparse
import json
import os
import sys

from ci import gate_evaluate, gate_remeasure, gate_render
from tpbench import results
from tpbench.results import UsageError


class ArgParser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser():
    ap = ArgParser(prog="gate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", required=True, help="results JSON to judge")
    ap.add_argument("--baseline", help="baseline JSON (default: the stored one for the "
                                       "results' machine profile and sweep)")
    ap.add_argument("--force", action="store_true",
                    help="compare against a baseline of another machine profile")
    ap.add_argument("--out", help="folder for verdict.json, summary.md, junit.xml "
                                  "(default: beside the results)")
    ap.add_argument("--timing", choices=("fail", "report"), default="fail",
                    help="fail: timing regressions fail the gate; report: listed only")
    ap.add_argument("--allow-missing-baseline", action="store_true",
                    help="no stored baseline for this profile: say so, write a 'no_baseline' "
                         "verdict and exit 0 instead of 2")
    ap.add_argument("--baselines-dir", help="where stored baselines live "
                                            "(default: ci/baselines in the source tree)")
    ap.add_argument("--quiet", action="store_true", help="do not print the summary")
    ap.add_argument("--remeasure", metavar="CMD",
                    help="when comparisons are inconclusive, run this shell command to measure "
                         "again; it must write a results JSON to {out} (= {outdir}/results.json, "
                         "a fresh folder per round); {names}: a file listing the inconclusive "
                         "benchmarks; {round}: 1, 2, ... The new repetitions are pooled with "
                         "the earlier ones and only those comparisons are re-tested")
    ap.add_argument("--remeasure-rounds", type=int, default=1, metavar="N",
                    help="at most N re-measure rounds (default 1)")
    return ap


def _no_baseline(args, msg, profile, out_dir):
    """--allow-missing-baseline without a stored baseline: a 'no_baseline' verdict, exit 0."""
    print("gate: %s" % msg, file=sys.stderr)
    v = {"verdict": "no_baseline", "profile": profile, "baseline": None,
         "forced": False, "timing_mode": args.timing, "regressions": [],
         "improvements": [], "inconclusive": [], "exact_failures": [],
         "unchecked": [], "unchanged": 0, "notes": [msg]}
    os.makedirs(out_dir, exist_ok=True)
    results.write_atomically(os.path.join(out_dir, "verdict.json"),
                             json.dumps(v, indent=1) + "\n")
    results.write_atomically(os.path.join(out_dir, "summary.md"),
                             "# tpbench performance gate: NO BASELINE\n\n%s\n" % msg)


def _baseline_path(args, res, rpath):
    """(baseline path, message when the stored one does not exist, profile)."""
    if args.baseline:
        return results.user_path(args.baseline), None, None
    bdir = (results.user_path(args.baselines_dir) if args.baselines_dir
            else os.path.join(results.workspace_dir(), "ci", "baselines"))
    bpath, profile, sweep = gate_evaluate.find_baseline(res, rpath, bdir)
    if os.path.exists(bpath):
        return bpath, None, profile
    return bpath, ("no stored baseline for machine profile '%s' and sweep '%s' (looked for %s); "
                   "create one on such a machine with: bazel run //ci:baseline -- --results %s"
                   % (profile, sweep, bpath, rpath)), profile


# Context keys whose values must match for timings to be comparable: (key, value when absent,
# what differs, how the note names it). Detect mode costs bandwidth (docs/runtime.md); an
# absent fault_mode is "fast", the only mode before it was recorded.
COMPARABLE = (("machine_profile", None, "machines", "profile"),
              ("fault_mode", "fast", "fault modes", "fault mode"))


def _load_baseline(args, res, rpath, bpath, notes):
    """The loaded baseline and whether it was compared across profiles or fault modes
    (--force)."""
    base = results.load(bpath, "baseline")
    results.check_baseline_metadata(bpath, base)
    forced = False
    for key, absent, what, name in COMPARABLE:
        bval = base["context"].get(key, absent)
        rval = res["context"].get(key, absent)
        if rval == bval:
            continue
        if not args.force:
            raise UsageError("%s: context.%s is '%s' but the results (%s) are from '%s'; "
                             "timings are not comparable across %s (pass --force to compare "
                             "anyway)" % (bpath, key, bval, rpath, rval, what))
        forced = True
        notes.append("baseline %s '%s' differs from the results' '%s': compared anyway "
                     "because of --force" % (name, bval, rval))
    return base, forced


def _judge(args, res, base, forced, bpath, notes, out_dir):
    """The verdict, re-measured when asked and inconclusive."""
    v = gate_evaluate.evaluate(res, base, args.timing, forced, bpath, notes)
    if args.remeasure_rounds < 0:
        raise UsageError("--remeasure-rounds must be >= 0, got %d" % args.remeasure_rounds)
    if args.remeasure and v["inconclusive"] and args.remeasure_rounds > 0:
        os.makedirs(out_dir, exist_ok=True)
        v = gate_remeasure.remeasure(res, base, v, args.remeasure, args.remeasure_rounds,
                                     out_dir, (args.timing, forced, bpath, notes))
    elif args.remeasure:
        v["remeasure"] = {"command": args.remeasure, "max_rounds": args.remeasure_rounds,
                          "rounds": []}
    return v


def main(argv):
    try:
        args = _parser().parse_args(argv)
        rpath = results.user_path(args.results)
        res = results.load(rpath)
        out_dir = results.user_path(args.out) if args.out else os.path.dirname(rpath)
        notes = []
        bpath, missing, profile = _baseline_path(args, res, rpath)
        if missing and not args.allow_missing_baseline:
            raise UsageError(missing)
        if missing:
            _no_baseline(args, missing, profile, out_dir)
            return 0
        base, forced = _load_baseline(args, res, rpath, bpath, notes)
        v = _judge(args, res, base, forced, bpath, notes, out_dir)
    except UsageError as e:
        print("gate: error: %s" % e, file=sys.stderr)
        return 2
    try:
        paths = gate_render.write_outputs(v, out_dir)
    except OSError as e:
        print("gate: error: cannot write into %s: %s" % (out_dir, e), file=sys.stderr)
        return 2
    if not args.quiet:
        print(gate_render.summary_md(v))
    print("gate: %s (%d regressions, %d exact failures, %d missing, %d inconclusive); wrote %s"
          % (v["verdict"], len(v["regressions"]), len(v["exact_failures"]), len(v["missing"]),
             len(v["inconclusive"]), ", ".join(paths.values())))
    return 7 if v["verdict"] == "fail" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
