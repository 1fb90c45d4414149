"""The gate's evaluation: noise classes from the baseline's repetitions, the exact metrics,
every timing comparison (tpbench.stats) decided together, and the verdict dict."""

import os
import statistics

from tpbench import results, schema, stats
from tpbench.stats import ALPHA, DRIFT_PCT, FDR_Q

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


def size_class(size_bytes):
    return "small" if size_bytes <= SMALL_MAX_BYTES else "large"


def noise_class(metric, world_size, size_bytes):
    """The noise class of one timing comparison: layer timings (step_ms, fwd_ms, bwd_ms) by
    ranks; collective timings by ranks and size class (<= 64 KiB small, else large)."""
    ranks = "%sr" % (world_size if world_size is not None else "?")
    if METRICS[metric]["group"] == "layer":
        return "layer-" + ranks
    return "%s-%s" % (size_class(size_bytes), ranks)



def estimate_noise(base):
    """{class: {"cv_pct" (median robust CV over the class's benchmarks), "p90_cv_pct",
    "benchmarks", "threshold_pct" (DRIFT_PCT + THRESHOLD_CVS x cv_pct)}} from the
    baseline's own repetitions; "fallback" holds the CV for classes absent from the baseline."""
    cvs = {}
    for key, case in base["cases"].items():
        for metric in NOISE_METRICS:
            cv = stats.robust_cv(case["samples"].get(metric) or [])
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



def find_baseline(res, path, baselines_dir):
    ctx = res["context"]
    profile = ctx["machine_profile"]
    sweep = ctx.get("sweep") if isinstance(ctx.get("sweep"), str) else ""
    sweep = sweep[:-len(".sweep")] if sweep.endswith(".sweep") else (sweep or "default")
    return os.path.join(baselines_dir, profile, sweep + ".json"), profile, sweep


def _sorted_keys(keys):
    return sorted(keys, key=lambda k: (k[0], k[1] or 0))


def _exact_mismatches(name, case, bcase):
    """Exact metrics (other than `wrong`) that differ from the baseline's."""
    mism = []
    for metric in results.EXACT_METRICS:
        if metric == "wrong":
            continue
        bv, nv = bcase["exact"].get(metric), case["exact"].get(metric)
        if bv is None and (nv is None or metric in schema.ADDED_EXACT_METRICS):
            continue  # an added model field: compared once the baseline has it
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
    return mism


def _check_wrong(st, name, case):
    """`wrong` must be 0 where checked; a case without it (-c 0) is listed as unchecked."""
    wrong = [v for v in case["exact"].get("wrong", []) if v != 0]
    if wrong:
        st["exact_failures"].append({"name": name, "metric": "wrong", "baseline": 0,
                                     "value": max(wrong),
                                     "message": "wrong = %g (must be 0)" % max(wrong)})
    if case.get("unchecked"):
        # -c 0: `wrong` absent. Not a pass by zero: listed and reported as unchecked.
        st["unchecked"].append({"name": name, "repetitions": case["unchecked"]})
        st["testcases"].append((name, "wrong", "skipped",
                                "unchecked: %d repetitions ran without result checks (-c 0)"
                                % case["unchecked"]))


def _compare_case(st, key, case, bcase, noise):
    """Exact metrics of one benchmark decided now; its timing comparisons measured, to be
    decided with the whole run's p-values (_decide_timing)."""
    name = display_name(key)
    mism = _exact_mismatches(name, case, bcase)
    st["exact_failures"].extend(mism)
    msg = "; ".join(m["message"] for m in mism + [e for e in st["exact_failures"]
                                                   if e["name"] == name and
                                                   e["metric"] == "wrong"])
    st["testcases"].append((name, "exact", "failure" if msg else "ok", msg))
    for metric, spec in METRICS.items():
        bs, ns = bcase["samples"].get(metric), case["samples"].get(metric)
        if not bs or not ns:
            continue
        cls = noise_class(metric, key[1], case["size_bytes"])
        st["timing"].append((len(st["testcases"]), name, metric, cls,
                             class_threshold(noise, cls),
                             stats.measure(bs, ns, spec["lower_is_better"])))
        st["testcases"].append(None)


