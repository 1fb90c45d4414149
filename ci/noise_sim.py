"""Simulated gate runs driven by a baseline's own measured noise (ci/gate_test.py, //ci:power).

The model of one benchmark's repetitions, every parameter measured on the baseline (never
chosen): a log-normal core whose sigma is that benchmark's robust CV (1.4826 MAD / median of
its repetitions, per timing metric), plus, in the share of repetitions that lie beyond the
gate's outlier cut in the whole baseline, a factor drawn from those repetitions' ratios to
their median (the measured spikes, both sides). Between the baseline run and the new run each
benchmark drifts by a factor drawn uniformly within +-stats.DRIFT_PCT. busbw_GBps is size / time
of the same draw.
"""

import random
import statistics

from ci import gate_evaluate
from tpbench import stats


def measured_model(base):
    """{"cases": [(key, size_bytes, {metric: (median, cv)})], "spike_rate", "spike_ratios"}
    from a loaded baseline (results.load)."""
    cases, total, ratios = [], 0, []
    for key in sorted(base["cases"], key=lambda k: (k[0], k[1] or 0)):
        case = base["cases"][key]
        metrics = {}
        for metric in gate_evaluate.NOISE_METRICS:
            s = case["samples"].get(metric)
            if not s or len(s) < 3:
                continue
            cv = stats.robust_cv(s)
            if cv is None:
                continue
            med, cut = stats._outlier_cut(s)
            total += len(s)
            ratios += [v / med for v in s if abs(v - med) > cut]
            metrics[metric] = (med, max(cv, 1e-3))
        if metrics:
            cases.append((key, case["size_bytes"], metrics))
    return {"cases": cases, "spike_rate": len(ratios) / float(total or 1),
            "spike_ratios": sorted(ratios) or [1.0]}


def draw(rng, model, med, cv, n, scale=1.0):
    out = []
    for _ in range(n):
        v = med * scale * rng.lognormvariate(0, cv)
        if rng.random() < model["spike_rate"]:
            v *= rng.choice(model["spike_ratios"])
        out.append(v)
    return out


def _case(key, size, samples):
    return {"name": key[0], "world_size": key[1], "size_bytes": size, "samples": samples,
            "exact": {}, "unchecked": 0}


def _samples(rng, model, size, metrics, n, scale):
    out = {}
    for metric, (med, cv) in metrics.items():
        out[metric] = draw(rng, model, med, cv, n, scale)
        if metric == "time_us" and size > 0:
            out["busbw_GBps"] = [size / t / 1e3 for t in out[metric]]
    return out


def simulated_run(rng, model, n=gate_evaluate.DEFAULT_REPETITIONS, slow=None, drift=True):
    """(results, baseline) as results.load returns them: a baseline run and a new run of every
    benchmark of the model. slow: {key: factor} applied to those benchmarks' new timings."""
    ctx = {"machine_profile": "simulated"}
    bcases, rcases = {}, {}
    d = stats.DRIFT_PCT / 100.0 if drift else 0.0
    for key, size, metrics in model["cases"]:
        bcases[key] = _case(key, size, _samples(rng, model, size, metrics, n, 1.0))
        scale = rng.uniform(1.0 - d, 1.0 + d) * (slow or {}).get(key, 1.0)
        rcases[key] = _case(key, size, _samples(rng, model, size, metrics, n, scale))
    return {"context": ctx, "cases": rcases}, {"context": ctx, "cases": bcases}


def bootstrap_run(rng, base):
    """(results, baseline): the baseline itself against a new run whose repetitions are drawn
    with replacement from each benchmark's own baseline repetitions (an A/A pair)."""
    rcases = {}
    for key, case in base["cases"].items():
        samples = {}
        idx = None
        for metric, vals in case["samples"].items():
            if idx is None or len(idx) != len(vals):
                idx = [rng.randrange(len(vals)) for _ in vals]
            samples[metric] = [vals[i] for i in idx]  # one draw of repetitions per benchmark
        rcases[key] = _case(key, case["size_bytes"], samples)
    return {"context": base["context"], "cases": rcases}, base


def whole_run_false_alarm(model, runs, seed, n=gate_evaluate.DEFAULT_REPETITIONS):
    """Share of simulated A/A runs in which the gate reports at least one timing regression,
    and the total number of regressions over all runs."""
    rng = random.Random(seed)
    bad = total = 0
    for _ in range(runs):
        res, base = simulated_run(rng, model, n)
        v = gate_evaluate.evaluate(res, base)
        bad += bool(v["regressions"])
        total += len(v["regressions"])
    return bad / float(runs), total


def comparisons(model):
    """How many distinct timing comparisons a run of this model makes: the m of
    Benjamini-Hochberg. busbw_GBps is size / time_us of the same repetitions, so its p-value is
    time_us's: a duplicated p-value leaves the Benjamini-Hochberg cut-off where it was (k and m
    both double), so the pair counts once."""
    return sum(len(m) for _, _, m in model["cases"])


def power(model, cls, slowdown_pct, trials, seed, noise, n=gate_evaluate.DEFAULT_REPETITIONS,
          typical=False):
    """Share of trials in which a slowdown of one benchmark of class cls (the class's
    benchmarks and metrics in turn, each with its own measured noise and a drift within
    +-DRIFT_PCT) is flagged as a regression, at the smallest Benjamini-Hochberg cut-off of a
    whole run, q / m: a lower bound on the whole-run power when it is the only regression.
    typical: every benchmark of the class gets the class's median CV instead of its own."""
    rng = random.Random(seed)
    items = [(size, metric, med, cv, key) for key, size, ms in model["cases"]
             for metric, (med, cv) in sorted(ms.items())
             if gate_evaluate.noise_class(metric, key[1], size) == cls]
    if not items:
        return None
    if typical:
        mcv = statistics.median([it[3] for it in items])
        items = [it[:3] + (mcv,) + it[4:] for it in items]
    level = stats.FDR_Q / comparisons(model)
    thr = gate_evaluate.class_threshold(noise, cls)
    d = stats.DRIFT_PCT / 100.0
    hits = 0
    for t in range(trials):
        size, metric, med, cv, _ = items[t % len(items)]
        b = draw(rng, model, med, cv, n)
        r = draw(rng, model, med, cv, n, rng.uniform(1 - d, 1 + d) * (1 + slowdown_pct / 100.0))
        info = stats.measure(b, r, True)
        status, _ = stats.classify(info, True, thr, level, level, stats.FDR_Q)
        hits += status == "regression"
    return hits / float(trials)


SLOWDOWN_GRID = list(range(1, 31)) + list(range(32, 62, 2)) + list(range(65, 105, 5)) + [
    125, 150, 200]


def detectable_slowdown(model, cls, noise, trials, seed, target=0.95, typical=False):
    """The smallest slowdown (percent, on SLOWDOWN_GRID) caught in >= target of the trials,
    and the power there; (None, best power) when even 3x is not."""
    best = 0.0
    for s in SLOWDOWN_GRID:
        p = power(model, cls, s, trials, seed + s, noise, typical=typical)
        if p is None:
            return None, None
        best = max(best, p)
        if p >= target:
            return s, p
    return None, best


def classes(model):
    return sorted({gate_evaluate.noise_class(metric, key[1], size)
                   for key, size, ms in model["cases"] for metric in ms})


def median_cv(model, cls):
    return 100.0 * statistics.median(
        [cv for key, size, ms in model["cases"] for metric, (_, cv) in ms.items()
         if gate_evaluate.noise_class(metric, key[1], size) == cls])
