"""The statistics of one timing comparison and of a whole run (the gate's, shared with the
report): outliers, robust and core CVs, the large-effect rule, the drift-shifted Mann-Whitney
test (measure), the decision of one comparison (classify) and Benjamini-Hochberg (bh_cutoff).
docs/ci.md explains every rule and constant."""

import math
import statistics

from tpbench import mannwhitney

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


def robust_cv(samples):
    """1.4826 x MAD / median: the CV of one repetition, blind to a minority of spikes."""
    if len(samples) < 3:
        return None
    m = statistics.median(samples)
    if not m > 0:
        return None
    return 1.4826 * statistics.median([abs(v - m) for v in samples]) / m



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
