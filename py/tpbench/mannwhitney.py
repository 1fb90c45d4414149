"""Mann-Whitney U test in pure Python (no scipy needed on CI machines).

    mannwhitneyu(x, y, alternative="greater") -> (U1, p)

U1 is the U statistic of x (the number of pairs (xi, yj) with xi > yj, ties counting 1/2),
as scipy.stats.mannwhitneyu reports it. alternative: "greater" (x tends to be larger than y),
"less" or "two-sided". method: "exact" (the exact permutation distribution of U, valid without
ties), "asymptotic" (normal approximation with tie correction and continuity correction) or
"auto": exact when there are no ties and both samples have at most EXACT_MAX values, otherwise
asymptotic. The results agree with scipy 1.10's mannwhitneyu for the same method
(ci/gate_test.py checks known values).
"""

import math

EXACT_MAX = 50  # exact counts are cheap: O(n1 * n2 * (n1 * n2)) integer additions


def _ranks(values):
    """Average ranks (1-based) of values, and the sizes of each group of ties."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        avg = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            ranks[order[k]] = avg
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


_COUNTS = {}


def _u_counts(n1, n2):
    """Number of arrangements giving each U = 0 .. n1*n2 (n1 x's among n1+n2 positions)."""
    key = (n1, n2)
    if key in _COUNTS:
        return _COUNTS[key]
    # f[m][k] = counts for samples of sizes (m, k); recurrence on the largest element:
    # f(m, k, u) = f(m-1, k, u-k) + f(m, k-1, u).
    prev = [[1] for _ in range(n2 + 1)]  # m = 0: only U = 0
    for m in range(1, n1 + 1):
        cur = [[1]]  # k = 0: only U = 0
        for k in range(1, n2 + 1):
            size = m * k + 1
            row = [0] * size
            a = prev[k]  # (m-1, k), shifted by k
            for u, c in enumerate(a):
                row[u + k] += c
            b = cur[k - 1]  # (m, k-1)
            for u, c in enumerate(b):
                row[u] += c
            cur.append(row)
        prev = cur
    counts = prev[n2]
    _COUNTS[key] = counts
    return counts


def exact_sf(u, n1, n2):
    """P(U >= u) under the null hypothesis (no ties)."""
    counts = _u_counts(n1, n2)
    total = math.comb(n1 + n2, n1)
    lo = max(0, int(math.ceil(u - 1e-9)))
    return min(1.0, sum(counts[lo:]) / total)


def _norm_sf(z):
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def min_p_value(n1, n2):
    """The smallest one-sided p-value the test can give for these sample sizes."""
    if n1 == 0 or n2 == 0:
        return 1.0
    return 1.0 / math.comb(n1 + n2, n1)


def mannwhitneyu(x, y, alternative="greater", method="auto"):
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("mannwhitneyu: both samples need at least one value")
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError("mannwhitneyu: alternative must be greater, less or two-sided")
    ranks, ties = _ranks(list(x) + list(y))
    r1 = sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2.0
    u2 = n1 * n2 - u1
    if method == "auto":
        method = "exact" if (not ties and n1 <= EXACT_MAX and n2 <= EXACT_MAX) else "asymptotic"
    if method == "exact":
        if alternative == "greater":
            p = exact_sf(u1, n1, n2)
        elif alternative == "less":
            p = exact_sf(u2, n1, n2)
        else:
            p = min(1.0, 2.0 * exact_sf(max(u1, u2), n1, n2))
        return u1, p
    if method != "asymptotic":
        raise ValueError("mannwhitneyu: method must be auto, exact or asymptotic")
    n = n1 + n2
    mu = n1 * n2 / 2.0
    tie_term = sum(t ** 3 - t for t in ties)
    var = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1)))
    if var <= 0:
        return u1, 1.0  # every value equal: no evidence either way
    sd = math.sqrt(var)
    if alternative == "greater":
        u = u1
    elif alternative == "less":
        u = u2
    else:
        u = max(u1, u2)
    z = (u - mu - 0.5) / sd  # continuity correction
    p = _norm_sf(z)
    if alternative == "two-sided":
        p *= 2.0
    return u1, max(0.0, min(1.0, p))
