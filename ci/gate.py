"""//ci:gate: compares a tpbench results file with a stored baseline and decides pass/fail.

    bazel run //ci:gate -- --results R.json [--baseline B.json] [--force] [--out DIR]
                           [--timing fail|report] [--allow-missing-baseline]
                           [--remeasure CMD [--remeasure-rounds N]]

Without --baseline the stored baseline is ci/baselines/<machine_profile>/<sweep>.json, where
machine_profile and sweep come from the results' context ("quick.sweep" -> quick.json; no
sweep -> default.json). Decision rules (docs/ci.md):

- exact metrics (wrong == 0 where checked; bytes_sent_per_rank, msgs_per_rank,
  comm_bytes_per_rank, comm_bytes_model, peak_mem_bytes_per_rank equal to the baseline's) fail
  on any difference; a baseline benchmark missing from the results fails too (coverage must
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
import datetime
import json
import math
import os
import shlex
import subprocess
import statistics
import sys
from xml.sax.saxutils import escape, quoteattr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mannwhitney  # noqa: E402
import results  # noqa: E402
from results import UsageError  # noqa: E402

ALPHA = 0.05  # the level of one comparison on its own (compare_metric) and of the rules below
# Whole run: Benjamini-Hochberg false-discovery rate over all timing comparisons. The budget
# for "an A/A run reports any regression" is 5%: 3% for the rank tests (under the complete null
# Benjamini-Hochberg's false-discovery rate is that probability), the rest for the large-effect
# rule, whose rate is measured by simulation (ci/gate_test.py, docs/ci.md; 600 runs each):
# 0.2% of runs at the development machine's noise, 0.3% at the loaded CI machine's.
FDR_Q = 0.03
# Run-to-run drift the gate allows: the rank test compares the new samples with the baseline's
# shifted by this much in the bad direction, so a shift of the whole distribution up to this
# size is not evidence of a regression (docs/ci.md "Noise model").
DRIFT_PCT = 2.0
# A class's median-change threshold: the drift plus THRESHOLD_CVS robust CVs of one repetition
# of that class, measured on the baseline's own repetitions.
THRESHOLD_CVS = 2.0
SMALL_MAX_BYTES = 64 * 1024
# Timing metrics; group: collective timings are classed by size, layer timings by themselves.
METRICS = {
    "time_us": {"lower_is_better": True, "group": "collective"},
    "busbw_GBps": {"lower_is_better": False, "group": "collective"},
    "step_ms": {"lower_is_better": True, "group": "layer"},
    "fwd_ms": {"lower_is_better": True, "group": "layer"},
    "bwd_ms": {"lower_is_better": True, "group": "layer"},
}
# busbw_GBps is size / time: its CV is time_us's, so only time_us enters the class estimate.
NOISE_METRICS = ("time_us", "step_ms", "fwd_ms", "bwd_ms")
# A class with no estimate in the baseline (a new kind of benchmark) uses the noisiest class's
# CV, or this when the baseline has no repetitions at all.
FALLBACK_CV_PCT = 10.0
# Default repetitions CI runs (bench --benchmark_repetitions).
DEFAULT_REPETITIONS = 10
OUTLIER_MADS = 5.0
OUTLIER_MIN_PCT = 5.0
# Outliers are dropped from the baseline's repetitions only, and only while they are at most
# (n - 1) // OUTLIER_MAX_SHARE of them (2 of 10); more are a second mode and are kept. The new
# run's repetitions are never dropped: a regression that hits a third of them must count. When
# at least a quarter of the new repetitions lie beyond the baseline's outlier cut on the bad
# side and a tail test says they exceed every baseline repetition more than chance (p <=
# ALPHA), an otherwise unchanged comparison is inconclusive (re-measure).
OUTLIER_MAX_SHARE = 4
# Large-effect rule (docs/ci.md "Large effects"): timing noise is one-sided (a spike only ever
# makes a repetition slower), so the best half of a sample's repetitions is its clean core even
# when up to half of them were spikes. When the median of the new best half is at least
# LARGE_EFFECT_FACTOR times worse than the baseline's, and a one-sided rank test on the two
# best halves gives p <= ALPHA, the change is a regression whatever the whole-sample test says.
LARGE_EFFECT_FACTOR = 1.5
# The rule's p-value is at ALPHA, outside the whole run's false-discovery control, so three
# guards keep it quiet in A/A runs (simulated with measured noise, ci/gate_test.py): the factor
# is at least 1 + LARGE_EFFECT_CVS core CVs (core_cv: the noise of a sample's densest half;
# the larger of the two samples'); the rule does not apply when that core CV is above
# LARGE_EFFECT_MAX_CORE_CV (samples that wide have no clean core, and their best halves differ
# by 1.5x-25x by chance); and
# every new repetition must be worse than every value of the baseline's best half (a load that
# only shifts the mix of fast and slow repetitions leaves some new ones fast).
LARGE_EFFECT_CVS = 6.0
LARGE_EFFECT_MAX_CORE_CV = 0.15


def size_class(size_bytes):
    return "small" if size_bytes <= SMALL_MAX_BYTES else "large"


def noise_class(metric, world_size, size_bytes):
    """The noise class of one timing comparison: layer timings (step_ms, fwd_ms, bwd_ms) by
    ranks; collective timings by ranks and size class (<= 64 KiB small, else large)."""
    ranks = "%sr" % (world_size if world_size is not None else "?")
    if METRICS[metric]["group"] == "layer":
        return "layer-" + ranks
    return "%s-%s" % (size_class(size_bytes), ranks)


def robust_cv(samples):
    """1.4826 x MAD / median: the CV of one repetition, blind to a minority of spikes."""
    if len(samples) < 3:
        return None
    m = statistics.median(samples)
    if not m > 0:
        return None
    return 1.4826 * statistics.median([abs(v - m) for v in samples]) / m


def estimate_noise(base):
    """{class: {"cv_pct" (median robust CV over the class's benchmarks), "p90_cv_pct",
    "benchmarks", "threshold_pct" (DRIFT_PCT + THRESHOLD_CVS x cv_pct)}} from the
    baseline's own repetitions; "fallback" holds the CV for classes absent from the baseline."""
    cvs = {}
    for key, case in base["cases"].items():
        for metric in NOISE_METRICS:
            cv = robust_cv(case["samples"].get(metric) or [])
            if cv is not None:
                cvs.setdefault(noise_class(metric, key[1], case["size_bytes"]), []).append(
                    100.0 * cv)
    out = {}
    for cls, vals in cvs.items():
        vals = sorted(vals)
        cv = statistics.median(vals)
        out[cls] = {"cv_pct": cv, "p90_cv_pct": vals[int(0.9 * (len(vals) - 1))],
                    "benchmarks": len(vals), "threshold_pct": DRIFT_PCT + THRESHOLD_CVS * cv}
    fb = max([c["cv_pct"] for c in out.values()] or [FALLBACK_CV_PCT])
    out["fallback"] = {"cv_pct": fb, "p90_cv_pct": fb, "benchmarks": 0,
                       "threshold_pct": DRIFT_PCT + THRESHOLD_CVS * fb}
    return out


def class_threshold(noise, cls):
    return (noise.get(cls) or noise["fallback"])["threshold_pct"]


def display_name(key):
    name, world = key
    return name if world is None else "%s [world_size=%d]" % (name, world)


def _outlier_cut(samples):
    m = statistics.median(samples)
    mad = statistics.median([abs(v - m) for v in samples])
    return m, max(OUTLIER_MADS * 1.4826 * mad, OUTLIER_MIN_PCT / 100.0 * abs(m))


def drop_outliers(samples):
    """Samples without outliers: values farther from the median than OUTLIER_MADS robust
    standard deviations (1.4826 MAD), but never closer than OUTLIER_MIN_PCT of the median, and
    only while there are at most (n - 1) // OUTLIER_MAX_SHARE of them (2 of 10). Applied to the
    baseline only. Timing noise on a shared machine is one-sided spikes (a preempted rank makes
    one repetition 2-1000x slower); one spike in 5 baseline repetitions otherwise hides even a
    2x slowdown from the rank test. More values beyond the cut are a second mode: all are
    kept (a baseline with 3 slow repetitions of 10 stays as measured)."""
    if len(samples) < 3:
        return list(samples)
    m, cut = _outlier_cut(samples)
    kept = [v for v in samples if abs(v - m) <= cut]
    if len(samples) - len(kept) > (len(samples) - 1) // OUTLIER_MAX_SHARE:
        return list(samples)
    return kept


def second_mode(base, new, lower_is_better):
    """How many new repetitions lie beyond the baseline's outlier cut on the bad side."""
    if len(base) < 3:
        return 0
    m, cut = _outlier_cut(base)
    return sum(1 for v in new if (v > m + cut if lower_is_better else v < m - cut))


def best_half(samples, lower_is_better):
    """The better ceil(n/2) values: the smallest times, the largest bandwidths."""
    s = sorted(samples, reverse=not lower_is_better)
    return s[:(len(s) + 1) // 2]


def core_cv(samples):
    """The CV of a sample's densest half: the shortest interval holding ceil(n/2) values,
    divided by 1.349 (its width in standard deviations for normal data) and by its middle
    value. Up to half the values may be spikes without widening it (a bimodal baseline with
    4-5 spiking repetitions of 10 still shows its clean core's noise, where the MAD would
    not)."""
    s = sorted(samples)
    h = (len(s) + 1) // 2
    if len(s) < 3:
        return None
    best = None
    for i in range(len(s) - h + 1):
        mid = s[i + (h - 1) // 2]
        if mid > 0:
            w = (s[i + h - 1] - s[i]) / mid
            best = w if best is None else min(best, w)
    return None if best is None else best / 1.349


def large_effect_cv(base, new):
    """The larger core CV of the two samples: the noise the large-effect rule works against."""
    return max(core_cv(base) or 0.0, core_cv(new) or 0.0)


def large_effect_factor(base, new=()):
    """The factor the large-effect rule needs for these samples."""
    return max(LARGE_EFFECT_FACTOR, 1.0 + LARGE_EFFECT_CVS * large_effect_cv(base, new))


def large_effect(base, new, lower_is_better, alpha=ALPHA):
    """(factor, p) when the large-effect rule holds for the raw samples, else None. factor:
    how many times worse the median of the new best half is than the baseline's (time ratio
    new / baseline; bandwidth baseline / new), at least large_effect_factor(base, new); p:
    one-sided Mann-Whitney U on the best halves in the bad direction. Not when either sample's
    core CV is above LARGE_EFFECT_MAX_CORE_CV, and only when every new repetition is worse than
    the whole best half of the baseline."""
    bb, nb = best_half(base, lower_is_better), best_half(new, lower_is_better)
    if mannwhitney.min_p_value(len(nb), len(bb)) > alpha:
        return None
    if large_effect_cv(base, new) > LARGE_EFFECT_MAX_CORE_CV:
        return None
    best, edge = min(new) if lower_is_better else max(new), bb[-1]  # the worst of the best half
    if not (best > edge if lower_is_better else best < edge):
        return None
    mb, mn = statistics.median(bb), statistics.median(nb)
    if not (mb > 0 and mn > 0 and math.isfinite(mb) and math.isfinite(mn)):
        return None
    factor = mn / mb if lower_is_better else mb / mn
    if factor < large_effect_factor(base, new):
        return None
    _, p = mannwhitneyu_safe(nb, bb, "greater" if lower_is_better else "less")
    if p > alpha:
        return None
    return factor, p


def _shift(values, lower_is_better, bad, drift_pct):
    """The baseline moved by the drift allowance towards the bad (or good) side."""
    f = 1.0 + drift_pct / 100.0
    up = (lower_is_better == bad)  # times get larger when worse, bandwidths smaller
    return [v * f if up else v / f for v in values]


def _tail_p(k, n, m):
    """P(the k largest of n + m exchangeable values are all among the n new ones)."""
    return math.comb(n, k) / math.comb(n + m, k) if 0 < k <= n else 1.0


def measure(base, new, lower_is_better, drift_pct=DRIFT_PCT):
    """The statistics of one timing comparison, before any decision: baseline_median, median,
    change_pct, p_value (one-sided Mann-Whitney U that the new samples are worse than the
    baseline's made worse by drift_pct), p_good (the same towards better), n_baseline, n (after
    dropping the baseline's outliers; the new sample keeps all), outliers, min_p (the smallest
    p these sizes allow), second_mode (new repetitions beyond the baseline's outlier cut on the
    bad side) and, when they are at least a quarter of the new sample, tail_p (the chance that
    as many new values exceed every baseline value), large_effect ((factor, p) or None)."""
    nb0 = len(base)
    le = large_effect(base, new, lower_is_better)
    # Outliers are dropped from the baseline only: every new repetition counts, so no share of
    # slowed repetitions can be dropped as noise.
    base, new = drop_outliers(base), list(new)
    mb, mn = statistics.median(base), statistics.median(new)
    mode = second_mode(base, new, lower_is_better)
    info = {"baseline_median": mb, "median": mn, "change_pct": None, "p_value": None,
            "p_good": None, "n_baseline": len(base), "n": len(new), "outliers":
            nb0 - len(base), "drift_pct": drift_pct,
            "min_p": mannwhitney.min_p_value(len(new), len(base)), "second_mode": mode,
            "tail_p": None, "large_effect": le}
    if mode >= -(-len(new) // OUTLIER_MAX_SHARE):
        worst = max(base) if lower_is_better else min(base)
        k = sum(1 for v in new if (v > worst if lower_is_better else v < worst))
        info["tail_p"] = _tail_p(k, len(new), len(base))
    if mb == 0 or not math.isfinite(mb):
        return info
    info["change_pct"] = (mn - mb) / abs(mb) * 100.0
    bad_alt = "greater" if lower_is_better else "less"
    good_alt = "less" if lower_is_better else "greater"
    info["p_value"] = mannwhitneyu_safe(new, _shift(base, lower_is_better, True, drift_pct),
                                        bad_alt)[1]
    info["p_good"] = mannwhitneyu_safe(new, _shift(base, lower_is_better, False, drift_pct),
                                       good_alt)[1]
    return info


def classify(info, lower_is_better, threshold_pct, alpha_bad=ALPHA, alpha_good=ALPHA,
             level=ALPHA):
    """(status, entry) for measured statistics: regression when p_value <= alpha_bad and the
    median change is beyond threshold_pct on the bad side; improvement likewise on the good
    side; else a regression by the large-effect rule; else inconclusive when the change is
    beyond the threshold (not significant, or too few repetitions for p <= level to be
    possible at all) or the new sample has a bad-side second mode that exceeds every baseline
    repetition (tail_p <= ALPHA); else unchanged. alpha_bad / alpha_good: the whole run's
    Benjamini-Hochberg cut-offs (evaluate) or ALPHA for one comparison (compare_metric)."""
    e = {k: v for k, v in info.items() if k not in ("large_effect", "p_good", "min_p",
                                                     "tail_p", "second_mode")}
    e["threshold_pct"] = threshold_pct
    change = info["change_pct"]
    if change is None:
        if info["median"] == info["baseline_median"]:
            return "unchanged", e
        e["reason"] = "baseline median is %r: no relative change" % info["baseline_median"]
        return "inconclusive", e
    worse = change > 0 if lower_is_better else change < 0
    beyond = abs(change) > threshold_pct
    # Too few repetitions for p <= level to be possible: no rank-test verdict at all (the
    # normal approximation with ties would claim otherwise for 1 against 10).
    testable = info["min_p"] <= level
    if testable and beyond and worse and info["p_value"] <= alpha_bad:
        return "regression", e
    if testable and beyond and not worse and info["p_good"] <= alpha_good:
        e["p_value"] = info["p_good"]
        return "improvement", e
    le = info["large_effect"]
    if le is not None:
        e["rule"] = "large_effect"
        e["best_half_factor"], e["best_half_p_value"] = le
        return "regression", e
    if beyond:
        if not worse:
            e["p_value"] = info["p_good"]
        if info["min_p"] > level:
            e["reason"] = ("%d vs %d repetitions cannot reach p <= %g; re-measure with more "
                           "repetitions" % (e["n"], e["n_baseline"], level))
        else:
            cut = alpha_bad if worse else alpha_good
            e["reason"] = ("median changed beyond the threshold but p = %.3g is above the "
                           "cut-off %s" % (e["p_value"], "%.3g" % cut if cut > 0 else
                                           "(no p-value of the run passed "
                                           "Benjamini-Hochberg)"))
        return "inconclusive", e
    if info["tail_p"] is not None and info["tail_p"] <= ALPHA:
        e["second_mode"] = info["second_mode"]
        e["tail_p"] = info["tail_p"]
        e["reason"] = ("%d of %d repetitions form a second, worse mode beyond every baseline "
                       "repetition (p = %.3g): a regression in part of the repetitions, or a "
                       "noisy run; re-measure" % (info["second_mode"], e["n"], info["tail_p"]))
        return "inconclusive", e
    return "unchanged", e


def compare_metric(base, new, lower_is_better, threshold_pct, alpha=ALPHA,
                   drift_pct=DRIFT_PCT):
    """One comparison on its own, at level alpha (no multiplicity correction): (status, entry),
    status one of regression, improvement, inconclusive, unchanged."""
    return classify(measure(base, new, lower_is_better, drift_pct), lower_is_better,
                    threshold_pct, alpha, alpha, alpha)


def bh_cutoff(p_values, q=None):
    """Benjamini-Hochberg: the largest p_(k) with p_(k) <= k q / m (0.0 when none is): every
    p-value at or below it is a discovery, and the expected share of false discoveries among
    them is at most q (under independence or positive dependence)."""
    q = FDR_Q if q is None else q
    ps = sorted(p for p in p_values if p is not None)
    m = len(ps)
    cut = 0.0
    for k, p in enumerate(ps, 1):
        if p <= k * q / m:
            cut = p
    return cut


def mannwhitneyu_safe(x, y, alternative):
    try:
        return mannwhitney.mannwhitneyu(x, y, alternative)
    except ValueError:
        return None, 1.0


def find_baseline(res, path, baselines_dir):
    ctx = res["context"]
    profile = ctx["machine_profile"]
    sweep = ctx.get("sweep") if isinstance(ctx.get("sweep"), str) else ""
    sweep = sweep[:-len(".sweep")] if sweep.endswith(".sweep") else (sweep or "default")
    return os.path.join(baselines_dir, profile, sweep + ".json"), profile, sweep


def evaluate(res, base, timing_mode="fail", forced=False, baseline_path="", notes=()):
    """The verdict dict for a loaded results file and a loaded baseline. Exact metrics fail on
    any difference; timing comparisons are measured first (measure), then decided together:
    the regression p-values of the whole run go through Benjamini-Hochberg at FDR_Q (and the
    improvement p-values separately), each against its noise class's threshold, estimated
    from the baseline's own repetitions (estimate_noise)."""
    exact_failures, missing, new_cases, unchecked = [], [], [], []
    testcases = []  # (classname, name, kind, message); kind: ok, failure, skipped
    timing = []     # (testcase index, name, metric, class, threshold, info)
    rcases, bcases = res["cases"], base["cases"]
    noise = estimate_noise(base)

    for key in sorted(rcases, key=lambda k: (k[0], k[1] or 0)):
        case = rcases[key]
        name = display_name(key)
        wrong = [v for v in case["exact"].get("wrong", []) if v != 0]
        if wrong:
            exact_failures.append({"name": name, "metric": "wrong", "baseline": 0,
                                   "value": max(wrong),
                                   "message": "wrong = %g (must be 0)" % max(wrong)})
        if case.get("unchecked"):
            # -c 0: `wrong` absent. Not a pass by zero: listed and reported as unchecked.
            unchecked.append({"name": name, "repetitions": case["unchecked"]})
            testcases.append((name, "wrong", "skipped",
                              "unchecked: %d repetitions ran without result checks (-c 0)"
                              % case["unchecked"]))
        if key not in bcases:
            new_cases.append(name)
            testcases.append((name, "baseline", "skipped", "new benchmark, not in the baseline"))
            continue
        bcase = bcases[key]
        # Exact metrics.
        mism = []
        for metric in results.EXACT_METRICS:
            if metric == "wrong":
                continue
            bv, nv = bcase["exact"].get(metric), case["exact"].get(metric)
            if bv is None and nv is None:
                continue
            if bv is None or nv is None:
                mism.append({"name": name, "metric": metric,
                             "baseline": None if bv is None else bv[0],
                             "value": None if nv is None else nv[0],
                             "message": "%s %s" % (metric, "is new (not in the baseline)"
                                                   if bv is None else "is missing")})
                continue
            allowed = set(bv)
            bad = sorted({v for v in nv if v not in allowed})
            if bad:
                mism.append({"name": name, "metric": metric, "baseline": bv[0], "value": bad[0],
                             "message": "%s = %.17g, baseline %.17g" % (metric, bad[0], bv[0])})
        exact_failures.extend(mism)
        msg = "; ".join(m["message"] for m in mism + [e for e in exact_failures
                                                       if e["name"] == name and
                                                       e["metric"] == "wrong"])
        testcases.append((name, "exact", "failure" if msg else "ok", msg))
        # Timing metrics: measured now, decided below with the whole run's p-values.
        for metric, spec in METRICS.items():
            bs, ns = bcase["samples"].get(metric), case["samples"].get(metric)
            if not bs or not ns:
                continue
            cls = noise_class(metric, key[1], case["size_bytes"])
            timing.append((len(testcases), name, metric, cls, class_threshold(noise, cls),
                           measure(bs, ns, spec["lower_is_better"])))
            testcases.append(None)
    cut_bad = bh_cutoff([t[5]["p_value"] for t in timing])
    cut_good = bh_cutoff([t[5]["p_good"] for t in timing])
    regressions, improvements, inconclusive, unchanged = [], [], [], 0
    for idx, name, metric, cls, thr, info in timing:
        status, info = classify(info, METRICS[metric]["lower_is_better"], thr, cut_bad,
                                cut_good, FDR_Q)
        entry = {"name": name, "metric": metric, "noise_class": cls}
        entry.update(info)
        text = describe(entry)
        if status == "regression":
            regressions.append(entry)
            testcases[idx] = (name, metric, "failure" if timing_mode == "fail" else "skipped",
                              "regression: " + text + ("" if timing_mode == "fail"
                                                       else " (--timing report)"))
        elif status == "improvement":
            improvements.append(entry)
            testcases[idx] = (name, metric, "ok", "improvement: " + text)
        elif status == "inconclusive":
            inconclusive.append(entry)
            testcases[idx] = (name, metric, "skipped", "inconclusive: " + text)
        else:
            unchanged += 1
            testcases[idx] = (name, metric, "ok", text)
    for key in sorted(set(bcases) - set(rcases), key=lambda k: (k[0], k[1] or 0)):
        name = display_name(key)
        missing.append(name)
        testcases.append((name, "present", "failure", "in the baseline but missing from the "
                                                      "results"))
    failed = bool(exact_failures or missing or (regressions and timing_mode == "fail"))
    meta = base["context"].get("tpbench_baseline") or {}
    return {
        "verdict": "fail" if failed else "pass",
        "profile": res["context"]["machine_profile"],
        "baseline": baseline_path,
        "baseline_profile": base["context"]["machine_profile"],
        "baseline_commit": meta.get("tpbench_version", base["context"].get("tpbench_version")),
        "baseline_created": meta.get("created"),
        "baseline_command": meta.get("command"),
        "results_commit": res["context"].get("tpbench_version"),
        "forced": forced,
        "timing_mode": timing_mode,
        "fdr_q": FDR_Q,
        "alpha": ALPHA,
        "drift_pct": DRIFT_PCT,
        "comparisons": len(timing),
        "p_cutoff": cut_bad,
        "noise": {c: dict(n) for c, n in sorted(noise.items())},
        "small_max_bytes": SMALL_MAX_BYTES,
        "regressions": regressions,
        "improvements": improvements,
        "inconclusive": inconclusive,
        "exact_failures": exact_failures,
        "unchecked": unchecked,
        "missing": missing,
        "new": new_cases,
        "unchanged": unchanged,
        "notes": list(notes),
        "_testcases": testcases,
    }


def fmt_num(v):
    return "-" if v is None else "%.4g" % v


def describe(e):
    ch = "n/a" if e.get("change_pct") is None else "%+.1f%%" % e["change_pct"]
    p = "n/a" if e.get("p_value") is None else "%.3g" % e["p_value"]
    s = "median %s -> %s (%s, p=%s, n=%d vs %d, threshold %g%%)" % (
        fmt_num(e["baseline_median"]), fmt_num(e["median"]), ch, p, e["n_baseline"], e["n"],
        e["threshold_pct"])
    if e.get("rule") == "large_effect":
        s += "; large effect: best half %.2fx worse (p=%.3g)" % (e["best_half_factor"],
                                                                e["best_half_p_value"])
    if e.get("remeasure_rounds"):
        s += "; after %d re-measure round(s)" % e["remeasure_rounds"]
    if e.get("reason"):
        s += "; " + e["reason"]
    return s


def summary_md(v):
    out = ["# tpbench performance gate: %s" % v["verdict"].upper(), ""]
    out.append("- results profile: `%s`; baseline: `%s` (profile `%s`, commit `%s`)%s" % (
        v["profile"], v["baseline"], v["baseline_profile"], v["baseline_commit"],
        " **FORCED across profiles**" if v["forced"] else ""))
    out.append("- timing mode: `%s` (%s); %d timing comparisons, Benjamini-Hochberg false-"
               "discovery rate %g (p cut-off this run: %.3g); drift allowance %g%%" % (
                   v["timing_mode"], "timing regressions fail" if v["timing_mode"] == "fail"
                   else "timing regressions are reported, not failing", v["comparisons"],
                   v["fdr_q"], v["p_cutoff"], v["drift_pct"]))
    out.append("- noise classes (robust CV of one repetition in the baseline, median over the "
               "class; threshold = drift + %g CV): %s" % (
                   THRESHOLD_CVS, ", ".join("%s %.1f%% -> %.1f%%" % (
                       c, n["cv_pct"], n["threshold_pct"]) for c, n in v["noise"].items()
                       if c != "fallback")))
    out.append("- %d regressions, %d improvements, %d inconclusive, %d unchanged; "
               "%d exact failures, %d missing, %d new, %d unchecked (no `wrong`: -c 0)" % (
                   len(v["regressions"]), len(v["improvements"]), len(v["inconclusive"]),
                   v["unchanged"], len(v["exact_failures"]), len(v["missing"]), len(v["new"]),
                   len(v.get("unchecked", []))))
    for n in v["notes"]:
        out.append("- note: %s" % n)
    for r in v.get("remeasure", {}).get("rounds", []):
        out.append("- re-measure round %d (`%s`): %d comparisons -> %s%s" % (
            r["round"], r["results"], r["remeasured"],
            ", ".join("%d %s" % (c, s) for s, c in r["now"].items()),
            "; not in its results: %s" % ", ".join(r["not_in_results"])
            if r["not_in_results"] else ""))
    out.append("")

    def table(title, rows):
        out.append("## %s (%d)" % (title, len(rows)))
        out.append("")
        if not rows:
            out.append("none")
            out.append("")
            return
        out.append("| benchmark | metric | baseline median | median | change | p-value | n |")
        out.append("|---|---|---|---|---|---|---|")
        for e in rows:
            out.append("| `%s` | %s | %s | %s | %s | %s | %d vs %d |" % (
                e["name"], e["metric"], fmt_num(e["baseline_median"]), fmt_num(e["median"]),
                "n/a" if e["change_pct"] is None else "%+.1f%%" % e["change_pct"],
                "n/a" if e["p_value"] is None else "%.3g" % e["p_value"],
                e["n_baseline"], e["n"]))
        out.append("")

    out.append("## Exact-metric failures (%d)" % len(v["exact_failures"]))
    out.append("")
    out.extend(["- `%s`: %s" % (e["name"], e["message"]) for e in v["exact_failures"]] or
               ["none"])
    out.append("")
    if v.get("unchecked"):
        out.append("## Unchecked: ran without result checks (%d)" % len(v["unchecked"]))
        out.append("")
        out.extend("- `%s`: %d repetitions without `wrong` (-c 0)" % (u["name"],
                                                                      u["repetitions"])
                   for u in v["unchecked"])
        out.append("")
    if v["missing"]:
        out.append("## Missing from the results (%d)" % len(v["missing"]))
        out.append("")
        out.extend("- `%s`" % n for n in v["missing"])
        out.append("")
    table("Regressions", v["regressions"])
    table("Improvements", v["improvements"])
    table("Inconclusive (re-measure with more repetitions)", v["inconclusive"])
    out.append("## Unchanged")
    out.append("")
    out.append("%d benchmark metrics within their thresholds or not significant." % v["unchanged"])
    out.append("")
    if v["new"]:
        out.append("## New benchmarks, not in the baseline (%d)" % len(v["new"]))
        out.append("")
        out.extend("- `%s`" % n for n in v["new"])
        out.append("")
    return "\n".join(out)


def junit_xml(v):
    cases = v["_testcases"]
    fails = sum(1 for c in cases if c[2] == "failure")
    skips = sum(1 for c in cases if c[2] == "skipped")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<testsuites><testsuite name="tpbench-gate" tests="%d" failures="%d" errors="0" '
             'skipped="%d">' % (len(cases), fails, skips)]
    for cls, name, kind, msg in cases:
        head = '<testcase classname=%s name=%s' % (quoteattr(cls), quoteattr(name))
        if kind == "failure":
            lines.append('%s><failure message=%s>%s</failure></testcase>'
                         % (head, quoteattr(msg), escape(msg)))
        elif kind == "skipped":
            lines.append('%s><skipped message=%s/></testcase>' % (head, quoteattr(msg)))
        elif msg:
            lines.append('%s><system-out>%s</system-out></testcase>' % (head, escape(msg)))
        else:
            lines.append('%s/>' % head)
    lines.append("</testsuite></testsuites>")
    return "\n".join(lines) + "\n"


def write_outputs(v, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    public = {k: val for k, val in v.items() if not k.startswith("_")}
    public["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    paths = {}
    for fname, text in (("verdict.json", json.dumps(public, indent=1) + "\n"),
                        ("summary.md", summary_md(v)),
                        ("junit.xml", junit_xml(v))):
        p = os.path.join(out_dir, fname)
        results.write_atomically(p, text)
        paths[fname] = p
    return paths


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
        rdir = os.path.join(out_dir, "remeasure-%d" % rnd)
        if os.path.isdir(rdir):
            for f in os.listdir(rdir):
                p = os.path.join(rdir, f)
                if os.path.isfile(p):
                    os.remove(p)
        os.makedirs(rdir, exist_ok=True)
        rpath = os.path.join(rdir, "results.json")
        npath = os.path.join(rdir, "names.txt")
        results.write_atomically(npath, "".join(
            n + "\n" for n in sorted({display_name(k) for k, _ in keys_metrics})))
        cmd = (command.replace("{outdir}", shlex.quote(rdir))
               .replace("{out}", shlex.quote(rpath))
               .replace("{names}", shlex.quote(npath))
               .replace("{round}", str(rnd)))
        print("gate: re-measuring %d inconclusive comparisons (round %d of %d): %s"
              % (len(pending), rnd, rounds, cmd), file=sys.stderr)
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
        res, found = merge_remeasured(res, new, keys_metrics)
        for k, m in keys_metrics:
            if k in found:
                remeasured[(display_name(k), m)] = rnd
        v = evaluate(res, base, *evaluate_args)
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
        record["rounds"].append(rec)
    for status in ("regressions", "improvements", "inconclusive"):
        for e in v[status]:
            if (e["name"], e["metric"]) in remeasured:
                e["remeasure_rounds"] = remeasured[(e["name"], e["metric"])]
    v["remeasure"] = record
    v["notes"].append("re-measured inconclusive comparisons in %d of at most %d rounds (%s)"
                      % (len(record["rounds"]), rounds, command))
    return v


class ArgParser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def main(argv):
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
    try:
        args = ap.parse_args(argv)
        rpath = results.user_path(args.results)
        res = results.load(rpath)
        out_dir = results.user_path(args.out) if args.out else os.path.dirname(rpath)
        notes = []
        if args.baseline:
            bpath = results.user_path(args.baseline)
        else:
            bdir = (results.user_path(args.baselines_dir) if args.baselines_dir
                    else os.path.join(results.workspace_dir(), "ci", "baselines"))
            bpath, profile, sweep = find_baseline(res, rpath, bdir)
            if not os.path.exists(bpath):
                msg = ("no stored baseline for machine profile '%s' and sweep '%s' (looked for "
                       "%s); create one on such a machine with: bazel run //ci:baseline -- "
                       "--results %s" % (profile, sweep, bpath, rpath))
                if not args.allow_missing_baseline:
                    raise UsageError(msg)
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
                return 0
        base = results.load(bpath)
        results.check_baseline_metadata(bpath, base)
        rprof = res["context"]["machine_profile"]
        bprof = base["context"]["machine_profile"]
        forced = False
        if rprof != bprof:
            if not args.force:
                raise UsageError("%s: context.machine_profile is '%s' but the results (%s) are "
                                 "from '%s'; timings are not comparable across machines (pass "
                                 "--force to compare anyway)" % (bpath, bprof, rpath, rprof))
            forced = True
            notes.append("baseline profile '%s' differs from the results' '%s': compared anyway "
                         "because of --force" % (bprof, rprof))
        # Detect mode costs bandwidth (docs/runtime.md); absent = fast, the only earlier mode.
        rmode = res["context"].get("fault_mode", "fast")
        bmode = base["context"].get("fault_mode", "fast")
        if rmode != bmode:
            if not args.force:
                raise UsageError("%s: context.fault_mode is '%s' but the results (%s) ran in '%s' "
                                 "mode; timings are not comparable across fault modes (pass "
                                 "--force to compare anyway)" % (bpath, bmode, rpath, rmode))
            forced = True
            notes.append("baseline fault mode '%s' differs from the results' '%s': compared "
                         "anyway because of --force" % (bmode, rmode))
    except UsageError as e:
        print("gate: error: %s" % e, file=sys.stderr)
        return 2
    v = evaluate(res, base, args.timing, forced, bpath, notes)
    try:
        if args.remeasure_rounds < 0:
            raise UsageError("--remeasure-rounds must be >= 0, got %d" % args.remeasure_rounds)
        if args.remeasure and v["inconclusive"] and args.remeasure_rounds > 0:
            os.makedirs(out_dir, exist_ok=True)
            v = remeasure(res, base, v, args.remeasure, args.remeasure_rounds, out_dir,
                          (args.timing, forced, bpath, notes))
        elif args.remeasure:
            v["remeasure"] = {"command": args.remeasure, "max_rounds": args.remeasure_rounds,
                              "rounds": []}
    except UsageError as e:
        print("gate: error: %s" % e, file=sys.stderr)
        return 2
    try:
        paths = write_outputs(v, out_dir)
    except OSError as e:
        print("gate: error: cannot write into %s: %s" % (out_dir, e), file=sys.stderr)
        return 2
    if not args.quiet:
        print(summary_md(v))
    print("gate: %s (%d regressions, %d exact failures, %d missing, %d inconclusive); wrote %s"
          % (v["verdict"], len(v["regressions"]), len(v["exact_failures"]), len(v["missing"]),
             len(v["inconclusive"]), ", ".join(paths.values())))
    return 7 if v["verdict"] == "fail" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