def _decide_timing(st, timing_mode):
    """Every measured timing comparison decided with the run's Benjamini-Hochberg cut-offs."""
    timing, testcases = st["timing"], st["testcases"]
    st["cut_bad"] = stats.bh_cutoff([t[5]["p_value"] for t in timing])
    cut_good = stats.bh_cutoff([t[5]["p_good"] for t in timing])
    for idx, name, metric, cls, thr, info in timing:
        status, info = stats.classify(info, METRICS[metric]["lower_is_better"], thr,
                                      st["cut_bad"], cut_good, FDR_Q)
        entry = {"name": name, "metric": metric, "noise_class": cls}
        entry.update(info)
        text = describe(entry)
        if status == "regression":
            st["regressions"].append(entry)
            testcases[idx] = (name, metric, "failure" if timing_mode == "fail" else "skipped",
                              "regression: " + text + ("" if timing_mode == "fail"
                                                       else " (--timing report)"))
        elif status == "improvement":
            st["improvements"].append(entry)
            testcases[idx] = (name, metric, "ok", "improvement: " + text)
        elif status == "inconclusive":
            st["inconclusive"].append(entry)
            testcases[idx] = (name, metric, "skipped", "inconclusive: " + text)
        else:
            st["unchanged"] += 1
            testcases[idx] = (name, metric, "ok", text)


def _verdict(st, res, base, noise, timing_mode, forced, baseline_path, notes):
    failed = bool(st["exact_failures"] or st["missing"] or
                  (st["regressions"] and timing_mode == "fail"))
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
        "comparisons": len(st["timing"]),
        "p_cutoff": st["cut_bad"],
        "noise": {c: dict(n) for c, n in sorted(noise.items())},
        "small_max_bytes": SMALL_MAX_BYTES,
        "regressions": st["regressions"],
        "improvements": st["improvements"],
        "inconclusive": st["inconclusive"],
        "exact_failures": st["exact_failures"],
        "unchecked": st["unchecked"],
        "missing": st["missing"],
        "new": st["new"],
        "unchanged": st["unchanged"],
        "notes": list(notes),
        "_testcases": st["testcases"],
    }


def evaluate(res, base, timing_mode="fail", forced=False, baseline_path="", notes=()):
    """The verdict dict for a loaded results file and a loaded baseline. Exact metrics fail on
    any difference; timing comparisons are measured first (measure), then decided together:
    the regression p-values of the whole run go through Benjamini-Hochberg at FDR_Q (and the
    improvement p-values separately), each against its noise class's threshold, estimated
    from the baseline's own repetitions (estimate_noise)."""
    st = {"exact_failures": [], "missing": [], "new": [], "unchecked": [], "regressions": [],
          "improvements": [], "inconclusive": [], "unchanged": 0,
          "testcases": [],  # (classname, name, kind, message); kind: ok, failure, skipped
          "timing": []}     # (testcase index, name, metric, class, threshold, info)
    rcases, bcases = res["cases"], base["cases"]
    noise = estimate_noise(base)
    for key in _sorted_keys(rcases):
        name = display_name(key)
        _check_wrong(st, name, rcases[key])
        if key not in bcases:
            st["new"].append(name)
            st["testcases"].append((name, "baseline", "skipped",
                                    "new benchmark, not in the baseline"))
            continue
        _compare_case(st, key, rcases[key], bcases[key], noise)
    _decide_timing(st, timing_mode)
    for key in _sorted_keys(set(bcases) - set(rcases)):
        name = display_name(key)
        st["missing"].append(name)
        st["testcases"].append((name, "present", "failure", "in the baseline but missing "
                                                            "from the results"))
    return _verdict(st, res, base, noise, timing_mode, forced, baseline_path, notes)


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
